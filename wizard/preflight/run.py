"""run_preflight: the reads preflight adds to what the plan already observed (one resource SKU list and one
usage list for the location, concurrently; the state of a flag the plan did not read; the GPU pool's list
price), then the checklist. Nothing is written."""
from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from wizard.preflight.checks import Reads, evaluate
from wizard.preflight.report import PreflightReport

if TYPE_CHECKING:
    from wizard.answers import Answers
    from wizard.azure.connection import ArmConnection
    from wizard.plan import Plan
    from wizard.pricing import PriceClient

log = logging.getLogger(__name__)


def _reason(exc: BaseException) -> str:
    from wizard.azure.errors import translate

    f = translate(exc)
    return f"{f.what} {f.action}".strip()


def _unread_flags(answers: "Answers", plan: "Plan") -> list[str]:
    """Flags the options need that the plan did not read (an explicit `features` list that leaves one out)."""
    from wizard.plan import _option_on, flag_rules

    have = {f.lower() for f in plan.observed.flag_states}
    return [r.flag for r in flag_rules() if _option_on(answers, r.option) and r.flag.lower() not in have]


def run_preflight(conn: "ArmConnection", answers: "Answers", plan: "Plan", prices: "PriceClient | None" = None,
                  price_deadline: float | None = None, prices_note: str | None = None) -> PreflightReport:
    """The read-only checklist for ``answers`` and the ``plan`` built from them (``wizard.plan.build_plan``).

    ``prices``: a PriceClient for the GPU pool's cost estimate (never blocks beyond ``price_deadline``);
    ``prices_note``: why there is none (``Session.prices_note``), shown instead of the estimate."""
    from wizard.azure.compute import list_usages, list_vm_skus
    from wizard.azure.features import feature_state

    loc = answers.azure.location
    extra = _unread_flags(answers, plan)
    gp = answers.gpu_pool
    with ThreadPoolExecutor(max_workers=4 + len(extra), thread_name_prefix="preflight") as pool:
        f_skus = pool.submit(list_vm_skus, conn, loc)
        f_usage = pool.submit(list_usages, conn, loc)
        f_flags = {f: pool.submit(feature_state, conn, f) for f in extra}
        f_price = (pool.submit(prices.lookup, loc, [gp.vm_size], price_deadline)
                   if prices is not None and gp is not None else None)
        reads = Reads(None, None)
        try:
            reads.skus = f_skus.result()
        except Exception as exc:  # noqa: BLE001 - a read that fails makes its items "warn", not a crash
            log.info("resource SKUs of %s unreadable: %s", loc, exc)
            reads.skus_error = _reason(exc)
        try:
            reads.usages = f_usage.result()
        except Exception as exc:  # noqa: BLE001
            log.info("usage of %s unreadable: %s", loc, exc)
            reads.usages_error = _reason(exc)
        states: dict[str, str] = {}
        for flag, fut in f_flags.items():
            try:
                states[flag] = fut.result()
            except Exception:  # noqa: BLE001
                states[flag] = "Unknown"
        reads.extra_flag_states = states
        price_result: Any = None
        if f_price is not None:
            try:
                price_result = f_price.result().get(gp.vm_size)
            except Exception:  # noqa: BLE001 - a price never fails the preflight
                price_result = None
    report = evaluate(answers, plan, reads, conn.subscription_id)
    if prices is not None and gp is not None:
        from wizard.pricing import estimate

        lo, hi = (gp.autoscale.min, gp.autoscale.max) if gp.autoscale else (gp.count, gp.count)
        est = estimate(price_result.price if price_result is not None else None, lo, hi)
        est.update(size=gp.vm_size, min_nodes=lo, max_nodes=hi)
        report.estimate = est
    elif prices_note and gp is not None:
        report.notes.append(prices_note)
    return report
