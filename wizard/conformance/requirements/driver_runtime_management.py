"""driver_runtime_management (SHOULD, 1.35+): AKS manages the GPU driver and runtime and reports their health per node (node problem detector conditions)."""
from __future__ import annotations

from ..context import GPU, Ctx, Out, Outcome
from .base import Spec


def check(ctx: Ctx) -> Outcome:
    out = Out()
    az = ctx.az
    managed = False
    if az is not None:
        for p in az.gpu_pools():
            managed = managed or p.managed_gpu
            out.ev(f"Azure: GPU pool {p.name} driver {p.driver}, management "
                   f"{'Managed' if p.managed_gpu else 'Unmanaged'}")
    nodes = ctx.gpu_vm_nodes()
    if not nodes:
        out.problem("no GPU nodes", ctx.fix.gpu_pool())
        return Outcome("fail", out.problems[0], out, "read-only")
    healthy = 0
    for n in nodes:
        conds = {c.get("type"): c.get("status") for c in (n.get("status") or {}).get("conditions") or []}
        if conds.get("UnhealthyNvidiaDevicePlugin") == "False" and conds.get("UnhealthyNvidiaDCGMServices") == "False":
            healthy += 1
    if healthy:
        out.ev(f"{healthy}/{len(nodes)} GPU node(s) report UnhealthyNvidiaDevicePlugin=False and "
               "UnhealthyNvidiaDCGMServices=False (node problem detector)")
    if managed and healthy == len(nodes):
        return Outcome("pass", "AKS manages the GPU driver and runtime and reports their health per node", out,
                       "read-only")
    if not ctx.gpu_nodes():
        out.problem(f"GPU nodes advertise no {GPU}", ctx.fix.device_plugin())
        return Outcome("fail", out.problems[0], out, "read-only")
    out.note("driver installed by AKS (gpuProfile.driver Install) but not managed/health-reported: partial")
    return Outcome("partial", "GPU driver present and devices advertised; no managed driver lifecycle", out,
                   "read-only")


SPEC = Spec("driver_runtime_management", check, test="TestDriverRuntimeManagement")
