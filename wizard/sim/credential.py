"""A TokenCredential for the simulated Azure: hands out a fixed fake token per audience (ARM, the Azure Monitor
workspace's Prometheus endpoint) and records the scopes asked for."""
from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from azure.core.credentials import AccessToken, AccessTokenInfo


ARM_TOKEN = "sim-arm-token"
PROMETHEUS_TOKEN = "sim-prometheus-token"  # for https://prometheus.monitor.azure.com/.default


ENTRA_KUBE_TOKEN = "sim-entra-aks-token"  # for <AKS server application>/.default (what kubelogin exchanges)


def _token_for(default: str, scopes: tuple[str, ...]) -> str:
    """A token per audience: the simulated Kubernetes API of an Entra cluster takes only the AKS server
    application's, the Prometheus endpoint only its own."""
    from wizard.azure.entra import AKS_SERVER_APP_ID

    if any(s.startswith(AKS_SERVER_APP_ID) for s in scopes):
        return ENTRA_KUBE_TOKEN
    return PROMETHEUS_TOKEN if any("prometheus.monitor." in s for s in scopes) else default


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
        return AccessToken(_token_for(self.token, scopes), int(time.time()) + self.lifetime)

    def get_token_info(self, *scopes: str, options: Any = None) -> "AccessTokenInfo":
        from azure.core.credentials import AccessTokenInfo

        with self._lock:
            self.scopes.append(tuple(scopes))
        return AccessTokenInfo(_token_for(self.token, scopes), int(time.time()) + self.lifetime, token_type="Bearer")

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
