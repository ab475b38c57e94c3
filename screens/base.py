"""The step screen every wizard step derives from: header, form body, inline errors, Back/Next, footer.

Rules kept here so each step only describes its fields:
- `store()` writes the widgets into the draft; it runs on Next *and* on Back (Back never loses answers).
- Next is refused while a field rule (as typed) or the answers model (on Next) finds a problem; the reason
  is shown under the field it concerns.
- Live reads run in thread workers (`fetch`) that only post `Fetched` messages; handlers update widgets.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, Callable

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widget import Widget
from textual.validation import ValidationResult, Validator
from textual.widgets import Button, Checkbox, Input, OptionList, Select, Static

from screens.choice import ChoiceList
from screens.state import WizardState, step_info
from screens.widgets import Field, KeyBar, NavButton, StepHeader, field_id

if TYPE_CHECKING:
    from wizard.failure import AzureFailure


class Rule(Validator):
    """A Textual validator that is a thin adapter over one of the answers model's own rules."""

    def __init__(self, check: Callable[..., str | None] | None, *args: Any, integer: bool = False,
                 optional: bool = False) -> None:
        super().__init__()
        self.check = check
        self.args = args
        self.integer = integer
        self.optional = optional

    def convert(self, value: str) -> Any:
        return int(value.strip()) if self.integer else value

    def validate(self, value: str) -> ValidationResult:
        if not value.strip():
            return self.success() if self.optional else self.failure("required")
        try:
            converted = self.convert(value)
        except ValueError:
            return self.failure(f"expected a whole number (got {value!r})")
        message = self.check(converted, *self.args) if self.check else None
        return self.failure(message) if message else self.success()


def int_or_none(value: str) -> int | None:
    try:
        return int(value.strip())
    except ValueError:
        return None


@dataclass(frozen=True)
class Nav:
    """How a step screen was left: next, back, or goto a named step (e.g. the step that fixes a failure)."""

    kind: str
    target: str | None = None


NEXT, BACK = Nav("next"), Nav("back")


