"""pod_autoscaling: the HPA works for pods utilising accelerators, on a metric relevant to AI workloads. Read-only:
the external/custom metrics API, KEDA, and nodes with GPUs (without them: Not Implemented). The probe runs a
Deployment whose pods request a GPU, has KEDA scale it on the DCGM exporter's GPU utilisation (metrics-api trigger,
Prometheus format), sees the new replica Running on a GPU node, then raises the target and sees the HPA scale it
back down."""
from __future__ import annotations

from typing import Any

from ..context import GPU, Ctx, Out, Outcome, cond, quantity_int
from ..kube import KubeFailure
from ..probes import ProbeResult, ProbeRunner
from .accelerator_metrics import DCGM_LABELS, dcgm_targets
from .base import Spec, probed, run_probe

APP = "aicv-gpu-app"
SO = "aicv-scale"
GPU_LOAD = "nvcr.io/nvidia/k8s/cuda-sample:nbody-cuda11.7.1-ubuntu18.04"
UTIL = "DCGM_FI_DEV_GPU_UTIL"


def check(ctx: Ctx) -> Outcome:
    out = Out()
    az = ctx.az
    if az is not None:
        (out.ev if az.keda else out.note)(f"Azure: workloadAutoScalerProfile.keda.enabled = {str(az.keda).lower()}")
    ok, line = ctx.apiservice_ok("v1beta1.metrics.k8s.io")
    (out.ev if ok else out.note)(line)
    ext_ok, ext_line = ctx.apiservice_ok("v1beta1.external.metrics.k8s.io")
    cus_ok, cus_line = ctx.apiservice_ok("v1beta1.custom.metrics.k8s.io")
    keda_present = "scaledobjects.keda.sh" in ctx.crds()
    if not ext_ok and not cus_ok:
        out.problem(f"no custom or external metrics API: {ext_line}; {cus_line}", ctx.fix.keda())
    else:
        out.ev(ext_line if ext_ok else cus_line)
        if cus_ok and ext_ok:
            out.ev(cus_line)
    if keda_present or ext_ok:
        for name in ("keda-operator", "keda-operator-metrics-apiserver"):
            dep = ctx.find_deployment((name,))
            if dep is None:
                if ext_ok and not cus_ok:
                    out.note(f"Deployment {name} not found (external metrics served by another adapter)")
                continue
            ok, line = ctx.deployment_ok(dep)
            (out.ev if ok else lambda s: out.problem(s, ctx.fix.keda()))(line)
        if keda_present:
            ok, line = ctx.crd_ok("scaledobjects.keda.sh")
            (out.ev if ok else lambda s: out.problem(s, ctx.fix.keda()))(line)
    gpu = ctx.gpu_nodes()
    if gpu:
        out.ev(f"{len(gpu)} node(s) advertise {GPU} for accelerator pods to scale")
    else:
        out.problem(f"no node advertises {GPU}: the HPA cannot be shown to work for pods utilising accelerators",
                    ctx.fix.gpu_pool() if not ctx.gpu_vm_nodes() else ctx.fix.device_plugin())
    proven = None
    if not out.problems:
        proven = run_probe(ctx, "pod_autoscaling", out)
    return probed(out, proven, "an HPA scaled a GPU Deployment up on DCGM GPU utilisation (new replicas Running "
                               "on GPU nodes) and back down",
                  "external/custom metrics API Available and KEDA running (scaling not exercised)")


def _scaled_object(ns: str, url: str, target: str) -> dict[str, Any]:
    return {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": {"name": SO, "namespace": ns},
            "spec": {"scaleTargetRef": {"name": APP}, "minReplicaCount": 1, "maxReplicaCount": 2,
                     "pollingInterval": 5, "cooldownPeriod": 30,
                     "advanced": {"horizontalPodAutoscalerConfig": {"behavior": {
                         "scaleDown": {"stabilizationWindowSeconds": 0}}}},
                     "triggers": [{"type": "metrics-api", "metadata": {
                         "url": url, "format": "prometheus", "valueLocation": UTIL, "targetValue": target}}]}}


def probe(r: ProbeRunner) -> ProbeResult:
    if "scaledobjects.keda.sh" not in r.ctx.crds():
        return ProbeResult(None, "KEDA not installed; the probe drives the GPU metric through KEDA")
    if not dcgm_targets(r.ctx):
        return ProbeResult(None, "no DCGM exporter to read GPU utilisation from")
    with r.gpu_lock:
        try:
            return _autoscale(r)
        finally:
            r.delete(f"/apis/keda.sh/v1alpha1/namespaces/{r.ns}/scaledobjects/{SO}")
            r.delete(f"/apis/apps/v1/namespaces/{r.ns}/deployments/{APP}")


