"""The fleet view: an answers file with a `fleet:` section, in place of the single cluster's review and run.

It plans every member and runs the fleet preflight (as `aks-ai-wizard plan FILE`), applies the fleet on request
(as `apply FILE`: the same journals beside the answers file, so the CLI and the wizard resume each other), shows
one row per member (current step, Azure's status, elapsed against typical, how it ended), and at the end the
members x requirements verification table. Every Azure call goes through wizard/interactive.py on thread
workers; workers post messages, the handlers here touch the widgets.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Button, DataTable, Static

from screens.base import BACK, Nav
from screens.modals import confirm_stop, in_flight_note
from screens.state import WizardState
from screens.widgets import KeyBar, StepHeader

if TYPE_CHECKING:
    from wizard.events import Event
    from wizard.interactive import Session

COLUMNS = ("Member", "Result", "Step", "Azure status", "Elapsed")
RESULT_STYLE = {"running": "bold $warning", "done": "bold $success", "failed": "bold $error",
                "cancelled": "bold $secondary", "locked": "bold $error"}


class FleetScreen(Screen[Nav]):
    BINDINGS = [Binding("escape", "cancel_or_back", "Cancel / back"), Binding("ctrl+n", "apply", "Apply the fleet")]

    class Previewed(Message, bubble=False):
        def __init__(self, preview: Any = None, failure: Any = None) -> None:
            super().__init__()
            self.preview, self.failure = preview, failure

    class MemberEvent(Message, bubble=False):
        def __init__(self, event: "Event") -> None:
            super().__init__()
            self.event = event

    class Finished(Message, bubble=False):
        def __init__(self, result: Any = None, failure: Any = None) -> None:
            super().__init__()
            self.result, self.failure = result, failure

    class Verified(Message, bubble=False):
        def __init__(self, rows: list[tuple[str, ...]] | None = None, failure: Any = None) -> None:
            super().__init__()
            self.rows, self.failure = rows, failure

    def __init__(self, state: WizardState, start: bool = True) -> None:
        super().__init__(classes="step step-fleet")
        self.state = state
        self.start = start  # False: no preview worker (snapshots feed fixed messages)
        self.preview: Any = None
        self.run: Any = None
        self.running = False
        self.status = "planning"
        self.results: dict[str, str] = {}  # member -> waiting | running | done | failed | cancelled | locked
        self.steps: dict[str, str] = {}  # member -> the step its last event named

    @property
    def session(self) -> "Session":
        session = self.state.session
        assert session is not None, "the fleet view comes after sign-in and the subscription"
        return session

    def compose(self) -> ComposeResult:
        count = self.state.draft.get("fleet.count")
        yield StepHeader("review", f"Fleet of {count} clusters", self.state.simulated)
        with Vertical(id="body"):
            with VerticalScroll(id="fleet-plan"):
                yield Static("Planning every member and the fleet preflight (reads only)...", id="plan-text",
                             markup=False)
            yield DataTable(id="members", cursor_type="row", zebra_stripes=True)
            yield DataTable(id="verification", cursor_type="row", zebra_stripes=True)
        yield Static("", id="fleet-status", markup=False)
        with Horizontal(id="nav"):
            yield Button("Back", id="back", compact=True)
            yield Button("Apply the fleet", id="apply", variant="primary", disabled=True, compact=True)
            yield Button("Cancel run", id="cancel", variant="error", disabled=True, compact=True)
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#fleet-plan").border_title = "Plan and preflight"
        self.query_one("#members").border_title = "Members"
        verification = self.query_one("#verification", DataTable)
        verification.border_title = "Verification: members x requirements"
        verification.display = False
        table = self.query_one("#members", DataTable)
        for col in COLUMNS:
            table.add_column(col, key=col)
        if self.start:
            self.run_worker(self._preview, thread=True, group="fleet-preview", exit_on_error=False,
                            description="plan the fleet")

    # ------------------------------------------------------------------------------------------ workers
    def _preview(self) -> None:
        from wizard.interactive import failure_of, fleet_preview

        try:
            answers = self.state.draft.to_answers()
            self.post_message(self.Previewed(fleet_preview(self.session, answers, self.state.save_path)))
        except Exception as exc:  # noqa: BLE001 - invalid answers, Azure failures: words, never a traceback
            self.post_message(self.Previewed(failure=failure_of(exc)))

    def _sink(self, event: "Event") -> None:
        """Called on member worker threads: post, never touch a widget."""
        self.post_message(self.MemberEvent(event))

    def _apply(self) -> None:
        from wizard.interactive import failure_of, fleet_verify

        try:
            result = self.run.run()
        except Exception as exc:  # noqa: BLE001
            self.post_message(self.Finished(failure=failure_of(exc)))
            return
        self.post_message(self.Finished(result))
        if result.status != "done":
            return
        try:
            self.post_message(self.Verified(fleet_verify(self.session, self.preview.plans)))
        except Exception as exc:  # noqa: BLE001
            self.post_message(self.Verified(failure=failure_of(exc)))

    # ------------------------------------------------------------------------------------------ handlers
    @on(Previewed)
    def _previewed(self, message: Previewed) -> None:
        status = self.query_one("#fleet-status", Static)
        if message.failure is not None:
            self.status = "failed"
            self.query_one("#plan-text", Static).update(f"{message.failure.what}\n{message.failure.fix or ''}")
            status.update("The fleet could not be planned: nothing was written to Azure.")
            return
        self.preview = message.preview
        self.query_one("#plan-text", Static).update(self.preview.text)
        table = self.query_one("#members", DataTable)
        for plan in self.preview.plans:
            name = plan.answers.cluster.name
            self.results[name] = "waiting"
            table.add_row(Text(name), self.result_cell("waiting"), "", "", "", key=name)
        self.status = "planned"
        self.refresh_bindings()  # Apply the fleet is offered now
        if self.preview.ok:
            self.query_one("#apply", Button).disabled = False
            status.update(f"{len(self.preview.plans)} members planned and the preflight passed: nothing was "
                          "written yet. Apply the fleet to create them.")
        else:
            status.update("Nothing was written to Azure: the whole fleet stops on a failed item (see the plan).")

    def result_cell(self, result: str, text: str | None = None) -> Text:
        """`text` (default: the result) in the result's colour; theme colours, so light themes read as well as
        dark ones (as the run screen's states)."""
        variables = self.app.theme_variables
        style = " ".join(variables.get(w[1:], w) if w.startswith("$") else w
                         for w in RESULT_STYLE.get(result, "dim").split())
        return Text(result if text is None else text, style=style)

    @on(MemberEvent)
    def _member_event(self, message: MemberEvent) -> None:
        from wizard.interactive import fleet_member_row

        member = str(message.event.data.get("member", ""))
        table = self.query_one("#members", DataTable)
        row = fleet_member_row(message.event)
        if row is None or member not in table.rows:
            return  # the subscription-wide steps, log lines
        if self.results.get(member) == "waiting":
            self.results[member] = "running"
            table.update_cell(member, "Result", self.result_cell("running"))
        self.steps[member] = row[0]
        for column, value in zip(COLUMNS[2:], row):
            table.update_cell(member, column, Text(value, overflow="ellipsis", no_wrap=True))

    @on(Finished)
    def _finished(self, message: Finished) -> None:
        self.running = False
        self.state.run_in_flight = False
        self.refresh_bindings()
        self.query_one("#cancel", Button).disabled = True
        self.query_one("#back", Button).disabled = False
        status = self.query_one("#fleet-status", Static)
        if message.failure is not None:
            self.status = "failed"
            status.update(f"The fleet stopped: {message.failure.what}")
            return
        result = message.result
        self.status = result.status
        table = self.query_one("#members", DataTable)
        for m in result.members:
            self.results[m.name] = m.status
            table.update_cell(m.name, "Result", self.result_cell(m.status))
        if result.status == "done":
            status.update("Every member is built. Verifying every member against the checklist...")
        elif result.shared is not None and result.shared.status != "done":
            status.update(f"The subscription-wide steps ended {result.shared.status}: no member was started.")
        else:
            status.update(f"Fleet {result.status}. Start again with the same answers to resume: finished steps "
                          "are not repeated.")

    @on(Verified)
    def _verified(self, message: Verified) -> None:
        status = self.query_one("#fleet-status", Static)
        if message.failure is not None:
            status.update(f"The verification could not run: {message.failure.what}")
            return
        rows = message.rows or []
        table = self.query_one("#verification", DataTable)
        table.add_columns(*(Text(c) for c in rows[0]))
        for row in rows[1:]:
            table.add_row(*(self.result_cell("failed", c) if c in ("FAIL", "NOT all pass") else Text(c)
                            for c in row), key=row[0])
        table.display = True
        conformant = all(r[-1] == "all pass" for r in rows[1:])
        status.update("Fleet done: every member passed every MUST requirement." if conformant else
                      "Fleet done, but not every member passed every MUST requirement (see the table).")

    # ------------------------------------------------------------------------------------------ actions
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "apply":
            return True if self.status == "planned" and self.preview is not None and self.preview.ok else None
        if action == "back":
            return not self.running
        return True

    def action_apply(self) -> None:
        from wizard.interactive import make_fleet_run

        if self.status != "planned" or self.preview is None or not self.preview.ok:
            return
        self.run = make_fleet_run(self.session, self.preview.plans, self.state.save_path, self._sink)
        self.running = True
        self.state.run_in_flight = True
        self.status = "running"
        self.refresh_bindings()
        self.query_one("#apply", Button).disabled = True
        self.query_one("#back", Button).disabled = True
        self.query_one("#cancel", Button).disabled = False
        self.query_one("#fleet-status", Static).update("Applying the fleet: the subscription-wide steps once, "
                                                       "then the members a few at a time.")
        self.run_worker(self._apply, thread=True, group="engine", exclusive=True, exit_on_error=False,
                        description="apply the fleet")

    def cancel(self) -> None:
        """Stop following: every member stops after its current poll and no member starts (Azure keeps what it
        accepted). Also what quitting the wizard does while the fleet runs."""
        if self.run is not None and self.running:
            self.run.cancel()
            self.query_one("#cancel", Button).disabled = True
            self.query_one("#fleet-status", Static).update(
                "Stopping: every running member stops after its current poll; no waiting member starts.")

    def cancel_note(self) -> str:
        running = [f"{m}: {self.steps.get(m) or 'starting'}" for m, r in self.results.items() if r == "running"]
        return in_flight_note(self.state, running, "Every member's journal (beside the answers file)")

    def action_cancel_or_back(self) -> None:
        if self.running:
            confirm_stop(self, self.cancel_note(), self.cancel)
        else:
            self.action_back()

    def action_back(self) -> None:
        if not self.running:
            self.dismiss(BACK)

    @on(Button.Pressed, "#apply")
    def _apply_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_apply()

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if self.running:
            self.action_cancel_or_back()

    @on(Button.Pressed, "#back")
    def _back_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_back()
