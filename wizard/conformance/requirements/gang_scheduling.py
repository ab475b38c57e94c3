"""gang_scheduling: Kueue (or Volcano) installed and running; the probe (as the official TestGangScheduling) admits a
fitting gang whole and keeps a too-big gang suspended with zero pods."""
from __future__ import annotations

from typing import Any

import time

from ..context import Ctx, Out, Outcome, cond
from ..kube import KubeFailure
from ..probes import BUSYBOX, KUEUE, Cancelled, ProbeResult, ProbeRunner
from .base import Spec, probed, run_probe

KUEUE_CRDS = ("clusterqueues", "localqueues", "resourceflavors", "workloads")


def check(ctx: Ctx) -> Outcome:
    out = Out()
    crds = ctx.crds()
    kueue = any(f"{p}.{KUEUE}" in crds for p in KUEUE_CRDS)
    volcano = "podgroups.scheduling.volcano.sh" in crds
    if not kueue and not volcano:
        out.problem("no gang scheduling solution installed (no Kueue or Volcano CRDs)", ctx.fix.kueue())
        return Outcome("fail", out.problems[0], out, "read-only")
    if kueue:
        for p in KUEUE_CRDS:
            ok, line = ctx.crd_ok(f"{p}.{KUEUE}")
            (out.ev if ok else lambda s: out.problem(s, ctx.fix.kueue()))(line)
        dep = ctx.find_deployment(("kueue-controller-manager",))
        if dep is None:
            out.problem("Deployment kueue-controller-manager not found", ctx.fix.kueue())
        else:
            ok, line = ctx.deployment_ok(dep)
            (out.ev if ok else lambda s: out.problem(s, ctx.fix.kueue()))(line)
        for name, kind in (("kueue-validating-webhook-configuration", "validating"),
                           ("kueue-mutating-webhook-configuration", "mutating")):
            ok, line = ctx.webhook_ok(name, kind)
            (out.ev if ok else lambda s: out.problem(s, ctx.fix.kueue()))(line)
        ns = dep["metadata"]["namespace"] if dep else "kueue-system"
        try:
            cm = ctx.configmap(ns, "kueue-manager-config")
            if cm:
                text = (cm.get("data") or {}).get("controller_manager_config.yaml", "")
                import yaml
                conf = yaml.safe_load(text) or {} if text else {}
                wfpr = ((conf.get("waitForPodsReady") or {}).get("enable")) if isinstance(conf, dict) else None
                frameworks = ((conf.get("integrations") or {}).get("frameworks") or []) if isinstance(conf, dict) else []
                out.ev(f"kueue-manager-config: waitForPodsReady {'enabled' if wfpr else 'disabled'}; "
                       f"integrations {', '.join(frameworks) or 'default'}")
                if not wfpr:
                    out.note("waitForPodsReady is off: Kueue admits all-or-nothing on quota; enable waitForPodsReady "
                             "for strict physical all-or-nothing (pods ready) semantics")
        except KubeFailure as exc:
            out.note(f"kueue-manager-config not read: {exc.describe()}")
    else:
        ok, line = ctx.crd_ok("podgroups.scheduling.volcano.sh")
        (out.ev if ok else out.problem)(line)
        dep = ctx.find_deployment(("volcano-scheduler",))
        if dep is None:
            out.problem("Deployment volcano-scheduler not found")
        else:
            ok, line = ctx.deployment_ok(dep)
            (out.ev if ok else out.problem)(line)
    proven = None
    if not out.problems:
        if kueue:
            proven = run_probe(ctx, "gang_scheduling", out)
        else:
            out.note("probes exercise Kueue only; Volcano presence verified")
    return probed(out, proven, "Kueue admitted a fitting gang whole and kept a too-big gang at zero pods",
                   "Kueue installed and running (all-or-nothing not exercised)")


def _kueue_version(r: ProbeRunner) -> str:
    crd = r.ctx.crds().get(f"clusterqueues.{KUEUE}") or {}
    served = [v["name"] for v in (crd.get("spec") or {}).get("versions") or [] if v.get("served")]
    return "v1beta1" if "v1beta1" in served else (served[0] if served else "v1beta1")

def _job(r: ProbeRunner, name: str, n: int, queue: str) -> dict[str, Any]:
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": name, "namespace": r.ns, "labels": {f"{KUEUE}/queue-name": queue}},
            "spec": {"parallelism": n, "completions": n, "suspend": True, "backoffLimit": 0,
                     "template": {"spec": {"restartPolicy": "Never", "terminationGracePeriodSeconds": 0,
                                           "containers": [{"name": "w", "image": BUSYBOX,
                                                           "command": ["sh", "-c", "sleep 5"],
                                                           "resources": {"requests": {"cpu": "100m",
                                                                                      "memory": "128Mi"}}}]}}}}

