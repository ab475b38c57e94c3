"""GPU node pools."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.suggester import SuggestFromList
from textual.widgets import Checkbox, DataTable, Input, Static

from screens.base import Rule, StepScreen, int_or_none
from screens.widgets import Field

from screens.steps.common import _rules, switch_row

if TYPE_CHECKING:
    from wizard.failure import AzureFailure


GPU_SIZES = ["Standard_NC4as_T4_v3", "Standard_NC24ads_A100_v4", "Standard_NC40ads_H100_v5",
             "Standard_NV36ads_A10_v5", "Standard_ND96asr_v4"]


class GpuScreen(StepScreen):
    STEP = "gpu"

    def form(self) -> ComposeResult:
        r = _rules()
        pool = self.draft.get("gpu_pool") or self.state_stash() or {}
        listed = [p for p in self.draft.get("gpu_pools") or [] if isinstance(p, dict)]
        on_ = self.draft.get("gpu_pool") is not None or not (self.draft.has("gpu_pool") or listed)
        if listed:  # several pools come from the answers file: kept as written, not asked one by one here
            yield Static(f"The answers file gives {len(listed)} GPU pools (gpu_pools: "
                         + ", ".join(f"{p.get('name', 'gpunp')} {p.get('vm_size', '?')}"
                                     + (" Spot" if p.get("priority") == "Spot" else "") for p in listed)
                         + "); they are kept as written. Edit them in the file; review checks them.",
                         id="gpu-pools-note", markup=False)
        yield from switch_row("Add a GPU node pool", on_, "gpu-on",
                              "Accelerator requirements (DRA, accelerator metrics, secure access) need GPU nodes.",
                              must="gpu_pool")
        with Vertical(id="gpu-fields"):
            with Horizontal(classes="pair"):
                yield Field("Pool name", Input(compact=True, value=pool.get("name", "gpunp"), id="gpu-name",
                                              validators=[Rule(r.check_pool_name)]), "gpu_pool.name")
                yield Field("VM size", Input(compact=True, value=pool.get("vm_size", "Standard_NC4as_T4_v3"), id="gpu-size",
                                             suggester=SuggestFromList(GPU_SIZES, case_sensitive=False),
                                             validators=[Rule(r.check_vm_size)]), "gpu_pool.vm_size")
            auto = pool.get("autoscale") or {}
            # on by default: cluster_autoscaling is a MUST; a file that sets autoscale: null keeps it off
            autoscale = bool(pool.get("autoscale")) if "autoscale" in pool else True
            yield from switch_row("Cluster autoscaler on this pool", autoscale, "gpu-autoscale",
                                  must="gpu_pool.autoscale")
            with Horizontal(classes="triple"):
                yield Field("Node count", Input(compact=True, value=str(pool.get("count", 1)), id="gpu-count",
                                                type="integer",
                                                validators=[Rule(r.check_count, 0, 1000, integer=True)]),
                            "gpu_pool.count")
                yield Field("Autoscale min", Input(compact=True, value=str(auto.get("min", 1)), id="gpu-min",
                                                   type="integer",
                                                   validators=[Rule(r.check_count, 0, 1000, integer=True)]),
                            "gpu_pool.autoscale.min")
                yield Field("Autoscale max", Input(compact=True, value=str(auto.get("max", 3)), id="gpu-max",
                                                   type="integer",
                                                   validators=[Rule(r.check_count, 0, 1000, integer=True)]),
                            "gpu_pool.autoscale.max")
            catalog: DataTable[Any] = DataTable(id="gpu-catalog", cursor_type="row", zebra_stripes=True)
            catalog.display = False  # shown when a sizing catalog is available; Enter or a click picks a size
            yield catalog
            chart = Static("", id="gpu-chart", markup=False)
            chart.display = False
            yield chart
            taints = pool.get("taints", ["sku=gpu:NoSchedule"])
            yield Field("Taints", Input(compact=True, value=", ".join(taints), id="gpu-taints", placeholder="key=value:NoSchedule, ...",
                                        validators=[Rule(self._check_taints, optional=True)]), "gpu_pool.taints")
            labels = pool.get("labels") or {}
            yield Field("Labels", Input(compact=True, value=", ".join(f"{k}={v}" for k, v in labels.items()), id="gpu-labels",
                                        placeholder="key=value, ...",
                                        validators=[Rule(self._check_labels, optional=True)]), "gpu_pool.labels")
            yield from switch_row("Managed GPU (AKS installs the driver, device plugin and DCGM exporter)",
                                  bool(pool.get("managed_gpu", False)), "gpu-managed", "Preview.")
            yield Static("", id="gpu-warning", markup=False)

    def state_stash(self) -> dict[str, Any] | None:
        return getattr(self.state, "gpu_stash", None)

    @staticmethod
    def _split(value: str) -> list[str]:
        return [p.strip() for p in value.split(",") if p.strip()]

    def _check_taints(self, value: str) -> str | None:
        for t in self._split(value):
            if msg := _rules().check_taint(t):
                return msg
        return None

    def _check_labels(self, value: str) -> str | None:
        r = _rules()
        for item in self._split(value):
            key, sep, val = item.partition("=")
            if not sep:
                return f"a label must be key=value (got {item!r})"
            if msg := r.check_label_key(key.strip()) or r.check_label_value(val.strip()):
                return msg
        return None

    def load(self) -> None:
        self._sync()
        from wizard.interactive import gpu_sizes

        self.fetch("GPU sizes", gpu_sizes, self.state.session, self.draft.get("azure.location"))

    def fetched(self, key: str, result: Any) -> None:
        if not result.rows:
            return  # no GPU size offered here: the VM size stays free text
        from wizard.preflight.gpu_models import gpu_memory_gb

        self.sizing = result
        status = {"fits": "fits quota", "quota-request": "needs quota", "unavailable": "not offered",
                  "unknown-quota": "quota ?"}
        table = self.query_one("#gpu-catalog", DataTable)
        table.clear(columns=True)
        for col in ("VM size", "GPUs", "GB/GPU", "Quota", "Max", "$/h"):
            table.add_column(col, key=col)
        for r in result.rows:
            g = r.size
            memory = gpu_memory_gb(g.name)
            table.add_row(Text(g.name.removeprefix("Standard_")), Text(f"{g.gpus}x {g.gpu_model}"),
                          Text("?" if memory is None else f"{memory:g}", justify="right"),
                          Text(status[r.status]), Text("?" if g.max_nodes is None else str(g.max_nodes),
                                                       justify="right"),
                          Text("n/a" if self.hourly(r) is None else f"{self.hourly(r):,.2f}", justify="right"),
                          key=g.name)
        note = self.state.session.prices_note if self.state.session is not None else None
        table.border_title = (f"GPU sizes in {result.location}: Enter picks one "
                              + (f"({note})" if note else "(list prices, estimate)"))
        table.display = True
        self.draw_chart()

    @staticmethod
    def hourly(row: Any) -> float | None:
        return row.price.price.hourly if row.price and row.price.price else None

    def node_range(self) -> tuple[int, int]:
        if self.query_one("#gpu-autoscale", Checkbox).value:
            lo, hi = int_or_none(self.query_one("#gpu-min", Input).value), int_or_none(
                self.query_one("#gpu-max", Input).value)
        else:
            lo = hi = int_or_none(self.query_one("#gpu-count", Input).value)
        lo = max(0, lo if lo is not None else 1)
        return lo, max(lo, hi if hi is not None else lo)

    def draw_chart(self) -> None:
        """Cost per hour at the pool's node range for each size: a bar from min (solid) to max (light) nodes,
        on one log scale so a T4 and an 8-GPU node both read."""
        import math

        sizing = getattr(self, "sizing", None)
        if sizing is None:
            return
        lo, hi = self.node_range()
        priced = [(r.size.name.removeprefix("Standard_"), self.hourly(r)) for r in sizing.rows
                  if self.hourly(r) is not None]
        chart = self.query_one("#gpu-chart", Static)
        if not priced or hi == 0:
            chart.display = False
            return
        top = math.log10(max(p * hi for _, p in priced) + 1)
        width = max(10, (self.size.width or 80) - 48)
        chosen = self.query_one("#gpu-size", Input).value.strip().removeprefix("Standard_")
        lines = [f"Cost per hour for {lo}-{hi} node(s) (list price, estimate; solid: {lo}, light: {hi})"]
        for name, price in priced:
            a = round(width * math.log10(price * lo + 1) / top) if lo else 0
            b = max(a, round(width * math.log10(price * hi + 1) / top))
            mark = ">" if name.lower() == chosen.lower() else " "
            lines.append(f"{mark}{name:<22} {'█' * a}{'░' * (b - a)}{' ' * (width - b)} "
                         f"${price * lo:,.2f}-{price * hi:,.2f}")
        chart.update("\n".join(lines))
        chart.display = True

    @on(DataTable.RowSelected, "#gpu-catalog")
    def _pick(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value:
            self.query_one("#gpu-size", Input).value = event.row_key.value
            self.draw_chart()
            self.notify(f"VM size: {event.row_key.value}", markup=False)

    @on(Input.Changed, "#gpu-count, #gpu-min, #gpu-max, #gpu-size")
    def _range_changed(self) -> None:
        self.draw_chart()

    def fetch_failed(self, key: str, failure: "AzureFailure") -> None:
        pass  # the catalog is optional

    def _sync(self) -> None:
        on_ = self.query_one("#gpu-on", Checkbox).value
        self.query_one("#gpu-fields").display = on_
        auto = self.query_one("#gpu-autoscale", Checkbox).value
        self.query_one("#f-gpu_pool-autoscale-min").display = auto
        self.query_one("#f-gpu_pool-autoscale-max").display = auto
        warn = ""
        if auto and self.query_one("#gpu-managed", Checkbox).value:
            warn = ("Note: the cluster autoscaler is not supported on managed GPU pools while managed GPU is in "
                    "preview. Turn one of them off, or use node auto-provisioning.")
        self.query_one("#gpu-warning", Static).update(warn)

    @on(Checkbox.Changed)
    def _switch(self, event: Checkbox.Changed) -> None:
        self._sync()
        self.draw_chart()

    def extra_checks(self) -> dict[str, str]:
        if not self.query_one("#gpu-on", Checkbox).value:
            return {}
        if self.query_one("#gpu-autoscale", Checkbox).value and self.query_one("#gpu-managed", Checkbox).value:
            return {"gpu_pool.managed_gpu": "the cluster autoscaler is not supported on managed GPU pools while "
                                            "in preview: turn off the autoscaler or managed GPU"}
        return {}

    def store(self) -> None:
        d = self.draft
        if not self.query_one("#gpu-on", Checkbox).value:
            current = d.get("gpu_pool")
            if current:
                self.state.gpu_stash = current  # type: ignore[attr-defined]
            d.set("gpu_pool", None)
            return
        pool: dict[str, Any] = dict(d.get("gpu_pool") or self.state_stash() or {})
        pool["name"] = self.query_one("#gpu-name", Input).value.strip()
        pool["vm_size"] = self.query_one("#gpu-size", Input).value.strip()
        for key, wid in (("count", "#gpu-count"),):
            value = int_or_none(self.query_one(wid, Input).value)
            if value is not None:
                pool[key] = value
        if self.query_one("#gpu-autoscale", Checkbox).value:
            lo = int_or_none(self.query_one("#gpu-min", Input).value)
            hi = int_or_none(self.query_one("#gpu-max", Input).value)
            if lo is not None and hi is not None:
                pool["autoscale"] = {"min": lo, "max": hi}
        else:
            pool["autoscale"] = None
        pool["taints"] = self._split(self.query_one("#gpu-taints", Input).value)
        labels = {}
        for item in self._split(self.query_one("#gpu-labels", Input).value):
            key, _, val = item.partition("=")
            labels[key.strip()] = val.strip()
        pool["labels"] = labels
        pool["managed_gpu"] = self.query_one("#gpu-managed", Checkbox).value
        d.set("gpu_pool", {k: v for k, v in pool.items() if v != ""})


