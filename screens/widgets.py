"""Small reusable widgets: a labelled form field with its inline error, the error panel, the key bar."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.style import Style
from textual.widget import Widget
from textual.widgets import Button, Static

from screens.state import STEP_KEYS

if TYPE_CHECKING:
    from wizard.failure import AzureFailure


def field_id(path: str) -> str:
    """A widget id for an answers path: cluster.system_pool.count -> f-cluster-system_pool-count."""
    return "f-" + path.replace(".", "-")


class Field(Vertical):
    """A control with its label on the field's top edge, an optional one-line hint, and the error that
    refuses Next right under it (mounted when there is one: most fields never show an error)."""

    def __init__(self, label: str, control: Widget, path: str, hint: str = "",
                 check: Callable[[Any], str | None] | None = None, **kw: Any) -> None:
        super().__init__(id=field_id(path), classes="field", **kw)
        self.border_title = Content(label)
        self.control = control
        self.path = path
        self.hint = hint
        self.check = check

    def compose(self) -> ComposeResult:
        yield self.control
        if self.hint:
            yield Static(self.hint, classes="field-hint", markup=False)

    def set_error(self, message: str | None) -> None:
        self.set_class(bool(message), "-invalid")
        shown = self.query_children(".field-error")
        if shown:
            shown.first(Static).update(message or "")
        elif message:
            self.mount(Static(message, classes="field-error", markup=False))

    @property
    def error(self) -> str:
        shown = self.query_children(".field-error")
        return str(shown.first(Static).content) if shown and self.has_class("-invalid") else ""


class StepHeader(Widget):
    """The step's number and title, with the SIMULATED badge at the right when the embedded Azure answers."""

    COMPONENT_CLASSES = {"step-header--badge"}

    def __init__(self, step: str, title: str, simulated: bool) -> None:
        super().__init__(id="step-header")
        self.heading = f"{STEP_KEYS.index(step) + 1}/{len(STEP_KEYS)}  {title}"
        self.simulated = simulated

    def render(self) -> Content:
        title = Content(self.heading)
        if not self.simulated:
            return title
        badge = Content.styled(" SIMULATED ", self.get_visual_style("step-header--badge"))
        return Content.assemble(title, " " * max(1, self.content_size.width - title.cell_length - badge.cell_length),
                                badge)


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
        local = f.category == "journal"  # a local lock, not Azure
        head = (f"Step failed: {self.step_title}" if self.step_title else
                "Could not start: these answers are in use" if local else "Azure refused the request")
        yield Static(head, classes="error-title", markup=False)
        with Horizontal(classes="error-actions"):  # first, so the way out is on screen however long the text
            if self.fix_step:
                yield Button(f"Fix it: go to {self.fix_title}", id="fix", variant="warning", compact=True)
            yield Button("Copy request id" if f.request_id else "Close", id="copy-rid" if f.request_id else "close", compact=True)
        yield Static(f.render(), classes="error-body", markup=False)

    @on(Button.Pressed, "#copy-rid")
    def _copy_request_id(self, event: Button.Pressed) -> None:
        event.stop()
        self.app.copy_to_clipboard(self.failure.request_id or "")
        self.notify(f"Copied request id {self.failure.request_id}", markup=False)


class NavButton(Button, inherit_css=False):
    """Back and Next on the step screens: a compact Button whose few styles live in app.tcss.

    Button's own stylesheet (every variant of every style, 7 KB) was the largest single cost of showing the
    first screen; the buttons of the later screens and dialogs still use it."""


class KeyBar(Widget, can_focus=False):
    """The current screen's keys on one line (the palette key at the right); a click presses the key.

    Textual's Footer mounts a widget per key and rebuilds them all on each focus change; on the first screen
    that was a fifth of start-up. One widget drawing the same keys costs a repaint when they change."""

    COMPONENT_CLASSES = {"keybar--key", "keybar--description", "keybar--palette"}
    ALLOW_SELECT = False

    def __init__(self) -> None:
        super().__init__()
        self._hits: list[tuple[int, int, str]] = []  # (first cell, end cell, key) of each enabled key drawn

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Any) -> None:
        self.refresh()

    def _key(self, binding: Binding, enabled: bool, lead: str = " ", short: bool = False) -> Content:
        key, description = self.get_visual_style("keybar--key"), self.get_visual_style("keybar--description")
        if not enabled:
            key, description = key + Style(dim=True), description + Style(dim=True)
        return Content.assemble((f"{lead}{self.app.get_key_display(binding)} ", key),
                                ("" if short else f"{binding.description} ", description))

    def render(self) -> Content:
        """Every key fits: when the line is too narrow, the last keys lose their descriptions first (the
        help screen lists them all), then the palette key its word; a key is dropped only as a last resort."""
        bindings = self.screen.active_bindings
        shown: dict[str, tuple[Binding, bool]] = {}
        for _node, binding, enabled, _tooltip in bindings.values():
            if binding.show and binding.action not in shown:
                shown[binding.action] = (binding, enabled)
        width = self.content_size.width
        items = list(shown.values())
        full = [self._key(b, enabled) for b, enabled in items]
        parts = list(full)
        palette = bindings.get(self.app.COMMAND_PALETTE_BINDING) if self.app.ENABLE_COMMAND_PALETTE else None
        right: Content | None = None
        if palette is not None:
            right = Content.assemble(("▏", self.get_visual_style("keybar--palette")),
                                     self._key(palette[1], palette[2], lead=""))

        def used() -> int:
            return sum(c.cell_length for c in parts) + (right.cell_length if right is not None else 0)

        for i in reversed(range(len(parts))):
            if used() <= width:
                break
            parts[i] = self._key(*items[i], short=True)
        if palette is not None and used() > width:
            right = Content.assemble(("▏", self.get_visual_style("keybar--palette")),
                                     self._key(palette[1], palette[2], lead="", short=True))
        while parts and used() > width:
            parts.pop()
        row = [(c, b.key if enabled else None) for c, (b, enabled) in zip(parts, items)]
        if right is not None and palette is not None:
            row += [(Content(" " * max(0, width - used())), None), (right, palette[1].key if palette[2] else None)]
        self._hits, x = [], 0
        for content, key in row:
            if key is not None:
                self._hits.append((x, x + content.cell_length, key))
            x += content.cell_length
        return Content.assemble(*(c for c, _ in row))

    def on_click(self, event: events.Click) -> None:
        key = next((k for start, end, k in self._hits if start <= event.x < end), None)
        if key is not None:
            event.stop()
            self.app.simulate_key(key)
