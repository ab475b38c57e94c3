"""run_verification: every requirement of the chosen checklist checked concurrently over one shared read cache;
probes (opt-in) in one throw-away namespace removed in a finally."""
from __future__ import annotations

import datetime as dt
import logging
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any, Callable

from .azure_view import AzureView
from .checklist import Requirement, load_checklist
from .context import GPU, Ctx, Out, Outcome, quantity_int
from .kube import Kube, KubeFailure
from .model import CHECKLIST_STATUS, Report, RequirementResult, VerifyOptions, VerifyTarget
from .requirements import REGISTRY

log = logging.getLogger(__name__)
PLATFORM = "Azure Kubernetes Service (AKS)"


UNDECIDED = ("unreachable", "timeout", "unauthorized", "forbidden")  # the API could not be read: not a finding


def _run_one(ctx: Ctx, req: Requirement) -> RequirementResult:
    t0 = time.monotonic()
    spec = REGISTRY.get(req.id)
    if spec is None:
        out = Out()
        out.note("no automated check for this requirement in this version of aks-ai-wizard")
        outcome = Outcome("skipped", "not checked (no automated check)", out)
    else:
        try:
            outcome = spec.check(ctx)
        except KubeFailure as exc:
            out = Out()
            if exc.kind in UNDECIDED or exc.status >= 500:
                out.undecided(f"not verified: {exc.describe()}", exc.fix() or None)
                if ctx.fix.retry_read() not in out.fixes:
                    out.fixes.append(ctx.fix.retry_read())
                outcome = Outcome("inconclusive", out.inconclusive[0], out)
            else:
                out.problem(f"not verified: {exc.describe()}", exc.fix() or None)
                outcome = Outcome("fail", f"not verified: {exc.describe()}", out)
        except Exception as exc:  # noqa: BLE001 - a crashing check is a result, not a crash of the run
            log.exception("check %s crashed", req.id)
            out = Out()
            out.problem(f"check failed to run: {type(exc).__name__}: {exc}")
            outcome = Outcome("fail", out.problems[0], out)
    out = outcome.out
    notes = list(out.notes)
    if outcome.status != "pass" and out.problems[1:]:
        notes = [f"also: {p}" for p in out.problems[1:]] + notes
    if outcome.status == "skipped" and not notes:
        notes = [outcome.summary]
    checklist_status = CHECKLIST_STATUS[outcome.status]
    if outcome.status == "inconclusive" and outcome.proof != "probe":
        checklist_status = "N/A"  # nothing was read: no claim either way (the notes say why)
        notes.insert(0, f"inconclusive: {outcome.summary}")
    return RequirementResult(
        id=req.id, level=req.level, category=req.category, description=req.description, status=outcome.status,
        checklist_status=checklist_status, summary=outcome.summary, evidence=list(out.evidence),
        fix="\n".join(out.fixes) if outcome.status != "pass" and out.fixes else
        (None if outcome.status == "pass" else _default_fix(ctx, outcome)),
        notes=" ".join(n if n.rstrip().endswith((".", ")")) else n.rstrip() + "." for n in notes), proof=outcome.proof,
        duration=round(time.monotonic() - t0, 3), test=spec.test if spec else "", subchecks=list(out.subchecks))


def _default_fix(ctx: Ctx, outcome: Outcome) -> str | None:
    if outcome.status == "partial" and outcome.proof == "read-only" and not ctx.opts.probes:
        return ctx.fix.verify_probes()
    return None


