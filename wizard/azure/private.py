"""A private API server seen from outside its VNet: ARM (the cluster PUT, its credentials) answers from anywhere,
the Kubernetes API only from a network that reaches the private endpoint. Before the first Kubernetes request
of a run (the add-on steps, the verification) the wizard tries the API server once and, when it is private and
does not answer, stops with what that means and the ways on, instead of a connection error per step."""
from __future__ import annotations

from typing import Any

from wizard.failure import AzureFailure, AzureLayerError

PROBE_TIMEOUT = 10.0  # seconds: a private endpoint that is reachable answers /version at once


def command_invoke(rg: str, name: str, command: str = "kubectl get nodes") -> str:
    return f'az aks command invoke -g {rg} -n {name} --command "{command}"'


def unreachable(rg: str, name: str, reason: str) -> AzureLayerError:
    return AzureLayerError(AzureFailure(
        "network", "PrivateApiServerUnreachable",
        f"The API server of cluster {name} is private and does not answer from this machine ({reason}).",
        "A private API server has no public endpoint: only a machine that reaches the cluster's VNet (peered "
        "network, VPN, ExpressRoute, a jump box or self-hosted agent) can talk to Kubernetes; Azure Resource "
        "Manager (the cluster and its pools) answers from anywhere.",
        f"run the same command again from a machine inside the VNet (it does only what is left); or, from here, "
        f"run single kubectl commands through Azure: {command_invoke(rg, name)}.",
        None, None, None, "", "cluster.network.api_server.private"))


def no_answer(api_client: Any) -> str | None:
    """Why the API server did not answer /version (one try, bounded), or None when it answered (even 401/403:
    reachable; the request that needs it explains the rest)."""
    from kubernetes.client import VersionApi
    from kubernetes.client.exceptions import ApiException

    try:
        VersionApi(api_client).get_code(_request_timeout=PROBE_TIMEOUT)
    except ApiException:
        return None
    except Exception as exc:  # noqa: BLE001 - any connection failure: the endpoint is not reachable from here
        return type(exc).__name__
    return None


def check_reachable(api_client: Any, rg: str, name: str) -> None:
    """Raise ``unreachable`` when the private API server does not answer /version."""
    reason = no_answer(api_client)
    if reason is not None:
        raise unreachable(rg, name, reason)
