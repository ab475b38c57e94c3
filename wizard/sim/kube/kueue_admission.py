"""Kueue's batch/job integration and admission, simulated (enough for all-or-nothing gang admission).

While Kueue's controller has a ready pod and its configuration manages batch/job (kueue-manager-config
`integrations.frameworks`, default batch/job):

- a suspended Job labelled (or annotated) kueue.x-k8s.io/queue-name gets a Workload (kueue.x-k8s.io/v1beta1,
  `job-<name>-<hash>`, owned by the Job) with one pod set `main` of `parallelism` pods;
- a pending Workload is admitted when its LocalQueue's ClusterQueue is Active, selects the namespace, and has, in one
  flavor of each resource group, enough unused nominal quota for ALL its pods (count x pod requests). Admission sets
  status.admission, QuotaReserved=True and Admitted=True, and unsuspends the Job (the flavor's nodeLabels and
  tolerations go into the pod template), so the Job controller creates every pod at once;
- a Workload that does not fit stays pending: QuotaReserved=False (reason Pending) with Kueue's message, the Job
  stays suspended with no pods (all or nothing);
- a finished Job finishes its Workload (Finished=True), which releases its quota; a deleted Job's Workload is
  deleted.
Usage counts are written to the ClusterQueue status (pending/reserving/admittedWorkloads, flavorsReservation).
"""

from __future__ import annotations

import copy
from decimal import Decimal

import yaml

from . import quantity as Q
from .patch import selector_matches
from .store import Cluster, short_hash

GROUP = "kueue.x-k8s.io"
VERSION = "v1beta1"
QUEUE_LABEL = f"{GROUP}/queue-name"
NS = "kueue-system"
CONFIG = "kueue-manager-config"


def _manages_jobs(c: Cluster) -> bool:
    cm = c.get("", "configmaps", NS, CONFIG)
    text = ((cm or {}).get("data") or {}).get("controller_manager_config.yaml")
    if not text:
        return True
    try:
        conf = yaml.safe_load(text) or {}
    except yaml.YAMLError:
        return False  # the real manager does not start with a broken configuration
    frameworks = ((conf.get("integrations") or {}).get("frameworks")) if isinstance(conf, dict) else None
    return not frameworks or "batch/job" in frameworks


def _queue_name(job: dict) -> str | None:
    meta = job["metadata"]
    return (meta.get("labels") or {}).get(QUEUE_LABEL) or (meta.get("annotations") or {}).get(QUEUE_LABEL)


def _cond(obj: dict, type_: str) -> dict | None:
    return next((x for x in (obj.get("status") or {}).get("conditions") or [] if x.get("type") == type_), None)


def _true(obj: dict, type_: str) -> bool:
    x = _cond(obj, type_)
    return bool(x and x.get("status") == "True")


def _set_conds(wl: dict, conds: list[dict]) -> None:
    from .controllers import cond
    old = (wl.get("status") or {}).get("conditions") or []
    keep = [x for x in old if x.get("type") not in {n["type"] for n in conds}]
    for n in conds:
        new = cond(n["type"], n["status"], n.get("reason", ""), n.get("message", ""), old=old)
        new["observedGeneration"] = wl["metadata"].get("generation", 1)
        keep.append(new)
    wl.setdefault("status", {})["conditions"] = keep


def _fmt(v: Decimal, resource: str) -> str:
    if resource == "memory" and v == v.to_integral_value() and v % (1024 * 1024) == 0:
        return f"{int(v / (1024 * 1024))}Mi"
    if v == v.to_integral_value():
        return str(int(v))
    return f"{int(v * 1000)}m"


def _owned(obj: dict, owner: dict) -> bool:
    return any(r.get("uid") == owner["metadata"].get("uid") for r in obj["metadata"].get("ownerReferences") or [])


def _workload_for(c: Cluster, job: dict) -> dict | None:
    return next((w for w in c.list(GROUP, "workloads", job["metadata"]["namespace"]) if _owned(w, job)), None)


def _new_workload(job: dict, queue: str) -> dict:
    from .controllers import owner_ref
    name = job["metadata"]["name"]
    spec = job.get("spec") or {}
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Workload",
            "metadata": {"name": f"job-{name}-{short_hash(job['metadata']['uid'], 5)}",
                         "namespace": job["metadata"]["namespace"],
                         "labels": {f"{GROUP}/job-uid": job["metadata"]["uid"]},
                         "ownerReferences": [owner_ref(job)]},
            "spec": {"queueName": queue, "active": True,
                     "podSets": [{"name": "main", "count": int(spec.get("parallelism", 1) or 1),
                                  "template": copy.deepcopy(spec.get("template") or {})}]}}