def _metadata(ctx: Ctx, az: AzureView | None, target: VerifyTarget) -> dict[str, Any]:
    md: dict[str, Any] = {"platform": PLATFORM}
    if az is not None:
        md.update({k: v for k, v in {"cluster_name": az.name, "resource_group": az.resource_group,
                                     "location": az.location, "kubernetes_version": az.kubernetes_version}.items()
                   if v})
    if ctx.kube is not None:
        md["api_server"] = ctx.kube.host
        try:
            ver = ctx.version()
            md["kubernetes_version"] = ver.get("gitVersion") or md.get("kubernetes_version", "")
        except KubeFailure as exc:
            md["kubernetes_api"] = exc.describe()
        try:
            nodes = ctx.nodes()
            md["nodes"] = len(nodes)
            md["gpus"] = sum(quantity_int(((n.get("status") or {}).get("allocatable") or {}).get(GPU)) for n in nodes)
        except KubeFailure:
            pass
    if target.context:
        md["context"] = target.context
    try:
        from importlib.metadata import version
        md["verifier"] = f"aks-ai-wizard {version('aks-ai-wizard')}"
    except Exception:  # noqa: BLE001
        md["verifier"] = "aks-ai-wizard"
    return md


def run_verification(target: VerifyTarget, options: VerifyOptions | None = None,
                     on_result: Callable[[RequirementResult], None] | None = None) -> Report:
    opts = options or VerifyOptions()
    checklist = load_checklist(opts.checklist)
    wanted = [r for r in checklist.requirements if not opts.only or r.id in opts.only]
    started = dt.datetime.now(dt.timezone.utc)
    az = AzureView.from_arm(target.cluster, target.pools)
    kube, kube_error = None, None
    if target.kubeconfig:
        try:
            kube = Kube.from_kubeconfig(target.kubeconfig, target.context, opts.timeout,
                                        pool_size=max(4, opts.concurrency + 4))
        except Exception as exc:  # noqa: BLE001
            kube_error = KubeFailure("error", f"the kubeconfig cannot be used: {exc}")
    else:
        kube_error = KubeFailure("error", "no kubeconfig: the Kubernetes view is not available")
    ctx = Ctx(kube, kube_error, az, opts, prometheus=target.prometheus)
    results: dict[str, RequirementResult] = {}
    executor = ThreadPoolExecutor(max_workers=max(2, opts.concurrency), thread_name_prefix="verify")
    probes = None
    cleanup_notes: list[str] = []
    try:
        ctx.prefetch(executor)
        if opts.probes and kube is not None:
            from .probes import ProbeRunner
            probes = ProbeRunner(ctx)
            ctx.probes = probes
            try:
                probes.start()
                if probes.left_over:
                    cleanup_notes.append("removed leftovers of an earlier run: " + ", ".join(probes.left_over))
            except KubeFailure as exc:
                cleanup_notes.append(f"leftover cleanup skipped: {exc.describe()}")
        futures = [executor.submit(_run_one, ctx, req) for req in wanted]
        for fut in as_completed(futures):
            r = fut.result()
            results[r.id] = r
            if on_result is not None:
                try:
                    on_result(r)
                except Exception:  # noqa: BLE001 - a UI callback must not break the run
                    log.exception("on_result callback failed")
    except BaseException:
        ctx.cancel.set()
        raise
    finally:
        if probes is not None:
            try:
                probes.cleanup()
            except BaseException:  # noqa: BLE001
                log.exception("probe cleanup failed")
        executor.shutdown(wait=False, cancel_futures=True)
    metadata = _metadata(ctx, az, target)
    if probes is not None:
        metadata["probe_namespace"] = probes.ns
    if cleanup_notes:
        metadata["notes"] = cleanup_notes
    if opts.metadata:
        metadata["product_overrides"] = dict(opts.metadata)
    if opts.simulated:
        metadata["simulated"] = True
    if kube is not None:
        metadata["requests"] = kube.request_count
        kube.close()
    if target.prometheus_endpoint:
        metadata["prometheus_query_endpoint"] = target.prometheus_endpoint
    return Report(results=[results[r.id] for r in wanted], checklist_version=checklist.version,
                  metadata=metadata, started=started, finished=dt.datetime.now(dt.timezone.utc),
                  probes=bool(opts.probes))
