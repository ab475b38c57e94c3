"""Command line: `plan`, `apply`, `schema`, and (with no command) the interactive wizard.

Imports are lazy on purpose: `aks-ai-wizard --help` must not pay for the Azure SDKs or Textual.
"""
from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:
    from wizard.answers import Answers
    from wizard.session import Session

EXIT_OK, EXIT_INVALID, EXIT_PLAN, EXIT_AZURE, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
SIM_FAULTS = ("gpu-quota", "sku-unavailable", "throttle", "lro-failed", "conflict", "connection-drop")


def _global_options(parser: argparse.ArgumentParser, suppress: bool) -> None:
    """Global options are accepted before or after the command (`--simulate apply x` == `apply x --simulate`)."""
    d = (lambda v: argparse.SUPPRESS) if suppress else (lambda v: v)
    g = parser.add_argument_group("global options")
    g.add_argument("--simulate", action="store_true", default=d(False),
                   help="run against the embedded simulated Azure and cluster (offline; demos and tests)")
    g.add_argument("--sim-speed", type=float, metavar="N", default=d(60.0),
                   help="simulated operations run N times faster than Azure's typical durations (default 60)")
    g.add_argument("--sim-fault", action="append", choices=SIM_FAULTS, metavar="NAME", default=d(None),
                   help=f"inject a named fault into the simulator (repeatable): {', '.join(SIM_FAULTS)}")
    g.add_argument("--sim-state", type=Path, metavar="FILE", default=d(None),
                   help="keep the simulated world in FILE so a later command continues in it")
    g.add_argument("--cloud", metavar="NAME", default=d(None),
                   help="override azure.cloud: AzureCloud, AzureChinaCloud or AzureUSGovernment")
    g.add_argument("--subscription", metavar="ID_OR_NAME", default=d(None), help="override azure.subscription")
    g.add_argument("-v", "--verbose", action="count", default=d(0), help="more detail (-vv: HTTP requests)")
    g.add_argument("--log-file", type=Path, metavar="FILE", default=d(None),
                   help="write a debug log (HTTP requests with secrets redacted) to FILE")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aks-ai-wizard",
        description="From an empty Azure subscription to an AKS cluster that meets the CNCF Kubernetes AI "
                    "Conformance checklist (v1.34), and proof of it.",
        epilog="Exit codes: 0 done, 1 invalid input, 2 the plan cannot be applied (nothing written), "
               "3 an Azure operation failed, 130 interrupted.",
    )
    _global_options(parser, suppress=False)
    parser.add_argument("--answers", type=Path, metavar="FILE", help="prefill the interactive wizard from FILE")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_)
        _global_options(p, suppress=True)
        return p

    p = command("plan", "resolve the answers against Azure and print every step with its az equivalent; "
                        "changes nothing")
    p.add_argument("file", type=Path, help="answers file (YAML)")
    _kueue_manifest_option(p)
    p.add_argument("--output", choices=("text", "json"), default="text")
    p.add_argument("--allow-update", action="store_true", help="plan updates to resources that exist and differ")

    p = command("apply", "create or update what the answers describe, non-interactively")
    p.add_argument("file", type=Path, help="answers file (YAML); never modified")
    _kueue_manifest_option(p)
    p.add_argument("--output", choices=("text", "json"), default="text",
                   help="text: a line per event; json: one JSON object per line")
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
                   help="write the closing conformance verification to DIR (report.md, report.json, PRODUCT.yaml)")

    p = command("teardown", "delete exactly what this wizard created, as its journal records, after listing it "
                            "and a typed confirmation")
    p.add_argument("file", type=Path, help="the answers file the resources were created from")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation (scripts)")
    p.add_argument("--output", choices=("text", "json"), default="text")

    command("schema", "print the answers file's JSON Schema")

    p = command("serve", "serve the wizard to web browsers (textual-serve): each browser tab runs its own wizard")
    from screens.serve import add_serve_options  # argparse only: Textual is imported when serving

    add_serve_options(p)

    from wizard.preflight_cli import add_gpu_sizes_parser
    from wizard.verify_cli import add_verify_parser

    add_verify_parser(sub, lambda p: _global_options(p, suppress=True))
    add_gpu_sizes_parser(sub, lambda p: _global_options(p, suppress=True))
    return parser


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


def _setup_logging(verbose: int, log_file: Path | None) -> None:
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "aks_ai_wizard", False)]:
        root.removeHandler(handler)  # main() may run more than once in a process (tests, the TUI)
        handler.close()
    root.setLevel(logging.DEBUG)
    console = logging.StreamHandler(sys.stderr)
    console.aks_ai_wizard = True  # type: ignore[attr-defined]
    console.setLevel(logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG)
    console.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root.addHandler(console)
    if verbose < 2:
        logging.getLogger("azure").setLevel(logging.WARNING if not log_file else logging.INFO)
    if log_file:
        fh = logging.FileHandler(log_file, encoding="utf-8")
        fh.aks_ai_wizard = True  # type: ignore[attr-defined]
        fh.setLevel(logging.DEBUG)
        fh.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"))
        root.addHandler(fh)


