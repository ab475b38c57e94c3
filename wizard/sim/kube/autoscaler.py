"""The cluster autoscaler of AKS, simulated for the pools the ARM view has with enableAutoScaling.

Scale-up, as cluster-autoscaler does: a pod the scheduler marked Unschedulable that would fit a new node of an
autoscaled pool (the pool's node template: labels, taints, allocatable including the VM size's GPUs, as AKS's
node templates declare them) gets one node added to the first such pool below maxCount; events TriggeredScaleUp on
the pod (or NotTriggerScaleUp "max node group size reached" when every fitting pool is at its maximum, or
FailedScaleUp when the scale set refuses: degradation autoscaler-stuck). The new node joins Ready (the DaemonSets
and the device plugin follow as on a real node).
Scale-down: a node this autoscaler added that runs nothing but DaemonSet pods, while no pending pod could use the
pool, is removed
when the pool is above minCount (the real one waits scale-down-unneeded-time, 10 minutes on AKS; the simulated
world has no clock between requests). The ARM agent pool count is not changed (a real VMSS would show it)."""
from __future__ import annotations

from . import names as N
from . import quantity as Q
from . import seed, sizes
from .store import Cluster, now, short_hash

ADDED = "cluster-autoscaler.kubernetes.io/scale-up-node"  # annotation on nodes this autoscaler added


def _pools(c: Cluster) -> list[dict]:
    arm = c.arm or {}
    return [p for p in seed.pools_of(arm.get("cluster") or {}, arm.get("pools") or []) if p.get("enableAutoScaling")]


def _pool_nodes(c: Cluster, pool: str) -> list[dict]:
    return [n for n in c.list("", "nodes") if (n["metadata"].get("labels") or {}).get(N.LABEL_AGENTPOOL) == pool]


def _template(c: Cluster, pool: dict, index: int) -> dict:
    """The node a scale-up of `pool` adds (index-th node of its scale set)."""
    arm = c.arm or {}
    grown = dict(pool, count=index + 1, enableAutoScaling=False)
    node = seed.nodes(c.kube_id, arm.get("cluster") or {}, [grown], c.git_version)[-1]
    size = sizes.lookup(pool.get("vmSize"))
    if size.gpus and "dra-only" not in c.degraded and "no-gpus" not in c.degraded:
        for k in ("capacity", "allocatable"):
            node["status"][k][N.GPU_RESOURCE] = str(size.gpus)
    return node


def _upcoming(node: dict) -> bool:
    """A node this autoscaler added whose GPUs are not advertised yet (the device plugin is starting)."""
    ann = node["metadata"].get("annotations") or {}
    want = ann.get(ADDED + "-gpus")
    return bool(want) and ((node.get("status") or {}).get("allocatable") or {}).get(N.GPU_RESOURCE) != want


def _event(c: Cluster, pod: dict, reason: str, message: str, kind: str = "Normal") -> None:
    ns, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
    ev_name = f"{name}.{short_hash(reason + message, 8)}"
    if c.get("", "events", ns, ev_name) is not None:
        return
    ts = now()
    c.write({"apiVersion": "v1", "kind": "Event", "metadata": {"name": ev_name, "namespace": ns},
             "involvedObject": {"kind": "Pod", "namespace": ns, "name": name, "uid": pod["metadata"].get("uid"),
                                "apiVersion": "v1"},
             "reason": reason, "message": message, "type": kind, "count": 1, "firstTimestamp": ts,
             "lastTimestamp": ts, "source": {"component": "cluster-autoscaler"}})


def controller(c: Cluster) -> None:
    from .controllers import terminal

    pools = _pools(c)
    if not pools:
        return
    pods = c.list("", "pods")
    pending = [p for p in pods if not p["spec"].get("nodeName") and not terminal(p)
               and not p["metadata"].get("deletionTimestamp")
               and any(x.get("type") == "PodScheduled" and x.get("reason") == "Unschedulable"
                       for x in (p.get("status") or {}).get("conditions") or [])]
    for pod in pending:
        _scale_up_for(c, pools, pod)
    _scale_down(c, pools, pods, pending)


def _group(c: Cluster, pool: str) -> str:
    return f"aks-{pool}-{seed.pool_id(c.kube_id)}-vmss"


def _fitting_pool(c: Cluster, pools: list[dict], pod: dict) -> tuple[tuple | None, list[str]]:
    """((pool, node template, node count) of the first pool a new node of which the pod fits, () while a node
    the autoscaler added is still coming up, None when none fits), and the fitting pools at their maximum."""
    from .controllers import fits, node_eligible

    at_max: list[str] = []
    for pool in pools:
        have = _pool_nodes(c, pool["name"])
        if any(_upcoming(n) for n in have):
            return (), at_max  # a node it added is still coming up: the autoscaler waits for it
        node = _template(c, pool, len(have))
        ok, _ = node_eligible(pod["spec"], node)
        free = {k: Q.parse(v) for k, v in node["status"]["allocatable"].items()}
        if not ok or fits(Q.pod_requests(pod), free):
            continue
        if len(have) >= int(pool.get("maxCount") or 0):
            at_max.append(pool["name"])
            continue
        return (pool, node, len(have)), at_max
    return None, at_max


def _scale_up_for(c: Cluster, pools: list[dict], pod: dict) -> None:
    fitting, at_max = _fitting_pool(c, pools, pod)
    if fitting == ():
        return
    if fitting is None:
        if at_max:
            _event(c, pod, "NotTriggerScaleUp", f"pod didn't trigger scale-up: {len(at_max)} max node group size "
                                                "reached")
        return
    pool, node, n = fitting
    if "autoscaler-stuck" in c.degraded:
        _event(c, pod, "FailedScaleUp", f"Node scale up in zones {pool.get('availabilityZones') or ['0']} "
                                        f"associated with this pod failed: Could not increase size of node group "
                                        f"{_group(c, pool['name'])}: QuotaExceeded: Operation could not be completed "
                                        "as it results in exceeding approved standardNCSv3Family Cores quota",
               "Warning")
        return
    node["metadata"]["annotations"][ADDED] = now()
    gpus = node["status"]["allocatable"].get(N.GPU_RESOURCE)
    if gpus:
        node["metadata"]["annotations"][ADDED + "-gpus"] = gpus
    c.write(node)
    _event(c, pod, "TriggeredScaleUp", f"pod triggered scale-up: [{{{_group(c, pool['name'])} {n}->{n + 1} "
                                       f"(max: {pool.get('maxCount')})}}]")


def _scale_down(c: Cluster, pools: list[dict], pods: list[dict], pending: list[dict]) -> None:
    """Nodes the autoscaler added that no pod (but DaemonSets') uses go, down to the pool's minimum, unless
    pods wait for the pool."""
    from .controllers import node_eligible, terminal

    busy = {p["spec"].get("nodeName") for p in pods if not terminal(p) and not any(
        r.get("kind") == "DaemonSet" for r in p["metadata"].get("ownerReferences") or [])}
    for pool in pools:
        have = _pool_nodes(c, pool["name"])
        template = _template(c, pool, len(have))
        if any(node_eligible(p["spec"], template)[0] for p in pending):
            continue  # pods wait for this pool: nothing of it is unneeded
        for node in sorted(have, key=lambda n: n["metadata"]["name"], reverse=True):
            if len(have) <= int(pool.get("minCount") or 0):
                break
            name = node["metadata"]["name"]
            if ADDED in (node["metadata"].get("annotations") or {}) and name not in busy:
                c.raw_delete("", "nodes", "", name)
                c.next_rv()
                have = [n for n in have if n["metadata"]["name"] != name]
