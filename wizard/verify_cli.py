"""`aks-ai-wizard verify`: prove a cluster against the CNCF Kubernetes AI Conformance checklist.

    aks-ai-wizard verify -g RG -n NAME [--probes] [--report DIR] [--output text|json] [--checklist 1.34]
    aks-ai-wizard verify ANSWERS_FILE [--probes] [--report DIR] [--parallel N]   (a fleet: every member)
    aks-ai-wizard verify --kubeconfig FILE [--context NAME] ...          (Azure view N/A)
    aks-ai-wizard --simulate --sim-state FILE verify -g RG -n NAME      (the cluster a simulated apply made)

Exit codes (wizard/exit_codes.py): 0 every MUST requirement passed (for a fleet: on every member), 4 not every MUST
passed (a fleet member that does not exist or cannot be reached counts as not passing), 1 invalid input (bad
arguments, an unreadable kubeconfig or answers file, a cluster that does not exist), 3 the cluster could not be
read from Azure, 130 interrupted.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Callable, TypeVar

from wizard import exit_codes
from wizard.conformance.checklist import VERSIONS as CHECKLISTS
from wizard.conformance.requirements import REGISTRY
from wizard.output import Output, output_option
from wizard.verify_target import azure_verify_target, options_from_answers, private_cluster

P = TypeVar("P", bound=argparse.ArgumentParser)


def add_verify_parser(subparsers: "argparse._SubParsersAction[P]",
                      add_global_options: Callable[[argparse.ArgumentParser], None] | None = None) -> P:
    help_ = ("verify a cluster against the CNCF Kubernetes AI Conformance checklist (read-only unless --probes); "
             "writes report.md, report.json, results/junit.xml, results/results.json and PRODUCT.yaml with --report")
    p = subparsers.add_parser("verify", help=help_, description=help_, formatter_class=argparse.RawDescriptionHelpFormatter,
                              epilog="examples:\n"
                                     "  aks-ai-wizard verify -g rg-ai -n aks-ai --probes --report ./conformance\n"
                                     "  aks-ai-wizard verify --kubeconfig ~/.kube/config --context prod --output json\n"
                                     "  aks-ai-wizard verify -g rg-ai -n aks-ai --probes --only pod_autoscaling "
                                     "--probe-timeout 600\n"
                                     "  aks-ai-wizard --simulate --sim-state sim.json verify -g rg-ai -n aks-ai\n"
                                     "  aks-ai-wizard verify fleet.yaml --report ./conformance   # DIR/<member>/, "
                                     "exit 4 when a member falls short\n\n"
                                     + exit_codes.epilog())
    if add_global_options is not None:
        add_global_options(p)
    p.add_argument("file", type=Path, nargs="?", metavar="ANSWERS_FILE",
                   help="verify the cluster this answers file describes (its verify: section, changed by the options "
                        "below); a fleet file: every member, one members x requirements table")
    p.add_argument("-g", "--resource-group", metavar="NAME", help="resource group of the AKS cluster")
    p.add_argument("-n", "--name", metavar="NAME", help="name of the AKS cluster")
    p.add_argument("--kubeconfig", type=Path, metavar="FILE",
                   help="verify the cluster of this kubeconfig instead (the Azure view is then N/A)")
    p.add_argument("--context", metavar="NAME", help="kubeconfig context (default: current-context)")
    p.add_argument("--probes", action="store_true",
                   help="also run probes: short-lived workloads in a throw-away namespace aicv-<random>")
    p.add_argument("--report", type=Path, metavar="DIR", help="write report.md, report.json, results/junit.xml, "
                   "results/results.json (go test -json) and PRODUCT.yaml to DIR")
    output_option(p)
    p.add_argument("--checklist", choices=CHECKLISTS, default=None,
                   help="checklist version (default: the answers file's verify.checklist, else 1.34)")
    p.add_argument("--parallel", type=int, metavar="N", default=None,
                   help="fleet: verify at most N members at a time (default 4)")
    p.add_argument("--only", metavar="ID", action="append", default=[], choices=tuple(REGISTRY),
                   help="verify only this requirement (repeatable; e.g. to retry an inconclusive probe)")
    p.add_argument("--probe-timeout", type=float, default=120.0, metavar="SECONDS",
                   help="upper bound of each probe wait (default 120)")
    p.add_argument("--billable-probe", metavar="ID", action="append", default=[], choices=tuple(k for k, v in REGISTRY.items() if v.billable),
                   help="also run this probe that creates billable cloud resources (cluster_autoscaling: a GPU node "
                        "for 10-30 minutes)")
    for flag, key in (("--contact-email", "contactEmailAddress"), ("--vendor", "vendorName"),
                      ("--platform-name", "platformName"), ("--platform-version", "platformVersion")):
        p.add_argument(flag, metavar="TEXT", dest=f"product_{key}", help=f"PRODUCT.yaml {key}")
    p.set_defaults(handler=run_verify)
    return p


# ------------------------------------------------------------------------------------------------------ run
def _print_row(r: Any, out: Output) -> None:
    tag = {"pass": "PASS   ", "partial": "PARTIAL", "fail": "FAIL   ", "inconclusive": "UNSURE ",
           "skipped": "N/A    "}[r.status]
    lines = [f"{tag} {r.id:<27} {r.level:<6} {r.summary}"]
    if r.status != "pass" and r.fix:
        lines += [f"        fix: {line}" for line in r.fix.split("\n")]
    out.result("\n".join(lines))


def verify_and_report(target: Any, opts: Any, where: str, out: Output, report_dir: Path | None) -> Any:
    """Run the verification, print it (a row per requirement as it finishes, or one JSON `verification`
    document) and write the report files when asked. Shared by `verify` and the end of `apply`."""
    from wizard.conformance import run_verification

    out.progress(f"Verifying {where} against Kubernetes AI Conformance v{opts.checklist}"
                 f"{' with probes' if opts.probes else ' (read-only)'}")
    report = run_verification(target, opts, on_result=None if out.json_mode else lambda r: _print_row(r, out))
    written = report.write(report_dir) if report_dir else []
    out.doc("verification", {**report.to_dict(), "written": [str(p) for p in written]})
    c = report.counts()
    out.result(f"\n{'Every MUST requirement passed' if report.must_ok else 'Not every MUST requirement passed'}: "
               f"{c['pass']} pass, {c['partial']} partial, {c['fail']} fail, {c['inconclusive']} inconclusive, "
               f"{c['skipped']} n/a ({report.metadata.get('requests', 0)} API requests)")
    if report.undecided:
        out.result(f"Inconclusive (retry, nothing was disproven): {', '.join(report.undecided)}")
    for p in written:
        out.result(f"wrote {p}")
    return report


def simulated_kubeconfig(kubeconfig: bytes, base_url: str) -> bytes:
    """A kubeconfig a simulated apply wrote points at the simulator of that run; this run's simulator (started
    from the same --sim-state) may listen on another port: point every simulated server at it."""
    import yaml

    doc = yaml.safe_load(kubeconfig)
    for entry in (doc or {}).get("clusters") or []:
        server = (entry.get("cluster") or {}).get("server") or ""
        if "/k8s/" in server:
            entry["cluster"]["server"] = base_url + server[server.index("/k8s/"):]
    return yaml.safe_dump(doc).encode()


def _usage_problem(args: argparse.Namespace) -> str | None:
    rg, name, kc_path = (getattr(args, k, None) for k in ("resource_group", "name", "kubeconfig"))
    if getattr(args, "file", None) is not None:
        return None if rg is None and name is None and kc_path is None else \
            "verify: give an answers file, or --resource-group/--name, or --kubeconfig: one of them"
    if (rg is None) != (name is None):
        return "verify: --resource-group and --name go together"
    if rg is None and kc_path is None:
        return "verify: give an answers file, --resource-group/--name (Azure) or --kubeconfig FILE"
    if getattr(args, "checklist", None) not in (None, *CHECKLISTS):
        return f"verify: --checklist must be one of {', '.join(CHECKLISTS)}"
    if getattr(args, "simulate", False) and rg is None and getattr(args, "sim_state", None) is None:
        return ("verify: --kubeconfig with --simulate needs --sim-state FILE, the simulated world the kubeconfig's "
                "cluster lives in (the one a simulated apply kept)")
    return None


def option_overrides(args: argparse.Namespace, answers: Any = None) -> dict[str, Any]:
    """VerifyOptions fields the command line sets; with an answers file, what the file's `verify:` section gives
    is the base and only what was given on the command line changes it (--probes adds probes, never removes)."""
    fields: dict[str, Any] = {"only": tuple(getattr(args, "only", ()) or ()),
                              "probe_timeout": float(getattr(args, "probe_timeout", 120.0) or 120.0)}
    metadata = {k.removeprefix("product_"): v for k, v in vars(args).items() if k.startswith("product_") and v}
    billable = tuple(getattr(args, "billable_probe", ()) or ())
    if answers is None:
        return fields | {"probes": bool(getattr(args, "probes", False)), "billable": billable,
                         "checklist": getattr(args, "checklist", None) or "1.34", "metadata": metadata,
                         "simulated": bool(getattr(args, "simulate", False))}
    if getattr(args, "probes", False):
        fields["probes"] = True
    if getattr(args, "checklist", None):
        fields["checklist"] = args.checklist
    return fields | {"billable": tuple(dict.fromkeys((*answers.verify.billable_probes, *billable))),
                     "metadata": answers.verify.product.overrides() | metadata}


def session_target(args: argparse.Namespace, session: Any, kubeconfig: bytes | None, out: Output) -> Any:
    """The VerifyTarget of -g/-n (or of --kubeconfig with --simulate) through the session, signed in with Entra
    when the cluster wants it; an exit code when the cluster cannot be read or its private API not reached."""
    from wizard.azure.entra import signed_in
    from wizard.conformance import VerifyTarget

    rg, name, context = args.resource_group, args.name, getattr(args, "context", None)
    if kubeconfig is not None and session.simulator is not None:
        kubeconfig = simulated_kubeconfig(kubeconfig, session.simulator.base_url)
    if rg is None:  # a kubeconfig of a cluster with Entra ID: signed in here
        return VerifyTarget(kubeconfig=signed_in(kubeconfig, session.conn.credential) if kubeconfig else None,
                            context=context)
    try:
        target = azure_verify_target(session.conn, rg, name, kubeconfig, context)
    except Exception as exc:  # noqa: BLE001 - Azure failures explained, not a traceback
        return out.failure(exc, f"verify: could not read cluster {name} from Azure")
    if target.kubeconfig is not None:
        target.kubeconfig = signed_in(target.kubeconfig, session.conn.credential)
        if private_cluster(target.cluster):
            from wizard.azure.private import check_reachable
            from wizard.kubeconfig import api_client

            try:  # refused clearly, not nine inconclusive requirements
                check_reachable(api_client(target.kubeconfig), rg, name)
            except Exception as exc:  # noqa: BLE001
                return out.failure(exc, f"verify: cannot reach the private API server of {name}")
        from wizard.azure.roles import check_admitted
        from wizard.kubeconfig import api_client

        try:  # an Entra ID cluster that refuses this principal: one clear failure, not an UNSURE per row
            check_admitted(api_client(target.kubeconfig), target.cluster, session.conn.credential)
        except Exception as exc:  # noqa: BLE001
            return out.failure(exc, f"verify of {name}")
    return target


def run_verify(args: argparse.Namespace, out: Output | None = None) -> int:
    from wizard.conformance import VerifyOptions, VerifyTarget

    out = out or Output(getattr(args, "output", "text") == "json")
    if (bad := _usage_problem(args)) is not None:
        return out.fail(exit_codes.INVALID, bad, "see aks-ai-wizard verify --help", category="usage")
    if getattr(args, "file", None) is not None:
        return _verify_file(args, out)
    rg, name, kc_path = args.resource_group, args.name, getattr(args, "kubeconfig", None)
    kubeconfig = None
    if kc_path is not None:
        try:
            kubeconfig = Path(kc_path).expanduser().read_bytes()
        except OSError as exc:
            return out.fail(exit_codes.INVALID, f"verify: cannot read kubeconfig {kc_path}: {exc.strerror or exc}",
                            "give --kubeconfig a readable kubeconfig file")
    session = None
    try:
        target = VerifyTarget(kubeconfig=kubeconfig, context=getattr(args, "context", None))
        if rg is not None or getattr(args, "simulate", False):
            from wizard.session import open_for_args

            try:
                session = open_for_args(args)
            except Exception as exc:  # noqa: BLE001 - sign-in and subscription failures explained
                return out.failure(exc, f"verify: could not read cluster {name} from Azure" if rg else "verify")
            target = session_target(args, session, kubeconfig, out)
            if isinstance(target, int):
                return target
        opts = VerifyOptions(resource_group=rg, cluster_name=name, **option_overrides(args))
        report = verify_and_report(target, opts, f"{name} ({rg})" if rg else str(kc_path), out,
                                   getattr(args, "report", None))
        return exit_codes.OK if report.must_ok else exit_codes.NOT_CONFORMANT
    finally:
        if session is not None:
            session.close()


def _verify_file(args: argparse.Namespace, out: Output) -> int:
    """`verify FILE`: the cluster an answers file describes (its `verify:` section, changed by the options given),
    or, for a fleet, every member (wizard/fleet_verify.py)."""
    from wizard.answers import AnswersError
    from wizard.azure.clouds import CloudError
    from wizard.cli import _load, _open

    try:
        answers = _load(args)
    except AnswersError as exc:
        return out.fail(exit_codes.INVALID, f"{args.file}: invalid answers; nothing was sent to Azure.",
                        "fix the answers listed above (aks-ai-wizard schema prints every key)", why=str(exc))
    except CloudError as exc:
        return out.fail(exit_codes.INVALID, f"--cloud: {exc}; nothing was sent to Azure.",
                        "name a cloud az knows (az cloud list), or give a cloud file")
    if answers.fleet is not None:
        from wizard.fleet_verify import run_fleet_verify

        return run_fleet_verify(args, answers, out)
    args.resource_group, args.name = answers.resource_group.name, answers.cluster.name
    try:
        session = _open(args, answers)
    except Exception as exc:  # noqa: BLE001
        return out.failure(exc, f"verify: could not read cluster {args.name} from Azure")
    try:
        target = session_target(args, session, None, out)
        if isinstance(target, int):
            return target
        opts = options_from_answers(answers, **option_overrides(args, answers), simulated=session.simulator
                                    is not None, **session.probe_pacing())
        report = verify_and_report(target, opts, f"{args.name} ({args.resource_group})", out,
                                   getattr(args, "report", None))
        return exit_codes.OK if report.must_ok else exit_codes.NOT_CONFORMANT
    finally:
        session.close()
