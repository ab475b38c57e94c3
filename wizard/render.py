"""Headless rendering of plans and engine events: readable lines for people, JSON lines for machines.
Lines go to a terminal or a pipe alike; nothing here redraws the screen, so logs stay greppable."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wizard.events import Event

if TYPE_CHECKING:
    from wizard.output import Output
    from wizard.plan_model import Plan

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
    out.append("")
    out.append(plan_summary(plan))
    for n in plan.notes:
        out.append(f"note: {n}")
    if plan.problems:
        out.append("")
        out.append("Cannot apply this plan:")
        for p in plan.problems:
            out.append(f"  x {p.field}: {p.message}")
            out.append(f"    fix: {p.fix}")
    return "\n".join(out)


def plan_summary(plan: "Plan") -> str:
    if plan.ok and not plan.changes:
        return (f"No changes: Azure and the cluster already match the answers ({len(plan.steps)} step(s) "
                "read or skip).")
    deletes = any(s.action == "recreate" for s in plan.steps)
    return (f"{len(plan.changes)} step(s) write to Azure or the cluster; {len(plan.steps) - len(plan.changes)} "
            "read or skip. " + ("The failed cluster is deleted first, as you consented (--recreate-failed)."
                                if deletes else "Nothing is deleted."))


class EventPrinter:
    """One line per event: a JSON `event` object with --output json, else a line of text (with -q only
    failures). Thread-safe (steps run concurrently) through the Output it writes to."""

    def __init__(self, out: "Output", verbose: bool = False):
        self.out = out
        self.verbose = verbose

    def __call__(self, event: Event) -> None:
        if self.out.json_mode:
            body = event.to_dict()
            self.out.doc("event", {"event": body.pop("kind"), **body})
            if event.kind == "failed":  # the translated error in words too, for the log of a CI job
                self.out.note(self.format(event))
        elif event.kind == "failed":
            self.out.result(self.format(event))
        elif event.kind != "log" or self.verbose:
            self.out.progress(self.format(event))

    @staticmethod
    def format(event: Event) -> str:
        timing = ""
        if event.kind in ("progress", "done", "failed") and event.elapsed:
            timing = f" [{fmt_seconds(event.elapsed)}" + (f" of typ. {fmt_seconds(event.typical)}]"
                                                           if event.typical else "]")
        line = f"{event.kind:<9} {event.step:<34} {event.message}{timing}"
        failure: dict[str, Any] | None = event.data.get("failure")
        if failure:
            line += "\n" + "\n".join("          " + ln for ln in failure.get("rendered", "").splitlines())
        return line.rstrip()
