"""GPU node pools as a list (add, remove, edit each: size from the live sizing table, node range with
scale to zero, taints, labels, Spot priority, eviction policy and max price), with the cost per pool and quota.

One pool is saved as `gpu_pool` (as before); several, or a file that lists them, as `gpu_pools`."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Checkbox, DataTable, Input, Select, Static

from screens.base import StepScreen
from screens.steps import gpu_form
from screens.steps.common import switch_row
from wizard.gpu_rules import NO_AUTOSCALER, managed_gpu_conflict

if TYPE_CHECKING:
    from wizard.failure import AzureFailure

STATUS = {"fits": "fits quota", "quota-request": "needs quota", "unavailable": "not offered", "unknown-quota": "quota ?"}


class GpuScreen(StepScreen):
    STEP = "gpu"

    def form(self) -> ComposeResult:
        d = self.draft
        single, in_file = d.get("gpu_pool"), d.get("gpu_pools")
        # switched off earlier in this session: the pools as they were, every one of them
        shown = {"gpu_pool": single, "gpu_pools": in_file} if single or in_file else self.state.gpu_stash or {}
        listed = [dict(p) for p in shown.get("gpu_pools") or [] if isinstance(p, dict)]
        self.listed = bool(listed)  # the file lists its pools: they stay a list, whatever their number
        self.pools: list[dict[str, Any]] = listed or [dict(shown.get("gpu_pool") or gpu_form.new_pool())]
        self.current = 0
        self.keys = [f"pool-{i}" for i in range(len(self.pools))]
        self.spot: dict[str, float] = {}
        on_ = bool(in_file) or single is not None or not d.has("gpu_pool")
        yield from switch_row("Add GPU node pools", on_, "gpu-on",
                              "Accelerator requirements (DRA, accelerator metrics, secure access) need GPU nodes.",
                              must="gpu_pool")
        with Vertical(id="gpu-fields"):
            pools: DataTable[Any] = DataTable(id="gpu-pools", cursor_type="row", zebra_stripes=True)
            pools.border_title = "GPU pools: the highlighted one is edited below"
            yield pools
            with Horizontal(classes="actions"):
                yield Button("Add pool", id="pool-add", compact=True)
                yield Button("Remove pool", id="pool-remove", compact=True)
            yield Static("", id="gpu-costs", markup=False)
            yield from gpu_form.editor()

    def on_mount(self) -> None:
        table = self.query_one("#gpu-pools", DataTable)
        for col in ("Pool", "VM size", "Nodes", "Priority"):
            table.add_column(col, key=col)
        for key, pool in zip(self.keys, self.pools):
            table.add_row(*map(Text, gpu_form.summary(pool)), key=key)
        gpu_form.fill(self, self.pools[0])
        super().on_mount()

    def load(self) -> None:
        self._sync()
        from wizard.interactive import gpu_sizes_and_spot_prices

        self.fetch("GPU sizes", gpu_sizes_and_spot_prices, self.state.session, self.draft.get("azure.location"))

    # ------------------------------------------------------------------------------------------ the pool list
    def _edited(self) -> dict[str, Any]:
        """The highlighted pool with the editor's values (also kept in the list)."""
        self.pools[self.current] = gpu_form.read(self, self.pools[self.current])
        return self.pools[self.current]

    def _refresh_row(self) -> None:
        table = self.query_one("#gpu-pools", DataTable)
        key = self.keys[self.current]
        if key in table.rows:
            for col, value in zip(("Pool", "VM size", "Nodes", "Priority"), gpu_form.summary(self._edited())):
                table.update_cell(key, col, Text(value))

    @on(DataTable.RowHighlighted, "#gpu-pools")
    def _pool_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        key = event.row_key.value
        if key not in self.keys or self.keys.index(key) == self.current:
            return
        self._edited()
        self.current = self.keys.index(key)
        with self.prevent(Input.Changed, Checkbox.Changed):
            gpu_form.fill(self, self.pools[self.current])
        for f in self.query(".field"):
            f.set_error(None)  # type: ignore[attr-defined]
        self._sync()
        self.draw_chart()

    @on(DataTable.RowSelected, "#gpu-pools")
    def _pool_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()  # Enter on the list edits the pool; it is not Next
        self.query_one("#gpu-name", Input).focus()

    @on(Button.Pressed, "#pool-add")
    def _add(self, event: Button.Pressed) -> None:
        event.stop()
        self._edited()
        self.pools.append(gpu_form.new_pool(gpu_form.free_name(self.pools)))
        self.keys.append(f"pool-{max(int(k.split('-')[1]) for k in self.keys) + 1}")
        table = self.query_one("#gpu-pools", DataTable)
        table.add_row(*map(Text, gpu_form.summary(self.pools[-1])), key=self.keys[-1])
        table.move_cursor(row=len(self.pools) - 1)  # highlighting it puts it in the editor
        self.set_status(f"Pool {self.pools[-1]['name']} added: edit it below.")

    @on(Button.Pressed, "#pool-remove")
    def _remove(self, event: Button.Pressed) -> None:
        event.stop()
        if len(self.pools) < 2:
            self.set_status("The last pool stays: switch GPU node pools off to have none.")
            return
        name = self.pools[self.current].get("name")
        table = self.query_one("#gpu-pools", DataTable)
        table.remove_row(self.keys[self.current])
        del self.pools[self.current], self.keys[self.current]
        self.current = min(self.current, len(self.pools) - 1)
        with self.prevent(Input.Changed, Checkbox.Changed):
            gpu_form.fill(self, self.pools[self.current])
        table.move_cursor(row=self.current)
        self._sync()
        self.draw_chart()
        self.set_status(f"Pool {name} removed.")

    # ------------------------------------------------------------------------------------------ sizes and cost
    def fetched(self, key: str, result: Any) -> None:
        sizing, self.spot = result
        if not sizing.rows:
            return  # no GPU size offered here: the VM size stays free text
        self.sizing = sizing
        self._fill_catalog()

    def _fill_catalog(self) -> None:
        from wizard.preflight.gpu_models import gpu_memory_gb

        result = self.sizing
        table = self.query_one("#gpu-catalog", DataTable)
        table.clear(columns=True)
        for col in ("VM size", "GPUs", "GB/GPU", "Quota", "Max", "$/h", "Spot $/h"):
            table.add_column(col, key=col)
        for r in result.rows:
            g, memory, hourly, spot = r.size, gpu_memory_gb(r.size.name), self.hourly(r), self.spot.get(r.size.name)
            table.add_row(Text(g.name.removeprefix("Standard_")), Text(f"{g.gpus}x {g.gpu_model}"),
                          Text("?" if memory is None else f"{memory:g}", justify="right"), Text(STATUS[r.status]),
                          Text("?" if g.max_nodes is None else str(g.max_nodes), justify="right"),
                          Text("n/a" if hourly is None else f"{hourly:,.2f}", justify="right"),
                          Text("-" if spot is None else f"{spot:,.2f}", justify="right"), key=g.name)
        note = self.state.session.prices_note if self.state.session is not None else None
        table.border_title = (f"GPU sizes in {result.location}: Enter picks one "
                              + (f"({note})" if note else "(list prices, estimate)"))
        table.display = True
        self.draw_chart()

    @staticmethod
    def hourly(row: Any) -> float | None:
        return row.price.price.hourly if row.price and row.price.price else None

    def row_of(self, size: str) -> Any:
        sizing = getattr(self, "sizing", None)
        return next((r for r in sizing.rows if r.size.name.lower() == size.lower()), None) if sizing else None

    def price_of(self, size: str, spot: bool) -> float | None:
        """Hourly list price of a size: its Spot price for a Spot pool where the Retail Prices API offers one."""
        found = {k.lower(): v for k, v in self.spot.items()}.get(size.lower()) if spot else None
        row = self.row_of(size)
        return found if found is not None else (self.hourly(row) if row is not None else None)

    def cost_lines(self) -> list[str]:
        """Each pool's cost at its node range and its quota, then the sum."""
        lines, low, high = [], 0.0, 0.0
        for pool in self.pools:
            lo, hi = gpu_form.node_range(pool)
            spot = pool.get("priority") == "Spot"
            price = self.price_of(str(pool.get("vm_size", "")), spot)
            row = self.row_of(str(pool.get("vm_size", "")))
            cost = "price n/a" if price is None else f"${price * lo:,.2f}-{price * hi:,.2f}/h"
            if spot and price is not None and str(pool.get("vm_size", "")).lower() in {k.lower() for k in self.spot}:
                cost += " at the Spot price"
            if spot:
                quota = "Spot: low-priority vCPU quota (review checks it)"
            elif row is None or row.size.max_nodes is None:
                quota = "quota ?"
            else:
                quota = f"quota for {row.size.max_nodes} node(s)" + ("" if row.size.max_nodes >= hi else ": too few")
            lines.append(f"{pool.get('name')}: {lo}-{hi} x {str(pool.get('vm_size')).removeprefix('Standard_')}"
                         f"{' Spot' if spot else ''}, {cost}, {quota}")
            low, high = low + (price or 0) * lo, high + (price or 0) * hi
        if len(self.pools) > 1:
            lines.append(f"All pools: ${low:,.2f}-{high:,.2f}/h (list prices, estimate)")
        return lines

    def draw_chart(self) -> None:
        """Cost per hour at the edited pool's node range for each size: a bar from min (solid) to max (light)
        nodes, on one log scale so a T4 and an 8-GPU node both read; Spot prices for a Spot pool where offered."""
        sizing = getattr(self, "sizing", None)
        if sizing is None:
            return
        self.query_one("#gpu-costs", Static).update("\n".join(self.cost_lines()))
        pool = self.pools[self.current]
        lo, hi = gpu_form.node_range(pool)
        spot = pool.get("priority") == "Spot"
        priced = [(r.size.name.removeprefix("Standard_"), p) for r in sizing.rows
                  if (p := self.price_of(r.size.name, spot)) is not None]
        chart = self.query_one("#gpu-chart", Static)
        if not priced or hi == 0:
            chart.display = False
            return
        top = math.log10(max(p * hi for _, p in priced) + 1)
        width = max(10, (self.size.width or 80) - 48)
        chosen = str(pool.get("vm_size", "")).removeprefix("Standard_")
        kind = "Spot price where offered" if spot else "list price"
        lines = [f"Cost per hour for {lo}-{hi} node(s) ({kind}, estimate; solid: {lo}, light: {hi})"]
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
            self.notify(f"VM size: {event.row_key.value}", markup=False)

    @on(Input.Changed, "#gpu-name, #gpu-size, #gpu-count, #gpu-min, #gpu-max, #gpu-taints, #gpu-labels, "
                       "#gpu-max-price")
    def _editor_changed(self) -> None:
        self._refresh_row()
        self.draw_chart()

    def fetch_failed(self, key: str, failure: "AzureFailure") -> None:
        pass  # the catalog and the Spot prices are optional

    # ------------------------------------------------------------------------------------------ switches
    def _sync(self) -> None:
        on_ = self.query_one("#gpu-on", Checkbox).value
        self.query_one("#gpu-fields").display = on_
        auto = self.query_one("#gpu-autoscale", Checkbox).value
        self.query_one("#f-gpu_pool-autoscale-min").display = auto
        self.query_one("#f-gpu_pool-autoscale-max").display = auto
        self.query_one("#spot-fields").display = self.query_one("#gpu-spot", Checkbox).value
        self.query_one("#pool-remove", Button).disabled = len(self.pools) < 2
        warn = ""
        if managed_gpu_conflict(self.query_one("#gpu-managed", Checkbox).value, auto):
            warn = f"Note: {NO_AUTOSCALER}. Turn one of them off, or use node auto-provisioning."
        self.query_one("#gpu-warning", Static).update(warn)

    @on(Checkbox.Changed)
    @on(Select.Changed, "#gpu-eviction")
    def _switch(self) -> None:
        self._sync()
        self._refresh_row()
        self.draw_chart()

    # ------------------------------------------------------------------------------------------ answers
    def extra_checks(self) -> dict[str, str]:
        if not self.query_one("#gpu-on", Checkbox).value:
            return {}
        if managed_gpu_conflict(self.query_one("#gpu-managed", Checkbox).value,
                                self.query_one("#gpu-autoscale", Checkbox).value):
            return {"gpu_pool.managed_gpu": f"{NO_AUTOSCALER}: turn off the autoscaler or managed GPU"}
        return {}

    def validate_step(self) -> dict[str, str]:
        """The model's errors of `gpu_pools.N.field` land under the editor's field, with pool N highlighted."""
        errors = super().validate_step()
        out: dict[str, str] = {}
        for path, message in errors.items():
            parts = path.replace("[", ".").replace("]", "").split(".")
            if parts[0] == "gpu_pools" and len(parts) > 2 and parts[1].isdigit():
                index = int(parts[1])
                if index != self.current and index < len(self.pools):
                    self.query_one("#gpu-pools", DataTable).move_cursor(row=index)
                    return {"": f"pool {self.pools[index].get('name')}: {'.'.join(parts[2:])}: {message} "
                                "(highlighted: fix it below)"}
                path = "gpu_pool." + ".".join(parts[2:])
            out[path] = message
        return out

    def store(self) -> None:
        d = self.draft
        self._edited()
        pools = [{k: v for k, v in p.items() if v != ""} for p in self.pools]
        shape = ({"gpu_pool": pools[0], "gpu_pools": None} if len(pools) == 1 and not self.listed
                 else {"gpu_pool": None, "gpu_pools": pools})
        if not self.query_one("#gpu-on", Checkbox).value:
            self.state.gpu_stash = shape  # switched on again, the step shows them all as they were
            d.set("gpu_pool", None)
            d.delete("gpu_pools")
            return
        for key, value in shape.items():
            if value:
                d.set(key, value)
            else:
                d.delete(key)