def _requests(wl: dict) -> dict[str, Decimal]:
    total: dict[str, Decimal] = {}
    for ps in (wl.get("spec") or {}).get("podSets") or []:
        for k, v in Q.pod_requests({"spec": (ps.get("template") or {}).get("spec") or {}}).items():
            total[k] = total.get(k, Decimal(0)) + v * int(ps.get("count", 1))
    return {k: v for k, v in total.items() if v > 0}


def _usage(c: Cluster, cq_name: str) -> dict[tuple[str, str], Decimal]:
    """(flavor, resource) -> quota reserved by unfinished workloads admitted to the ClusterQueue."""
    used: dict[tuple[str, str], Decimal] = {}
    for wl in c.list(GROUP, "workloads"):
        adm = (wl.get("status") or {}).get("admission") or {}
        if adm.get("clusterQueue") != cq_name or not _true(wl, "QuotaReserved") or _true(wl, "Finished"):
            continue
        for psa in adm.get("podSetAssignments") or []:
            for res, flavor in (psa.get("flavors") or {}).items():
                key = (flavor, res)
                used[key] = used.get(key, Decimal(0)) + Q.parse((psa.get("resourceUsage") or {}).get(res))
    return used


def _assign(c: Cluster, cq: dict, req: dict[str, Decimal]) -> tuple[dict[str, str] | None, str]:
    """resource -> flavor for every requested resource, or None and Kueue's reason."""
    used = _usage(c, cq["metadata"]["name"])
    groups = (cq.get("spec") or {}).get("resourceGroups") or []
    covered = {r for g in groups for r in g.get("coveredResources") or []}
    missing = sorted(r for r in req if r not in covered)
    if missing:
        return None, f"couldn't assign flavors to pod set main: resource {missing[0]} unavailable in ClusterQueue"
    out: dict[str, str] = {}
    for g in groups:
        wanted = {r: v for r, v in req.items() if r in (g.get("coveredResources") or [])}
        if not wanted:
            continue
        reasons = []
        for fl in g.get("flavors") or []:
            nominal = {r["name"]: Q.parse(r.get("nominalQuota")) for r in fl.get("resources") or []}
            short = None
            for r, v in sorted(wanted.items()):
                cap = nominal.get(r, Decimal(0))
                if v > cap:
                    short = (f"insufficient quota for {r} in flavor {fl['name']}, request > maximum capacity "
                             f"({_fmt(v, r)} > {_fmt(cap, r)})")
                    break
                free = cap - used.get((fl["name"], r), Decimal(0))
                if v > free:
                    short = f"insufficient unused quota for {r} in flavor {fl['name']}, {_fmt(v - free, r)} more needed"
                    break
            if short is None:
                out.update({r: fl["name"] for r in wanted})
                break
            reasons.append(short)
        else:
            return None, "couldn't assign flavors to pod set main: " + ", ".join(reasons or ["no flavors"])
    return out, ""


def _pending(c: Cluster, wl: dict, message: str, reason: str = "Pending") -> None:
    new = copy.deepcopy(wl)
    new.setdefault("status", {}).pop("admission", None)
    _set_conds(new, [{"type": "QuotaReserved", "status": "False", "reason": reason, "message": message}])
    if new != wl:
        c.write(new)


def _admit(c: Cluster, wl: dict, job: dict, cq: dict, flavors: dict[str, str], req: dict[str, Decimal]) -> None:
    cq_name = cq["metadata"]["name"]
    new = copy.deepcopy(wl)
    new.setdefault("status", {})["admission"] = {"clusterQueue": cq_name, "podSetAssignments": [{
        "name": "main", "flavors": flavors, "count": wl["spec"]["podSets"][0].get("count", 1),
        "resourceUsage": {r: _fmt(v, r) for r, v in sorted(req.items()) if r in flavors}}]}
    _set_conds(new, [{"type": "QuotaReserved", "status": "True", "reason": "QuotaReserved",
                      "message": f"Quota reserved in ClusterQueue {cq_name}"},
                     {"type": "Admitted", "status": "True", "reason": "Admitted",
                      "message": "The workload is admitted"}])
    c.write(new)
    started = copy.deepcopy(job)
    started["spec"]["suspend"] = False
    tmpl = started["spec"].setdefault("template", {}).setdefault("spec", {})
    for fname in sorted(set(flavors.values())):
        rf = c.get(GROUP, "resourceflavors", "", fname) or {}
        spec = rf.get("spec") or {}
        if spec.get("nodeLabels"):
            tmpl.setdefault("nodeSelector", {}).update(spec["nodeLabels"])
        for t in spec.get("tolerations") or []:
            if t not in tmpl.setdefault("tolerations", []):
                tmpl["tolerations"].append(t)
    c.write(started)


