"""Subresources (scale, eviction, log) and the aggregated APIs the simulator serves itself (metrics-server,
KEDA's external metrics)."""

from __future__ import annotations

import copy
import re
import uuid
from typing import Any

from . import admission as A
from . import controllers
from . import errors as E
from . import names as N
from . import proxy
from . import quantity as Q
from .patch import json_patch, merge_patch
from .store import Cluster, now
from .wire import JSONPATCH, Request, Response, respond


def scale(c: Cluster, req: Request, res, ns: str | None, name: str) -> Response:
    obj = c.get(res.group, res.plural, ns or "", name)
    if obj is None:
        raise E.not_found(res, name)

    def scale_of(o):
        sel = (o.get("spec", {}).get("selector") or {}).get("matchLabels") or {}
        return {"kind": "Scale", "apiVersion": "autoscaling/v1",
                "metadata": {k: o["metadata"][k] for k in ("name", "namespace", "uid", "resourceVersion",
                                                           "creationTimestamp") if k in o["metadata"]},
                "spec": {"replicas": o.get("spec", {}).get("replicas", 0)},
                "status": {"replicas": o.get("status", {}).get("replicas", 0),
                           "selector": ",".join(f"{k}={v}" for k, v in sorted(sel.items()))}}
    if req.method == "GET":
        return respond(200, scale_of(obj))
    if req.method not in ("PUT", "PATCH"):
        raise E.method_not_allowed()
    body = req.json()
    if req.method == "PATCH":
        current = scale_of(obj)
        body = json_patch(current, body) if req.content_type == JSONPATCH else merge_patch(current, body)
    replicas = (body.get("spec") or {}).get("replicas")
    if not isinstance(replicas, int) or replicas < 0:
        raise E.invalid(res, name, [A.cause("spec.replicas", f"Invalid value: {replicas}: must be greater than or "
                                                             f"equal to 0")])
    new = copy.deepcopy(obj)
    new["spec"]["replicas"] = replicas
    from .api import commit_update  # the update path of every write
    commit_update(c, req, res, obj, new, None)
    return respond(200, scale_of(c.get(res.group, res.plural, ns or "", name)))


def evict(c: Cluster, req: Request, res, ns: str | None, name: str) -> Response:
    pod = c.get("", "pods", ns or "", name)
    if pod is None:
        raise E.not_found(res, name)
    if not req.dry_run:
        controllers.delete_pod(c, pod)
        controllers.reconcile(c)
    return respond(201, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201})


def pod_log(c: Cluster, req: Request, res, ns: str | None, name: str) -> Response:
    pod = c.get("", "pods", ns or "", name)
    if pod is None:
        raise E.not_found(res, name)
    containers = pod["spec"].get("containers", []) or []
    cname = req.q("container")
    if cname is None:
        if len(containers) > 1:
            raise E.bad_request(f"a container name must be specified for pod {name}, choose one of: "
                                f"[{' '.join(x['name'] for x in containers)}]")
        cname = containers[0]["name"] if containers else ""
    ctr = next((x for x in containers + (pod["spec"].get("initContainers") or []) if x["name"] == cname), None)
    if ctr is None:
        raise E.bad_request(f"container {cname} is not valid for pod {name}")
    if pod.get("status", {}).get("phase") == "Pending":
        raise E.bad_request(f'container "{cname}" in pod "{name}" is waiting to start: ContainerCreating')
    return 200, {"Content-Type": "text/plain"}, simulated_log(c, pod, ctr).encode()


def simulated_log(c: Cluster, pod: dict, ctr: dict) -> str:
    key = f"{pod['metadata']['namespace']}/{pod['metadata']['name']}/{ctr['name']}"
    if key in c.logs:
        return c.logs[key]
    return compute_log(c, pod, ctr)


def _kernel_facts(c: Cluster, pod: dict, node: str, text: str) -> str:
    """$(uname -r), $(cat /proc/version), $(cat /proc/sys/kernel/random/boot_id) as the container sees them: the
    node's kernel, or the Kata utility VM's own in a pod of a kata RuntimeClass (AKS pod sandboxing)."""
    nodeobj = c.get("", "nodes", "", node) or {}
    info = (nodeobj.get("status") or {}).get("nodeInfo") or {}
    rc = c.get("node.k8s.io", "runtimeclasses", "", pod["spec"].get("runtimeClassName") or "") or {}
    if "kata" in str(rc.get("handler", "")) and (nodeobj.get("metadata", {}).get("labels") or {}).get(N.LABEL_KATA):
        release, boot = N.KATA_GUEST_KERNEL, str(uuid.uuid5(uuid.NAMESPACE_OID, pod["metadata"].get("uid", "")))
    else:
        release, boot = info.get("kernelVersion", "5.15.0-1092-azure"), info.get("bootID", "")
    version = f"Linux version {release} (root@azure) (gcc 11.2.0) #1 SMP"
    return (text.replace("$(uname -r)", release).replace("$(cat /proc/version)", version)
            .replace("$(cat /proc/sys/kernel/random/boot_id)", boot))


def compute_log(c: Cluster, pod: dict, ctr: dict) -> str:
    """What a probe container prints, for the few probes the verifier runs (device nodes, nvidia-smi, echo);
    computed when the container starts (GPUs are released when the pod completes)."""
    argv = (ctr.get("command") or []) + (ctr.get("args") or [])
    if argv and argv[0].rsplit("/", 1)[-1] in ("sh", "bash", "ash", "dash") and "-c" in argv:
        argv = argv[argv.index("-c") + 1:]
    script = " ".join(argv)
    node = pod["spec"].get("nodeName") or ""
    gpus = _visible_gpus(c, pod, ctr, node)
    lines: list[str] = []
    for part in re.split(r"&&|;|\n", script):
        lines += _command_output(c, pod, ctr, node, gpus, part.strip())
    return "\n".join(lines) + ("\n" if lines else "")


