"""Dynamic Resource Allocation for GPUs, simulated for clusters degraded dra-only (GPU nodes whose GPUs only the
NVIDIA DRA driver exposes, as the AKS evidence for DRA sets it up: GPU Operator without device plugin + DRA driver):

- the driver: DeviceClass gpu.nvidia.com and, per GPU node, a ResourceSlice (driver gpu.nvidia.com, pool = node,
  one device gpu-<i> per GPU with its uuid and productName);
- the resource claim controller: a pod's spec.resourceClaims entry with resourceClaimTemplateName gets a
  ResourceClaim `<pod>-<claim>-<suffix>` (owned by the pod) and pod.status.resourceClaimStatuses;
- the scheduler's DRA plugin: a pending pod whose claims are all created is bound to an eligible node with enough
  free devices of the class; the claims get status.allocation (results: request, driver, pool, device) and
  reservedFor the pod; the containers that list the claim in resources.claims get those devices (the kubelet's DRA
  manager), which is what they see in /dev and what the DCGM exporter reports as in use."""
from __future__ import annotations

import copy

from . import names as N
from . import quantity as Q
from . import sizes
from .store import Cluster, short_hash

DRIVER = "gpu.nvidia.com"
GROUP = "resource.k8s.io"


def _driver(c: Cluster) -> None:
    from .proxy import gpu_uuid
    c.write({"apiVersion": f"{GROUP}/v1", "kind": "DeviceClass", "metadata": {"name": DRIVER},
             "spec": {"selectors": [{"cel": {"expression": f"device.driver == '{DRIVER}'"}}]}})
    for node in c.list("", "nodes"):
        labels = node["metadata"].get("labels") or {}
        size = sizes.lookup(labels.get(N.LABEL_INSTANCE_TYPE))
        name = node["metadata"]["name"]
        if not size.gpus:
            continue
        model = size.gpu or sizes.T4
        c.write({"apiVersion": f"{GROUP}/v1", "kind": "ResourceSlice",
                 "metadata": {"name": f"{name}-{DRIVER}-{short_hash(name, 5)}"},
                 "spec": {"driver": DRIVER, "nodeName": name, "pool": {"name": name, "generation": 1,
                                                                        "resourceSliceCount": 1},
                          "devices": [{"name": f"gpu-{i}", "attributes": {
                              "uuid": {"string": gpu_uuid(name, i)}, "productName": {"string": model.name},
                              "index": {"int": i}}} for i in range(size.gpus)]}})


def _claim_name(pod: dict, entry: dict) -> str:
    return f"{pod['metadata']['name']}-{entry['name']}-{short_hash(pod['metadata'].get('uid', '') + entry['name'], 5)}"


def _create_claims(c: Cluster, pod: dict) -> bool:
    """Claims of the pod's templates exist (created now if needed); False when a template is missing."""
    from .controllers import owner_ref
    ns = pod["metadata"]["namespace"]
    statuses = []
    for entry in pod["spec"].get("resourceClaims") or []:
        if entry.get("resourceClaimName"):
            statuses.append({"name": entry["name"], "resourceClaimName": entry["resourceClaimName"]})
            continue
        tmpl = c.get(GROUP, "resourceclaimtemplates", ns, entry.get("resourceClaimTemplateName", ""))
        if tmpl is None:
            return False
        name = _claim_name(pod, entry)
        if c.get(GROUP, "resourceclaims", ns, name) is None:
            c.write({"apiVersion": f"{GROUP}/v1", "kind": "ResourceClaim",
                     "metadata": {"name": name, "namespace": ns, "ownerReferences": [owner_ref(pod)],
                                  "annotations": {"resource.kubernetes.io/pod-claim-name": entry["name"]}},
                     "spec": copy.deepcopy((tmpl.get("spec") or {}).get("spec") or {})})
        statuses.append({"name": entry["name"], "resourceClaimName": name})
    if (pod.get("status") or {}).get("resourceClaimStatuses") != statuses:
        new = copy.deepcopy(pod)
        new.setdefault("status", {})["resourceClaimStatuses"] = statuses
        c.write(new)
    return True


