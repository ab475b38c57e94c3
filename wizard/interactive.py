"""The UI-neutral facade the interactive wizard calls for every Azure read and write.

The screens (`screens/`) never import azure.* nor call the SDK: they call the functions here from thread
workers and post the results to themselves. This module never imports Textual.

Signing in is `wizard.session.connect` (re-exported here): the interactive wizard lists subscriptions before
it has answers (`connect` -> `Link.list_subscriptions` -> `Link.bind`).
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

from wizard import mesh_rules
from wizard.choices import FlagInfo, GroupInfo, LocationInfo, RevisionChoice, VersionChoice
from wizard.plan_model import PROVIDER
from wizard.azure.clouds import CloudError, cloud_setting  # noqa: F401 - re-exported: the TUI's --cloud
from wizard.session import (  # noqa: F401 - re-exported: the screens sign in through this facade
    Link, Session, SubscriptionInfo, connect, default_subscription_id,
)

if TYPE_CHECKING:
    from wizard.answers import Answers
    from wizard.azure.catalog import KubeVersion, MeshRevision
    from wizard.failure import AzureFailure
    from wizard.engine import Engine, RunResult
    from wizard.events import EventSink
    from wizard.journal import Journal
    from wizard.plan_model import Plan, Step
    from wizard.conformance.forecast import Forecast
    from wizard.conformance.model import Report, RequirementResult
    from wizard.fleet_apply import FleetRun
    from wizard.fleet import FleetPreview
    from wizard.preflight.report import CheckResult, PreflightReport
    from wizard.preflight.sizing import SizingTable
    from wizard.teardown import TeardownPlan

__all__ = [
    "ANSWERS_NAME", "new_run_folder", "MIN_MINOR", "SubscriptionInfo", "LocationInfo", "GroupInfo", "VersionChoice",
    "RevisionChoice", "FlagInfo", "Link", "Session", "connect", "default_subscription_id", "CloudError", "cloud_setting",
    "list_locations", "list_groups",
    "list_versions", "version_choices", "list_revisions", "revision_choices", "flag_rules_for", "flag_states",
    "register_flags", "preview", "failed_cluster", "make_engine", "run_engine", "failure_of", "journal_for",
    "verify", "conformance_forecast", "gpu_sizes", "option_default", "broken_musts", "billable_probes_offered",
    "teardown_preview", "teardown_summary", "teardown_kept", "worth_writing",
    "run_teardown", "subnet_check", "private_api_note", "entra_access_note",
    "gpu_sizes_and_spot_prices", "fleet_preview", "make_fleet_run", "fleet_member_row", "fleet_verify",
]

ANSWERS_NAME = "aks-ai-wizard.yaml"
MIN_MINOR = (1, 34)


def wizard_home() -> Path:
    """Where the interactive wizard keeps runs started without --answers: $AKS_AI_WIZARD_HOME, else the XDG
    data folder. Never the current directory (a checkout of this repository, a workshop's shared folder)."""
    import os

    home = os.environ.get("AKS_AI_WIZARD_HOME")
    if home:
        return Path(home).expanduser()
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "aks-ai-wizard"


def new_run_folder() -> Path:
    """A fresh folder for one wizard session (not created until something is written): two wizards, or two
    attendees of a served session, never share answers, journal or report."""
    import os
    import secrets
    import time

    stamp = time.strftime("%Y%m%d-%H%M%S")
    return wizard_home() / "runs" / f"{stamp}-{os.getpid()}-{secrets.token_hex(2)}"


def warm_up() -> None:
    """Import the answers model and the SDK adapters ahead of need (the TUI calls it after its first paint)."""
    import wizard.answers  # noqa: F401
    import wizard.azure.connection  # noqa: F401
    import wizard.plan  # noqa: F401


# ----------------------------------------------------------------------------------------------- reads
def list_locations(session: Session) -> list[LocationInfo]:
    out = []
    for loc in session.conn.subscriptions.subscriptions.list_locations(session.subscription[0]):
        meta = getattr(loc, "metadata", None)
        if meta is not None and str(getattr(meta, "region_type", "") or "").lower() == "logical":
            continue  # "United States", "Europe": not deployable
        if loc.name:
            out.append(LocationInfo(loc.name, loc.display_name or ""))
    return sorted(out, key=lambda loc: loc.label.casefold())


def list_groups(session: Session) -> list[GroupInfo]:
    return sorted((GroupInfo(g.name, g.location) for g in session.conn.resources.resource_groups.list() if g.name),
                  key=lambda g: g.name.casefold())


def list_versions(session: Session, location: str) -> list["KubeVersion"]:
    from wizard.azure.catalog import list_versions as _list

    return _list(session.conn, location)


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split(".") if p.isdigit())