def controller(c: Cluster) -> None:
    from .kueue import _running
    if c.resource(GROUP, VERSION, "workloads") is None or not _running(c) or not _manages_jobs(c):
        return
    jobs = [j for j in c.list("batch", "jobs") if _queue_name(j)]
    uids = {j["metadata"].get("uid") for j in c.list("batch", "jobs")}
    for stale in c.list(GROUP, "workloads"):  # the Job is gone (also when its dependents were orphaned): so is its Workload
        job_uid = (stale["metadata"].get("labels") or {}).get(f"{GROUP}/job-uid")
        if job_uid and job_uid not in uids:
            c.raw_delete(GROUP, "workloads", stale["metadata"]["namespace"], stale["metadata"]["name"])
            c.next_rv()
    for job in sorted(jobs, key=lambda j: (j["metadata"].get("creationTimestamp", ""), j["metadata"]["name"])):
        _reconcile_job(c, job)
    _cluster_queue_status(c)


def _reconcile_job(c: Cluster, job: dict) -> None:
    """One queued Job's Workload: created for a suspended Job, Finished with the Job, else admitted or pending."""
    wl = _workload_for(c, job)
    finished = next((x for x in (job.get("status") or {}).get("conditions") or []
                     if x.get("type") in ("Complete", "Failed") and x.get("status") == "True"), None)
    if wl is None:
        if not (job.get("spec") or {}).get("suspend") or finished:
            return  # not started through Kueue (the webhook suspends queued Jobs on creation)
        wl = c.write(_new_workload(job, _queue_name(job) or ""))
    if _true(wl, "Finished"):
        return
    if finished:
        new = copy.deepcopy(wl)
        ok = finished["type"] == "Complete"
        _set_conds(new, [{"type": "Finished", "status": "True", "reason": "Succeeded" if ok else "Failed",
                          "message": "Job finished successfully" if ok else finished.get("message", "Job failed")}])
        c.write(new)
        return
    if _true(wl, "QuotaReserved"):
        return
    cq = _admitting_queue(c, job, wl)
    if cq is None:
        return
    req = _requests(wl)
    flavors, why = _assign(c, cq, req)
    if flavors is None:
        _pending(c, wl, why)
    else:
        _admit(c, wl, job, cq, flavors, req)


def _admitting_queue(c: Cluster, job: dict, wl: dict) -> dict | None:
    """The active ClusterQueue the Job's LocalQueue points to, when it admits the Job's namespace; else the
    Workload is marked Inadmissible and None returned."""
    ns, queue = job["metadata"]["namespace"], _queue_name(job) or ""
    lq = c.get(GROUP, "localqueues", ns, queue)
    if lq is None:
        _pending(c, wl, f"LocalQueue {queue} doesn't exist", "Inadmissible")
        return None
    cq_name = (lq.get("spec") or {}).get("clusterQueue", "")
    cq = c.get(GROUP, "clusterqueues", "", cq_name)
    if cq is None:
        _pending(c, wl, f"ClusterQueue {cq_name} doesn't exist", "Inadmissible")
        return None
    if not _true(cq, "Active"):
        _pending(c, wl, f"ClusterQueue {cq_name} is inactive", "Inadmissible")
        return None
    ns_obj = c.get("", "namespaces", "", ns) or {}
    sel = (cq.get("spec") or {}).get("namespaceSelector")
    if sel is not None and not selector_matches(sel, (ns_obj.get("metadata") or {}).get("labels") or {}):
        _pending(c, wl, "Workload namespace doesn't match ClusterQueue selector", "Inadmissible")
        return None
    return cq


def _cluster_queue_status(c: Cluster) -> None:
    wls = c.list(GROUP, "workloads")
    lqs = {(lq["metadata"]["namespace"], lq["metadata"]["name"]): (lq.get("spec") or {}).get("clusterQueue")
           for lq in c.list(GROUP, "localqueues")}
    for cq in c.list(GROUP, "clusterqueues"):
        name = cq["metadata"]["name"]
        mine = [w for w in wls if lqs.get((w["metadata"]["namespace"], (w.get("spec") or {}).get("queueName")))
                == name and not _true(w, "Finished")]
        reserving = [w for w in mine if _true(w, "QuotaReserved")]
        usage = _usage(c, name)
        st = copy.deepcopy(cq.get("status") or {})
        st.update({"pendingWorkloads": len(mine) - len(reserving), "reservingWorkloads": len(reserving),
                   "admittedWorkloads": len([w for w in reserving if _true(w, "Admitted")])})
        flavors: dict[str, list[dict]] = {}
        for g in (cq.get("spec") or {}).get("resourceGroups") or []:
            for fl in g.get("flavors") or []:
                flavors[fl["name"]] = [{"name": r["name"], "total": _fmt(usage.get((fl["name"], r["name"]), Decimal(0)),
                                                                         r["name"])} for r in fl.get("resources") or []]
        st["flavorsReservation"] = [{"name": k, "resources": v} for k, v in flavors.items()]
        st["flavorsUsage"] = copy.deepcopy(st["flavorsReservation"])
        if st != (cq.get("status") or {}):
            new = copy.deepcopy(cq)
            new["status"] = st
            c.write(new)
