"""Teardown: delete exactly what this wizard created for these answers, and nothing else.

Two witnesses must agree before anything is deleted: the journal (an intent record is written before each
first write, so ownership survives failed creates, dropped connections and interrupted runs) and the
provenance tags on the resource itself (wizard.provenance). A resource whose tags say it is not ours stays.
`--from-tags` rebuilds the list from the tags alone when the journal is lost or damaged.

A resource group that existed before the first run, a cluster someone else made, a preview flag, are never
deleted. A resource group is deleted only if this wizard created it and nothing but what it deletes is in
it. Azure Monitor objects are deleted only when nothing else uses them (another cluster's association,
another rule's endpoint). The steps run through the same engine as apply.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from wizard import durations
from wizard.arm_ids import cluster_id
from wizard.addons.monitor_steps import STEP_IDS as MONITOR_STEPS
from wizard.azure.clusters import get_cluster, get_pool
from wizard.azure.groups import get_group
from wizard.azure.roles import run_delete_access, teardown_steps
from wizard.plan_model import Deletion, Observed, Plan, Step, check_steps
from wizard.provenance import verdict
from wizard.spec import az

if TYPE_CHECKING:
    from wizard.answers import Answers
    from wizard.azure.connection import ArmConnection
    from wizard.engine import Engine
    from wizard.journal import Journal


@dataclass
class TeardownPlan:
    plan: Plan
    kept: list[str] = field(default_factory=list)  # what stays, and why
    flags: list[str] = field(default_factory=list)  # preview flags a run registered (never unregistered)
    source: str = "journal"  # where the list of what this wizard created came from: journal | tags

    @property
    def empty(self) -> bool:
        return not self.plan.steps


@dataclass
class Owned:
    """What this wizard created for these answers: step ids (cluster, gpu-pool, resource-group) -> since when,
    and the Azure Monitor objects by resource id."""

    steps: dict[str, str] = field(default_factory=dict)
    monitor: list[str] = field(default_factory=list)


OWNS = ("intent", "operation", "done")  # records that claim the resource (the first is written before the write)


def owned_from_journal(journal: "Journal") -> Owned:
    """Ownership follows the first write's intent: an intent record (written before the write), an accepted
    operation that creates, or a created step, until a teardown records the deletion. A failed first create
    that a re-run completed, a dropped connection, or an operation a re-run found already finished stay ours."""
    out = Owned()
    for rec in journal.records():
        step, event = rec["step"], rec["event"]
        claims = (event == "intent" and rec.get("creates")) or (event == "operation" and rec.get("creates")) or \
                 (event == "done" and rec.get("created"))
        if step in MONITOR_STEPS:  # each records the Azure Monitor objects it created by id
            ids = ([rec["resource_id"]] if event == "intent" and rec.get("resource_id") else
                   rec.get("created_ids") or [] if event == "done" else [])
            out.monitor.extend(i for i in ids if isinstance(i, str) and i not in out.monitor)
        elif claims:
            out.steps.setdefault(step, str(rec.get("ts", "")))
        if event == "deleted":
            if rec.get("resource_id") in out.monitor:
                out.monitor.remove(rec["resource_id"])
            elif not rec.get("resource_id"):
                out.steps.pop(str(rec.get("created_by", "")), None)
    return out


def owned_from_tags(conn: "ArmConnection", answers: "Answers", identity: str, group: Any, cluster: Any) -> Owned:
    """The journal is lost or damaged: what Azure's provenance tags say this wizard created from these answers."""
    out = Owned()
    rg = answers.resource_group.name
    if group is not None and verdict(group.tags, identity).ours:
        out.steps["resource-group"] = "tags"
    if cluster is not None and verdict(cluster.tags, identity).ours:
        out.steps["cluster"] = "tags"
    from wizard.plan_model import gpu_pool_steps

    for step_id, gp, _ in gpu_pool_steps(answers) if cluster is not None else []:
        pool = get_pool(conn, rg, answers.cluster.name, gp.name)
        if pool is not None and verdict(pool.tags, identity).ours:
            out.steps[step_id] = "tags"
    if group is not None:
        for res in conn.resources.resources.list_by_resource_group(rg):
            if (res.type or "").lower() in MONITOR_TYPES and verdict(res.tags, identity).ours and res.id:
                out.monitor.append(res.id)
    return out


