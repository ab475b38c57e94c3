"""The aks-ai-wizard Textual app: one async worker walks the steps with push_screen_wait.

Every step screen is built from the WizardState (the answers draft lives there, not in widgets) and
dismisses with a Nav: next, back, or goto a step (e.g. the step that fixes a failure). Steps a prefilled
answers file already answers are skipped going forward and shown again when the user goes back to them.
"""
from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from textual import events, on, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen

from screens.base import Nav
from screens.state import STEP_KEYS, STEPS, Draft, WizardState, step_info

if TYPE_CHECKING:
    import argparse

    from wizard.session import SimOptions


class WizardApp(App[int]):
    CSS_PATH = Path(__file__).with_name("app.tcss")
    TITLE = "aks-ai-wizard"
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]  # classes on the screen: app.tcss sizes panes by them
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (90, "-wide")]
    BINDINGS = [
        Binding("ctrl+q", "request_quit", "Quit", priority=True),
        Binding("ctrl+s", "save_answers", "Save answers"),
        Binding("f1", "help", "Help"),
        Binding("question_mark", "help", "Help", show=False),
        Binding("f12", "screenshot", "Save a screenshot", show=False),
    ]

    class DeviceCode(Message):
        def __init__(self, uri: str, code: str, expires: Any) -> None:
            super().__init__()
            self.uri, self.code, self.expires = uri, code, expires

    def __init__(self, sim: "SimOptions | None" = None, answers_path: Path | None = None,
                 cloud: "str | dict[str, str] | None" = None, subscription: str | None = None, start: bool = True) -> None:
        super().__init__()
        self.state = WizardState(answers_path=answers_path, sim=sim)
        self.overrides = {k: v for k, v in (("azure.cloud", cloud), ("azure.subscription", subscription)) if v}
        self.start = start
        self.step_key: str | None = None
        self.last_save_wrote = True  # False: the last save found the file already holding these answers

    # ------------------------------------------------------------------------------------------ flow
    def on_mount(self) -> None:
        if self.start:
            self.run_wizard()
        self.call_after_refresh(lambda: self.check_size(self.size.width, self.size.height))

    async def prefill(self) -> None:
        path = self.state.answers_path
        draft = Draft()
        if path is not None and path.exists():
            from wizard.answers import load_partial

            raw, errors = await asyncio.to_thread(load_partial, path)
            draft = Draft(raw)
            self.state.prefill_errors = errors
            self.state.saved_snapshot = draft.copy()
        for key, value in self.overrides.items():
            draft.set(key, value)
        self.state.draft = draft
        if path is not None and path.exists():
            self.state.skip = {s.key for s in STEPS if s.skippable and draft.answered(s.key)}

    @work(exclusive=True, group="wizard", description="walk the wizard steps")
    async def run_wizard(self) -> None:
        await self.prefill()
        index = 0
        passed: list[str] = []
        while True:
            key = STEP_KEYS[index]
            if key in self.state.skip:
                if await self.pass_automatically(key):
                    passed.append(key)
                    index += 1
                    continue
                self.state.skip.discard(key)
            if passed and self.state.answers_path is not None:
                numbers = [str(STEP_KEYS.index(k) + 1) for k in passed]
                self.state.note = (f"Step{'s' if len(numbers) > 1 else ''} {', '.join(numbers)} answered by "
                                   f"{self.state.answers_path.name}; Back shows them.")
            passed = []
            self.step_key = key
            nav = await self.push_screen_wait(self.make_screen(key))
            if nav is None or nav.kind == "quit":
                return
            if nav.kind == "next":
                if key == "verify":
                    await self.quit_wizard()
                    return
                index += 1
            elif nav.kind == "back":
                index = STEP_KEYS.index("review") if key in ("run", "verify") else max(0, index - 1)
                self.state.skip.discard(STEP_KEYS[index])
            elif nav.kind == "goto" and nav.target in STEP_KEYS:
                index = STEP_KEYS.index(nav.target)
                self.state.skip.discard(nav.target)

    async def pass_automatically(self, key: str) -> bool:
        """A step the prefilled file answers; the subscription still has to be found and bound."""
        if key != "subscription":
            return True
        link, wanted = self.state.link, str(self.state.draft.get("azure.subscription") or "")
        if link is None:
            return False
        try:
            sub_id, name = await asyncio.to_thread(link.resolve, wanted)
        except Exception:  # noqa: BLE001 - show the screen: it lists what is available
            return False
        session = self.state.session
        if session is None or session.subscription[0] != sub_id:
            self.state.session = link.bind(sub_id, name)
        return True

    def make_screen(self, key: str) -> Screen[Nav]:
        if key == "welcome":
            from screens.welcome import WelcomeScreen

            return WelcomeScreen(self.state)
        if key == "review" and self.state.draft.get("fleet") is not None:
            from screens.fleet import FleetScreen  # a fleet file: every member planned, applied and verified

            return FleetScreen(self.state)
        from screens import steps
        from screens.review import ReviewScreen

        if key == "run":
            from screens.run import RunScreen

            assert self.state.plan is not None
            return RunScreen(self.state, self.state.plan)
        if key == "verify":
            from screens.verify import VerifyScreen

            return VerifyScreen(self.state)
        cls = {"subscription": steps.SubscriptionScreen,
               "location": steps.LocationScreen, "cluster": steps.ClusterScreen, "network": steps.NetworkScreen,
               "identity": steps.IdentityScreen, "mesh": steps.MeshScreen,
               "features": steps.FeaturesScreen, "gpu": steps.GpuScreen, "addons": steps.AddonsScreen,
               "review": ReviewScreen}[key]
        return cls(self.state)

    def on_resize(self, event: events.Resize) -> None:
        self.check_size(event.size.width, event.size.height)

    def check_size(self, width: int, height: int) -> None:
        """Below the minimum a notice covers the screen (no clipped form), and goes once there is room."""
        from screens.modals import MIN_SIZE, TooSmallModal

        small = width < MIN_SIZE[0] or height < MIN_SIZE[1]
        notice = next((s for s in self.screen_stack if isinstance(s, TooSmallModal)), None)
        if notice is not None and (not small or self.screen is not notice):
            notice.dismiss(None)  # gone, or buried under a screen pushed since: shown again on top
            notice = None
        if small and notice is None:
            self.push_screen(TooSmallModal())
        elif small and notice is not None:
            notice.show(width, height)

    def warm_up(self) -> None:
        """Once the first screen is up: import what the next steps need, off the UI thread."""

        def imports() -> None:
            import screens.steps  # noqa: F401
            from wizard.interactive import warm_up

            warm_up()

        self.run_worker(imports, thread=True, group="warm-up", exit_on_error=False, description="warm up")

    # ------------------------------------------------------------------------------------------ sign-in
    def device_code_prompt(self, uri: str, code: str, expires: Any) -> None:
        """Called by azure-identity on a worker thread: post, never touch the UI here."""
        self.post_message(self.DeviceCode(uri, code, expires))

    @on(DeviceCode)
    def _device_code(self, message: DeviceCode) -> None:
        from screens.modals import DeviceCodeModal

        self.push_screen(DeviceCodeModal(message.uri, message.code, message.expires))

    # ------------------------------------------------------------------------------------------ save and quit
    def save_answers(self, path: Path, allow_partial: bool = False) -> str | None:
        """Save the draft; returns an error message or None. Incomplete answers are written as a partial
        file only when `allow_partial` (it prefills the next start, which then asks only for what is missing)."""
        from wizard.answers import AnswersError, save_answers, save_partial

        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                # comments kept; a file that already holds these answers is left untouched
                self.last_save_wrote = save_answers(self.state.draft.to_answers(), path, self.state.draft.copy())
            except AnswersError as exc:
                if not allow_partial:
                    missing = "; ".join(f"{e.path}: {e.message}" for e in exc.errors[:3])
                    return f"The answers are not complete yet ({missing})."
                save_partial(self.state.draft.copy(), path)
        except OSError as exc:
            return f"Cannot write {path}: {exc.strerror or exc}"
        self.state.answers_path = path
        self.state.saved_snapshot = self.state.draft.copy()
        self.state.written("answers", path)
        return None

    def _store_current(self) -> None:
        store = getattr(self.screen, "store", None)
        if callable(store):
            store()

    def action_save_answers(self) -> None:
        self._store_current()
        error = self.save_answers(self.state.save_path)
        if error:
            self.notify(error, title="Not saved", severity="warning", markup=False)
        else:
            self.notify(self.saved_words(self.state.save_path), markup=False)

    def saved_words(self, path: Path) -> str:
        """What the last successful save did, in words."""
        return f"Answers saved to {path}" if self.last_save_wrote else \
            f"{path} already holds these answers (not rewritten)"

    def running_screen(self) -> Any:
        """The run screen or teardown dialog whose engine is working (quitting stops following it)."""
        from screens.fleet import FleetScreen
        from screens.run import RunScreen

        for s in self.screen_stack:
            if isinstance(s, (RunScreen, FleetScreen)) and s.running:
                return s
            if type(s).__name__ == "TeardownModal" and getattr(s, "running", False):
                return s
        return None

    def has_answers(self) -> bool:
        """Something beyond the sign-in choices was answered."""
        data = self.state.draft.data
        azure = data.get("azure") or {}
        return any(k not in ("version", "azure") for k in data) or any(
            k not in ("cloud", "auth", "tenant") for k in azure)

    def action_request_quit(self) -> None:
        from screens.modals import QuitModal

        if isinstance(self.screen, QuitModal):
            return
        self._store_current()
        offer = self.state.dirty and self.has_answers()
        run = self.running_screen()
        if not offer and run is None:
            self.call_later(self.quit_wizard)
            return
        note = ("A run is in progress. " + run.cancel_note()) if run is not None else ""

        def chosen(choice: tuple[str, str] | None) -> None:
            if choice is None:
                return
            kind, path = choice
            if kind == "save":
                error = self.save_answers(Path(path), allow_partial=True)
                if error:
                    self.notify(error, title="Not saved", severity="error", markup=False)
                    return
            self.call_later(self.quit_wizard)

        self.push_screen(QuitModal(str(self.state.save_path), offer, note), chosen)

    def action_quit(self) -> None:  # type: ignore[override]  # Textual runs a plain action as well as a coroutine
        """The palette's built-in Quit asks like ^q does (a run in progress, unsaved answers)."""
        self.action_request_quit()

    async def quit_wizard(self) -> None:
        run = self.running_screen()
        if run is not None:
            run.cancel()  # the engine stops after the current poll; Azure keeps what it accepted
            # wait for it before the connection (and a simulator) closes, so the journal records a cancel,
            # not a refused connection
            engines = [w for w in self.workers if w.group in ("engine", "teardown")]
            try:
                await asyncio.wait_for(self.workers.wait_for_complete(engines), timeout=30)
            except asyncio.TimeoutError:
                pass
        self.exit(0)

    def exit_lines(self) -> list[str]:
        """Where this session's files are, printed once the terminal is back (nothing when nothing was written)."""
        lines = [f"{what}: {path}" for what, path in self.state.outputs.items()]
        return (["aks-ai-wizard wrote:"] + ["  " + line for line in lines]) if lines else []

    def on_unmount(self) -> None:
        link = self.state.link
        if link is not None:
            self.state.link = None
            link.close()

    # ------------------------------------------------------------------------------------------ help, screenshot
    def action_help(self) -> None:
        from screens.modals import HelpModal, TooSmallModal

        screen = self.screen
        if isinstance(screen, (HelpModal, TooSmallModal)):
            return
        keys: list[tuple[str, str, str, bool]] = []
        seen: set[str] = set()
        for node, binding, enabled, _tooltip in screen.active_bindings.values():
            if not binding.description or binding.action in seen or binding.action == "help":
                continue
            seen.add(binding.action)
            where = "Everywhere" if node is self else "This screen"
            keys.append((where, self.get_key_display(binding), binding.description, enabled))
        keys.append(("Everywhere", "f1  ?", "This help", True))
        keys.append(("Everywhere", "tab  shift+tab", "Next / previous field or button", True))
        keys.sort(key=lambda k: k[0] != "This screen")
        header = screen.query("StepHeader")
        title = header.first().heading if header else type(screen).__name__  # type: ignore[attr-defined]
        self.push_screen(HelpModal(title, keys))

    def action_screenshot(self, filename: str | None = None, path: str | None = None) -> None:
        """Textual's screenshot, written beside the answers file (or a folder the user chooses), never a
        Downloads folder that may not exist; in a browser (serve) the file is offered as a download."""
        if path is not None:
            self.take_screenshot(filename, Path(path))
            return
        from screens.modals import PathModal

        def chosen(folder: str | None) -> None:
            if folder:  # once the dialog is gone, so the picture is of the screen underneath
                self.call_after_refresh(self.take_screenshot, filename, Path(folder).expanduser())

        self.push_screen(PathModal("Save a screenshot", "An SVG of the current screen is written to this folder:",
                                   str(self.state.save_path.parent), ok="Save"), chosen)

    def take_screenshot(self, filename: str | None, folder: Path) -> None:
        from textual._files import generate_datetime_filename

        name = filename or generate_datetime_filename(self.title, ".svg")
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self.notify(f"Cannot create {folder}: {exc.strerror or exc}", severity="error", markup=False)
            return
        self.deliver_screenshot(name, str(folder))
        if not self.is_web:
            self.state.written("screenshot", folder / name)
            self.notify(f"Screenshot saved: {folder / name}", markup=False)

    # ------------------------------------------------------------------------------------------ palette
    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Save answers", f"Write the answers to {self.state.save_path}",
                            self.action_save_answers)
        yield SystemCommand("Quit the wizard", "Offers to save the answers first", self.action_request_quit)
        current = self.step_key
        if current and current in STEP_KEYS[: STEP_KEYS.index("review") + 1]:
            for key in STEP_KEYS[1: STEP_KEYS.index("review") + 1]:
                if key != current and self.state.session is not None:
                    yield SystemCommand(f"Go to: {step_info(key).title}", "Answers so far are kept",
                                        lambda k=key: self._goto(k))

    def _goto(self, key: str) -> None:
        from screens.base import StepScreen

        screen = self.screen
        if isinstance(screen, StepScreen):
            screen.goto(key)


def run_app(args: "argparse.Namespace") -> int:
    """Entry point from `aks-ai-wizard` with no command."""
    import logging

    from wizard.session import SimOptions

    root = logging.getLogger()
    if getattr(args, "log_file", None):
        handler = logging.FileHandler(args.log_file, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"))
        root.addHandler(handler)
        root.setLevel(logging.DEBUG if getattr(args, "verbose", 0) > 1 else logging.INFO)
    else:
        root.addHandler(logging.NullHandler())  # nothing may write over the screen
    sim = SimOptions(args.sim_speed, list(args.sim_fault or []), args.sim_state) if args.simulate else None
    cloud = None
    if args.cloud:
        from wizard.interactive import CloudError, cloud_setting

        try:
            cloud = cloud_setting(args.cloud)
        except CloudError as exc:
            print(f"--cloud: {exc}", file=sys.stderr)
            return 1
    app = WizardApp(sim=sim, answers_path=args.answers, cloud=cloud, subscription=args.subscription)
    app.state.no_prices = bool(getattr(args, "no_prices", False))
    app.run()
    for line in app.exit_lines():
        print(line)
    return app.return_code or 0
