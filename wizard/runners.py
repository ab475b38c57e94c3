"""The one table of step runners the engine is handed: its own kinds (Azure Resource Manager writes, the kubeconfig),
the add-ons' and teardown's. Assembled here, by the callers that build an Engine, so that the engine imports neither
the add-ons nor teardown and nothing registers itself at import time.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wizard.engine import Runner


def runners() -> dict[str, "Runner"]:
    """step kind -> runner, for every kind a plan of apply or teardown holds."""
    from wizard.addons import ADDON_RUNNERS
    from wizard.engine import BUILTIN_RUNNERS
    from wizard.teardown import TEARDOWN_RUNNERS

    table: dict[str, Runner] = {**BUILTIN_RUNNERS}
    for extra in (ADDON_RUNNERS, TEARDOWN_RUNNERS):
        clash = set(table) & set(extra)
        if clash:  # a programming error: one kind, two runners
            raise ValueError(f"step kind(s) with two runners: {', '.join(sorted(clash))}")
        table.update(extra)
    return table
