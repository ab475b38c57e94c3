"""Small typed modal screens: confirm, quit (offering to save the answers), device-code sign-in."""
from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static


class ConfirmModal(ModalScreen[bool]):
    BINDINGS = [Binding("escape", "dismiss(False)", "No")]

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


class QuitModal(ModalScreen["tuple[str, str] | None"]):
    """Quit, offering to save the answers first: ("save", path) | ("quit", "") | None (stay)."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Stay")]

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
                yield Input(self.path, id="quit-path")
            with Horizontal(classes="dialog-buttons"):
                if self.offer_save:
                    yield Button("Save and quit", id="save", variant="primary", compact=True)
                yield Button("Quit" + (" without saving" if self.offer_save else ""), id="quit", variant="error", compact=True)
                yield Button("Stay", id="stay", compact=True)

    def on_mount(self) -> None:
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
    BINDINGS = [Binding("escape", "dismiss(None)", "Close")]

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
