"""ai_service_metrics: a monitoring system that discovers workloads exposing Prometheus metrics and collects them.
Read-only, the collector and its discovery CRDs are presence only (Partially Implemented); Azure's
azureMonitorProfile.metrics.enabled = false is never a pass. The probe proves it end to end as the official
TestAIServiceMetrics does: a workload exposing a request counter, a PodMonitor (azmonitoring.coreos.com for
managed Prometheus, monitoring.coreos.com for the Prometheus Operator), known traffic through the API server
proxy, and the value read back by PromQL: from the Azure Monitor workspace's Prometheus query endpoint with an
Entra token (VerifyTarget.prometheus), or from the in-cluster Prometheus through the API server proxy."""
from __future__ import annotations

from typing import Any, Callable

from ..context import KS, Ctx, Out, Outcome, cond_true
from ..kube import KubeFailure
from ..probes import ProbeResult, ProbeRunner
from .base import Spec, fail_fast, probed, run_probe

from wizard.addons import gpu_metrics

AMA_CRDS = ("podmonitors.azmonitoring.coreos.com", "servicemonitors.azmonitoring.coreos.com")
APP = "aicv-metrics"
APP_IMAGE = "quay.io/brancz/prometheus-example-app:v0.5.0"  # counts GET / in http_requests_total{code,method}
REQUESTS = 10
METRIC = "http_requests_total"


def check(ctx: Ctx) -> Outcome:
    out = Out()
    az = ctx.az
    if az is not None:
        (out.ev if az.managed_prometheus else out.note)(
            f"Azure: azureMonitorProfile.metrics.enabled = {str(az.managed_prometheus).lower()}")
    ama = ctx.find_deployment(("ama-metrics",), (KS,))
    if ama is not None:
        if az is not None and not az.managed_prometheus:
            return fail_fast(out, "Azure reports managed Prometheus off (azureMonitorProfile.metrics.enabled = "
                                  "false): the ama-metrics pods left in kube-system send nothing",
                             ctx.fix.managed_prometheus())
        for name in ("ama-metrics", "ama-metrics-ksm", "ama-metrics-operator-targets"):
            dep = ctx.find_deployment((name,), (KS,))
            if dep is None:
                out.problem(f"Deployment kube-system/{name} not found", ctx.fix.managed_prometheus())
                continue
            ok, line = ctx.deployment_ok(dep)
            (out.ev if ok else lambda s: out.problem(s, ctx.fix.managed_prometheus()))(line)
        ds = ctx.daemonsets().get((KS, "ama-metrics-node"))
        if ds is None:
            out.problem("DaemonSet kube-system/ama-metrics-node not found", ctx.fix.managed_prometheus())
        else:
            ok, line = ctx.daemonset_ok(ds)
            (out.ev if ok else lambda s: out.problem(s, ctx.fix.managed_prometheus()))(line)
        for name in AMA_CRDS:
            ok, line = ctx.crd_ok(name)
            (out.ev if ok else lambda s: out.problem(s, ctx.fix.managed_prometheus()))(line)
        try:
            cm = ctx.configmap(KS, gpu_metrics.NAME)
            said = gpu_metrics.setting(cm)
            where = "not created" if cm is None else "present"
            if said is False:
                out.note(f"{gpu_metrics.NAME} present with dcgmexporter = false: the DCGM exporter of managed GPU "
                         "nodes is not scraped; set it to true (the wizard's managed Prometheus step does)")
            else:
                out.ev(f"{gpu_metrics.NAME} {where}: DCGM exporter scrape on "
                       f"({'dcgmexporter = true' if said else 'the collector default'})")
        except KubeFailure as exc:
            out.note(f"ama-metrics-settings-configmap not read: {exc.describe()}")
        proven = run_probe(ctx, "ai_service_metrics", out) if not out.problems else None
        return probed(out, proven, "managed Prometheus discovered a workload by PodMonitor and its request count "
                                   "was read back from the Azure Monitor workspace by PromQL",
                      "Azure Managed Prometheus collector running with PodMonitor/ServiceMonitor discovery "
                      "(collection not exercised)")
    if "prometheuses.monitoring.coreos.com" in ctx.crds():
        ok, line = ctx.crd_ok("podmonitors.monitoring.coreos.com")
        (out.ev if ok else out.problem)(line)
        proms = ctx.k().items("/apis/monitoring.coreos.com/v1/prometheuses")
        ready = [p for p in proms if cond_true(p, "Available")]
        if not ready:
            return fail_fast(out, "Prometheus Operator CRDs present but no Prometheus is Available",
                             ctx.fix.managed_prometheus())
        out.ev(f"Prometheus {', '.join(p['metadata']['namespace'] + '/' + p['metadata']['name'] for p in ready)} "
               "Available")
        proven = run_probe(ctx, "ai_service_metrics", out) if not out.problems else None
        return probed(out, proven, "the Prometheus Operator discovered a workload and its request count was read "
                                   "back by PromQL", "Prometheus Operator running (collection not exercised)")
    return fail_fast(out, "no monitoring system found (no Azure Managed Prometheus ama-metrics, no Prometheus "
                          "Operator)", ctx.fix.managed_prometheus())


