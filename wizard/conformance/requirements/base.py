"""What every requirement module shares: its registry entry (Spec) and the way a check turns what it found into
an Outcome (pass only when the behaviour was seen, partial on presence, fail on a problem, inconclusive when a
probe could not decide)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from ..context import Ctx, Out, Outcome

if TYPE_CHECKING:
    from ..probes import ProbeResult, ProbeRunner


@dataclass(frozen=True)
class Spec:
    """One requirement: its read-only check (which also reads the Azure view), its probe (opt-in), the official
    suite's test name (kubernetes-sigs/ai-conformance `test/`, used in junit.xml) and whether the probe is
    billable (creates cloud resources: run only when asked for by name)."""
    id: str
    check: Callable[[Ctx], Outcome]
    probe: "Callable[[ProbeRunner], ProbeResult] | None" = None
    test: str = ""
    billable: bool = False


def status_from(out: Out, proven: bool) -> str:
    if out.problems:
        return "fail"
    return "pass" if proven else "partial"


def summary(out: Out, ok_text: str, partial_text: str | None = None, proven: bool = True) -> str:
    if out.problems:
        return out.problems[0] + (f" (+{len(out.problems) - 1} more)" if len(out.problems) > 1 else "")
    return ok_text if proven or partial_text is None else partial_text


def run_probe(ctx: Ctx, name: str, out: Out) -> bool | None:
    """Run the named requirement's probe when probes are on: True proven, False disproven, None not run or
    inconclusive (then out.inconclusive says why and how to retry)."""
    if not ctx.opts.probes or ctx.probes is None:
        out.note("read-only: presence verified; run with --probes to prove it with a short-lived workload")
        return None
    res = ctx.probes.run(name)
    for line in res.evidence:
        out.ev(f"probe: {line}")
    out.subchecks.extend(res.subchecks)
    if res.ok is None:
        if res.inconclusive:
            out.undecided(f"probe could not decide: {res.message}", ctx.fix.retry(name))
        else:
            out.note(f"probe not run: {res.message}")
    elif not res.ok:
        out.problem(f"probe failed: {res.message}", res.fix)
    return res.ok


def probed(out: Out, proven: bool | None, proven_text: str, read_only_text: str) -> Outcome:
    """A check with a probe: pass when the probe proved it, partial on presence alone, fail on a problem,
    inconclusive when the probe ran but could not decide."""
    if not out.problems and out.inconclusive:
        return Outcome("inconclusive", out.inconclusive[0], out, "probe")
    return Outcome(status_from(out, bool(proven)), summary(out, proven_text, read_only_text, bool(proven)), out,
                   "probe" if proven else "read-only")


def fail_fast(out: Out, line: str, fix: str | None = None) -> Outcome:
    """A required part is missing: Not Implemented, with the reason and fix."""
    out.problem(line, fix)
    return Outcome("fail", out.problems[0], out, "read-only")


def framework_installed(ctx: Ctx, crds: tuple[str, ...], present: str, missing: str, fix: str) -> Outcome:
    """A SHOULD item shown by a framework's CRDs: Established CRDs are presence (partial), none is a fail."""
    out = Out()
    found = [n for n in crds if n in ctx.crds()]
    if not found:
        return fail_fast(out, missing, fix)
    for n in found:
        ok, line = ctx.crd_ok(n)
        (out.ev if ok else out.problem)(line)
    return Outcome(status_from(out, False), summary(out, "", present, False), out, "read-only")
