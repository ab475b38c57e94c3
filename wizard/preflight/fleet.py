"""Preflight of a whole fleet, before any write: one read of VM sizes and usage per location, each member's
checklist (versions, mesh, SKU and zone availability in its location, names against what exists, flags), then
what only the fleet as a whole can say: vCPU quota summed over every member per family and region (autoscaler
max plus surge for each), derived names that collide between members, and the total list price per hour at
minimum and maximum size. One failed item stops the whole fleet.
"""
from __future__ import annotations

import textwrap
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from wizard.preflight.checks import Reads, demands, evaluate, pool_intents, quota_lines
from wizard.preflight.quota import PoolDemand, QuotaLine
from wizard.preflight.report import MARK, CheckResult, PreflightReport

if TYPE_CHECKING:
    from wizard.azure.connection import ArmConnection
    from wizard.plan_model import Plan
    from wizard.pricing import PriceClient


@dataclass
class FleetPreflight:
    members: list[tuple[str, PreflightReport]]  # (cluster name, its own checklist without quota)
    items: list[CheckResult] = field(default_factory=list)  # what holds for the fleet as a whole

    @property
    def ok(self) -> bool:
        return not any(i.failed for i in self.items) and all(r.ok for _, r in self.members)

    def failures(self) -> list[tuple[str | None, CheckResult]]:
        return ([(None, i) for i in self.items if i.failed] +
                [(name, i) for name, r in self.members for i in r.failures])

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "items": [i.to_dict() for i in self.items],
                "members": [{"cluster": name, **r.to_dict()} for name, r in self.members]}

    def text(self, width: int = 100) -> str:
        lines = [f"Fleet preflight: {len(self.members)} members (reads only; nothing was written)"]
        indent = " " * 9
        for i in self.items:
            lines.append(f"  {MARK[i.status]} {i.title}")
            for part, prefix in ((i.detail, ""), (i.fix if i.status in ("fail", "warn") else "", "fix: ")):
                if part:
                    lines.extend(textwrap.wrap(prefix + part, width, initial_indent=indent, subsequent_indent=indent,
                                               break_on_hyphens=False, break_long_words=False))
        # an item that reads the same for several members (a subscription-wide flag) is shown once, with them
        said: dict[tuple[str, str, str, str], list[str]] = {}
        for name, r in self.members:
            for i in r.items:
                if i.status in ("fail", "warn"):
                    said.setdefault((i.status, i.title, i.detail, i.fix), []).append(name)
        for name, r in self.members:
            c = r.counts()
            lines.append(f"  {name} ({r.location}): {c['pass']} passed, {c['fail']} failed, {c['warn']} warnings")
        for (status, title, detail, fix), names in said.items():
            who = f"all {len(self.members)} members" if len(names) == len(self.members) else ", ".join(names)
            lines.append(f"  {MARK[status]} {title} ({who})")
            lines.extend(textwrap.wrap((detail + (" fix: " + fix if fix else "")).strip(), width,
                                       initial_indent=indent, subsequent_indent=indent,
                                       break_on_hyphens=False, break_long_words=False))
        verdict = ("ready to apply" if self.ok else
                   f"{len(self.failures())} failed item(s): the whole fleet stops before any write")
        lines.append(f"Fleet: {verdict}")
        return "\n".join(lines)


def _reads(conn: "ArmConnection", locations: list[str]) -> dict[str, Reads]:
    from wizard.azure.compute import list_usages, list_vm_skus
    from wizard.preflight.run import _reason

    def read(loc: str) -> Reads:
        r = Reads(None, None, extra_flag_states={})
        try:
            r.skus = list_vm_skus(conn, loc)
        except Exception as exc:  # noqa: BLE001 - a read that fails makes its items "warn"
            r.skus_error = _reason(exc)
        try:
            r.usages = list_usages(conn, loc)
        except Exception as exc:  # noqa: BLE001
            r.usages_error = _reason(exc)
        return r

    with ThreadPoolExecutor(max_workers=max(1, min(8, len(locations))), thread_name_prefix="fleet-preflight") as pool:
        return dict(zip(locations, pool.map(read, locations)))


