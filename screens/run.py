"""The run step: run the plan with the real engine; a row per step, a log, cancel, failures with their fix.

The engine runs in a thread worker owned by this screen; the screen is never dismissed while it runs.
Its events arrive through the sink *on worker threads*: the sink only posts messages, handlers here
update the table and the log.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Button, DataTable, RichLog, Static
from textual.widgets.data_table import ColumnKey

from screens.base import NEXT, Nav
from screens.modals import confirm_stop, in_flight_note
from screens.state import WizardState, step_for_path, step_info
from screens.widgets import ErrorPanel, KeyBar, StepHeader

if TYPE_CHECKING:
    from wizard.events import Event
    from wizard.plan_model import Plan

# which wizard step can fix a failed engine step when Azure names no answers path
STEP_FIX = {"resource-group": "location", "feature": "features", "provider": "features", "cluster": "cluster",
            "preview-fields": "cluster", "gpu-pool": "gpu", "kubeconfig": "cluster"}
COLUMNS = ("Step", "State", "Azure status", "Elapsed", "Azure typ.")
WIDTHS = {"State": 9, "Azure status": 14, "Elapsed": 7, "Azure typ.": 10}  # the step column takes the rest
STATE_STYLE = {"waiting": "dim", "running": "bold $warning", "done": "bold $success", "failed": "bold $error",
               "blocked": "$error", "cancelled": "bold $secondary", "skipped": "dim"}


def blocked_by(plan: "Plan", states: dict[str, str]) -> dict[str, str]:
    """Steps that can no longer run, each with the failed (or blocked) step it waits on."""
    out: dict[str, str] = {}
    for s in plan.steps:  # plan order is a topological order
        if states.get(s.id) not in (None, "waiting"):
            continue
        cause = next((d for d in s.deps if states.get(d) in ("failed", "cancelled") or d in out), None)
        if cause is not None:
            out[s.id] = out.get(cause, cause)
    return out


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
        Binding("t", "toggle_timeline", "Timeline / log"),
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

    class Replanned(Message, bubble=False):
        """The provider registration this run started is done and the rest is planned (or cannot be)."""

        def __init__(self, plan: "Plan", preflight: Any) -> None:
            super().__init__()
            self.plan, self.preflight = plan, preflight

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
        self.spans: dict[str, list[float]] = {}  # step -> [start, end] in seconds since the run started
        self.journal_path: Path | None = None  # set when the run starts

    def compose(self) -> ComposeResult:
        yield StepHeader("run", "Run", self.state.simulated)
        with Vertical(id="body"):
            yield DataTable(id="steps", cursor_type="row", zebra_stripes=True)
            yield VerticalScroll(id="failure")
            yield RichLog(id="log", max_lines=2000, wrap=True, markup=False, highlight=False, min_width=20)
            timeline = Static("", id="timeline", markup=False)
            timeline.display = False
            yield timeline
        yield Static("", id="run-status", markup=False)
        with Horizontal(id="nav"):
            yield Button("Cancel run", id="cancel", variant="error", compact=True)
            yield Button("Back to review", id="to-review", disabled=True, compact=True)
            yield Button("Continue to verification", id="continue", variant="primary", disabled=True, compact=True)
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#log").border_title = "Log (t: timeline)"
        self.query_one("#timeline").border_title = "Timeline: what ran in parallel, where the time went (t: log)"
        table = self.query_one("#steps", DataTable)
        for col in COLUMNS:
            table.add_column(col, key=col, width=WIDTHS.get(col, 20))
        self.fit_columns()
        self.add_rows(self.plan)
        if not self.app.is_headless:
            self.set_interval(1.0, self._tick)
        if self.start:
            self.start_run()

    def add_rows(self, plan: "Plan") -> None:
        """A waiting row for each step of `plan` the table does not show yet."""
        from wizard.render import fmt_seconds

        table = self.query_one("#steps", DataTable)
        for s in plan.steps:
            if s.id not in table.rows:
                table.add_row(Text(s.id, overflow="ellipsis", no_wrap=True), self.state_cell("waiting"), "", "",
                              fmt_seconds(s.typical) if s.typical else "", key=s.id)
                self.step_state[s.id] = "waiting"

    def on_resize(self) -> None:
        self.fit_columns()

    def fit_columns(self) -> None:
        """Fixed widths: Elapsed and the typical time always show; a long step id is cut with an ellipsis.
        Narrow terminals get narrower status and time columns."""
        table = self.query_one("#steps", DataTable)
        width = self.size.width or 80
        widths = dict(WIDTHS) if width >= 76 else {"State": 9, "Azure status": 9, "Elapsed": 7, "Azure typ.": 6}
        for key, w in widths.items():
            table.columns[ColumnKey(key)].width = w
        table.columns[ColumnKey("Azure typ.")].label = Text("Azure typ." if width >= 76 else "Az.typ")
        fixed = sum(widths.values()) + 2 * len(COLUMNS) + 2
        column = table.columns[ColumnKey("Step")]
        column.width = max(10, min(34, width - 2 - fixed))
        for c in table.columns.values():
            c.auto_width = False
        table.refresh()

    def state_cell(self, state: str, detail: str = "") -> Text:
        style = STATE_STYLE.get(state, "")
        if "$" in style:  # theme colours, so light themes read as well as dark ones
            variables = self.app.theme_variables
            style = " ".join(variables.get(w[1:], w) if w.startswith("$") else w for w in style.split())
        return Text(state + detail, style=style)

    def set_state(self, step: str, state: str) -> None:
        self.step_state[step] = state
        self.query_one("#steps", DataTable).update_cell(step, "State", self.state_cell(state))

    # ------------------------------------------------------------------------------------------ the run
    def start_run(self) -> None:
        from wizard.interactive import journal_for, make_engine

        journal = journal_for(self.state.save_path)
        self.journal_path = journal.path
        self.state.written("journal", journal.path)
        self.engine = make_engine(self.state.session, self.plan, self._sink, journal)  # type: ignore[arg-type]
        self.running = True
        self.state.run_in_flight = True
        self.started_at = self.started_at or time.monotonic()  # the rest after the provider: one run's clock
        clock = ""
        if self.state.sim is not None:
            clock = (f" Elapsed is this run's time against the simulated Azure ({self.state.sim.speed:g}x faster); "
                     "Azure typ. is how long Azure itself usually takes.")
        self.query_one("#run-status", Static).update(f"Running. Journal: {journal.path}.{clock}")
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
        if result.status == "done" and self.plan.awaits_provider:
            self._plan_the_rest()
            return
        self.post_message(self.Finished(result.status, result.failed_step, result.failure, result.kubeconfig))

    def _plan_the_rest(self) -> None:
        """(worker thread) The provider is registered: read what it hid and plan the rest, as `apply` does."""
        from wizard.events import Event
        from wizard.interactive import failure_of, plan_the_rest
        from wizard.plan_model import PROVIDER

        self.post_message(self.EngineEvent(Event("log", "provider", f"{PROVIDER} is registered: reading what it hid "
                                                 "and planning the rest")))
        try:
            a = self.plan.answers
            consent = self.state.recreate_consent == (a.resource_group.name.lower(), a.cluster.name.lower())
            plan, report = plan_the_rest(self.state.session, self.plan, self.engine.journal,  # type: ignore[arg-type]
                                         self.state.allow_update, consent)
        except Exception as exc:  # noqa: BLE001 - reading Azure failed: a panel, never a traceback
            self.post_message(self.Finished("failed", None, failure_of(exc)))
            return
        self.post_message(self.Replanned(plan, report))

    @on(Replanned)
    def _replanned(self, message: Replanned) -> None:
        """Go on with the rest in the same run when it can start; otherwise say why and offer the review."""
        plan, report = message.plan, message.preflight
        self.state.plan = plan
        blockers = [f"{p.field or 'answers'}: {p.message}" for p in plan.problems]
        if report is not None and not report.ok and not self.state.skip_preflight:
            blockers += [f"preflight: {item.title}: {item.detail}" for item in report.failures]
        if blockers:
            self.running = self.state.run_in_flight = False
            self.status = "stopped"
            self.refresh_bindings()
            for line in blockers:
                self.query_one("#log", RichLog).write(Text(f"stopped   {line}"))
            self.query_one("#run-status", Static).update(
                "The resource provider is registered, but the rest of the plan cannot start: "
                + "; ".join(blockers) + ". Back to review shows the whole plan.")
            self.query_one("#cancel", Button).disabled = True
            self.query_one("#to-review", Button).disabled = False
            self.query_one("#to-review", Button).focus()
            return
        self.plan = plan
        self.add_rows(plan)
        self.start_run()

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
            if state == "skipped" and self.step_state.get(e.step) == "done":
                state = None  # done earlier in this run (before the provider registration), skipped now
            if state:
                self.set_state(e.step, state)
            if e.status:
                table.update_cell(e.step, "Azure status", Text(e.status, overflow="ellipsis", no_wrap=True))
            if e.kind != "log":
                self.last[e.step] = (e.elapsed, time.monotonic())
                self.track(e)
                if e.elapsed or e.kind in ("done", "failed"):
                    table.update_cell(e.step, "Elapsed", fmt_seconds(e.elapsed))
        if e.kind == "progress" and not e.message:
            return
        line = f"{e.kind:<9} {e.step}: {e.message}"
        if e.kind in ("done", "failed") and e.elapsed:
            line += f" [{fmt_seconds(e.elapsed)}]"
        self.query_one("#log", RichLog).write(Text(line))

    def track(self, e: "Event") -> None:
        """A step's span on the run's clock: it starts when the engine says so and lasts what the engine
        reports as elapsed (Azure's own progress), so the timeline never invents durations."""
        now = time.monotonic() - (self.started_at or time.monotonic())
        span = self.spans.setdefault(e.step, [max(0.0, now - e.elapsed), 0.0])
        span[1] = span[0] + e.elapsed
        if self.query_one("#timeline").display:
            self.draw_timeline()

    def timeline_lines(self, width: int) -> list[str]:
        from wizard.render import fmt_seconds

        if not self.spans:
            return ["Nothing has started yet."]
        total = max(end for _, end in self.spans.values()) or 1.0
        name_width = min(24, max(len(s) for s in self.spans))
        bar_width = max(10, width - name_width - 10)
        lines = []
        for s in self.plan.steps:
            if s.id not in self.spans:
                continue
            start, end = self.spans[s.id]
            a = int(bar_width * start / total)
            b = max(a + 1, round(bar_width * end / total))
            fill = "▒" if self.step_state.get(s.id) == "running" else "█"
            lines.append(f"{s.id[:name_width]:<{name_width}} {' ' * a}{fill * (b - a)}{' ' * (bar_width - b)} "
                         f"{fmt_seconds(end - start)}")
        lines.append(f"{'':<{name_width}} 0{' ' * (bar_width - 1 - len(fmt_seconds(total)))}{fmt_seconds(total)}")
        return lines

    def draw_timeline(self) -> None:
        timeline = self.query_one("#timeline", Static)
        timeline.update("\n".join(self.timeline_lines((self.size.width or 80) - 6)))

    def action_toggle_timeline(self) -> None:
        log, timeline = self.query_one("#log"), self.query_one("#timeline")
        timeline.display, log.display = not timeline.display, timeline.display
        if timeline.display:
            self.draw_timeline()

    def _tick(self) -> None:
        from wizard.render import fmt_seconds

        if not self.running:
            return  # after a cancel or a failure nothing is being followed: no clock ticks
        table = self.query_one("#steps", DataTable)
        now = time.monotonic()
        for step, state in self.step_state.items():
            if state == "running" and step in self.last:
                elapsed, at = self.last[step]
                table.update_cell(step, "Elapsed", fmt_seconds(elapsed + now - at))
                if step in self.spans:
                    self.spans[step][1] = self.spans[step][0] + elapsed + now - at
        if self.query_one("#timeline").display:
            self.draw_timeline()

    @on(Finished)
    def _finished(self, message: Finished) -> None:
        self.finish(message.status, message.failed_step, message.failure, message.kubeconfig)

    def finish(self, status: str, failed_step: str | None, failure: Any, kubeconfig: bytes | None) -> None:
        from wizard.interactive import RunRecord
        from wizard.render import fmt_seconds

        self.running = False
        self.status = status
        self.refresh_bindings()
        self.state.run_in_flight = False
        self.state.run_result = RunRecord(status, kubeconfig, failed_step, failure)
        if kubeconfig:
            self.state.kubeconfig = kubeconfig
        self.settle_rows(status)
        took = fmt_seconds(time.monotonic() - self.started_at) if self.started_at else ""
        self.query_one("#cancel", Button).disabled = True
        self.query_one("#to-review", Button).disabled = False
        journal = self.journal_path or ""
        status_line = self.query_one("#run-status", Static)
        if status == "done":
            status_line.update(f"Done in {took}. Journal: {journal}")
            self.query_one("#continue", Button).disabled = False
            self.query_one("#continue", Button).focus()
        elif status == "failed":
            step = next((s for s in self.plan.steps if s.id == failed_step), None)
            fix = fix_step_for(failure, failed_step)
            status_line.update(f"Stopped: step {failed_step} failed. Fix the cause and start again: finished "
                               "steps are not repeated." if failed_step else "Nothing was started.")
            if failure is not None:
                panel = ErrorPanel(failure, step.title if step else failed_step, fix,
                                   step_info(fix).title if fix else None)
                self.add_class("-failed")
                self.query_one("#failure").mount(panel)
                self.call_after_refresh(self._focus_fix)
        else:
            status_line.update(f"Cancelled after {took}. Operations Azure accepted keep running there; start "
                               f"again with the same answers to resume (journal {journal}).")
            self.query_one("#to-review", Button).focus()

    def settle_rows(self, status: str) -> None:
        """No row says running once the run is over; steps that can no longer run name what blocks them."""
        table = self.query_one("#steps", DataTable)
        for step, state in list(self.step_state.items()):
            if state == "running":
                self.set_state(step, "cancelled" if status == "cancelled" else "failed" if status == "failed"
                               else state)
        for step, cause in blocked_by(self.plan, self.step_state).items():
            self.set_state(step, "blocked")
            table.update_cell(step, "Azure status", Text(f"by {cause}", overflow="ellipsis", no_wrap=True))

    def _focus_fix(self) -> None:
        buttons = self.query("#fix")
        if buttons:
            buttons.first().focus()

    # ------------------------------------------------------------------------------------------ keys
    def in_flight_titles(self) -> list[str]:
        return [s.title for s in self.plan.steps if self.step_state.get(s.id) == "running"]

    def cancel_note(self) -> str:
        return in_flight_note(self.state, self.in_flight_titles(), f"The journal ({self.journal_path or 'beside the answers'})")

    def action_cancel_or_back(self) -> None:
        if self.running:
            self._confirm_cancel()
        else:
            self.dismiss(Nav("goto", "review"))

    def _confirm_cancel(self) -> None:
        confirm_stop(self, self.cancel_note(), self.cancel)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Verify is offered (dimmed) until the run is done; then it works."""
        if action == "continue":
            return True if self.status == "done" else None
        return True

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