def plan_teardown(conn: "ArmConnection", answers: "Answers", journal: "Journal",
                  subscription: tuple[str, str], from_tags: bool = False,
                  shared_group: bool = False) -> TeardownPlan:
    """What to delete for these answers and what stays (why). shared_group: the resource group is not this
    journal's to decide (a fleet's shared group, decided once after every member: wizard/fleet_teardown.py)."""
    rg, name = answers.resource_group.name, answers.cluster.name
    identity = journal.identity(answers)
    plan = Plan(answers, Observed(*subscription), None)
    out = TeardownPlan(plan, source="tags" if from_tags else "journal")
    group = get_group(conn, rg)
    cluster = get_cluster(conn, rg, name) if group is not None else None
    if from_tags:
        owned = owned_from_tags(conn, answers, identity, group, cluster)
    else:
        owned = owned_from_journal(journal)
        out.flags = sorted({r["flag"] for r in journal.records()
                            if r["event"] == "done" and r.get("registered") and r.get("flag")})

    def confirmed(what: str, resource: Any) -> bool:
        """Ours by the journal, and the resource's tags agree (a resource whose tags say otherwise stays)."""
        v = verdict(resource.tags, identity)
        if not v.ours:
            out.kept.append(f"{what}: the journal says this wizard created it, but {v.said}; not deleted")
        return v.ours

    cluster_step = _cluster_step(rg, name, cluster, owned, confirmed, out.kept, identity)
    if cluster is not None and cluster_step is None:
        plan.steps += _pool_steps(conn, answers, owned, confirmed, identity)
    access = teardown_steps(conn, journal, answers, identity, from_tags)  # role assignments it granted: first
    plan.steps.extend(access.steps)
    out.kept.extend(access.kept)
    if cluster_step:
        cluster_step.deps += tuple(s.id for s in access.steps)
        plan.steps.append(cluster_step)
    monitor = _monitor_steps(conn, owned.monitor, identity, cluster_id(subscription[0], rg, name),
                             cluster is not None and cluster_step is None, ("delete-cluster",) if cluster_step else ())
    plan.steps.extend(monitor["delete"])
    out.kept.extend(monitor["kept"])
    if group is not None and not shared_group:
        deleting = {s.payload.resource_id.lower() for s in monitor["delete"] if s.payload.resource_id}
        step, why = group_step(conn, rg, group, "resource-group" in owned.steps, confirmed, deleting, {name},
                               tuple(s.id for s in plan.steps), cluster is not None and cluster_step is None, identity)
        if step is not None:
            plan.steps.append(step)
        out.kept.extend([why] if why else [])
    check_steps(plan.steps)
    return out


def _cluster_step(rg: str, name: str, cluster: Any, owned: Owned, confirmed: Callable[[str, Any], bool],
                  kept: list[str], identity: str) -> Step | None:
    """The step deleting the cluster (with its pools and node resource group) when this wizard created it."""
    if cluster is not None and "cluster" in owned.steps and confirmed(f"cluster {name}", cluster):
        since = owned.steps["cluster"]
        when = "tagged as created" if since == "tags" else f"created {since}"
        return Step("delete-cluster", f"delete cluster {name} ({when} by this wizard, with its node pools "
                    "and node resource group)", "update",
                    az("aks", "delete", "-g", rg, "-n", name, "--yes"), typical=durations.CLUSTER_CREATE,
                    payload=Deletion("cluster", identity, rg, name))
    if cluster is not None and "cluster" not in owned.steps:
        kept.append(f"cluster {name}: not created by this wizard")
    return None


def _pool_steps(conn: "ArmConnection", answers: "Answers", owned: Owned,
                confirmed: Callable[[str, Any], bool], identity: str) -> list[Step]:
    """A cluster that stays loses the GPU pools this wizard added to it."""
    from wizard.plan_model import gpu_pool_steps, pool_suffix

    rg, name = answers.resource_group.name, answers.cluster.name
    steps = []
    for step_id, gp, _ in gpu_pool_steps(answers):
        if step_id not in owned.steps:
            continue
        pool = get_pool(conn, rg, name, gp.name)
        if pool is not None and confirmed(f"GPU pool {gp.name}", pool):
            steps.append(Step("delete-pool" + pool_suffix(step_id),
                              f"delete GPU pool {gp.name} (added by this wizard)", "update",
                              az("aks", "nodepool", "delete", "-g", rg, "--cluster-name", name, "-n", gp.name),
                              typical=durations.AGENT_POOL,
                              payload=Deletion(step_id, identity, rg, name, gp.name)))
    return steps