def _grouped(pools: list[PoolDemand]) -> str:
    """Identical members' pools once, with how many: 'N x (...) = each; ...'."""
    counts = Counter((p.label.split(": ", 1)[1], p.vm_size, p.nodes, p.nodes_source, p.surge, p.vcpus_per_node,
                      p.needed) for p in pools)
    parts = []
    for (label, size, nodes, source, surge, vcpus, needed), n in counts.items():
        at = "" if source == "count" else f" at {source}"
        parts.append(f"{n} x {label} ({size}): ({nodes} nodes{at} + {surge} surge) x {vcpus} vCPUs = {needed}"
                     + (f" each = {n * needed}" if n > 1 else ""))
    return "; ".join(parts)


def _members(n: int) -> str:
    return f"{n} member{'s' if n != 1 else ''}"


def _members_that_fit(line: QuotaLine, order: list[str]) -> int:
    """How many members (in order) fit in what the line has left."""
    if line.remaining is None:
        return len(order)
    used, fit = 0, 0
    for name in order:
        need = sum(p.needed for p in line.pools if p.label.startswith(name + ": "))
        if used + need > line.remaining:
            break
        used, fit = used + need, fit + 1
    return fit


def quota_items(plans: list["Plan"], reads: dict[str, Reads], subscription_id: str | None) -> list[CheckResult]:
    from wizard.preflight.sizing import quota_request_text

    out = []
    for loc, r in reads.items():
        here = [pl for pl in plans if pl.answers.azure.location == loc]
        if r.skus is None or r.usages is None:
            out.append(CheckResult(f"fleet-quota:{loc}", f"vCPU quota of the fleet in {loc}", "warn",
                                   f"Not computed: {r.skus_error or r.usages_error}",
                                   f"check it yourself: az vm list-usage -l {loc} -o table"))
            continue
        pd: list[PoolDemand] = []
        for pl in here:
            for d in demands(pool_intents(pl.answers, pl), r.skus):
                d.label = f"{pl.answers.cluster.name}: {d.label}"
                pd.append(d)
        if not pd:
            continue
        names = [pl.answers.cluster.name for pl in here]
        lines = quota_lines(pd, r.usages)
        for line in lines:
            regional = line is lines[-1]
            qid = f"fleet-quota:{loc}:{'regional' if regional else line.name}"
            title = (f"vCPU quota of the fleet: total regional in {loc}" if regional
                     else f"vCPU quota of the fleet: {line.name} in {loc}")
            detail = f"{_members(len(here))}: {_grouped(line.pools)}. Needed {line.needed}"
            data = line.to_dict() | {"members": len(here)}
            if line.fits is None:
                out.append(CheckResult(qid, title, "warn", detail + "; Azure reported no quota for it.",
                                       quota_request_text(line.name, line.display, loc, line.needed, subscription_id),
                                       data=data))
                continue
            assert line.remaining is not None  # Azure reported the limit (fits is None otherwise)
            detail += f"; in use {line.in_use} of limit {line.limit}, {line.remaining} left: "
            if line.fits:
                out.append(CheckResult(qid, title, "pass", detail + f"fits ({line.remaining - line.needed} to spare).",
                                       data=data))
                continue
            fit = _members_that_fit(line, names)
            out.append(CheckResult(
                qid, title, "fail", detail + f"short by {line.needed - line.remaining}; {fit} of the {len(here)} "
                f"members in {loc} fit.", quota_request_text(line.name, line.display, loc, line.new_limit,
                                                             subscription_id) +
                f"; or place at most {fit} members in {loc}: lower fleet.count, or move members to other locations "
                "(fleet.members[].location)", "fleet.count", data | {"members_that_fit": fit}))
    return out


