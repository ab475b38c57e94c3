"""Managed Prometheus as plan steps the journal sees one by one (what `az aks create|update
--enable-azure-monitor-metrics` does besides the cluster PUT):

    monitor-providers -> monitor-workspace -> monitor-dce -> monitor-dcr -> monitor-dcra

Every name and region is fixed when the plan is built (wizard.azure.monitor.names_for, from where the plan saw that
Microsoft.Monitor offers workspaces, or the given workspace's region), so each step replays from its payload
alone. The Azure work itself is wizard.azure.monitor's; this module plans it, checks it in place and runs it.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from wizard.answers import Answers
    from wizard.azure.monitor import MonitorNames
    from wizard.engine import Engine
    from wizard.plan_model import Action, Plan, Step

PROVIDERS, WORKSPACE = "monitor-providers", "monitor-workspace"
PART_STEPS = {"monitor-dce": "dce", "monitor-dcr": "dcr", "monitor-dcra": "dcra"}  # step id -> monitor.PARTS key
TYPICAL = {PROVIDERS: 20.0, WORKSPACE: 15.0, "monitor-dce": 4.0, "monitor-dcr": 3.0, "monitor-dcra": 3.0}
STEP_IDS = tuple(TYPICAL)


@dataclass(frozen=True)
class ProviderInputs:
    """monitor-providers: (subscription, resource providers) to have Registered, and the shared wait's bound."""

    registrations: tuple[tuple[str, tuple[str, ...]], ...]


@dataclass(frozen=True)
class MonitorInputs:
    """monitor-workspace, -dce, -dcr, -dcra: the names and places of the wiring, and the tags (with the plan's
    provenance) that what they create carries."""

    names: "MonitorNames"
    tags: tuple[tuple[str, str], ...]


# ------------------------------------------------------------------------------------------ the plan
def _cloud_name(answers: "Answers") -> str:
    return answers.azure.cloud if isinstance(answers.azure.cloud, str) else "AzureCloud"


def monitor_names(answers: "Answers", subscription_id: str, offered: list[str] | None = None,
                  workspace_location: str | None = None) -> "MonitorNames":
    """``offered``: the regions Microsoft.Monitor offers workspaces in; ``workspace_location``: the given workspace's
    region (both the plan's observations)."""
    from wizard.azure.monitor import names_for

    return names_for(subscription_id, answers.resource_group.name, answers.cluster.name, answers.azure.location,
                     answers.cluster.addons.monitor_workspace_id, _cloud_name(answers), offered, workspace_location)


def plan_monitor_names(plan: "Plan") -> "MonitorNames":
    """The managed Prometheus names of a plan's cluster, placed where its observation says they go."""
    obs = plan.observed
    return monitor_names(plan.answers, obs.subscription_id, obs.workspace_locations, obs.workspace_location)


def monitor_steps(plan: "Plan", deps: tuple[str, ...], new_cluster: bool) -> list["Step"]:
    """The five steps, each after the one before (the association needs the cluster: ``deps`` start the chain)."""
    from wizard.azure.monitor import az_commands, registrations
    from wizard.plan_model import Step
    from wizard.provenance import with_provenance
    from wizard.spec import az

    a = plan.answers
    names = plan_monitor_names(plan)
    inputs = MonitorInputs(names, tuple((with_provenance(a.cluster.tags, plan.provenance) or {}).items()))
    wanted = registrations(names)
    cmds = az_commands(names)
    action: "Action" = "create" if new_cluster else "update"
    why = (f"# (what `az aks {action} --enable-azure-monitor-metrics"
           f"{' --azure-monitor-workspace-resource-id ' + names.workspace_id if names.workspace_given else ''}` "
           "does besides the cluster PUT)")
    ws = (f"link Azure Monitor workspace {names.workspace_name} ({names.region})" if names.workspace_given
          else f"default Azure Monitor workspace {names.workspace_name} ({names.workspace_rg})")
    rows: list[tuple[str, str, str, Any, str]] = [
        (PROVIDERS, "managed Prometheus: resource providers " + ", ".join(dict.fromkeys(
            ns for _, nss in wanted for ns in nss)) + " Registered",
         "\n".join(az("provider", "register", "--namespace", ns) + ("" if sub == names.subscription_id else
                                                                     f" --subscription {sub}")
                   for sub, nss in wanted for ns in nss) + "\n" + why,
         ProviderInputs(wanted), "registers only what is not Registered"),
        (WORKSPACE, f"managed Prometheus: {ws}",
         "\n".join(az(*c) for c in cmds["workspace"]) or
         az("monitor", "account", "show", "--ids", names.workspace_id), inputs,
         "only read when given or already there" if names.workspace_given else "creates it when missing"),
        ("monitor-dce", f"managed Prometheus: data collection endpoint {names.dce_name}",
         "\n".join(az(*c) for c in cmds["dce"]), inputs, "creates it when missing"),
        ("monitor-dcr", f"managed Prometheus: data collection rule {names.dcr_name} -> {names.workspace_name}",
         "\n".join(az(*c) for c in cmds["dcr"]), inputs, "creates it, or points it at the workspace"),
        ("monitor-dcra", f"managed Prometheus: associate {names.dcr_name} with {a.cluster.name}",
         "\n".join(az(*c) for c in cmds["dcra"]), inputs, "creates it when missing or different"),
    ]
    steps: list[Step] = []
    for sid, title, cmd, payload, reason in rows:
        steps.append(Step(sid, title, action, cmd, deps=(steps[-1].id,) if steps else deps, typical=TYPICAL[sid],
                          payload=payload, reason=reason))
    return steps


