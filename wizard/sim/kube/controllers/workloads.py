"""Deployments -> ReplicaSets -> Pods, DaemonSets, StatefulSets and Jobs."""
from __future__ import annotations

from typing import Any

import copy
import json
import re

from ..store import Cluster, now, short_hash
from .common import cond, delete_pod, list_pods, owned_by, owner_ref, pod_ready, set_status, terminal
from .scheduling import node_eligible


# ------------------------------------------------------------------------------------------------------
# Workloads

def _template_hash(template: dict) -> str:
    return short_hash(json.dumps(template, sort_keys=True), 10)


def _max_unavailable(dep: dict, replicas: int) -> int:
    ru = (dep.get("spec", {}).get("strategy") or {}).get("rollingUpdate") or {}
    v = ru.get("maxUnavailable", "25%")
    if isinstance(v, str) and v.endswith("%"):
        return int(replicas * int(v[:-1]) / 100)
    try:
        return int(v)
    except (TypeError, ValueError):
        return 0


def deployments(c: Cluster) -> None:
    for dep in c.list("apps", "deployments"):
        spec = dep.get("spec", {})
        ns = dep["metadata"]["namespace"]
        replicas = int(spec.get("replicas", 1))
        h = _template_hash(spec.get("template", {}))
        rs_name = _roll_out(c, dep, replicas, h)
        _deployment_status(c, dep, ns, replicas, h, rs_name)


def _roll_out(c: Cluster, dep: dict, replicas: int, h: str) -> str:
    """The ReplicaSet of the current template (made or brought up to date); the older ones scaled to 0."""
    spec = dep.get("spec", {})
    ns, name = dep["metadata"]["namespace"], dep["metadata"]["name"]
    rs_name = f"{name}-{h}"
    owned = [rs for rs in c.list("apps", "replicasets", ns) if owned_by(rs, dep)]
    current = next((rs for rs in owned if rs["metadata"]["name"] == rs_name), None)
    revision = max([int((rs["metadata"].get("annotations") or {}).get("deployment.kubernetes.io/revision", 0))
                    for rs in owned] + [0])
    if current is None:
        revision += 1
    else:
        revision = int(current["metadata"].get("annotations", {}).get("deployment.kubernetes.io/revision", revision))
    tmpl = copy.deepcopy(spec.get("template", {}))
    tmpl.setdefault("metadata", {}).setdefault("labels", {})["pod-template-hash"] = h
    sel = copy.deepcopy(spec.get("selector") or {})
    sel.setdefault("matchLabels", {})["pod-template-hash"] = h
    want: dict[str, Any] = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": rs_name, "namespace": ns,
                         "labels": dict(tmpl["metadata"]["labels"]),
                         "annotations": {"deployment.kubernetes.io/desired-replicas": str(replicas),
                                         "deployment.kubernetes.io/max-replicas": str(replicas + 1),
                                         "deployment.kubernetes.io/revision": str(revision)},
                         "ownerReferences": [owner_ref(dep)]},
            "spec": {"replicas": replicas, "selector": sel, "template": tmpl}}
    if current is not None:
        merged = copy.deepcopy(current)
        merged["metadata"]["annotations"] = want["metadata"]["annotations"]
        merged["spec"] = want["spec"]
        if merged != current:
            c.write(merged)
    else:
        c.write(want)
    for rs in owned:
        if rs["metadata"]["name"] != rs_name and rs["spec"].get("replicas", 0) != 0:
            old = copy.deepcopy(rs)
            old["spec"]["replicas"] = 0
            c.write(old)
    return rs_name


