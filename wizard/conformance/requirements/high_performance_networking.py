"""high_performance_networking (SHOULD, 1.36+): RDMA-capable sizes and a multi-interface mechanism."""
from __future__ import annotations

from ..context import Ctx, Out, Outcome
from .base import Spec


def check(ctx: Ctx) -> Outcome:
    out = Out()
    sizes = ctx.vm_sizes(ctx.nodes())
    rdma = [s for s in sizes if s.lower().startswith("standard_nd") or "r_" in s.lower()]
    crds = ctx.crds()
    multus = "network-attachment-definitions.k8s.cni.cncf.io" in crds
    if multus:
        out.ev("CRD network-attachment-definitions.k8s.cni.cncf.io present (multiple interfaces)")
    if not rdma:
        out.note(f"no RDMA/InfiniBand-capable sizes in the cluster ({', '.join(s for s in sizes if s) or 'none'}); "
                 "high performance pod-to-pod networking is not needed here")
        return Outcome("skipped", "no high performance networking hardware in this cluster", out, "read-only")
    out.ev(f"RDMA-capable sizes: {', '.join(rdma)}")
    return Outcome("partial" if multus else "fail", "RDMA sizes present" + ("" if multus else
                   "; no multi-interface (Multus/DRANET) mechanism installed"), out, "read-only")


SPEC = Spec("high_performance_networking", check)
