"""The Istio service mesh add-on and managed Gateway API."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import ComposeResult
from textual.widgets import Checkbox, Static

from wizard.mesh_rules import GATEWAY_MIN_REVISION
from screens.base import StepScreen
from screens.choice import ChoiceItem, ChoiceList
from screens.widgets import Field

from screens.steps.common import _minor, switch_row

if TYPE_CHECKING:
    from wizard.failure import AzureFailure


GATEWAY_LINE = f"Needs Istio {GATEWAY_MIN_REVISION}+ and preview flag ManagedGatewayAPIPreview (ai_inference)."


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