def group_step(conn: "ArmConnection", rg: str, group: Any, owned: bool, confirmed: Callable[[str, Any], bool],
               deleting: set[str], clusters: set[str], after: tuple[str, ...], cluster_stays: bool,
               identity: str) -> tuple[Step | None, str | None]:
    """The step deleting resource group rg, or why it stays: only when this wizard created it, its tags agree,
    and nothing is in it but what the other steps delete (`deleting`: resource ids; `clusters`: the clusters
    deleted, by name). `identity`: the tags its runner confirms again just before the DELETE."""
    others = [r for rid, r in _other_resources(conn, rg, clusters) if rid.lower() not in deleting]
    if not owned:
        return None, f"resource group {rg}: it existed before this wizard"
    if others or cluster_stays:
        listing = ", ".join(others[:5]) + (" ..." if len(others) > 5 else "")
        return None, f"resource group {rg}: it holds other resources ({listing or 'the cluster'})"
    if not confirmed(f"resource group {rg}", group):
        return None, None
    return Step("delete-group", f"delete resource group {rg} (created by this wizard; empty once "
                + ("the cluster is" if len(clusters) == 1 else f"{len(clusters)} clusters are") + " gone)",
                "update", az("group", "delete", "-n", rg, "--yes"), deps=after,
                typical=durations.RESOURCE_GROUP * 30,
                payload=Deletion("resource-group", identity, rg, besides=tuple(sorted(clusters)))), None


MONITOR_KINDS = {"rule": "data collection rule", "endpoint": "data collection endpoint",
                 "association": "data collection rule association"}
CREATED_BY = {"rule": "monitor-dcr", "endpoint": "monitor-dce"}  # the apply step that creates each kind
MONITOR_TYPES = {"microsoft.insights/datacollectionrules": "rule",
                 "microsoft.insights/datacollectionendpoints": "endpoint"}


def _monitor_steps(conn: "ArmConnection", ids: list[str], identity: str, cluster_id: str, cluster_stays: bool,
                   after: tuple[str, ...]) -> dict[str, list[Any]]:
    """Steps deleting the data collection rules and endpoints this wizard created for this cluster: each one only
    when its tags confirm it and nothing else uses it (a rule associated with another resource, an endpoint another
    rule sends through, stay). The rule's association with a cluster that stays goes first, then rules, then
    endpoints. The Azure Monitor workspace (a shared default) is kept, as az keeps it."""
    out: dict[str, list[Any]] = {"delete": [], "kept": []}
    client = conn.monitor_for()
    rules, endpoints = _confirmed_monitor(client, ids, identity, out["kept"])
    steps: list[Step] = []
    deleted_rules = _rule_steps(client, rules, cluster_id, cluster_stays, after, steps, out["kept"])
    for rid, endpoint in endpoints:
        ename = rid.split("/")[-1]
        users = [str(r.name) for r in client.data_collection_rules.list_by_subscription()  # a rule anywhere may use it
                 if str(r.data_collection_endpoint_id or "").lower() == str(endpoint.id or rid).lower()
                 and str(r.id or "").lower() not in deleted_rules]
        if users:
            out["kept"].append(f"{MONITOR_KINDS['endpoint']} {ename}: data collection rule {', '.join(users)} sends "
                               "through it; not deleted")
            continue
        steps.append(_monitor_step("endpoint", rid, tuple(s.id for s in steps) or after))
    out["delete"] = steps
    return out


