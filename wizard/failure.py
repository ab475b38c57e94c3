"""What went wrong, in words a person can act on: what happened, why, what to do, and the ids a support ticket
needs. Neutral ground: wizard.azure.errors fills it from SDK exceptions, and every front end (the CLI's output, the
TUI's screens) shows it without importing anything of Azure.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Optional

__all__ = ["AzureFailure", "AzureLayerError", "one_line"]


@dataclass
class AzureFailure:
    category: str
    code: Optional[str]
    what: str
    why: str
    action: str
    request_id: Optional[str]
    correlation_id: Optional[str]
    status: Optional[int]
    message: str
    fix_field: Optional[str]
    # for a failed long-running operation: the request id of the write that started it (the PUT) and AKS's
    # operation id; request_id above is then the last poll's
    operation_request_id: Optional[str] = None
    operation_id: Optional[str] = None

    def render(self) -> str:
        lines = [f"What happened: {self.what}", f"Why: {self.why}", f"What to do: {self.action}"]
        if self.message and self.message not in self.why:
            said = f"({self.code}) {self.message}" if self.code else self.message
            lines.append(f"Azure said: {one_line(said, 2000)}")  # whole: the location often comes last
        if self.fix_field:
            lines.append(f"Answer to change: {self.fix_field}")
        if self.request_id or self.correlation_id or self.operation_request_id:
            ids = []
            if self.operation_request_id and self.operation_request_id != self.request_id:
                ids.append(f"request id {self.operation_request_id} (the request that started the operation)")
            if self.operation_id:
                ids.append(f"AKS operation id {self.operation_id}")
            if self.request_id:
                ids.append(f"request id {self.request_id}"
                           + (" (its last status poll)" if self.operation_request_id not in (None, self.request_id)
                              else ""))
            if self.correlation_id:
                ids.append(f"correlation id {self.correlation_id}")
            lines.append("For a support ticket: " + ", ".join(ids))
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        return self.render()


class AzureLayerError(Exception):
    """An error raised by this package itself, already translated (e.g. subscription not found)."""

    def __init__(self, failure: AzureFailure) -> None:
        super().__init__(failure.render())
        self.failure = failure


def one_line(text: str, limit: int = 400) -> str:
    """The text on one line, cut to ``limit`` characters."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