def _deployment_status(c: Cluster, dep: dict, ns: str, replicas: int, h: str, rs_name: str) -> None:
    """Status from the owned ReplicaSets' pods."""
    owned_uids = [rs["metadata"].get("uid") for rs in c.list("apps", "replicasets", ns) if owned_by(rs, dep)]
    owning = {id(p) for uid in owned_uids for p in c.owned("", "pods", ns, uid)}
    pods = [p for p in list_pods(c, ns) if id(p) in owning and not p["metadata"].get("deletionTimestamp")
            for uid in owned_uids if uid in {r.get("uid") for r in p["metadata"].get("ownerReferences") or []}]
    ready = [p for p in pods if pod_ready(p)]
    updated = [p for p in pods if (p["metadata"].get("labels") or {}).get("pod-template-hash") == h]
    available = len(ready)
    old = dep.get("status", {}).get("conditions")
    min_ok = available >= replicas - _max_unavailable(dep, replicas)
    conds = [
        cond("Available", "True" if min_ok else "False",
             "MinimumReplicasAvailable" if min_ok else "MinimumReplicasUnavailable",
             "Deployment has minimum availability." if min_ok else "Deployment does not have minimum availability.",
             old=old),
        cond("Progressing", "True",
             "NewReplicaSetAvailable" if len(ready) >= replicas else "ReplicaSetUpdated",
             f'ReplicaSet "{rs_name}" has successfully progressed.' if len(ready) >= replicas
             else f'ReplicaSet "{rs_name}" is progressing.', old=old),
    ]
    for x in conds:
        x["lastUpdateTime"] = x["lastTransitionTime"]
    status = {"observedGeneration": dep["metadata"].get("generation", 1), "conditions": conds}
    for key, val in (("replicas", len(pods)), ("updatedReplicas", len(updated)), ("readyReplicas", len(ready)),
                     ("availableReplicas", available), ("unavailableReplicas", max(replicas - available, 0))):
        if val:
            status[key] = val
    set_status(c, dep, status)


def _new_pod(c: Cluster, owner: dict, template: dict, name: str, node: str | None = None) -> dict:
    meta = copy.deepcopy(template.get("metadata") or {})
    pod: dict[str, Any] = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": name, "namespace": owner["metadata"]["namespace"],
                        "labels": meta.get("labels") or {}, "ownerReferences": [owner_ref(owner)]},
           "spec": copy.deepcopy(template.get("spec") or {})}
    if meta.get("annotations"):
        pod["metadata"]["annotations"] = meta["annotations"]
    if owner["kind"] != "StatefulSet":
        pod["metadata"]["generateName"] = name[: name.rfind("-") + 1]
    if node:
        pod["spec"]["nodeName"] = node
    pod_defaults(pod)
    return pod


