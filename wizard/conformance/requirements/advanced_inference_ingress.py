"""advanced_inference_ingress (SHOULD, 1.36+): the Gateway API Inference Extension (InferencePool) installed."""
from __future__ import annotations

from ..context import Ctx, Outcome
from .base import Spec, framework_installed


def check(ctx: Ctx) -> Outcome:
    return framework_installed(
        ctx, ("inferencepools.inference.networking.k8s.io", "inferencepools.inference.networking.x-k8s.io",
              "inferenceobjectives.inference.networking.x-k8s.io"),
        "Gateway API Inference Extension CRDs present (routing not exercised)",
        "Gateway API Inference Extension (InferencePool) not installed",
        "kubectl apply -f https://github.com/kubernetes-sigs/gateway-api-inference-extension/releases/latest/"
        "download/manifests.yaml (and an inference gateway implementation)")


SPEC = Spec("advanced_inference_ingress", check)