def _load(args: argparse.Namespace) -> "Answers":
    from wizard.answers import load_answers

    answers = load_answers(args.file)
    override: dict[str, Any] = {}
    kueue_manifest = getattr(args, "kueue_manifest", None)
    if args.cloud:
        override["cloud"] = args.cloud
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

    sim = SimOptions(args.sim_speed, list(args.sim_fault or []), args.sim_state) if args.simulate else None
    return open_session(answers, sim)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
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
    _setup_logging(args.verbose, args.log_file)
    if args.command == "verify":
        from wizard.verify_cli import run_verify

        return run_verify(args)
    if args.command == "gpu-sizes":
        from wizard.preflight_cli import run_gpu_sizes

        return run_gpu_sizes(args)
    from wizard.answers import AnswersError

    try:
        answers = _load(args)
    except AnswersError as exc:
        print(f"{args.file}: invalid answers; nothing was sent to Azure.\n{exc}", file=sys.stderr)
        return EXIT_INVALID
    if args.command == "teardown":
        return _teardown(args, answers)
    return _plan_or_apply(args, answers)


def _teardown(args: argparse.Namespace, answers: "Answers") -> int:
    from wizard.engine import Engine
    from wizard.journal import Journal, JournalLocked
    from wizard.render import EventPrinter
    from wizard.teardown import plan_teardown, teardown_text

    journal = Journal.for_answers(args.file.resolve())
    if not journal.records():
        print(f"No journal at {journal.path}: this wizard has created nothing from {args.file}; nothing to delete.")
        return EXIT_OK
    try:
        session = _open(args, answers)
    except Exception as exc:  # noqa: BLE001
        return _failed(exc, args.output == "json")
    try:
        with journal.lock():
            try:
                td = plan_teardown(session.conn, answers, journal, session.subscription)
            except Exception as exc:  # noqa: BLE001
                return _failed(exc, args.output == "json")
            print(teardown_text(td), flush=True)
            if td.empty:
                return EXIT_OK
            if not args.yes:
                if not sys.stdin.isatty():
                    print("Refusing to delete without confirmation: no terminal to ask on. Re-run with --yes.",
                          file=sys.stderr)
                    return EXIT_INVALID
                typed = input(f"\nType the cluster name ({answers.cluster.name}) to delete the above: ").strip()
                if typed != answers.cluster.name:
                    print("The name did not match; nothing was deleted.", file=sys.stderr)
                    return EXIT_INVALID
            printer = EventPrinter(json_lines=args.output == "json", verbose=args.verbose > 0)
            result = Engine(session.conn, td.plan, printer, journal, session.run_options()).run()
            if result.status == "done":
                print("Teardown done." + (" The preview features listed above stay registered." if td.flags else ""))
            return {"done": EXIT_OK, "failed": EXIT_AZURE}.get(result.status, EXIT_INTERRUPTED)
    except JournalLocked as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    finally:
        session.close()


def _failed(exc: BaseException, json_out: bool) -> int:
    """An Azure failure before any step ran (sign-in, subscription, reads): explained, not a traceback."""
    from wizard.azure.errors import translate

    failure = translate(exc)
    print(json.dumps({"type": "error", **failure.to_dict()}) if json_out else failure.render(), file=sys.stderr)
    return EXIT_AZURE


def _plan_or_apply(args: argparse.Namespace, answers: "Answers") -> int:
    from wizard.journal import Journal, JournalLocked
    from wizard.plan import plan_for
    from wizard.preflight import run_preflight
    from wizard.render import plan_text

    json_out = args.output == "json"
    journal = Journal.for_answers(args.file.resolve())
    try:
        session = _open(args, answers)
    except Exception as exc:  # noqa: BLE001 - sign-in and subscription failures are results, not tracebacks
        return _failed(exc, json_out)
    try:
        for note in session.notes:
            print(f"note: {note}", file=sys.stderr)
        try:
            plan = plan_for(session.conn, answers, session.subscription, journal, allow_update=args.allow_update,
                            recreate_failed=getattr(args, "recreate_failed", False))
            preflight = run_preflight(session.conn, answers, plan, prices=session.prices())
        except Exception as exc:  # noqa: BLE001
            return _failed(exc, json_out)

        def show() -> None:
            if json_out:
                print(json.dumps({"type": "plan", **plan.to_dict(), "preflight": preflight.to_dict()}, default=str))
            else:
                print(plan_text(plan, show_az=args.command == "plan" or args.verbose > 0))
                print("\n" + preflight.text(), flush=True)

        if args.command == "plan":
            show()
            return EXIT_OK if plan.ok and preflight.ok else EXIT_PLAN
        if not plan.ok or (not preflight.ok and not args.skip_preflight):
            show()
            print("Nothing was written to Azure." + ("" if not plan.ok else
                  " Fix the failing preflight items, or run with --skip-preflight to start anyway."),
                  file=sys.stderr)
            return EXIT_PLAN
        try:
            with journal.lock():
                return _apply(args, plan, session, journal, preflight)
        except JournalLocked as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_INVALID
    finally:
        session.close()


