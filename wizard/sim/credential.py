"""A TokenCredential for the simulated Azure, signed in as one principal of the simulated tenant.

Its tokens are shaped as Entra's: JWTs (header.payload.signature, base64url) whose payload carries the audience
(`aud`), the tenant (`tid`), the principal's object id (`oid`), its groups (`groups`, as a token does below
Entra's 200-group limit) and, for a user, `upn` and `idtyp: user`. The simulated ARM and the Kubernetes API of an
Entra cluster read who is calling from them, as Azure does; the signature is not checked (nothing verifies a
simulated token). The Prometheus endpoint's token stays a fixed string (it needs no principal).
"""
from __future__ import annotations

import base64
import json
import os
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from azure.core.credentials import AccessToken, AccessTokenInfo

TENANT_ID = "8d1e6b2f-4a7c-4e39-b5d0-71c9a3f2e684"  # wizard.sim.state.TENANT_ID (the simulated tenant)
ARM_AUDIENCE = "https://management.azure.com/"
AKS_AUDIENCE = "6dae42f8-4368-4678-94ff-3960e28e3630"  # the AKS server application (wizard.azure.entra)
PROMETHEUS_TOKEN = "sim-prometheus-token"  # for https://prometheus.monitor.azure.com/.default


@dataclass(frozen=True)
class Principal:
    """A user or service principal of the simulated tenant (Entra's directory, as far as tokens show it)."""

    object_id: str
    name: str  # a user's UPN, a service principal's display name
    groups: tuple[str, ...] = ()
    kind: str = "User"  # User | ServicePrincipal (the principalType of a role assignment)
    app_id: str | None = None  # a service principal's application id


# The simulated tenant's groups and principals. The signed-in user of every simulator run is USER, who created
# the subscription (Owner) and is in no admin group of examples/production.yaml; PLATFORM_ADMIN is in its admin
# group (the platform team); DEVELOPER holds no role at all.
PLATFORM_TEAM_GROUP = "4b8f3c2e-9d1a-4f6b-8e7c-2a5d9f0b1c3e"
ENGINEERS_GROUP = "9e2d7c41-3b6a-4f58-a1c0-5d8e2f7b9a63"
USER = Principal("0f4b2c1d-7e3a-4b5c-9d8e-6a1f2b3c4d5e", "sim-user@simulated.onmicrosoft.com", (ENGINEERS_GROUP,))
PLATFORM_ADMIN = Principal("c7a5e3d1-2b4f-4a6c-8e9d-1f3b5a7c9e2d", "platform-admin@simulated.onmicrosoft.com",
                           (PLATFORM_TEAM_GROUP, ENGINEERS_GROUP))
DEVELOPER = Principal("5d3f1b9e-8c7a-4e2d-b6f4-3a1c9e7d5b8f", "developer@simulated.onmicrosoft.com", ())
PIPELINE = Principal("e1c3a5b7-9d2f-4b6e-8a4c-7f5d3b1e9c6a", "aks-deploy-pipeline", (), "ServicePrincipal",
                     "2a4c6e8b-1d3f-4a5c-9e7b-6d8f0a2c4e1b")
PRINCIPALS = {p.object_id: p for p in (USER, PLATFORM_ADMIN, DEVELOPER, PIPELINE)}
GROUPS = {PLATFORM_TEAM_GROUP: "platform-team", ENGINEERS_GROUP: "engineers"}

_ISSUED = 1767225600  # fixed claims keep a principal's token per audience one string (tests look for leaks)
_EXPIRES = 4102444800


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).rstrip(b"=").decode()


