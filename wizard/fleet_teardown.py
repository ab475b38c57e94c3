"""`teardown` of an answers file with a `fleet` section: exactly what the fleet created, member by member.

Each member is torn down from its own journal (`<answers>.<cluster>.journal.jsonl`) by the rules of one cluster's
teardown (wizard/teardown.py: journal intent and provenance tags must agree). What the members share is decided
once, after every member: a shared resource group is recorded in the fleet's own journal (it was created once,
before the members) and is deleted only when nothing but what the members delete is in it; the region's default
Azure Monitor workspace stays, as for one cluster. Preview flags stay registered.

The members run in parallel (at most `--parallel` at a time, as apply): each deletes only its own cluster, pool
and data collection rule and endpoint, none of which another member uses, so nothing they share is touched
until the last member has finished; then the shared group, sequentially, last. Every member's deletions are
journalled as they happen, so a re-run after Ctrl-C plans only what is left.
"""
from __future__ import annotations

import argparse
import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wizard import exit_codes

if TYPE_CHECKING:
    from wizard.answers import Answers
    from wizard.azure.connection import ArmConnection
    from wizard.output import Output
    from wizard.teardown import TeardownPlan

FLEET = "fleet"  # the 'member' of what the members share (the shared journal's name)


@dataclass
class FleetTeardown:
    members: list[tuple[str, "TeardownPlan"]]  # member name -> its teardown (members with a journal)
    shared: "TeardownPlan | None"  # the shared resource group, after every member

    @property
    def empty(self) -> bool:
        return all(td.empty for _, td in self.members) and (self.shared is None or self.shared.empty)


def journals(answers: "Answers", answers_path: Path) -> list[Any]:
    """The fleet's journals that hold records: the shared one and every member's."""
    from wizard.fleet import members
    from wizard.fleet_apply import member_journal, shared_journal

    found = [shared_journal(answers_path)] + [member_journal(answers_path, m.name) for m in members(answers)]
    return [j for j in found if j.records()]


def plan_fleet_teardown(conn: "ArmConnection", answers: "Answers", answers_path: Path,
                        subscription: tuple[str, str], from_tags: bool = False) -> FleetTeardown:
    from wizard.azure.groups import get_group
    from wizard.fleet import members
    from wizard.fleet_apply import member_journal, shared_journal
    from wizard.plan_model import Deletion, Observed, Plan, check_steps
    from wizard.provenance import verdict
    from wizard.teardown import TeardownPlan, group_step, owned_from_journal, plan_teardown

    assert answers.fleet is not None
    shared_group = answers.fleet.resource_group == "shared"
    fleet = members(answers)
    planned = []
    for m in fleet:
        journal = member_journal(answers_path, m.name)
        if from_tags or journal.records():
            planned.append((m.name, plan_teardown(conn, m.answers, journal, subscription, from_tags=from_tags,
                                                  shared_group=shared_group)))
    journal = shared_journal(answers_path)
    # the shared steps ran from the first member's plan, with its provenance tags (wizard/fleet_apply.shared_plan)
    first = fleet[0].answers
    identity = member_journal(answers_path, fleet[0].name).identity(first)
    if not (from_tags or journal.records()):
        return FleetTeardown(planned, None)
    shared = TeardownPlan(Plan(first, Observed(*subscription), None), source="tags" if from_tags else "journal")
    shared.flags = sorted({r["flag"] for r in journal.records()
                           if r["event"] == "done" and r.get("registered") and r.get("flag")})
    rg = first.resource_group.name
    group = get_group(conn, rg) if shared_group else None
    if group is not None:
        owned = verdict(group.tags, identity).ours if from_tags else \
            "resource-group" in owned_from_journal(journal).steps

        def confirmed(what: str, resource: Any) -> bool:
            v = verdict(resource.tags, identity)
            if not v.ours:
                shared.kept.append(f"{what}: the fleet's journal says this wizard created it, but {v.said}; "
                                   "not deleted")
            return v.ours

        deleting = {s.payload.resource_id.lower() for _, td in planned for s in td.plan.steps
                    if isinstance(s.payload, Deletion) and s.payload.resource_id}
        gone = {name for name, td in planned if any(s.id == "delete-cluster" for s in td.plan.steps)}
        # a member's cluster that stays (not ours by its tags) is among the group's other resources
        step, why = group_step(conn, rg, group, owned, confirmed, deleting, gone, (), False, identity)
        if step is not None:
            shared.plan.steps.append(dataclasses.replace(
                step, title=f"delete resource group {rg} (created by this wizard for the fleet; empty once the "
                "members are gone)"))
        if why:
            shared.kept.append(why)
        check_steps(shared.plan.steps)
    return FleetTeardown(planned, shared)


