"""A list of choices where some are shown but can't be chosen (with the reason)."""
from __future__ import annotations

from typing import Iterable, NamedTuple

from textual.binding import Binding
from textual.content import Content
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option


class ChoiceItem(NamedTuple):
    value: str
    label: str
    enabled: bool = True
    reason: str = ""


class ChoiceList(OptionList):
    """The highlighted option is the value; disabled options carry their reason in the label.

    Labels are plain text (Azure names may contain brackets): never parsed as markup.
    """

    BINDINGS = [Binding("enter", "choose", "Choose and go on", show=False)]

    class Chosen(Message):
        """Enter was pressed on an enabled choice."""

        def __init__(self, choice_list: "ChoiceList") -> None:
            super().__init__()
            self.choice_list = choice_list

        @property
        def control(self) -> "ChoiceList":
            return self.choice_list

    def action_cursor_down(self) -> None:
        """No wrap-around: Down at the last choice stays (from 1.34, never round to a preview at the top)."""
        self._step(1)

    def action_cursor_up(self) -> None:
        self._step(-1)

    def _step(self, direction: int) -> None:
        from textual import _widget_navigation

        if not self.options:
            return
        found = _widget_navigation.find_next_enabled_no_wrap(candidates=self.options, anchor=self.highlighted,
                                                              direction=direction)  # type: ignore[arg-type]
        if found is not None:
            self.highlighted = found

    def action_choose(self) -> None:
        if self.value is not None:
            self.post_message(self.Chosen(self))

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, markup=False, compact=True)
        self.items: list[ChoiceItem] = []

    def set_items(self, items: Iterable[ChoiceItem], value: str | None = None, fallback: str | None = None) -> bool:
        self.items = list(items)
        self.clear_options()
        options = []
        for item in self.items:
            label = item.label
            if not item.enabled and item.reason:
                label = f"{label}  - {item.reason}"
            options.append(Option(Content(label), id=item.value, disabled=not item.enabled))
        self.add_options(options)
        return self.select_value(value, fallback)

    def select_value(self, value: str | None, fallback: str | None = None) -> bool:
        """Highlight `value`; when it can't be chosen, `fallback` (else the first enabled choice). Returns
        whether `value` itself was chosen, so a caller can say that an answer was not kept."""
        def index_of(wanted: str | None) -> int | None:
            return next((i for i, item in enumerate(self.items) if item.value == wanted and item.enabled), None)

        enabled = [i for i, item in enumerate(self.items) if item.enabled]
        index = index_of(value)
        kept = index is not None
        if index is None:
            index = index_of(fallback)
        if index is None:
            index = enabled[0] if enabled else None
        self.highlighted = index
        return kept

    @property
    def value(self) -> str | None:
        if self.highlighted is None or not self.items:
            return None
        item = self.items[self.highlighted]
        return item.value if item.enabled else None

    def item(self, value: str | None) -> ChoiceItem | None:
        return next((i for i in self.items if i.value == value), None)
