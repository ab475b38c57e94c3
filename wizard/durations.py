"""Typical durations of Azure operations, in seconds.

One table serves three readers: progress ("elapsed 4m12s of a typical 6m"), the simulator's latency
model (which scales these by --sim-speed) and the plan benchmark. Figures are what AKS commonly takes in
a public region; they are guidance, never a promise.
"""
from __future__ import annotations

RESOURCE_GROUP = 2.0
FEATURE_REGISTRATION = 300.0
PROVIDER_REGISTRATION = 60.0
CLUSTER_CREATE = 360.0
CLUSTER_EXTRA_POOL = 90.0
CLUSTER_ISTIO = 60.0
CLUSTER_PER_ADDON = 30.0
AGENT_POOL = 240.0
MESH_ENABLE = 240.0
GATEWAY_API_UPDATE = 180.0
CLUSTER_UPDATE = 120.0
CREDENTIALS = 1.0


def cluster_create(extra_pools: int, istio: bool, addons: int) -> float:
    """Typical time of one cluster PUT that creates the cluster with everything in it."""
    return (
        CLUSTER_CREATE
        + CLUSTER_EXTRA_POOL * extra_pools
        + (CLUSTER_ISTIO if istio else 0.0)
        + CLUSTER_PER_ADDON * addons
    )