def monitor_in_place(conn: Any, plan: "Plan") -> dict[str, str]:
    """step id -> why it has nothing to do, read with the checks its runner makes before writing."""
    from wizard.azure import monitor

    done: dict[str, str] = {}
    for step in plan.steps:
        if step.id == PROVIDERS and not monitor.providers_missing(conn, step.payload.registrations):
            done[step.id] = "resource providers Registered"
        elif step.id == WORKSPACE and monitor.workspace_ready(monitor.read_workspace(conn, step.payload.names),
                                                              step.payload.names):
            done[step.id] = f"workspace {step.payload.names.workspace_name} Succeeded"
        elif step.id in PART_STEPS and monitor.part_in_place(conn, step.payload.names,
                                                             monitor.PARTS[PART_STEPS[step.id]]):
            part = monitor.PARTS[PART_STEPS[step.id]]
            done[step.id] = f"{part.what} {part.name(step.payload.names)} in place"
    return done


# ------------------------------------------------------------------------------------------ runners
_SHARED: dict[str, threading.Lock] = {}
_SHARED_GUARD = threading.Lock()


def _shared(key: str) -> threading.Lock:
    """Held while a member of a fleet registers the providers or finds/creates the Azure Monitor workspace the
    members share (the default one of their region): the others then find it, and only the member that created
    it records it as created."""
    with _SHARED_GUARD:
        return _SHARED.setdefault(key.lower(), threading.Lock())


def _tools(engine: "Engine", step: "Step",
           started: float) -> tuple[Callable[[str], None], Callable[[str], None], list[str]]:
    """(report progress, record a create's intent before it is sent, the ids so recorded)."""
    from wizard.addons import reporter

    journal = engine.journal
    created: list[str] = []

    def creating(rid: str) -> None:
        created.append(rid)
        if journal is not None:
            journal.append(step.id, "intent", creates=True, resource_id=rid)

    return reporter(engine, step, started), creating, created


def run_providers(engine: "Engine", step: "Step", started: float) -> dict[str, Any]:
    from wizard.addons import options_of, poll_of
    from wizard.azure.monitor import ensure_providers

    opts = options_of(engine)
    inputs: ProviderInputs = step.payload
    report, _, _ = _tools(engine, step, started)
    registered: list[str] = []
    with _shared("providers:" + ",".join(sub for sub, _ in inputs.registrations)):
        for sub, namespaces in inputs.registrations:
            registered += ensure_providers(engine.conn, namespaces, sub, report, engine.sleep,
                                           poll_of(engine, opts), opts.azure_timeout)
    if not registered:
        return {"message": "skipped: already in place (resource providers Registered)", "state": "Unchanged"}
    return {"message": "registered " + ", ".join(registered), "state": "Registered"}


def run_workspace(engine: "Engine", step: "Step", started: float) -> dict[str, Any]:
    from wizard.addons import options_of, poll_of
    from wizard.azure.monitor import ensure_workspace

    opts = options_of(engine)
    names = step.payload.names
    report, creating, created = _tools(engine, step, started)
    with _shared(names.workspace_id):
        ws, written = ensure_workspace(engine.conn, names, dict(step.payload.tags) or None, report, engine.sleep,
                                       poll_of(engine, opts), opts.azure_timeout, creating)
    endpoint = getattr(getattr(ws, "metrics", None), "prometheus_query_endpoint", None)
    where = f" (Prometheus query endpoint {endpoint})" if endpoint else ""
    out = {"resource_id": names.workspace_id, "created_ids": created}
    if not written:
        return out | {"message": f"skipped: already in place (workspace {names.workspace_name}){where}",
                      "state": "Unchanged"}
    return out | {"message": ", ".join(written) + f" created{where}", "state": "Succeeded"}


def run_part(engine: "Engine", step: "Step", started: float) -> dict[str, Any]:
    """monitor-dce, -dcr, -dcra: read, then write what is missing or different."""
    from wizard.azure.monitor import PARTS, ensure_part

    part = PARTS[PART_STEPS[step.id]]
    names = step.payload.names
    _, creating, created = _tools(engine, step, started)
    did = ensure_part(engine.conn, names, part, dict(step.payload.tags) or None, creating)
    out = {"resource_id": part.rid(names), "created_ids": created}
    if did is None:
        return out | {"message": f"skipped: already in place ({part.what} {part.name(names)})", "state": "Unchanged"}
    return out | {"message": did, "state": "Succeeded"}


MONITOR_RUNNERS: dict[str, Callable[["Engine", "Step", float], dict[str, Any]]] = {
    PROVIDERS: run_providers, WORKSPACE: run_workspace, **{sid: run_part for sid in PART_STEPS}}
