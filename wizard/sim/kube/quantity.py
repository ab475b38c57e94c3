"""Kubernetes resource.Quantity parsing (enough for cpu, memory and extended resources)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from functools import lru_cache

_BIN = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DEC = {"n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": Decimal(1), "k": Decimal(10**3),
        "M": Decimal(10**6), "G": Decimal(10**9), "T": Decimal(10**12), "P": Decimal(10**15), "E": Decimal(10**18)}


def parse(q) -> Decimal:
    if q is None:
        return Decimal(0)
    if isinstance(q, (int, float)):
        return Decimal(str(q))
    return _parse_text(str(q))


@lru_cache(maxsize=4096)
def _parse_text(text: str) -> Decimal:
    """Quantities are few distinct strings parsed millions of times on a busy cluster (the scheduler): cached
    (Decimal is immutable, so sharing the value is safe)."""
    s = text.strip()
    for suffix, mult in _BIN.items():
        if s.endswith(suffix):
            return Decimal(s[: -len(suffix)]) * mult
    try:
        if s and s[-1] in _DEC and not s[-1].isdigit():
            return Decimal(s[:-1]) * _DEC[s[-1]]
        return Decimal(s)
    except InvalidOperation:
        return Decimal(0)


def pod_requests(pod: dict) -> dict[str, Decimal]:
    """Effective requests of a pod: sum over containers (limits stand in for missing requests), max with init."""
    total: dict[str, Decimal] = {}
    spec = pod.get("spec", {})
    for c in spec.get("containers", []) or []:
        res = c.get("resources") or {}
        merged = dict(res.get("limits") or {})
        merged.update(res.get("requests") or {})
        for k, v in merged.items():
            total[k] = total.get(k, Decimal(0)) + parse(v)
    for c in spec.get("initContainers", []) or []:
        res = c.get("resources") or {}
        merged = dict(res.get("limits") or {})
        merged.update(res.get("requests") or {})
        for k, v in merged.items():
            total[k] = max(total.get(k, Decimal(0)), parse(v))
    return total


def container_gpus(container: dict, resource: str = "nvidia.com/gpu") -> int:
    res = container.get("resources") or {}
    v = (res.get("limits") or {}).get(resource, (res.get("requests") or {}).get(resource))
    return int(parse(v)) if v is not None else 0
