"""Apply a fleet through the same engine: the subscription-wide steps (preview flags, provider re-registration)
and a resource group the members share once, then every member's own plan, at most `parallel` members at a time, each with its own journal and lock
beside the answers file (so a re-run after Ctrl-C or kill -9 resumes every member where it stopped).

The members share one connection (one set of SDK clients and their retry policy). Events carry the member.
"""
from __future__ import annotations

import dataclasses
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from wizard.events import Event, EventSink

if TYPE_CHECKING:
    from wizard.engine import Engine, RunResult
    from wizard.journal import Journal
    from wizard.plan_model import Plan
    from wizard.output import Output

SHARED_KINDS = ("feature", "provider")  # once per subscription
SUBSCRIPTION = "subscription"  # the 'member' of the shared steps' events
# Members started at once by default: each member's PUTs and polls stay far below ARM's per-subscription read
# and write limits at 4, and AKS serialises operations per cluster anyway.
DEFAULT_PARALLEL = 4


def member_journal(answers_path: Path, name: str) -> "Journal":
    from wizard.journal import Journal, journal_path_for

    base = journal_path_for(answers_path)
    return Journal(base.with_name(base.name.replace(".journal.jsonl", f".{name}.journal.jsonl")))


def shared_journal(answers_path: Path) -> "Journal":
    return member_journal(answers_path, "fleet")


def _kind(step_id: str) -> str:
    return step_id.split(":")[0]


def _shares_group(plans: list["Plan"]) -> bool:
    """Members in one resource group: it is created once, before them (else each would create it, and each journal
    would claim it)."""
    return len({pl.answers.resource_group.name.lower() for pl in plans}) < len(plans)


def shared_plan(plans: list["Plan"]) -> "Plan":
    """The steps done once for the fleet, from the first member's plan: the subscription-wide ones (the same for
    every member) and the resource group when the members share it."""
    kinds = SHARED_KINDS + (("resource-group",) if _shares_group(plans) else ())
    return dataclasses.replace(plans[0], steps=[s for s in plans[0].steps if _kind(s.id) in kinds])


def member_plan(plan: "Plan", shared: "Plan") -> "Plan":
    """A member's own steps; what they waited for in the shared part is done before they start."""
    done = {_kind(s.id) for s in shared.steps} | set(SHARED_KINDS)
    steps = [dataclasses.replace(s, deps=tuple(d for d in s.deps if _kind(d) not in done))
             for s in plan.steps if _kind(s.id) not in done]
    return dataclasses.replace(plan, steps=steps)


def tagged(sink: EventSink, member: str) -> EventSink:
    """A sink that adds the member to every event."""
    return lambda e: sink(dataclasses.replace(e, data={**e.data, "member": member}))


@dataclass
class MemberResult:
    name: str
    status: str  # done | failed | cancelled | locked
    elapsed: float = 0.0
    failed_step: str | None = None
    failure: Any = None
    kubeconfig: Path | None = None
    journal: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"member": self.name, "status": self.status, "failed_step": self.failed_step,
                "kubeconfig": str(self.kubeconfig) if self.kubeconfig else None,
                "journal": str(self.journal) if self.journal else None,
                "failure": self.failure.to_dict() if hasattr(self.failure, "to_dict") else self.failure}


@dataclass
class FleetResult:
    shared: "RunResult | None"
    members: list[MemberResult] = field(default_factory=list)

    @property
    def status(self) -> str:
        states = [m.status for m in self.members] or [self.shared.status if self.shared else "done"]
        if self.shared is not None and self.shared.status != "done":
            return self.shared.status
        for s in ("failed", "locked", "cancelled"):
            if s in states:
                return s
        return "done"


