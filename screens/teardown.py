"""Tear down what this wizard created: the journal's list, typed confirmation, progress, what was kept.

A modal over the verification screen. The list comes from wizard.interactive.teardown_preview (read-only,
in a thread worker); nothing is deleted until the user types the cluster name, as the CLI asks. The delete
steps run through the engine in a thread worker that only posts messages; handlers here update the rows.
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Input, Static

from screens.modals import DIALOG_KEYS
from screens.state import WizardState

if TYPE_CHECKING:
    from wizard.events import Event

COLUMNS = ("Step", "State", "Azure status", "Elapsed")


class TeardownModal(ModalScreen[str]):
    """Dismisses with the outcome: "done", "failed", "cancelled", or "" when nothing was deleted."""

    BINDINGS = [Binding("escape", "close", "Close"), *DIALOG_KEYS]

    class Planned(Message, bubble=False):
        def __init__(self, td: Any = None, failure: Any = None) -> None:
            super().__init__()
            self.td, self.failure = td, failure

    class TeardownEvent(Message, bubble=False):
        def __init__(self, event: "Event") -> None:
            super().__init__()
            self.event = event

    class Finished(Message, bubble=False):
        def __init__(self, status: str, failure: Any = None) -> None:
            super().__init__()
            self.status, self.failure = status, failure

    def __init__(self, state: WizardState, start: bool = True) -> None:
        super().__init__(classes="modal teardown")
        self.state = state
        self.start = start
        self.answers = state.plan.answers if state.plan is not None else state.draft.to_answers()
        self.journal: Any = None
        self.td: Any = None
        self.engine: Any = None
        self.running = False
        self.status = "planning"
        self.started_at: float | None = None

    def compose(self) -> ComposeResult:
        name = self.answers.cluster.name
        with Vertical(classes="dialog"):
            yield Static("Tear down what this wizard created", classes="dialog-title", markup=False)
            with VerticalScroll(id="td-scroll"):
                yield Static("Reading the journal and Azure (read-only)...", id="td-text", markup=False)
                table: DataTable[Any] = DataTable(id="td-progress", cursor_type="none")
                table.display = False
                yield table
            yield Static("", id="td-status", classes="dialog-warning", markup=False)
            confirm = Input(placeholder=name, id="td-confirm", compact=True)
            confirm.display = False
            yield confirm
            with Horizontal(classes="dialog-buttons"):
                yield Button("Delete", id="td-delete", variant="error", disabled=True, compact=True)
                yield Button("Close", id="td-close", variant="primary", compact=True)

    def on_mount(self) -> None:
        if self.app.is_headless:
            self.query_one("#td-confirm", Input).cursor_blink = False
        table = self.query_one("#td-progress", DataTable)
        for col in COLUMNS:
            table.add_column(col, key=col)
        if self.start:
            self.run_worker(self._plan, thread=True, group="teardown-plan", exclusive=True, exit_on_error=False,
                            description="read what a teardown deletes")

    # ------------------------------------------------------------------------------------------ plan
    def _plan(self) -> None:
        from wizard.interactive import failure_of, journal_for, teardown_preview

        try:
            self.journal = journal_for(self.state.save_path)
            td = teardown_preview(self.state.session, self.answers, self.journal)  # type: ignore[arg-type]
        except Exception as exc:  # noqa: BLE001 - a panel, never a traceback
            self.post_message(self.Planned(None, failure_of(exc)))
            return
        self.post_message(self.Planned(td))

    @on(Planned)
    def _planned(self, message: Planned) -> None:
        self.show_plan(message)

    def show_plan(self, message: Planned) -> None:
        from wizard.interactive import teardown_summary

        text = self.query_one("#td-text", Static)
        status = self.query_one("#td-status", Static)
        if message.failure is not None:
            self.status = "failed"
            text.update("Reading Azure failed:\n" + message.failure.render())
            return
        td = self.td = message.td
        text.update(teardown_summary(td))
        if td.empty:
            self.status = "empty"
            status.update("Nothing is deleted.")
            return
        self.status = "confirm"
        name = self.answers.cluster.name
        status.update(f"Type the cluster name ({name}) to delete the above. This cannot be undone.")
        confirm = self.query_one("#td-confirm", Input)
        confirm.display = True
        confirm.focus()

    @on(Input.Changed, "#td-confirm")
    def _typed(self, event: Input.Changed) -> None:
        event.stop()
        self.query_one("#td-delete", Button).disabled = event.value.strip() != self.answers.cluster.name

    @on(Input.Submitted, "#td-confirm")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.start_teardown()

    @on(Button.Pressed, "#td-delete")
    def _delete(self, event: Button.Pressed) -> None:
        event.stop()
        self.start_teardown()

    # ------------------------------------------------------------------------------------------ run
    def start_teardown(self) -> None:
        confirm = self.query_one("#td-confirm", Input)
        if self.status != "confirm" or confirm.value.strip() != self.answers.cluster.name:
            self.app.bell()
            return
        from wizard.render import fmt_seconds

        confirm.display = False
        self.query_one("#td-delete", Button).disabled = True
        self.query_one("#td-close", Button).label = "Stop"
        table = self.query_one("#td-progress", DataTable)
        for s in self.td.plan.steps:
            table.add_row(Text(s.id), "waiting", "", fmt_seconds(0), key=s.id)
        table.display = True
        self.query_one("#td-text").display = False  # the rows say the same, with their progress
        self.status = "running"
        self.running = True
        self.started_at = time.monotonic()
        self.query_one("#td-status", Static).update("Deleting...")
        self.run_worker(self._run, thread=True, group="teardown", exclusive=True, exit_on_error=False,
                        description="tear down")

    def _run(self) -> None:
        from wizard.interactive import failure_of, run_teardown

        try:
            result = run_teardown(self.state.session, self.td, self._sink, self.journal,  # type: ignore[arg-type]
                                  engine_ready=lambda e: setattr(self, "engine", e))
        except Exception as exc:  # noqa: BLE001
            self.post_message(self.Finished("failed", failure_of(exc)))
            return
        self.post_message(self.Finished(result.status, result.failure))

    def _sink(self, event: "Event") -> None:
        """Called on engine worker threads: post, never touch a widget."""
        self.post_message(self.TeardownEvent(event))

    @on(TeardownEvent)
    def _event(self, message: TeardownEvent) -> None:
        from wizard.render import fmt_seconds

        e = message.event
        table = self.query_one("#td-progress", DataTable)
        if e.step not in table.rows:
            return
        state = {"started": "running", "progress": "running", "log": None}.get(e.kind, e.kind)
        if state:
            table.update_cell(e.step, "State", Text(state), update_width=True)
        if e.status:
            table.update_cell(e.step, "Azure status", Text(e.status), update_width=True)
        if e.kind != "log" and (e.elapsed or e.kind in ("done", "failed")):
            table.update_cell(e.step, "Elapsed", fmt_seconds(e.elapsed))

    @on(Finished)
    def _finished(self, message: Finished) -> None:
        from wizard.interactive import teardown_kept
        from wizard.render import fmt_seconds

        self.running = False
        self.status = message.status
        self.query_one("#td-close", Button).label = "Close"
        took = fmt_seconds(time.monotonic() - self.started_at) if self.started_at else ""
        lines = {"done": [f"Teardown done in {took}."],
                 "cancelled": ["Stopped. Deletions Azure accepted keep running there."]}.get(
            message.status, ["Teardown failed: what was deleted stays deleted; run it again to finish."])
        if message.failure is not None:
            lines.append(message.failure.render())
        kept = teardown_kept(self.td)
        if kept:
            lines.append("Kept:")
            lines.extend(f"  - {k}" for k in kept)
        self.query_one("#td-status", Static).update("\n".join(lines))
        self.query_one("#td-close", Button).focus()

    # ------------------------------------------------------------------------------------------ close
    def cancel(self) -> None:
        if self.engine is not None and self.running:
            self.engine.cancel()
            self.query_one("#td-status", Static).update("Stopping after the current poll...")

    def cancel_note(self) -> str:
        return "A teardown is in progress: deletions Azure already accepted keep running there."

    def action_close(self) -> None:
        if self.running:
            self.cancel()
            return
        self.dismiss("" if self.status in ("planning", "confirm", "empty") else self.status)

    @on(Button.Pressed, "#td-close")
    def _close(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_close()
