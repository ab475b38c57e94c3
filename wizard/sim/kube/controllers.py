"""Small, synchronous controllers: run after every write until nothing changes.

They make objects look the way the real controllers leave them a moment later: Deployments -> ReplicaSets ->
Pods, DaemonSets, StatefulSets and Jobs -> Pods, a scheduler (selectors, affinity, taints, cpu/memory/GPU
fit), a kubelet (phase, conditions), Services -> Endpoints/EndpointSlices, CRD and APIService conditions,
the Istio Gateway API controller, the device plugin (nvidia.com/gpu on GPU nodes), and garbage collection;
Kueue (kueue.py, kueue_admission.py) and KEDA with the HPA controller (keda.py) once their controllers run.
"""

from __future__ import annotations

import copy
import json
import re
from decimal import Decimal

from . import names as N
from . import quantity as Q
from . import sizes
from .store import Cluster, now, short_hash

MAX_ROUNDS = 12


def reconcile(c: Cluster) -> None:
    for _ in range(MAX_ROUNDS):
        before = c.rv
        for fn in CONTROLLERS:
            fn(c)
        if c.rv == before:
            return


def cond(type_: str, status: str, reason: str = "", message: str = "", *, probe: bool = False, old=None) -> dict:
    out = {"type": type_, "status": status}
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


def _owned_by(obj: dict, owner: dict) -> bool:
    uid = owner["metadata"].get("uid")
    return any(r.get("uid") == uid for r in obj["metadata"].get("ownerReferences") or [])