def listing(ft: FleetTeardown, count: int) -> str:
    from wizard.teardown import teardown_text

    if ft.empty and not any(td.kept for _, td in ft.members):
        return f"Nothing to delete: the journals of this fleet of {count} record nothing this wizard created that " \
               "still exists."
    lines = [f"Fleet teardown ({len(ft.members)} of {count} members have a journal):"]
    for name, td in ft.members:
        lines.append(f"\n{name} ({td.plan.answers.resource_group.name}):")
        lines.extend("  " + line for line in teardown_text(td).splitlines())
    if ft.shared is not None and (ft.shared.plan.steps or ft.shared.kept or ft.shared.flags):
        lines.append("\nShared by the fleet (after every member):")
        lines.extend("  " + line for line in teardown_text(ft.shared).splitlines())
    return "\n".join(lines)


def run_fleet_teardown(args: argparse.Namespace, answers: "Answers", out: "Output") -> int:
    from wizard.cli import _open
    from wizard.teardown_cli import confirm
    from wizard.fleet_apply import DEFAULT_PARALLEL, FleetPrinter, FleetRun, summary_rows, table
    from wizard.interrupts import run_until_interrupted
    from wizard.render import fmt_seconds
    from wizard.teardown import teardown_doc

    assert answers.fleet is not None
    count = answers.fleet.count
    path = args.file.resolve()
    found = journals(answers, path)
    for journal in found:
        for warning in journal.warnings():
            out.note(f"warning: {warning}; if records were lost, teardown --from-tags finds what this wizard "
                     "created from the tags on Azure")
    if not found and not args.from_tags:
        out.doc("teardown-plan", {"members": [], "shared": None})
        out.doc("result", {"command": "teardown", "status": "nothing-to-do", "exit_code": exit_codes.OK,
                           "members": []})
        out.result(f"No journals beside {args.file} for its fleet of {count}: this wizard has created nothing "
                   "from it; nothing to delete. If the journals were lost, teardown --from-tags finds what it "
                   "created from the tags on Azure.")
        return exit_codes.OK
    try:
        session = _open(args, answers)
    except Exception as exc:  # noqa: BLE001 - sign-in and subscription failures are results, not tracebacks
        return out.failure(exc)
    try:
        try:
            ft = plan_fleet_teardown(session.conn, answers, path, session.subscription, args.from_tags)
        except Exception as exc:  # noqa: BLE001
            return out.failure(exc)
        out.doc("teardown-plan", {"members": [{"member": n, **teardown_doc(td)} for n, td in ft.members],
                                  "shared": {"member": FLEET, **teardown_doc(ft.shared)} if ft.shared else None})
        out.result(listing(ft, count))
        if ft.empty:
            out.doc("result", {"command": "teardown", "status": "nothing-to-do", "exit_code": exit_codes.OK,
                               "members": []})
            return exit_codes.OK
        if (refused := confirm(args, out, answers.cluster.name, f"the fleet's base cluster name "
                               f"({answers.cluster.name}) to delete all of the above")) is not None:
            return refused
        todo = [td.plan for _, td in ft.members if not td.empty]
        run = FleetRun(session.conn, todo, path, FleetPrinter(out, args.verbose > 0),
                       lambda _: session.run_options(), getattr(args, "parallel", None) or DEFAULT_PARALLEL)
        started = time.monotonic()

        def everything() -> Any:
            result = run.run_members(todo)
            if ft.shared is not None and not ft.shared.empty and result.status == "done":
                result.shared = run.run_shared(ft.shared.plan, FLEET)  # what the members shared, once none is left
            return result

        result = run_until_interrupted(everything, run.cancel, "every member stops after its current poll; "
                                       "what is deleted is in the members' journals")
        if result is None:
            return out.interrupted()
        code = {"done": exit_codes.OK, "failed": exit_codes.AZURE, "locked": exit_codes.INVALID}.get(
            result.status, exit_codes.INTERRUPTED)
        out.doc("result", {"command": "teardown", "status": result.status, "exit_code": code,
                           "elapsed": fmt_seconds(time.monotonic() - started),
                           "members": [m.to_dict() for m in result.members]})
        if result.members:
            out.result("\n" + table([r[:4] for r in summary_rows(result)]))
        flags = sorted(set(ft.shared.flags if ft.shared else []))
        out.result("Fleet teardown done." + (" The preview features listed above stay registered." if flags else "")
                   if result.status == "done" else
                   f"Fleet teardown {result.status}: run the same command again to delete the rest.")
        return code
    finally:
        session.close()
