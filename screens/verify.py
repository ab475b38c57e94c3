"""The verification step: conformance verification as a table (status, one-line evidence, fix), details, export."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.content import Content
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Checkbox, DataTable, Static
from textual.widgets.data_table import ColumnKey

from screens.base import NEXT, Nav
from screens.modals import DIALOG_KEYS
from screens.state import WizardState
from screens.widgets import KeyBar, StepHeader

STATUS_STYLE = {"pass": "bold green", "partial": "bold yellow", "fail": "bold red", "inconclusive": "bold magenta",
                "skipped": "dim", "checking": "bold cyan", "probing": "bold cyan"}
COLUMNS = ("Requirement", "Status", "Evidence and fix")
REQ_WIDTH = {True: 25, False: 18}  # the requirement column, wide and narrow terminals
FIXED = 8 + 3 * 2 + 2  # the status column, cell padding, the scrollbar


def status_cell(status: str) -> Text:
    return Text(status.upper(), style=STATUS_STYLE.get(status, ""))


def one_line(text: str | None, limit: int = 60) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def pending_cells(rid: str, doing: str, before: Any, width: int) -> tuple[Text, Text, Text]:
    """A requirement being checked (or probed): what is happening, and what the last run found."""
    what = ("probe under way (throw-away namespace)" if doing == "probing"
            else "reading the cluster and Azure")
    was = Text(one_line(f"was {before.status.upper()}: {before.evidence[0] if before.evidence else before.summary}",
                        width), style="dim") if before is not None else Text("")
    return Text(rid, overflow="ellipsis", no_wrap=True), status_cell(doing), Text.assemble(Text(one_line(what, width), style="italic"), "\n", was)


def result_cells(r: Any, width: int) -> tuple[Text, Text, Text]:
    """Two lines a row: the first evidence, then the fix (or the summary when there is nothing to fix), so each
    row's fix reads without selecting it; the details pane has the rest."""
    lines = [one_line(t, width) for t in [*r.evidence, r.summary] if t]
    lines = list(dict.fromkeys(lines)) or [""]
    second = Text("fix: " + one_line(r.fix, width - 5), style="italic") if r.fix else Text(
        lines[1] if len(lines) > 1 else "", style="dim")
    evidence = lines[0]
    return Text(r.id, overflow="ellipsis", no_wrap=True), status_cell(r.status), Text.assemble(evidence, "\n", second)


