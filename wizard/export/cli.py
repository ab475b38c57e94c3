"""`aks-ai-wizard export FILE --format az|arm|json [-o PATH]`: reads Azure like `plan` (never writes), then
writes the plan as a bash script, an ARM deployment template or the JSON plan with the exact request bodies.

Exit codes: 0 exported, 1 invalid input, 2 the plan cannot be applied (nothing exported), 3 an Azure read failed.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from wizard import exit_codes
from wizard.export import FORMATS

if TYPE_CHECKING:
    from wizard.answers import Answers
    from wizard.output import Output


def add_export_parser(subparsers: Any, add_global_options: Callable[[argparse.ArgumentParser], Any]) -> None:
    help_ = ("export the plan as a bash script of az commands, an ARM deployment template, or the JSON plan with "
             "the exact ARM request bodies; reads Azure like plan, writes nothing there")
    p = subparsers.add_parser("export", help=help_, description=help_,
                              epilog="Exit codes: 0 exported, 1 invalid input, 2 the plan cannot be applied "
                                     "(nothing exported), 3 an Azure read failed.")
    add_global_options(p)
    p.add_argument("file", type=Path, help="answers file (YAML)")
    p.add_argument("--format", choices=FORMATS, required=True,
                   help="az: bash script (shellcheck-clean); arm: subscription-scope deployment template; "
                        "json: plan with the ARM requests")
    p.add_argument("-o", "--output-file", type=Path, metavar="PATH", help="write to PATH instead of standard output")
    p.add_argument("--allow-update", action="store_true", help="plan updates to resources that exist and differ")


def run_export(args: argparse.Namespace, answers: "Answers", out: "Output") -> int:
    from wizard.cli import _version
    from wizard.export import render
    from wizard.fleet_cli import planned

    got = planned(args, answers, out)
    if isinstance(got, int):
        return got
    session, plans = got
    session.close()  # everything was read
    problems = [f"{pl.answers.cluster.name}: {pr}" for pl in plans for pr in pl.problems]
    if problems:
        return out.fail(exit_codes.PLAN, "the plan cannot be applied, so it was not exported",
                        "fix what is listed, then export again", why="\n".join(f"  - {x}" for x in problems),
                        category="plan")
    from wizard.export.arm import ExportError, fleet_follow_up

    try:
        text = render(plans, args.format, args.file.name, _version())
    except ExportError as exc:
        return out.fail(exit_codes.PLAN, str(exc), "change the answers so the plan can be exported", category="plan")
    if args.output_file:
        args.output_file.write_text(text, encoding="utf-8")
        if args.format == "az":
            os.chmod(args.output_file, 0o755)
        print(f"wrote {args.output_file} ({args.format})", file=sys.stderr)
    else:
        sys.stdout.write(text)
    if args.format == "arm":
        follow = fleet_follow_up(plans)
        print("\n# Not expressible in a template: run these yourself (also in the template's metadata.followUp)",
              file=sys.stderr)
        for when, snippets in (("before", follow["before"]), ("after", follow["after"])):
            print(f"\n# {when} `az deployment sub create`:\n" + ("\n\n".join(snippets) or "# (nothing)"),
                  file=sys.stderr)
    return exit_codes.OK
