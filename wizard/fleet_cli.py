"""`plan`, `apply` and `teardown` of an answers file with a `fleet` section.

Wiring (wizard/cli.py, after the answers loaded): if answers.fleet is not None: return run_fleet(args, answers)
"""
from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wizard.answers import Answers

EXIT_INVALID = 1


def run_fleet(args: argparse.Namespace, answers: "Answers") -> int:
    assert answers.fleet is not None
    print(f"{args.file}: describes a fleet of {answers.fleet.count} clusters; `{args.command}` of a fleet is not "
          "available in this version. Nothing was sent to Azure. `aks-ai-wizard export` writes the fleet as an az "
          "script or an ARM template (one copy loop).", file=sys.stderr)
    return EXIT_INVALID
