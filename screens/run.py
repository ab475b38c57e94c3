"""Step 10: run the plan with the real engine; a row per step, a log, cancel, failures with their fix.

The engine runs in a thread worker owned by this screen; the screen is never dismissed while it runs.
Its events arrive through the sink *on worker threads*: the sink only posts messages, handlers here
update the table and the log.
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Button, DataTable, RichLog, Static

from screens.base import NEXT, Nav
from screens.modals import ConfirmModal
from screens.state import WizardState, step_for_path, step_info
from screens.widgets import ErrorPanel, KeyBar, StepHeader

if TYPE_CHECKING:
    from wizard.events import Event
    from wizard.plan import Plan

# which wizard step can fix a failed engine step when Azure names no answers path
STEP_FIX = {"resource-group": "location", "feature": "features", "provider": "features", "cluster": "cluster",
            "gpu-pool": "gpu", "kubeconfig": "cluster"}
COLUMNS = ("Step", "State", "Azure status", "Elapsed", "Typical")


def fix_step_for(failure: Any, failed_step: str | None) -> str | None:
    if failure is not None and getattr(failure, "fix_field", None):
        step = step_for_path(failure.fix_field)
        if step != "review":
            return step
    if failed_step:
        return STEP_FIX.get(failed_step.split(":")[0])
    return None


class RunScreen(Screen[Nav]):
    BINDINGS = [
        Binding("escape", "cancel_or_back", "Cancel / back"),
        Binding("ctrl+n", "continue", "Verify"),
    ]

    class EngineEvent(Message, bubble=False):
        def __init__(self, event: "Event") -> None:
            super().__init__()
            self.event = event

    class Finished(Message, bubble=False):
        def __init__(self, status: str, failed_step: str | None = None, failure: Any = None,
                     kubeconfig: bytes | None = None) -> None:
            super().__init__()
            self.status, self.failed_step, self.failure, self.kubeconfig = status, failed_step, failure, kubeconfig

    def __init__(self, state: WizardState, plan: "Plan", start: bool = True) -> None:
        super().__init__(classes="step step-run")
        self.state = state
        self.plan = plan
        self.start = start
        self.engine: Any = None
        self.running = False
        self.status = "pending"
        self.started_at: float | None = None
        self.last: dict[str, tuple[float, float]] = {}  # step -> (elapsed reported, monotonic when reported)
        self.step_state: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        yield StepHeader("run", "Run", self.state.simulated)
        with Vertical(id="body"):
            yield DataTable(id="steps", cursor_type="row", zebra_stripes=True)
            yield Vertical(id="failure")
            yield RichLog(id="log", max_lines=2000, wrap=True, markup=False, highlight=False, min_width=20)
        yield Static("", id="run-status", markup=False)
        with Horizontal(id="nav"):
            yield Button("Cancel run", id="cancel", variant="error", compact=True)
            yield Button("Back to review", id="to-review", disabled=True, compact=True)
            yield Button("Continue to verification", id="continue", variant="primary", disabled=True, compact=True)
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#log").border_title = "Log"
        table = self.query_one("#steps", DataTable)
        for col in COLUMNS:
            table.add_column(col, key=col)
        from wizard.render import fmt_seconds

        for s in self.plan.steps:
            table.add_row(Text(s.id), "waiting", "", "", fmt_seconds(s.typical) if s.typical else "", key=s.id)
            self.step_state[s.id] = "waiting"
        if not self.app.is_headless:
            self.set_interval(1.0, self._tick)
        if self.start:
            self.start_run()

    # ------------------------------------------------------------------------------------------ the run
    def start_run(self) -> None:
        from wizard.interactive import journal_for, make_engine

        journal = journal_for(self.state.save_path)
        self.journal_path = journal.path
        self.engine = make_engine(self.state.session, self.plan, self._sink, journal)  # type: ignore[arg-type]
        self.running = True
        self.state.run_in_flight = True
        self.started_at = time.monotonic()
        self.query_one("#run-status", Static).update(f"Running. Journal: {journal.path}")
        self.run_worker(self._run, thread=True, group="engine", exclusive=True, exit_on_error=False,
                        description="run the plan")

    def _sink(self, event: "Event") -> None:
        """Called on engine worker threads: post, never touch a widget."""
        self.post_message(self.EngineEvent(event))

    def _run(self) -> None:
        from wizard.interactive import failure_of, run_engine

        try:
            result = run_engine(self.engine)
        except Exception as exc:  # noqa: BLE001 - a journal lock, a crash: a panel, never a traceback
            self.post_message(self.Finished("failed", None, failure_of(exc)))
            return
        self.post_message(self.Finished(result.status, result.failed_step, result.failure, result.kubeconfig))

    def cancel(self) -> None:
        if self.engine is not None and self.running:
            self.engine.cancel()
            self.query_one("#run-status", Static).update("Cancelling after the current poll...")

    # ------------------------------------------------------------------------------------------ events
    @on(EngineEvent)
    def _event(self, message: EngineEvent) -> None:
        self.apply_event(message.event)

    def apply_event(self, e: "Event") -> None:
        from wizard.render import fmt_seconds

        table = self.query_one("#steps", DataTable)
        if e.step in table.rows:
            state = {"started": "running", "progress": "running", "log": None}.get(e.kind, e.kind)
            if state:
                self.step_state[e.step] = state
                table.update_cell(e.step, "State", Text(state), update_width=True)
            if e.status:
                table.update_cell(e.step, "Azure status", Text(e.status), update_width=True)
            if e.kind != "log":
                self.last[e.step] = (e.elapsed, time.monotonic())
                if e.elapsed or e.kind in ("done", "failed"):
                    table.update_cell(e.step, "Elapsed", fmt_seconds(e.elapsed))
        if e.kind == "progress" and not e.message:
            return
        line = f"{e.kind:<9} {e.step}: {e.message}"
        if e.kind in ("done", "failed") and e.elapsed:
            line += f" [{fmt_seconds(e.elapsed)}]"
        self.query_one("#log", RichLog).write(Text(line))

    def _tick(self) -> None:
        from wizard.render import fmt_seconds

        table = self.query_one("#steps", DataTable)
        now = time.monotonic()
        for step, state in self.step_state.items():
            if state == "running" and step in self.last:
                elapsed, at = self.last[step]
                table.update_cell(step, "Elapsed", fmt_seconds(elapsed + now - at))

    @on(Finished)
    def _finished(self, message: Finished) -> None:
        self.finish(message.status, message.failed_step, message.failure, message.kubeconfig)

    def finish(self, status: str, failed_step: str | None, failure: Any, kubeconfig: bytes | None) -> None:
        from wizard.interactive import RunRecord
        from wizard.render import fmt_seconds

        self.running = False
        self.status = status
        self.state.run_in_flight = False
        self.state.run_result = RunRecord(status, kubeconfig, failed_step, failure)
        if kubeconfig:
            self.state.kubeconfig = kubeconfig
        took = fmt_seconds(time.monotonic() - self.started_at) if self.started_at else ""
        self.query_one("#cancel", Button).disabled = True
        self.query_one("#to-review", Button).disabled = False
        journal = getattr(self, "journal_path", "")
        status_line = self.query_one("#run-status", Static)
        if status == "done":
            status_line.update(f"Done in {took}. Journal: {journal}")
            self.query_one("#continue", Button).disabled = False
            self.query_one("#continue", Button).focus()
        elif status == "failed":
            step = next((s for s in self.plan.steps if s.id == failed_step), None)
            fix = fix_step_for(failure, failed_step)
            status_line.update(f"Stopped: step {failed_step or '?'} failed. Fix the cause and start again: "
                               f"finished steps are not repeated.")
            if failure is not None:
                panel = ErrorPanel(failure, step.title if step else failed_step, fix,
                                   step_info(fix).title if fix else None)
                self.query_one("#failure").mount(panel)
                self.call_after_refresh(self._focus_fix)
        else:
            status_line.update(f"Cancelled after {took}. Operations Azure accepted keep running there; start "
                               f"again with the same answers to resume (journal {journal}).")
            self.query_one("#to-review", Button).focus()

    def _focus_fix(self) -> None:
        buttons = self.query("#fix")
        if buttons:
            buttons.first().focus()

    # ------------------------------------------------------------------------------------------ keys
    def in_flight_titles(self) -> list[str]:
        return [s.title for s in self.plan.steps if self.step_state.get(s.id) == "running"]

    def cancel_note(self) -> str:
        running = self.in_flight_titles()
        what = ("\n".join(f"  - {t}" for t in running)) if running else "  (nothing is in flight right now)"
        journal = getattr(self, "journal_path", "the journal")
        return ("Operations Azure already accepted keep running in Azure even if you stop here:\n"
                f"{what}\nThe journal ({journal}) records them: start again with the same answers and the wizard "
                "re-attaches instead of sending them twice.")

    def action_cancel_or_back(self) -> None:
        if self.running:
            self._confirm_cancel()
        else:
            self.dismiss(Nav("goto", "review"))

    def _confirm_cancel(self) -> None:
        def done(yes: bool | None) -> None:
            if yes:
                self.cancel()

        self.app.push_screen(ConfirmModal("Stop following the run?", self.cancel_note(), "Stop the run",
                                          "Keep running"), done)

    def action_continue(self) -> None:
        if self.status == "done":
            self.dismiss(NEXT)

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if self.running:
            self._confirm_cancel()

    @on(Button.Pressed, "#to-review")
    def _review(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(Nav("goto", "review"))

    @on(Button.Pressed, "#continue")
    def _continue(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_continue()

    @on(Button.Pressed, "#fix")
    def _fix(self, event: Button.Pressed) -> None:
        event.stop()
        for node in event.button.ancestors_with_self:
            step = getattr(node, "fix_step", None)
            if step:
                self.dismiss(Nav("goto", step))
                return

    @on(Button.Pressed, "#close")
    def _close(self, event: Button.Pressed) -> None:
        event.stop()
        for panel in self.query(".error-panel"):
            panel.remove()
