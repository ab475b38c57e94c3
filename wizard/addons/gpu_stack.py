"""The NVIDIA device plugin and DCGM exporter on a GPU pool that AKS does not manage (gpu_pool.managed_gpu: false,
the only kind the cluster autoscaler supports while managed GPU is in preview). AKS installs the driver on such
nodes but neither the device plugin (no allocatable nvidia.com/gpu, no GPU pods) nor the DCGM exporter (no GPU
metrics); with managed_gpu: true AKS installs both and this step is not planned.

The manifests ship as package data (manifests/*.yaml, the upstream static manifests pinned: device plugin v0.19.3,
DCGM exporter 4.5.3-4.8.2, each checked against its SHA-256 before use). At apply time each DaemonSet gets tolerations for the GPU pool's taints (and
nvidia.com/gpu) and a node affinity to GPU nodes (kubernetes.azure.com/accelerator=nvidia or accelerator=nvidia, the
labels AKS puts on N-series nodes). With managed Prometheus a PodMonitor (azmonitoring.coreos.com/v1) makes the
ama-metrics collector scrape the exporter (its `dcgmexporter` default target only covers managed GPU nodes).

Idempotent: every object carries the SHA-256 of what was applied (annotation aks-ai-wizard/manifest-sha256); when
every object is there with the wanted digest nothing is written. Bounded: the DaemonSets must be ready on the GPU
nodes and every GPU node must advertise nvidia.com/gpu within AddonOptions.wait_timeout.
"""
from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import yaml

from wizard.addons.kube import Kube

if TYPE_CHECKING:
    from wizard.answers import Answers

NAMESPACE = "kube-system"
DEVICE_PLUGIN = "nvidia-device-plugin-daemonset"
DEVICE_PLUGIN_VERSION = "v0.19.3"
DCGM = "nvidia-dcgm-exporter"
DCGM_VERSION = "4.5.3-4.8.2"
DCGM_PORT = 9400
GPU = "nvidia.com/gpu"
GPU_NODE_LABELS = (("kubernetes.azure.com/accelerator", "nvidia"), ("accelerator", "nvidia"))
ANNOTATION = "aks-ai-wizard/manifest-sha256"
MANIFESTS = Path(__file__).resolve().parent / "manifests"
# the shipped files and the SHA-256 of each (computed from the files as shipped)
FILES = {"nvidia-device-plugin.yaml": "b465cddd0f667e6dedd80dcb78c12c278eb10f7d1d902f80e3565e5b8a65d4d7",
         "dcgm-exporter.yaml": "108b1d9ea17a2e6815a84d78ea922d6cb99d57c7cb0abe643f69f67a63d25d2f"}
PODMONITOR_CRD = "podmonitors.azmonitoring.coreos.com"
CUSTOM = {("azmonitoring.coreos.com", "PodMonitor"): ("podmonitors", True)}


def unmanaged_pools(answers: "Answers") -> list[Any]:
    """The GPU pools whose device plugin and DCGM exporter this wizard installs (AKS does not manage them)."""
    return [p for p in answers.all_gpu_pools if not p.managed_gpu]


def wanted(answers: "Answers") -> bool:
    """Planned when there is a GPU pool that AKS does not manage."""
    return bool(unmanaged_pools(answers))


def pool_taints(answers: "Answers") -> list[str]:
    """Every taint of those pools, and the one AKS puts on Spot nodes: the DaemonSets must run on all of them."""
    from wizard.spec import SPOT_TAINT

    pools = unmanaged_pools(answers)
    taints = [t for p in pools for t in p.taints] + ([SPOT_TAINT] if any(p.priority == "Spot" for p in pools) else [])
    return list(dict.fromkeys(taints))


def tolerations(taints: list[str]) -> list[dict[str, Any]]:
    """Tolerations for taints written key=value:Effect (or key:Effect), plus nvidia.com/gpu (upstream's)."""
    out = [{"key": GPU, "operator": "Exists", "effect": "NoSchedule"}]
    for t in taints:
        kv, _, effect = str(t).partition(":")
        key, eq, value = kv.partition("=")
        tol = {"key": key, "operator": "Equal", "value": value} if eq else {"key": key, "operator": "Exists"}
        tol["effect"] = effect or "NoSchedule"
        if tol not in out:
            out.append(tol)
    return out


def gpu_affinity() -> dict[str, Any]:
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": k, "operator": "In", "values": [v]}]} for k, v in GPU_NODE_LABELS]}}}