def version_choices(versions: Iterable["KubeVersion"]) -> list[VersionChoice]:
    """Newest first; 1.34 and newer selectable, LTS-only marked, older disabled with the reason."""
    out = []
    for v in sorted(versions, key=lambda k: _key(k.minor), reverse=True):
        notes = []
        if v.is_default:
            notes.append("default")
        if v.is_preview:
            notes.append("preview")
        if v.lts_only:
            notes.append("LTS only: needs tier Premium and support plan AKSLongTermSupport")
        if _key(v.minor) < MIN_MINOR:
            reason = "below 1.34: the AI conformance checklist needs 1.34+"
            out.append(VersionChoice(v.minor, v.newest_patch, False, f"{v.minor}  (newest {v.newest_patch})", reason,
                                     v.is_default, v.lts_only, v.is_preview))
            continue
        label = f"{v.minor}  (newest {v.newest_patch})" + (f"  {'; '.join(notes)}" if notes else "")
        out.append(VersionChoice(v.minor, v.newest_patch, True, label, "; ".join(notes), v.is_default, v.lts_only,
                                 v.is_preview))
    return out


def list_revisions(session: Session, location: str) -> list["MeshRevision"]:
    from wizard.azure.catalog import list_mesh_revisions

    return list_mesh_revisions(session.conn, location)


def revision_choices(revisions: Iterable["MeshRevision"], minor: str, gateway_api: bool) -> list[RevisionChoice]:
    """`auto` first, then every revision newest first; those that don't fit the version (or Gateway API) disabled."""
    revs = sorted(revisions, key=lambda r: r.key, reverse=True)
    usable = mesh_rules.usable(revs, minor, gateway_api)
    out = [RevisionChoice("auto", bool(usable),
                          f"auto  (newest compatible: {usable[0].revision})" if usable else "auto",
                          "" if usable else f"no revision is compatible with Kubernetes {minor}")]
    for r in revs:
        if not mesh_rules.compatible([r], minor):
            out.append(RevisionChoice(r.revision, False, r.revision,
                                      f"not compatible with Kubernetes {minor} (supports {', '.join(r.compatible)})",
                                      compatible=False))
        elif gateway_api and not mesh_rules.supports_gateway_api(r.revision):
            out.append(RevisionChoice(r.revision, False, r.revision,
                                      f"Gateway API needs {mesh_rules.GATEWAY_MIN_REVISION} or newer"))
        else:
            out.append(RevisionChoice(r.revision, True, r.revision, ""))
    return out


def _field_info(path: str) -> Any:
    from pydantic import BaseModel

    from wizard.answers import Answers

    model: Any = Answers
    info: Any = None
    for part in path.split("."):
        if not (isinstance(model, type) and issubclass(model, BaseModel)) or part not in model.model_fields:
            return None
        info = model.model_fields[part]
        ann = info.annotation
        members = [a for a in getattr(ann, "__args__", ()) if isinstance(a, type) and issubclass(a, BaseModel)]
        model = ann if isinstance(ann, type) else (members[0] if members else None)
    return info


def option_default(path: str) -> Any:
    """The model's default for a dotted answers path (None when the field is required or has no default)."""
    info = _field_info(path)
    if info is None or info.is_required():
        return None
    return info.get_default(call_default_factory=True)


def worth_writing(path: str, value: Any, named: bool) -> bool:
    """Whether the wizard writes an answer: the file names it, or it differs from the model's default (a default
    the file never named stays out of it, so a walk through the steps leaves the file as it was)."""
    return named or value != option_default(path)


