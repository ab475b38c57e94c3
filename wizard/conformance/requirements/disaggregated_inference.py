"""disaggregated_inference (SHOULD, 1.36+): a disaggregated inference framework installed."""
from __future__ import annotations

from ..context import Ctx, Out, Outcome
from .base import Spec


def check(ctx: Ctx) -> Outcome:
    out = Out()
    crds = ctx.crds()
    known = [n for n in ("dynamographdeployments.nvidia.com", "leaderworkersets.leaderworkerset.x-k8s.io",
                         "llminferenceservices.serving.kserve.io") if n in crds]
    if known:
        for n in known:
            out.ev(f"CRD {n} present")
        return Outcome("partial", "a disaggregated inference framework is installed (not exercised)", out, "read-only")
    out.problem("no disaggregated inference framework installed (Dynamo, llm-d, LeaderWorkerSet)",
                "helm install NVIDIA Dynamo (see https://blog.aks.azure.com/2025/10/24/dynamo-on-aks)")
    return Outcome("fail", out.problems[0], out, "read-only")




SPEC = Spec("disaggregated_inference", check)