def _job_pods(r: ProbeRunner, job: str) -> list[dict[str, Any]]:
    return r.get(f"/api/v1/namespaces/{r.ns}/pods", {"labelSelector": f"job-name={job}"}).get("items") or []

def probe(r: ProbeRunner) -> ProbeResult:
    ns = r.namespace()
    v = _kueue_version(r)
    base = f"/apis/{KUEUE}/{v}"
    rf = cq = f"aicv-{r.suffix}"
    r.post(f"{base}/resourceflavors", {"apiVersion": f"{KUEUE}/{v}", "kind": "ResourceFlavor",
                                          "metadata": {"name": rf}}, cluster_scoped=True)
    r.post(f"{base}/clusterqueues", {
        "apiVersion": f"{KUEUE}/{v}", "kind": "ClusterQueue", "metadata": {"name": cq},
        "spec": {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}},
                 "resourceGroups": [{"coveredResources": ["cpu", "memory"], "flavors": [{
                     "name": rf, "resources": [{"name": "cpu", "nominalQuota": "1"},
                                               {"name": "memory", "nominalQuota": "1Gi"}]}]}]}},
        cluster_scoped=True)
    r.post(f"{base}/namespaces/{ns}/localqueues", {
        "apiVersion": f"{KUEUE}/{v}", "kind": "LocalQueue", "metadata": {"name": "aicv-lq", "namespace": ns},
        "spec": {"clusterQueue": cq}})
    ev = r.trail
    ev.append(f"ResourceFlavor/ClusterQueue {cq} (quota 1 CPU, 1Gi) and LocalQueue aicv-lq ({KUEUE}/{v})")
    # positive: 2 x 100m fits -> admitted whole
    r.post(f"/apis/batch/v1/namespaces/{ns}/jobs", _job(r, "aicv-fits", 2, "aicv-lq"))

    def admitted() -> list[dict[str, Any]] | None:
        job = r.get(f"/apis/batch/v1/namespaces/{ns}/jobs/aicv-fits")
        if (job.get("spec") or {}).get("suspend"):
            return None
        pods = [p for p in _job_pods(r, "aicv-fits") if (p.get("spec") or {}).get("nodeName")]
        return pods if len(pods) >= 2 else None

    try:
        pods = r.wait("Job aicv-fits (2 pods) admitted and both pods bound", admitted)
    except TimeoutError as exc:
        wl = _workloads(r)
        return ProbeResult(False, f"{exc}; {wl}", ev, "check the Kueue controller logs: kubectl logs -n "
                                                      "kueue-system deploy/kueue-controller-manager")
    ev.append(f"fitting gang (2 x 100m) admitted whole: job unsuspended, {len(pods)} pods bound "
              f"({', '.join(sorted({p['spec']['nodeName'] for p in pods}))})")
    wl = _workloads(r)
    if wl:
        ev.append(wl)
    # negative: 20 x 100m > 1 CPU quota -> zero pods for the whole window
    r.post(f"/apis/batch/v1/namespaces/{ns}/jobs", _job(r, "aicv-too-big", 20, "aicv-lq"))
    end = time.monotonic() + r.opts.gang_negative_seconds
    while time.monotonic() < end:
        if r.ctx.cancel.is_set():
            raise Cancelled()
        job = r.get(f"/apis/batch/v1/namespaces/{ns}/jobs/aicv-too-big")
        pods = _job_pods(r, "aicv-too-big")
        if not (job.get("spec") or {}).get("suspend") or pods:
            return ProbeResult(False, f"too-big gang (20 x 100m > 1 CPU) was not held back: "
                                      f"suspend={job['spec'].get('suspend')}, {len(pods)} pod(s) created", ev)
        r.ctx.cancel.wait(min(r.opts.poll_interval, max(0.0, end - time.monotonic())))
    ev.append(f"too-big gang (20 x 100m > 1 CPU quota) kept suspended with zero pods for "
              f"{r.opts.gang_negative_seconds:g} s")
    return ProbeResult(True, "all-or-nothing admission", ev)

def _workloads(r: ProbeRunner) -> str:
    try:
        items = r.get(f"/apis/{KUEUE}/{_kueue_version(r)}/namespaces/{r.ns}/workloads").get("items") or []
    except KubeFailure:
        return ""
    parts = []
    for w in items:
        a = cond(w, "Admitted") or cond(w, "QuotaReserved") or {}
        parts.append(f"{w['metadata']['name']}: {a.get('type', 'Admitted')}={a.get('status', 'unknown')}")
    return "Workloads " + "; ".join(parts) if parts else "no Workload objects"


SPEC = Spec("gang_scheduling", check, probe, test="TestGangScheduling")
