"""`plan` and `apply` of an answers file with a `fleet` section: every member planned (reads only), then the
fleet preflight; one failed item stops the whole fleet before any write.

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

EXIT_OK, EXIT_INVALID, EXIT_PLAN = 0, 1, 2


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


def run_fleet(args: argparse.Namespace, answers: "Answers") -> int:
    from wizard.cli import _failed, _open
    from wizard.fleet import plan_members
    from wizard.preflight.fleet import run_fleet_preflight

    assert answers.fleet is not None
    if args.command not in ("plan", "apply"):
        print(f"{args.file}: describes a fleet of {answers.fleet.count} clusters; `{args.command}` of a fleet is not "
              "available in this version. Nothing was sent to Azure.", file=sys.stderr)
        return EXIT_INVALID
    json_out = getattr(args, "output", "text") == "json"
    try:
        session = _open(args, answers)
    except Exception as exc:  # noqa: BLE001 - sign-in and subscription failures are results, not tracebacks
        return _failed(exc, json_out)
    try:
        try:
            plans = plan_members(session.conn, answers, session.subscription,
                                 allow_update=getattr(args, "allow_update", False))
            preflight = run_fleet_preflight(session.conn, plans, prices=session.prices())
        except Exception as exc:  # noqa: BLE001
            return _failed(exc, json_out)
    finally:
        session.close()
    ok = all(pl.ok for pl in plans) and preflight.ok
    if json_out:
        doc: dict[str, Any] = {"type": "fleet-plan", "ok": ok, "members": [pl.to_dict() for pl in plans],
                               "preflight": preflight.to_dict()}
        print(json.dumps(doc, default=str))
    else:
        print(plans_text(plans, args.verbose > 0))
        print("\n" + preflight.text(), flush=True)
    if args.command == "plan":
        return EXIT_OK if ok else EXIT_PLAN
    if not ok and not getattr(args, "skip_preflight", False):
        print("Nothing was written to Azure: the whole fleet stops on a failed item.", file=sys.stderr)
        return EXIT_PLAN
    print(f"`apply` of a fleet is not available in this version; nothing was written. `aks-ai-wizard export "
          f"{args.file} --format arm|az` writes the fleet for Azure's deployment engine or a script.",
          file=sys.stderr)
    return EXIT_INVALID
