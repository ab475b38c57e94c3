"""Small reusable widgets: a labelled form field with its inline error, the error panel, the header."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Button, Footer, Static

if TYPE_CHECKING:
    from wizard.azure.errors import AzureFailure


def field_id(path: str) -> str:
    """A widget id for an answers path: cluster.system_pool.count -> f-cluster-system_pool-count."""
    return "f-" + path.replace(".", "-")


class Field(Vertical):
    """A labelled control with a one-line hint and the error that refuses Next, right under it."""

    def __init__(self, label: str, control: Widget, path: str, hint: str = "",
                 check: Callable[[Any], str | None] | None = None, **kw: Any) -> None:
        super().__init__(id=field_id(path), classes="field", **kw)
        self.label = label
        self.control = control
        self.path = path
        self.hint = hint
        self.check = check

    def compose(self) -> ComposeResult:
        yield Static(self.label, classes="field-label", markup=False)
        yield self.control
        if self.hint:
            yield Static(self.hint, classes="field-hint", markup=False)
        yield Static("", classes="field-error", markup=False)

    def set_error(self, message: str | None) -> None:
        error = self.query_one(".field-error", Static)
        error.update(message or "")
        self.set_class(bool(message), "-invalid")

    @property
    def error(self) -> str:
        return str(self.query_one(".field-error", Static).content)


class ErrorPanel(Vertical):
    """An Azure failure: what happened, why, what to do, the request id, and the way back to the fix.

    All of it is Azure's or the user's text: shown without markup (a resource id with brackets is safe).
    """

    def __init__(self, failure: "AzureFailure", step_title: str | None, fix_step: str | None,
                 fix_title: str | None, **kw: Any) -> None:
        super().__init__(classes="error-panel", **kw)
        self.failure = failure
        self.step_title = step_title
        self.fix_step = fix_step
        self.fix_title = fix_title

    def compose(self) -> ComposeResult:
        f = self.failure
        head = f"Step failed: {self.step_title}" if self.step_title else "Azure refused the request"
        yield Static(head, classes="error-title", markup=False)
        yield Static(f.render(), classes="error-body", markup=False)
        with Horizontal(classes="error-actions"):
            if self.fix_step:
                yield Button(f"Fix it: go to {self.fix_title}", id="fix", variant="warning", compact=True)
            yield Button("Copy request id" if f.request_id else "Close", id="copy-rid" if f.request_id else "close", compact=True)

    @on(Button.Pressed, "#copy-rid")
    def _copy_request_id(self, event: Button.Pressed) -> None:
        event.stop()
        self.app.copy_to_clipboard(self.failure.request_id or "")
        self.notify(f"Copied request id {self.failure.request_id}", markup=False)


class Badge(Static):
    """A one-word badge (SIMULATED) beside the step title."""


class WizardFooter(Footer):
    """The key bar, recomposed only when the keys it shows change.

    Textual's Footer recomposes on every bindings signal (each focus change), rebuilding and restyling every
    key; at start-up that happened five times for the same keys."""

    _shown: tuple[Any, ...] | None = None

    def _signature(self) -> tuple[Any, ...]:
        return tuple((b.key, b.description, b.action, enabled, tooltip)
                     for (_, b, enabled, tooltip) in self.screen.active_bindings.values() if b.show)

    def compose(self) -> ComposeResult:
        if self._bindings_ready:
            self._shown = self._signature()
        yield from super().compose()

    def bindings_changed(self, screen: Any) -> None:
        if (self._shown is not None and self.is_attached and screen is self.screen
                and self._signature() == self._shown):
            return
        super().bindings_changed(screen)
