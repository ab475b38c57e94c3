"""Engine events: the one vocabulary every front end (headless CLI, TUI) renders."""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Literal

# the app's own events (steps started/finished/failed, translated errors) for --log-file; the front ends print them
# already, so the console log handler leaves this logger out
log = logging.getLogger("wizard.events")
log.addHandler(logging.NullHandler())  # without --log-file nothing is logged (no "last resort" copy on stderr)

EventKind = Literal["started", "progress", "log", "done", "skipped", "failed", "cancelled"]


@dataclass(frozen=True)
class Event:
    kind: EventKind
    step: str
    message: str = ""
    status: str | None = None  # what Azure reports (operation status, provisioning state), never invented
    elapsed: float = 0.0
    typical: float | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in (None, {}, "")}


EventSink = Callable[[Event], None]