def _confirmed_monitor(client: Any, ids: list[str], identity: str,
                       kept: list[str]) -> tuple[list[tuple[str, Any]], list[tuple[str, Any]]]:
    """(rules, endpoints) among the journal's monitor resources that still exist and whose tags say they are ours;
    the workspace and what the tags disown go to `kept`, with why."""
    rules: list[tuple[str, Any]] = []
    endpoints: list[tuple[str, Any]] = []
    for rid in ids:
        low = rid.lower()
        parts = rid.split("/")
        if "/microsoft.monitor/accounts/" in low:
            kept.append(f"Azure Monitor workspace {parts[-1]}: shared by every cluster in the region that "
                        "sends metrics there (az aks delete keeps it too)")
            continue
        kind = next((k for t, k in MONITOR_TYPES.items() if f"/{t}/" in low), None)
        if kind is None or len(parts) != 9:
            continue
        ops = client.data_collection_rules if kind == "rule" else client.data_collection_endpoints
        res = _get(lambda ops=ops, parts=parts: ops.get(parts[4], parts[-1]))
        if res is None:
            continue  # already gone
        v = verdict(res.tags, identity)
        if not v.ours:
            kept.append(f"{MONITOR_KINDS[kind]} {parts[-1]}: {v.said}; not deleted")
            continue
        (rules if kind == "rule" else endpoints).append((rid, res))
    return rules, endpoints


def _rule_steps(client: Any, rules: list[tuple[str, Any]], cluster_id: str, cluster_stays: bool,
                after: tuple[str, ...], steps: list[Step], kept: list[str]) -> set[str]:
    """Append the steps deleting the rules only this cluster uses (after its associations, when it stays);
    returns the ids of the rules deleted."""
    deleted_rules = set()
    for rid, rule in rules:
        rg, rname = rid.split("/")[4], rid.split("/")[-1]
        uses = list(client.data_collection_rule_associations.list_by_rule(rg, rname))
        foreign = [a for a in uses if not str(a.id or "").lower().startswith(cluster_id.lower() + "/")]
        if foreign:
            targets = ", ".join(sorted({str(a.id).split("/providers/Microsoft.Insights/")[0].rsplit("/", 1)[-1]
                                        for a in foreign}))
            kept.append(f"{MONITOR_KINDS['rule']} {rname}: still associated with {targets}; not deleted")
            continue
        for assoc in uses if cluster_stays else []:  # the cluster stays: its association with our rule goes first
            steps.append(Step(f"delete-monitor:association:{assoc.name}", f"delete {MONITOR_KINDS['association']} "
                              f"{assoc.name} of the cluster", "update",
                              az("monitor", "data-collection", "rule", "association", "delete", "--name", assoc.name,
                                 "--resource", cluster_id, "--yes"), deps=after, typical=durations.RESOURCE_GROUP,
                              payload=Deletion(kind="association", resource_uri=cluster_id, name=str(assoc.name))))
        steps.append(_monitor_step("rule", rid, tuple(s.id for s in steps) or after))
        deleted_rules.add(str(rule.id or rid).lower())
    return deleted_rules


def _monitor_step(kind: str, rid: str, deps: tuple[str, ...]) -> Step:
    rg, rname = rid.split("/")[4], rid.split("/")[-1]
    return Step(f"delete-monitor:{kind}:{rname}", f"delete {MONITOR_KINDS[kind]} {rname} (created for this "
                "cluster's managed Prometheus)", "update",
                az("monitor", "data-collection", kind, "delete", "-g", rg, "-n", rname, "--yes"), deps=deps,
                typical=durations.RESOURCE_GROUP, payload=Deletion(CREATED_BY[kind], resource_id=rid, kind=kind))


def _get(read: Any) -> Any:
    from azure.core.exceptions import ResourceNotFoundError

    try:
        return read()
    except ResourceNotFoundError:
        return None


def _other_resources(conn: "ArmConnection", rg: str, clusters: set[str]) -> list[tuple[str, str]]:
    """(resource id, type/name) of every resource in the group but these clusters."""
    out = []
    names = {c.lower() for c in clusters}
    for res in conn.resources.resources.list_by_resource_group(rg):
        rtype = (res.type or "").lower()
        if rtype == "microsoft.containerservice/managedclusters" and (res.name or "").lower() in names:
            continue
        out.append((res.id or "", f"{res.type}/{res.name}"))
    return out


def teardown_text(td: TeardownPlan) -> str:
    witness = "the journal records" if td.source == "journal" else "Azure's provenance tags show"
    lines = ["Teardown deletes:" if td.plan.steps else f"Nothing to delete: {witness} nothing this "
             "wizard created that still exists."]
    for s in td.plan.steps:
        lines.append(f"  - {s.title}")
        lines.append(f"      $ {s.az}")
    for k in td.kept:
        lines.append(f"  keeps {k}")
    if td.flags:
        lines.append("Preview features this wizard registered stay registered (other clusters may rely on them): "
                     + ", ".join(td.flags))
        lines.extend(f"  to unregister yourself: az feature unregister --namespace {f.split('/')[0]} "
                     f"--name {f.split('/')[1]}" for f in td.flags)
    return "\n".join(lines)


