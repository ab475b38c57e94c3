"""Steps 1-8: sign-in, subscription, location and group, cluster, mesh, preview features, GPU pool, add-ons."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.suggester import SuggestFromList
from textual.widgets import Button, Checkbox, DataTable, Input, OptionList, RadioButton, RadioSet, Select, Static

from screens.base import NEXT, Rule, StepScreen, int_or_none
from screens.choice import ChoiceItem, ChoiceList
from screens.widgets import Field

if TYPE_CHECKING:
    from wizard.failure import AzureFailure
    from wizard.events import Event


def _rules() -> Any:
    from wizard.answers import rules

    return rules


def _minor(version: str | None) -> str:
    return ".".join(str(version or "").split(".")[:2])


def switch_row(label: str, value: bool, wid: str, hint: str = "", must: str | None = None) -> ComposeResult:
    """A switch with its hint; `must` names the answers path whose switching off breaks a MUST requirement
    (wizard.interactive.REQUIREMENT_OF_OPTION): the warning line under it says so while it is off."""
    with Vertical(classes="switch-row"):
        box = Checkbox(Content(label), value=value, id=wid, compact=True)
        box.must_path = must  # type: ignore[attr-defined]
        yield box
        if hint:
            yield Static(hint, classes="field-hint", markup=False)
        if must:
            warning = Static("", id=f"must-{wid}", classes="must-warning", markup=False)
            warning.display = False
            yield warning


# ================================================================================================ 2. subscription
class SubscriptionScreen(StepScreen):
    STEP = "subscription"

    def form(self) -> ComposeResult:
        yield Static("Subscriptions the signed-in identity can see (listed live). The current default is "
                     "preselected.", classes="lead", markup=False)
        yield Field("Subscription", ChoiceList(id="subscription"), "azure.subscription")

    def load(self) -> None:
        assert self.state.link is not None
        self.query_one("#subscription").loading = True
        self.fetch("subscriptions", self.state.link.list_subscriptions)

    def fetched(self, key: str, result: Any) -> None:
        self.subs = result
        wanted = str(self.draft.get("azure.subscription") or "")
        chosen = next((s.id for s in result if wanted and wanted.lower() in (s.id.lower(), s.name.lower())), None)
        if chosen is None and self.state.simulated and wanted and result:
            chosen = result[0].id  # the simulator maps any subscription name to its one subscription
        chosen = chosen or next((s.id for s in result if s.is_default), None)
        lst = self.query_one("#subscription", ChoiceList)
        lst.loading = False
        lst.set_items([ChoiceItem(s.id, s.label + ("  (default)" if s.is_default else ""),
                                  s.state.lower() in ("", "enabled"), f"state {s.state}") for s in result], chosen)
        if not result:
            self.show_errors({"azure.subscription": "this identity can see no subscription"})

    def fetch_failed(self, key: str, failure: "AzureFailure") -> None:
        self.query_one("#subscription").loading = False
        super().fetch_failed(key, failure)

    def ready(self) -> str | None:
        if not getattr(self, "subs", None):
            return "the subscription list has not arrived yet"
        return None

    def store(self) -> None:
        value = self.query_one("#subscription", ChoiceList).value
        sub = next((s for s in getattr(self, "subs", []) if s.id == value), None)
        if sub is None:
            return
        wanted = str(self.draft.get("azure.subscription") or "")
        if wanted.lower() not in (sub.id.lower(), sub.name.lower()) or not wanted:
            if not (self.state.simulated and wanted):
                self.draft.set("azure.subscription", sub.id)
        self.chosen = sub

    def extra_checks(self) -> dict[str, str]:
        if self.query_one("#subscription", ChoiceList).value is None:
            return {"azure.subscription": "choose a subscription"}
        return {}

    def proceed(self) -> None:
        sub = self.chosen
        assert self.state.link is not None
        session = self.state.session
        if session is None or session.subscription[0] != sub.id:
            self.state.session = self.state.link.bind(sub.id, sub.name)
        self.dismiss(NEXT)


# ================================================================================================ 3. location
class LocationScreen(StepScreen):
    STEP = "location"

    def form(self) -> ComposeResult:
        # no blank entry: type-to-search can't land on it and Enter can't clear the location
        loc = Select([(Content("loading locations..."), "")], allow_blank=False, id="location", type_to_search=True,
                     compact=True)
        yield Field("Location", loc, "azure.location", "Type to search; listed live for this subscription.")
        existing = self.state.draft.get("resource_group.name")
        radio = RadioSet(RadioButton("Create a new resource group", value=True, id="rg-new"),
                         RadioButton("Use an existing resource group", id="rg-existing"), id="rg-mode", compact=True)
        yield Field("Resource group", radio, "resource_group.mode")
        yield Field("New group name", Input(compact=True, value=existing or "rg-aks-ai", id="rg-name", placeholder="rg-aks-ai",
                                            validators=[Rule(_rules().check_resource_group_name)]),
                    "resource_group.name", "1-90 letters, digits, '.', '_', '-', '(' or ')'; not ending in '.'.")
        yield Field("Existing group", Select([], prompt="loading groups...", id="rg-pick", compact=True), "resource_group.existing")

    def load(self) -> None:
        session = self.state.session
        assert session is not None
        from wizard.interactive import list_groups, list_locations

        self.fetch("locations", list_locations, session)
        self.fetch("resource groups", list_groups, session)
        self._sync_mode()

    def fetched(self, key: str, result: Any) -> None:
        if key == "locations":
            self.locations = result
            sel = self.query_one("#location", Select)
            with self.prevent(Select.Changed):
                sel.set_options([(Content(loc.label), loc.name) for loc in result])
            wanted = self.draft.get("azure.location")
            names = {loc.name for loc in result}
            with self.prevent(Select.Changed):
                if wanted in names:
                    sel.value = wanted
                elif "eastus2" in names:
                    sel.value = "eastus2"
            if wanted and wanted not in names:
                self.query_one("#f-azure-location", Field).set_error(
                    f"The answers ask for {wanted}, which this subscription does not offer; choose a location.")
        else:
            self.groups = result
            pick = self.query_one("#rg-pick", Select)
            pick.set_options([(Content(f"{g.name}  ({g.location})"), g.name) for g in result])
            pick.prompt = "choose a group" if result else "no resource groups in this subscription"
            wanted = self.draft.get("resource_group.name")
            if wanted in {g.name for g in result}:
                pick.value = wanted
                self.query_one("#rg-existing", RadioButton).value = True
            self._sync_mode()

    def _existing_mode(self) -> bool:
        radio = self.query_one("#rg-mode", RadioSet)
        return bool(radio.pressed_button and radio.pressed_button.id == "rg-existing")

    def _sync_mode(self) -> None:
        existing = self._existing_mode()
        self.query_one("#f-resource_group-name").display = not existing
        self.query_one("#f-resource_group-existing").display = existing

    @on(RadioSet.Changed, "#rg-mode")
    def _mode(self) -> None:
        self._sync_mode()

    def ready(self) -> str | None:
        return None if getattr(self, "locations", None) else "the location list has not arrived yet"

    def extra_checks(self) -> dict[str, str]:
        out = {}
        if not self.query_one("#location", Select).value:
            out["azure.location"] = "choose a location"
        if self._existing_mode() and self.query_one("#rg-pick", Select).is_blank():
            out["resource_group.existing"] = "choose a resource group, or create a new one"
        return out

    def store(self) -> None:
        loc = self.query_one("#location", Select)
        if loc.value and getattr(self, "locations", None):
            self.draft.set("azure.location", loc.value)
        if self._existing_mode():
            pick = self.query_one("#rg-pick", Select)
            if not pick.is_blank():
                self.draft.set("resource_group.name", pick.value)
        else:
            name = self.query_one("#rg-name", Input).value.strip()
            if name:
                self.draft.set("resource_group.name", name)


# ================================================================================================ 4. cluster
DEFAULT_NAME = "aks-ai"

class ClusterScreen(StepScreen):
    STEP = "cluster"

    def form(self) -> ComposeResult:
        r = _rules()
        d = self.draft
        yield Field("Cluster name", Input(compact=True, value=d.get("cluster.name") or DEFAULT_NAME, id="name",
                                          validators=[Rule(r.check_cluster_name)]), "cluster.name",
                    "1-63 letters, digits, '-' or '_'; checked as you type.")
        yield Field("Kubernetes version", ChoiceList(id="version"), "cluster.kubernetes_version",
                    "Listed live for the location; 1.34 and newer can be chosen.")
        tier = d.get("cluster.tier") or "Standard"
        yield Field("Tier", Select([(t, t) for t in ("Free", "Standard", "Premium")], value=tier,
                                   allow_blank=False, id="tier", compact=True), "cluster.tier",
                    "Standard: uptime SLA. Premium adds Long-Term Support.")
        plan = d.get("cluster.support_plan") or "KubernetesOfficial"
        yield Field("Support plan", Select([("KubernetesOfficial", "KubernetesOfficial"),
                                            ("AKSLongTermSupport (needs Premium)", "AKSLongTermSupport")],
                                           value=plan, allow_blank=False, id="support-plan", compact=True),
                    "cluster.support_plan")
        with Horizontal(classes="pair"):
            yield Field("System pool VM size",
                        Input(compact=True, value=d.get("cluster.system_pool.vm_size") or "Standard_D4ds_v5", id="sys-size",
                              validators=[Rule(r.check_vm_size)]), "cluster.system_pool.vm_size")
            count = d.get("cluster.system_pool.count")
            yield Field("System node count", Input(compact=True, value=str(count if count is not None else 2), id="sys-count",
                                                   type="integer", validators=[Rule(r.check_count, 1, 1000,
                                                                                    integer=True)]),
                        "cluster.system_pool.count")

    def load(self) -> None:
        from wizard.interactive import list_versions

        self.query_one("#version").loading = True
        self.fetch("Kubernetes versions", list_versions, self.state.session, self.draft.get("azure.location"))

    def fetched(self, key: str, result: Any) -> None:
        from wizard.interactive import version_choices

        self.versions = result
        choices = version_choices(result)
        lst = self.query_one("#version", ChoiceList)
        lst.loading = False
        asked = _minor(self.draft.get("cluster.kubernetes_version")) or None
        default = next((c.minor for c in choices if c.is_default and c.selectable), None)
        kept = lst.set_items([ChoiceItem(c.minor, c.label, c.selectable, c.reason) for c in choices],
                             asked or default, fallback=default)
        if asked and not kept:  # never changed without saying so: the field says what was asked and why not
            item = next((c for c in choices if c.minor == asked), None)
            why = item.reason if item else f"not offered in {self.draft.get('azure.location')}"
            self.query_one("#f-cluster-kubernetes_version", Field).set_error(
                f"The answers ask for {asked}: {why}. {lst.value or 'Nothing'} is highlighted instead; choose a "
                "version and press Next.")
        self._preview_note()

    @on(OptionList.OptionHighlighted, "#version")
    def _preview_note(self) -> None:
        lst = self.query_one("#version", ChoiceList)
        item = next((v for v in getattr(self, "versions", []) if v.minor == lst.value), None)
        field = self.query_one("#f-cluster-kubernetes_version", Field)
        if item is not None and item.is_preview:
            field.set_error(f"{item.minor} is a preview version: not supported for production; choose it only "
                            "on purpose.")
        elif field.error.endswith("on purpose."):
            field.set_error(None)

    def fetch_failed(self, key: str, failure: "AzureFailure") -> None:
        self.query_one("#version").loading = False
        super().fetch_failed(key, failure)

    def ready(self) -> str | None:
        return None if getattr(self, "versions", None) is not None else "the version list has not arrived yet"

    def extra_checks(self) -> dict[str, str]:
        out = {}
        lst = self.query_one("#version", ChoiceList)
        if lst.value is None:
            out["cluster.kubernetes_version"] = "choose a Kubernetes version (1.34 or newer)"
        else:
            item = next((v for v in self.versions if v.minor == lst.value), None)
            tier = self.query_one("#tier", Select).value
            plan = self.query_one("#support-plan", Select).value
            if item is not None and item.lts_only and not (tier == "Premium" and plan == "AKSLongTermSupport"):
                out["cluster.kubernetes_version"] = (f"{item.minor} is offered only with Long-Term Support here: "
                                                     "set tier Premium and support plan AKSLongTermSupport")
        return out

    def store(self) -> None:
        d = self.draft
        name = self.query_one("#name", Input).value.strip()
        if name and (name != DEFAULT_NAME or self.leaving or d.has("cluster.name")):
            d.set("cluster.name", name)  # the untouched default becomes an answer on Next, not on quit
        elif not name:
            d.delete("cluster.name")
        version = self.query_one("#version", ChoiceList).value
        if version and _minor(d.get("cluster.kubernetes_version")) != version:
            d.set("cluster.kubernetes_version", version)
        d.set("cluster.tier", self.query_one("#tier", Select).value)
        d.set("cluster.support_plan", self.query_one("#support-plan", Select).value)
        size = self.query_one("#sys-size", Input).value.strip()
        if size:
            d.set("cluster.system_pool.vm_size", size)
        count = int_or_none(self.query_one("#sys-count", Input).value)
        if count is not None:
            d.set("cluster.system_pool.count", count)


# ================================================================================================ 5. mesh
GATEWAY_LINE = "Needs Istio asm-1-26+ and preview flag ManagedGatewayAPIPreview (ai_inference)."


class MeshScreen(StepScreen):
    STEP = "mesh"

    def form(self) -> ComposeResult:
        d = self.draft
        istio = d.get("cluster.istio.enabled")
        yield from switch_row("Istio service mesh add-on", istio is not False, "istio",
                              "AKS-managed Istio; its revision must support the chosen Kubernetes version.")
        yield Field("Istio revision", ChoiceList(id="revision"), "cluster.istio.revision",
                    f"Listed live for the location, filtered to Kubernetes {self.minor}.")
        gw = d.get("cluster.gateway_api")
        yield from switch_row("Managed Gateway API", gw is not False, "gateway", GATEWAY_LINE, must="cluster.gateway_api")

    @property
    def minor(self) -> str:
        return _minor(self.draft.get("cluster.kubernetes_version") or "1.34")

    def load(self) -> None:
        from wizard.interactive import list_revisions

        self.query_one("#revision").loading = True
        self.fetch("Istio revisions", list_revisions, self.state.session, self.draft.get("azure.location"))
        self._sync()

    def fetched(self, key: str, result: Any) -> None:
        self.revisions = result
        self.query_one("#revision").loading = False
        self._fill(self.draft.get("cluster.istio.revision") or "auto")

    def fetch_failed(self, key: str, failure: "AzureFailure") -> None:
        self.query_one("#revision").loading = False
        super().fetch_failed(key, failure)

    def _fill(self, wanted: str | None) -> None:
        from wizard.interactive import revision_choices

        if getattr(self, "revisions", None) is None:
            return
        lst = self.query_one("#revision", ChoiceList)
        choices = revision_choices(self.revisions, self.minor, self.query_one("#gateway", Checkbox).value)
        lst.set_items([ChoiceItem(c.revision, c.label, c.selectable, c.reason) for c in choices if c.compatible],
                      wanted)
        hidden = [c.revision for c in choices if not c.compatible]
        hint = f"Listed live for the location, filtered to Kubernetes {self.minor}."
        if hidden:
            hint += f" Not compatible: {', '.join(hidden)}."
        self.query_one("#f-cluster-istio-revision .field-hint", Static).update(hint)

    def _sync(self) -> None:
        on_ = self.query_one("#istio", Checkbox).value
        self.query_one("#f-cluster-istio-revision").display = on_

    @on(Checkbox.Changed, "#istio")
    def _istio(self, event: Checkbox.Changed) -> None:
        self._sync()
        if not event.value and self.query_one("#gateway", Checkbox).value:
            self.query_one("#gateway", Checkbox).value = False
            self.notify("Gateway API turned off: it runs on the Istio add-on.", markup=False)

    @on(Checkbox.Changed, "#gateway")
    def _gateway(self, event: Checkbox.Changed) -> None:
        if event.value and not self.query_one("#istio", Checkbox).value:
            self.query_one("#istio", Checkbox).value = True
        self._fill(self.query_one("#revision", ChoiceList).value)

    def ready(self) -> str | None:
        if self.query_one("#istio", Checkbox).value and getattr(self, "revisions", None) is None:
            return "the revision list has not arrived yet"
        return None

    def extra_checks(self) -> dict[str, str]:
        if self.query_one("#istio", Checkbox).value and self.query_one("#revision", ChoiceList).value is None:
            return {"cluster.istio.revision": f"no Istio revision fits Kubernetes {self.minor}; turn Istio "
                                              "off or choose another version"}
        return {}

    def store(self) -> None:
        d = self.draft
        d.set("cluster.istio.enabled", self.query_one("#istio", Checkbox).value)
        rev = self.query_one("#revision", ChoiceList).value
        if rev:
            d.set("cluster.istio.revision", rev)
        d.set("cluster.gateway_api", self.query_one("#gateway", Checkbox).value)


# ================================================================================================ 6. features
class FeaturesScreen(StepScreen):
    STEP = "features"

    class RegisterEvent(Message, bubble=False):
        def __init__(self, event: "Event") -> None:
            super().__init__()
            self.event = event

    class RegisterDone(Message, bubble=False):
        def __init__(self, status: str, failure: Any = None) -> None:
            super().__init__()
            self.status = status
            self.failure = failure

    def form(self) -> ComposeResult:
        yield Static("Preview feature flags the options you chose need, with their live state. The run "
                     "registers what is missing; you can register them now and watch.", classes="lead",
                     markup=False)
        table: DataTable[str] = DataTable(id="flags", cursor_type="row", zebra_stripes=True)
        yield table
        yield Static("", id="provider", markup=False)
        with Horizontal(classes="actions"):
            yield Button("Register needed flags now", id="register", disabled=True, compact=True)
        progress: DataTable[str] = DataTable(id="reg-progress", cursor_type="none")
        progress.display = False
        yield progress

    def on_mount(self) -> None:
        table = self.query_one("#flags", DataTable)
        table.add_columns("Flag", "State", "Needed")
        prog = self.query_one("#reg-progress", DataTable)
        prog.add_columns("Step", "State", "Azure status", "Elapsed")

    def load(self) -> None:
        from wizard.interactive import flag_rules_for, flag_states

        self.infos = flag_rules_for(self.draft.data)
        self._show(self.infos, None)
        self.query_one("#flags").loading = True
        self.fetch("flag states", flag_states, self.state.session, self.infos)

    def _show(self, infos: Any, provider: str | None) -> None:
        table = self.query_one("#flags", DataTable)
        table.clear()
        for f in infos:
            needed = f"yes: {f.option or 'answers file'}" if f.needed else f"no: {f.option} is off"
            table.add_row(Text(f.flag.split("/")[-1]), Text(f.state), Text(needed), key=f.flag)
        if provider is not None:
            self.query_one("#provider", Static).update(
                f"Resource provider Microsoft.ContainerService: {provider}. After new flags register it is "
                "re-registered so they take effect (its own step).")
        missing = [f for f in infos if f.needed and not f.registered]
        self.query_one("#register", Button).disabled = provider is None or not missing

    def fetched(self, key: str, result: Any) -> None:
        self.infos, self.provider_state = result
        self.query_one("#flags").loading = False
        self._show(self.infos, self.provider_state)

    def fetch_failed(self, key: str, failure: "AzureFailure") -> None:
        self.query_one("#flags").loading = False
        super().fetch_failed(key, failure)

    @on(Button.Pressed, "#register")
    def _register(self, event: Button.Pressed) -> None:
        event.stop()
        flags = [f.flag for f in self.infos if f.needed and not f.registered]
        prog = self.query_one("#reg-progress", DataTable)
        prog.display = True
        prog.clear()
        for f in flags:
            prog.add_row(f"feature:{f.split('/')[-1]}", "waiting", "", "", key=f"feature:{f.split('/')[-1]}")
        prog.add_row("provider (re-register)", "waiting", "", "", key="provider")
        self.query_one("#register", Button).disabled = True
        self.set_status("Registering preview features...")
        self.run_worker(lambda: self._register_worker(flags), thread=True, group="register", exclusive=True,
                        exit_on_error=False, description="register preview features")

    def _register_worker(self, flags: list[str]) -> None:
        from wizard.interactive import failure_of, register_flags

        try:
            result = register_flags(self.state.session, flags, lambda e: self.post_message(self.RegisterEvent(e)),
                                    engine_ready=lambda eng: setattr(self, "_engine", eng))
        except Exception as exc:  # noqa: BLE001
            self.post_message(self.RegisterDone("failed", failure_of(exc)))
            return
        self.post_message(self.RegisterDone(result.status, result.failure))

    @on(RegisterEvent)
    def _reg_event(self, message: RegisterEvent) -> None:
        from wizard.render import fmt_seconds

        e = message.event
        prog = self.query_one("#reg-progress", DataTable)
        if e.step not in prog.rows:
            return
        if e.kind in ("started", "progress", "done", "failed", "skipped"):
            prog.update_cell(e.step, prog.ordered_columns[1].key, Text(e.kind if e.kind != "progress" else "running"))
        if e.status:
            prog.update_cell(e.step, prog.ordered_columns[2].key, Text(e.status), update_width=True)
        if e.elapsed:
            prog.update_cell(e.step, prog.ordered_columns[3].key, fmt_seconds(e.elapsed))

    @on(RegisterDone)
    def _reg_done(self, message: RegisterDone) -> None:
        if message.failure is not None:
            self.fetch_failed("preview features", message.failure)
        self.set_status(f"Registration {message.status}")
        from wizard.interactive import flag_states

        self.fetch("flag states", flag_states, self.state.session, self.infos)

    def store(self) -> None:
        if not self.draft.has("features"):
            self.draft.set("features", "auto")

    def on_unmount(self) -> None:
        engine = getattr(self, "_engine", None)
        if engine is not None:
            engine.cancel()  # registration keeps going in Azure; the run waits for it


# ================================================================================================ 7. GPU pool
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


# ================================================================================================ 8. add-ons
ADDONS = (
    ("cluster.addons.keda", "KEDA", "pod_autoscaling: scale pods on custom and external AI metrics (HPA via "
                                    "KEDA)."),
    ("cluster.addons.kaito", "KAITO", "robust_controller: a complex AI operator with CRDs and webhooks that "
                                      "reconciles reliably."),
    ("cluster.addons.managed_prometheus", "Managed Prometheus", "ai_service_metrics: discover and collect "
                                                                "Prometheus-format metrics from AI workloads."),
    ("kueue.install", "Kueue", "gang_scheduling: all-or-nothing scheduling of distributed AI jobs."),
)


class AddonsScreen(StepScreen):
    STEP = "addons"

    def form(self) -> ComposeResult:
        yield Static("Add-ons the AI conformance checklist relies on; each line names the requirement it "
                     "serves.", classes="lead", markup=False)
        for path, label, line in ADDONS:
            value = self.draft.get(path)
            yield from switch_row(label, value is not False, "addon-" + path.rsplit(".", 1)[-1], line, must=path)

    def store(self) -> None:
        for path, _label, _line in ADDONS:
            self.draft.set(path, self.query_one("#addon-" + path.rsplit(".", 1)[-1], Checkbox).value)