def _gpu_pods(r: ProbeRunner) -> list[dict[str, Any]]:
    return r.get(f"/api/v1/namespaces/{r.ns}/pods", {"labelSelector": f"app={APP}"}).get("items") or []


def _exporter_url(r: ProbeRunner, node: str) -> tuple[str, str] | None:
    """(description, URL) of the DCGM exporter of `node`: the exporter is per node and a Service in front of it
    answers for any node, so KEDA is pointed at the one that sees the probe's GPU."""
    for p in r.get("/api/v1/pods", {"fieldSelector": f"spec.nodeName={node}"}).get("items") or []:
        labels = p["metadata"].get("labels") or {}
        if any(labels.get(k) == v for k, v in DCGM_LABELS) and (p.get("status") or {}).get("podIP"):
            port = next((pt.get("containerPort") for c in p["spec"].get("containers") or []
                         for pt in c.get("ports") or []), 9400)
            return f"pod {p['metadata']['namespace']}/{p['metadata']['name']}", \
                f"http://{p['status']['podIP']}:{port}/metrics"
    n = r.get(f"/api/v1/nodes/{node}")
    if (n["metadata"].get("labels") or {}).get("kubernetes.azure.com/dcgm-exporter") == "enabled":
        ip = next((a["address"] for a in (n.get("status") or {}).get("addresses") or [] if a.get("type") == "InternalIP"),
                  None)
        if ip:
            return f"node {node} (managed GPU exporter)", f"http://{ip}:19400/metrics"
    return None


def _scaled_up(r: ProbeRunner, hpa: dict[str, Any]) -> None:
    """Record what the HPA scaled on: its external metric and the value it read."""
    metric = next((m.get("external", {}).get("metric", {}).get("name") for m in (hpa.get("spec") or {}).get(
        "metrics") or [] if m.get("type") == "External"), "?")
    value = next((m.get("external", {}).get("current", {}).get("value") for m in (hpa.get("status") or {}).get(
        "currentMetrics") or []), "?")
    r.sub("ScaleUpOnGPUMetric", True, f"desiredReplicas {hpa['status'].get('desiredReplicas')} on {metric} = {value}")
    r.ev(f"HPA keda-hpa-{SO} on external metric {metric} = {value} ({UTIL}): desiredReplicas "
         f"{hpa['status'].get('desiredReplicas')}")


def _off_gpu_nodes(r: ProbeRunner, pods: list[dict[str, Any]]) -> ProbeResult | None:
    """The failure when a replica runs on a node without GPUs; None (and the evidence) when all are on GPU nodes."""
    gpu_now = {n["metadata"]["name"] for n in r.get("/api/v1/nodes").get("items") or []
               if quantity_int(((n.get("status") or {}).get("allocatable") or {}).get(GPU)) > 0}
    off = [p["metadata"]["name"] for p in pods if p["spec"].get("nodeName") not in gpu_now]
    if off:
        r.sub("ReplicasRunningOnGPUNodes", False, f"{', '.join(off)} not on a GPU node")
        return ProbeResult(False, f"replicas {', '.join(off)} run on nodes without GPUs")
    r.sub("ReplicasRunningOnGPUNodes", True, ", ".join(sorted({p["spec"]["nodeName"] for p in pods})))
    r.ev(f"2 GPU replicas Running on {', '.join(sorted({p['spec']['nodeName'] for p in pods}))}")
    return None


