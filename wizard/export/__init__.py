"""The plan exported for other tools: a bash script of `az` commands, an ARM deployment template, or the JSON
plan with the exact ARM request bodies. Every format is built from the plan (and the SDK models its steps carry),
never from a second description of the cluster.

    text = render(plans, "az" | "arm" | "json", source, version)
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wizard.plan_model import Plan

FORMATS = ("az", "arm", "json")


def render(plans: list["Plan"], fmt: str, source: str, version: str) -> str:
    if fmt == "az":
        from wizard.export.az import script

        return script(plans, source, version)
    if fmt == "arm":
        from wizard.export.arm import template

        return json.dumps(template(plans, source, version), indent=2) + "\n"
    from wizard.export.plan_json import plan_document

    return json.dumps(plan_document(plans, source, version), indent=2, default=str) + "\n"
