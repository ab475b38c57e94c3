"""One rate budget per connection: when ARM throttles one request (429 with Retry-After), every request through
the same connection waits until then before it is sent. The steps of a run and the members of a fleet share one
connection, so throttling on one of them slows them all instead of each spending the subscription's budget on
retries of its own."""
from __future__ import annotations

import threading
import time
from email.utils import parsedate_to_datetime
from typing import Any, Callable

from azure.core.pipeline.policies import HTTPPolicy

MAX_WAIT = 120.0  # seconds: a Retry-After beyond this is not honoured by holding every other request


def retry_after(headers: Any) -> float | None:
    """Seconds from retry-after-ms / x-ms-retry-after-ms / Retry-After (seconds or an HTTP date)."""
    for name, scale in (("retry-after-ms", 0.001), ("x-ms-retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if not value:
            continue
        try:
            return max(0.0, float(value) * scale)
        except ValueError:
            try:
                return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
            except (TypeError, ValueError):
                return None
    return None


class RateBudget:
    """What the clients of one connection share: until when nobody sends, and what was seen."""

    def __init__(self, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.sleep, self.clock = sleep, clock
        self.until = 0.0
        self.lock = threading.Lock()
        self.throttled = 0  # 429s seen
        self.held = 0  # requests held back because one of them was throttled

    def policy(self) -> "ThrottleGate":
        """A per-retry policy for one SDK client (a policy belongs to one pipeline; the budget is shared)."""
        return ThrottleGate(self)


class ThrottleGate(HTTPPolicy[Any, Any]):
    def __init__(self, budget: RateBudget) -> None:
        super().__init__()
        self.budget = budget

    def send(self, request: Any) -> Any:
        b = self.budget
        wait = b.until - b.clock()
        if wait > 0:
            with b.lock:
                b.held += 1
            b.sleep(wait)
        response = self.next.send(request)
        if response.http_response.status_code == 429:
            seconds = retry_after(response.http_response.headers)
            with b.lock:
                b.throttled += 1
                if seconds:
                    b.until = max(b.until, b.clock() + min(seconds, MAX_WAIT))
        return response