class VerifyScreen(Screen[Nav]):
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("ctrl+r", "probes", "Run probes"),
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
        self.order: list[str] = []  # the checklist's order of requirements
        self.text_width = 40
        self.pending: dict[str, str] = {}  # requirement -> "checking" | "probing" while a run is on
        self.started_at = 0.0
        self.with_probes = False

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
            yield Button("Run probes", id="probes", disabled=True, compact=True,
                         tooltip="Prove the requirements with short-lived workloads (asks first)")
            yield Button("Export report", id="export", disabled=True, compact=True)
            yield Button("Tear down", id="teardown", variant="error", compact=True,
                         tooltip="Delete what this wizard created (asks first)")
            yield Static("", classes="nav-gap")
            yield Button("Finish", id="finish", variant="primary", compact=True)
        yield KeyBar()

    def on_mount(self) -> None:
        from wizard.conformance import load_checklist

        self.order = load_checklist(self.state.draft.get("verify.checklist") or "1.34").ids()
        table = self.query_one("#results", DataTable)
        for col in COLUMNS:
            table.add_column(col, key=col)
        self.fit_columns()
        if self.start:
            self.start_verification()

    def on_resize(self) -> None:
        self.fit_columns()

    def fit_columns(self) -> None:
        """Fixed widths so no column runs into the next; the text column takes what the screen leaves."""
        table = self.query_one("#results", DataTable)
        req = REQ_WIDTH[(self.size.width or 80) >= 76]
        width = max(16, (self.size.width or 80) - FIXED - req - 2)
        if width == self.text_width and table.row_count:
            return
        self.text_width = width
        for key, w in zip(COLUMNS, (req, 8, width)):
            column = table.columns[ColumnKey(key)]
            column.width, column.auto_width = w, False
        self.rebuild()

    def start_verification(self, probes: bool | None = None, billable: tuple[str, ...] = ()) -> None:
        """Read-only checks (or, with `probes`, checks and probes); every row says it is being worked on until
        its result arrives."""
        import time

        self.with_probes = bool(probes)
        self.pending = {rid: "probing" if probes else "checking" for rid in self.order}
        self.started_at = time.monotonic()
        for button in ("#probes", "#export"):
            self.query_one(button, Button).disabled = True
        self.rebuild()
        self.show_progress()
        self.run_worker(lambda: self._verify(probes, billable), thread=True, group="verify", exclusive=True,
                        exit_on_error=False, description="verify conformance")
        if not self.app.is_headless:
            self._clock = self.set_interval(1.0, self.show_progress)

    def _post_result(self, result: Any) -> None:
        """Called on the worker thread for each requirement's result: post, never touch a widget."""
        self.post_message(self.Result(result))

    def _verify(self, probes: bool | None, billable: tuple[str, ...]) -> None:
        from wizard.interactive import failure_of, fetch_kubeconfig, verify

        try:
            answers = self.state.draft.to_answers()
            kubeconfig = self.state.kubeconfig or fetch_kubeconfig(self.state.session, answers)  # type: ignore[arg-type]
            report = verify(self.state.session, answers, kubeconfig,  # type: ignore[arg-type]
                            on_result=self._post_result, probes=probes, billable=billable)
        except Exception as exc:  # noqa: BLE001
            self.post_message(self.Done(None, failure_of(exc)))
            return
        self.post_message(self.Done(report))

    def show_progress(self) -> None:
        if not self.pending:
            return
        import time

        from wizard.render import fmt_seconds

        done = len(self.order) - len(self.pending)
        what = "Probing" if self.with_probes else "Checking (read-only)"
        self.query_one("#verify-status", Static).update(
            f"{what}: {done} of {len(self.order)} requirements done, {fmt_seconds(time.monotonic() - self.started_at)}"
            " elapsed.")

    @on(Result)
    def _result(self, message: Result) -> None:
        self.add_result(message.result)

    def add_result(self, r: Any) -> None:
        first = not self.results
        self.results[r.id] = r
        self.pending.pop(r.id, None)
        self.show_progress()
        self.rebuild()
        if first:
            self.show_detail(r.id)

    def rebuild(self) -> None:
        """Rows in the checklist's order, whatever order the checks finish in; the highlighted row is kept."""
        table = self.query_one("#results", DataTable)
        current = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value if table.row_count else None
        rank = {rid: i for i, rid in enumerate(self.order)}
        table.clear()
        for rid in sorted(set(self.results) | set(self.pending), key=lambda k: (rank.get(k, len(rank)), k)):
            cells = (pending_cells(rid, self.pending[rid], self.results.get(rid), self.text_width)
                     if rid in self.pending else result_cells(self.results[rid], self.text_width))
            table.add_row(*cells, key=rid, height=2)
        if current in self.results:
            table.move_cursor(row=table.get_row_index(current), animate=False)

    @on(Done)
    def _done(self, message: Done) -> None:
        self.show_report(message.report, message.failure)

    def show_report(self, report: Any, failure: Any = None) -> None:
        status = self.query_one("#verify-status", Static)
        clock = getattr(self, "_clock", None)
        if clock is not None:
            clock.stop()
        self.pending = {}
        self.query_one("#probes", Button).disabled = False
        if failure is not None:
            self.rebuild()
            status.update("Verification could not run:\n" + failure.render())
            return
        self.report = report
        for r in report.results:
            self.results[r.id] = r
        self.rebuild()
        counts = report.counts()
        verdict = "all MUST requirements pass" if report.must_ok else "some MUST requirements do not pass yet"
        how = "with probes" if report.probes else "read-only; ^r runs the probes that prove more"
        status.update(f"Checklist {report.checklist_version} ({how}): {verdict}. " +
                      ", ".join(f"{n} {s}" for s, n in counts.items() if n) + ".")
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
        from screens.modals import PathModal

        def chosen(value: str | None) -> None:
            if value:
                self.export(Path(value).expanduser())

        self.app.push_screen(PathModal("Export the conformance report",
                                       "report.md, report.json and PRODUCT.yaml are written to this folder:",
                                       str(self.state.beside("-conformance-report"))), chosen)

    def export(self, directory: Path) -> None:
        try:
            self.report.write(directory)
        except OSError as exc:
            self.notify(f"Could not write the report to {directory}: {exc}", severity="error", markup=False)
            return
        self.state.written("conformance report", directory)
        self.query_one("#verify-status", Static).update(f"Report written to {directory.resolve()}")
        self.notify(f"Report written to {directory}", markup=False)

    @on(Button.Pressed, "#export")
    def _export(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_export()

    def action_probes(self) -> None:
        if self.pending or self.report is None:
            self.app.bell()
            return
        from wizard.interactive import billable_probes_offered

        def chosen(choice: tuple[str, ...] | None) -> None:
            if choice is not None:
                self.start_verification(probes=True, billable=choice)

        pool = self.state.draft.get("gpu_pool") or {}
        self.app.push_screen(ProbeModal(bool(billable_probes_offered()), pool.get("vm_size"),
                                        self.state.simulated), chosen)

    @on(Button.Pressed, "#probes")
    def _probes(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_probes()

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


class ProbeModal(ModalScreen["tuple[str, ...] | None"]):
    """Ask before probing: what probes create, and the opt-in probe that costs money, with its cost said.
    Dismisses with the billable probes chosen (empty: the free ones only), or None (not now)."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel"), *DIALOG_KEYS]

    def __init__(self, scaling_offered: bool, gpu_size: str | None, simulated: bool) -> None:
        super().__init__(classes="modal")
        self.scaling_offered, self.gpu_size, self.simulated = scaling_offered, gpu_size, simulated

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("Run the conformance probes?", classes="dialog-title", markup=False)
            yield Static("Probes prove what reading cannot: short-lived workloads (a DRA claim, a gang of pods, an "
                         "HPA scaling on a metric, a route through the Gateway, ...) in a throw-away namespace "
                         "aicv-<random>, deleted afterwards. They use the nodes the cluster already has; a few "
                         "minutes on Azure.", classes="dialog-body", markup=False)
            if self.scaling_offered:
                size = self.gpu_size or "the GPU pool's size"
                cost = ("simulated: nothing is billed" if self.simulated else
                        f"Azure bills the extra {size} node at its hourly price for the time it runs")
                yield Checkbox(Content("Also the cluster autoscaling probe: it makes the autoscaler add one node and "
                                       f"waits for it to go again (up to about 30 minutes). Costs money: {cost}."),
                               id="scaling", compact=True)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Run probes", id="run", variant="primary", compact=True)
                yield Button("Not now", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#run", Button).focus()

    @on(Button.Pressed, "#run")
    def _run(self) -> None:
        scaling = self.query("#scaling")
        self.dismiss(("cluster_autoscaling",) if scaling and scaling.first(Checkbox).value else ())

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)
