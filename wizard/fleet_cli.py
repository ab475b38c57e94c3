"""`plan` and `apply` of an answers file with a `fleet` section: every member planned (reads only, re-attaching to
what its journal has in flight), then the fleet preflight; one failed item stops the whole fleet before any write;
`apply` then runs the fleet (wizard/fleet_apply.py).

Wiring (wizard/cli.py, after the answers loaded): if answers.fleet is not None: return run_fleet(args, answers)
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wizard.answers import Answers
    from wizard.plan import Plan
    from wizard.session import Session

EXIT_OK, EXIT_INVALID, EXIT_PLAN, EXIT_AZURE, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


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


def planned(args: argparse.Namespace, answers: "Answers", journal: Any = None) -> "tuple[Session, list[Plan]] | int":
    """Open the session and plan every member (reads only); an exit code when that failed (explained). The caller
    closes the session."""
    from wizard.cli import _failed, _open
    from wizard.fleet import plan_members

    json_out = getattr(args, "output", "text") == "json"
    try:
        session = _open(args, answers)
    except Exception as exc:  # noqa: BLE001 - sign-in and subscription failures are results, not tracebacks
        return _failed(exc, json_out)
    try:
        return session, plan_members(session.conn, answers, session.subscription,
                                     allow_update=getattr(args, "allow_update", False), journal=journal)
    except Exception as exc:  # noqa: BLE001
        session.close()
        return _failed(exc, json_out)


def run_fleet(args: argparse.Namespace, answers: "Answers") -> int:
    from wizard.cli import _failed
    from wizard.fleet_apply import member_journal
    from wizard.preflight.fleet import run_fleet_preflight

    assert answers.fleet is not None
    if args.command not in ("plan", "apply"):
        print(f"{args.file}: describes a fleet of {answers.fleet.count} clusters; `{args.command}` of a fleet is not "
              "available in this version. Nothing was sent to Azure.", file=sys.stderr)
        return EXIT_INVALID
    json_out = getattr(args, "output", "text") == "json"
    answers_path = args.file.resolve()
    got = planned(args, answers, lambda name: member_journal(answers_path, name))
    if isinstance(got, int):
        return got
    session, plans = got
    try:
        try:
            preflight = run_fleet_preflight(session.conn, plans, prices=session.prices())
        except Exception as exc:  # noqa: BLE001
            return _failed(exc, json_out)
        ok = all(pl.ok for pl in plans) and preflight.ok
        if json_out:
            doc: dict[str, Any] = {"type": "fleet-plan", "ok": ok, "members": [pl.to_dict() for pl in plans],
                                   "preflight": preflight.to_dict()}
            print(json.dumps(doc, default=str), flush=True)
        else:
            print(plans_text(plans, args.verbose > 0))
            print("\n" + preflight.text() + "\n", flush=True)
        if args.command == "plan":
            return EXIT_OK if ok else EXIT_PLAN
        if not all(pl.ok for pl in plans) or (not preflight.ok and not args.skip_preflight):
            print("Nothing was written to Azure: the whole fleet stops on a failed item.", file=sys.stderr)
            return EXIT_PLAN
        return _apply(args, plans, session, answers_path, json_out)
    finally:
        session.close()


def _apply(args: argparse.Namespace, plans: list["Plan"], session: Any, answers_path: Any, json_out: bool) -> int:
    import time

    from wizard.fleet_apply import DEFAULT_PARALLEL, SUBSCRIPTION, FleetPrinter, FleetRun, summary_rows, table
    from wizard.interrupts import run_until_interrupted
    from wizard.render import fmt_seconds

    kdir = getattr(args, "kubeconfig_dir", None)
    if kdir is not None:
        kdir.mkdir(mode=0o700, parents=True, exist_ok=True)

    def options(name: str) -> Any:
        out = kdir / f"{name}.kubeconfig" if kdir is not None and name != SUBSCRIPTION else None
        return session.run_options(kubeconfig_out=out)

    run = FleetRun(session.conn, plans, answers_path, FleetPrinter(json_out, args.verbose > 0), options,
                   getattr(args, "parallel", None) or DEFAULT_PARALLEL)
    started = time.monotonic()
    result = run_until_interrupted(run.run, run.cancel, "every member stops after its current poll; operations "
                                   "Azure accepted keep running there and are in the members' journals")
    if result is None:
        return EXIT_INTERRUPTED
    took = fmt_seconds(time.monotonic() - started)
    if json_out:
        print(json.dumps({"type": "result", "status": result.status, "elapsed": took,
                          "members": [{"member": m.name, "status": m.status, "failed_step": m.failed_step,
                                       "kubeconfig": str(m.kubeconfig) if m.kubeconfig else None,
                                       "journal": str(m.journal) if m.journal else None,
                                       "failure": m.failure.to_dict() if hasattr(m.failure, "to_dict") else m.failure}
                                      for m in result.members]}, default=str), flush=True)
    else:
        if result.shared is not None and result.shared.status != "done":
            print(f"\nThe subscription-wide steps ended {result.shared.status} "
                  f"({result.shared.failed_step or 'interrupted'}); no member was started.")
        if result.members:
            print("\n" + table(summary_rows(result)))
        print(f"\nFleet {result.status} in {took}. Re-run the same command to resume: finished steps are not "
              "repeated." if result.status != "done" else f"\nFleet done in {took}.")
    if result.status == "done":
        _closing_verification(args, plans, session, json_out)
    return {"done": EXIT_OK, "failed": EXIT_AZURE, "locked": EXIT_INVALID}.get(result.status, EXIT_INTERRUPTED)


def _closing_verification(args: argparse.Namespace, plans: list["Plan"], session: Any, json_out: bool) -> None:
    """As one cluster's apply ends: every member proven against the checklist, one table for the fleet."""
    from wizard.fleet_apply import DEFAULT_PARALLEL, table
    from wizard.fleet_verify import matrix, verify_members

    report_dir = getattr(args, "report", None)
    if not json_out:
        print(f"\nVerifying {len(plans)} members against Kubernetes AI Conformance "
              f"v{plans[0].answers.verify.checklist}", flush=True)
    results = verify_members(session, plans, getattr(args, "parallel", None) or DEFAULT_PARALLEL, report_dir)
    if json_out:
        print(json.dumps({"type": "fleet-verification",
                          "members": [{"member": name, "error": why or None,
                                       **({"report": report.to_dict()} if report else {})}
                                      for name, report, why in results]}, default=str), flush=True)
        return
    print(table(matrix(results)))
    if report_dir is not None:
        print(f"reports: {report_dir}/<cluster>/ (report.md, report.json, PRODUCT.yaml)")
