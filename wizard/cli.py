"""Command line: `plan`, `apply`, `teardown`, `verify`, `gpu-sizes`, `schema`, `completion`, and (with no command)
the interactive wizard. Output goes through wizard.output (JSON only on stdout with --output json); every exit
code comes from wizard.exit_codes.

Imports are lazy on purpose: `aks-ai-wizard --help` must not pay for the Azure SDKs or Textual.
"""
from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, Sequence

from wizard.sim.faults import NAMES as FAULT_NAMES

if TYPE_CHECKING:
    from wizard.answers import Answers
    from wizard.plan_model import Plan
    from wizard.preflight import PreflightReport
    from wizard.session import Session

from wizard import exit_codes
from wizard.exit_codes import AZURE as EXIT_AZURE, CHANGES as EXIT_CHANGES, INVALID as EXIT_INVALID
from wizard.exit_codes import NOT_CONFORMANT as EXIT_NOT_CONFORMANT, OK as EXIT_OK, PLAN as EXIT_PLAN
from wizard.exit_codes import InvalidInput
from wizard.output import Output, output_option, wants_json
from wizard.session import SIM_SPEED

SIM_FAULTS = FAULT_NAMES  # wizard.sim.faults, kept cheap to import
SIM_DEGRADE = ("no-gpus", "gpu-leak", "autoscaler-stuck", "monitoring-blind", "operator-stuck", "dra-only",
               "metrics-off")  # wizard.sim.kube.degrade.NAMES (kept here: --help imports no simulator)
SHELLS = ("bash", "zsh", "fish")

# examples shown at the end of each command's --help (sub-commands in verify_cli / preflight_cli keep theirs)
EXAMPLES: dict[str, str] = {
    "plan": """\
  aks-ai-wizard plan answers.yaml
  aks-ai-wizard plan answers.yaml --detailed-exitcode     # 0 nothing to change, 5 changes, 2 cannot apply
  aks-ai-wizard --simulate --sim-state sim.json plan answers.yaml --output json""",
    "apply": """\
  aks-ai-wizard apply answers.yaml --kubeconfig-out ./kubeconfig
  aks-ai-wizard apply answers.yaml --output json > run.jsonl   # one JSON object per line, human text on stderr
  aks-ai-wizard --simulate apply examples/answers.yaml -q""",
    "teardown": """\
  aks-ai-wizard teardown answers.yaml
  aks-ai-wizard teardown answers.yaml --yes --output json
  aks-ai-wizard teardown fleet.yaml --parallel 8    # every member from its own journal, one confirmation""",
    "schema": """\
  aks-ai-wizard schema > answers.schema.json""",
    "serve": """\
  aks-ai-wizard serve --simulate                    # a workshop demo: every browser tab its own simulated Azure
  aks-ai-wizard serve --host 0.0.0.0 --allow-remote --public-url http://demo.example:8000""",
    "completion": """\
  aks-ai-wizard completion bash > /etc/bash_completion.d/aks-ai-wizard
  aks-ai-wizard completion zsh > "${fpath[1]}/_aks-ai-wizard"
  aks-ai-wizard completion fish > ~/.config/fish/completions/aks-ai-wizard.fish""",
}


class UsageError(Exception):
    def __init__(self, message: str, usage: str) -> None:
        super().__init__(message)
        self.usage = usage


