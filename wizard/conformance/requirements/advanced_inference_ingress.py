"""advanced_inference_ingress (SHOULD, 1.36+): the Gateway API Inference Extension (InferencePool) installed."""
from __future__ import annotations

from ..context import Ctx, Out, Outcome
from .base import Spec, status_from, summary


def check(ctx: Ctx) -> Outcome:
    out = Out()
    crds = ctx.crds()
    names = [n for n in ("inferencepools.inference.networking.k8s.io", "inferencepools.inference.networking.x-k8s.io",
                         "inferenceobjectives.inference.networking.x-k8s.io") if n in crds]
    if names:
        for n in names:
            ok, line = ctx.crd_ok(n)
            (out.ev if ok else out.problem)(line)
        return Outcome(status_from(out, False), summary(out, "", "Gateway API Inference Extension CRDs present",
                                                         False), out, "read-only")
    out.problem("Gateway API Inference Extension (InferencePool) not installed",
                "kubectl apply -f https://github.com/kubernetes-sigs/gateway-api-inference-extension/releases/latest/"
                "download/manifests.yaml (and an inference gateway implementation)")
    return Outcome("fail", out.problems[0], out, "read-only")


SPEC = Spec("advanced_inference_ingress", check)
