"""Cluster name, Kubernetes version (listed live), tier, support plan, system pool."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Input, OptionList, Select

from screens.base import Rule, StepScreen, int_or_none
from screens.choice import ChoiceItem, ChoiceList
from screens.widgets import Field

from screens.steps.common import _minor, _rules

if TYPE_CHECKING:
    from wizard.failure import AzureFailure


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


