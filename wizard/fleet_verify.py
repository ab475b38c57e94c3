"""The conformance verification of every member of a fleet: at the end of a fleet `apply` (as one cluster's apply
ends), and as `aks-ai-wizard verify FLEET_FILE`. One verification per member (probes when the answers or the
command line ask for them), a few members at a time, then one table of members x requirements, and each member's
reports in DIR/<cluster>/ when asked. A member that does not exist or whose API server does not answer is a row
that says so, and counts as not conformant: the other members are verified all the same."""
from __future__ import annotations

import argparse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from wizard.answers import Answers
    from wizard.conformance.model import Report
    from wizard.output import Output

CELL = {"pass": "pass", "partial": "partial", "fail": "FAIL", "skipped": "n/a"}

MemberVerification = tuple[str, "Report | None", str]  # (cluster, its report or None, why none)


def member_target(session: Any, answers: "Answers") -> Any:
    """The member's VerifyTarget (its ARM view, its kubeconfig signed in with Entra when it wants it), after one
    /version request: a member whose API server does not answer is reported as such, not as requirements that
    could not be decided."""
    from wizard.azure.entra import signed_in
    from wizard.azure.private import check_reachable, no_answer
    from wizard.kubeconfig import api_client
    from wizard.verify_target import azure_verify_target, private_cluster

    rg, name = answers.resource_group.name, answers.cluster.name
    target = azure_verify_target(session.conn, rg, name)
    if target.kubeconfig is None:
        return target
    target.kubeconfig = signed_in(target.kubeconfig, session.conn.credential)
    client = api_client(target.kubeconfig)
    if private_cluster(target.cluster):
        check_reachable(client, rg, name)  # says what a private API server means and the ways on
        return target
    reason = no_answer(client)  # a member that cannot be reached from here; one that answers 401/403 is read on
    if reason is not None:
        raise Unreachable(f"the API server of {name} does not answer ({reason})")
    return target


class Unreachable(Exception):
    """A member's Kubernetes API server did not answer."""


def _why(exc: BaseException) -> str:
    from wizard.azure.errors import translate
    from wizard.exit_codes import InvalidInput

    if isinstance(exc, (Unreachable, InvalidInput)):
        return str(exc)  # ClusterNotFound: "cluster X not found in resource group Y"
    return translate(exc).what


def verify_members(session: Any, members: list["Answers"], parallel: int, report_dir: Path | None,
                   extra: dict[str, Any] | None = None,
                   on_member: Callable[[MemberVerification], None] | None = None) -> list[MemberVerification]:
    """Every member verified, at most `parallel` at a time, in the members' order. ``extra`` changes the answers'
    VerifyOptions (the command line's --probes, --only ...); ``on_member`` hears of each member as it ends."""
    from wizard.conformance import run_verification
    from wizard.verify_target import options_from_answers

    def one(a: "Answers") -> MemberVerification:
        name = a.cluster.name
        try:
            target = member_target(session, a)
        except Exception as exc:  # noqa: BLE001 - one member that cannot be read does not hide the others
            got: MemberVerification = (name, None, _why(exc))
        else:
            report = run_verification(target, options_from_answers(
                a, **{"simulated": session.simulator is not None, **session.probe_pacing(), **(extra or {})}))
            if report_dir is not None:
                report.write(report_dir / name)
            got = (name, report, "")
        if on_member is not None:
            on_member(got)
        return got

    with ThreadPoolExecutor(max_workers=max(1, parallel), thread_name_prefix="member-verify") as pool:
        return list(pool.map(one, members))


def matrix(results: list[MemberVerification]) -> list[tuple[str, ...]]:
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
        found = [report.result(i) for i in ids]
        cells = [CELL.get(r.status, r.status) if r else "-" for r in found]
        rows.append((name, *cells, "all pass" if report.must_ok else "NOT all pass"))
    return rows


def conformant(results: list[MemberVerification]) -> bool:
    """Every member verified and passing every MUST requirement."""
    return all(report is not None and report.must_ok for _, report, _ in results)


def verify_fleet(session: Any, members: list["Answers"], parallel: int, report_dir: Path | None, out: "Output",
                 extra: dict[str, Any] | None = None) -> bool:
    """Verify every member, then print the table (text) or one `fleet-verification` document (JSON). True when
    every member passed every MUST requirement."""
    from wizard.fleet_apply import table

    probes = (extra or {}).get("probes", members[0].verify.probes)
    out.progress(f"\nVerifying {len(members)} members against Kubernetes AI Conformance "
                 f"v{(extra or {}).get('checklist', members[0].verify.checklist)}"
                 f"{' with probes' if probes else ' (read-only)'}")
    results = verify_members(session, members, parallel, report_dir, extra,
                             on_member=lambda m: out.progress(f"  {m[0]}: " + (
                                 f"not verified: {m[2]}" if m[1] is None else
                                 "every MUST requirement passed" if m[1].must_ok else
                                 "not every MUST requirement passed")))
    out.doc("fleet-verification", {"members": [{"member": name, "error": why or None,
                                                **({"report": report.to_dict()} if report else {})}
                                               for name, report, why in results]})
    out.result(table(matrix(results)))
    if report_dir is not None:
        out.result(f"reports: {report_dir}/<cluster>/ (report.md, report.json, PRODUCT.yaml)")
    ok = conformant(results)
    bad = [name for name, report, _ in results if report is None or not report.must_ok]
    out.result("Every member passed every MUST requirement." if ok else
               f"Not conformant: {', '.join(bad)} ({len(bad)} of {len(results)} members).")
    return ok


def run_fleet_verify(args: argparse.Namespace, answers: "Answers", out: "Output") -> int:
    """`aks-ai-wizard verify FLEET_FILE`: reads only (probes write only in their throw-away namespaces)."""
    from wizard import exit_codes
    from wizard.cli import _open
    from wizard.fleet import members
    from wizard.fleet_apply import DEFAULT_PARALLEL
    from wizard.verify_cli import option_overrides

    try:
        session = _open(args, answers)
    except Exception as exc:  # noqa: BLE001 - sign-in and subscription failures are results, not tracebacks
        return out.failure(exc)
    try:
        ok = verify_fleet(session, [m.answers for m in members(answers)],
                          getattr(args, "parallel", None) or DEFAULT_PARALLEL, getattr(args, "report", None), out,
                          option_overrides(args, answers))
        return exit_codes.OK if ok else exit_codes.NOT_CONFORMANT
    finally:
        session.close()