def _querier(r: ProbeRunner) -> tuple[str, Callable[[str], dict[str, Any]]] | None:
    """(description, query function PromQL -> Prometheus HTTP API JSON) of the cluster's monitoring system."""
    if r.ctx.find_deployment(("ama-metrics",), (KS,)) is not None:
        if r.ctx.prometheus is None:
            return None
        return "Azure Monitor workspace Prometheus query endpoint", r.ctx.prometheus
    for p in r.ctx.k().items("/apis/monitoring.coreos.com/v1/prometheuses"):
        ns = p["metadata"]["namespace"]
        path = f"/api/v1/namespaces/{ns}/services/prometheus-operated:9090/proxy/api/v1/query"
        return (f"Prometheus {ns}/{p['metadata']['name']} through the API server proxy",
                lambda q, path=path: r.get(path, {"query": q}))
    return None


def probe(r: ProbeRunner) -> ProbeResult:
    querier = _querier(r)
    if querier is None:
        return ProbeResult(None, "no Prometheus query API to read the collected value from (verify with -g/-n so "
                                 "that the Azure Monitor workspace's query endpoint is used)")
    where, query = querier
    managed = where.startswith("Azure")
    ns = r.namespace()
    labels = {"app.kubernetes.io/name": APP}
    r.post(f"/api/v1/namespaces/{ns}/pods", {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": APP, "namespace": ns, "labels": labels},
        "spec": {"restartPolicy": "Never", "containers": [{
            "name": "server", "image": APP_IMAGE, "ports": [{"name": "http", "containerPort": 8080}],
            "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"memory": "64Mi"}}}]}})
    r.post(f"/api/v1/namespaces/{ns}/services", {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": APP, "namespace": ns, "labels": labels},
        "spec": {"selector": labels, "ports": [{"name": "http", "port": 8080, "targetPort": "http"}]}})
    group = "azmonitoring.coreos.com" if managed else "monitoring.coreos.com"
    r.post(f"/apis/{group}/v1/namespaces/{ns}/podmonitors", {
        "apiVersion": f"{group}/v1", "kind": "PodMonitor", "metadata": {"name": APP, "namespace": ns},
        "spec": {"selector": {"matchLabels": labels},
                 "podMetricsEndpoints": [{"port": "http", "path": "/metrics", "interval": "15s"}]}})
    r.ev(f"Pod {APP} ({APP_IMAGE}), Service and PodMonitor ({group}/v1) in {ns}")

    def ready() -> dict[str, Any] | None:
        p = r.get(f"/api/v1/namespaces/{ns}/pods/{APP}")
        return p if cond_true(p, "Ready") else None

    r.wait(f"pod {APP} Ready", ready)
    for _i in range(REQUESTS):
        r.kube.request("GET", f"/api/v1/namespaces/{ns}/services/{APP}:http/proxy/", raw=True)
    r.ev(f"sent {REQUESTS} requests through the API server service proxy")
    promql = f'sum({METRIC}{{namespace="{ns}",code="200"}})'

    def collected() -> dict[str, float] | None:
        try:
            doc = query(promql)
        except Exception as exc:  # noqa: BLE001 - a query API out of reach decides nothing
            raise KubeFailure("error", f"{where} not reached: {type(exc).__name__}: {str(exc)[:160]}") from None
        if not isinstance(doc, dict) or doc.get("status") != "success":
            raise KubeFailure("error", f"unreadable query answer from {where}: {str(doc)[:120]}")
        result = (doc.get("data") or {}).get("result") or []
        value = float(result[0]["value"][1]) if result else None
        return {"value": value} if value is not None and value >= REQUESTS else None

    got = r.wait(f"{promql} >= {REQUESTS} in {where}", collected, r.opts.probe_timeout)
    r.sub("MetricsCollected", True, f"{promql} = {got['value']:g}")
    r.ev(f"PromQL {promql} = {got['value']:g} read back from {where}")
    return ProbeResult(True, f"{REQUESTS} requests counted and collected")


SPEC = Spec("ai_service_metrics", check, probe, test="TestAIServiceMetrics")