def _value_at(draft: Mapping[str, Any], path: str) -> Any:
    """The draft's value at `path`, the model's default where the draft says nothing; a section that is
    optional and absent (gpu_pool) has no values at all."""
    node: Any = draft
    parts = path.split(".")
    for i, part in enumerate(parts):
        if not isinstance(node, Mapping) or node.get(part) is None:
            prefix = ".".join(parts[: i + 1])
            info = _field_info(prefix)
            if info is not None and not info.is_required() and info.get_default(call_default_factory=True) is None:
                return None  # e.g. no gpu_pool: nothing under it applies
            return option_default(path)
        node = node[part]
    return node


# the answers option each checklist requirement relies on in this wizard: switched off, it cannot pass
REQUIREMENT_OF_OPTION = {
    "cluster.gateway_api": ("ai_inference", "Gateway API"),
    "gpu_pool": ("accelerator_metrics", "GPU nodes"),
    "gpu_pool.autoscale": ("cluster_autoscaling", "the cluster autoscaler on the GPU pool"),
    "cluster.addons.keda": ("pod_autoscaling", "KEDA"),
    "cluster.addons.kaito": ("robust_controller", "KAITO"),
    "cluster.addons.managed_prometheus": ("ai_service_metrics", "managed Prometheus"),
    "kueue.install": ("gang_scheduling", "Kueue"),
}


def broken_musts(draft: Mapping[str, Any], checklist: str | None = None) -> dict[str, str]:
    """answers path -> why the choice there breaks a MUST of the checklist (flagged on the step that asks).
    Several pools (gpu_pools) count as the GPU pool, autoscaled when any of them is."""
    from wizard.conformance import load_checklist

    pools = [p for p in draft.get("gpu_pools") or [] if isinstance(p, Mapping)]
    if pools and not draft.get("gpu_pool"):
        draft = {**draft, "gpu_pool": next((p for p in pools if p.get("autoscale")), pools[0])}

    wanted = load_checklist(checklist or str(_value_at(draft, "verify.checklist") or "1.34"))
    out = {}
    for path, (rid, what) in REQUIREMENT_OF_OPTION.items():
        requirement = wanted.get(rid)
        if requirement is None or requirement.level != "MUST" or _value_at(draft, path):
            continue
        if path.startswith("gpu_pool.") and not _value_at(draft, "gpu_pool"):
            continue  # no GPU pool at all: said once, on the pool itself
        out[path] = f"Without {what} the cluster fails the MUST requirement {rid} of checklist {wanted.version}."
    return out


def flag_rules_for(draft: Mapping[str, Any]) -> list[FlagInfo]:
    """Every preview flag an option can need, marked with whether the options chosen so far need it."""
    from wizard.flags import flag_rules

    explicit = draft.get("features")
    if isinstance(explicit, list):
        return [FlagInfo(f, "listed in the answers file", "", True) for f in explicit]
    out = []
    for rule in flag_rules():
        value = _value_at(draft, rule.option)
        out.append(FlagInfo(rule.flag, rule.why, rule.option, bool(value)))
    return out


def flag_states(session: Session, flags: Iterable[FlagInfo]) -> tuple[list[FlagInfo], str]:
    """Live state of each flag and of the resource provider, read concurrently."""
    from dataclasses import replace

    from wizard.azure.features import feature_state, provider_state

    flags = list(flags)
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(feature_state, session.conn, f.flag) for f in flags]
        provider = pool.submit(provider_state, session.conn, PROVIDER)
        return [replace(f, state=fut.result()) for f, fut in zip(flags, futures)], provider.result()


