"""A fleet: several clusters from one answers file (`fleet:`), each member an ordinary Answers of its own.

The members' names derive from the base names by the fleet's patterns (validated in wizard/answers); a member's
overrides (location, GPU size) replace the base values. Everything downstream (plan, preflight, export, engine)
works on the member Answers, so a fleet of one cluster and a single cluster go through the same code.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from pathlib import Path

    from wizard.answers import Answers
    from wizard.plan_model import Observed, Plan
    from wizard.preflight.fleet import FleetPreflight
    from wizard.session import Session


@dataclass(frozen=True)
class Member:
    n: int  # 1-based, as {n} in the name patterns
    answers: "Answers"

    @property
    def name(self) -> str:
        return self.answers.cluster.name


def members(answers: "Answers") -> list[Member]:
    """The fleet's members in order; a file without `fleet` is a fleet of one (the base names as they are)."""
    import copy

    from wizard.answers import answers_from_dict
    from wizard.answers.rules import fleet_name

    fleet = answers.fleet
    if fleet is None:
        return [Member(1, answers)]
    base = answers.model_dump(mode="json")
    del base["fleet"]
    overrides = {m.member: m for m in fleet.members}
    out = []
    for n in range(1, fleet.count + 1):
        data = copy.deepcopy(base)
        fields = (n, answers.cluster.name, answers.resource_group.name)
        data["cluster"]["name"] = fleet_name(fleet.cluster_name, *fields)
        if fleet.resource_group == "per_cluster":
            data["resource_group"]["name"] = fleet_name(fleet.resource_group_name, *fields)
        if (o := overrides.get(n)) is not None:
            if o.location:
                data["azure"]["location"] = o.location
            if o.gpu_vm_size and data.get("gpu_pool"):
                data["gpu_pool"]["vm_size"] = o.gpu_vm_size
        out.append(Member(n, answers_from_dict(data)))
    return out


def observe_members(conn: Any, answers: list["Answers"], subscription: tuple[str, str],
                    parallel: int = 8) -> list["Observed"]:
    """What plan.observe() reads, for every member, with the facts members share read once: preview flags and
    the provider per subscription, Kubernetes versions and mesh revisions per location, each resource group once;
    only the clusters and pools are read per member."""
    from concurrent.futures import ThreadPoolExecutor

    from wizard.azure import catalog, clusters, features, groups
    from wizard.azure.monitor import workspace_locations
    from wizard.flags import needed_flags
    from wizard.plan_model import Observed
    from wizard.plan import given_workspace, kueue_manifest_problem
    from wizard.plan_model import PROVIDER

    def as_dict(obj: Any) -> dict[str, Any] | None:
        return obj.as_dict() if obj is not None else None

    flags = list(dict.fromkeys(f for a in answers for f, _ in needed_flags(a)))
    locations = list(dict.fromkeys(a.azure.location for a in answers))
    mesh = list(dict.fromkeys(a.azure.location for a in answers if a.cluster.istio.enabled))
    rgs = list(dict.fromkeys(a.resource_group.name.lower() for a in answers))
    with ThreadPoolExecutor(max_workers=max(1, parallel), thread_name_prefix="fleet-observe") as pool:
        f_flags = {f: pool.submit(features.feature_state, conn, f) for f in flags}
        f_provider = pool.submit(features.provider_state, conn, PROVIDER)
        f_versions = {loc: pool.submit(catalog.list_versions, conn, loc) for loc in locations}
        f_revisions = {loc: pool.submit(catalog.list_mesh_revisions, conn, loc) for loc in mesh}
        f_workspaces = pool.submit(workspace_locations, conn)  # where Microsoft.Monitor offers workspaces
        f_manifest = pool.submit(kueue_manifest_problem, answers[0])  # the members share the kueue section
        given = list(dict.fromkeys(w for a in answers if a.cluster.addons.managed_prometheus
                                   and (w := a.cluster.addons.monitor_workspace_id)))
        f_given = {w: pool.submit(given_workspace, conn, w) for w in given}  # each linked workspace once
        by_name = {a.resource_group.name.lower(): a.resource_group.name for a in answers}
        f_groups = {rg: pool.submit(groups.get_group, conn, by_name[rg]) for rg in rgs}
        found = {rg: as_dict(f.result()) for rg, f in f_groups.items()}

        def cluster_and_pool(a: "Answers") -> tuple[Any, Any]:
            if found[a.resource_group.name.lower()] is None:
                return None, {}
            rg, name = a.resource_group.name, a.cluster.name
            pools = {gp.name: as_dict(clusters.get_pool(conn, rg, name, gp.name)) for gp in a.all_gpu_pools}
            return as_dict(clusters.get_cluster(conn, rg, name)), {n: p for n, p in pools.items() if p is not None}

        existing = list(pool.map(cluster_and_pool, answers))
        states = {f: fut.result() for f, fut in f_flags.items()}
        provider = f_provider.result()
        versions = {loc: f.result() for loc, f in f_versions.items()}
        revisions = {loc: f.result() for loc, f in f_revisions.items()}
        offered, manifest = f_workspaces.result(), f_manifest.result()
        linked = {w: f.result() for w, f in f_given.items()}
    return [Observed(subscription_id=subscription[0], subscription_name=subscription[1],
                     group=found[a.resource_group.name.lower()],
                     flag_states={f: states[f] for f, _ in needed_flags(a)}, provider_state=provider,
                     versions=versions[a.azure.location],
                     revisions=revisions.get(a.azure.location, []) if a.cluster.istio.enabled else [],
                     cluster=c, pools=p, kueue_manifest=manifest, workspace_locations=offered,
                     **linked.get(a.cluster.addons.monitor_workspace_id or "", {}))
            for a, (c, p) in zip(answers, existing)]