def _autoscale(r: ProbeRunner) -> ProbeResult:
    ns = r.namespace()
    r.post(f"/apis/apps/v1/namespaces/{ns}/deployments", {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": APP, "namespace": ns},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": APP}},
                 "template": {"metadata": {"labels": {"app": APP}}, "spec": {
                     "tolerations": [{"operator": "Exists"}],
                     "containers": [{"name": "load", "image": GPU_LOAD,
                                     "command": ["sh", "-c", "while true; do /cuda-samples/nbody -benchmark "
                                                             "-numbodies=512000; done"],
                                     "resources": {"requests": {"cpu": "100m", "memory": "256Mi"},
                                                   "limits": {GPU: "1"}}}]}}}})
    def running(n: int) -> list[dict[str, Any]] | None:
        pods = [p for p in _gpu_pods(r) if (p.get("status") or {}).get("phase") == "Running"
                and not p["metadata"].get("deletionTimestamp")]
        return pods if len(pods) >= n else None

    first = r.wait(f"GPU pod of {APP} Running", lambda: running(1))
    node = first[0]["spec"].get("nodeName")
    r.ev(f"Deployment {APP} (nvidia.com/gpu: 1, GPU load) Running on {node}")
    exporter = _exporter_url(r, node)
    if exporter is None:
        return ProbeResult.undecided(f"no DCGM exporter runs on {node}, the node of the GPU pod")
    source, url = exporter
    r.post(f"/apis/keda.sh/v1alpha1/namespaces/{ns}/scaledobjects", _scaled_object(ns, url, "50"))
    r.ev(f"ScaledObject {SO}: metrics-api trigger on {UTIL} from the DCGM exporter ({source}, {url}), target 50 "
         "per replica, max 2")
    hpa_path = f"/apis/autoscaling/v2/namespaces/{ns}/horizontalpodautoscalers/keda-hpa-{SO}"

    def hpa_wants(n: int, up: bool) -> dict[str, Any] | None:
        hpa = r.get(hpa_path)
        desired = (hpa.get("status") or {}).get("desiredReplicas") or 0
        if (cond(hpa, "ScalingActive") or {}).get("status") == "False":
            return {"inactive": (cond(hpa, "ScalingActive") or {}).get("message", "")}
        return hpa if (desired >= n if up else desired <= n) else None

    try:
        hpa = r.wait(f"HPA keda-hpa-{SO} desiredReplicas >= 2", lambda: hpa_wants(2, True))
    except TimeoutError as exc:
        try:
            r.get(hpa_path)
        except KubeFailure as missing:
            if missing.kind != "notfound":
                raise
            r.sub("ScaleUpOnGPUMetric", False, f"no HPA keda-hpa-{SO}")
            return ProbeResult(False, f"KEDA created no HPA for ScaledObject {SO} ({exc})",
                               fix="kubectl logs -n kube-system deploy/keda-operator")
        r.sub("ScaleUpOnGPUMetric", None, str(exc))
        raise
    if "inactive" in hpa:
        r.sub("ScaleUpOnGPUMetric", False, hpa["inactive"])
        return ProbeResult(False, f"the HPA cannot read the GPU metric: {hpa['inactive']}",
                           fix="check that KEDA reaches the DCGM exporter: kubectl logs -n kube-system "
                               "deploy/keda-operator")
    _scaled_up(r, hpa)
    try:
        pods = r.wait("2 GPU replicas Running", lambda: running(2))
    except TimeoutError as exc:
        pending = [p for p in _gpu_pods(r) if (p.get("status") or {}).get("phase") == "Pending"]
        why = (cond(pending[0], "PodScheduled") or {}).get("message", "") if pending else ""
        r.sub("ReplicasRunningOnGPUNodes", None, why or str(exc))
        return ProbeResult.undecided(f"the HPA scaled to 2 on GPU utilisation but the new replica is not Running "
                                     f"({why or exc}): the cluster needs a second free GPU")
    off_gpu = _off_gpu_nodes(r, pods)
    if off_gpu is not None:
        return off_gpu
    r.kube.request("PATCH", f"/apis/keda.sh/v1alpha1/namespaces/{ns}/scaledobjects/{SO}",
                   body={"spec": {"triggers": _scaled_object(ns, url, "1000")["spec"]["triggers"]}},
                   content_type="application/merge-patch+json")

    def scaled_down() -> dict[str, Any] | None:
        hpa_now = hpa_wants(1, False)
        dep = r.get(f"/apis/apps/v1/namespaces/{ns}/deployments/{APP}")
        return hpa_now if hpa_now and "inactive" not in hpa_now and (dep.get("spec") or {}).get("replicas") == 1 \
            else None

    try:
        r.wait("HPA back to 1 replica after the target was raised to 1000", scaled_down)
    except TimeoutError as exc:
        r.sub("ScaleDown", False, str(exc))
        return ProbeResult(False, f"the HPA did not scale the GPU Deployment back down: {exc}")
    r.sub("ScaleDown", True, "back to 1 replica")
    r.ev("target raised to 1000: HPA scaled the GPU Deployment back to 1 replica")
    return ProbeResult(True, "HPA scaled GPU pods on GPU utilisation, up and down")


SPEC = Spec("pod_autoscaling", check, probe, test="TestPodAutoscaling")
