"""dra_support (1.34, 1.35): the DRA APIs (resource.k8s.io/v1) served with every verb; the probe proves the write
path with a server-side dry run of a ResourceClaimTemplate."""
from __future__ import annotations

from ..context import Ctx, Out, Outcome
from ..kube import KubeFailure
from ..probes import ProbeResult, ProbeRunner
from .base import Spec, status_from, summary

DRA_RESOURCES = ("deviceclasses", "resourceclaims", "resourceclaimtemplates", "resourceslices")
DRA_VERBS = {"create", "update", "list", "patch", "delete", "get", "watch"}


def check(ctx: Ctx) -> Outcome:
    out = Out()
    doc = ctx.discovery("resource.k8s.io/v1")
    if doc is None:
        older = [v for v in ("v1beta2", "v1beta1") if ctx.discovery(f"resource.k8s.io/{v}") is not None]
        ver = ctx.version().get("gitVersion", "?")
        msg = (f"resource.k8s.io/v1 not served (Kubernetes {ver}); only {', '.join(older)}" if older
               else f"resource.k8s.io not served (Kubernetes {ver})")
        out.problem(msg, ctx.fix.kubernetes_version())
        return Outcome("fail", msg, out, "read-only")
    res = {r["name"]: r for r in doc.get("resources") or [] if "/" not in r.get("name", "")}
    for name in DRA_RESOURCES:
        r = res.get(name)
        if r is None:
            out.problem(f"resource.k8s.io/v1 does not serve {name}", ctx.fix.kubernetes_version())
            continue
        missing = DRA_VERBS - set(r.get("verbs") or [])
        if missing:
            out.problem(f"resource.k8s.io/v1 {name}: verbs {', '.join(sorted(missing))} missing")
        else:
            out.ev(f"resource.k8s.io/v1 serves {name} ({'namespaced' if r.get('namespaced') else 'cluster'}; "
                   f"verbs {', '.join(sorted(r.get('verbs') or []))})")
    try:
        classes = ctx.k().items("/apis/resource.k8s.io/v1/deviceclasses")
        out.ev(f"DeviceClasses: {', '.join(c['metadata']['name'] for c in classes) or 'none'}")
        if not classes:
            out.note("no DeviceClass yet: the DRA API is served; using it needs a DRA driver (e.g. NVIDIA DRA "
                     "driver, DeviceClass gpu.nvidia.com)")
    except KubeFailure as exc:
        out.note(f"DeviceClasses not listed: {exc.describe()}")
    if ctx.opts.probes and ctx.probes is not None and not out.problems:
        res_p = ctx.probes.run("dra_support")
        for line in res_p.evidence:
            out.ev(f"probe: {line}")
        if res_p.ok is False:
            out.problem(f"probe failed: {res_p.message}", res_p.fix)
    return Outcome(status_from(out, True), summary(out, "DRA APIs served at resource.k8s.io/v1 with all verbs"),
                   out, "read-only")


def probe(r: ProbeRunner) -> ProbeResult:
    ns = r.namespace()
    body = {"apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaimTemplate",
            "metadata": {"name": "aicv-gpu", "namespace": ns},
            "spec": {"spec": {"devices": {"requests": [{"name": "gpu", "exactly": {
                "deviceClassName": "gpu.nvidia.com"}}]}}}}
    r.post(f"/apis/resource.k8s.io/v1/namespaces/{ns}/resourceclaimtemplates", body, dry_run=True)
    return ProbeResult(True, "ResourceClaimTemplate accepted", ["server-side dry run: ResourceClaimTemplate "
                                                                "(resource.k8s.io/v1) accepted"])


SPEC = Spec("dra_support", check, probe, test="TestDRASupport")
