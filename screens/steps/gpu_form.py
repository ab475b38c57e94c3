"""The editor of one GPU pool on the GPU step: its fields, and a pool mapping into the fields and back.

The step edits a list of pools with one editor: choosing a pool in the list reads the editor into the pool it
showed and fills it with the chosen one. A key the pool's mapping never named stays out of it while it holds the
model's default, so a pool from an answers file comes back as it was written."""
from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.suggester import SuggestFromList
from textual.widgets import Checkbox, DataTable, Input, Select, Static

from screens.base import Rule, int_or_none
from screens.steps.common import _rules, split_list, switch_row
from screens.widgets import Field

GPU_SIZES = ["Standard_NC4as_T4_v3", "Standard_NC24ads_A100_v4", "Standard_NC40ads_H100_v5",
             "Standard_NV36ads_A10_v5", "Standard_ND96asr_v4"]
DEFAULT_SIZE = "Standard_NC4as_T4_v3"
P = "gpu_pool"  # the editor's fields carry the single pool's paths; errors of gpu_pools.N land on them


def new_pool(name: str = "gpunp") -> dict[str, Any]:
    """A fresh pool: autoscaled 1-3 (cluster_autoscaling is a MUST), tainted for GPU work only."""
    return {"name": name, "vm_size": DEFAULT_SIZE, "count": 1, "autoscale": {"min": 1, "max": 3},
            "taints": ["sku=gpu:NoSchedule"], "labels": {}, "managed_gpu": False}


def free_name(pools: list[dict[str, Any]]) -> str:
    taken = {str(p.get("name")) for p in pools}
    return next(f"gpunp{i}" for i in range(2, 1000) if f"gpunp{i}" not in taken)


def check_taints(value: str) -> str | None:
    return next((m for m in map(_rules().check_taint, split_list(value)) if m), None)


def check_labels(value: str) -> str | None:
    r = _rules()
    for item in split_list(value):
        key, sep, val = item.partition("=")
        if not sep:
            return f"a label must be key=value (got {item!r})"
        msg: str | None = r.check_label_key(key.strip()) or r.check_label_value(val.strip())
        if msg:
            return msg
    return None


def parse_price(value: str) -> float | None:
    try:
        return float(value.strip())
    except ValueError:
        return None


def check_price(value: str) -> str | None:
    price = parse_price(value)
    if price is None:
        return f"expected a price in US dollars per node-hour, like 0.5, or -1 (got {value.strip()!r})"
    message: str | None = _rules().check_spot_max_price(price)
    return message


def editor() -> ComposeResult:
    """The pool's fields (values are filled by `fill`)."""
    r = _rules()
    with Horizontal(classes="pair"):
        yield Field("Pool name", Input(compact=True, id="gpu-name", validators=[Rule(r.check_pool_name)]), f"{P}.name")
        yield Field("VM size", Input(compact=True, id="gpu-size", validators=[Rule(r.check_vm_size)],
                                     suggester=SuggestFromList(GPU_SIZES, case_sensitive=False)), f"{P}.vm_size")
    yield from switch_row("Cluster autoscaler on this pool", True, "gpu-autoscale", must=f"{P}.autoscale")
    with Horizontal(classes="triple"):
        for label, wid, path in (("Node count", "gpu-count", "count"), ("Autoscale min", "gpu-min", "autoscale.min"),
                                 ("Autoscale max", "gpu-max", "autoscale.max")):
            yield Field(label, Input(compact=True, id=wid, type="integer",
                                     validators=[Rule(r.check_count, 0, 1000, integer=True)]), f"{P}.{path}")
    catalog: DataTable[Any] = DataTable(id="gpu-catalog", cursor_type="row", zebra_stripes=True)
    catalog.display = False  # shown when a sizing catalog is available; Enter or a click picks a size
    yield catalog
    chart = Static("", id="gpu-chart", markup=False)
    chart.display = False
    yield chart
    yield Field("Taints", Input(compact=True, id="gpu-taints", placeholder="key=value:NoSchedule, ...",
                                validators=[Rule(check_taints, optional=True)]), f"{P}.taints")
    yield Field("Labels", Input(compact=True, id="gpu-labels", placeholder="key=value, ...",
                                validators=[Rule(check_labels, optional=True)]), f"{P}.labels")
    yield from switch_row("Spot VMs (spare capacity at a discount; Azure may evict them at any time)", False,
                          "gpu-spot", "Counted against the low-priority vCPU quota; AKS taints Spot nodes.")
    with Vertical(id="spot-fields"):
        with Horizontal(classes="pair"):
            yield Field("Eviction policy", Select([(Content("Delete: evicted nodes are deleted"), "Delete"),
                                                   (Content("Deallocate: kept stopped (disks billed)"), "Deallocate")],
                                                  value="Delete", allow_blank=False, id="gpu-eviction", compact=True),
                        f"{P}.eviction_policy")
            yield Field("Max price ($/node-hour)", Input(compact=True, id="gpu-max-price",
                                                         validators=[Rule(check_price)]), f"{P}.spot_max_price",
                        "-1: up to the on-demand price.")
    yield from switch_row("Managed GPU (AKS installs the driver, device plugin and DCGM exporter)", False,
                          "gpu-managed", "Preview.")
    yield Static("", id="gpu-warning", markup=False)


