"""cluster_autoscaling: read-only, the Azure view (the GPU pool's autoscaler bounds, node auto-provisioning, the managed
GPU conflict) and the autoscaler's status for that node group are only configuration: Partially Implemented. The
billable probe (asked for by name) proves it as the official TestAcceleratorClusterAutoscaling does: GPU pods fill
the pool, one more pends Unschedulable, the autoscaler adds a node of that pool and the pod runs there; once the
pods are gone the pool returns to its baseline size. Each wait is bounded (scale_up_timeout, scale_down_timeout)."""
from __future__ import annotations

from typing import Any

import functools
import re

from ..context import GPU, KS, Ctx, Out, Outcome, cond, quantity_int
from ..kube import KubeFailure
from ..probes import BUSYBOX, ProbeResult, ProbeRunner
from .base import Spec, probed, run_probe, summary
from wizard.gpu_rules import NO_AUTOSCALER, managed_gpu_conflict

AGENTPOOL = "kubernetes.azure.com/agentpool"


def _ca_status_groups(cm: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """node group name -> {health, minSize, maxSize} from cluster-autoscaler-status (YAML or legacy text)."""
    if not cm:
        return {}
    text = (cm.get("data") or {}).get("status") or ""
    groups: dict[str, dict[str, Any]] = {}
    try:
        import yaml
        doc = yaml.safe_load(text)
    except Exception:  # noqa: BLE001 - legacy text format
        doc = None
    if isinstance(doc, dict) and isinstance(doc.get("nodeGroups"), list):
        for g in doc["nodeGroups"]:
            if isinstance(g, dict) and g.get("name"):
                h = g.get("health") or {}
                groups[g["name"]] = {"health": h.get("status"), "minSize": h.get("minSize", g.get("minSize")),
                                     "maxSize": h.get("maxSize", g.get("maxSize"))}
        return groups
    import re
    for m in re.finditer(r"Name:\s+(\S+)\s+Health:\s+(\w+).*?minSize=(\d+),\s*maxSize=(\d+)", text, re.S):
        groups[m.group(1)] = {"health": m.group(2), "minSize": int(m.group(3)), "maxSize": int(m.group(4))}
    return groups


def _azure_view(ctx: Ctx, out: Out) -> bool:
    """The GPU pools' autoscaler settings as Azure reports them; True when one can scale."""
    az = ctx.az
    azure_ok = False
    if az is None:
        out.note("Azure view N/A (verified from a kubeconfig only): autoscaler bounds of the GPU pools not read; "
                 "run with -g/-n")
    else:
        gpu_pools = az.gpu_pools()

        if az.node_auto_provisioning:
            out.ev("Azure: nodeProvisioningProfile.mode = Auto (node auto-provisioning provisions GPU nodes on demand)")
            azure_ok = True
        if not gpu_pools and not az.node_auto_provisioning:
            out.problem("Azure: no GPU node pool (N-series) and node auto-provisioning off", ctx.fix.gpu_pool())
        not_scaling = []
        for p in gpu_pools:
            if managed_gpu_conflict(p.managed_gpu, p.autoscaling):
                out.problem(f"Azure: pool {p.name} uses managed GPU with the cluster autoscaler: {NO_AUTOSCALER}",
                            ctx.fix.managed_gpu_conflict(p.name))
            elif not p.autoscaling:
                not_scaling.append(p)
                out.note(f"Azure: GPU pool {p.name} ({p.vm_size}) has a fixed count ({p.count}), no autoscaler")
            elif p.min_count is None or p.max_count is None or p.min_count >= p.max_count:
                not_scaling.append(p)
                out.note(f"Azure: GPU pool {p.name} autoscaler bounds min {p.min_count} / max {p.max_count} cannot "
                         "scale (min must be < max)")
            else:
                out.ev(f"Azure: GPU pool {p.name} ({p.vm_size}) enableAutoScaling=true, min {p.min_count} < max "
                       f"{p.max_count}")
                azure_ok = True
        if gpu_pools and not azure_ok and not out.problems:
            p = not_scaling[0]
            if p.autoscaling:
                out.problem(f"Azure: GPU pool {p.name} autoscaler bounds min {p.min_count} / max {p.max_count} "
                            "cannot scale (min must be < max)", ctx.fix.autoscaler_bounds(p.name))
            elif p.managed_gpu:
                out.problem(f"Azure: no GPU pool can autoscale: {p.name} is a managed GPU pool with a fixed count "
                            f"({NO_AUTOSCALER})",
                            ctx.fix.managed_gpu_conflict(p.name))
            else:
                out.problem(f"Azure: GPU pool {p.name} ({p.vm_size}) has the cluster autoscaler disabled "
                            f"(fixed count {p.count})", ctx.fix.autoscaler(p.name))
    return azure_ok


def _kube_view(ctx: Ctx, out: Out, azure_ok: bool) -> bool:
    """The cluster autoscaler's own status of the GPU node groups; True when one is Healthy."""
    az = ctx.az
    kube_ok = False
    if ctx.kube is not None or ctx.kube_error is not None:
        try:
            cm = ctx.configmap(KS, "cluster-autoscaler-status")
            groups = _ca_status_groups(cm)
            gpu_nodes = ctx.gpu_vm_nodes()
            gpu_node_pools = sorted({(n["metadata"].get("labels") or {}).get("kubernetes.azure.com/agentpool", "")
                                     for n in gpu_nodes} - {""})
            if gpu_nodes:
                out.ev(f"GPU nodes: {len(gpu_nodes)} in pool(s) {', '.join(gpu_node_pools) or '?'}")
            names = [p.name for p in az.gpu_pools() if p.autoscaling] if az else gpu_node_pools
            if cm is None:
                msg = "ConfigMap kube-system/cluster-autoscaler-status not found (cluster autoscaler not running)"
                if az is None:
                    out.problem(msg, ctx.fix.autoscaler())
                elif azure_ok:
                    out.note(msg)
            else:
                matched = {g: v for g, v in groups.items() if any(f"-{n}-" in f"-{g}-" or g.startswith(f"aks-{n}-")
                                                                   for n in names)}
                if matched:
                    for gname, v in matched.items():
                        out.ev(f"cluster-autoscaler-status: node group {gname} health {v.get('health')}, "
                               f"minSize {v.get('minSize')}, maxSize {v.get('maxSize')}")
                        if str(v.get("health")) == "Healthy":
                            kube_ok = True
                        else:
                            out.problem(f"cluster autoscaler reports node group {gname} {v.get('health')}")
                elif names:
                    msg = (f"cluster-autoscaler-status lists no node group of the GPU pool(s) {', '.join(names)} "
                           f"(groups: {', '.join(groups) or 'none'})")
                    if az is None:
                        out.problem(msg, ctx.fix.autoscaler())
                    else:
                        out.note(msg)
                else:
                    out.ev(f"cluster-autoscaler-status present (groups: {', '.join(groups) or 'none'})")
                    if az is None:
                        out.problem("no GPU nodes found to tie an autoscaled node group to", ctx.fix.gpu_pool())
        except KubeFailure as exc:
            if az is None:
                out.undecided(f"not verified: {exc.describe()}", exc.fix() or None)
            else:
                out.note(f"Kubernetes view not read: {exc.describe()}")
    return kube_ok


def check(ctx: Ctx) -> Outcome:
    out = Out()
    az = ctx.az
    azure_ok = _azure_view(ctx, out)
    kube_ok = _kube_view(ctx, out, azure_ok)
    if out.problems:
        return Outcome("fail", summary(out, ""), out, "azure" if az else "read-only")
    if out.inconclusive:
        return Outcome("inconclusive", out.inconclusive[0], out, "read-only")
    configured = az is not None and azure_ok and (kube_ok or az.node_auto_provisioning)
    if configured and ctx.opts.probes and ctx.probes is not None:
        proven = run_probe(ctx, "cluster_autoscaling", out)
        if proven or out.problems or out.inconclusive:
            return probed(out, proven, "a pending GPU pod made the autoscaler add a node to the GPU pool, and the "
                                       "node was removed once the pods were gone", "")
    elif configured:
        out.note("scale-up/down not exercised: the probe creates a billable GPU node (10-30 minutes); run it with "
                 "--probes --billable-probe cluster_autoscaling")
    if configured:
        if ctx.fix.verify_billable("cluster_autoscaling") not in out.fixes:
            out.fixes.append(ctx.fix.verify_billable("cluster_autoscaling"))
        return Outcome("partial", "autoscaler configured on the GPU pool (min < max) and reporting it healthy "
                                  "(scaling not exercised)", out, "azure")
    if az is not None and azure_ok:
        return Outcome("partial", "autoscaler configured in Azure; its status for the GPU node group was not seen",
                       out, "azure")
    out.fixes.append("verify with -g <resource-group> -n <cluster> so that the autoscaler settings of the GPU pools "
                     "are read from Azure")
    return Outcome("partial", "autoscaler status shows a GPU node group; Azure view N/A", out, "read-only")


def _target_pool(r: ProbeRunner) -> tuple[str, int | None] | None:
    """(pool name, maxCount) of the first autoscaled GPU pool in the Azure view."""
    az = r.ctx.az
    for p in az.gpu_pools() if az else []:
        if p.autoscaling and p.min_count is not None and p.max_count is not None and p.min_count < p.max_count:
            return p.name, p.max_count
    return None


def _pool_nodes(r: ProbeRunner, pool: str) -> dict[str, dict[str, Any]]:
    nodes = r.get("/api/v1/nodes", {"labelSelector": f"{AGENTPOOL}={pool}"}).get("items") or []
    return {n["metadata"]["name"]: n for n in nodes if not (n.get("spec") or {}).get("unschedulable")
            and (cond(n, "Ready") or {}).get("status") == "True"}


def _free_gpus(r: ProbeRunner, nodes: dict[str, dict[str, Any]]) -> int:
    used = 0
    for p in r.get("/api/v1/pods", {"fieldSelector": "status.phase=Running"}).get("items") or []:
        if (p.get("spec") or {}).get("nodeName") in nodes:
            for c in p["spec"].get("containers") or []:
                used += quantity_int(((c.get("resources") or {}).get("limits") or {}).get(GPU))
    return sum(quantity_int(((n.get("status") or {}).get("allocatable") or {}).get(GPU)) for n in nodes.values()) - used


def _gpu_pod(r: ProbeRunner, name: str, pool: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": r.ns, "labels": {"app": "aicv-autoscale"}},
            "spec": {"restartPolicy": "Never", "terminationGracePeriodSeconds": 0, "nodeSelector": {AGENTPOOL: pool},
                     "tolerations": [{"operator": "Exists"}],
                     "containers": [{"name": "gpu", "image": BUSYBOX, "command": ["sh", "-c", "sleep infinity"],
                                     "resources": {"requests": {"cpu": "10m", "memory": "16Mi"},
                                                   "limits": {GPU: "1"}}}]}}


def _scale_up_refusal(r: ProbeRunner, pod: str) -> str | None:
    """The autoscaler's own word that it will not add a node for the pod (events FailedScaleUp /
    NotTriggerScaleUp): a decisive failure, unlike a slow scale-up."""
    events = r.get(f"/api/v1/namespaces/{r.ns}/events",
                   {"fieldSelector": f"involvedObject.name={pod}"}).get("items") or []
    for e in events:
        if e.get("reason") in ("FailedScaleUp", "NotTriggerScaleUp"):
            return f"{e['reason']}: {e.get('message', '')}"
    return None


def probe(r: ProbeRunner) -> ProbeResult:
    target = _target_pool(r)
    if target is None:
        return ProbeResult(None, "no autoscaled GPU pool in the Azure view")
    pool, max_count = target
    with r.gpu_lock:
        ns = r.namespace()
        baseline = _pool_nodes(r, pool)
        if not baseline:
            return ProbeResult.undecided(f"no Ready node in GPU pool {pool}")
        if max_count is not None and len(baseline) >= max_count:
            return ProbeResult.undecided(f"GPU pool {pool} is at its maximum ({len(baseline)}/{max_count} nodes): no "
                                         "room to scale up")
        free = _free_gpus(r, baseline)
        r.ev(f"baseline: GPU pool {pool} has {len(baseline)} Ready node(s) ({', '.join(sorted(baseline))}), "
             f"{free} free {GPU}; autoscaler max {max_count}")
        fillers = [f"aicv-fill-{i}" for i in range(max(free, 0))]
        for name in fillers:
            r.post(f"/api/v1/namespaces/{ns}/pods", _gpu_pod(r, name, pool))

        def running(name: str) -> dict[str, Any] | None:
            p = r.get(f"/api/v1/namespaces/{ns}/pods/{name}")
            return p if (p.get("status") or {}).get("phase") == "Running" else None

        for name in fillers:
            r.wait(f"baseline GPU pod {name} Running", functools.partial(running, name))
        r.post(f"/api/v1/namespaces/{ns}/pods", _gpu_pod(r, "aicv-trigger", pool))

        def pending() -> dict[str, Any] | None:
            p = r.get(f"/api/v1/namespaces/{ns}/pods/aicv-trigger")
            c = cond(p, "PodScheduled") or {}
            if (p.get("spec") or {}).get("nodeName"):
                return {"placed": p["spec"]["nodeName"]}
            return c if c.get("status") == "False" and c.get("reason") == "Unschedulable" else None

        seen = r.wait("trigger pod Unschedulable (or placed on a node the autoscaler added)", pending)
        if seen.get("placed") in baseline:
            return ProbeResult.undecided(f"the trigger pod found room on {seen['placed']} (the pool's capacity "
                                         "changed during the probe)")
        if "placed" not in seen:
            if not re.search(re.escape(GPU), seen.get("message", "")):
                return ProbeResult.undecided(f"the trigger pod pends for another reason: {seen.get('message', '')}")
            r.ev(f"trigger pod Unschedulable: {seen.get('message', '')[:160]}")

        def scaled() -> dict[str, str] | None:
            refusal = _scale_up_refusal(r, "aicv-trigger")
            if refusal:
                return {"refused": refusal}
            p = r.get(f"/api/v1/namespaces/{ns}/pods/aicv-trigger")
            node = (p.get("spec") or {}).get("nodeName")
            if node and node not in baseline and (p.get("status") or {}).get("phase") == "Running":
                return {"node": node}
            return None

        got = r.wait(f"a new node in pool {pool} running the trigger pod", scaled, r.opts.scale_up_timeout)
        if "refused" in got:
            r.sub("ScaleUp", False, got["refused"])
            return ProbeResult(False, f"the autoscaler did not add a node to {pool}: {got['refused']}",
                               fix=r.ctx.fix.autoscaler_quota(pool))
        new_node = got["node"]
        events = r.get(f"/api/v1/namespaces/{ns}/events", {"fieldSelector": "involvedObject.name=aicv-trigger"})
        triggered = [e.get("message", "") for e in events.get("items") or [] if e.get("reason") == "TriggeredScaleUp"]
        if triggered:
            r.ev(f"autoscaler event TriggeredScaleUp: {triggered[0][:160]}")
        r.sub("ScaleUp", True, f"node {new_node} added to {pool}")
        r.ev(f"scale-up: node {new_node} joined pool {pool} and runs the trigger pod")
        for name in fillers + ["aicv-trigger"]:
            r.delete(f"/api/v1/namespaces/{ns}/pods/{name}")

        def scaled_down() -> dict[str, dict[str, Any]] | None:
            nodes = _pool_nodes(r, pool)
            return nodes if new_node not in nodes and len(nodes) <= len(baseline) else None

        r.wait(f"pool {pool} back to {len(baseline)} node(s)", scaled_down, r.opts.scale_down_timeout)
        r.sub("ScaleDown", True, f"node {new_node} removed")
        r.ev(f"scale-down: node {new_node} removed; pool {pool} back to {len(baseline)} node(s)")
    return ProbeResult(True, "scaled up and down on pending GPU pods")


SPEC = Spec("cluster_autoscaling", check, probe, test="TestAcceleratorClusterAutoscaling", billable=True)
