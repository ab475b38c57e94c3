"""The device plugin (nvidia.com/gpu on GPU nodes), the scheduler (selectors, affinity, taints, cpu/memory/GPU
fit) and the kubelet (phase, conditions, GPU allocation)."""
from __future__ import annotations

import copy
import json
import re
from decimal import Decimal

from .. import names as N
from .. import quantity as Q
from .. import sizes
from ..store import Cluster, now, short_hash
from .common import cond, delete_pod, list_pods, pod_ready, set_status, terminal


def node_eligible(pod_spec: dict, node: dict) -> tuple[bool, str]:
    labels = node["metadata"].get("labels") or {}
    for k, v in (pod_spec.get("nodeSelector") or {}).items():
        if labels.get(k) != v:
            return False, "node(s) didn't match Pod's node affinity/selector"
    terms = (((pod_spec.get("affinity") or {}).get("nodeAffinity") or {})
             .get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get("nodeSelectorTerms")
    if terms and not any(_term_matches(t, node) for t in terms):
        return False, "node(s) didn't match Pod's node affinity/selector"
    for taint in node.get("spec", {}).get("taints") or []:
        if taint.get("effect") not in ("NoSchedule", "NoExecute"):
            continue
        if not any(_tolerates(t, taint) for t in pod_spec.get("tolerations") or []):
            val = f": {taint['value']}" if taint.get("value") else ""
            return False, f"node(s) had untolerated taint {{{taint['key']}{val}}}"
    return True, ""


def _term_matches(term: dict, node: dict) -> bool:
    labels = node["metadata"].get("labels") or {}
    for expr in term.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        v = labels.get(key)
        if op == "In" and v not in values:
            return False
        if op == "NotIn" and v in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
        if op in ("Gt", "Lt"):
            try:
                if not (int(str(v)) > int(values[0]) if op == "Gt" else int(str(v)) < int(values[0])):
                    return False
            except (TypeError, ValueError, IndexError):
                return False
    for expr in term.get("matchFields") or []:
        if expr.get("key") == "metadata.name":
            inside = node["metadata"]["name"] in (expr.get("values") or [])
            if (expr.get("operator") == "In") != inside:
                return False
    return True


def _tolerates(tol: dict, taint: dict) -> bool:
    if tol.get("effect") and tol["effect"] != taint.get("effect"):
        return False
    if tol.get("operator") == "Exists":
        return not tol.get("key") or tol["key"] == taint.get("key")
    return tol.get("key") == taint.get("key") and (tol.get("value") or "") == (taint.get("value") or "")


# ------------------------------------------------------------------------------------------------------
# Nodes: device plugin -> nvidia.com/gpu

def _is_device_plugin(pod: dict) -> bool:
    labels = pod["metadata"].get("labels") or {}
    if any(labels.get(k) == v for k, v in N.DEVICE_PLUGIN_POD_LABELS.items()):
        return True
    return any("device-plugin" in (ctr.get("image") or "") and "nvidia" in (ctr.get("image") or "")
               for ctr in pod.get("spec", {}).get("containers", []) or [])


def is_dcgm_pod(pod: dict) -> bool:
    labels = pod["metadata"].get("labels") or {}
    if any(labels.get(k) == v for k, v in N.DCGM_POD_LABELS.items()):
        return True
    return any("dcgm-exporter" in (ctr.get("image") or "") for ctr in pod.get("spec", {}).get("containers", []) or [])


def node_gpus(c: Cluster) -> None:
    plugin_nodes = {p["spec"].get("nodeName") for p in list_pods(c) if _is_device_plugin(p) and pod_ready(p)}
    if c.degraded & {"no-gpus", "dra-only"}:  # no GPU on the VMs, or only the DRA driver publishes them
        plugin_nodes = set()
    for node in c.list("", "nodes"):
        size = sizes.lookup((node["metadata"].get("labels") or {}).get(N.LABEL_INSTANCE_TYPE))
        want = str(size.gpus) if size.gpus and node["metadata"]["name"] in plugin_nodes else None
        if all((node.get("status", {}).get(k) or {}).get(N.GPU_RESOURCE) == want for k in ("capacity", "allocatable")):
            continue  # nothing to change: no copy of the status (hundreds of nodes, every round)
        status = copy.deepcopy(node.get("status", {}))
        changed = False
        for key in ("capacity", "allocatable"):
            res = status.setdefault(key, {})
            if size.gpus and node["metadata"]["name"] in plugin_nodes:
                if res.get(N.GPU_RESOURCE) != str(size.gpus):
                    res[N.GPU_RESOURCE] = str(size.gpus)
                    changed = True
            elif N.GPU_RESOURCE in res:
                del res[N.GPU_RESOURCE]
                changed = True
        if changed:
            set_status(c, node, status)


# ------------------------------------------------------------------------------------------------------
# Scheduler and kubelet

def node_free(c: Cluster, node: dict, pods: list[dict]) -> dict[str, Decimal]:
    alloc = {k: Q.parse(v) for k, v in (node.get("status", {}).get("allocatable") or {}).items()}
    for p in pods:
        if p["spec"].get("nodeName") == node["metadata"]["name"] and not terminal(p):
            for k, v in Q.pod_requests(p).items():
                alloc[k] = alloc.get(k, Decimal(0)) - v
    return alloc


def node_ready(node: dict) -> bool:
    return any(x.get("type") == "Ready" and x.get("status") == "True"
               for x in node.get("status", {}).get("conditions", []) or [])


def fits(req: dict[str, Decimal], free: dict[str, Decimal]) -> str:
    for k, v in sorted(req.items()):
        if v <= 0:
            continue
        if k in ("cpu", "memory", "pods", "ephemeral-storage") or "/" in k:
            if free.get(k, Decimal(0)) < v:
                return f"Insufficient {k}"
    return ""


def node_usage(pods: list[dict]) -> dict[str, dict[str, Decimal]]:
    """node -> summed requests of its pods that are not finished (one pass, for the whole scheduling round)."""
    used: dict[str, dict[str, Decimal]] = {}
    for p in pods:
        node = p["spec"].get("nodeName")
        if node and not terminal(p):
            into = used.setdefault(node, {})
            for k, v in Q.pod_requests(p).items():
                into[k] = into.get(k, Decimal(0)) + v
    return used


def _unusable(node: dict) -> str:
    """Why the scheduler skips the node before looking at the pod ("" when it is Ready and schedulable)."""
    if node_ready(node) and not node.get("spec", {}).get("unschedulable"):
        return ""
    return "node(s) were unschedulable" if node.get("spec", {}).get("unschedulable") else \
        "node(s) had untolerated taint {node.kubernetes.io/not-ready: }"


def _placement_key(pod_spec: dict) -> str:
    """The parts of a pod's spec node_eligible reads: pods of one workload share it, so a busy cluster's thousand
    replicas are matched against the nodes once per scheduling round, not once each."""
    return json.dumps([pod_spec.get("nodeSelector"), pod_spec.get("affinity"), pod_spec.get("tolerations")],
                      sort_keys=True, default=str)


class _Round:
    """One scheduling round's view of the nodes: why each is unusable, what each has free (kept up to date as pods
    are bound in the round), and which placement constraints each satisfies."""

    def __init__(self, nodes: list[dict], used: dict[str, dict[str, Decimal]]):
        self.nodes = nodes
        self.unusable = [_unusable(n) for n in nodes]
        self.used = used
        self._free: dict[str, dict[str, Decimal]] = {}
        self._eligible: dict[str, list[tuple[bool, str]]] = {}

    def eligible(self, pod_spec: dict) -> list[tuple[bool, str]]:
        key = _placement_key(pod_spec)
        got = self._eligible.get(key)
        if got is None:
            got = self._eligible[key] = [node_eligible(pod_spec, n) if not why else (False, why)
                                         for n, why in zip(self.nodes, self.unusable)]
        return got

    def free(self, node: dict) -> dict[str, Decimal]:
        name = node["metadata"]["name"]
        got = self._free.get(name)
        if got is None:
            alloc = {k: Q.parse(v) for k, v in (node.get("status", {}).get("allocatable") or {}).items()}
            taken = self.used.get(name, {})
            got = self._free[name] = {k: alloc.get(k, Decimal(0)) - taken.get(k, Decimal(0))
                                      for k in set(alloc) | set(taken)}
        return got

    def bind(self, node: dict, req: dict[str, Decimal]) -> None:
        name = node["metadata"]["name"]
        free = self.free(node)
        into = self.used.setdefault(name, {})
        for k, v in req.items():
            into[k] = into.get(k, Decimal(0)) + v
            free[k] = free.get(k, Decimal(0)) - v


def scheduler(c: Cluster) -> None:
    nodes = [n for n in c.list("", "nodes")]
    all_pods = list_pods(c)
    rnd = _Round(nodes, node_usage(all_pods))
    for pod in all_pods:
        if pod["spec"].get("nodeName") or terminal(pod) or pod["metadata"].get("deletionTimestamp"):
            continue
        if pod["spec"].get("schedulerName", "default-scheduler") != "default-scheduler":
            continue
        if pod["spec"].get("resourceClaims"):  # the DRA plugin allocates and binds (dra.py)
            continue
        if (pod["spec"].get("schedulingGates") or []):
            set_status(c, pod, {"phase": "Pending", "conditions": [cond(
                "PodScheduled", "False", "SchedulingGated", "Scheduling is blocked due to non-empty scheduling gates",
                probe=True, old=pod.get("status", {}).get("conditions"))], "qosClass": qos_class(pod)})
            continue
        req = Q.pod_requests(pod)
        reasons: dict[str, int] = {}
        best, best_free = None, {}
        for node, (ok, reason) in zip(nodes, rnd.eligible(pod["spec"])):
            if not ok:
                reasons[reason] = reasons.get(reason, 0) + 1
                continue
            free = rnd.free(node)
            reason = fits(req, free)
            if reason:
                reasons[reason] = reasons.get(reason, 0) + 1
                continue
            if best is None or free.get("cpu", 0) > best_free.get("cpu", 0):
                best, best_free = node, free
        if best is None:
            parts = ", ".join(f"{n} {r}" for r, n in sorted(reasons.items()))
            msg = f"0/{len(nodes)} nodes are available: {parts}." if nodes else "no nodes available to schedule pods"
            if nodes:
                msg += f" preemption: 0/{len(nodes)} nodes are available: {len(nodes)} Preemption is not helpful " \
                       f"for scheduling."
            set_status(c, pod, {"phase": "Pending", "conditions": [cond(
                "PodScheduled", "False", "Unschedulable", msg, probe=True,
                old=pod.get("status", {}).get("conditions"))], "qosClass": qos_class(pod)})
            continue
        bound = copy.deepcopy(pod)
        bound["spec"]["nodeName"] = best["metadata"]["name"]
        c.write(bound)
        rnd.bind(best, req)


def qos_class(pod: dict) -> str:
    containers = pod.get("spec", {}).get("containers", []) or []
    if not any((ctr.get("resources") or {}).get("requests") or (ctr.get("resources") or {}).get("limits")
               for ctr in containers):
        return "BestEffort"
    for ctr in containers:
        res = ctr.get("resources") or {}
        lim, req = res.get("limits") or {}, res.get("requests") or {}
        if not lim.get("cpu") or not lim.get("memory") or any(Q.parse(req.get(k, lim[k])) != Q.parse(lim[k])
                                                               for k in ("cpu", "memory")):
            return "Burstable"
    return "Guaranteed"


_LONG_RUNNING = re.compile(r"sleep\s+(infinity|\d{2,})|tail\s+-f|while\s+true|serve|server|netexec|http")
SERVER_IMAGES = ("prometheus-example-app",)  # images whose default entrypoint is a server


def _runs_to_completion(pod: dict) -> bool:
    if pod["spec"].get("restartPolicy", "Always") == "Always":
        return False
    containers = pod["spec"].get("containers", []) or []
    if any(not ctr.get("command") and any(i in (ctr.get("image") or "") for i in SERVER_IMAGES) for ctr in containers):
        return False
    words = " ".join(" ".join(ctr.get("command") or []) + " " + " ".join(ctr.get("args") or [])
                     for ctr in containers)
    return not _LONG_RUNNING.search(words)


def kubelet(c: Cluster) -> None:
    nodes = {n["metadata"]["name"]: n for n in c.list("", "nodes")}
    for pod in list_pods(c):
        node_name = pod["spec"].get("nodeName")
        if not node_name or terminal(pod):
            continue
        node = nodes.get(node_name)
        if node is None:  # pod GC of pods bound to vanished nodes
            delete_pod(c, pod)
            continue
        _allocate_gpus(c, pod, node)
        if pod.get("status", {}).get("phase") in ("Running",) and pod["status"].get("hostIP"):
            if not _runs_to_completion(pod):
                continue
        old = pod.get("status", {}).get("conditions")
        ip = _node_ip(node)
        started = pod.get("status", {}).get("startTime") or now()
        pod_ip = pod.get("status", {}).get("podIP") or \
            f"10.244.{int(short_hash(node_name, 2), 36) % 200}.{int(short_hash(pod['metadata']['uid'], 2), 36) % 250 + 2}"
        done = _runs_to_completion(pod)
        statuses = []
        for ctr in pod["spec"].get("containers", []) or []:
            st = {"name": ctr["name"], "image": ctr.get("image", ""),
                  "imageID": f"{ctr.get('image', '')}@sha256:{short_hash(ctr.get('image', ''), 20)}",
                  "containerID": f"containerd://{short_hash(pod['metadata']['uid'] + ctr['name'], 32)}",
                  "restartCount": 0, "ready": not done, "started": not done}
            if done:
                st["state"] = {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": started,
                                              "finishedAt": now(),
                                              "containerID": st["containerID"]}}
            else:
                st["state"] = {"running": {"startedAt": started}}
            statuses.append(st)
        ready = "False" if done else "True"
        reason = "PodCompleted" if done else ""
        status = {
            "phase": "Succeeded" if done else "Running",
            "conditions": [cond("PodReadyToStartContainers", "False" if done else "True", probe=True, old=old),
                           cond("Initialized", "True", reason, probe=True, old=old),
                           cond("Ready", ready, reason, probe=True, old=old),
                           cond("ContainersReady", ready, reason, probe=True, old=old),
                           cond("PodScheduled", "True", probe=True, old=old)],
            "hostIP": ip, "hostIPs": [{"ip": ip}], "podIP": pod_ip, "podIPs": [{"ip": pod_ip}],
            "startTime": started, "containerStatuses": statuses, "qosClass": qos_class(pod),
        }
        if pod["spec"].get("hostNetwork"):
            status["podIP"], status["podIPs"] = ip, [{"ip": ip}]
        from ..subresources import compute_log  # the output is fixed when the containers start
        for ctr in pod["spec"].get("containers", []) or []:
            key = f"{pod['metadata']['namespace']}/{pod['metadata']['name']}/{ctr['name']}"
            if key not in c.logs:
                c.logs[key] = compute_log(c, pod, ctr)
        set_status(c, pod, status)


def _node_ip(node: dict) -> str:
    for a in node.get("status", {}).get("addresses", []) or []:
        if a.get("type") == "InternalIP":
            return a["address"]
    return "10.224.0.4"


def _allocate_gpus(c: Cluster, pod: dict, node: dict) -> None:
    node_name = node["metadata"]["name"]
    ns, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
    slots = c.gpu_alloc.setdefault(node_name, {})
    if any(v.startswith(f"{ns}/{name}/") for v in slots.values()):
        return
    total = int(Q.parse((node.get("status", {}).get("allocatable") or {}).get(N.GPU_RESOURCE, 0)))
    for ctr in pod["spec"].get("containers", []) or []:
        for _ in range(Q.container_gpus(ctr)):
            free = [i for i in range(total) if str(i) not in slots]
            if free:
                slots[str(free[0])] = f"{ns}/{name}/{ctr['name']}"


def release_gpus(c: Cluster) -> None:
    live = {f"{p['metadata']['namespace']}/{p['metadata']['name']}" for p in list_pods(c) if not terminal(p)}
    for _node, slots in c.gpu_alloc.items():
        for idx, owner in list(slots.items()):
            if owner.rsplit("/", 1)[0] not in live:
                del slots[idx]
