"""Helpers every controller shares: conditions, owner references, status writes, pod readiness."""
from __future__ import annotations

from typing import Any

import copy

from ..store import Cluster, now


def cond(type_: str, status: str, reason: str = "", message: str = "", *, probe: bool = False, old=None) -> dict:
    out: dict[str, Any] = {"type": type_, "status": status}
    if probe:
        out["lastProbeTime"] = None
    ts = now()
    if old:
        for o in old:
            if o.get("type") == type_ and o.get("status") == status:
                ts = o.get("lastTransitionTime") or ts
    out["lastTransitionTime"] = ts
    if reason:
        out["reason"] = reason
    if message:
        out["message"] = message
    return out


def owned_by(obj: dict, owner: dict) -> bool:
    uid = owner["metadata"].get("uid")
    return any(r.get("uid") == uid for r in obj["metadata"].get("ownerReferences") or [])


def owner_ref(owner: dict, controller: bool = True) -> dict:
    return {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"], "controller": controller, "blockOwnerDeletion": True}


def set_status(c: Cluster, obj: dict, status: dict) -> None:
    if obj.get("status") != status:
        new = copy.deepcopy(obj)
        new["status"] = status
        c.write(new)


def list_pods(c: Cluster, ns: str | None = None) -> list[dict]:
    return c.list("", "pods", ns)


def pod_ready(p: dict) -> bool:
    return p.get("status", {}).get("phase") == "Running" and any(
        x.get("type") == "Ready" and x.get("status") == "True" for x in p.get("status", {}).get("conditions", []))


def deployment_running(c: Cluster, ns: str, name: str) -> bool:
    """The Deployment exists and one of its pods is ready (its controller is running)."""
    from ..patch import selector_matches
    dep = c.get("apps", "deployments", ns, name)
    if dep is None:
        return False
    sel = (dep.get("spec") or {}).get("selector") or {}
    return any(pod_ready(p) and selector_matches(sel, p["metadata"].get("labels") or {}) for p in c.list("", "pods", ns))


def terminal(p: dict) -> bool:
    return p.get("status", {}).get("phase") in ("Succeeded", "Failed")


def delete_pod(c: Cluster, pod: dict) -> None:
    ns, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
    c.raw_delete("", "pods", ns, name)
    c.next_rv()
    for key in [k for k in c.logs if k.startswith(f"{ns}/{name}/")]:
        del c.logs[key]
    for _node, slots in list(c.gpu_alloc.items()):
        for idx, owner in list(slots.items()):
            if owner.startswith(f"{ns}/{name}/"):
                del slots[idx]
