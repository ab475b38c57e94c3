"""GPU sizing: the GPU VM sizes a location offers this subscription, built from resource SKU capabilities,
with GPU model, vCPUs, memory, zones, availability, the remaining family quota and the most nodes it allows;
filtered and ranked for a GPUs-per-node and node-range request, with list-price cost at min and max nodes.

``gpu_catalog`` and ``recommend`` are pure; ``gpu_sizes`` does the reads (one resource SKU list and one usage
list, concurrently, plus prices within a deadline).
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from wizard.azure.compute import REGIONAL, Usage, VmSku
from wizard.azure.errors import QUOTA_PORTAL_URL
from wizard.preflight.gpu_models import gpu_model
from wizard.preflight.quota import most_nodes, peak_vcpus, surge_nodes

if TYPE_CHECKING:
    from wizard.azure.connection import ArmConnection
    from wizard.pricing import PriceClient, PriceResult

SKU_REQUEST_URL = "https://aka.ms/azureskunotavailable"


def quota_request_command(family: str, location: str, new_limit: int, subscription_id: str | None = None) -> str:
    scope = f"/subscriptions/{subscription_id or '<subscription-id>'}/providers/Microsoft.Compute/locations/{location}"
    return (f"az quota update --resource-name {family} --scope {scope} --limit-object value={new_limit} "
            "--resource-type dedicated")


def quota_request_text(family: str, display: str, location: str, new_limit: int,
                       subscription_id: str | None = None) -> str:
    return (f"request a quota increase for {display} in {location} to at least {new_limit} vCPUs at "
            f"{QUOTA_PORTAL_URL} (Quotas > Compute; or `{quota_request_command(family, location, new_limit, subscription_id)}`"
            " with the az quota extension)")


@dataclass
class GpuSize:
    name: str
    family: str
    gpu_model: str
    gpu_vendor: str
    gpus: int
    vcpus: int
    memory_gb: float
    zones: tuple[str, ...]
    available: bool
    restriction: str | None  # why it is not available (or which zones are closed)
    family_limit: int | None
    family_in_use: int | None
    regional_remaining: int | None

    @property
    def family_remaining(self) -> int | None:
        if self.family_limit is None or self.family_in_use is None:
            return None
        return max(0, self.family_limit - self.family_in_use)

    @property
    def room(self) -> int | None:
        """vCPUs this size can still use: the smaller of family and regional room."""
        known = [r for r in (self.family_remaining, self.regional_remaining) if r is not None]
        return min(known) if known else None

    @property
    def max_nodes(self) -> int | None:
        """Most nodes the quota allows, counting the upgrade surge (None: quota unknown)."""
        if not self.available:
            return 0
        return None if self.room is None else most_nodes(self.room, self.vcpus)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "family": self.family, "gpu_model": self.gpu_model, "gpu_vendor": self.gpu_vendor,
                "gpus": self.gpus, "vcpus": self.vcpus, "memory_gb": self.memory_gb, "zones": list(self.zones),
                "available": self.available, "restriction": self.restriction, "family_limit": self.family_limit,
                "family_in_use": self.family_in_use, "family_remaining": self.family_remaining,
                "regional_remaining": self.regional_remaining, "max_nodes": self.max_nodes}


def gpu_catalog(skus: dict[str, VmSku], usages: dict[str, Usage], reserved_regional: int = 0) -> list[GpuSize]:
    """Every size with GPUs. ``reserved_regional``: regional vCPUs other pools (the system pool) will take."""
    regional = usages.get(REGIONAL)
    regional_left = None if regional is None else max(0, regional.remaining - reserved_regional)
    out: list[GpuSize] = []
    for sku in skus.values():
        if sku.gpus <= 0:
            continue
        model = gpu_model(sku.name, sku.family)
        fam = usages.get(sku.family.lower())
        restriction = None
        loc = sku.location_restricted
        if loc is not None:
            restriction = f"not available to this subscription in {sku.location} ({loc.reason or 'restricted'})"
        elif sku.restricted_zones:
            restriction = f"zones {', '.join(sku.restricted_zones)} not available to this subscription"
        out.append(GpuSize(
            name=sku.name, family=sku.family, gpu_model=model.model if model else "unknown",
            gpu_vendor=model.vendor if model else "", gpus=sku.gpus, vcpus=sku.vcpus, memory_gb=sku.memory_gb,
            zones=sku.zones, available=sku.available, restriction=restriction,
            family_limit=fam.limit if fam else None, family_in_use=fam.current if fam else None,
            regional_remaining=regional_left,
        ))
    return sorted(out, key=lambda g: (g.gpus, g.vcpus, g.name))


@dataclass
class SizingRow:
    size: GpuSize
    min_nodes: int
    max_nodes: int
    status: str  # "fits" | "quota-request" | "unavailable" | "unknown-quota"
    vcpus_needed: int  # peak: (max + surge) x vCPUs
    new_family_limit: int | None = None
    new_regional_limit: int | None = None
    request: str = ""  # how to ask for the quota (short)
    requests: list[dict[str, Any]] = field(default_factory=list)  # quota, new_limit, command
    price: "PriceResult | None" = None
    estimate: dict[str, Any] = field(default_factory=dict)

    @property
    def fits(self) -> bool:
        return self.status == "fits"

    @property
    def needs_quota_request(self) -> bool:
        return self.status == "quota-request"

    def to_dict(self) -> dict[str, Any]:
        return {**self.size.to_dict(), "status": self.status, "min_nodes": self.min_nodes,
                "max_nodes_requested": self.max_nodes, "surge": surge_nodes(self.max_nodes),
                "vcpus_needed": self.vcpus_needed, "total_gpus_max": self.size.gpus * self.max_nodes,
                "needs_quota_request": self.needs_quota_request, "new_family_limit": self.new_family_limit,
                "new_regional_limit": self.new_regional_limit, "quota_request": self.request,
                "quota_requests": self.requests,
                "quota_portal": QUOTA_PORTAL_URL if self.needs_quota_request else None,
                "price": (self.price.price.hourly if self.price and self.price.price else None),
                "price_status": self.price.status if self.price else "not-looked-up",
                "cost": self.estimate or None}


_ORDER = {"fits": 0, "quota-request": 1, "unknown-quota": 2, "unavailable": 3}


def recommend(catalog: list[GpuSize], location: str, gpus_per_node: int | None = None, min_nodes: int = 1,
              max_nodes: int = 1, prices: dict[str, "PriceResult"] | None = None,
              subscription_id: str | None = None, regional_in_use: int | None = None,
              regional_limit: int | None = None, include_unavailable: bool = True) -> list[SizingRow]:
    """Sizes with the requested GPUs per node, ranked: fitting the quota first (cheapest first when prices are
    known), then those that need a quota request (with the limit to ask for), then unavailable ones."""
    from wizard.pricing import estimate

    rows: list[SizingRow] = []
    for g in catalog:
        if gpus_per_node is not None and g.gpus != gpus_per_node:
            continue
        need = peak_vcpus(max_nodes, g.vcpus)
        row = SizingRow(g, min_nodes, max_nodes, "fits", need)
        if not g.available:
            if not include_unavailable:
                continue
            row.status = "unavailable"
            row.request = f"not offered to this subscription here; ask for access at {SKU_REQUEST_URL} or pick another size"
        elif g.room is None:
            row.status = "unknown-quota"
        elif need > g.room:
            row.status = "quota-request"
            fam_rem = g.family_remaining
            if fam_rem is not None and need > fam_rem:
                row.new_family_limit = (g.family_in_use or 0) + need
                row.requests.append({"quota": g.family, "new_limit": row.new_family_limit,
                                     "command": quota_request_command(g.family, location, row.new_family_limit,
                                                                      subscription_id)})
            if g.regional_remaining is not None and need > g.regional_remaining and regional_limit is not None:
                row.new_regional_limit = regional_limit + (need - g.regional_remaining)
                row.requests.append({"quota": REGIONAL, "new_limit": row.new_regional_limit,
                                     "command": quota_request_command(REGIONAL, location, row.new_regional_limit,
                                                                      subscription_id)})
            row.request = "; ".join(f"{'Total Regional vCPUs' if r['quota'] == REGIONAL else r['quota']} to at "
                                    f"least {r['new_limit']} vCPUs" for r in row.requests)
        if prices is not None:
            row.price = prices.get(g.name)
            row.estimate = estimate(row.price.price if row.price else None, min_nodes, max_nodes)
        rows.append(row)

    def key(r: SizingRow) -> tuple[Any, ...]:
        hourly = r.price.price.hourly if r.price and r.price.price else float("inf")
        return (_ORDER[r.status], hourly, r.size.gpus, r.size.vcpus, r.size.name)

    return sorted(rows, key=key)


@dataclass
class SizingTable:
    location: str
    gpus_per_node: int | None
    min_nodes: int
    max_nodes: int
    rows: list[SizingRow]
    regional_in_use: int | None = None
    regional_limit: int | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        from wizard.pricing import ESTIMATE_LABEL

        return {"location": self.location, "gpus_per_node": self.gpus_per_node, "min_nodes": self.min_nodes,
                "max_nodes": self.max_nodes, "regional_in_use": self.regional_in_use,
                "regional_limit": self.regional_limit, "price_label": ESTIMATE_LABEL,
                "sizes": [r.to_dict() for r in self.rows], "notes": self.notes}

    def text(self) -> str:
        want = f"{self.gpus_per_node} GPU{'s' if self.gpus_per_node != 1 else ''} per node, " if self.gpus_per_node else ""
        nodes = f"{self.min_nodes}" if self.min_nodes == self.max_nodes else f"{self.min_nodes}-{self.max_nodes}"
        lines = [f"GPU VM sizes in {self.location} ({want}{nodes} nodes; quota counts autoscaler max + surge)"]
        if self.regional_limit is not None:
            lines.append(f"Total regional vCPUs: {self.regional_in_use} in use of {self.regional_limit}")
        if not self.rows:
            lines.append("  none" + (" with that many GPUs per node" if self.gpus_per_node else ""))
        header = (f"  {'size':<28} {'GPU':<14} {'GPUs':>4} {'vCPU':>4} {'mem GB':>6} {'zones':<7} "
                  f"{'family left':>11} {'max nodes':>9}  {'status':<15} {'price/h':>9} {'cost/h min-max':>17} "
                  f"{'cost/month min-max':>20}")
        if self.rows:
            lines.append(header)
        lines += [_row_text(r) for r in self.rows]
        lines += self._after_rows()
        lines.extend(f"note: {n}" for n in self.notes)
        return "\n".join(lines)

    def _after_rows(self) -> list[str]:
        """The quota requests to make, why sizes are unavailable, and where the prices come from."""
        from wizard.pricing import ESTIMATE_LABEL

        lines = []
        asks = [r for r in self.rows if r.needs_quota_request]
        if asks:
            lines.append(f"Quota requests (at {QUOTA_PORTAL_URL}, Quotas > Compute; or `az quota update` from the "
                         "az quota extension, shown in --output json):")
            for r in asks:
                lines.append(f"  {r.size.name}: needs {r.vcpus_needed} vCPUs at {self.max_nodes} nodes + "
                             f"{surge_nodes(self.max_nodes)} surge; raise {r.request}")
        for r in self.rows:
            if r.status == "unavailable" and r.size.restriction:
                lines.append(f"  {r.size.name}: {r.size.restriction}")
        currency = next((r.price.price.currency for r in self.rows if r.price and r.price.price), None)
        if any(r.price is not None for r in self.rows):
            reasons = sorted({r.price.reason for r in self.rows if r.price and r.price.price is None and r.price.reason})
            lines.append(f"Prices: {ESTIMATE_LABEL}" + (f"; {currency}" if currency else "")
                         + (f"; price unavailable where shown ({', '.join(reasons)})" if reasons else ""))
        return lines


_STATUS_TEXT = {"fits": "fits", "quota-request": "needs quota", "unavailable": "not available",
                "unknown-quota": "quota unknown"}


def _row_text(r: SizingRow) -> str:
    """One size's line of the table."""
    g = r.size
    left = "?" if g.family_remaining is None else str(g.family_remaining)
    maxn = "?" if g.max_nodes is None else str(g.max_nodes)
    price = r.price.price if r.price and r.price.price else None
    ph = f"{price.hourly:.3f}" if price else "n/a"
    est = r.estimate or {}
    if est.get("available"):
        ch = f"{est['hourly_min']:.2f}-{est['hourly_max']:.2f}"
        cm = f"{est['monthly_min']:,.0f}-{est['monthly_max']:,.0f}"
    else:
        ch = cm = "price unavailable" if r.price is not None else "-"
    status = _STATUS_TEXT[r.status]
    return (f"  {g.name:<28} {g.gpu_model:<14} {g.gpus:>4} {g.vcpus:>4} {g.memory_gb:>6g} "
            f"{','.join(g.zones) or '-':<7} {left:>11} {maxn:>9}  {status:<15} {ph:>9} {ch:>17} {cm:>20}")


