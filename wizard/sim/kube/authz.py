"""Who may do what on the Kubernetes API of a simulated AKS cluster, as AKS decides it.

Authentication: the cluster's static token while local accounts are enabled (a cluster admin), or, with
AKS-managed Entra ID, an Entra token for the AKS server application of the cluster's tenant (its `oid` and
`groups` claims say who calls). Anything else is 401.

Authorization of an Entra caller (https://learn.microsoft.com/azure/aks/manage-azure-rbac, concepts-identity):
- Kubernetes RBAC: members of `aadProfile.adminGroupObjectIDs` are bound to cluster-admin, as is a user or group a
  ClusterRoleBinding binds to cluster-admin; every authenticated caller may read discovery (/version, /api, /apis,
  /openapi, /healthz: system:discovery) and review its own access (selfsubject*reviews).
- Azure RBAC (`aadProfile.enableAzureRBAC`): a role assignment of the caller or one of its groups at the cluster,
  above it (group, subscription) or at one of its namespaces (for requests in that namespace), whose role's
  dataActions cover `Microsoft.ContainerService/managedClusters/<group>/<resource>/<read|write|delete|action>`, once
  propagated (wizard.sim.authorization.PROPAGATION). ARM roles without dataActions (Owner, Contributor) admit nobody.
Neither admits: 403 Forbidden, with AKS's message.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from wizard.sim.credential import AKS_AUDIENCE, TENANT_ID, claims_of

_MC = "Microsoft.ContainerService/managedClusters"
_SELF_REVIEWS = {"selfsubjectaccessreviews", "selfsubjectrulesreviews", "selfsubjectreviews"}
_VERB_ACTION = {"get": "read", "list": "read", "watch": "read", "create": "write", "update": "write",
                "patch": "write", "delete": "delete", "deletecollection": "delete"}
_ACTION_SUBRESOURCES = {"exec", "attach", "portforward", "proxy"}
Reply = tuple[int, dict[str, str], bytes]


@dataclass(frozen=True)
class Attributes:
    """The request as Kubernetes' authorizers see it."""

    verb: str
    group: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""

    @property
    def resource_request(self) -> bool:
        return bool(self.resource)

    def data_action(self) -> str:
        base = f"{_MC}/{self.group + '/' if self.group else ''}{self.resource}"
        if self.subresource in _ACTION_SUBRESOURCES:
            return f"{base}/{self.subresource}/action"
        return f"{base}/{_VERB_ACTION.get(self.verb, 'action')}"


def attributes(method: str, path: str, query: dict[str, list[str]]) -> Attributes:
    """Kubernetes request attributes of an HTTP request (a non-resource request has no resource)."""
    parts = [p for p in path.split("/") if p]
    if parts[:1] == ["api"] and len(parts) >= 3:
        group, rest = "", parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 4:
        group, rest = parts[1], parts[3:]
    else:
        return Attributes(method.lower())
    ns = ""
    if rest[0] == "namespaces" and len(rest) >= 3:
        ns, rest = rest[1], rest[2:]
    resource, name, sub = rest[0], (rest[1] if len(rest) > 1 else ""), (rest[2] if len(rest) > 2 else "")
    if resource == "namespaces" and name:
        ns = name
    watch = (query.get("watch") or [""])[0] in ("true", "1")
    verb = {"GET": "watch" if watch else ("get" if name else "list"), "HEAD": "get", "POST": "create",
            "PUT": "update", "PATCH": "patch", "DELETE": "delete" if name else "deletecollection"}.get(method, "get")
    return Attributes(verb, group, resource, sub, ns, name)


def _status(code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> Reply:
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
            "reason": reason, "code": code}
    if details:
        body["details"] = details
    return code, {"Content-Type": "application/json"}, json.dumps(body).encode()


def _cluster_admin_binding(c: Any, oid: str, groups: set[str]) -> bool:
    for crb in c.list("rbac.authorization.k8s.io", "clusterrolebindings"):
        if (crb.get("roleRef") or {}).get("name") != "cluster-admin":
            continue
        for s in crb.get("subjects") or []:
            if (s.get("kind") == "User" and s.get("name", "").lower() == oid) or (
                    s.get("kind") == "Group" and s.get("name", "").lower() in groups):
                return True
    return False


def _azure_rbac(c: Any, props: dict[str, Any], ids: set[str], attrs: Attributes) -> bool:
    from wizard.sim.authorization import effective, permits

    cluster_id = str(((c.arm or {}).get("cluster") or {}).get("id") or "").lower()
    if not cluster_id:
        return False
    action = attrs.data_action()
    for a in effective(c, time.time()) or []:
        p, role = a["properties"], a["role"]
        scope = p["scope"].lower().rstrip("/")
        in_scope = (cluster_id == scope or cluster_id.startswith(scope + "/")
                    or (attrs.namespace and scope == f"{cluster_id}/namespaces/{attrs.namespace.lower()}"))
        if in_scope and p["principalId"].lower() in ids and permits(
                role.get("dataActions", []), role.get("notDataActions", []), action):
            return True
    return False


def _denied(attrs: Attributes, who: str, azure_rbac: bool) -> Reply:
    what = f'{attrs.resource}{"/" + attrs.subresource if attrs.subresource else ""}'
    named = f'{what} "{attrs.name}"' if attrs.name else what
    where = f'in the namespace "{attrs.namespace}"' if attrs.namespace else "at the cluster scope"
    msg = (f'{named} is forbidden: User "{who}" cannot {attrs.verb} resource "{what}" in API group '
           f'"{attrs.group}" {where}')
    if azure_rbac:
        msg += ": User does not have access to the resource in Azure. Update role assignment to allow access."
    details: dict[str, Any] = {"kind": attrs.resource, "group": attrs.group}
    if attrs.name:
        details["name"] = attrs.name
    return _status(403, "Forbidden", msg, details)


def refusal(c: Any, authorization: str, static_token: str, method: str, path: str,
            query: dict[str, list[str]]) -> Reply | None:
    """None when the cluster's Kubernetes API lets this request through; else the 401 or 403 it answers."""
    props = ((c.arm or {}).get("cluster") or {}).get("properties") or {}
    aad = props.get("aadProfile") or {}
    if authorization == f"Bearer {static_token}":
        return None if not props.get("disableLocalAccounts") else _status(401, "Unauthorized", "Unauthorized")
    claims = claims_of(authorization)
    if (not aad.get("managed") or claims is None or claims.get("aud") != AKS_AUDIENCE
            or str(claims.get("tid", "")).lower() != str(aad.get("tenantID") or TENANT_ID).lower()):
        return _status(401, "Unauthorized", "Unauthorized")
    attrs = attributes(method, path, query)
    if not attrs.resource_request or (attrs.group == "authorization.k8s.io" and attrs.resource in _SELF_REVIEWS):
        return None  # system:discovery, system:public-info-viewer, system:basic-user
    oid = str(claims.get("oid", "")).lower()
    groups = {str(g).lower() for g in claims.get("groups") or []}
    admins = {str(g).lower() for g in aad.get("adminGroupObjectIDs") or []}
    if groups & admins or _cluster_admin_binding(c, oid, groups):
        return None
    if aad.get("enableAzureRBAC") and _azure_rbac(c, props, {oid} | groups, attrs):
        return None
    return _denied(attrs, str(claims.get("upn") or oid), bool(aad.get("enableAzureRBAC")))
