"""Signing in to the Kubernetes API of a cluster with Microsoft Entra ID, without kubelogin.

A cluster with AKS-managed Entra ID returns a user kubeconfig whose user runs `kubelogin get-token --server-id
<AKS server app>` as an exec credential plugin. kubelogin's exchange is an Entra access token for the scope
`<server-id>/.default`, sent as a bearer token. The wizard asks its own azure-identity credential (the one it
signed in to ARM with) for that token, so no extra binary is needed. The exchanged kubeconfig lives in memory
only: what is written to disk (--kubeconfig-out) stays as Azure returned it, kubelogin form, without a token.
"""
from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

AKS_SERVER_APP_ID = "6dae42f8-4368-4678-94ff-3960e28e3630"  # the Entra application of every AKS API server


def server_id(user: dict[str, Any]) -> str | None:
    """The `--server-id` of a kubeconfig user that signs in through kubelogin, or None for any other user."""
    exec_ = user.get("exec") or {}
    if not exec_ or "kubelogin" not in str(exec_.get("command") or ""):
        return None
    args = [str(a) for a in exec_.get("args") or []]
    if "--server-id" in args and args.index("--server-id") + 1 < len(args):
        return args[args.index("--server-id") + 1]
    return AKS_SERVER_APP_ID


def uses_entra(kubeconfig: bytes) -> bool:
    doc = yaml.safe_load(kubeconfig) or {}
    return any(server_id(u.get("user") or {}) for u in doc.get("users") or [])


def signed_in(kubeconfig: bytes, credential: "TokenCredential") -> bytes:
    """The kubeconfig with each kubelogin user replaced by an Entra token for its server application (in memory;
    the token expires with Entra's usual lifetime, longer than a run). Other users are left as they are."""
    doc = yaml.safe_load(kubeconfig) or {}
    users = doc.get("users") or []
    if not any(server_id(u.get("user") or {}) for u in users):
        return kubeconfig
    doc = copy.deepcopy(doc)
    for entry in doc["users"]:
        sid = server_id(entry.get("user") or {})
        if sid:
            entry["user"] = {"token": credential.get_token(f"{sid}/.default").token}
    return yaml.safe_dump(doc, sort_keys=False).encode()
