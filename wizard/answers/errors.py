"""Error types of the answers file: one FieldError per problem, all raised together."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FieldError", "AnswersError"]


@dataclass(frozen=True)
class FieldError:
    """One problem in an answers file.

    ``path`` uses dots and list indexes (``gpu_pool.taints[0]``; "" for the whole file);
    ``line`` and ``column`` are 1-based positions in the YAML text when known.
    """

    path: str
    message: str
    line: int | None = None
    column: int | None = None

    def format(self, source: str | None = None) -> str:
        where = source or ""
        if self.line is not None:
            where += f":{self.line}" if where else str(self.line)
            if self.column is not None:
                where += f":{self.column}"
        head = f"{where}: " if where else ""
        field = f"{self.path}: " if self.path else ""
        return f"{head}{field}{self.message}"

    def __str__(self) -> str:
        return self.format()


class AnswersError(Exception):
    """The answers could not be loaded; ``errors`` lists every problem found."""

    def __init__(self, errors: list[FieldError], source: str | None = None):
        self.errors = list(errors)
        self.source = source
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(e.format(self.source) for e in self.errors)
