"""The conformance verification of every member of a fleet (as `apply` ends with for one cluster): one read-only
verification (probes when the answers ask for them) per member, a few at a time, then one table of members x
requirements, and each member's reports in DIR/<cluster>/ when asked."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wizard.conformance.model import Report
    from wizard.plan import Plan

CELL = {"pass": "pass", "partial": "partial", "fail": "FAIL", "skipped": "n/a"}


def verify_members(session: Any, plans: list["Plan"], parallel: int, report_dir: Path | None
                   ) -> list[tuple[str, "Report | None", str]]:
    """(cluster, its report or None, why none) for every member."""
    from wizard.conformance import run_verification
    from wizard.verify_cli import azure_verify_target, options_from_answers

    def one(plan: "Plan") -> tuple[str, "Report | None", str]:
        a = plan.answers
        rg, name = a.resource_group.name, a.cluster.name
        try:
            target = azure_verify_target(session.conn, rg, name)
        except Exception as exc:  # noqa: BLE001 - one member that cannot be read does not hide the others
            from wizard.azure.errors import translate

            return name, None, translate(exc).what
        report = run_verification(target, options_from_answers(a, simulated=session.simulator is not None,
                                                               **session.probe_pacing()))
        if report_dir is not None:
            report.write(report_dir / name)
        return name, report, ""

    with ThreadPoolExecutor(max_workers=max(1, parallel), thread_name_prefix="member-verify") as pool:
        return list(pool.map(one, plans))


def matrix(results: list[tuple[str, "Report | None", str]]) -> list[tuple[str, ...]]:
    """Rows: a header of requirement ids, then one row per member with each requirement's status."""
    ids: list[str] = []
    for _, report, _ in results:
        for r in report.results if report else []:
            if r.id not in ids:
                ids.append(r.id)
    rows = [("member", *ids, "MUST")]
    for name, report, why in results:
        if report is None:
            rows.append((name, *(["-"] * len(ids)), f"not verified: {why}"))
            continue
        cells = [CELL.get(r.status, r.status) if (r := report.result(i)) else "-" for i in ids]
        rows.append((name, *cells, "all pass" if report.must_ok else "NOT all pass"))
    return rows
