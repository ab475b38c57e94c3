"""The staged create: the cluster PUT goes out while the preview flags it needs still register.

Flag registration takes minutes (sometimes an hour) and most of a cluster needs no flag. When a flag the plan
registers gates a field (wizard/data/features.yaml), the create goes out at once without the gated fields, the
flags and the provider re-registration run beside it, and then one update (`preview-fields`) sends the fields
that wait for the flags; a GPU pool whose gated field cannot change in place (a managed GPU profile) is created
on its own after that. The plan works out both orders' critical paths and takes the faster (one PUT on a tie).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable

from wizard import durations
from wizard.flags import FlagRule, gated_rules, held_pools, without_fields
from wizard.render import fmt_seconds
from wizard.plan_model import PREVIEW_FIELDS, Step, arm_write, gpu_pool_steps
from wizard.spec import (
    Resolved, addon_count, az_cluster_create, az_cluster_enable, az_pool_add, desired_cluster, desired_pool,
    cluster_update,
)

if TYPE_CHECKING:
    from wizard.answers import Answers
    from wizard.plan_model import Plan

ADDON_LABELS = {"keda": "KEDA", "kaito": "KAITO", "managed_prometheus": "managed Prometheus"}


@dataclass(frozen=True)
class Staging:
    """Why the plan writes the cluster twice (or not), with the figures of both orders."""

    flags: tuple[str, ...]  # flags not yet Registered that the held-back fields wait for
    fields: tuple[str, ...]  # labels of the cluster fields the create leaves out
    pools: tuple[str, ...]  # GPU pools created on their own after the flags
    staged: bool  # the order this plan takes
    staged_seconds: float  # typical time to a complete cluster, staged order
    single_seconds: float  # ... and one PUT after the flags
    writes: int  # cluster and pool writes of the order taken

    def to_dict(self) -> dict[str, Any]:
        return {"staged": self.staged, "flags": list(self.flags), "held_back": list(self.fields),
                "pools_after": list(self.pools), "staged_seconds": self.staged_seconds,
                "single_put_seconds": self.single_seconds, "writes": self.writes,
                "saves_seconds": max(0.0, self.single_seconds - self.staged_seconds) if self.staged else 0.0}

    def note(self) -> str:
        flags = ", ".join(f.split("/")[-1] for f in self.flags)
        held = ", ".join([*self.fields, *(f"GPU pool {p}" for p in self.pools)])
        if not self.staged:
            return (f"preview flag(s) {flags} are not Registered yet; the cluster is created in one request once "
                    f"they are (typically {fmt_seconds(self.single_seconds)}): creating it first and adding "
                    f"{held} after the flags would not be faster ({fmt_seconds(self.staged_seconds)}).")
        return (f"preview flag(s) {flags} are not Registered yet, so the cluster is created at once without {held} "
                f"while they register, and these follow once the flags are: {self.writes} writes instead of one, "
                f"cluster ready after typically {fmt_seconds(self.staged_seconds)} instead of "
                f"{fmt_seconds(self.single_seconds)} (saves {fmt_seconds(self.single_seconds - self.staged_seconds)}).")


def critical_path(steps: Iterable["Step"]) -> tuple[float, list[str]]:
    """The longest chain of typical durations through the steps (in dependency order); reads cost nothing."""
    finish: dict[str, tuple[float, list[str]]] = {}
    for s in steps:
        start, path = max((finish[x] for x in s.deps if x in finish), default=(0.0, []), key=lambda t: t[0])
        finish[s.id] = (start + (s.typical if s.writes else 0.0), path + [s.id])
    return max(finish.values(), key=lambda t: t[0], default=(0.0, []))


def _extras(answers: "Answers", resolved: Resolved, pools: list[Any], rules: list[FlagRule]) -> list[str]:
    c = answers.cluster
    held = {r.option for r in rules if r.resource == "cluster"}
    return [x for x in (
        "Istio " + resolved.istio_revision if resolved.istio_revision else "",
        "Gateway API" if c.gateway_api and "cluster.gateway_api" not in held else "",
        *(f"GPU pool {p.name}" + (" (Spot)" if p.priority == "Spot" else "") for p in pools),
        "Entra ID" + (" + Azure RBAC" if c.access.azure_rbac else "") if c.access.entra_id else "",
        "private API server" if c.network.api_server.private else "",
        ", ".join(label for key, label in ADDON_LABELS.items() if getattr(c.addons, key))) if x]


def create_step(plan: "Plan", answers: "Answers", resolved: Resolved, deps: tuple[str, ...],
                rules: list[FlagRule] | None = None) -> "Step":
    """The cluster create: everything in one request, or (rules given) without what those rules hold back."""
    from azure.mgmt.containerservice import models as m

    rules = rules or []
    held = {p.name for p in held_pools(answers, rules)}
    pools = [p for p in answers.all_gpu_pools if p.name not in held]
    body: Any = desired_cluster(answers, resolved, provenance=plan.provenance)
    if rules:
        wire = body.as_dict()
        wire["properties"]["agentPoolProfiles"] = [p for p in wire["properties"]["agentPoolProfiles"]
                                                   if p.get("name") not in held]
        body = m.ManagedCluster(without_fields(wire, rules))
    switches = tuple(r.az_switch for r in rules if r.resource == "cluster" and r.az_switch)
    defers = {PREVIEW_FIELDS: [r.option for r in rules if r.after_create == "cluster-update"]} if rules else {}
    defers = {k: v for k, v in defers.items() if v} | {
        sid: [r.option for r in rules if r.after_create == "pool-create"] for sid, p, _ in gpu_pool_steps(answers)
        if p.name in held}
    typical = durations.cluster_create(len(pools), answers.cluster.istio.enabled, addon_count(answers))
    waits = [*(r.label for r in rules if r.after_create == "cluster-update"), *(f"GPU pool {n}" for n in sorted(held))]
    later = f" now; {', '.join(waits)} after the preview flags" if rules else " in one request"
    return Step("cluster", f"create cluster {answers.cluster.name} (Kubernetes {resolved.kubernetes_version}; "
                f"{'; '.join(_extras(answers, resolved, pools, rules))}){later}", "create",
                "\n".join(filter(None, [az_cluster_create(answers, resolved, without=switches),
                                        *(az_pool_add(answers, p) for p in pools)])),
                deps=deps, typical=typical, payload=arm_write(answers, body=body), created=True,
                defers=defers or None)


def later_steps(plan: "Plan", answers: "Answers", resolved: Resolved, rules: list[FlagRule],
                after: tuple[str, ...]) -> list["Step"]:
    """What follows a staged create once the flags are Registered: the update with the cluster's gated fields,
    then each held-back GPU pool by its own PUT (AKS runs one operation at a time on a cluster)."""
    out: list[Step] = []
    fields = [r for r in rules if r.after_create == "cluster-update"]
    if fields:
        out.append(enable_step(answers, resolved, fields, after))
        after = (PREVIEW_FIELDS,)
    held = {p.name for p in held_pools(answers, rules)}
    for sid, p, _ in gpu_pool_steps(answers):
        if p.name in held:
            out.append(Step(sid, f"add GPU pool {p.name} ({p.vm_size}; {', '.join(r.label for r in rules if r.on_pool(p))}"
                            " needs the preview flag)", "create", az_pool_add(answers, p), deps=after,
                            typical=durations.AGENT_POOL, created=True,
                            payload=arm_write(answers, p.name, body=desired_pool(
                                answers, resolved, provenance=plan.provenance, pool=p))))
    return out


def enable_step(answers: "Answers", resolved: Resolved, rules: list[FlagRule], deps: tuple[str, ...],
                action: str = "update", in_flight: dict[str, Any] | None = None,
                differences: list[Any] | None = None) -> "Step":
    """The `preview-fields` update: the existing cluster with the answers' options, gated fields included
    (action attach: following that update, started by an earlier run, whose journal record is `in_flight`)."""
    labels = ", ".join(r.label for r in rules) or "the fields the create deferred"
    typical = durations.GATEWAY_API_UPDATE if any(r.option == "cluster.gateway_api" for r in rules) \
        else durations.CLUSTER_UPDATE
    verb = "wait for the update of" if action == "attach" else "update"
    return Step(PREVIEW_FIELDS, f"{verb} cluster {answers.cluster.name}: {labels} (after the preview flags)", action,  # type: ignore[arg-type]
                az_cluster_enable(answers, [r.az_switch for r in rules if r.az_switch]), deps=deps,
                typical=typical, differences=differences or [],
                payload=arm_write(answers, in_flight=in_flight,
                                  update=cluster_update(answers, resolved)),
                reason="deferred by the create until the preview flags were Registered")


def plan_new_cluster(plan: "Plan", answers: "Answers", resolved: Resolved, group_deps: tuple[str, ...],
                     staged: bool | None) -> None:
    """The steps of a cluster that does not exist yet: staged while a needed flag registers, when faster."""
    has_provider = any(s.id == "provider" for s in plan.steps)
    single = [create_step(plan, answers, resolved, group_deps + (("provider",) if has_provider else ()))]
    registering = {str(s.payload) for s in plan.steps if s.id.startswith("feature:") and s.action == "register"}
    from wizard.azure.features import is_registered

    rules = gated_rules(answers, registering) if has_provider and is_registered(plan.observed.provider_state) else []
    if not rules or staged is False:
        plan.steps += single
        return
    two = [create_step(plan, answers, resolved, group_deps, rules)]
    two += later_steps(plan, answers, resolved, rules, ("cluster", "provider"))
    staged_s, _ = critical_path(plan.steps + two)
    single_s, _ = critical_path(plan.steps + single)
    take = staged if staged is not None else staged_s < single_s
    plan.steps += two if take else single
    held = held_pools(answers, rules)
    plan.staging = Staging(tuple(sorted({r.flag for r in rules})),
                           tuple(r.label for r in rules if r.after_create == "cluster-update"),
                           tuple(p.name for p in held), take, staged_s, single_s, len(two) if take else 1)
    plan.notes.append(plan.staging.note())


def owed_rules(options: Iterable[str]) -> list[FlagRule]:
    """The rules of the options a create deferred (a rule deleted since then is no longer owed as a flag's)."""
    from wizard.flags import flag_rules

    wanted = set(options)
    return [r for r in flag_rules() if r.option in wanted]