class Parser(argparse.ArgumentParser):
    """Usage errors exit with the table's invalid-input code (argparse's own is 2, which means something else here)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message, self.format_usage())


def help_epilog(examples: str) -> str:
    return f"examples:\n{examples}\n\n{exit_codes.epilog()}"


def _global_options(parser: argparse.ArgumentParser, suppress: bool) -> None:
    """Global options are accepted before or after the command (`--simulate apply x` == `apply x --simulate`)."""
    d = (lambda v: argparse.SUPPRESS) if suppress else (lambda v: v)
    g = parser.add_argument_group("global options")
    g.add_argument("--simulate", action="store_true", default=d(False),
                   help="run against the embedded simulated Azure and cluster (offline; demos and tests)")
    g.add_argument("--sim-speed", type=float, metavar="N", default=d(SIM_SPEED),
                   help=f"simulated operations run N times faster than Azure's typical durations (default {SIM_SPEED:g})")
    g.add_argument("--sim-fault", action="append", choices=SIM_FAULTS, metavar="NAME", default=d(None),
                   help=f"inject a named fault into the simulator (repeatable): {', '.join(SIM_FAULTS)}")
    g.add_argument("--sim-degrade", action="append", choices=SIM_DEGRADE, metavar="NAME", default=d(None),
                   help=f"make the simulated cluster fall short (repeatable): {', '.join(SIM_DEGRADE)}")
    g.add_argument("--sim-state", type=Path, metavar="FILE", default=d(None),
                   help="keep the simulated world in FILE so a later command continues in it")
    g.add_argument("--cloud", metavar="NAME", default=d(None),
                   help="override azure.cloud: AzureCloud, AzureChinaCloud, AzureUSGovernment, a cloud registered "
                        "with `az cloud register`, or a JSON/YAML file {name, resource_manager, authority_host, "
                        "audience}")
    g.add_argument("--subscription", metavar="ID_OR_NAME", default=d(None), help="override azure.subscription")
    g.add_argument("-v", "--verbose", action="count", default=d(0), help="more detail (-vv: HTTP requests)")
    g.add_argument("-q", "--quiet", action="store_true", default=d(False),
                   help="only results and errors (no plan listing, no per-step lines)")
    g.add_argument("--log-file", type=Path, metavar="FILE", default=d(None),
                   help="write a debug log to FILE: the steps' events and translated errors, HTTP requests with "
                        "their request and correlation ids (tokens redacted)")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="aks-ai-wizard",
        description="From an empty Azure subscription to an AKS cluster that meets the CNCF Kubernetes AI "
                    "Conformance checklist (v1.34), and proof of it.",
        epilog=help_epilog("  aks-ai-wizard --simulate                       # the interactive wizard, offline\n"
                           "  aks-ai-wizard --answers answers.yaml           # prefilled from a file (never rewritten)\n"
                           "  aks-ai-wizard plan answers.yaml && aks-ai-wizard apply answers.yaml"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _global_options(parser, suppress=False)
    parser.add_argument("--answers", type=Path, metavar="FILE", help="prefill the interactive wizard from FILE")
    _no_prices_option(parser)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_, epilog=help_epilog(EXAMPLES[name]),
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        _global_options(p, suppress=True)
        return p

    p = command("plan", "resolve the answers against Azure and print every step with its az equivalent; "
                        "changes nothing")
    p.add_argument("file", type=Path, help="answers file (YAML)")
    _kueue_manifest_option(p)
    _no_prices_option(p)
    output_option(p)
    p.add_argument("--allow-update", action="store_true", help="plan updates to resources that exist and differ")
    p.add_argument("--detailed-exitcode", action="store_true",
                   help=f"exit {EXIT_OK} when there is nothing to change, {EXIT_CHANGES} when there are changes "
                        f"to apply, {EXIT_PLAN} when the plan cannot be applied")

    p = command("apply", "create or update what the answers describe, non-interactively")
    p.add_argument("file", type=Path, help="answers file (YAML); never modified")
    _kueue_manifest_option(p)
    _no_prices_option(p)
    output_option(p)
    p.add_argument("--allow-update", action="store_true",
                   help="apply changes to a cluster or pool that exists with different settings")
    p.add_argument("--kubeconfig-out", type=Path, metavar="PATH",
                   help="write the cluster's user kubeconfig to PATH (mode 0600); not written otherwise")
    p.add_argument("--merge-kubeconfig", action="store_true",
                   help="merge the cluster's context into $KUBECONFIG or ~/.kube/config (a backup is kept)")
    p.add_argument("--recreate-failed", action="store_true",
                   help="consent to delete a cluster whose creation ended Failed and create it again")
    p.add_argument("--skip-preflight", action="store_true",
                   help="start even when preflight items fail (quota, SKU, zones, flags)")
    p.add_argument("--report", type=Path, metavar="DIR",
                   help="write the closing conformance verification to DIR (report.md, report.json, "
                        "results/junit.xml, results/results.json, PRODUCT.yaml)")
    p.add_argument("--registration-timeout", type=_minutes, metavar="MINUTES", default=90.0,
                   help="longest wait for a preview flag or provider to register (default 90; Azure can take an "
                        "hour); past it the run stops and says what to check later")
    p.add_argument("--conflict-timeout", type=_minutes, metavar="MINUTES", default=60.0,
                   help="longest wait for another operation on the cluster or pool to end before sending ours "
                        "(default 60); past it the run stops without writing")
    p.add_argument("--conformance-not-required", action="store_true",
                   help=f"exit {EXIT_OK}, not {EXIT_NOT_CONFORMANT}, when the closing verification finds a MUST "
                        "requirement that did not pass (as verify.require_conformance: false)")
    p.add_argument("--parallel", type=int, metavar="N", default=None,
                   help="fleet: apply at most N members at a time (default 4)")
    p.add_argument("--kubeconfig-dir", type=Path, metavar="DIR",
                   help="fleet: write each member's user kubeconfig to DIR/<cluster>.kubeconfig (mode 0600)")

    p = command("teardown", "delete exactly what this wizard created, as its journal records, after listing it "
                            "and a typed confirmation")
    p.add_argument("file", type=Path, help="the answers file the resources were created from")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation (scripts)")
    p.add_argument("--from-tags", action="store_true",
                   help="the journal is lost or damaged: find what this wizard created from the provenance tags "
                        "on Azure (listed first, confirmed as usual)")
    p.add_argument("--parallel", type=int, metavar="N", default=None,
                   help="fleet: tear down at most N members at a time (default 4)")
    output_option(p)

    command("schema", "print the answers file's JSON Schema")
    p = command("completion", "print the shell completion script for bash, zsh or fish")
    p.add_argument("shell", choices=SHELLS)

    p = command("serve", "serve the wizard to web browsers (textual-serve): each browser tab runs its own wizard")
    from screens.serve import add_serve_options  # argparse only: Textual is imported when serving

    add_serve_options(p)

    from wizard.export.cli import add_export_parser
    from wizard.preflight_cli import add_gpu_sizes_parser
    from wizard.verify_cli import add_verify_parser

    add_export_parser(sub, lambda p: _global_options(p, suppress=True))
    add_verify_parser(sub, lambda p: _global_options(p, suppress=True))
    add_gpu_sizes_parser(sub, lambda p: _global_options(p, suppress=True))
    return parser


def _minutes(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of minutes, got {text!r}")
    return value


def _no_prices_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-prices", action="store_true",
                   help="do not look up list prices (they come from the public Azure Retail Prices API; never "
                        "looked up for other clouds)")


def _kueue_manifest_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--kueue-manifest", metavar="PATH_OR_URL",
                   help="install Kueue from this release manifest instead of the official download "
                        "(overrides kueue.manifest; checked against kueue.sha256 when set)")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("aks-ai-wizard")
    except PackageNotFoundError:
        return "0+unknown"


_LIBRARY_LOGGERS = frozenset({"azure", "msal", "urllib3", "kubernetes"})


def _setup_logging(verbose: int, log_file: Path | None) -> None:
    from wizard.events import log as events_log

    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "aks_ai_wizard", False)]:
        root.removeHandler(handler)  # main() may run more than once in a process (tests, the TUI)
        handler.close()
    root.setLevel(logging.DEBUG)
    console = logging.StreamHandler(sys.stderr)
    console.aks_ai_wizard = True  # type: ignore[attr-defined]
    console.setLevel(logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG)
    console.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    if verbose < 2:  # the SDKs' own warnings belong in the log file: the terminal gets the translated error
        console.addFilter(lambda record: record.name.split(".", 1)[0] not in _LIBRARY_LOGGERS)
    console.addFilter(lambda record: not record.name.startswith(events_log.name))  # printed as events already
    root.addHandler(console)
    if verbose < 2:
        logging.getLogger("azure").setLevel(logging.WARNING if not log_file else logging.INFO)
    if log_file:
        try:
            fh = logging.FileHandler(log_file, encoding="utf-8")
        except OSError as exc:
            raise InvalidInput(f"cannot write the log file {log_file}: {exc.strerror or exc}",
                               "give --log-file a path in a folder that exists and that you can write") from None
        fh.aks_ai_wizard = True  # type: ignore[attr-defined]
        fh.setLevel(logging.DEBUG)
        fh.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"))
        root.addHandler(fh)


def _check_local_options(args: argparse.Namespace) -> None:
    """Local mistakes are invalid input, found before anything starts (never 'an Azure operation failed')."""
    speed = getattr(args, "sim_speed", SIM_SPEED)
    if not (math.isfinite(speed) and speed > 0):
        raise InvalidInput(f"--sim-speed must be a number above 0 (got {speed:g})",
                           f"use e.g. --sim-speed {SIM_SPEED:g} (the default) or --sim-speed 1 for Azure's real durations")
    for option, path in (("--sim-state", getattr(args, "sim_state", None)), ("--log-file", args.log_file)):
        folder = path.expanduser().resolve().parent if path is not None else None
        if folder is not None and not folder.is_dir():
            raise InvalidInput(f"{option} {path}: the folder {folder} does not exist",
                               "create the folder first, or give a path in a folder that exists")


def _load(args: argparse.Namespace) -> "Answers":
    from wizard.answers import load_answers

    answers = load_answers(args.file)
    override: dict[str, Any] = {}
    kueue_manifest = getattr(args, "kueue_manifest", None)
    if args.cloud:
        from wizard.azure.clouds import cloud_setting

        override["cloud"] = cloud_setting(args.cloud)
    if args.subscription:
        override["subscription"] = args.subscription
    if override or kueue_manifest:
        from wizard.answers import answers_from_dict

        data = answers.model_dump(mode="json")
        data["azure"].update(override)
        if kueue_manifest:
            local = Path(kueue_manifest)
            data["kueue"]["manifest"] = str(local.resolve()) if local.exists() else kueue_manifest
        answers = answers_from_dict(data)
    return answers


def _open(args: argparse.Namespace, answers: "Answers") -> "Session":
    from wizard.session import SimOptions, open_session

    sim = SimOptions(args.sim_speed, list(args.sim_fault or []), args.sim_state,
                     list(args.sim_degrade or [])) if args.simulate else None
    session = open_session(answers, sim)
    session.no_prices = bool(getattr(args, "no_prices", False))
    return session


def main(argv: Sequence[str] | None = None) -> int:
    """Every command's one exit: usage errors, local problems, Azure failures and Ctrl-C all end here as an
    exit code from the table (wizard/exit_codes.py) and words on stderr (and an `error` document with JSON)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    out = Output(json_mode=wants_json(argv))
    try:
        parser = build_parser()
        if "_ARGCOMPLETE" in os.environ:  # a shell asking for completions (never on a normal run)
            import argcomplete

            argcomplete.autocomplete(parser)
        args = parser.parse_args(argv)
        out = Output(json_mode=getattr(args, "output", "text") == "json", quiet=args.quiet)
        return _dispatch(args, out)
    except UsageError as exc:
        out.note(exc.usage.rstrip())
        return out.fail(EXIT_INVALID, str(exc), "see --help for the arguments and examples", category="usage")
    except InvalidInput as exc:
        return out.failure(exc)
    except KeyboardInterrupt:
        return out.interrupted()


