"""Helpers shared by the TUI tests (Pilot): waiting on conditions, reading widgets (no tests here)."""
from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING, Any, Callable, Iterator

from textual.widgets import DataTable, Input, Static

if TYPE_CHECKING:
    from screens.app import WizardApp


async def wait_for(pilot: Any, predicate: Callable[[], Any], timeout: float = 15.0, what: str = "") -> Any:
    """Poll with pilot.pause() until predicate() is truthy (never a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            app = pilot.app
            raise AssertionError(f"timed out waiting for {what or predicate}; screen={type(app.screen).__name__} "
                                 f"workers={[(w.description, w.state.name, w.error) for w in app.workers]}")
        await pilot.pause(0.02)


async def wait_screen(pilot: Any, name: str, timeout: float = 15.0) -> Any:
    await wait_for(pilot, lambda: type(pilot.app.screen).__name__ == name, timeout, f"screen {name}")
    await pilot.pause()
    return pilot.app.screen


def text_of(screen: Any, selector: str) -> str:
    return str(screen.query_one(selector, Static).content)


def table_rows(screen: Any, selector: str) -> list[list[str]]:
    table = screen.query_one(selector, DataTable)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def type_into(pilot: Any, selector: str, text: str, keys: bool = False) -> None:
    """Fill an input: by key presses (keys=True, what a user does) or by assignment (fast; the Input
    posts the same Changed message, so validation runs alike)."""
    inp = pilot.app.screen.query_one(selector, Input)
    inp.focus()
    await pilot.pause()
    inp.value = ""
    if keys:
        await pilot.press(*list(text))
    else:
        inp.value = text
    await pilot.pause()


def simulator(app: "WizardApp"):
    """The simulator the app signed in to (its link owns it)."""
    assert app.state.link is not None and app.state.link.simulator is not None
    return app.state.link.simulator


@contextlib.contextmanager
def held(app: "WizardApp") -> Iterator[Any]:
    """Hold the simulator's operations (InProgress until released); always released, so the run can end."""
    sim = simulator(app)
    sim.hold()
    try:
        yield sim
    finally:
        sim.release()