class FleetRun:
    """One fleet apply; cancel() stops every member after its current poll (operations stay journalled)."""

    def __init__(self, conn: Any, plans: list["Plan"], answers_path: Path, sink: EventSink,
                 options: Callable[[str], Any], parallel: int = DEFAULT_PARALLEL) -> None:
        self.conn, self.plans, self.answers_path, self.sink = conn, plans, answers_path, sink
        self.options = options  # member name -> RunOptions (its own kubeconfig path)
        self.parallel = max(1, parallel)
        self.cancelled = threading.Event()
        self._engines: list["Engine"] = []
        self._lock = threading.Lock()

    def cancel(self) -> None:
        self.cancelled.set()
        with self._lock:
            for e in self._engines:
                e.cancel()

    def _engine(self, plan: "Plan", sink: EventSink, journal: "Journal", opts: Any) -> "Engine":
        from wizard.engine import Engine
        from wizard.runners import runners

        engine = Engine(self.conn, plan, sink, journal, opts, runners())
        with self._lock:
            self._engines.append(engine)
            if self.cancelled.is_set():
                engine.cancel()
        return engine

    def run(self) -> FleetResult:
        first = shared_plan(self.plans)
        shared = self.run_shared(first) if first.steps else None
        if shared is not None and shared.status != "done":
            return FleetResult(shared)
        return self.run_members([member_plan(plan, first) for plan in self.plans], shared)

    def run_shared(self, plan: "Plan", member: str = SUBSCRIPTION) -> "RunResult":
        """Steps done once for the fleet, journalled in the fleet's own journal."""
        journal = shared_journal(self.answers_path)
        with journal.lock():
            return self._engine(plan, tagged(self.sink, member), journal, self.options(member)).run()

    def run_members(self, plans: list["Plan"], shared: "RunResult | None" = None) -> FleetResult:
        """Every member's own plan, at most `parallel` at a time."""
        with ThreadPoolExecutor(max_workers=self.parallel, thread_name_prefix="member") as pool:
            return FleetResult(shared, list(pool.map(self.run_member, plans)))

    def run_member(self, plan: "Plan") -> MemberResult:
        """One member's plan through the engine, under its own journal's lock."""
        from wizard.journal import JournalLocked

        name = plan.answers.cluster.name
        journal = member_journal(self.answers_path, name)
        if self.cancelled.is_set():
            return MemberResult(name, "cancelled", journal=journal.path)
        opts = self.options(name)
        started = time.monotonic()
        try:
            with journal.lock():
                r = self._engine(plan, tagged(self.sink, name), journal, opts).run()
        except JournalLocked as exc:
            return MemberResult(name, "locked", failure=str(exc), journal=journal.path)
        return MemberResult(name, r.status, time.monotonic() - started, r.failed_step, r.failure,
                            opts.kubeconfig_out if r.status == "done" else None, journal.path)


def summary_rows(result: FleetResult) -> list[tuple[str, ...]]:
    from wizard.render import fmt_seconds

    rows: list[tuple[str, ...]] = [("member", "result", "elapsed", "failed step", "kubeconfig")]
    for m in result.members:
        rows.append((m.name, m.status, fmt_seconds(m.elapsed) if m.elapsed else "-", m.failed_step or "-",
                     str(m.kubeconfig) if m.kubeconfig else "-"))
    return rows


def member_row(e: Event) -> tuple[str, str, str] | None:
    """A member's progress row from its latest event: (current step, what Azure reports, elapsed against
    typical); None for log lines. The terminal's live table and the TUI's fleet view both show this."""
    from wizard.render import fmt_seconds

    if e.kind == "log":
        return None
    timing = fmt_seconds(e.elapsed) + (f" of typ. {fmt_seconds(e.typical)}" if e.typical else "")
    status = e.status or {"started": "started", "skipped": "skipped"}.get(e.kind, e.kind)
    return e.step, status if e.kind != "failed" else f"FAILED: {e.message}"[:60], timing


def table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


class FleetPrinter:
    """Headless progress of a fleet. On a terminal: one row per member (current step, what Azure reports, elapsed
    against typical), redrawn in place. In a pipe or a file: a line per event, the member first. JSON lines carry
    the member as `member` on every event."""

    def __init__(self, out: "Output", verbose: bool) -> None:
        self.out = out
        self.stream = out.stdout
        self.live = not out.json_mode and not out.quiet and self.stream.isatty()
        self.verbose = verbose
        self._lock = threading.Lock()
        self.rows: dict[str, tuple[str, ...]] = {}  # member -> (step, Azure's status, elapsed of typical)
        self._drawn = 0

    def __call__(self, event: Event) -> None:
        from wizard.render import EventPrinter

        member = str(event.data.get("member", ""))
        plain = dataclasses.replace(event, data={k: v for k, v in event.data.items() if k != "member"})
        with self._lock:
            if self.live:
                self._row(member, plain)
                self._draw()
                return
            if self.out.json_mode:
                body = plain.to_dict()
                self.out.doc("event", {"event": body.pop("kind"), "member": member, **body})
            elif event.kind == "failed":
                self.out.result(f"{member:<14} {EventPrinter.format(plain)}")
            elif event.kind != "log" or self.verbose:
                self.out.progress(f"{member:<14} {EventPrinter.format(plain)}")

    def _row(self, member: str, e: Event) -> None:
        if (row := member_row(e)) is not None:
            self.rows[member] = row

    def _draw(self) -> None:
        rows = [("member", "step", "Azure reports", "elapsed")] + [(m, *r) for m, r in self.rows.items()]
        text = table(rows)
        up = f"\x1b[{self._drawn}F" if self._drawn else ""
        self.stream.write(up + "\n".join("\x1b[2K" + line for line in text.splitlines()) + "\n")
        self.stream.flush()
        self._drawn = len(rows)
