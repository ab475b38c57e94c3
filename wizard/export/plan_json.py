"""`export --format json`: the plan of every member with the exact ARM requests its writes send."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wizard.plan_model import Plan

FORMAT = "aks-ai-wizard/plan-export"


def plan_document(plans: list["Plan"], source: str, version: str) -> dict[str, Any]:
    from wizard.export.arm import follow_up
    from wizard.export.requests import plan_requests

    return {"format": FORMAT, "version": 1, "generator": f"aks-ai-wizard {version}", "source": source,
            "members": [{"cluster": pl.answers.cluster.name, "resource_group": pl.answers.resource_group.name,
                         "plan": pl.to_dict(), "requests": [r.to_dict() for r in plan_requests(pl)],
                         "follow_up": follow_up(pl)} for pl in plans]}