def teardown_doc(td: TeardownPlan) -> dict[str, Any]:
    """The `teardown-plan` JSON document: what is deleted (with its az equivalent), what stays and why."""
    return {"deletes": [{"id": s.id, "title": s.title, "az": s.az} for s in td.plan.steps], "kept": td.kept,
            "flags": td.flags}


# ------------------------------------------------------------------------------------------------ runners
def _delete(engine: "Engine", step: Step, started: float, begin: Any, read: Any) -> dict[str, Any]:
    """Delete, once the resource's tags, read again just before the DELETE, still say it is ours (they may have
    changed since the list was confirmed)."""
    resource = read()
    if resource is None:
        return {"state": "Gone", "message": step.title.replace("delete", "already gone:", 1)}
    if engine.journal is not None:
        v = verdict(resource.tags, step.payload.identity)
        if not v.ours:
            engine.emit("log", step, f"kept: {v.said}", started=started)
            return {"state": "Kept", "message": step.title.replace("delete", "kept", 1) + f": {v.said}"}
    poller = begin()
    last = None
    while not poller.done():
        status = poller.status()
        if status != last:
            engine.emit("progress", step, f"Azure reports the deletion {status}", status=status, started=started)
            last = status
        engine.sleep(engine.options.tick)
    poller.result()
    if engine.journal is not None:
        engine.journal.append(step.id, "deleted", created_by=step.payload.created_by)
    return {"state": "Deleted", "message": step.title.replace("delete", "deleted", 1)}


def _run_delete_cluster(engine: "Engine", step: Step, started: float) -> dict[str, Any]:
    rg, name = step.payload.resource_group, step.payload.cluster
    return _delete(engine, step, started, lambda: engine.conn.aks.managed_clusters.begin_delete(rg, name),
                   lambda: get_cluster(engine.conn, rg, name))


def _run_delete_pool(engine: "Engine", step: Step, started: float) -> dict[str, Any]:
    p: Deletion = step.payload
    rg, name, pool = p.resource_group, p.cluster, p.pool
    return _delete(engine, step, started, lambda: engine.conn.aks.agent_pools.begin_delete(rg, name, pool),
                   lambda: get_pool(engine.conn, rg, name, pool))


def _run_delete_group(engine: "Engine", step: Step, started: float) -> dict[str, Any]:
    rg = step.payload.resource_group
    # the clusters deleted before (the resource list may still show them for a moment)
    besides = set(step.payload.besides)
    others = [what for _, what in _other_resources(engine.conn, rg, besides)]
    if others:  # something appeared since the plan was shown: keep the group
        engine.emit("log", step, f"kept: {', '.join(others)} appeared in the group", started=started)
        return {"state": "Kept", "message": f"resource group {rg} kept: it is not empty"}
    return _delete(engine, step, started, lambda: engine.conn.resources.resource_groups.begin_delete(rg),
                   lambda: get_group(engine.conn, rg))


def _run_delete_monitor(engine: "Engine", step: Step, started: float) -> dict[str, Any]:
    p: Deletion = step.payload
    client = engine.conn.monitor_for()
    if p.kind == "association":
        client.data_collection_rule_associations.delete(p.resource_uri, p.name)
        return {"state": "Deleted", "message": step.title.replace("delete", "deleted", 1)}
    parts = p.resource_id.split("/")
    rg, name = parts[4], parts[-1]
    if p.kind == "rule":
        client.data_collection_rules.delete(rg, name)
    else:
        client.data_collection_endpoints.delete(rg, name)
    if engine.journal is not None:
        engine.journal.append(step.id, "deleted", created_by=p.created_by, resource_id=p.resource_id)
    return {"state": "Deleted", "message": step.title.replace("delete", "deleted", 1)}


# handed to the engine through wizard.runners.runners()
TEARDOWN_RUNNERS: dict[str, Callable[["Engine", Step, float], dict[str, Any]]] = {
    "delete-cluster": _run_delete_cluster, "delete-pool": _run_delete_pool, "delete-group": _run_delete_group,
    "delete-monitor": _run_delete_monitor, "delete-access": run_delete_access}
