"""The simulated ARM as one object: its state and the rooms (mixins) that serve each kind of resource."""
from __future__ import annotations

import importlib
from typing import Any, Callable

from wizard.sim import latency
from wizard.sim.faults import FaultSet
from wizard.sim.state import World

from .catalog import Catalog
from .clusters import Clusters
from .operations import Operations
from .pools import Pools
from .routing import EXTENSIONS, ROUTES, Routing
from .subscriptions import Subscriptions
from .wire import is_gpu_size, load_catalog


class Arm(Routing, Subscriptions, Catalog, Clusters, Pools, Operations):
    """ARM of the simulated subscription over a `World`."""

    def __init__(self, world: World, faults: FaultSet, speed: float,
                 base_url: Callable[[], str], kube: Callable[[], Any],
                 typical: latency.Typical = latency.TYPICAL, catalog: dict[str, Any] | None = None) -> None:
        self.world = world
        self.faults = faults
        self.speed = speed
        self._base_url = base_url
        self._kube = kube
        self.typical = typical
        self.ca_pem: bytes | None = None  # set by a TLS simulator: the CA its kubeconfigs name
        self.held = False  # while True, advance() completes nothing (Simulator.hold/release)
        self._conflicted: set[str] = set()  # clusters the conflict fault has already kept busy
        self._dropped: set[str] = set()  # resources whose PUT response the connection-drop fault has lost
        self.catalog = catalog or load_catalog()
        self.locations = {loc["name"]: loc for loc in self.catalog["locations"]}
        self.skus = {s["name"].lower(): s for s in self.catalog["skus"]}
        self._gpu_families = {s["family"] for s in self.catalog["skus"] if is_gpu_size(s["name"])}
        self.routes = []
        for methods, pattern, handler in ROUTES:
            self._route(methods, pattern, getattr(self, handler))
        for name in EXTENSIONS:  # Azure Monitor resources; virtual networks and subnets
            importlib.import_module(name).register(self)
        from wizard.sim import network
        network.seed(self)

    @property
    def base_url(self) -> str:
        return self._base_url()

    @property
    def kube(self) -> Any:
        return self._kube()
