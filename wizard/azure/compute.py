"""What Compute says about a location: VM sizes (resource SKUs, with restrictions) and vCPU quota (usage).

Thin adapters over ``ComputeManagementClient``: one call each, results as plain frozen dataclasses so the
preflight and the GPU sizing code stay pure functions of them (../shared/arm/README.md section 1).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wizard.azure.connection import ArmConnection

REGIONAL = "cores"  # usage name of the total regional vCPU quota
LOW_PRIORITY = "lowPriorityCores"  # usage name of the regional quota Spot VMs count against (not their family's)


@dataclass(frozen=True)
class Restriction:
    type: str  # "Location" | "Zone"
    reason: str  # "NotAvailableForSubscription" | "QuotaId" | ...
    zones: tuple[str, ...] = ()  # for a Zone restriction: the zones it closes


@dataclass(frozen=True)
class VmSku:
    """One virtualMachines resource SKU as offered in one location to this subscription."""

    name: str  # Standard_NC6s_v3
    family: str  # standardNCSv3Family (the usage/quota name)
    location: str
    vcpus: int
    memory_gb: float
    gpus: int
    location_zones: tuple[str, ...] = ()  # zones the location has for this size (before restrictions)
    restrictions: tuple[Restriction, ...] = ()
    capabilities: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def location_restricted(self) -> Restriction | None:
        return next((r for r in self.restrictions if r.type.lower() == "location"), None)

    @property
    def restricted_zones(self) -> tuple[str, ...]:
        out: list[str] = []
        for r in self.restrictions:
            if r.type.lower() == "zone":
                out.extend(z for z in r.zones if z not in out)
        return tuple(sorted(out))

    @property
    def zones(self) -> tuple[str, ...]:
        """Zones this subscription can deploy the size to (location zones minus zone restrictions)."""
        if self.location_restricted:
            return ()
        closed = set(self.restricted_zones)
        return tuple(z for z in self.location_zones if z not in closed)

    @property
    def available(self) -> bool:
        return self.location_restricted is None


@dataclass(frozen=True)
class Usage:
    name: str  # "cores" or a family name such as standardNCSv3Family
    display: str
    current: int
    limit: int

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.current)


def _enum(value: Any) -> str:
    return str(getattr(value, "value", value) or "")


def _num(value: str | None, kind: type = int) -> Any:
    try:
        return kind(float(value)) if kind is int else kind(value)  # type: ignore[arg-type] # None: the except
    except (TypeError, ValueError):
        return kind(0)


def sku_from_model(sku: Any, location: str) -> VmSku:
    caps = {c.name: c.value for c in sku.capabilities or [] if c.name}
    zones: list[str] = []
    for li in sku.location_info or []:
        if (li.location or "").lower() == location.lower():
            zones.extend(z for z in li.zones or [] if z not in zones)
    restrictions = []
    for r in sku.restrictions or []:
        info = r.restriction_info
        rzones = tuple(info.zones or ()) if info is not None else ()
        restrictions.append(Restriction(_enum(r.type), _enum(r.reason_code), rzones))
    return VmSku(
        name=sku.name or "",
        family=sku.family or "",
        location=location,
        vcpus=_num(caps.get("vCPUs")),
        memory_gb=_num(caps.get("MemoryGB"), float),
        gpus=_num(caps.get("GPUs")),
        location_zones=tuple(sorted(zones)),
        restrictions=tuple(restrictions),
        capabilities=caps,
    )


def list_vm_skus(conn: "ArmConnection", location: str) -> dict[str, VmSku]:
    """Every virtualMachines size of ``location``, keyed by lower-case name. One paged call."""
    out: dict[str, VmSku] = {}
    for sku in conn.compute.resource_skus.list(filter=f"location eq '{location}'"):
        if (sku.resource_type or "").lower() != "virtualmachines" or not sku.name:
            continue
        out[sku.name.lower()] = sku_from_model(sku, location)
    return out


def list_usages(conn: "ArmConnection", location: str) -> dict[str, Usage]:
    """vCPU quota and use of ``location``, keyed by lower-case usage name (``cores``, family names)."""
    out: dict[str, Usage] = {}
    for u in conn.compute.usage.list(location):
        name = (u.name.value if u.name else None) or ""
        if not name:
            continue
        display = (u.name.localized_value if u.name else None) or name
        out[name.lower()] = Usage(name, display, int(u.current_value or 0), int(u.limit or 0))
    return out
