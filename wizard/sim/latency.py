"""Latency model of the simulated Azure: typical durations per operation (seconds at speed 1).

The figures come from `wizard.durations` (one table for progress, the simulator and the benchmark); the
simulator divides them by its speed (`--sim-speed`). `cluster_put_typical()` is the duration of one cluster
PUT given its body, as the benchmark and the simulator both need it.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Mapping

from wizard import durations as _d


@dataclass(frozen=True)
class Typical:
    resource_group: float = _d.RESOURCE_GROUP
    resource_group_delete: float = 60.0
    feature_registration: float = _d.FEATURE_REGISTRATION
    provider_registration: float = _d.PROVIDER_REGISTRATION
    cluster_create: float = _d.CLUSTER_CREATE
    cluster_extra_pool: float = _d.CLUSTER_EXTRA_POOL
    cluster_istio: float = _d.CLUSTER_ISTIO
    cluster_per_addon: float = _d.CLUSTER_PER_ADDON
    agent_pool: float = _d.AGENT_POOL
    mesh_enable: float = _d.MESH_ENABLE
    gateway_api_update: float = _d.GATEWAY_API_UPDATE
    cluster_update: float = _d.CLUSTER_UPDATE
    cluster_delete: float = 300.0
    agent_pool_delete: float = 120.0

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


TYPICAL = Typical()


def _get(d: Any, *path: str) -> Any:
    for p in path:
        if not isinstance(d, Mapping):
            return None
        d = d.get(p)
    return d


def istio_enabled(body: Mapping[str, Any] | None) -> bool:
    return str(_get(body, "properties", "serviceMeshProfile", "mode") or "").lower() == "istio"


def gateway_api_enabled(body: Mapping[str, Any] | None) -> bool:
    return str(_get(body, "properties", "ingressProfile", "gatewayAPI", "installation") or "").lower() == "standard"


def addon_count(body: Mapping[str, Any] | None) -> int:
    """KEDA, KAITO and managed Prometheus: the add-ons the latency model charges for."""
    n = 0
    if _get(body, "properties", "workloadAutoScalerProfile", "keda", "enabled"):
        n += 1
    if _get(body, "properties", "aiToolchainOperatorProfile", "enabled"):
        n += 1
    if _get(body, "properties", "azureMonitorProfile", "metrics", "enabled"):
        n += 1
    return n


def cluster_put_typical(body: Mapping[str, Any], existed: bool = False,
                        previous: Mapping[str, Any] | None = None, t: Typical = TYPICAL) -> float:
    """Typical seconds (speed 1) of a managedClusters PUT.

    A create costs the base time plus each extra pool, Istio and each add-on. An update on an existing
    cluster costs the mesh-enable time when it turns Istio on, the Gateway API time when it turns Gateway API
    on, the agent-pool time for each pool it adds, else the generic update time."""
    pools = _get(body, "properties", "agentPoolProfiles") or []
    if not existed:
        return (t.cluster_create + t.cluster_extra_pool * max(0, len(pools) - 1)
                + (t.cluster_istio if istio_enabled(body) else 0.0) + t.cluster_per_addon * addon_count(body))
    total = 0.0
    if istio_enabled(body) and not istio_enabled(previous):
        total += t.mesh_enable
    if gateway_api_enabled(body) and not gateway_api_enabled(previous):
        total += t.gateway_api_update
    before = {str(p.get("name", "")).lower() for p in (_get(previous, "properties", "agentPoolProfiles") or [])}
    new_pools = [p for p in pools if str(p.get("name", "")).lower() not in before]
    total += t.agent_pool * len(new_pools)
    added = max(0, addon_count(body) - addon_count(previous))
    total += t.cluster_per_addon * added
    return total or t.cluster_update


def agent_pool_put_typical(existed: bool = False, t: Typical = TYPICAL) -> float:
    return t.agent_pool if not existed else t.cluster_update


def scaled(typical: float, speed: float) -> float:
    """Simulated duration in seconds for a typical one at the given speed."""
    return typical / speed if speed > 0 else typical