def _dispatch(args: argparse.Namespace, out: Output) -> int:
    _check_local_options(args)
    if args.command is None:
        from screens.app import run_app

        return run_app(args)
    if args.command == "serve":
        from screens.serve import run_serve

        return run_serve(args)
    if args.command == "schema":
        from wizard.answers import json_schema

        print(json.dumps(json_schema(), indent=2))
        return EXIT_OK
    if args.command == "completion":
        from argcomplete.shell_integration import shellcode

        print(shellcode(["aks-ai-wizard"], shell=args.shell))
        return EXIT_OK
    _setup_logging(args.verbose, args.log_file)
    if args.command == "verify":
        from wizard.verify_cli import run_verify

        return run_verify(args, out)
    if args.command == "gpu-sizes":
        from wizard.preflight_cli import run_gpu_sizes

        return run_gpu_sizes(args, out)
    from wizard.answers import AnswersError
    from wizard.azure.clouds import CloudError

    try:
        answers = _load(args)
    except AnswersError as exc:
        return out.fail(EXIT_INVALID, f"{args.file}: invalid answers; nothing was sent to Azure.", "fix the "
                        "answers listed above (aks-ai-wizard schema prints every key)", why=str(exc))
    except CloudError as exc:
        return out.fail(EXIT_INVALID, f"--cloud: {exc}; nothing was sent to Azure.",
                        "name a cloud az knows (az cloud list), or give a cloud file")
    if args.command == "teardown" and answers.fleet is not None:
        from wizard.fleet_teardown import run_fleet_teardown

        return run_fleet_teardown(args, answers, out)
    if args.command == "teardown":
        from wizard.teardown_cli import run_teardown

        return run_teardown(args, answers, out)
    if args.command == "export":
        from wizard.export.cli import run_export

        return run_export(args, answers, out)
    if answers.fleet is not None:
        from wizard.fleet_cli import run_fleet

        return run_fleet(args, answers, out)
    return _plan_or_apply(args, answers, out)