def _wanted(c: Cluster, pod: dict) -> list[tuple[dict, str, int]]:
    """(claim, its request name, device count) per claim of the pod."""
    out = []
    for st in (pod.get("status") or {}).get("resourceClaimStatuses") or []:
        claim = c.get(GROUP, "resourceclaims", pod["metadata"]["namespace"], st["resourceClaimName"])
        if claim is None:
            continue
        for req in ((claim.get("spec") or {}).get("devices") or {}).get("requests") or []:
            exactly = req.get("exactly") or req
            if exactly.get("deviceClassName") == DRIVER:
                out.append((claim, req["name"], int(exactly.get("count") or 1)))
    return out


def _allocate(c: Cluster, pod: dict) -> None:
    from .controllers import fits, node_eligible, node_free, node_ready
    wanted = _wanted(c, pod)
    if not wanted:
        return
    need = sum(n for _, _, n in wanted)
    pods = c.list("", "pods")
    for node in sorted(c.list("", "nodes"), key=lambda n: n["metadata"]["name"]):
        name = node["metadata"]["name"]
        size = sizes.lookup((node["metadata"].get("labels") or {}).get(N.LABEL_INSTANCE_TYPE))
        slots = c.gpu_alloc.setdefault(name, {})
        free = [i for i in range(size.gpus) if str(i) not in slots]
        if not node_ready(node) or len(free) < need or not node_eligible(pod["spec"], node)[0] or \
                fits(Q.pod_requests(pod), node_free(c, node, pods)):
            continue
        ns, pname = pod["metadata"]["namespace"], pod["metadata"]["name"]
        claims_of = {st["name"]: st["resourceClaimName"] for st in pod["status"]["resourceClaimStatuses"]}
        for claim, request, n in wanted:
            devices, free = free[:n], free[n:]
            users = [ctr["name"] for ctr in pod["spec"].get("containers") or []
                     if any(claims_of.get(x.get("name")) == claim["metadata"]["name"]
                            for x in (ctr.get("resources") or {}).get("claims") or [])]
            for i in devices:
                slots[str(i)] = f"{ns}/{pname}/{users[0] if users else ''}"
            new = copy.deepcopy(claim)
            new["status"] = {"allocation": {"devices": {"results": [
                {"request": request, "driver": DRIVER, "pool": name, "device": f"gpu-{i}"} for i in devices]},
                "nodeSelector": {"nodeSelectorTerms": [{"matchFields": [
                    {"key": "metadata.name", "operator": "In", "values": [name]}]}]}},
                "reservedFor": [{"resource": "pods", "name": pname, "uid": pod["metadata"].get("uid")}]}
            c.write(new)
        bound = copy.deepcopy(c.get("", "pods", ns, pname))
        assert bound is not None  # the pod being scheduled
        bound["spec"]["nodeName"] = name
        c.write(bound)
        return


def _unschedulable(c: Cluster, pod: dict, message: str) -> None:
    from .controllers import cond, qos_class, set_status
    status = copy.deepcopy(pod.get("status") or {})
    status.update({"phase": "Pending", "qosClass": qos_class(pod), "conditions": [cond(
        "PodScheduled", "False", "Unschedulable", message, probe=True, old=status.get("conditions"))]})
    set_status(c, pod, status)


def _current(c: Cluster, ns: str, name: str) -> dict:
    """The pod as stored now (this controller wrote it a moment ago; nothing else deletes it in between)."""
    pod = c.get("", "pods", ns, name)
    assert pod is not None
    return pod


def controller(c: Cluster) -> None:
    """Pods with resourceClaims are scheduled here (the default scheduler leaves them alone)."""
    if "dra-only" in c.degraded:
        _driver(c)
    nodes = len(c.list("", "nodes"))
    for pod in c.list("", "pods"):
        if not pod["spec"].get("resourceClaims") or pod["spec"].get("nodeName") or \
                pod["metadata"].get("deletionTimestamp"):
            continue
        ns, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
        if not _create_claims(c, pod):
            _unschedulable(c, _current(c, ns, name), f'0/{nodes} nodes are available: resourceclaimtemplate '
                                                     'not found.')
            continue
        _allocate(c, _current(c, ns, name))
        pod = _current(c, ns, name)
        if not pod["spec"].get("nodeName"):
            _unschedulable(c, pod, f"0/{nodes} nodes are available: {nodes} cannot allocate all claims. preemption: "
                                   f"0/{nodes} nodes are available: {nodes} Preemption is not helpful for scheduling.")
