"""Ctrl-C during a run: the first press asks the work to stop after its current poll (operations Azure accepted
keep running there and stay journalled), a second press quits at once."""
from __future__ import annotations

import signal
import sys
from typing import Any, Callable, TypeVar

T = TypeVar("T")


def run_until_interrupted(work: Callable[[], T], cancel: Callable[[], None], notice: str) -> T | None:
    """work() with SIGINT bound to cancel() (notice printed); None when a second Ctrl-C quit at once."""
    presses = 0

    def on_sigint(signum: int, frame: Any) -> None:
        nonlocal presses
        presses += 1
        if presses > 1:
            raise KeyboardInterrupt
        print(f"\ninterrupt: {notice} (press Ctrl-C again to quit at once)", file=sys.stderr, flush=True)
        cancel()

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        return work()
    except KeyboardInterrupt:
        return None
    finally:
        signal.signal(signal.SIGINT, previous)
