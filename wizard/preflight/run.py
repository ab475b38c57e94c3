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
    from wizard.plan_model import Plan
    from wizard.pricing import PriceClient

log = logging.getLogger(__name__)


def _reason(exc: BaseException) -> str:
    from wizard.azure.errors import translate

    f = translate(exc)
    return f"{f.what} {f.action}".strip()


def _unread_flags(answers: "Answers", plan: "Plan") -> list[str]:
    """Flags the options need that the plan did not read (an explicit `features` list that leaves one out)."""
    from wizard.flags import flag_rules, option_on

    have = {f.lower() for f in plan.observed.flag_states}
    return [r.flag for r in flag_rules() if option_on(answers, r.option) and r.flag.lower() not in have]


def run_preflight(conn: "ArmConnection", answers: "Answers", plan: "Plan", prices: "PriceClient | None" = None,
                  price_deadline: float | None = None, prices_note: str | None = None) -> PreflightReport:
    """The read-only checklist for ``answers`` and the ``plan`` built from them (``wizard.plan.build_plan``).

    ``prices``: a PriceClient for the GPU pool's cost estimate (never blocks beyond ``price_deadline``);
    ``prices_note``: why there is none (``Session.prices_note``), shown instead of the estimate."""
    from wizard.azure.compute import list_usages, list_vm_skus
    from wizard.azure.features import feature_state

    loc = answers.azure.location
    extra = _unread_flags(answers, plan)
    gpus = answers.all_gpu_pools
    subnet_id = answers.cluster.network.vnet_subnet_id
    with ThreadPoolExecutor(max_workers=6 + len(extra), thread_name_prefix="preflight") as pool:
        f_skus = pool.submit(list_vm_skus, conn, loc)
        f_usage = pool.submit(list_usages, conn, loc)
        f_flags = {f: pool.submit(feature_state, conn, f) for f in extra}
        f_subnet = pool.submit(read_subnet, conn, subnet_id) if subnet_id else None
        f_prices = {spot: pool.submit(prices.lookup, loc, [p.vm_size for p in gpus if (p.priority == "Spot") == spot],
                                      price_deadline, spot=spot)
                    for spot in {p.priority == "Spot" for p in gpus}} if prices is not None else {}
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
        if f_subnet is not None:
            reads.subnet, reads.subnet_error = _subnet_read(f_subnet)
        found: dict[bool, dict[str, Any]] = {}
        for spot, price in f_prices.items():
            try:
                found[spot] = price.result()
            except Exception:  # noqa: BLE001 - a price never fails the preflight
                found[spot] = {}
    report = evaluate(answers, plan, reads, conn.subscription_id)
    from wizard.preflight.identity import check_admission

    report.items.extend(check_admission(conn, answers, plan))  # who the Kubernetes API of an Entra cluster admits
    if prices is not None and gpus:
        report.estimate = _estimate(gpus, found)
    elif prices_note and gpus:
        report.notes.append(prices_note)
    return report


def _estimate(gpus: list[Any], found: dict[bool, dict[str, Any]]) -> dict[str, Any]:
    """The GPU pools' list-price estimate: one pool's as ever; several pools each with its own, and their sum."""
    from wizard.pricing import estimate

    per_pool = []
    for gp in gpus:
        spot = gp.priority == "Spot"
        lo, hi = (gp.autoscale.min, gp.autoscale.max) if gp.autoscale else (gp.count, gp.count)
        result = found.get(spot, {}).get(gp.vm_size)
        est = estimate(result.price if result is not None else None, lo, hi)
        est.update(pool=gp.name, size=gp.vm_size, min_nodes=lo, max_nodes=hi, spot=spot)
        if spot:
            est["text"] += " (Spot price: may change, nodes may be evicted)" if est["available"] else " (Spot)"
            if est["available"] and gp.spot_max_price != -1 and est["hourly_per_node"] > gp.spot_max_price:
                est["text"] += (f"; the Spot price now ({est['hourly_per_node']:g}) is above spot_max_price "
                                f"({gp.spot_max_price:g}): Azure gives this pool no nodes until it drops")
        per_pool.append(est)
    if len(per_pool) == 1:
        return per_pool[0]
    total: dict[str, Any] = {"available": all(e["available"] for e in per_pool), "label": per_pool[0]["label"],
                             "pools": per_pool,
                             "text": "; ".join(f"{e['pool']}: {e['text']}" for e in per_pool)}
    if total["available"] and len({e["currency"] for e in per_pool}) == 1:
        cur = per_pool[0]["currency"]
        for k in ("hourly_min", "hourly_max", "monthly_min", "monthly_max"):
            total[k] = round(sum(e[k] for e in per_pool), 2)
        total["currency"] = cur
        total["text"] += (f"; all GPU pools {total['hourly_min']:.2f}-{total['hourly_max']:.2f} {cur}/h, about "
                          f"{total['monthly_min']:,.0f}-{total['monthly_max']:,.0f} {cur}/month")
    return total


def read_subnet(conn: "ArmConnection", subnet_id: str) -> Any:
    """The subnet (azure-mgmt-network's Subnet), or None when it does not exist."""
    from azure.core.exceptions import ResourceNotFoundError

    parts = subnet_id.strip("/").split("/")
    rg, vnet, name = parts[3], parts[7], parts[9]
    try:
        return conn.network_for(parts[1]).subnets.get(rg, vnet, name)
    except ResourceNotFoundError:
        return None


def _subnet_read(fut: Any) -> tuple[Any, str]:
    try:
        return fut.result(), ""
    except Exception as exc:  # noqa: BLE001 - an unreadable subnet is a warning, never a crash
        log.info("subnet unreadable: %s", exc)
        return None, _reason(exc)
