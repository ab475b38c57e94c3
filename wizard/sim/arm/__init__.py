"""ARM resource handlers of the simulated Azure and its long-running operations.

`Arm.handle(Request) -> Response` is transport-free: the HTTP server (server.py) parses requests and writes
responses. Wire behaviour follows ../shared/arm/README.md: PUT of a cluster or pool answers 201/200 with the
resource (provisioningState Creating/Updating) and an absolute Azure-AsyncOperation URL on this server; the
operation status answers InProgress until its simulated duration has passed, then Succeeded (the resource
becomes Succeeded and the Kubernetes side is synced) or Failed with an ARM error. Operations complete by
wall-clock time, checked at the start of every request (`advance`). A held ARM (`hold`, for tests) completes
nothing: operations stay InProgress and registrations Registering until `release`.

The package holds one room per kind of resource: routing (the route table and dispatch), subscriptions (groups,
providers, features), catalog (versions, sizes, quota), clusters and pools (the handlers), validate (the checks of
a PUT body), build (the stored resource of an accepted PUT) and operations (time, LROs, write guards).
"""
from __future__ import annotations

from .catalog import LOW_PRIORITY, is_spot
from .core import Arm
from .wire import (CATALOG_FILE, CS, LTS_PLAN, NOT_FOUND_FIX, Request, Response, _Reject, aks_error, arm_error,
                   is_gpu_size, iso, load_catalog, version_key)

__all__ = ["Arm", "CATALOG_FILE", "CS", "LOW_PRIORITY", "LTS_PLAN", "NOT_FOUND_FIX", "Request", "Response", "_Reject",
           "aks_error", "arm_error", "is_gpu_size", "is_spot", "iso", "load_catalog", "version_key"]