def plan_members(conn: Any, answers: "Answers", subscription: tuple[str, str], allow_update: bool = False,
                 journal: Callable[[str], Any] | None = None) -> list["Plan"]:
    """Each member's plan from one observation of the fleet (reads only). journal: cluster name -> that member's
    Journal, so a plan re-attaches to the operations an interrupted run left in flight (as plan_for does)."""
    from wizard.plan import build_plan, from_journal

    ms = members(answers)
    out = []
    for m, obs in zip(ms, observe_members(conn, [m.answers for m in ms], subscription)):
        j = journal(m.name) if journal else None
        # one cluster (export): planned as apply plans it, staged while a flag registers when that is faster. A
        # fleet's members: one PUT each, as fleet_apply registers the flags and the provider for the subscription
        # before any member starts, so a member's create goes out with them Registered and staging would only add
        # a write. What a member's journal says a staged create deferred is owed all the same.
        out.append(build_plan(m.answers, obs, allow_update=allow_update,
                              staged=None if answers.fleet is None else False, **from_journal(m.answers, j)))
    return out


def plans_text(plans: list["Plan"], verbose: bool) -> str:
    from wizard.render import plan_text

    if verbose:
        return "\n\n".join(plan_text(pl, show_az=True) for pl in plans)
    lines = [f"Fleet of {len(plans)} clusters:"]
    for pl in plans:
        a = pl.answers
        writes = [s.id for s in pl.steps if s.writes]
        lines.append(f"  {a.cluster.name} ({a.resource_group.name}, {a.azure.location}"
                     + (f", GPU {a.gpu_pool.vm_size}" if a.gpu_pool else "") + f"): {len(writes)} step(s) write"
                     + (f" ({', '.join(writes)})" if writes else ""))
        lines += [f"    problem: {p}" for p in pl.problems]
    return "\n".join(lines)


@dataclass
class FleetPreview:
    """Every member planned (reads only) and the fleet preflight, as `plan FLEET_FILE` shows them (and the TUI)."""
    plans: list["Plan"]
    preflight: "FleetPreflight"
    text: str

    @property
    def ok(self) -> bool:
        return all(p.ok for p in self.plans) and self.preflight.ok


def preview_fleet(session: "Session", answers: "Answers", answers_path: "Path") -> FleetPreview:
    """The members planned, each re-attaching to what its own journal (beside the answers) has in flight, then
    the preflight of the whole fleet: one failed item stops every member before any write."""
    from wizard.fleet_apply import member_journal
    from wizard.preflight.fleet import run_fleet_preflight

    path = answers_path.resolve()
    plans = plan_members(session.conn, answers, session.subscription,
                         journal=lambda name: member_journal(path, name))
    checks = run_fleet_preflight(session.conn, plans, prices=session.prices())
    return FleetPreview(plans, checks, plans_text(plans, False) + "\n\n" + checks.text())
