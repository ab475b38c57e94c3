"""`aks-ai-wizard teardown FILE` of one cluster: the journal's resources listed, a typed confirmation (or --yes),
then the deletes through the engine. A fleet file goes to wizard/fleet_teardown.py, which shares `confirm`."""
from __future__ import annotations

import argparse
import sys
import time
from typing import TYPE_CHECKING

from wizard import exit_codes
from wizard.exit_codes import AZURE as EXIT_AZURE, INVALID as EXIT_INVALID, OK as EXIT_OK
from wizard.output import Output

if TYPE_CHECKING:
    from wizard.answers import Answers


def run_teardown(args: argparse.Namespace, answers: "Answers", out: Output) -> int:
    from wizard.cli import _locked, _open, _result_doc, _run_engine
    from wizard.engine import Engine
    from wizard.journal import Journal, JournalLocked
    from wizard.render import EventPrinter
    from wizard.runners import runners
    from wizard.teardown import plan_teardown, teardown_doc, teardown_text

    journal = Journal.for_answers(args.file.resolve())
    for warning in journal.warnings():
        out.note(f"warning: {warning}; if records were lost, teardown --from-tags finds what this wizard created "
                 "from the tags on Azure")
    if not journal.records() and not args.from_tags:
        out.doc("teardown-plan", {"deletes": [], "kept": [], "flags": []})
        out.doc("result", {"command": "teardown", "status": "nothing-to-do", "exit_code": EXIT_OK,
                           "journal": str(journal.path)})
        out.result(f"No journal at {journal.path}: this wizard has created nothing from {args.file}; nothing to "
                   "delete. If the journal was lost, teardown --from-tags finds what it created from the tags on "
                   "Azure.")
        return EXIT_OK
    try:
        session = _open(args, answers)
    except Exception as exc:  # noqa: BLE001
        return out.failure(exc)
    try:
        with journal.lock():
            try:
                td = plan_teardown(session.conn, answers, journal, session.subscription, from_tags=args.from_tags)
            except Exception as exc:  # noqa: BLE001
                return out.failure(exc)
            out.doc("teardown-plan", teardown_doc(td))
            out.result(teardown_text(td))
            if td.empty:
                out.doc("result", {"command": "teardown", "status": "nothing-to-do", "exit_code": EXIT_OK,
                                   "journal": str(journal.path)})
                return EXIT_OK
            if (refused := confirm(args, out, answers.cluster.name,
                                   f"the cluster name ({answers.cluster.name}) to delete the above")) is not None:
                return refused
            printer = EventPrinter(out, verbose=args.verbose > 0)
            started = time.monotonic()
            result = _run_engine(Engine(session.conn, td.plan, printer, journal, session.run_options(), runners()), out)
            code = {"done": EXIT_OK, "failed": EXIT_AZURE}.get(result.status, exit_codes.INTERRUPTED)
            _result_doc(out, "teardown", result, code, started, journal)
            if result.status == "done":
                out.result("Teardown done." + (" The preview features listed above stay registered."
                                               if td.flags else ""))
            elif result.status == "cancelled":
                out.note("interrupted: run the same command again to delete the rest")
            return code
    except JournalLocked as exc:
        return _locked(out, exc)
    finally:
        session.close()


def confirm(args: argparse.Namespace, out: Output, name: str, what: str) -> int | None:
    """Teardown's typed confirmation (or --yes): None to go on, else the exit code of the refusal."""
    if args.yes:
        return None
    if not sys.stdin.isatty():
        return out.fail(EXIT_INVALID, "refusing to delete without confirmation: no terminal to ask on",
                        "re-run with --yes")
    out.note(f"\nType {what}: ")
    if sys.stdin.readline().strip() != name:  # the prompt on stderr: stdout stays JSON with --output json
        return out.fail(EXIT_INVALID, "the name did not match; nothing was deleted",
                        f"type {name} exactly, or run with --yes")
    return None