def names_item(plans: list["Plan"]) -> CheckResult:
    """Names the wizard derives per member (data collection endpoint, rule and association: cut to Azure's
    lengths, so long cluster names can meet) must differ within a resource group."""
    from wizard.addons.monitor_steps import plan_monitor_names

    seen: dict[tuple[str, str, str], str] = {}
    clashes = []
    for pl in plans:
        a = pl.answers
        if not a.cluster.addons.managed_prometheus:
            continue
        n = plan_monitor_names(pl)
        for kind, name in (("data collection endpoint", n.dce_name), ("data collection rule", n.dcr_name)):
            key = (a.resource_group.name.lower(), kind, name.lower())
            if key in seen and seen[key] != a.cluster.name:
                clashes.append(f"{seen[key]} and {a.cluster.name} would share the {kind} {name} in "
                               f"{a.resource_group.name}")
            seen.setdefault(key, a.cluster.name)
    if clashes:
        return CheckResult("fleet-names", "names derived for each member differ", "fail", "; ".join(clashes) + ".",
                           "shorten fleet.cluster_name so the names differ within the first characters, or use "
                           "fleet.resource_group: per_cluster", "fleet.cluster_name")
    return CheckResult("fleet-names", "names derived for each member differ", "pass",
                       f"cluster, resource group and managed Prometheus names of {len(plans)} members are distinct.")


def cost_item(plans: list["Plan"], prices: "PriceClient | None", deadline: float | None) -> CheckResult | None:
    from wizard.pricing import estimate

    pools = [(pl.answers.azure.location, pl.answers.gpu_pool) for pl in plans if pl.answers.gpu_pool is not None]
    if prices is None or not pools:
        return None
    wanted: dict[str, set[str]] = {}
    for loc, gp in pools:
        wanted.setdefault(loc, set()).add(gp.vm_size)
    found = {loc: prices.lookup(loc, sorted(sizes), deadline) for loc, sizes in wanted.items()}
    lo = hi = 0.0
    parts: Counter[tuple[str, str, int, int, float]] = Counter()
    missing, currency = [], ""
    for loc, gp in pools:
        res = found[loc].get(gp.vm_size)
        nodes = (gp.autoscale.min, gp.autoscale.max) if gp.autoscale else (gp.count, gp.count)
        est = estimate(res.price if res is not None else None, *nodes)
        if not est["available"]:
            missing.append(f"{gp.vm_size} in {loc}")
            continue
        currency = est["currency"]
        lo, hi = lo + est["hourly_min"], hi + est["hourly_max"]
        parts[(gp.vm_size, loc, nodes[0], nodes[1], est["hourly_per_node"])] += 1
    detail = "; ".join(f"{n} x {lo_n}-{hi_n} nodes of {size} in {loc} at {per:.4f} {currency}/h"
                       for (size, loc, lo_n, hi_n, per), n in parts.items())
    detail += f" = {lo:.2f}-{hi:.2f} {currency}/h for the GPU pools of the fleet (list prices, before discounts)"
    if missing:
        detail += "; price unavailable for " + ", ".join(sorted(set(missing))) + " (not counted)"
    return CheckResult("fleet-cost", "list-price estimate of the fleet per hour at minimum and maximum size",
                       "pass" if not missing else "warn", detail + ".",
                       data={"hourly_min": round(lo, 2), "hourly_max": round(hi, 2), "currency": currency,
                             "unpriced": sorted(set(missing))})


def run_fleet_preflight(conn: "ArmConnection", plans: list["Plan"], prices: "PriceClient | None" = None,
                        price_deadline: float | None = None) -> FleetPreflight:
    """Reads only. Each member's checklist uses the reads of its location; quota is counted for the fleet."""
    from wizard.azure.features import feature_state
    from wizard.preflight.run import _unread_flags

    locations = list(dict.fromkeys(pl.answers.azure.location for pl in plans))
    reads = _reads(conn, locations)
    states = {}
    for flag in _unread_flags(plans[0].answers, plans[0]):  # preview flags are per subscription: read once
        try:
            states[flag] = feature_state(conn, flag)
        except Exception:  # noqa: BLE001
            states[flag] = "Unknown"
    members = []
    for pl in plans:
        r = reads[pl.answers.azure.location]
        report = evaluate(pl.answers, pl, Reads(r.skus, r.usages, r.skus_error, r.usages_error, states),
                          conn.subscription_id)
        report.items = [i for i in report.items if not (i.id == "quota" or i.id.startswith("quota:"))]
        members.append((pl.answers.cluster.name, report))
    out = FleetPreflight(members)
    out.items += quota_items(plans, reads, conn.subscription_id)
    out.items.append(names_item(plans))
    if (cost := cost_item(plans, prices, price_deadline)) is not None:
        out.items.append(cost)
    return out
