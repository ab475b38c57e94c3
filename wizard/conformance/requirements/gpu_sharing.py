"""gpu_sharing (SHOULD, 1.35+): MIG or time-sliced GPU resources exposed as schedulable resources."""
from __future__ import annotations

from ..context import Ctx, Out, Outcome
from .base import Spec


def check(ctx: Ctx) -> Outcome:
    out = Out()
    shared = []
    for n in ctx.nodes():
        alloc = (n.get("status") or {}).get("allocatable") or {}
        keys = [k for k in alloc if k.startswith("nvidia.com/mig-") or k.endswith(".shared")]
        labels = n["metadata"].get("labels") or {}
        if keys or labels.get("nvidia.com/gpu.replicas") not in (None, "1"):
            shared.append(f"{n['metadata']['name']}: {', '.join(keys) or 'time-slicing replicas ' + labels.get('nvidia.com/gpu.replicas', '')}")
    if shared:
        for s in shared:
            out.ev(s)
        return Outcome("pass", "GPU sharing resources exposed", out, "read-only")
    out.problem("no MIG or time-sliced GPU resources exposed",
                "az aks nodepool add ... --gpu-instance-profile MIG1g (MIG-capable sizes), or the NVIDIA device "
                "plugin's time-slicing config")
    return Outcome("fail", out.problems[0], out, "read-only")


SPEC = Spec("gpu_sharing", check)
