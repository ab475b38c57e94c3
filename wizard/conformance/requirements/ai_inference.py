"""ai_inference: Gateway API CRDs, an Accepted GatewayClass and its controller (read-only); the probe creates a
Gateway and an HTTPRoute with weighted backends and a header match and waits for Programmed / Accepted."""
from __future__ import annotations

from typing import Any

from ..context import Ctx, Out, Outcome, cond, cond_true
from ..probes import AGNHOST, ProbeResult, ProbeRunner
from .base import Spec, probed, run_probe

GATEWAY_CRDS = ("gatewayclasses", "gateways", "httproutes", "grpcroutes", "referencegrants")
GW = "gateway.networking.k8s.io"


def accepted_gateway_classes(ctx: Ctx) -> list[dict[str, Any]]:
    classes = ctx.k().items("/apis/gateway.networking.k8s.io/v1/gatewayclasses")
    return [c for c in classes if cond_true(c, "Accepted")]


def check(ctx: Ctx) -> Outcome:
    out = Out()
    az = ctx.az
    if az is not None:
        inst = az.gateway_api_installation or "not set"
        if inst.lower() == "standard":
            out.ev("Azure: ingressProfile.gatewayAPI.installation = Standard (managed Gateway API)")
        else:
            out.note(f"Azure: ingressProfile.gatewayAPI.installation = {inst} (Gateway API not managed by AKS)")
        if az.mesh_mode.lower() == "istio":
            out.ev(f"Azure: serviceMeshProfile.mode = Istio, revisions {', '.join(az.mesh_revisions) or 'none'}")
        else:
            out.note(f"Azure: serviceMeshProfile.mode = {az.mesh_mode}")
    crds_ok = True
    for plural in GATEWAY_CRDS:
        ok, line = ctx.crd_ok(f"{plural}.{GW}")
        if ok:
            crd = ctx.crds()[f"{plural}.{GW}"]
            ann = crd["metadata"].get("annotations") or {}
            if plural == "httproutes":
                bundle = ann.get(f"{GW}/bundle-version")
                chan = ann.get(f"{GW}/channel")
                if bundle:
                    line += f"; bundle-version {bundle}, channel {chan or '?'}"
                if "v1" not in [v["name"] for v in crd["spec"].get("versions", []) if v.get("served")]:
                    out.problem(f"{line}: HTTPRoute v1 not served", ctx.fix.gateway_api())
            out.ev(line)
        elif plural in ("gatewayclasses", "gateways", "httproutes"):
            crds_ok = False
            out.problem(line, ctx.fix.gateway_api())
        else:
            out.note(line)
    classes = []
    if crds_ok:
        classes = accepted_gateway_classes(ctx)
        if classes:
            for c in classes:
                out.ev(f"GatewayClass {c['metadata']['name']} Accepted (controller "
                       f"{(c.get('spec') or {}).get('controllerName')})")
        else:
            out.problem("no GatewayClass is Accepted (no Gateway API implementation running)",
                        ctx.fix.gateway_api() if az is None or az.mesh_mode.lower() != "istio" else ctx.fix.istio())
    istiod = ctx.find_deployment(("istiod",), prefix=True)
    if istiod is not None:
        ok, line = ctx.deployment_ok(istiod)
        (out.ev if ok else out.note)(line)
    elif az is not None and az.mesh_mode.lower() == "istio":
        out.problem("Azure enables the Istio add-on but no istiod Deployment was found", ctx.fix.istio())
    proven = None
    if not out.problems:
        proven = run_probe(ctx, "ai_inference", out)
    return probed(out, proven, "Gateway + HTTPRoute (weighted backends, header match) Accepted and Programmed",
                   "Gateway API CRDs Established and a GatewayClass Accepted (routing not exercised)")