def register_flags(session: Session, flags: Iterable[str], sink: "EventSink",
                   engine_ready: Callable[["Engine"], None] | None = None) -> "RunResult":
    """Register the flags (in parallel), then re-register the provider as its own step; events go to `sink`.

    Runs through the real engine with the same step shape the plan uses, so the run screen's vocabulary
    (started/progress/done) and cancellation apply here too.
    """
    from wizard import durations
    from wizard.engine import Engine
    from wizard.plan_model import Plan, Step
    from wizard.spec import az

    steps = []
    for flag in flags:
        ns, name = flag.split("/", 1)
        steps.append(Step("feature:" + name, f"register preview feature {flag}", "register",
                          az("feature", "register", "--namespace", ns, "--name", name),
                          typical=durations.FEATURE_REGISTRATION, payload=flag))
    steps.append(Step("provider", f"re-register resource provider {PROVIDER} so new flags take effect", "register",
                      az("provider", "register", "--namespace", PROVIDER), deps=tuple(s.id for s in steps),
                      typical=durations.PROVIDER_REGISTRATION, payload=PROVIDER))
    plan = Plan(None, None, None, steps)  # type: ignore[arg-type]  # feature steps never read the answers
    engine = Engine(session.conn, plan, sink, None, session.run_options())
    if engine_ready is not None:
        engine_ready(engine)
    return engine.run()


def gpu_sizes_and_spot_prices(session: Session, location: str) -> tuple[Any, dict[str, float]]:
    """The GPU sizing table and the Spot list price per hour of each size the Retail Prices API offers one for
    (the GPU step's Spot pools); no Spot price when prices are off or unavailable (the table says why)."""
    sizing = gpu_sizes(session, location)
    prices = session.prices()
    if prices is None or not sizing.rows:
        return sizing, {}
    found = prices.lookup(location, [r.size.name for r in sizing.rows], spot=True)  # never raises: unavailable
    return sizing, {size: r.price.hourly for size, r in found.items() if r.price is not None}


def _answers_or_none(draft: Mapping[str, Any]) -> "Answers | None":
    from wizard.answers import AnswersError, answers_from_dict

    try:
        return answers_from_dict(dict(draft))
    except AnswersError:
        return None


def subnet_check(session: Session, draft: Mapping[str, Any]) -> "CheckResult | None":
    """Preflight's own subnet item (exists, not delegated, room for every pool at its peak plus surge, egress)
    for the answers so far, or None while the answers are incomplete."""
    from wizard.plan_model import Observed, Plan
    from wizard.preflight.checks import Reads, check_subnet, pool_intents
    from wizard.preflight.run import read_subnet

    answers = _answers_or_none(draft)
    sid = answers.cluster.network.vnet_subnet_id if answers is not None else None
    if answers is None or not sid:
        return None
    reads = Reads(None, None)
    try:
        reads.subnet = read_subnet(session.conn, sid)
    except Exception as exc:  # noqa: BLE001 - unreadable is preflight's warning, never a crash
        failure = failure_of(exc)
        reads.subnet_error = f"{failure.what} {failure.action}".strip()
    plan = Plan(answers, Observed(*session.subscription), None)
    found = check_subnet(answers, pool_intents(answers, plan), reads)
    return found[0] if found else None


def private_api_note(draft: Mapping[str, Any]) -> str:
    """What a private API server (or authorized IP ranges) means for apply and verify, as preflight says it."""
    from wizard.preflight.checks import check_private

    answers = _answers_or_none(draft)
    items = check_private(answers) if answers is not None else []
    return "\n".join(f"{i.detail} {i.fix[0].upper()}{i.fix[1:].rstrip('.')}." if i.fix else i.detail for i in items)


def entra_access_note(draft: Mapping[str, Any], subscription_id: str | None) -> str:
    """With Entra ID: the role assignments the user needs to fetch the kubeconfig and verify (preflight's item)."""
    from wizard.preflight.checks import check_roles_needed

    answers = _answers_or_none(draft)
    items = check_roles_needed(answers, subscription_id) if answers is not None else []
    return "\n".join(f"{i.detail}\nFix: {i.fix}" for i in items)


def gpu_sizes(session: Session, location: str) -> "SizingTable":
    """The GPU sizing table of the location (GPU model and count, quota headroom, list price)."""
    from wizard.preflight.sizing import gpu_sizes as sizing

    return sizing(session.conn, location, prices=session.prices())


# ----------------------------------------------------------------------------------------------- plan and run
def journal_for(answers_path: Path) -> "Journal":
    from wizard.journal import Journal

    return Journal.for_answers(answers_path.resolve())