def _run_engine(engine: Any, out: Output) -> Any:
    """Run the engine in the foreground: the first Ctrl-C stops it after the current poll (what Azure accepted
    stays in the journal), a second one quits at once (KeyboardInterrupt, exit 130)."""
    from wizard.interrupts import run_until_interrupted

    result = run_until_interrupted(engine.run, engine.cancel, "stopping after the current poll; operations Azure "
                                   "accepted keep running there and are in the journal")
    if result is None:
        raise KeyboardInterrupt
    return result


def _locked(out: Output, exc: Exception) -> int:
    return out.fail(EXIT_INVALID, str(exc), "wait for the other run to finish, or stop it first")


def _result_doc(out: Output, command: str, result: Any, code: int, started: float, journal: Any,
                **extra: Any) -> None:
    """The last JSON document of apply and teardown: how the run ended, and the error if it failed."""
    from wizard.render import fmt_seconds

    body: dict[str, Any] = {"command": command, "status": result.status, "exit_code": code,
                            "elapsed": fmt_seconds(time.monotonic() - started), "journal": str(journal.path), **extra}
    if result.failure:
        body["failed_step"] = result.failed_step
        body["failure"] = result.failure.to_dict()
    out.doc("result", body)


def _plan_or_apply(args: argparse.Namespace, answers: "Answers", out: Output) -> int:
    from wizard.conformance.forecast import forecast
    from wizard.journal import Journal, JournalLocked
    from wizard.plan import plan_for
    from wizard.preflight import run_preflight
    from wizard.render import plan_summary, plan_text

    journal = Journal.for_answers(args.file.resolve())
    for warning in journal.warnings():
        out.note(f"warning: {warning}")
    try:
        session = _open(args, answers)
    except Exception as exc:  # noqa: BLE001 - sign-in and subscription failures are results, not tracebacks
        return out.failure(exc)

    def observe() -> tuple[Plan, PreflightReport]:
        plan = plan_for(session.conn, answers, session.subscription, journal, allow_update=args.allow_update,
                        recreate_failed=getattr(args, "recreate_failed", False),
                        addon_options=session.addon_options())
        return plan, run_preflight(session.conn, answers, plan, prices=session.prices(),
                                   prices_note=session.prices_note)

    def listing() -> str:
        return (plan_text(plan, show_az=args.command == "plan" or args.verbose > 0) + "\n\n" + preflight.text()
                + "\n\n" + forecast(answers).text())

    def plan_doc() -> None:
        out.doc("plan", {"command": args.command, **plan.to_dict(), "changes": len(plan.changes),
                         "preflight": preflight.to_dict(), "conformance": forecast(answers).to_dict()})

    def refused() -> int:
        out.result(listing())
        return out.fail(EXIT_PLAN, "the plan cannot be applied; nothing was written to Azure",
                        "fix what is listed under 'Cannot apply this plan'" if not plan.ok else
                        "fix the failing preflight items, or run with --skip-preflight to start anyway",
                        category="plan", why="; ".join(str(p) for p in plan.problems))

    try:
        for note in session.notes:
            out.note(f"note: {note}")
        try:
            plan, preflight = observe()
        except Exception as exc:  # noqa: BLE001
            return out.failure(exc)
        applicable = plan.ok and preflight.ok
        plan_doc()
        if args.command == "plan":
            if args.quiet and applicable:
                out.result(plan_summary(plan))
            else:
                out.result(listing())
            if not applicable:
                return EXIT_PLAN
            if args.detailed_exitcode and plan.changes:
                return EXIT_CHANGES
            return EXIT_OK
        if not plan.ok or (not preflight.ok and not args.skip_preflight):
            return refused()
        out.progress(listing() + "\n")
        try:
            with journal.lock():
                if plan.awaits_provider:
                    # the provider registration is a step of its own; what it hid is read and planned after it
                    code = _apply(args, plan, session, journal, out, verify=False)
                    if code != EXIT_OK:
                        return code
                    try:
                        plan, preflight = observe()
                    except Exception as exc:  # noqa: BLE001
                        return out.failure(exc)
                    plan_doc()
                    if not plan.ok or (not preflight.ok and not args.skip_preflight):
                        return refused()
                    out.progress(listing() + "\n")
                return _apply(args, plan, session, journal, out)
        except JournalLocked as exc:
            return _locked(out, exc)
    finally:
        session.close()