def fill(screen: Any, pool: dict[str, Any]) -> None:
    """Show a pool in the editor."""
    q = screen.query_one
    auto = pool.get("autoscale") or {}
    values = {"#gpu-name": pool.get("name", "gpunp"), "#gpu-size": pool.get("vm_size", DEFAULT_SIZE),
              "#gpu-count": str(pool.get("count", 1)), "#gpu-min": str(auto.get("min", 1)),
              "#gpu-max": str(auto.get("max", 3)), "#gpu-taints": ", ".join(pool.get("taints", ["sku=gpu:NoSchedule"])),
              "#gpu-labels": ", ".join(f"{k}={v}" for k, v in (pool.get("labels") or {}).items()),
              "#gpu-max-price": str(pool.get("spot_max_price", -1))}
    for wid, value in values.items():
        q(wid, Input).value = value
    # on by default: cluster_autoscaling is a MUST; a file that sets autoscale: null keeps it off
    q("#gpu-autoscale", Checkbox).value = bool(pool.get("autoscale")) if "autoscale" in pool else True
    q("#gpu-spot", Checkbox).value = pool.get("priority") == "Spot"
    q("#gpu-eviction", Select).value = pool.get("eviction_policy") or "Delete"
    q("#gpu-managed", Checkbox).value = bool(pool.get("managed_gpu", False))


def _put(pool: dict[str, Any], key: str, value: Any) -> None:
    """Set a pool's key when it is worth writing (wizard.interactive.worth_writing), as set_answer does."""
    from wizard.interactive import worth_writing

    if worth_writing(f"{P}.{key}", value, key in pool):
        pool[key] = value


def read(screen: Any, base: dict[str, Any]) -> dict[str, Any]:
    """The editor as a pool mapping, on top of `base` (the pool it showed: keys the editor has no field for,
    like zones, are kept)."""
    q = screen.query_one
    pool = dict(base)
    for key, wid in (("name", "#gpu-name"), ("vm_size", "#gpu-size")):
        value = q(wid, Input).value.strip()
        if value:
            pool[key] = value
    count = int_or_none(q("#gpu-count", Input).value)
    if count is not None:
        _put(pool, "count", count)
    if q("#gpu-autoscale", Checkbox).value:
        lo, hi = int_or_none(q("#gpu-min", Input).value), int_or_none(q("#gpu-max", Input).value)
        if lo is not None and hi is not None:
            pool["autoscale"] = {"min": lo, "max": hi}
    else:
        _put(pool, "autoscale", None)
    _put(pool, "taints", split_list(q("#gpu-taints", Input).value))
    labels = dict(item.partition("=")[::2] for item in split_list(q("#gpu-labels", Input).value))
    _put(pool, "labels", {k.strip(): v.strip() for k, v in labels.items()})
    _put(pool, "managed_gpu", q("#gpu-managed", Checkbox).value)
    spot = q("#gpu-spot", Checkbox).value
    _put(pool, "priority", "Spot" if spot else "Regular")
    if not spot:  # the model refuses these on a Regular pool
        pool.pop("eviction_policy", None)
        pool.pop("spot_max_price", None)
        return pool
    pool["eviction_policy"] = q("#gpu-eviction", Select).value
    price = parse_price(q("#gpu-max-price", Input).value)
    if price is not None:
        old = parse_price(str(pool.get("spot_max_price", "")))
        if old != price:  # as written when unchanged (the loader keeps `0.50` as text)
            _put(pool, "spot_max_price", int(price) if price.is_integer() else price)
    return pool


def node_range(pool: dict[str, Any]) -> tuple[int, int]:
    """Fewest and most nodes of a pool (autoscale bounds, or its fixed count)."""
    auto = pool.get("autoscale")
    if isinstance(auto, dict):
        lo, hi = auto.get("min"), auto.get("max")
    else:
        lo = hi = pool.get("count", 1)
    lo = max(0, lo if isinstance(lo, int) else 1)
    return lo, max(lo, hi if isinstance(hi, int) else lo)


def summary(pool: dict[str, Any]) -> tuple[str, str, str, str]:
    """A pool as a row of the pool list: name, VM size, nodes, priority."""
    lo, hi = node_range(pool)
    nodes = f"{lo}-{hi} (autoscaled)" if isinstance(pool.get("autoscale"), dict) else f"{hi} (fixed)"
    priority = "Spot" if pool.get("priority") == "Spot" else "Regular"
    return (str(pool.get("name", "")), str(pool.get("vm_size", "")).removeprefix("Standard_"), nodes, priority)