def preview(session: Session, answers: "Answers", journal: "Journal | None" = None,
            allow_update: bool = False, recreate_failed: bool = False) -> "Plan":
    """Read-only: observe Azure and resolve the plan (the review screen shows it). `recreate_failed` is the
    user's consent to delete a cluster whose creation ended Failed and create it again (default: retry)."""
    from wizard.plan_model import Problem
    from wizard.plan import plan_for

    plan = plan_for(session.conn, answers, session.subscription, journal, allow_update=allow_update,
                    recreate_failed=recreate_failed, addon_options=session.addon_options())
    if answers.fleet is not None:  # the wizard builds one cluster: never the base names of a fleet by mistake
        plan.problems.append(Problem("fleet", f"these answers describe a fleet of {answers.fleet.count} clusters; "
                                     "the interactive wizard builds one.",
                                     "apply the fleet with `aks-ai-wizard apply FILE`, or remove the fleet section."))
    return plan


# ----------------------------------------------------------------------------------------------- fleet
def fleet_preview(session: Session, answers: "Answers", answers_path: Path) -> "FleetPreview":
    """Every member planned (reads only) and the fleet preflight."""
    from wizard.fleet import preview_fleet

    return preview_fleet(session, answers, answers_path)


def make_fleet_run(session: Session, plans: list["Plan"], answers_path: Path, sink: "EventSink") -> "FleetRun":
    """The fleet's run (`.run()` on a worker): the journals beside the answers
    file, as the CLI's, so either resumes what the other started; events carry their member."""
    from wizard.fleet_apply import DEFAULT_PARALLEL, FleetRun

    return FleetRun(session.conn, plans, answers_path.resolve(), sink, lambda name: session.run_options(),
                    DEFAULT_PARALLEL)


def fleet_member_row(event: Any) -> tuple[str, str, str] | None:
    from wizard.fleet_apply import member_row

    return member_row(event)


def fleet_verify(session: Session, plans: list["Plan"]) -> list[tuple[str, ...]]:
    """Every member verified as its `verify:` section says: the members x requirements rows, header first."""
    from wizard.fleet_apply import DEFAULT_PARALLEL
    from wizard.fleet_verify import matrix, verify_members

    return matrix(verify_members(session, [p.answers for p in plans], DEFAULT_PARALLEL, None))


def failed_cluster(plan: "Plan") -> "Step | None":
    """The plan's cluster step when the cluster exists and is Failed (action retry, or recreate with consent)."""
    return next((s for s in plan.steps if s.id == "cluster" and s.action in ("retry", "recreate")), None)


def preflight(session: Session, answers: "Answers", plan: "Plan") -> "PreflightReport":
    """The read-only preflight checklist (quota, SKUs, zones, flags, price) for the plan."""
    from wizard.preflight import run_preflight

    return run_preflight(session.conn, answers, plan, prices=session.prices(), prices_note=session.prices_note)


def plan_the_rest(session: Session, plan: "Plan", journal: "Journal | None", allow_update: bool = False,
                  recreate_failed: bool = False) -> tuple["Plan", "PreflightReport | None"]:
    """After a run of a plan that stopped at the provider registration (`Plan.awaits_provider`): read what the
    unregistered provider hid and plan the rest, with its preflight (None when the plan itself has problems), as
    `apply` does between its two phases."""
    rest = preview(session, plan.answers, journal, allow_update, recreate_failed)
    return rest, (None if rest.problems else preflight(session, rest.answers, rest))


def make_engine(session: Session, plan: "Plan", sink: "EventSink", journal: "Journal | None",
                kubeconfig_out: Path | None = None) -> "Engine":
    from wizard.engine import Engine
    from wizard.runners import runners

    return Engine(session.conn, plan, sink, journal, session.run_options(kubeconfig_out=kubeconfig_out),
                  runners())


def run_engine(engine: "Engine") -> "RunResult":
    """Blocking: runs the plan holding the journal lock (JournalLocked propagates)."""
    if engine.journal is None:
        return engine.run()
    with engine.journal.lock():
        return engine.run()


