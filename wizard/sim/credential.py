"""A TokenCredential for the simulated Azure: hands out a fixed fake token and records the scopes asked for."""
from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from azure.core.credentials import AccessToken, AccessTokenInfo


ARM_TOKEN = "sim-arm-token"


from wizard.azure.entra import AKS_SERVER_APP_ID

ENTRA_KUBE_TOKEN = "sim-entra-aks-token"  # what a sign-in for the AKS API server's scope returns here


def _token_for(scopes: tuple[str, ...], arm_token: str) -> str:
    """A token for AKS's Entra server application (what kubelogin exchanges) is not an ARM token: the simulated
    Kubernetes API of an Entra cluster takes only that one."""
    return ENTRA_KUBE_TOKEN if any(s.startswith(AKS_SERVER_APP_ID) for s in scopes) else arm_token


class SimCredential:
    """azure.core TokenCredential (and SupportsTokenInfo). `scopes` lists every scope tuple requested."""

    def __init__(self, token: str = ARM_TOKEN, lifetime: int = 3600) -> None:
        self.token = token
        self.lifetime = lifetime
        self.scopes: list[tuple[str, ...]] = []
        self._lock = threading.Lock()

    def get_token(self, *scopes: str, **kwargs: Any) -> "AccessToken":
        from azure.core.credentials import AccessToken

        with self._lock:
            self.scopes.append(tuple(scopes))
        return AccessToken(_token_for(scopes, self.token), int(time.time()) + self.lifetime)

    def get_token_info(self, *scopes: str, options: Any = None) -> "AccessTokenInfo":
        from azure.core.credentials import AccessTokenInfo

        with self._lock:
            self.scopes.append(tuple(scopes))
        return AccessTokenInfo(_token_for(scopes, self.token), int(time.time()) + self.lifetime, token_type="Bearer")

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
