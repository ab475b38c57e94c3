"""The preflight checklist: one CheckResult per item, with the arithmetic or facts and a concrete fix."""
from __future__ import annotations

import textwrap
from dataclasses import dataclass, field as dc_field
from typing import Any, Literal

Status = Literal["pass", "fail", "warn", "skip"]
MARK = {"pass": "[ok]  ", "fail": "[FAIL]", "warn": "[warn]", "skip": "[skip]"}


@dataclass
class CheckResult:
    id: str  # stable, e.g. "kubernetes-version", "quota:standardNCSv3Family", "sku:gpu_pool"
    title: str
    status: Status
    detail: str = ""  # the facts and the arithmetic
    fix: str = ""  # concrete: answers field + value, az command, portal link
    field: str | None = None  # answers path the fix changes
    data: dict[str, Any] = dc_field(default_factory=dict)  # numbers for JSON consumers and the TUI

    @property
    def failed(self) -> bool:
        return self.status == "fail"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "title": self.title, "status": self.status, "detail": self.detail,
                               "fix": self.fix, "field": self.field}
        if self.data:
            out["data"] = self.data
        return out


@dataclass
class PreflightReport:
    items: list[CheckResult] = dc_field(default_factory=list)
    location: str = ""
    estimate: dict[str, Any] | None = None  # GPU pool cost estimate (list prices), when looked up
    notes: list[str] = dc_field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(i.failed for i in self.items)

    @property
    def failures(self) -> list[CheckResult]:
        return [i for i in self.items if i.failed]

    def get(self, item_id: str) -> CheckResult:
        return next(i for i in self.items if i.id == item_id)

    def find(self, prefix: str) -> list[CheckResult]:
        return [i for i in self.items if i.id == prefix or i.id.startswith(prefix + ":")]

    def counts(self) -> dict[str, int]:
        out = {"pass": 0, "fail": 0, "warn": 0, "skip": 0}
        for i in self.items:
            out[i.status] += 1
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "location": self.location, "counts": self.counts(),
                "items": [i.to_dict() for i in self.items], "estimate": self.estimate, "notes": self.notes}

    def text(self, width: int = 100) -> str:
        lines = [f"Preflight{' in ' + self.location if self.location else ''} (reads only; nothing was written)"]
        indent = " " * 9
        for i in self.items:
            lines.append(f"  {MARK[i.status]} {i.title}")
            if i.detail and (i.status != "pass" or len(i.detail) < 400):
                lines.extend(textwrap.wrap(i.detail, width, initial_indent=indent, subsequent_indent=indent,
                                           break_on_hyphens=False, break_long_words=False))
            if i.fix and i.status in ("fail", "warn"):
                lines.extend(textwrap.wrap("fix: " + i.fix, width, initial_indent=indent,
                                           subsequent_indent=indent + "     ", break_on_hyphens=False,
                                           break_long_words=False))
        if self.estimate:
            est = self.estimate
            lines.append(f"  cost   GPU pool{'s' if est.get('pools') else ''}: {est.get('text', 'price unavailable')}"
                         + (f" ({est['label']})" if est.get("available") else ""))
        for n in self.notes:
            lines.append(f"  note: {n}")
        c = self.counts()
        verdict = "ready to apply" if self.ok else "fix the failing items; nothing was written"
        lines.append(f"{c['pass']} passed, {c['fail']} failed, {c['warn']} warning{'s' if c['warn'] != 1 else ''}, {c['skip']} skipped: {verdict}")
        return "\n".join(lines)
