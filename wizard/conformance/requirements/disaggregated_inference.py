"""disaggregated_inference (SHOULD, 1.36+): a disaggregated inference framework installed."""
from __future__ import annotations

from ..context import Ctx, Outcome
from .base import Spec, framework_installed


def check(ctx: Ctx) -> Outcome:
    return framework_installed(
        ctx, ("dynamographdeployments.nvidia.com", "leaderworkersets.leaderworkerset.x-k8s.io",
              "llminferenceservices.serving.kserve.io"),
        "a disaggregated inference framework is installed (not exercised)",
        "no disaggregated inference framework installed (Dynamo, llm-d, LeaderWorkerSet)",
        "helm install NVIDIA Dynamo (see https://blog.aks.azure.com/2025/10/24/dynamo-on-aks)")


SPEC = Spec("disaggregated_inference", check)
