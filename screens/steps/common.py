"""What every step module shares: the answers rules, switches with their MUST warning, answers written only
when they say something (a default the file never named stays unnamed, so a saved file keeps its shape)."""
from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Checkbox, Static

from screens.state import Draft


def _rules() -> Any:
    from wizard.answers import rules

    return rules


def _minor(version: str | None) -> str:
    return ".".join(str(version or "").split(".")[:2])


def switch_row(label: str, value: bool, wid: str, hint: str = "", must: str | None = None) -> ComposeResult:
    """A switch with its hint; `must` names the answers path whose switching off breaks a MUST requirement
    (wizard.interactive.REQUIREMENT_OF_OPTION): the warning line under it says so while it is off."""
    with Vertical(classes="switch-row"):
        box = Checkbox(Content(label), value=value, id=wid, compact=True)
        box.must_path = must  # type: ignore[attr-defined]
        yield box
        if hint:
            yield Static(hint, classes="field-hint", markup=False)
        if must:
            warning = Static("", id=f"must-{wid}", classes="must-warning", markup=False)
            warning.display = False
            yield warning


def set_answer(draft: Draft, path: str, value: Any) -> None:
    """Write the answer when it is worth writing (wizard.interactive.worth_writing)."""
    from wizard.interactive import worth_writing

    if worth_writing(path, value, draft.has(path)):
        draft.set(path, value)


def split_list(value: str) -> list[str]:
    """A comma-separated field as typed (taints, labels, IP ranges, group ids) into its items."""
    return [p.strip() for p in value.split(",") if p.strip()]