def _node_model(c: Cluster, node: str):
    from . import sizes

    nodeobj = c.get("", "nodes", "", node) or {"metadata": {"labels": {}}}
    return sizes.lookup((nodeobj["metadata"].get("labels") or {}).get("node.kubernetes.io/instance-type"))


def _visible_gpus(c: Cluster, pod: dict, ctr: dict, node: str) -> list[int]:
    """The GPUs allocated to the container; with the gpu-leak degradation, every GPU of the node for a container
    that sets NVIDIA_VISIBLE_DEVICES=all (a runtime that honours the variable for unprivileged containers)."""
    key = f"{pod['metadata']['namespace']}/{pod['metadata']['name']}/{ctr['name']}"
    gpus = sorted(int(i) for i, owner in c.gpu_alloc.get(node, {}).items() if owner == key)
    if "gpu-leak" in c.degraded and any(e.get("name") == "NVIDIA_VISIBLE_DEVICES" and e.get("value") == "all"
                                        for e in ctr.get("env") or []):
        gpus = list(range(_node_model(c, node).gpus))
    return gpus


def _command_output(c: Cluster, pod: dict, ctr: dict, node: str, gpus: list[int], part: str) -> list[str]:
    if "/dev/nvidia" in part and "wc -l" in part:
        return [str(len(gpus))]
    if "/dev/nvidia" in part and part.startswith("ls"):
        return [f"/dev/nvidia{i}" for i in gpus] or ["ls: cannot access '/dev/nvidia[0-9]*': No such file or directory"]
    if "nvidia-smi" in part:
        if not gpus:
            return ["sh: 1: nvidia-smi: not found"]
        from . import sizes

        model = _node_model(c, node)
        return [f"GPU {n}: {(model.gpu or sizes.T4).name} (UUID: {proxy.gpu_uuid(node, i)})" for n, i in enumerate(gpus)]
    if part.startswith("echo "):
        return [_kernel_facts(c, pod, node, part[5:].strip().strip("'\""))]
    if "printenv" in part or part.startswith("env"):
        return [f"{e.get('name')}={e.get('value', '')}" for e in ctr.get("env") or []]
    return []


# ------------------------------------------------------------------------------------------------------
# aggregated APIs served by the simulator itself (metrics-server, KEDA)

def aggregated(c: Cluster, req: Request, res, ns: str | None, name: str | None) -> Response:
    if req.method != "GET":
        raise E.method_not_allowed()
    ts = now()
    if res.group == "metrics.k8s.io" and res.plural == "nodes":
        items: list[dict[str, Any]] = []
        for node in c.list("", "nodes"):
            if name and node["metadata"]["name"] != name:
                continue
            alloc = node.get("status", {}).get("allocatable") or {}
            pods = [p for p in c.list("", "pods") if p["spec"].get("nodeName") == node["metadata"]["name"]]
            cpu = sum(Q.pod_requests(p).get("cpu", 0) for p in pods) + Q.parse(alloc.get("cpu", "1")) / 20
            mem = sum(Q.pod_requests(p).get("memory", 0) for p in pods) + Q.parse(alloc.get("memory", "1Gi")) / 8
            items.append({"metadata": {"name": node["metadata"]["name"], "creationTimestamp": ts,
                                       "labels": node["metadata"].get("labels") or {}},
                          "timestamp": ts, "window": "20.05s",
                          "usage": {"cpu": f"{int(cpu * 10**9)}n", "memory": f"{int(mem / 1024)}Ki"}})
        if name:
            if not items:
                raise E.KubeError(404, "NotFound", f'nodemetrics.metrics.k8s.io "{name}" not found')
            return respond(200, {"kind": "NodeMetrics", "apiVersion": "metrics.k8s.io/v1beta1", **items[0]})
        return respond(200, {"kind": "NodeMetricsList", "apiVersion": "metrics.k8s.io/v1beta1", "metadata": {},
                             "items": items})
    if res.group == "metrics.k8s.io" and res.plural == "pods":
        items = []
        for pod in c.list("", "pods", ns):
            if (name and pod["metadata"]["name"] != name) or pod.get("status", {}).get("phase") != "Running":
                continue
            containers = [{"name": ctr["name"],
                           "usage": {"cpu": f"{int(Q.parse(((ctr.get('resources') or {}).get('requests') or {}).get('cpu', '1m')) * 10**9 / 2)}n",
                                     "memory": f"{int(Q.parse(((ctr.get('resources') or {}).get('requests') or {}).get('memory', '8Mi')) / 1024 / 2)}Ki"}}
                          for ctr in pod["spec"].get("containers", [])]
            items.append({"metadata": {"name": pod["metadata"]["name"], "namespace": pod["metadata"]["namespace"],
                                       "creationTimestamp": ts, "labels": pod["metadata"].get("labels") or {}},
                          "timestamp": ts, "window": "15.012s", "containers": containers})
        if name:
            if not items:
                raise E.KubeError(404, "NotFound", f'podmetrics.metrics.k8s.io "{name}" not found')
            return respond(200, {"kind": "PodMetrics", "apiVersion": "metrics.k8s.io/v1beta1", **items[0]})
        return respond(200, {"kind": "PodMetricsList", "apiVersion": "metrics.k8s.io/v1beta1", "metadata": {},
                             "items": items})
    if res.group == "external.metrics.k8s.io":
        return respond(200, {"kind": "ExternalMetricValueList", "apiVersion": "external.metrics.k8s.io/v1beta1",
                             "metadata": {}, "items": []})
    raise E.no_resource()