def token_of(principal: Principal, audience: str) -> str:
    """The JWT Entra would issue this principal for this audience (the simulated signature is not a signature)."""
    claims: dict[str, Any] = {"aud": audience, "iss": f"https://sts.windows.net/{TENANT_ID}/", "iat": _ISSUED,
                              "nbf": _ISSUED, "exp": _EXPIRES, "tid": TENANT_ID, "oid": principal.object_id,
                              "sub": principal.object_id, "groups": list(principal.groups)}
    if principal.kind == "User":
        claims |= {"upn": principal.name, "name": principal.name.split("@")[0], "idtyp": "user", "scp": "user_impersonation"}
    else:
        claims |= {"appid": principal.app_id, "idtyp": "app"}
    return f"{_b64({'typ': 'JWT', 'alg': 'RS256', 'kid': 'sim'})}.{_b64(claims)}.c2ltdWxhdGVk"


def claims_of(authorization: str) -> dict[str, Any] | None:
    """The claims of an `Authorization: Bearer <JWT>` header, or None when it holds no readable token."""
    from wizard.azure.roles import token_claims

    scheme, _, token = (authorization or "").strip().partition(" ")
    return token_claims(token.strip()) if scheme.lower() == "bearer" else None


ARM_TOKEN = token_of(USER, ARM_AUDIENCE)
ENTRA_KUBE_TOKEN = token_of(USER, AKS_AUDIENCE)  # for <AKS server application>/.default (what kubelogin exchanges)


def _audience(scopes: tuple[str, ...]) -> str | None:
    """The audience of the scopes asked for: the AKS server application, ARM, or None (Prometheus)."""
    if any(s.startswith(AKS_AUDIENCE) for s in scopes):
        return AKS_AUDIENCE
    return None if any("prometheus.monitor." in s for s in scopes) else ARM_AUDIENCE


PRINCIPAL_ENV = "AKS_AI_WIZARD_SIM_PRINCIPAL"  # sign a simulated run in as this principal (UPN, name or object id)


def signed_in_principal() -> Principal:
    """The principal a simulated run signs in as: USER, or the one $AKS_AI_WIZARD_SIM_PRINCIPAL names."""
    wanted = os.environ.get(PRINCIPAL_ENV, "").strip().lower()
    if not wanted:
        return USER
    found = next((p for p in PRINCIPALS.values() if wanted in (p.object_id, p.name.lower())), None)
    if found is None:
        raise ValueError(f"{PRINCIPAL_ENV}={wanted!r} is no principal of the simulated tenant; known: "
                         + ", ".join(p.name for p in PRINCIPALS.values()))
    return found


@dataclass
class SimCredential:
    """azure.core TokenCredential (and SupportsTokenInfo) of one principal. `scopes` lists every scope tuple
    requested. `SimCredential(principal=PLATFORM_ADMIN)` signs in as another principal of the tenant."""

    principal: Principal = field(default_factory=signed_in_principal)
    lifetime: int = 3600
    scopes: list[tuple[str, ...]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _token(self, scopes: tuple[str, ...]) -> str:
        with self._lock:
            self.scopes.append(tuple(scopes))
        audience = _audience(scopes)
        return PROMETHEUS_TOKEN if audience is None else token_of(self.principal, audience)

    def get_token(self, *scopes: str, **kwargs: Any) -> "AccessToken":
        from azure.core.credentials import AccessToken

        return AccessToken(self._token(scopes), int(time.time()) + self.lifetime)

    def get_token_info(self, *scopes: str, options: Any = None) -> "AccessTokenInfo":
        from azure.core.credentials import AccessTokenInfo

        return AccessTokenInfo(self._token(scopes), int(time.time()) + self.lifetime, token_type="Bearer")

    def close(self) -> None:
        pass

    def __enter__(self) -> "SimCredential":
        return self

    def __exit__(self, *exc: Any) -> None:
        pass

# Bearer token of the simulated clusters' Kubernetes API, written into the kubeconfigs that
# listClusterUserCredential / listClusterAdminCredential return. Must equal wizard.sim.kube.KUBE_TOKEN (the
# Kubernetes side checks it); arm.py prefers that one when the kube package is importable.
KUBE_TOKEN = "sim-kube-token"
