"""Step 11: conformance verification as a table (status, one-line evidence, fix), details, export."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Button, DataTable, Input, Static

from screens.base import NEXT, Nav
from screens.state import WizardState
from screens.widgets import KeyBar, StepHeader

STATUS_STYLE = {"pass": "bold green", "partial": "bold yellow", "fail": "bold red", "inconclusive": "bold magenta",
                "skipped": "dim"}
COLUMNS = ("Requirement", "Status", "Evidence", "Fix")


def status_cell(status: str) -> Text:
    return Text(status.upper(), style=STATUS_STYLE.get(status, ""))


def one_line(text: str | None, limit: int = 60) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class VerifyScreen(Screen[Nav]):
    BINDINGS = [
        Binding("escape", "back", "Back to review"),
        Binding("ctrl+e", "export", "Export report", priority=True),
        Binding("ctrl+n", "finish", "Finish"),
    ]

    class Result(Message, bubble=False):
        def __init__(self, result: Any) -> None:
            super().__init__()
            self.result = result

    class Done(Message, bubble=False):
        def __init__(self, report: Any = None, failure: Any = None) -> None:
            super().__init__()
            self.report, self.failure = report, failure

    def __init__(self, state: WizardState, start: bool = True) -> None:
        super().__init__(classes="step step-verify")
        self.state = state
        self.start = start
        self.report: Any = None
        self.results: dict[str, Any] = {}

    def compose(self) -> ComposeResult:
        yield StepHeader("verify", "Verification", self.state.simulated)
        with Vertical(id="body"):
            yield Static("Checking the cluster against the Kubernetes AI Conformance checklist (read-only)...",
                         id="verify-status", markup=False)
            yield DataTable(id="results", cursor_type="row", zebra_stripes=True)
            detail = Static("", id="detail", classes="panel", markup=False)
            detail.border_title = "Details"
            yield detail
        with Horizontal(id="nav"):
            yield Input("conformance-report", id="export-dir", placeholder="directory for the report", compact=True)
            yield Button("Export report", id="export", disabled=True, compact=True)
            yield Button("Tear down what this wizard created", id="teardown", variant="error", compact=True)
            yield Button("Finish", id="finish", variant="primary", compact=True)
        yield KeyBar()

    def on_mount(self) -> None:
        if self.app.is_headless:
            self.query_one("#export-dir", Input).cursor_blink = False
        table = self.query_one("#results", DataTable)
        for col in COLUMNS:
            table.add_column(col, key=col)
        if self.start:
            self.start_verification()

    def start_verification(self) -> None:
        self.run_worker(self._verify, thread=True, group="verify", exclusive=True, exit_on_error=False,
                        description="verify conformance")

    def _verify(self) -> None:
        from wizard.interactive import failure_of, fetch_kubeconfig, verify

        try:
            answers = self.state.draft.to_answers()
            kubeconfig = self.state.kubeconfig or fetch_kubeconfig(self.state.session, answers)  # type: ignore[arg-type]
            report = verify(self.state.session, answers, kubeconfig,  # type: ignore[arg-type]
                            on_result=lambda r: self.post_message(self.Result(r)))
        except Exception as exc:  # noqa: BLE001
            self.post_message(self.Done(None, failure_of(exc)))
            return
        self.post_message(self.Done(report))

    @on(Result)
    def _result(self, message: Result) -> None:
        self.add_result(message.result)

    def add_result(self, r: Any) -> None:
        table = self.query_one("#results", DataTable)
        self.results[r.id] = r
        avail = max(30, (self.size.width or 80) - 42)  # what the id and status columns leave
        cells = (Text(r.id), status_cell(r.status),
                 Text(one_line(r.evidence[0] if r.evidence else r.summary, avail * 3 // 5)),
                 Text(one_line(r.fix or "-", avail * 2 // 5)))
        if r.id in table.rows:
            for col, cell in zip(COLUMNS, cells):
                table.update_cell(r.id, col, cell)
        else:
            table.add_row(*cells, key=r.id)
        if table.row_count == 1:
            self.show_detail(r.id)

    @on(Done)
    def _done(self, message: Done) -> None:
        self.show_report(message.report, message.failure)

    def show_report(self, report: Any, failure: Any = None) -> None:
        status = self.query_one("#verify-status", Static)
        if failure is not None:
            status.update("Verification could not run:\n" + failure.render())
            return
        self.report = report
        for r in report.results:
            self.add_result(r)
        counts = report.counts()
        verdict = "all MUST requirements pass" if report.must_ok else "some MUST requirements do not pass yet"
        status.update(f"Checklist {report.checklist_version}: {verdict}. " +
                      ", ".join(f"{n} {s}" for s, n in counts.items() if n) + ". Select a row for details.")
        self.query_one("#export", Button).disabled = False
        self.query_one("#results", DataTable).focus()

    @on(DataTable.RowHighlighted, "#results")
    def _highlight(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key is not None and event.row_key.value:
            self.show_detail(event.row_key.value)

    def show_detail(self, rid: str) -> None:
        r = self.results.get(rid)
        if r is None:
            return
        lines = [f"{r.id} ({r.level}, {getattr(r, 'category', '')}): {r.status} -> checklist status "
                 f"{r.checklist_status}", r.summary]
        if r.evidence:
            lines.append("Evidence:")
            lines += [f"  - {e}" for e in r.evidence]
        if r.fix:
            lines.append(f"Fix: {r.fix}")
        if r.notes:
            lines.append(f"Notes: {r.notes}")
        self.query_one("#detail", Static).update("\n".join(lines))

    def action_export(self) -> None:
        if self.report is None:
            self.app.bell()
            return
        directory = Path(self.query_one("#export-dir", Input).value.strip() or "conformance-report")
        try:
            written = self.report.write(directory)
        except OSError as exc:
            self.notify(f"Could not write the report to {directory}: {exc}", severity="error", markup=False)
            return
        names = ", ".join(str(p) for p in written)
        self.query_one("#verify-status", Static).update(f"Report written: {names}")
        self.notify(f"Report written to {directory}", markup=False)

    @on(Button.Pressed, "#export")
    def _export(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_export()

    @on(Input.Submitted, "#export-dir")
    def _export_submit(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_export()

    def action_teardown(self) -> None:
        from screens.teardown import TeardownModal

        def ended(status: str | None) -> None:
            if status == "done":
                self.query_one("#teardown", Button).disabled = True
                self.query_one("#verify-status", Static).update(
                    "Torn down: what this wizard created is deleted (the results above describe the cluster as "
                    "it was).")

        self.app.push_screen(TeardownModal(self.state), ended)

    @on(Button.Pressed, "#teardown")
    def _teardown(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_teardown()

    def action_back(self) -> None:
        self.dismiss(Nav("goto", "review"))

    def action_finish(self) -> None:
        self.dismiss(NEXT)

    @on(Button.Pressed, "#finish")
    def _finish(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_finish()
