"""vCPU quota arithmetic: what each pool needs at its peak (autoscaler max plus upgrade surge), per VM family
and in total, against compute usage (in use, limit). Pure functions: every number can be tested without Azure.

AKS's default max surge for a node pool is 10%, rounded up, so at least one extra node per pool during an
upgrade or node-image update; surge nodes consume vCPU quota like any other.
"""
from __future__ import annotations

from typing import Any

import math
from dataclasses import dataclass, field

DEFAULT_MAX_SURGE_PERCENT = 10
MAX_NODES = 1000


def surge_nodes(nodes: int, percent: int = DEFAULT_MAX_SURGE_PERCENT) -> int:
    """Extra nodes an upgrade adds: ceil(percent of nodes), at least 1 for a pool that has nodes."""
    if nodes <= 0:
        return 0
    return max(1, math.ceil(nodes * percent / 100))


def peak_vcpus(nodes: int, vcpus_per_node: int) -> int:
    return (nodes + surge_nodes(nodes)) * vcpus_per_node


def most_nodes(room_vcpus: int, vcpus_per_node: int, limit: int = MAX_NODES) -> int:
    """The most nodes whose peak (nodes + surge) fits in ``room_vcpus``."""
    if vcpus_per_node <= 0:
        return limit
    n = 0
    while n < limit and peak_vcpus(n + 1, vcpus_per_node) <= room_vcpus:
        n += 1
    return n


@dataclass
class PoolDemand:
    """One pool's peak vCPU need that is not yet in use."""

    label: str  # "system pool system", "GPU pool gpunp"
    field: str  # answers path of the node count that drives it
    vm_size: str
    family: str
    vcpus_per_node: int
    nodes: int  # peak node count: count, or autoscaler max
    nodes_source: str  # "count" | "autoscale max"
    existing_nodes: int = 0  # nodes of this pool already running (and already in "in use")

    @property
    def surge(self) -> int:
        return surge_nodes(self.nodes)

    @property
    def peak(self) -> int:
        return (self.nodes + self.surge) * self.vcpus_per_node

    @property
    def needed(self) -> int:
        return max(0, self.peak - self.existing_nodes * self.vcpus_per_node)

    def arithmetic(self) -> str:
        at = "" if self.nodes_source == "count" else f" at {self.nodes_source}"
        text = (f"{self.label} ({self.vm_size}): ({self.nodes} nodes{at} + {self.surge} surge) "
                f"x {self.vcpus_per_node} vCPUs = {self.peak}")
        if self.existing_nodes:
            text += (f" - {self.existing_nodes} running x {self.vcpus_per_node} already in use = {self.needed}")
        return text


@dataclass
class QuotaLine:
    """One quota (a family, or the regional total) with the pools that draw on it."""

    name: str  # usage name: family or "cores"
    display: str
    pools: list[PoolDemand] = field(default_factory=list)
    in_use: int | None = None
    limit: int | None = None

    @property
    def needed(self) -> int:
        return sum(p.needed for p in self.pools)

    @property
    def remaining(self) -> int | None:
        if self.limit is None or self.in_use is None:
            return None
        return max(0, self.limit - self.in_use)

    @property
    def fits(self) -> bool | None:
        return None if self.remaining is None else self.needed <= self.remaining

    @property
    def new_limit(self) -> int:
        """The limit to request so that it fits."""
        return (self.in_use or 0) + self.needed

    def arithmetic(self) -> str:
        parts = "; ".join(p.arithmetic() for p in self.pools)
        total = " + ".join(str(p.needed) for p in self.pools)
        text = f"{parts}. Needed {total} = {self.needed}" if len(self.pools) > 1 else f"{parts}. Needed {self.needed}"
        if self.remaining is None:
            return text + "; Azure reported no quota for it"
        verdict = (f"fits ({self.remaining - self.needed} to spare)" if self.fits
                   else f"short by {self.needed - self.remaining}")
        return f"{text}; in use {self.in_use} of limit {self.limit}, {self.remaining} left: {verdict}."

    def to_dict(self) -> dict[str, Any]:
        return {"quota": self.name, "needed": self.needed, "in_use": self.in_use, "limit": self.limit,
                "remaining": self.remaining, "fits": self.fits,
                "pools": [{"pool": p.label, "vm_size": p.vm_size, "vcpus_per_node": p.vcpus_per_node,
                           "nodes": p.nodes, "nodes_source": p.nodes_source, "surge": p.surge,
                           "existing_nodes": p.existing_nodes, "needed": p.needed} for p in self.pools]}

    def room_for(self, pool: PoolDemand) -> int | None:
        """vCPUs left for ``pool`` after the other pools on this quota (None: unknown)."""
        if self.remaining is None:
            return None
        others = sum(p.needed for p in self.pools if p is not pool)
        return self.remaining - others + pool.existing_nodes * pool.vcpus_per_node