def pod_defaults(pod: dict) -> None:
    spec = pod.setdefault("spec", {})
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("serviceAccountName", spec.get("serviceAccount", "default"))
    spec.setdefault("serviceAccount", spec["serviceAccountName"])
    spec.setdefault("securityContext", {})
    spec.setdefault("enableServiceLinks", True)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
    spec.setdefault("priority", 0)
    tol = spec.setdefault("tolerations", [])
    for key in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"):
        if not any(t.get("key") == key for t in tol):
            tol.append({"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300})
    for ctr in spec.get("containers", []) or []:
        ctr.setdefault("imagePullPolicy", "Always" if ctr.get("image", "").endswith(":latest") or
                       ":" not in ctr.get("image", "").rsplit("/", 1)[-1] else "IfNotPresent")
        ctr.setdefault("terminationMessagePath", "/dev/termination-log")
        ctr.setdefault("terminationMessagePolicy", "File")
        ctr.setdefault("resources", {})
        res = ctr["resources"]
        if res.get("limits") and not res.get("requests"):
            res["requests"] = dict(res["limits"])
        for port in ctr.get("ports", []) or []:
            port.setdefault("protocol", "TCP")


def _suffix(c: Cluster, base: str, n: int = 5) -> str:
    return short_hash(f"{c.kube_id}/{base}/{c.rv}", n)


def replicasets(c: Cluster) -> None:
    for rs in c.list("apps", "replicasets"):
        ns = rs["metadata"]["namespace"]
        want = int(rs.get("spec", {}).get("replicas", 1))
        pods = c.owned("", "pods", ns, rs["metadata"].get("uid"))
        live = [p for p in pods if not terminal(p)]
        for p in pods:
            if terminal(p):
                delete_pod(c, p)
        while len(live) < want:
            name = f"{rs['metadata']['name']}-{_suffix(c, rs['metadata']['name'])}"
            live.append(c.write(_new_pod(c, rs, rs["spec"].get("template", {}), name)))
        if len(live) > want:
            for p in sorted(live, key=lambda p: (pod_ready(p), p["metadata"]["name"]))[: len(live) - want]:
                delete_pod(c, p)
            live = c.owned("", "pods", ns, rs["metadata"].get("uid"))
        ready = len([p for p in live if pod_ready(p)])
        status = {"replicas": len(live), "observedGeneration": rs["metadata"].get("generation", 1)}
        if live:
            status["fullyLabeledReplicas"] = len(live)
        if ready:
            status["readyReplicas"] = ready
            status["availableReplicas"] = ready
        set_status(c, rs, status)


def daemonsets(c: Cluster) -> None:
    nodes = c.list("", "nodes")
    for ds in c.list("apps", "daemonsets"):
        ns = ds["metadata"]["namespace"]
        template = ds.get("spec", {}).get("template", {})
        pspec = copy.deepcopy(template.get("spec") or {})
        tol = pspec.setdefault("tolerations", [])
        for key in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable", "node.kubernetes.io/disk-pressure",
                    "node.kubernetes.io/memory-pressure", "node.kubernetes.io/pid-pressure",
                    "node.kubernetes.io/unschedulable"):
            tol.append({"key": key, "operator": "Exists"})
        eligible = {n["metadata"]["name"] for n in nodes if node_eligible(pspec, n)[0]}
        pods = c.owned("", "pods", ns, ds["metadata"].get("uid"))
        by_node = {p["spec"].get("nodeName"): p for p in pods}
        for p in pods:
            if p["spec"].get("nodeName") not in eligible:
                delete_pod(c, p)
        h = _template_hash(template)
        for node in sorted(eligible):
            if node not in by_node:
                name = f"{ds['metadata']['name']}-{_suffix(c, ds['metadata']['name'] + node)}"
                tmpl = copy.deepcopy(template)
                tmpl.setdefault("metadata", {}).setdefault("labels", {})["controller-revision-hash"] = h[:10]
                tmpl["spec"]["tolerations"] = pspec["tolerations"]
                pod = _new_pod(c, ds, tmpl, name, node)
                pod["spec"]["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In",
                                                            "values": [node]}]}]}}}
                c.write(pod)
        pods = c.owned("", "pods", ns, ds["metadata"].get("uid"))
        ready = len([p for p in pods if pod_ready(p)])
        status = {"currentNumberScheduled": len(pods), "desiredNumberScheduled": len(eligible),
                  "numberMisscheduled": 0, "numberReady": ready,
                  "observedGeneration": ds["metadata"].get("generation", 1)}
        if ready:
            status["numberAvailable"] = ready
        if len(eligible) - ready:
            status["numberUnavailable"] = len(eligible) - ready
        if pods:
            status["updatedNumberScheduled"] = len(pods)
        set_status(c, ds, status)