def _apply(args: argparse.Namespace, plan: Any, session: "Session", journal: Any, preflight: Any) -> int:
    from wizard.engine import Engine
    from wizard.kubeconfig import default_kubeconfig
    from wizard.render import EventPrinter, fmt_seconds, plan_text

    json_out = args.output == "json"
    printer = EventPrinter(json_lines=json_out, verbose=args.verbose > 0)
    if json_out:
        print(json.dumps({"type": "plan", **plan.to_dict(), "preflight": preflight.to_dict()}, default=str),
              flush=True)
    else:
        print(plan_text(plan, show_az=args.verbose > 0), flush=True)
        print("\n" + preflight.text() + "\n", flush=True)
    engine = Engine(session.conn, plan, printer, journal, session.run_options(
        kubeconfig_out=args.kubeconfig_out, merge_kubeconfig=default_kubeconfig() if args.merge_kubeconfig else None))
    interrupts = 0

    def on_sigint(signum: int, frame: Any) -> None:
        nonlocal interrupts
        interrupts += 1
        if interrupts > 1:
            raise KeyboardInterrupt
        print("\ninterrupt: stopping after the current poll; operations Azure accepted keep running there "
              "and are in the journal (press Ctrl-C again to quit at once)", file=sys.stderr, flush=True)
        engine.cancel()

    previous = signal.signal(signal.SIGINT, on_sigint)
    started = time.monotonic()
    try:
        result = engine.run()
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    finally:
        signal.signal(signal.SIGINT, previous)
    took = fmt_seconds(time.monotonic() - started)
    summary: dict[str, Any] = {"type": "result", "status": result.status, "elapsed": took,
                               "journal": str(journal.path)}
    if result.failure:
        summary["failed_step"] = result.failed_step
        summary["failure"] = result.failure.to_dict()
    if json_out:
        print(json.dumps(summary, default=str), flush=True)
    elif result.status == "done":
        print(f"\nDone in {took}. Journal: {journal.path}")
        if args.kubeconfig_out:
            print(f"kubeconfig: {args.kubeconfig_out} (mode 0600)  ->  kubectl --kubeconfig {args.kubeconfig_out} get nodes")
    if result.status == "done":
        return _closing_verification(args, plan.answers, session)
    elif result.status == "failed":
        print(f"\nStopped after {took}: step {result.failed_step} failed (details above).")
        if result.failed_step and journal.in_flight(result.failed_step):
            print("Azure accepted that operation before contact was lost: it keeps running there, and the next "
                  "run re-attaches to it instead of sending it again.")
        print(f"Fix the cause and run the same command again: finished steps are not repeated. "
              f"Journal: {journal.path}")
    else:
        print(f"\nInterrupted after {took}. Run the same command again to resume. Journal: {journal.path}")
    return {"done": EXIT_OK, "failed": EXIT_AZURE}.get(result.status, EXIT_INTERRUPTED)


def _closing_verification(args: argparse.Namespace, answers: "Answers", session: "Session") -> int:
    """apply ends by proving what it built: the same verification as `verify` (answers `verify:`)."""
    from wizard.conformance import VerifyOptions, VerifyTarget
    from wizard.verify_cli import azure_target, verify_and_report

    rg, name = answers.resource_group.name, answers.cluster.name
    if args.output != "json":
        print("", flush=True)
    cluster, pools, kubeconfig = azure_target(session.conn, rg, name)
    # probe waits are real time: in simulation they follow the simulator's clock like everything else
    paced = {} if session.simulator is None else {"gang_negative_seconds": max(0.5, 30 * session.time_scale),
                                                   "poll_interval": session.poll_interval}
    opts = VerifyOptions(probes=answers.verify.probes, checklist=answers.verify.checklist,
                         resource_group=rg, cluster_name=name, **paced)
    verify_and_report(VerifyTarget(kubeconfig=kubeconfig, cluster=cluster, pools=pools), opts, f"{name} ({rg})",
                      args.output == "json", args.report)
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