def gpu_sizes(conn: "ArmConnection", location: str, gpus_per_node: int | None = None, min_nodes: int = 1,
              max_nodes: int | None = None, prices: "PriceClient | None" = None, price_deadline: float | None = None,
              reserved_regional: int = 0) -> SizingTable:
    """Read and rank the GPU sizes of ``location`` (the GPU pool step and `aks-ai-wizard gpu-sizes`)."""
    from wizard.azure.compute import list_usages, list_vm_skus

    max_nodes = max(min_nodes, max_nodes if max_nodes is not None else min_nodes)
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="sizing") as pool:
        f_skus = pool.submit(list_vm_skus, conn, location)
        f_usage = pool.submit(list_usages, conn, location)
        skus, usages = f_skus.result(), f_usage.result()
    catalog = gpu_catalog(skus, usages, reserved_regional)
    wanted = [g for g in catalog if gpus_per_node is None or g.gpus == gpus_per_node]
    price_map = None
    if prices is not None and wanted:
        price_map = prices.lookup(location, [g.name for g in wanted], deadline=price_deadline)
    regional = usages.get(REGIONAL)
    rows = recommend(catalog, location, gpus_per_node, min_nodes, max_nodes, price_map, conn.subscription_id,
                     regional.current if regional else None, regional.limit if regional else None)
    notes = []
    if not skus:
        notes.append(f"{location} lists no VM sizes for this subscription: check the region name "
                     "(az account list-locations -o table)")
    return SizingTable(location, gpus_per_node, min_nodes, max_nodes, rows,
                       regional.current if regional else None, regional.limit if regional else None, notes)