def failure_of(exc: BaseException) -> "AzureFailure":
    """What happened, why, what to do, the request id and the answers path that can fix it."""
    from wizard.azure.errors import translate
    from wizard.journal import JournalLocked

    if isinstance(exc, JournalLocked):
        from wizard.failure import AzureFailure

        return AzureFailure("journal", None, "Another run of these answers is in progress.", str(exc),
                            "Wait for it to finish, or stop it, then start again.", None, None, None, "", None)
    return translate(exc)


# ----------------------------------------------------------------------------------------------- teardown
def teardown_preview(session: Session, answers: "Answers", journal: "Journal") -> "TeardownPlan":
    """Read-only: what a teardown would delete (only what the journal says this wizard created) and keep;
    `teardown_summary` renders it."""
    from wizard.teardown import plan_teardown

    if not journal.records():
        from wizard.plan_model import Observed, Plan
        from wizard.teardown import TeardownPlan

        return TeardownPlan(Plan(answers, Observed(*session.subscription), None))
    return plan_teardown(session.conn, answers, journal, session.subscription)


def teardown_summary(td: "TeardownPlan") -> str:
    from wizard.teardown import teardown_text

    return teardown_text(td)


def teardown_kept(td: "TeardownPlan") -> list[str]:
    """What a teardown leaves in place, and why (groups that pre-existed, the shared workspace, flags)."""
    kept = list(td.kept)
    if td.flags:
        kept.append("preview features stay registered (other clusters may rely on them): " + ", ".join(td.flags))
    return kept


def run_teardown(session: Session, td: "TeardownPlan", sink: "EventSink", journal: "Journal",
                 engine_ready: Callable[["Engine"], None] | None = None) -> "RunResult":
    """Blocking: run the teardown steps through the engine, holding the journal lock (events go to `sink`)."""
    engine = make_engine(session, td.plan, sink, journal)
    if engine_ready is not None:
        engine_ready(engine)
    return run_engine(engine)


# ----------------------------------------------------------------------------------------------- verification
def billable_probes_offered() -> tuple[str, ...]:
    """Requirements whose probe costs money and runs only when asked (the cluster autoscaler adding a node)."""
    from wizard.conformance.requirements import REGISTRY

    return tuple(rid for rid, req in REGISTRY.items() if req.billable)


def verify(session: Session, answers: "Answers", kubeconfig: bytes,
           on_result: Callable[["RequirementResult"], None] | None = None, probes: bool | None = None,
           billable: tuple[str, ...] = ()) -> "Report":
    """Run wizard.conformance against the cluster the answers describe; returns its Report.

    `probes` overrides answers.verify.probes (the verification screen's "Run probes"); `billable` adds opt-in
    probes that cost money to the answers' own. In simulation the probe waits follow the simulator's clock, like
    every other wait (Session.probe_pacing)."""
    from wizard.conformance import run_verification
    from wizard.verify_target import azure_verify_target, options_from_answers

    target = azure_verify_target(session.conn, answers.resource_group.name, answers.cluster.name, kubeconfig)
    extra: dict[str, Any] = session.probe_pacing()
    if probes is not None:
        extra["probes"] = probes
    if billable:
        extra["billable"] = tuple(dict.fromkeys((*answers.verify.billable_probes, *billable)))
    return run_verification(target, options_from_answers(answers, simulated=session.simulator is not None, **extra),
                            on_result=on_result)


def conformance_forecast(answers: "Answers") -> "Forecast":
    """Which MUST requirements the answers cannot satisfy, why, and what to change (no Azure call)."""
    from wizard.conformance.forecast import forecast

    return forecast(answers)


def fetch_kubeconfig(session: Session, answers: "Answers") -> bytes:
    from wizard.azure.clusters import kubeconfig_for_this_run

    return kubeconfig_for_this_run(session.conn, answers.resource_group.name, answers.cluster.name)


@dataclass
class RunRecord:
    """What the TUI keeps of a run for the verification screen."""

    status: str
    kubeconfig: bytes | None = None
    failed_step: str | None = None
    failure: "AzureFailure | None" = None
    outputs: dict[str, Any] = field(default_factory=dict)
