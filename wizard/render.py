"""Headless rendering of plans and engine events: readable lines for people, JSON lines for machines.
Lines go to a terminal or a pipe alike; nothing here redraws the screen, so logs stay greppable."""
from __future__ import annotations

import json
import sys
import threading
from typing import TYPE_CHECKING, Any, TextIO

from wizard.events import Event

if TYPE_CHECKING:
    from wizard.plan import Plan

ACTION_MARK = {"create": "+", "update": "~", "register": "+", "retry": "~", "recreate": "!", "attach": "=", "read": ".", "skip": "="}


def fmt_seconds(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    m, s = divmod(seconds, 60)
    return f"{m}m{s:02d}s" if m < 60 else f"{m // 60}h{m % 60:02d}m"


def plan_text(plan: "Plan", show_az: bool = True) -> str:
    out: list[str] = []
    r = plan.resolved
    if r:
        out.append(f"Subscription {r.subscription_name} ({r.subscription_id}), location {plan.answers.azure.location}")
        rev = f", Istio {r.istio_revision}" if r.istio_revision else ""
        out.append(f"Kubernetes {plan.answers.cluster.kubernetes_version} -> {r.kubernetes_version}{rev}")
    out.append("")
    out.append("Plan:")
    for s in plan.steps:
        typical = f"  (typically {fmt_seconds(s.typical)})" if s.typical and s.writes else ""
        after = f"  after {', '.join(s.deps)}" if s.deps else ""
        out.append(f"  {ACTION_MARK.get(s.action, ' ')} {s.id:<34} {s.title}{typical}{after}")
        for d in s.differences:
            out.append(f"      differs: {d}")
        if show_az and s.az:
            for line in s.az.splitlines():
                out.append(f"      $ {line}")
    writes = [s for s in plan.steps if s.writes]
    out.append("")
    deletes = any(s.action == "recreate" for s in plan.steps)
    out.append(f"{len(writes)} step(s) write to Azure or the cluster; {len(plan.steps) - len(writes)} read or skip. "
               + ("The failed cluster is deleted first, as you consented (--recreate-failed)." if deletes
                  else "Nothing is deleted."))
    for n in plan.notes:
        out.append(f"note: {n}")
    if plan.problems:
        out.append("")
        out.append("Cannot apply this plan:")
        for p in plan.problems:
            out.append(f"  x {p.field}: {p.message}")
            out.append(f"    fix: {p.fix}")
    return "\n".join(out)


class EventPrinter:
    """Prints one line per event; thread-safe because steps run concurrently."""

    def __init__(self, stream: TextIO | None = None, json_lines: bool = False, verbose: bool = False):
        self.stream = stream or sys.stdout
        self.json_lines = json_lines
        self.verbose = verbose
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        if event.kind == "log" and not self.verbose and not self.json_lines:
            return
        with self._lock:
            self.stream.write(self.format(event) + "\n")
            self.stream.flush()

    def format(self, event: Event) -> str:
        if self.json_lines:
            return json.dumps({"type": "event", **event.to_dict()}, default=str)
        timing = ""
        if event.kind in ("progress", "done", "failed") and event.elapsed:
            timing = f" [{fmt_seconds(event.elapsed)}" + (f" of typ. {fmt_seconds(event.typical)}]"
                                                           if event.typical else "]")
        line = f"{event.kind:<9} {event.step:<34} {event.message}{timing}"
        failure: dict[str, Any] | None = event.data.get("failure")
        if failure:
            line += "\n" + "\n".join("          " + ln for ln in failure.get("rendered", "").splitlines())
        return line.rstrip()
