"""Preview features the chosen options need, with their live state; register them from here."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Button, DataTable, Static

from screens.base import StepScreen

if TYPE_CHECKING:
    from wizard.failure import AzureFailure
    from wizard.events import Event



class FeaturesScreen(StepScreen):
    STEP = "features"

    class RegisterEvent(Message, bubble=False):
        def __init__(self, event: "Event") -> None:
            super().__init__()
            self.event = event

    class RegisterDone(Message, bubble=False):
        def __init__(self, status: str, failure: Any = None) -> None:
            super().__init__()
            self.status = status
            self.failure = failure

    def form(self) -> ComposeResult:
        yield Static("Preview feature flags the options you chose need, with their live state. The run "
                     "registers what is missing; you can register them now and watch.", classes="lead",
                     markup=False)
        table: DataTable[str] = DataTable(id="flags", cursor_type="row", zebra_stripes=True)
        yield table
        yield Static("", id="provider", markup=False)
        with Horizontal(classes="actions"):
            yield Button("Register needed flags now", id="register", disabled=True, compact=True)
        progress: DataTable[str] = DataTable(id="reg-progress", cursor_type="none")
        progress.display = False
        yield progress

    def on_mount(self) -> None:
        table = self.query_one("#flags", DataTable)
        table.add_columns("Flag", "State", "Needed")
        prog = self.query_one("#reg-progress", DataTable)
        prog.add_columns("Step", "State", "Azure status", "Elapsed")

    def load(self) -> None:
        from wizard.interactive import flag_rules_for, flag_states

        self.infos = flag_rules_for(self.draft.data)
        self._show(self.infos, None)
        self.query_one("#flags").loading = True
        self.fetch("flag states", flag_states, self.state.session, self.infos)

    def _show(self, infos: Any, provider: str | None) -> None:
        table = self.query_one("#flags", DataTable)
        table.clear()
        for f in infos:
            needed = f"yes: {f.option or 'answers file'}" if f.needed else f"no: {f.option} is off"
            table.add_row(Text(f.flag.split("/")[-1]), Text(f.state), Text(needed), key=f.flag)
        if provider is not None:
            self.query_one("#provider", Static).update(
                f"Resource provider Microsoft.ContainerService: {provider}. After new flags register it is "
                "re-registered so they take effect (its own step).")
        missing = [f for f in infos if f.needed and not f.registered]
        self.query_one("#register", Button).disabled = provider is None or not missing

    def fetched(self, key: str, result: Any) -> None:
        self.infos, self.provider_state = result
        self.query_one("#flags").loading = False
        self._show(self.infos, self.provider_state)

    def fetch_failed(self, key: str, failure: "AzureFailure") -> None:
        self.query_one("#flags").loading = False
        super().fetch_failed(key, failure)

    @on(Button.Pressed, "#register")
    def _register(self, event: Button.Pressed) -> None:
        event.stop()
        flags = [f.flag for f in self.infos if f.needed and not f.registered]
        prog = self.query_one("#reg-progress", DataTable)
        prog.display = True
        prog.clear()
        for f in flags:
            prog.add_row(f"feature:{f.split('/')[-1]}", "waiting", "", "", key=f"feature:{f.split('/')[-1]}")
        prog.add_row("provider (re-register)", "waiting", "", "", key="provider")
        self.query_one("#register", Button).disabled = True
        self.set_status("Registering preview features...")
        self.run_worker(lambda: self._register_worker(flags), thread=True, group="register", exclusive=True,
                        exit_on_error=False, description="register preview features")

    def _register_worker(self, flags: list[str]) -> None:
        from wizard.interactive import failure_of, register_flags

        def sink(event: "Event") -> None:
            self.post_message(self.RegisterEvent(event))

        session = self.state.session
        assert session is not None  # signed in and bound before this step
        try:
            result = register_flags(session, flags, sink, engine_ready=lambda eng: setattr(self, "_engine", eng))
        except Exception as exc:  # noqa: BLE001
            self.post_message(self.RegisterDone("failed", failure_of(exc)))
            return
        self.post_message(self.RegisterDone(result.status, result.failure))

    @on(RegisterEvent)
    def _reg_event(self, message: RegisterEvent) -> None:
        from wizard.render import fmt_seconds

        e = message.event
        prog = self.query_one("#reg-progress", DataTable)
        if e.step not in prog.rows:
            return
        if e.kind in ("started", "progress", "done", "failed", "skipped"):
            prog.update_cell(e.step, prog.ordered_columns[1].key, Text(e.kind if e.kind != "progress" else "running"))
        if e.status:
            prog.update_cell(e.step, prog.ordered_columns[2].key, Text(e.status), update_width=True)
        if e.elapsed:
            prog.update_cell(e.step, prog.ordered_columns[3].key, fmt_seconds(e.elapsed))

    @on(RegisterDone)
    def _reg_done(self, message: RegisterDone) -> None:
        if message.failure is not None:
            self.fetch_failed("preview features", message.failure)
        self.set_status(f"Registration {message.status}")
        from wizard.interactive import flag_states

        self.fetch("flag states", flag_states, self.state.session, self.infos)

    def store(self) -> None:
        if not self.draft.has("features"):
            self.draft.set("features", "auto")

    def on_unmount(self) -> None:
        engine = getattr(self, "_engine", None)
        if engine is not None:
            engine.cancel()  # registration keeps going in Azure; the run waits for it


