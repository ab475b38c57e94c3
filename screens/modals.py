"""Small typed modal screens: confirm, quit (offering to save the answers), device-code sign-in."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Input, Static

if TYPE_CHECKING:
    from screens.state import WizardState


DIALOG_KEYS = [Binding("left", "app.focus_previous", "Previous button", show=False),
               Binding("right", "app.focus_next", "Next button", show=False)]
"""Left and right move between a dialog's buttons (an input that has focus keeps them for its cursor)."""


class ConfirmModal(ModalScreen[bool]):
    BINDINGS = [Binding("escape", "dismiss(False)", "No"), *DIALOG_KEYS]

    def __init__(self, title: str, body: str, yes: str = "Yes", no: str = "No") -> None:
        super().__init__(classes="modal")
        self.title_text, self.body, self.yes, self.no = title, body, yes, no

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.title_text, classes="dialog-title", markup=False)
            yield Static(self.body, classes="dialog-body", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button(self.yes, id="yes", variant="error", compact=True)
                yield Button(self.no, id="no", variant="primary", compact=True)

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    @on(Button.Pressed, "#yes")
    def _yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#no")
    def _no(self) -> None:
        self.dismiss(False)


def confirm_stop(screen: Screen[Any], body: str, stop: Callable[[], None]) -> None:
    """Ask before a run stops being followed (the run and the fleet view); `stop` only on yes."""
    def done(yes: bool | None) -> None:
        if yes:
            stop()

    screen.app.push_screen(ConfirmModal("Stop following the run?", body, "Stop the run", "Keep running"), done)


class PathModal(ModalScreen["str | None"]):
    """Ask for a file or folder, prefilled with where the wizard would put it: the path, or None (cancelled)."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel"), *DIALOG_KEYS]

    def __init__(self, title: str, body: str, path: str, ok: str = "Write") -> None:
        super().__init__(classes="modal")
        self.title_text, self.body, self.path, self.ok = title, body, path, ok

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.title_text, classes="dialog-title", markup=False)
            yield Static(self.body, classes="dialog-body", markup=False)
            yield Input(self.path, id="path", compact=True)
            with Horizontal(classes="dialog-buttons"):
                yield Button(self.ok, id="ok", variant="primary", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        if self.app.is_headless:
            self.query_one("#path", Input).cursor_blink = False
        self.query_one("#path", Input).focus()

    @on(Input.Submitted, "#path")
    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        self.dismiss(self.query_one("#path", Input).value.strip() or self.path)

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)


class TextModal(ModalScreen[None]):
    """Text to copy whole (commands): a read-only, unwrapped text area, Copy all, Save to a file."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Close"), *DIALOG_KEYS]

    def __init__(self, title: str, text: str, save_to: Path, note: str = "") -> None:
        super().__init__(classes="modal text-modal")
        self.title_text, self.text, self.save_to, self.note = title, text, save_to, note

    def compose(self) -> ComposeResult:
        from textual.widgets import TextArea

        with Vertical(classes="dialog"):
            yield Static(self.title_text, classes="dialog-title", markup=False)
            if self.note:
                yield Static(self.note, classes="dialog-body", markup=False)
            yield TextArea(self.text, read_only=True, soft_wrap=False, id="text", compact=True)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Copy all", id="copy", variant="primary", compact=True)
                yield Button(f"Save as {self.save_to.name}", id="save", compact=True)
                yield Button("Close", id="close", compact=True)

    def on_mount(self) -> None:
        self.query_one("#copy", Button).focus()

    @on(Button.Pressed, "#copy")
    def _copy(self) -> None:
        self.app.copy_to_clipboard(self.text)
        self.notify("Copied to the clipboard (in terminals that allow it: OSC 52)", markup=False)

    @on(Button.Pressed, "#save")
    def _save(self) -> None:
        try:
            self.save_to.parent.mkdir(parents=True, exist_ok=True)
            self.save_to.write_text(self.text, encoding="utf-8")
        except OSError as exc:
            self.notify(f"Cannot write {self.save_to}: {exc.strerror or exc}", severity="error", markup=False)
            return
        state = getattr(self.app, "state", None)
        if state is not None:
            state.written("az commands", self.save_to)
        self.notify(f"Saved {self.save_to}", markup=False)

    @on(Button.Pressed, "#close")
    def _close(self) -> None:
        self.dismiss(None)