def _apply(args: argparse.Namespace, plan: Any, session: "Session", journal: Any, out: Output,
           verify: bool = True) -> int:
    """Run the plan; ``verify=False``: a first phase (the provider registration) that the rest follows."""
    from wizard.engine import Engine
    from wizard.kubeconfig import default_kubeconfig
    from wizard.render import EventPrinter, fmt_seconds
    from wizard.runners import runners

    engine = Engine(session.conn, plan, EventPrinter(out, verbose=args.verbose > 0), journal, session.run_options(
        kubeconfig_out=args.kubeconfig_out, merge_kubeconfig=default_kubeconfig() if args.merge_kubeconfig else None,
        registration_timeout=args.registration_timeout * 60, conflict_timeout=args.conflict_timeout * 60), runners())
    started = time.monotonic()
    result = _run_engine(engine, out)
    took = fmt_seconds(time.monotonic() - started)
    if result.status == "done" and not verify:
        return EXIT_OK
    if result.status == "done":
        out.result(f"\nDone in {took}. Journal: {journal.path}")
        if args.kubeconfig_out:
            out.result(f"kubeconfig: {args.kubeconfig_out} (mode 0600)  ->  "
                       f"kubectl --kubeconfig {args.kubeconfig_out} get nodes")
        try:
            report = _closing_verification(args, plan.answers, session, out)
        except Exception as exc:  # noqa: BLE001 - the cluster could not be read back: explained, not a traceback
            return out.failure(exc, "the closing verification could not read the cluster")
        required = plan.answers.verify.require_conformance and not args.conformance_not_required
        code = EXIT_NOT_CONFORMANT if required and not report.must_ok else EXIT_OK
        _result_doc(out, "apply", result, code, started, journal, conformant=report.must_ok,
                    conformance_required=required)
        if code == EXIT_NOT_CONFORMANT:
            proof = ("" if plan.answers.verify.probes else " The read-only verification cannot prove the "
                     "behaviours: set verify.probes: true to exercise them.")
            out.note("The cluster was built, but not every MUST requirement passed (see the fixes above)." + proof
                     + " Or set verify.require_conformance: false (--conformance-not-required) if this cluster "
                     "need not conform.")
        return code
    code = EXIT_AZURE if result.status == "failed" else exit_codes.INTERRUPTED
    _result_doc(out, "apply", result, code, started, journal)
    if result.status == "failed":
        out.result(f"\nStopped after {took}: step {result.failed_step} failed (details above).")
        if result.failed_step and journal.in_flight(result.failed_step):
            out.result("Azure accepted that operation before contact was lost: it keeps running there, and the "
                       "next run re-attaches to it instead of sending it again.")
        out.result(f"Fix the cause and run the same command again: finished steps are not repeated. "
                   f"Journal: {journal.path}")
    else:
        out.note(f"interrupted after {took}: run the same command again to resume. Journal: {journal.path}")
    return code


def _closing_verification(args: argparse.Namespace, answers: "Answers", session: "Session", out: Output) -> Any:
    """apply ends by proving what it built: the same verification as `verify` (answers `verify:`)."""
    from wizard.verify_cli import verify_and_report
    from wizard.verify_target import azure_verify_target, options_from_answers

    rg, name = answers.resource_group.name, answers.cluster.name
    out.progress("")
    return verify_and_report(azure_verify_target(session.conn, rg, name),
                             options_from_answers(answers, simulated=session.simulator is not None,
                                                  **session.probe_pacing()),
                             f"{name} ({rg})", out, args.report)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
