"""`plan` and `apply` of an answers file with a `fleet` section: every member planned (reads only, re-attaching to
what its journal has in flight), then the fleet preflight; one failed item stops the whole fleet before any write;
`apply` then runs the fleet (wizard/fleet_apply.py).

Wiring (wizard/cli.py, after the answers loaded): if answers.fleet is not None: return run_fleet(args, answers)
"""
from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from wizard import exit_codes
from wizard.fleet import plans_text

if TYPE_CHECKING:
    from wizard.answers import Answers
    from wizard.output import Output
    from wizard.plan_model import Plan
    from wizard.session import Session


def planned(args: argparse.Namespace, answers: "Answers", out: "Output",
            journal: Any = None) -> "tuple[Session, list[Plan]] | int":
    """Open the session and plan every member (reads only); an exit code when that failed (explained). The caller
    closes the session."""
    from wizard.cli import _open
    from wizard.fleet import plan_members

    try:
        session = _open(args, answers)
    except Exception as exc:  # noqa: BLE001 - sign-in and subscription failures are results, not tracebacks
        return out.failure(exc)
    try:
        return session, plan_members(session.conn, answers, session.subscription,
                                     allow_update=getattr(args, "allow_update", False), journal=journal)
    except Exception as exc:  # noqa: BLE001
        session.close()
        return out.failure(exc)


def run_fleet(args: argparse.Namespace, answers: "Answers", out: "Output") -> int:
    from wizard.fleet_apply import member_journal
    from wizard.preflight.fleet import run_fleet_preflight

    assert answers.fleet is not None
    if args.command not in ("plan", "apply"):  # verify and teardown of a fleet have their own modules
        return out.fail(exit_codes.INVALID, f"{args.file}: describes a fleet of {answers.fleet.count} clusters; "
                        f"`{args.command}` of a fleet is not available in this version; nothing was sent to Azure",
                        f"run `{args.command}` for one member (-g/-n of its cluster), or plan/apply the fleet")
    answers_path = args.file.resolve()
    got = planned(args, answers, out, lambda name: member_journal(answers_path, name))
    if isinstance(got, int):
        return got
    session, plans = got
    try:
        try:
            preflight = run_fleet_preflight(session.conn, plans, prices=session.prices())
        except Exception as exc:  # noqa: BLE001
            return out.failure(exc)
        ok = all(pl.ok for pl in plans) and preflight.ok
        out.doc("fleet-plan", {"command": args.command, "ok": ok, "members": [pl.to_dict() for pl in plans],
                               "preflight": preflight.to_dict()})
        out.result(plans_text(plans, args.verbose > 0) + "\n\n" + preflight.text() + "\n")
        if args.command == "plan":
            return exit_codes.OK if ok else exit_codes.PLAN
        if not all(pl.ok for pl in plans) or (not preflight.ok and not args.skip_preflight):
            return out.fail(exit_codes.PLAN, "nothing was written to Azure: the whole fleet stops on a failed item",
                            "fix the members' problems and the failing preflight items listed above", category="plan")
        return _apply(args, plans, session, answers_path, out)
    finally:
        session.close()


def _apply(args: argparse.Namespace, plans: list["Plan"], session: Any, answers_path: Any, out: "Output") -> int:
    import time

    from wizard.fleet_apply import DEFAULT_PARALLEL, SUBSCRIPTION, FleetPrinter, FleetRun, summary_rows, table
    from wizard.interrupts import run_until_interrupted
    from wizard.render import fmt_seconds

    kdir = getattr(args, "kubeconfig_dir", None)
    if kdir is not None:
        kdir.mkdir(mode=0o700, parents=True, exist_ok=True)

    def options(name: str) -> Any:
        kubeconfig = kdir / f"{name}.kubeconfig" if kdir is not None and name != SUBSCRIPTION else None
        return session.run_options(kubeconfig_out=kubeconfig)

    run = FleetRun(session.conn, plans, answers_path, FleetPrinter(out, args.verbose > 0), options,
                   getattr(args, "parallel", None) or DEFAULT_PARALLEL)
    started = time.monotonic()
    result = run_until_interrupted(run.run, run.cancel, "every member stops after its current poll; operations "
                                   "Azure accepted keep running there and are in the members' journals")
    if result is None:
        return out.interrupted()
    took = fmt_seconds(time.monotonic() - started)
    code = {"done": exit_codes.OK, "failed": exit_codes.AZURE, "locked": exit_codes.INVALID}.get(
        result.status, exit_codes.INTERRUPTED)
    if result.status == "done":
        conformant = _closing_verification(args, plans, session, out)
        required = plans[0].answers.verify.require_conformance and not getattr(args, "conformance_not_required",
                                                                               False)
        if required and not conformant:
            code = exit_codes.NOT_CONFORMANT
            out.note("The fleet was built, but not every member passed every MUST requirement (see the table). Or "
                     "set verify.require_conformance: false (--conformance-not-required) if it need not conform.")
    out.doc("result", {"command": "apply", "status": result.status, "exit_code": code, "elapsed": took,
                       "members": [m.to_dict() for m in result.members]})
    if result.shared is not None and result.shared.status != "done":
        out.result(f"\nThe subscription-wide steps ended {result.shared.status} "
                   f"({result.shared.failed_step or 'interrupted'}); no member was started.")
    if result.members:
        out.result("\n" + table(summary_rows(result)))
    out.result(f"\nFleet {result.status} in {took}. Re-run the same command to resume: finished steps are not "
               "repeated." if result.status != "done" else f"\nFleet done in {took}.")
    return code


def _closing_verification(args: argparse.Namespace, plans: list["Plan"], session: Any, out: "Output") -> bool:
    """As one cluster's apply ends: every member proven against the checklist, one table for the fleet. True when
    every member passed every MUST requirement."""
    from wizard.fleet_apply import DEFAULT_PARALLEL
    from wizard.fleet_verify import verify_fleet

    return verify_fleet(session, [pl.answers for pl in plans], getattr(args, "parallel", None) or DEFAULT_PARALLEL,
                        getattr(args, "report", None), out)