class QuitModal(ModalScreen["tuple[str, str] | None"]):
    """Quit, offering to save the answers first: ("save", path) | ("quit", "") | None (stay)."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Stay"), *DIALOG_KEYS]

    def __init__(self, path: str, offer_save: bool, running_note: str = "") -> None:
        super().__init__(classes="modal")
        self.path, self.offer_save, self.running_note = path, offer_save, running_note

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("Quit aks-ai-wizard?", classes="dialog-title", markup=False)
            if self.running_note:
                yield Static(self.running_note, classes="dialog-warning", markup=False)
            if self.offer_save:
                yield Static("Your answers are not saved. Save them to:", classes="dialog-body", markup=False)
                yield Input(self.path, id="quit-path", compact=True)
            with Horizontal(classes="dialog-buttons"):
                if self.offer_save:
                    yield Button("Save and quit", id="save", variant="primary", compact=True)
                yield Button("Quit" + (" without saving" if self.offer_save else ""), id="quit", variant="error", compact=True)
                yield Button("Stay", id="stay", compact=True)

    def on_mount(self) -> None:
        if self.app.is_headless:
            for inp in self.query(Input):
                inp.cursor_blink = False
        self.query_one("#save" if self.offer_save else "#stay", Button).focus()

    @on(Button.Pressed, "#save")
    def _save(self) -> None:
        self.dismiss(("save", self.query_one("#quit-path", Input).value.strip() or self.path))

    @on(Input.Submitted, "#quit-path")
    def _submit(self) -> None:
        self._save()

    @on(Button.Pressed, "#quit")
    def _quit(self) -> None:
        self.dismiss(("quit", ""))

    @on(Button.Pressed, "#stay")
    def _stay(self) -> None:
        self.dismiss(None)


class DeviceCodeModal(ModalScreen[None]):
    BINDINGS = [Binding("escape", "dismiss(None)", "Close"), *DIALOG_KEYS]

    def __init__(self, uri: str, code: str, expires: Any) -> None:
        super().__init__(classes="modal")
        self.uri, self.code, self.expires = uri, code, expires

    def compose(self) -> ComposeResult:
        when = self.expires.strftime("%H:%M") if hasattr(self.expires, "strftime") else str(self.expires)
        with Vertical(classes="dialog"):
            yield Static("Sign in with a device code", classes="dialog-title", markup=False)
            yield Static(f"Open {self.uri} in a browser and enter the code\n\n    {self.code}\n\n"
                         f"(valid until {when}). The wizard continues by itself once you have signed in.",
                         classes="dialog-body", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Copy code", id="copy", compact=True)
                yield Button("Close", id="close", variant="primary", compact=True)

    @on(Button.Pressed, "#copy")
    def _copy(self) -> None:
        self.app.copy_to_clipboard(self.code)

    @on(Button.Pressed, "#close")
    def _close(self) -> None:
        self.dismiss(None)


MIN_SIZE = (60, 20)


class TooSmallModal(ModalScreen[None]):
    """Over everything while the terminal is below MIN_SIZE; goes away by itself once it is large enough."""

    def __init__(self) -> None:
        super().__init__(classes="modal too-small")

    def compose(self) -> ComposeResult:
        yield Static("", id="too-small", markup=False)

    def on_mount(self) -> None:
        self.show(self.app.size.width, self.app.size.height)

    def show(self, width: int, height: int) -> None:
        self.query_one("#too-small", Static).update(
            f"Terminal too small: {width}x{height}.\naks-ai-wizard needs at least {MIN_SIZE[0]}x{MIN_SIZE[1]} "
            "(80x24 or larger reads best). Enlarge the window; the wizard carries on where it was.")


class HelpModal(ModalScreen[None]):
    """Every key of the screen it was opened from (shown in the key bar or not), and what it does."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Close"), Binding("f1", "dismiss(None)", "Close", show=False)]

    def __init__(self, title: str, keys: list[tuple[str, str, str, bool]]) -> None:
        super().__init__(classes="modal help")
        self.title_text, self.keys = title, keys  # (where, key, what, available now)

    def compose(self) -> ComposeResult:
        from textual.containers import VerticalScroll

        with Vertical(classes="dialog"):
            yield Static(f"Keys: {self.title_text}", classes="dialog-title", markup=False)
            with VerticalScroll(id="help-keys"):
                where = None
                for group, key, what, enabled in self.keys:
                    if group != where:
                        where = group
                        yield Static(group, classes="help-group", markup=False)
                    yield Static(f"  {key:<14} {what}" + ("" if enabled else "  (not now)"),
                                 classes="help-key" if enabled else "help-key -disabled", markup=False)
            yield Static("The command palette (^p) has the rest: save a screenshot, change the theme, go to a step.",
                         classes="dialog-body", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Close", id="close", variant="primary", compact=True)

    def on_mount(self) -> None:
        self.query_one("#close", Button).focus()

    @on(Button.Pressed, "#close")
    def _close(self) -> None:
        self.dismiss(None)


def in_flight_note(state: "WizardState", running: list[str], journals: str) -> str:
    """What stopping leaves behind: what is in flight, and how a later start picks it up (or, for a simulated
    Azure without a state file, that quitting ends it)."""
    what = ("\n".join(f"  - {t}" for t in running)) if running else "  (nothing is in flight right now)"
    sim = state.sim
    if sim is not None and sim.state_file is None:
        return (f"In flight:\n{what}\nThis simulated Azure lives only as long as the wizard: quitting ends it "
                "and everything it holds, so a later start begins from an empty subscription (start with "
                "--sim-state FILE to keep the simulated world between runs).")
    return ("Operations Azure already accepted keep running in Azure even if you stop here:\n"
            f"{what}\n{journals} record(s) them: start again with the same answers and the wizard "
            "re-attaches instead of sending them twice.")