def owner_ref(owner: dict, controller: bool = True) -> dict:
    return {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"], "controller": controller, "blockOwnerDeletion": True}


def _set_status(c: Cluster, obj: dict, status: dict) -> None:
    if obj.get("status") != status:
        new = copy.deepcopy(obj)
        new["status"] = status
        c.write(new)


def _pods(c: Cluster, ns: str | None = None) -> list[dict]:
    return c.list("", "pods", ns)


def _pod_ready(p: dict) -> bool:
    return p.get("status", {}).get("phase") == "Running" and any(
        x.get("type") == "Ready" and x.get("status") == "True" for x in p.get("status", {}).get("conditions", []))


def deployment_running(c: Cluster, ns: str, name: str) -> bool:
    """The Deployment exists and one of its pods is ready (its controller is running)."""
    from .patch import selector_matches
    dep = c.get("apps", "deployments", ns, name)
    if dep is None:
        return False
    sel = (dep.get("spec") or {}).get("selector") or {}
    return any(_pod_ready(p) and selector_matches(sel, p["metadata"].get("labels") or {}) for p in c.list("", "pods", ns))


def _terminal(p: dict) -> bool:
    return p.get("status", {}).get("phase") in ("Succeeded", "Failed")


# ------------------------------------------------------------------------------------------------------
# Namespaces, CRDs, APIServices

def namespaces(c: Cluster) -> None:
    for ns in c.list("", "namespaces"):
        name = ns["metadata"]["name"]
        if ns.get("status", {}).get("phase") != "Active":
            _set_status(c, ns, {"phase": "Active"})
        if c.get("", "serviceaccounts", name, "default") is None:
            c.write({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": name}})
        if c.get("", "configmaps", name, "kube-root-ca.crt") is None:
            c.write({"apiVersion": "v1", "kind": "ConfigMap",
                     "metadata": {"name": "kube-root-ca.crt", "namespace": name,
                                  "annotations": {"kubernetes.io/description": "Contains a CA bundle that can be used "
                                                  "to verify the kube-apiserver when using internal endpoints such as "
                                                  "the internal service IP or kubernetes.default.svc. No other usage "
                                                  "is guaranteed across distributions of Kubernetes clusters."}},
                     "data": {"ca.crt": SIM_CA_PEM}})


SIM_CA_PEM = ("-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUc2ltdWxhdGVkLWFrcy1jYTAKBggqhkjOPQQDAjAXMRUw\n"
              "EwYDVQQDDAxzaW11bGF0ZWQtY2EwHhcNMjUwMTAxMDAwMDAwWhcNMzUwMTAxMDAw\nMDAwWjAXMRUwEwYDVQQDDAxzaW11bGF0ZWQtY2Ew"
              "\n-----END CERTIFICATE-----\n")


def crds(c: Cluster) -> None:
    for crd in c.list("apiextensions.k8s.io", "customresourcedefinitions"):
        spec = crd.get("spec", {})
        names = dict(spec.get("names", {}))
        names.setdefault("singular", names.get("kind", "").lower())
        names.setdefault("listKind", names.get("kind", "") + "List")
        stored = sorted({v["name"] for v in spec.get("versions", []) if v.get("storage")} |
                        set(crd.get("status", {}).get("storedVersions", []) or []))
        old = crd.get("status", {}).get("conditions")
        status = {
            "acceptedNames": names,
            "conditions": [cond("NamesAccepted", "True", "NoConflicts", "no conflicts found", old=old),
                           cond("Established", "True", "InitialNamesAccepted", "the initial names have been accepted",
                                old=old)],
            "storedVersions": stored,
        }
        _set_status(c, crd, status)


def apiservice_autoregistration(c: Cluster) -> None:
    """Local APIServices for CRD group versions (kube-aggregator's autoregistration controller)."""
    wanted: dict[str, tuple[str, str]] = {}
    for crd in c.list("apiextensions.k8s.io", "customresourcedefinitions"):
        g = crd["spec"].get("group", "")
        for v in crd["spec"].get("versions", []):
            if v.get("served", True):
                wanted[f"{v['name']}.{g}"] = (g, v["name"])
    for svc in c.list("apiregistration.k8s.io", "apiservices"):
        labels = svc["metadata"].get("labels") or {}
        if labels.get("kube-aggregator.kubernetes.io/automanaged") == "true" and svc["metadata"]["name"] not in wanted:
            c.raw_delete("apiregistration.k8s.io", "apiservices", "", svc["metadata"]["name"])
            c.next_rv()
    for name, (g, v) in wanted.items():
        if c.get("apiregistration.k8s.io", "apiservices", "", name) is None:
            c.write({"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
                     "metadata": {"name": name, "labels": {"kube-aggregator.kubernetes.io/automanaged": "true"}},
                     "spec": {"group": g, "version": v, "groupPriorityMinimum": 1000, "versionPriority": 100}})


def apiservices(c: Cluster) -> None:
    for svc in c.list("apiregistration.k8s.io", "apiservices"):
        ref = svc.get("spec", {}).get("service")
        old = svc.get("status", {}).get("conditions")
        if not ref:
            cnd = cond("Available", "True", "Local", "Local APIServices are always available", old=old)
        else:
            ns, name = ref.get("namespace", ""), ref.get("name", "")
            backing = c.get("", "services", ns, name)
            if backing is None:
                cnd = cond("Available", "False", "ServiceNotFound", f'service/{name} in "{ns}" is not present', old=old)
            elif not _service_ready_pods(c, backing) and backing.get("spec", {}).get("selector"):
                cnd = cond("Available", "False", "MissingEndpoints",
                           f'endpoints for service/{name} in "{ns}" have no addresses with port name "https"', old=old)
            else:
                cnd = cond("Available", "True", "Passed", "all checks passed", old=old)
        _set_status(c, svc, {"conditions": [cnd]})


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
        ns, name = dep["metadata"]["namespace"], dep["metadata"]["name"]
        replicas = int(spec.get("replicas", 1))
        template = spec.get("template", {})
        h = _template_hash(template)
        rs_name = f"{name}-{h}"
        owned = [rs for rs in c.list("apps", "replicasets", ns) if _owned_by(rs, dep)]
        current = next((rs for rs in owned if rs["metadata"]["name"] == rs_name), None)
        revision = max([int((rs["metadata"].get("annotations") or {}).get("deployment.kubernetes.io/revision", 0))
                        for rs in owned] + [0])
        if current is None:
            revision += 1
        else:
            revision = int(current["metadata"].get("annotations", {}).get("deployment.kubernetes.io/revision", revision))
        tmpl = copy.deepcopy(template)
        tmpl.setdefault("metadata", {}).setdefault("labels", {})["pod-template-hash"] = h
        sel = copy.deepcopy(spec.get("selector") or {})
        sel.setdefault("matchLabels", {})["pod-template-hash"] = h
        want = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
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
        # status from the owned ReplicaSets' pods
        pods = [p for p in _pods(c, ns) for rs in c.list("apps", "replicasets", ns)
                if _owned_by(rs, dep) and _owned_by(p, rs) and not p["metadata"].get("deletionTimestamp")]
        ready = [p for p in pods if _pod_ready(p)]
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
        _set_status(c, dep, status)


def _new_pod(c: Cluster, owner: dict, template: dict, name: str, node: str | None = None) -> dict:
    meta = copy.deepcopy(template.get("metadata") or {})
    pod = {"apiVersion": "v1", "kind": "Pod",
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
        pods = [p for p in _pods(c, ns) if _owned_by(p, rs)]
        live = [p for p in pods if not _terminal(p)]
        for p in pods:
            if _terminal(p):
                _delete_pod(c, p)
        while len(live) < want:
            name = f"{rs['metadata']['name']}-{_suffix(c, rs['metadata']['name'])}"
            live.append(c.write(_new_pod(c, rs, rs["spec"].get("template", {}), name)))
        if len(live) > want:
            for p in sorted(live, key=lambda p: (_pod_ready(p), p["metadata"]["name"]))[: len(live) - want]:
                _delete_pod(c, p)
            live = [p for p in _pods(c, ns) if _owned_by(p, rs)]
        ready = len([p for p in live if _pod_ready(p)])
        status = {"replicas": len(live), "observedGeneration": rs["metadata"].get("generation", 1)}
        if live:
            status["fullyLabeledReplicas"] = len(live)
        if ready:
            status["readyReplicas"] = ready
            status["availableReplicas"] = ready
        _set_status(c, rs, status)


def _delete_pod(c: Cluster, pod: dict) -> None:
    ns, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
    c.raw_delete("", "pods", ns, name)
    c.next_rv()
    for key in [k for k in c.logs if k.startswith(f"{ns}/{name}/")]:
        del c.logs[key]
    for _node, slots in list(c.gpu_alloc.items()):
        for idx, owner in list(slots.items()):
            if owner.startswith(f"{ns}/{name}/"):
                del slots[idx]


def _node_eligible(pod_spec: dict, node: dict) -> tuple[bool, str]:
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
                if not (int(v) > int(values[0]) if op == "Gt" else int(v) < int(values[0])):
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
        eligible = {n["metadata"]["name"] for n in nodes if _node_eligible(pspec, n)[0]}
        pods = [p for p in _pods(c, ns) if _owned_by(p, ds)]
        by_node = {p["spec"].get("nodeName"): p for p in pods}
        for p in pods:
            if p["spec"].get("nodeName") not in eligible:
                _delete_pod(c, p)
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
        pods = [p for p in _pods(c, ns) if _owned_by(p, ds)]
        ready = len([p for p in pods if _pod_ready(p)])
        status = {"currentNumberScheduled": len(pods), "desiredNumberScheduled": len(eligible),
                  "numberMisscheduled": 0, "numberReady": ready,
                  "observedGeneration": ds["metadata"].get("generation", 1)}
        if ready:
            status["numberAvailable"] = ready
        if len(eligible) - ready:
            status["numberUnavailable"] = len(eligible) - ready
        if pods:
            status["updatedNumberScheduled"] = len(pods)
        _set_status(c, ds, status)


def statefulsets(c: Cluster) -> None:
    for sts in c.list("apps", "statefulsets"):
        ns, name = sts["metadata"]["namespace"], sts["metadata"]["name"]
        want = int(sts.get("spec", {}).get("replicas", 1))
        pods = {p["metadata"]["name"]: p for p in _pods(c, ns) if _owned_by(p, sts)}
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
                _delete_pod(c, p)
        live = [p for p in _pods(c, ns) if _owned_by(p, sts)]
        ready = len([p for p in live if _pod_ready(p)])
        status = {"replicas": len(live), "observedGeneration": sts["metadata"].get("generation", 1),
                  "currentRevision": rev, "updateRevision": rev, "collisionCount": 0}
        if live:
            status["currentReplicas"] = len(live)
            status["updatedReplicas"] = len(live)
        if ready:
            status["readyReplicas"] = ready
            status["availableReplicas"] = ready
        _set_status(c, sts, status)


def jobs(c: Cluster) -> None:
    for job in c.list("batch", "jobs"):
        ns, name = job["metadata"]["namespace"], job["metadata"]["name"]
        spec = job.get("spec", {})
        pods = [p for p in _pods(c, ns) if _owned_by(p, job)]
        status = copy.deepcopy(job.get("status") or {})
        old = status.get("conditions")
        conds = [x for x in status.get("conditions", []) or [] if x.get("type") != "Suspended"]
        finished = any(x.get("type") in ("Complete", "Failed") and x.get("status") == "True" for x in conds)
        succeeded = len([p for p in pods if p.get("status", {}).get("phase") == "Succeeded"])
        failed = len([p for p in pods if p.get("status", {}).get("phase") == "Failed"])
        completions = spec.get("completions", 1)
        parallelism = spec.get("parallelism", 1)
        active = [p for p in pods if not _terminal(p)]
        if spec.get("suspend"):
            for p in active:
                _delete_pod(c, p)
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
        status["ready"] = len([p for p in active if _pod_ready(p)])
        status["terminating"] = 0
        status.setdefault("uncountedTerminatedPods", {})
        _set_status(c, job, status)


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
    plugin_nodes = {p["spec"].get("nodeName") for p in _pods(c) if _is_device_plugin(p) and _pod_ready(p)}
    if c.degraded & {"no-gpus", "dra-only"}:  # no GPU on the VMs, or only the DRA driver publishes them
        plugin_nodes = set()
    for node in c.list("", "nodes"):
        size = sizes.lookup((node["metadata"].get("labels") or {}).get(N.LABEL_INSTANCE_TYPE))
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
            _set_status(c, node, status)


# ------------------------------------------------------------------------------------------------------
# Scheduler and kubelet

def _node_free(c: Cluster, node: dict, pods: list[dict]) -> dict[str, Decimal]:
    alloc = {k: Q.parse(v) for k, v in (node.get("status", {}).get("allocatable") or {}).items()}
    for p in pods:
        if p["spec"].get("nodeName") == node["metadata"]["name"] and not _terminal(p):
            for k, v in Q.pod_requests(p).items():
                alloc[k] = alloc.get(k, Decimal(0)) - v
    return alloc


def _node_ready(node: dict) -> bool:
    return any(x.get("type") == "Ready" and x.get("status") == "True"
               for x in node.get("status", {}).get("conditions", []) or [])


def _fits(req: dict[str, Decimal], free: dict[str, Decimal]) -> str:
    for k, v in sorted(req.items()):
        if v <= 0:
            continue
        if k in ("cpu", "memory", "pods", "ephemeral-storage") or "/" in k:
            if free.get(k, Decimal(0)) < v:
                return f"Insufficient {k}"
    return ""


def _usage(pods: list[dict]) -> dict[str, dict[str, Decimal]]:
    """node -> summed requests of its pods that are not finished (one pass, for the whole scheduling round)."""
    used: dict[str, dict[str, Decimal]] = {}
    for p in pods:
        node = p["spec"].get("nodeName")
        if node and not _terminal(p):
            into = used.setdefault(node, {})
            for k, v in Q.pod_requests(p).items():
                into[k] = into.get(k, Decimal(0)) + v
    return used


def scheduler(c: Cluster) -> None:
    nodes = [n for n in c.list("", "nodes")]
    all_pods = _pods(c)
    used = _usage(all_pods)
    for pod in all_pods:
        if pod["spec"].get("nodeName") or _terminal(pod) or pod["metadata"].get("deletionTimestamp"):
            continue
        if pod["spec"].get("schedulerName", "default-scheduler") != "default-scheduler":
            continue
        if pod["spec"].get("resourceClaims"):  # the DRA plugin allocates and binds (dra.py)
            continue
        if (pod["spec"].get("schedulingGates") or []):
            _set_status(c, pod, {"phase": "Pending", "conditions": [cond(
                "PodScheduled", "False", "SchedulingGated", "Scheduling is blocked due to non-empty scheduling gates",
                probe=True, old=pod.get("status", {}).get("conditions"))], "qosClass": _qos(pod)})
            continue
        req = Q.pod_requests(pod)
        reasons: dict[str, int] = {}
        best, best_free = None, None
        for node in nodes:
            if not _node_ready(node) or node.get("spec", {}).get("unschedulable"):
                reason = "node(s) were unschedulable" if node.get("spec", {}).get("unschedulable") else \
                    "node(s) had untolerated taint {node.kubernetes.io/not-ready: }"
                reasons[reason] = reasons.get(reason, 0) + 1
                continue
            ok, reason = _node_eligible(pod["spec"], node)
            if not ok:
                reasons[reason] = reasons.get(reason, 0) + 1
                continue
            alloc = {k: Q.parse(v) for k, v in (node.get("status", {}).get("allocatable") or {}).items()}
            taken = used.get(node["metadata"]["name"], {})
            free = {k: alloc.get(k, Decimal(0)) - taken.get(k, Decimal(0)) for k in set(alloc) | set(taken)}
            reason = _fits(req, free)
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
            _set_status(c, pod, {"phase": "Pending", "conditions": [cond(
                "PodScheduled", "False", "Unschedulable", msg, probe=True,
                old=pod.get("status", {}).get("conditions"))], "qosClass": _qos(pod)})
            continue
        bound = copy.deepcopy(pod)
        bound["spec"]["nodeName"] = best["metadata"]["name"]
        c.write(bound)
        into = used.setdefault(best["metadata"]["name"], {})
        for k, v in req.items():
            into[k] = into.get(k, Decimal(0)) + v


def _qos(pod: dict) -> str:
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
    for pod in _pods(c):
        node_name = pod["spec"].get("nodeName")
        if not node_name or _terminal(pod):
            continue
        node = nodes.get(node_name)
        if node is None:  # pod GC of pods bound to vanished nodes
            _delete_pod(c, pod)
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
            "startTime": started, "containerStatuses": statuses, "qosClass": _qos(pod),
        }
        if pod["spec"].get("hostNetwork"):
            status["podIP"], status["podIPs"] = ip, [{"ip": ip}]
        from .api import compute_log  # the output is fixed when the containers start
        for ctr in pod["spec"].get("containers", []) or []:
            key = f"{pod['metadata']['namespace']}/{pod['metadata']['name']}/{ctr['name']}"
            if key not in c.logs:
                c.logs[key] = compute_log(c, pod, ctr)
        _set_status(c, pod, status)


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
    live = {f"{p['metadata']['namespace']}/{p['metadata']['name']}" for p in _pods(c) if not _terminal(p)}
    for _node, slots in c.gpu_alloc.items():
        for idx, owner in list(slots.items()):
            if owner.rsplit("/", 1)[0] not in live:
                del slots[idx]


# ------------------------------------------------------------------------------------------------------
# Services

def _service_ready_pods(c: Cluster, svc: dict) -> list[dict]:
    sel = svc.get("spec", {}).get("selector")
    if not sel:
        return []
    return [p for p in _pods(c, svc["metadata"]["namespace"])
            if _pod_ready(p) and all((p["metadata"].get("labels") or {}).get(k) == v for k, v in sel.items())]


def _target_port(port: dict, pod: dict):
    tp = port.get("targetPort", port.get("port"))
    if isinstance(tp, str) and not tp.isdigit():
        for ctr in pod["spec"].get("containers", []) or []:
            for cp in ctr.get("ports", []) or []:
                if cp.get("name") == tp:
                    return cp.get("containerPort")
        return None
    return int(tp)


def services(c: Cluster) -> None:
    for svc in c.list("", "services"):
        ns, name = svc["metadata"]["namespace"], svc["metadata"]["name"]
        spec = svc.get("spec", {})
        if spec.get("type") != "ExternalName" and not spec.get("clusterIP"):
            new = copy.deepcopy(svc)
            ip = f"10.0.{c.ip_next // 250}.{c.ip_next % 250 + 1}"
            c.ip_next += 1
            new["spec"]["clusterIP"], new["spec"]["clusterIPs"] = ip, [ip]
            svc = c.write(new)
        if spec.get("type") == "LoadBalancer" and not (svc.get("status", {}).get("loadBalancer") or {}).get("ingress"):
            ip = f"20.{(c.lb_next // 250) % 250}.{c.lb_next % 250 + 1}.{(c.lb_next * 7) % 250 + 1}"
            c.lb_next += 1
            _set_status(c, svc, {"loadBalancer": {"ingress": [{"ip": ip, "ipMode": "VIP"}]}})
        if not spec.get("selector"):
            continue
        pods = _service_ready_pods(c, svc)
        ports = spec.get("ports", []) or []
        addresses = [{"ip": p["status"]["podIP"], "nodeName": p["spec"].get("nodeName"),
                      "targetRef": {"kind": "Pod", "name": p["metadata"]["name"], "namespace": ns,
                                    "uid": p["metadata"]["uid"]}} for p in pods]
        ep_ports = []
        for port in ports:
            tp = _target_port(port, pods[0]) if pods else None
            if tp is not None:
                ep = {"port": tp, "protocol": port.get("protocol", "TCP")}
                if port.get("name"):
                    ep["name"] = port["name"]
                ep_ports.append(ep)
        subsets = [{"addresses": addresses, "ports": ep_ports}] if addresses else []
        endpoints = {"apiVersion": "v1", "kind": "Endpoints",
                     "metadata": {"name": name, "namespace": ns, "labels": dict(svc["metadata"].get("labels") or {})}}
        if subsets:
            endpoints["subsets"] = subsets
        old_ep = c.get("", "endpoints", ns, name)
        if old_ep is None or {k: old_ep.get(k) for k in ("subsets",)} != {k: endpoints.get(k) for k in ("subsets",)}:
            c.write(endpoints)
        slice_name = next((s["metadata"]["name"] for s in c.list("discovery.k8s.io", "endpointslices", ns)
                           if _owned_by(s, svc)), f"{name}-{short_hash(svc['metadata']['uid'], 5)}")
        eps = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
               "metadata": {"name": slice_name, "namespace": ns, "generateName": f"{name}-",
                            "labels": {"kubernetes.io/service-name": name,
                                       "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"},
                            "ownerReferences": [owner_ref(svc)]},
               "addressType": "IPv4",
               "endpoints": [{"addresses": [a["ip"]], "conditions": {"ready": True, "serving": True,
                                                                     "terminating": False},
                              "nodeName": a["nodeName"], "targetRef": a["targetRef"]} for a in addresses],
               "ports": ep_ports or None}
        old = c.get("discovery.k8s.io", "endpointslices", ns, slice_name)
        if old is None or old.get("endpoints") != eps["endpoints"] or old.get("ports") != eps["ports"]:
            c.write(eps)


# ------------------------------------------------------------------------------------------------------
# Gateway API (Istio implementation)

GW = "gateway.networking.k8s.io"


def _istio_running(c: Cluster) -> bool:
    for ns in (N.ISTIO_SYSTEM_NS, "istio-system"):
        for dep in c.list("apps", "deployments", ns):
            if dep["metadata"]["name"].startswith("istiod") and (dep.get("status", {}).get("availableReplicas") or 0):
                return True
    return False


def _managed_class(c: Cluster, class_name: str) -> bool:
    gc = c.get(GW, "gatewayclasses", "", class_name)
    return bool(gc) and gc.get("spec", {}).get("controllerName") == N.ISTIO_GATEWAY_CONTROLLER and _istio_running(c)


def gateway_api(c: Cluster) -> None:
    if c.resource(GW, "v1", "gateways") is None:
        return
    running = _istio_running(c)
    for gc in c.list(GW, "gatewayclasses"):
        if gc.get("spec", {}).get("controllerName") != N.ISTIO_GATEWAY_CONTROLLER or not running:
            continue
        old = gc.get("status", {}).get("conditions")
        gen = gc["metadata"].get("generation", 1)
        _set_status(c, gc, {"conditions": [
            {**cond("Accepted", "True", "Accepted", "Handled by Istio controller", old=old), "observedGeneration": gen},
            {**cond("SupportedVersion", "True", "SupportedVersion", "", old=old), "observedGeneration": gen}]})
    routes = [(kind, r) for kind, plural in (("HTTPRoute", "httproutes"), ("GRPCRoute", "grpcroutes"))
              for r in (c.list(GW, plural) if c.resource(GW, "v1", plural) else [])]
    for gw in c.list(GW, "gateways"):
        ns, name = gw["metadata"]["namespace"], gw["metadata"]["name"]
        gen = gw["metadata"].get("generation", 1)
        old = gw.get("status", {}).get("conditions")
        if not _managed_class(c, gw.get("spec", {}).get("gatewayClassName", "")):
            if not gw.get("status"):
                _set_status(c, gw, {"conditions": [
                    {**cond("Accepted", "Unknown", "Pending", "Waiting for controller"), "observedGeneration": gen},
                    {**cond("Programmed", "Unknown", "Pending", "Waiting for controller"), "observedGeneration": gen}]})
            continue
        svc_name = f"{name}-istio"
        svc_type = (gw["metadata"].get("annotations") or {}).get("networking.istio.io/service-type", "LoadBalancer")
        labels = {"gateway.networking.k8s.io/gateway-name": name, "gateway.istio.io/managed": "istio.io-gateway-controller"}
        ports = [{"name": f"{lst.get('protocol', 'http').lower()}-{lst.get('port')}", "port": lst.get("port"),
                  "protocol": "TCP", "targetPort": lst.get("port")} for lst in gw.get("spec", {}).get("listeners", [])]
        if c.get("apps", "deployments", ns, svc_name) is None:
            c.write({"apiVersion": "apps/v1", "kind": "Deployment",
                     "metadata": {"name": svc_name, "namespace": ns, "labels": dict(labels),
                                  "ownerReferences": [owner_ref(gw)]},
                     "spec": {"replicas": 1, "selector": {"matchLabels": {"gateway.networking.k8s.io/gateway-name": name}},
                              "template": {"metadata": {"labels": dict(labels)}, "spec": {
                                  "containers": [{"name": "istio-proxy",
                                                  "image": "mcr.microsoft.com/oss/istio/proxyv2:1.26.3-distroless",
                                                  "resources": {"requests": {"cpu": "10m", "memory": "40Mi"}}}]}}}})
        if c.get("", "services", ns, svc_name) is None:
            c.write({"apiVersion": "v1", "kind": "Service",
                     "metadata": {"name": svc_name, "namespace": ns, "labels": dict(labels),
                                  "ownerReferences": [owner_ref(gw)]},
                     "spec": {"type": svc_type, "selector": {"gateway.networking.k8s.io/gateway-name": name},
                              "ports": ports or [{"name": "status-port", "port": 15021, "protocol": "TCP"}]}})
        svc = c.get("", "services", ns, svc_name)
        lb = ((svc.get("status", {}).get("loadBalancer") or {}).get("ingress") or [{}])[0].get("ip")
        address = lb or svc["spec"].get("clusterIP")
        if not address:
            continue
        listeners = []
        for lst in gw.get("spec", {}).get("listeners", []):
            attached = 0
            for _, r in routes:
                for pref in r.get("spec", {}).get("parentRefs", []) or []:
                    if pref.get("name") == name and pref.get("namespace", r["metadata"]["namespace"]) == ns and \
                            pref.get("sectionName") in (None, lst.get("name")):
                        attached += 1
            lold = next((x.get("conditions") for x in gw.get("status", {}).get("listeners", []) or []
                         if x.get("name") == lst.get("name")), None)
            listeners.append({"name": lst.get("name"), "attachedRoutes": attached,
                              "supportedKinds": [{"group": GW, "kind": "HTTPRoute"}, {"group": GW, "kind": "GRPCRoute"}],
                              "conditions": [{**cond(t, "True", t, "No errors found", old=lold),
                                              "observedGeneration": gen}
                                             for t in ("Accepted", "NoConflicts", "Programmed", "ResolvedRefs")]})
        status = {"addresses": [{"type": "IPAddress" if lb or svc_type != "ClusterIP" else "Hostname",
                                 "value": address if lb or svc_type != "ClusterIP" else
                                 f"{svc_name}.{ns}.svc.cluster.local"}],
                  "conditions": [{**cond("Accepted", "True", "Accepted", "Resource accepted", old=old),
                                  "observedGeneration": gen},
                                 {**cond("Programmed", "True", "Programmed",
                                         f"Resource programmed, assigned to service(s) {svc_name}.{ns}.svc.cluster.local"
                                         f":{ports[0]['port'] if ports else 80}", old=old),
                                  "observedGeneration": gen}],
                  "listeners": listeners}
        _set_status(c, gw, status)
    for kind, r in routes:
        _route_status(c, kind, r)


def _route_status(c: Cluster, kind: str, route: dict) -> None:
    ns = route["metadata"]["namespace"]
    gen = route["metadata"].get("generation", 1)
    missing, denied = [], []
    for rule in route.get("spec", {}).get("rules", []) or []:
        for b in rule.get("backendRefs", []) or []:
            if b.get("kind", "Service") != "Service" or b.get("group", "") not in ("", "core"):
                continue
            bns = b.get("namespace", ns)
            if c.get("", "services", bns, b.get("name")) is None:
                missing.append(f"{bns}/{b.get('name')}")
            elif bns != ns and not _reference_granted(c, kind, ns, bns, b.get("name")):
                denied.append(f"{bns}/{b.get('name')}")
    parents = []
    old_parents = route.get("status", {}).get("parents", []) or []
    for pref in route.get("spec", {}).get("parentRefs", []) or []:
        if pref.get("kind", "Gateway") != "Gateway":
            continue
        gw = c.get(GW, "gateways", pref.get("namespace", ns), pref.get("name"))
        if gw is None or not _managed_class(c, gw.get("spec", {}).get("gatewayClassName", "")):
            continue
        full_ref = {"group": GW, "kind": "Gateway", **{k: v for k, v in pref.items()}}
        old = next((p.get("conditions") for p in old_parents if p.get("parentRef", {}).get("name") == pref.get("name")),
                   None)
        if missing:
            resolved = cond("ResolvedRefs", "False", "BackendNotFound",
                            f"backend(s) not found: {', '.join(missing)}", old=old)
        elif denied:
            resolved = cond("ResolvedRefs", "False", "RefNotPermitted",
                            f"backendRef {', '.join(denied)} not accessible to a {kind} in namespace \"{ns}\" "
                            f"(missing a ReferenceGrant?)", old=old)
        else:
            resolved = cond("ResolvedRefs", "True", "ResolvedRefs", "All references resolved", old=old)
        parents.append({"parentRef": full_ref, "controllerName": N.ISTIO_GATEWAY_CONTROLLER,
                        "conditions": [{**cond("Accepted", "True", "Accepted", "Route was valid", old=old),
                                        "observedGeneration": gen}, {**resolved, "observedGeneration": gen}]})
    if parents or route.get("status"):
        _set_status(c, route, {"parents": parents})


def _reference_granted(c: Cluster, kind: str, from_ns: str, to_ns: str, name: str) -> bool:
    if c.resource(GW, "v1beta1", "referencegrants") is None:
        return False
    for grant in c.list(GW, "referencegrants", to_ns):
        spec = grant.get("spec", {})
        if any(f.get("kind") == kind and f.get("namespace") == from_ns for f in spec.get("from", []) or []) and \
                any(t.get("kind") == "Service" and t.get("name") in (None, name) for t in spec.get("to", []) or []):
            return True
    return False


# ------------------------------------------------------------------------------------------------------
# Garbage collection

def garbage_collect(c: Cluster) -> None:
    uids = {o["metadata"].get("uid") for _, _, o in c.all_objects()}
    for group, plural, obj in list(c.all_objects()):
        refs = obj["metadata"].get("ownerReferences") or []
        if refs and not any(r.get("uid") in uids for r in refs):
            if plural == "pods":
                _delete_pod(c, obj)
            else:
                c.raw_delete(group, plural, obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
                c.next_rv()


CONTROLLERS = [namespaces, crds, apiservice_autoregistration, deployments, replicasets, daemonsets, statefulsets,
               jobs, node_gpus, scheduler, kubelet, release_gpus, services, apiservices, gateway_api, garbage_collect]

# the NVIDIA DRA driver, the resource claim controller and the scheduler's DRA plugin (dra-only clusters): dra.py
from . import dra as _dra  # noqa: E402

CONTROLLERS.insert(CONTROLLERS.index(scheduler), _dra.controller)

# Kueue's controller manager (cert rotation, queue conditions) once an install runs it: see kueue.py
from . import kueue as _kueue  # noqa: E402 (after CONTROLLERS: kueue.py uses helpers defined above)

CONTROLLERS.append(_kueue.controller)

# Kueue's batch/job admission (all-or-nothing) and KEDA's ScaledObject -> HPA: see kueue_admission.py and keda.py
from . import keda as _keda, kueue_admission as _kueue_admission  # noqa: E402

CONTROLLERS += [_kueue_admission.controller, _keda.controller]

# the cluster autoscaler of the autoscaled pools and KAITO's workspace controller: see autoscaler.py, kaito.py
from . import autoscaler as _autoscaler, kaito as _kaito  # noqa: E402

CONTROLLERS += [_autoscaler.controller, _kaito.controller]