def probe(r: ProbeRunner) -> ProbeResult:
    classes = accepted_gateway_classes(r.ctx)
    if not classes:
        return ProbeResult(False, "no Accepted GatewayClass")
    preferred = ("istio", "approuting-istio")
    cls = sorted(classes, key=lambda c: (c["metadata"]["name"] not in preferred, c["metadata"]["name"]))[0]
    cname = cls["metadata"]["name"]
    ns = r.namespace()
    for app in ("aicv-a", "aicv-b"):
        r.post(f"/apis/apps/v1/namespaces/{ns}/deployments", {
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": app, "namespace": ns},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": app}},
                     "template": {"metadata": {"labels": {"app": app}}, "spec": {"containers": [{
                         "name": "echo", "image": AGNHOST, "args": ["netexec", "--http-port=8080"],
                         "ports": [{"containerPort": 8080}],
                         "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]}}}})
        r.post(f"/api/v1/namespaces/{ns}/services", {
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": app, "namespace": ns},
            "spec": {"selector": {"app": app}, "ports": [{"name": "http", "port": 8080, "targetPort": 8080}]}})
    gw = "/apis/gateway.networking.k8s.io/v1"
    r.post(f"{gw}/namespaces/{ns}/gateways", {
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
        "metadata": {"name": "aicv-gw", "namespace": ns,
                     "annotations": {"networking.istio.io/service-type": "ClusterIP"}},
        "spec": {"gatewayClassName": cname, "listeners": [{"name": "http", "protocol": "HTTP", "port": 80}]}})
    r.post(f"{gw}/namespaces/{ns}/httproutes", {
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
        "metadata": {"name": "aicv-route", "namespace": ns},
        "spec": {"parentRefs": [{"name": "aicv-gw"}], "rules": [
            {"matches": [{"headers": [{"name": "x-model-name", "value": "aicv-b"}], "path": {
                "type": "PathPrefix", "value": "/v1/chat/completions"}}],
             "backendRefs": [{"name": "aicv-b", "port": 8080}]},
            {"backendRefs": [{"name": "aicv-a", "port": 8080, "weight": 80},
                             {"name": "aicv-b", "port": 8080, "weight": 20}]}]}})
    ev = r.trail
    ev.append(f"Gateway aicv-gw (class {cname}) and HTTPRoute with a header match (x-model-name) and 80/20 "
              "weighted backends created")

    def gw_ready() -> dict[str, Any] | None:
        g = r.get(f"{gw}/namespaces/{ns}/gateways/aicv-gw")
        return g if cond_true(g, "Accepted") and cond_true(g, "Programmed") else None

    try:
        g = r.wait("Gateway Accepted and Programmed", gw_ready)
    except TimeoutError as exc:
        g = r.get(f"{gw}/namespaces/{ns}/gateways/aicv-gw")
        c = cond(g, "Programmed") or cond(g, "Accepted") or {}
        return ProbeResult(False, f"{exc}; Gateway {c.get('type', '')}={c.get('status', '?')} "
                                  f"{c.get('reason', '')}: {c.get('message', '')}".strip(), ev)
    addr = ", ".join(a.get("value", "") for a in (g.get("status") or {}).get("addresses") or [])
    ev.append(f"Gateway Accepted and Programmed (addresses {addr or 'none'})")

    def route_ok() -> dict[str, Any] | None:
        route = r.get(f"{gw}/namespaces/{ns}/httproutes/aicv-route")
        parents = (route.get("status") or {}).get("parents") or []
        return route if parents and all(cond_true({"status": p}, "Accepted") and
                                    cond_true({"status": p}, "ResolvedRefs") for p in parents) else None

    r.wait("HTTPRoute Accepted with ResolvedRefs", route_ok)
    ev.append("HTTPRoute Accepted and ResolvedRefs=True on its parent Gateway")
    return ProbeResult(True, "Gateway Programmed, HTTPRoute Accepted", ev)


SPEC = Spec("ai_inference", check, probe, test="TestAIInference")
