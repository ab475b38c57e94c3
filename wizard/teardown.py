"""Teardown: delete exactly what this wizard created, as the journal records it, and nothing else.

The journal is the authority on what was created: a resource group that existed before the first run, a
cluster someone else made, a preview flag, are never deleted. A resource group is deleted only if this
wizard created it and nothing but the cluster is in it. The steps run through the same engine as apply.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from wizard import durations
from wizard.engine import EXTRA_RUNNERS
from wizard.plan import Observed, Plan, Step
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

    @property
    def empty(self) -> bool:
        return not self.plan.steps


def _created(journal: "Journal") -> dict[str, dict[str, Any]]:
    """step id -> the latest done record that created it, unless a later teardown deleted it."""
    out: dict[str, dict[str, Any]] = {}
    for rec in journal.records():
        if rec["event"] == "done" and rec.get("created"):
            out[rec["step"]] = rec
        elif rec["event"] == "deleted":
            out.pop(rec.get("created_by", ""), None)
    return out


def plan_teardown(conn: "ArmConnection", answers: "Answers", journal: "Journal",
                  subscription: tuple[str, str]) -> TeardownPlan:
    from wizard.azure.clusters import get_cluster, get_pool
    from wizard.azure.groups import get_group

    rg, name = answers.resource_group.name, answers.cluster.name
    created = _created(journal)
    plan = Plan(answers, Observed(*subscription), None)
    out = TeardownPlan(plan)
    out.flags = sorted({r["flag"] for r in journal.records()
                        if r["event"] == "done" and r.get("registered") and r.get("flag")})

    group = get_group(conn, rg)
    cluster = get_cluster(conn, rg, name) if group is not None else None
    cluster_step = None
    if "cluster" in created and cluster is not None:
        cluster_step = Step("delete-cluster", f"delete cluster {name} (created {created['cluster']['ts']}, with "
                            f"its node pools and node resource group)", "update",
                            az("aks", "delete", "-g", rg, "-n", name, "--yes"), typical=durations.CLUSTER_CREATE,
                            payload={"created_by": "cluster"})
    elif cluster is not None:
        out.kept.append(f"cluster {name}: not created by this wizard")
    pool_name = answers.gpu_pool.name if answers.gpu_pool else None
    if "gpu-pool" in created and cluster is not None and pool_name and cluster_step is None:
        if get_pool(conn, rg, name, pool_name) is not None:
            plan.steps.append(Step("delete-pool", f"delete GPU pool {pool_name} (added by this wizard)", "update",
                                   az("aks", "nodepool", "delete", "-g", rg, "--cluster-name", name, "-n", pool_name),
                                   typical=durations.AGENT_POOL, payload={"created_by": "gpu-pool"}))
    if cluster_step:
        plan.steps.append(cluster_step)
    monitor = _monitor_created(journal, rg)
    after = ("delete-cluster",) if cluster_step else ()
    for kind, rid in monitor["delete"]:  # the rule first: it refers to the endpoint
        rname = rid.rsplit("/", 1)[-1]
        step = Step(f"delete-monitor:{kind}", f"delete {MONITOR_KINDS[kind]} {rname} (created for this cluster's "
                    "managed Prometheus)", "update",
                    az("monitor", "data-collection", kind, "delete", "-g", rg, "-n", rname, "--yes"), deps=after,
                    typical=durations.RESOURCE_GROUP, payload={"created_by": "monitor-workspace",
                                                               "resource_id": rid, "kind": kind})
        plan.steps.append(step)
        after = (step.id,)
    out.kept.extend(monitor["kept"])
    if group is not None:
        others = [r for r in _other_resources(conn, rg, name)
                  if r.split("/")[-1] not in {rid.rsplit("/", 1)[-1] for _, rid in monitor["delete"]}]
        if "resource-group" not in created:
            out.kept.append(f"resource group {rg}: it existed before this wizard")
        elif others or (cluster is not None and cluster_step is None):
            listing = ", ".join(others[:5]) + (" ..." if len(others) > 5 else "")
            out.kept.append(f"resource group {rg}: it holds other resources ({listing or 'the cluster'})")
        else:
            plan.steps.append(Step("delete-group", f"delete resource group {rg} (created by this wizard; empty "
                                   "once the cluster is gone)", "update", az("group", "delete", "-n", rg, "--yes"),
                                   deps=tuple(s.id for s in plan.steps), typical=durations.RESOURCE_GROUP * 30,
                                   payload={"created_by": "resource-group"}))
    return out


MONITOR_KINDS = {"rule": "data collection rule", "endpoint": "data collection endpoint"}


def _monitor_created(journal: "Journal", rg: str) -> dict[str, list[Any]]:
    """The data collection rule and endpoint a run created in the cluster's group (deleted with the cluster,
    rule first), and the Azure Monitor workspace it created (a shared default: kept, as az keeps it)."""
    out: dict[str, list[Any]] = {"delete": [], "kept": []}
    ids: list[str] = []
    for rec in journal.records():
        if rec["step"] == "monitor-workspace" and rec["event"] == "done":
            ids.extend(i for i in rec.get("created_ids") or [] if i not in ids)
        elif rec["event"] == "deleted" and rec.get("resource_id") in ids:
            ids.remove(rec["resource_id"])
    for rid in ids:
        low = rid.lower()
        in_group = f"/resourcegroups/{rg.lower()}/" in low
        if "/datacollectionrules/" in low and in_group:
            out["delete"].append(("rule", rid))
        elif "/datacollectionendpoints/" in low and in_group:
            out["delete"].append(("endpoint", rid))
        elif "/microsoft.monitor/accounts/" in low:
            out["kept"].append(f"Azure Monitor workspace {rid.rsplit('/', 1)[-1]}: shared by every cluster in the "
                               "region that sends metrics there (az aks delete keeps it too)")
    out["delete"].sort(key=lambda kr: kr[0] != "rule")  # the rule refers to the endpoint: rule first
    return out


def _other_resources(conn: "ArmConnection", rg: str, cluster: str) -> list[str]:
    names = []
    for res in conn.resources.resources.list_by_resource_group(rg):
        rtype = (res.type or "").lower()
        if rtype == "microsoft.containerservice/managedclusters" and (res.name or "").lower() == cluster.lower():
            continue
        names.append(f"{res.type}/{res.name}")
    return names


def teardown_text(td: TeardownPlan) -> str:
    lines = ["Teardown deletes:" if td.plan.steps else "Nothing to delete: the journal records nothing this "
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
def _delete(engine: "Engine", step: Step, started: float, begin: Any) -> dict[str, Any]:
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
        engine.journal.append(step.id, "deleted", created_by=step.payload["created_by"])
    return {"state": "Deleted", "message": step.title.replace("delete", "deleted", 1)}


def _run_delete_cluster(engine: "Engine", step: Step, started: float) -> dict[str, Any]:
    a = engine.answers
    return _delete(engine, step, started,
                   lambda: engine.conn.aks.managed_clusters.begin_delete(a.resource_group.name, a.cluster.name))


def _run_delete_pool(engine: "Engine", step: Step, started: float) -> dict[str, Any]:
    a = engine.answers
    assert a.gpu_pool is not None
    return _delete(engine, step, started, lambda: engine.conn.aks.agent_pools.begin_delete(
        a.resource_group.name, a.cluster.name, a.gpu_pool.name))


def _run_delete_group(engine: "Engine", step: Step, started: float) -> dict[str, Any]:
    a = engine.answers
    others = _other_resources(engine.conn, a.resource_group.name, a.cluster.name)
    if others:  # something appeared since the plan was shown: keep the group
        engine.emit("log", step, f"kept: {', '.join(others)} appeared in the group", started=started)
        return {"state": "Kept", "message": f"resource group {a.resource_group.name} kept: it is not empty"}
    return _delete(engine, step, started,
                   lambda: engine.conn.resources.resource_groups.begin_delete(a.resource_group.name))


def _run_delete_monitor(engine: "Engine", step: Step, started: float) -> dict[str, Any]:
    from wizard.azure.monitor import monitor_client

    parts = step.payload["resource_id"].split("/")
    rg, name = parts[4], parts[-1]
    client = monitor_client(engine.conn)
    if step.payload["kind"] == "rule":
        client.data_collection_rules.delete(rg, name)
    else:
        client.data_collection_endpoints.delete(rg, name)
    if engine.journal is not None:
        engine.journal.append(step.id, "deleted", created_by="monitor-workspace", resource_id=step.payload["resource_id"])
    return {"state": "Deleted", "message": step.title.replace("delete", "deleted", 1)}


EXTRA_RUNNERS.update({"delete-cluster": _run_delete_cluster, "delete-pool": _run_delete_pool,
                      "delete-group": _run_delete_group, "delete-monitor": _run_delete_monitor})
