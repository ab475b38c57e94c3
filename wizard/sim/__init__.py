"""Embedded simulated Azure: a fake Azure Resource Manager (and the Kubernetes API of its clusters) served over
HTTP on 127.0.0.1, driven by the real SDK clients. See ARCHITECTURE.md "Simulator contract".

    from wizard.sim import Simulator
    with Simulator(speed=60.0, faults=["gpu-quota"]) as sim:
        sim.base_url, sim.credential, sim.subscription_id, sim.request_log, sim.kube

Imports are lazy so that `import wizard.sim` stays cheap.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wizard.sim.credential import ARM_TOKEN, KUBE_TOKEN
from wizard.sim.faults import NAMES as FAULT_NAMES
from wizard.sim.state import SUBSCRIPTION_ID, SUBSCRIPTION_NAME, TENANT_ID

if TYPE_CHECKING:
    from wizard.sim.credential import SimCredential
    from wizard.sim.server import LoggedRequest, Simulator, read_requests

__all__ = ["Simulator", "LoggedRequest", "read_requests", "SimCredential", "KUBE_TOKEN", "ARM_TOKEN", "FAULT_NAMES",
           "SUBSCRIPTION_ID", "SUBSCRIPTION_NAME", "TENANT_ID"]


def __getattr__(name: str) -> Any:
    if name in ("Simulator", "LoggedRequest", "read_requests"):
        from wizard.sim import server
        return getattr(server, name)
    if name == "SimCredential":
        from wizard.sim.credential import SimCredential
        return SimCredential
    raise AttributeError(f"module 'wizard.sim' has no attribute {name!r}")
