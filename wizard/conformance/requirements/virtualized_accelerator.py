"""virtualized_accelerator (SHOULD, 1.35+): virtualized (vGPU) sizes present in the cluster."""
from __future__ import annotations

from ..context import Ctx, Out, Outcome
from .base import Spec


def check(ctx: Ctx) -> Outcome:
    out = Out()
    sizes = ctx.vm_sizes(ctx.gpu_vm_nodes())
    v = [s for s in sizes if "a10" in s.lower() and s.lower().startswith("standard_nv")]
    if v:
        out.ev(f"vGPU sizes in use: {', '.join(v)}")
        return Outcome("partial", "virtualized (fractional) GPUs present; management not exercised", out, "read-only")
    out.note(f"no virtualized GPU sizes in the cluster (GPU sizes: {', '.join(sizes) or 'none'}); "
             "vGPU sizes are NVadsA10 v5")
    return Outcome("skipped", "no virtualized accelerators in this cluster", out, "read-only")


SPEC = Spec("virtualized_accelerator", check)