def digest(obj: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()


def load_manifests() -> list[dict[str, Any]]:
    """The shipped manifests, each checked against its pinned SHA-256 first (a damaged package applies nothing)."""
    from wizard.addons.errors import AddonError

    objs: list[dict[str, Any]] = []
    for name, pinned in FILES.items():
        data = (MANIFESTS / name).read_bytes()
        if hashlib.sha256(data).hexdigest() != pinned:
            raise AddonError(f"The manifest {name} shipped with aks-ai-wizard is damaged; nothing was applied.",
                             f"Its SHA-256 is {hashlib.sha256(data).hexdigest()}, the package pins {pinned}.",
                             "Reinstall aks-ai-wizard.", code="ChecksumMismatch")
        objs.extend(d for d in yaml.safe_load_all(data.decode("utf-8")) if d)
    return objs


def podmonitor() -> dict[str, Any]:
    return {"apiVersion": "azmonitoring.coreos.com/v1", "kind": "PodMonitor",
            "metadata": {"name": DCGM, "namespace": NAMESPACE, "labels": {"app.kubernetes.io/name": "dcgm-exporter"}},
            "spec": {"selector": {"matchLabels": {"app.kubernetes.io/name": "dcgm-exporter"}},
                     "namespaceSelector": {"matchNames": [NAMESPACE]},
                     "podMetricsEndpoints": [{"port": "metrics", "path": "/metrics", "interval": "30s"}]}}


def objects(taints: list[str], with_podmonitor: bool = False) -> list[dict[str, Any]]:
    """What is applied: the manifests with the pool's tolerations and the GPU node affinity, each annotated with its
    own digest."""
    out = []
    for o in load_manifests() + ([podmonitor()] if with_podmonitor else []):
        o = copy.deepcopy(o)
        if o["kind"] == "DaemonSet":
            spec = o["spec"]["template"]["spec"]
            spec["tolerations"] = tolerations(taints)
            spec["affinity"] = gpu_affinity()
        o["metadata"].setdefault("annotations", {})[ANNOTATION] = digest(o)
        out.append(o)
    return out


def describe(o: dict[str, Any]) -> str:
    return f"{o['kind']} {o['metadata'].get('namespace', '')}/{o['metadata']['name']}"


def out_of_date(kube: Kube, objs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The objects that are missing or were applied with other content (by digest)."""
    todo = []
    for o in objs:
        live = kube.get(kube.resource_path(o, CUSTOM))
        have = (((live or {}).get("metadata") or {}).get("annotations") or {}).get(ANNOTATION)
        if have != o["metadata"]["annotations"][ANNOTATION]:
            todo.append(o)
    return todo


def _is_gpu_node(n: dict[str, Any]) -> bool:
    labels = (n.get("metadata") or {}).get("labels") or {}
    return any(labels.get(k) == v for k, v in GPU_NODE_LABELS)


def _gpus(n: dict[str, Any]) -> int:
    v = ((n.get("status") or {}).get("allocatable") or {}).get(GPU)
    try:
        return int(str(v)) if v is not None else 0
    except ValueError:
        return 0


def gpu_nodes(kube: Kube) -> list[dict[str, Any]]:
    return [n for n in (kube.get("/api/v1/nodes") or {}).get("items") or [] if _is_gpu_node(n)]


def daemonset_ready(ds: dict[str, Any] | None, n_gpu_nodes: int) -> tuple[bool, str]:
    if ds is None:
        return False, "not found"
    st, meta = ds.get("status") or {}, ds.get("metadata") or {}
    desired, ready = st.get("desiredNumberScheduled") or 0, st.get("numberReady") or 0
    updated = st.get("updatedNumberScheduled", ready) or 0
    seen = (st.get("observedGeneration") or 0) >= (meta.get("generation") or 0)
    ok = seen and desired >= n_gpu_nodes and ready >= desired and updated >= desired
    return ok, f"{ready}/{desired} ready on {n_gpu_nodes} GPU node(s)"


def status(kube: Kube) -> tuple[bool, str]:
    """Both DaemonSets ready on every GPU node and every GPU node advertising nvidia.com/gpu."""
    nodes = gpu_nodes(kube)
    parts, ok = [], True
    for name in (DEVICE_PLUGIN, DCGM):
        good, line = daemonset_ready(kube.get(f"/apis/apps/v1/namespaces/{NAMESPACE}/daemonsets/{name}"), len(nodes))
        ok &= good
        parts.append(f"{name} {line}")
    advertising = [n for n in nodes if _gpus(n) > 0]
    ok &= len(advertising) == len(nodes)
    parts.append(f"{len(advertising)}/{len(nodes)} GPU node(s) advertise {GPU}")
    return ok, "; ".join(parts)


def pending(kube: Kube, taints: list[str]) -> list[dict[str, Any]]:
    """The objects of the stack (with its PodMonitor when the CRD is served) that are missing or different."""
    with_pm = kube.get(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{PODMONITOR_CRD}") is not None
    return out_of_date(kube, objects(taints, with_pm))


def install(kube: Kube, taints: list[str], sleep: Callable[[float], None], report: Callable[[str], None],
            timeout: float, poll: float) -> dict[str, Any]:
    """Apply what is missing or different, then wait (bounded) until the stack serves the GPU nodes."""
    todo = pending(kube, taints)
    if not todo:
        ok, state = status(kube)
        if ok:
            return {"changed": False, "applied": [], "state": state}
    for o in todo:
        kube.apply(o, CUSTOM, force=True)
    if todo:
        report("applied " + ", ".join(describe(o) for o in todo) + f" (server-side apply, field manager "
                                                                      f"{kube.field_manager})")
    state = kube.wait("the NVIDIA device plugin and DCGM exporter on the GPU nodes", lambda: status(kube), sleep,
                      timeout, poll, report)
    return {"changed": bool(todo), "applied": [describe(o) for o in todo], "state": state}


def kubectl_equivalent(taints: list[str]) -> str:
    t = ", ".join(taints) or "none"
    return (
        f"kubectl apply --server-side --field-manager aks-ai-wizard -f https://raw.githubusercontent.com/NVIDIA/"
        f"k8s-device-plugin/{DEVICE_PLUGIN_VERSION}/deployments/static/nvidia-device-plugin.yml"
        f"  # + tolerations for the pool's taints ({t}) and GPU-node affinity\n"
        f"kubectl apply --server-side --field-manager aks-ai-wizard -f dcgm-exporter.yaml"
        f"  # nvcr.io/nvidia/k8s/dcgm-exporter:{DCGM_VERSION}-distroless: DaemonSet + Service "
        f"{NAMESPACE}/{DCGM} :{DCGM_PORT} (metrics), PodMonitor with managed Prometheus\n"
        f"kubectl -n {NAMESPACE} rollout status daemonset/{DEVICE_PLUGIN} --timeout=300s\n"
        f"kubectl -n {NAMESPACE} rollout status daemonset/{DCGM} --timeout=300s")