class StepScreen(Screen[Nav]):
    STEP = ""
    NEXT_LABEL = "Next"
    AUTO_FOCUS = ""  # focus_first() chooses; Textual's pick (the scrolling body) would be restyled twice
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("ctrl+n", "next", "Next"),
        # the form scrolls from wherever focus is (a list or table that has focus pages itself first)
        Binding("pagedown", "scroll_body('page_down')", "Scroll the form down", show=False),
        Binding("pageup", "scroll_body('page_up')", "Scroll the form up", show=False),
    ]

    @dataclass
    class Fetched(Message, bubble=False):
        """A live read finished (in a worker thread); handled on the UI thread."""

        key: str
        result: Any = None
        failure: "AzureFailure | None" = None

    def __init__(self, state: WizardState) -> None:
        super().__init__(classes=f"step step-{self.STEP}")
        self.state = state
        self.draft = state.draft
        self.leaving = False  # store() runs for Next/Back/goto (True) or for a save or quit on the way (False)
        self.left = False  # dismissed: a late key press or live read must not dismiss it twice

    # ------------------------------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        yield StepHeader(self.STEP, step_info(self.STEP).title, self.state.simulated)
        with VerticalScroll(id="body"):
            yield from self.form()
        with Horizontal(id="nav"):
            yield NavButton("Back", id="back", disabled=self.STEP == "welcome", compact=True)
            yield Static("", id="nav-status", markup=False)
            yield NavButton(self.NEXT_LABEL, id="next", variant="primary", compact=True)
        yield KeyBar()

    def form(self) -> ComposeResult:  # pragma: no cover - every step overrides
        yield from ()

    def on_mount(self) -> None:
        if self.app.is_headless:
            for inp in self.query(Input):
                inp.cursor_blink = False  # deterministic snapshots
        self.load()
        self.focus_first()
        self.flag_musts()
        if self.state.note:
            self.set_status(self.state.note)
            self.state.note = ""

    def focus_first(self) -> None:
        for widget in self.query("#body Input, #body OptionList, #body Select, #body RadioSet, #body Checkbox"):
            if widget.focusable and not widget.disabled and widget.display:
                widget.focus()
                return
        self.query_one("#next", Button).focus()

    def load(self) -> None:
        """Start live reads (override)."""

    # ------------------------------------------------------------------------------------------ answers
    def store(self) -> None:
        """Write the widgets into the draft (override); no validation here."""

    def field_checks(self) -> dict[str, str]:
        """Field rules on Next: every visible Input of a Field through its Rule validators."""
        out: dict[str, str] = {}
        for f in self.query(Field):
            if not f.display or not isinstance(f.control, Input) or f.control.disabled:
                continue
            if any(not a.display for a in f.ancestors if hasattr(a, "display")):
                continue
            result = f.control.validate(f.control.value)
            if result is not None and not result.is_valid:
                out[f.path] = result.failure_descriptions[0]
        out.update(self.extra_checks())
        return out

    def extra_checks(self) -> dict[str, str]:
        """Rules that involve more than one widget (override)."""
        return {}

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        """Inline validation as typed: the field's own rule, message under the field."""
        field = next((a for a in event.input.ancestors if isinstance(a, Field)), None)
        if field is None or event.validation_result is None:
            return
        if not event.value.strip():
            field.set_error(None)
            return
        field.set_error(None if event.validation_result.is_valid else event.validation_result.failure_descriptions[0])

    @on(Checkbox.Changed)
    def flag_musts(self) -> None:
        """Under each switch a MUST requirement relies on: the requirement it breaks while switched off."""
        boxes = [b for b in self.query(Checkbox) if getattr(b, "must_path", None)]
        if not boxes:
            return
        from screens.state import Draft
        from wizard.interactive import broken_musts

        probe = Draft(self.draft.copy())
        off = {b.must_path for b in boxes if not b.value}  # type: ignore[attr-defined]
        for box in boxes:  # what the switches say now, before Next stores them
            path: str = box.must_path  # type: ignore[attr-defined]
            if any(path.startswith(parent + ".") for parent in off):
                continue  # under a switch that is off (the GPU pool): nothing to set
            if path.startswith("gpu_pool"):
                current = probe.get(path)
                probe.set(path, (current if isinstance(current, dict) and current else {"min": 1, "max": 3})
                          if box.value else None)
                if path == "gpu_pool" and not box.value:
                    probe.delete("gpu_pools")  # switched off: no pool of the list either
            else:
                probe.set(path, box.value)
        broken = broken_musts(probe.data)
        for box in boxes:
            warning = self.query_one(f"#must-{box.id}", Static)
            text = broken.get(box.must_path, "")  # type: ignore[attr-defined]
            warning.update(text)
            warning.display = bool(text)

    @on(Select.Changed)
    def _picked(self, event: Select.Changed) -> None:
        """A valid pick clears the error under its field."""
        field = next((a for a in event.select.ancestors if isinstance(a, Field)), None)
        if field is not None and event.value not in (Select.NULL, ""):
            field.set_error(None)

    def ready(self) -> str | None:
        """Anything else that must happen before Next (e.g. a list still loading); a reason or None."""
        return None

    def set_status(self, text: str) -> None:
        self.query_one("#nav-status", Static).update(text)

    def show_errors(self, errors: dict[str, str]) -> None:
        """Put each message under its field; those without a field go to the line above the buttons."""
        for f in self.query(Field):
            f.set_error(None)
        loose = []
        first: Field | None = None
        for path, message in errors.items():
            target = self._field_for(path)
            if target is not None:
                target.set_error(message)
                first = first or target
            else:
                loose.append(f"{path}: {message}" if path else message)
        shown = self.query_children("#step-errors")
        if shown:
            shown.first(Static).update("\n".join(loose))
        elif loose:
            self.mount(Static("\n".join(loose), id="step-errors", markup=False), before="#nav")
        if first is not None and first.control.focusable:
            first.control.focus()
            first.scroll_visible()

    def _field_for(self, path: str) -> Field | None:
        path = re.sub(r"\[.*$", "", path)
        while path:
            found = self.query(f"#{field_id(path)}")
            if found:
                widget = found.first()
                return widget if isinstance(widget, Field) else None
            path = path.rpartition(".")[0]
        return None

    def validate_step(self) -> dict[str, str]:
        errors = {p: m for p, m in self.field_checks().items() if m}
        if errors:
            return errors
        for e in self.draft.errors_for(self.STEP):
            if not e.message.startswith("unknown key"):  # no field here can fix it: Review offers to drop it
                errors.setdefault(e.path, e.message)
        return errors

    # ------------------------------------------------------------------------------------------ navigation
    def dismiss(self, result: Nav | None = None) -> Any:
        if self.left:
            return None
        self.left = True
        return super().dismiss(result)

    def action_next(self) -> None:
        if self.left:
            return
        self.leaving = True
        self.store()
        reason = self.ready()
        if reason:
            self.show_errors({"": reason})
            return
        errors = self.validate_step()
        self.show_errors(errors)
        if errors:
            self.app.bell()
            return
        self.proceed()

    def proceed(self) -> None:
        """Called once the step is valid (override to do work first, e.g. sign in)."""
        self.dismiss(NEXT)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The first step has no Back: hidden from the key bar, and escape does nothing there."""
        return not (action == "back" and self.STEP == "welcome")

    def action_scroll_body(self, how: str) -> None:
        body = self.query_one("#body")
        getattr(body, f"scroll_{how}")(animate=False)

    def action_back(self) -> None:
        self.leaving = True
        self.store()
        self.dismiss(BACK)

    def goto(self, step: str) -> None:
        self.leaving = True
        self.store()
        self.dismiss(Nav("goto", step))

    @on(Button.Pressed, "#next")
    def _next_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_next()

    @on(Button.Pressed, "#back")
    def _back_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_back()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_next()

    @on(OptionList.OptionSelected)
    def _option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()  # a click only highlights (chooses) an option

    @on(ChoiceList.Chosen)
    def _chosen(self, event: ChoiceList.Chosen) -> None:
        """Enter on a choice list: keep the highlighted choice and go on, like Enter in an input."""
        event.stop()
        self.action_next()

    # ------------------------------------------------------------------------------------------ live reads
    def fetch(self, key: str, fn: Callable[..., Any], *args: Any) -> None:
        """Run `fn(*args)` in a thread worker; the result arrives as a Fetched message."""
        self.run_worker(partial(self._fetch, key, fn, args), thread=True, group=f"fetch-{key}", exclusive=True,
                        exit_on_error=False, description=f"read {key}")

    def _fetch(self, key: str, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        try:
            result = fn(*args)
        except Exception as exc:  # noqa: BLE001 - shown as a panel, never a traceback
            from wizard.interactive import failure_of

            self.post_message(self.Fetched(key, None, failure_of(exc)))
            return
        self.post_message(self.Fetched(key, result))

    @on(Fetched)
    def _fetched(self, message: Fetched) -> None:
        if message.failure is not None:
            self.fetch_failed(message.key, message.failure)
        else:
            self.fetched(message.key, message.result)

    def fetched(self, key: str, result: Any) -> None:
        """A live read arrived (override)."""

    def fetch_failed(self, key: str, failure: "AzureFailure") -> None:
        from screens.widgets import ErrorPanel
        from screens.state import step_for_path

        for old in self.query(".error-panel"):
            old.remove()
        fix = step_for_path(failure.fix_field) if failure.fix_field else None
        fix = fix if fix and fix not in (self.STEP, "review") else None
        panel = ErrorPanel(failure, f"reading {key}", fix, step_info(fix).title if fix else None)
        self.query_one("#body").mount(panel, before=0)
        self.set_status(f"Could not read {key}")

    @on(Button.Pressed, "#fix")
    def _fix_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        panel = event.button.ancestors_with_self
        for node in panel:
            if getattr(node, "fix_step", None):
                self.goto(node.fix_step)  # type: ignore[attr-defined]
                return

    @on(Button.Pressed, "#close")
    def _close_panel(self, event: Button.Pressed) -> None:
        event.stop()
        for node in event.button.ancestors_with_self:
            if isinstance(node, Widget) and node.has_class("error-panel"):
                node.remove()
                return