def statefulsets(c: Cluster) -> None:
    for sts in c.list("apps", "statefulsets"):
        ns, name = sts["metadata"]["namespace"], sts["metadata"]["name"]
        want = int(sts.get("spec", {}).get("replicas", 1))
        pods = {p["metadata"]["name"]: p for p in c.owned("", "pods", ns, sts["metadata"].get("uid"))}
        rev = f"{name}-{_template_hash(sts['spec'].get('template', {}))}"
        for i in range(want):
            pname = f"{name}-{i}"
            if pname not in pods:
                tmpl = copy.deepcopy(sts["spec"].get("template", {}))
                labels = tmpl.setdefault("metadata", {}).setdefault("labels", {})
                labels.update({"statefulset.kubernetes.io/pod-name": pname, "apps.kubernetes.io/pod-index": str(i),
                               "controller-revision-hash": rev})
                pod = _new_pod(c, sts, tmpl, pname)
                pod["spec"].setdefault("hostname", pname)
                if sts["spec"].get("serviceName"):
                    pod["spec"].setdefault("subdomain", sts["spec"]["serviceName"])
                c.write(pod)
        for pname, p in pods.items():
            if not re.fullmatch(rf"{re.escape(name)}-(\d+)", pname) or int(pname.rsplit("-", 1)[1]) >= want:
                delete_pod(c, p)
        live = c.owned("", "pods", ns, sts["metadata"].get("uid"))
        ready = len([p for p in live if pod_ready(p)])
        status = {"replicas": len(live), "observedGeneration": sts["metadata"].get("generation", 1),
                  "currentRevision": rev, "updateRevision": rev, "collisionCount": 0}
        if live:
            status["currentReplicas"] = len(live)
            status["updatedReplicas"] = len(live)
        if ready:
            status["readyReplicas"] = ready
            status["availableReplicas"] = ready
        set_status(c, sts, status)


def jobs(c: Cluster) -> None:
    for job in c.list("batch", "jobs"):
        ns, name = job["metadata"]["namespace"], job["metadata"]["name"]
        spec = job.get("spec", {})
        pods = c.owned("", "pods", ns, job["metadata"].get("uid"))
        status = copy.deepcopy(job.get("status") or {})
        old = status.get("conditions")
        conds = [x for x in status.get("conditions", []) or [] if x.get("type") != "Suspended"]
        finished = any(x.get("type") in ("Complete", "Failed") and x.get("status") == "True" for x in conds)
        succeeded = len([p for p in pods if p.get("status", {}).get("phase") == "Succeeded"])
        failed = len([p for p in pods if p.get("status", {}).get("phase") == "Failed"])
        completions = spec.get("completions", 1)
        parallelism = spec.get("parallelism", 1)
        active = [p for p in pods if not terminal(p)]
        if spec.get("suspend"):
            for p in active:
                delete_pod(c, p)
            active = []
            conds.append(cond("Suspended", "True", "JobSuspended", "Job suspended", probe=True, old=old))
            status.pop("startTime", None)
        elif not finished:
            status.setdefault("startTime", now())
            remaining = (completions if completions is not None else 1) - succeeded
            want = max(min(parallelism, remaining), 0)
            tmpl = copy.deepcopy(spec.get("template", {}))
            labels = tmpl.setdefault("metadata", {}).setdefault("labels", {})
            uid = job["metadata"]["uid"]
            labels.update({"batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": name,
                           "controller-uid": uid, "job-name": name})
            while len(active) < want:
                pname = f"{name}-{_suffix(c, name)}"
                active.append(c.write(_new_pod(c, job, tmpl, pname)))
            if completions is not None and succeeded >= completions:
                ts = now()
                conds.append(cond("SuccessCriteriaMet", "True", "CompletionsReached", "Reached expected number of "
                                  "succeeded pods", probe=True, old=old))
                conds.append(cond("Complete", "True", "CompletionsReached", "Reached expected number of succeeded "
                                  "pods", probe=True, old=old))
                status["completionTime"] = ts
                active = []
            elif failed > spec.get("backoffLimit", 6):
                conds.append(cond("Failed", "True", "BackoffLimitExceeded", "Job has reached the specified backoff "
                                  "limit", probe=True, old=old))
        status["conditions"] = conds
        if not conds:
            status.pop("conditions")
        for key, val in (("active", len(active)), ("succeeded", succeeded), ("failed", failed)):
            if val:
                status[key] = val
            else:
                status.pop(key, None)
        status["ready"] = len([p for p in active if pod_ready(p)])
        status["terminating"] = 0
        status.setdefault("uncountedTerminatedPods", {})
        set_status(c, job, status)
