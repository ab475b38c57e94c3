"""The subscription, listed live."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.widgets import Static

from screens.base import NEXT, StepScreen
from screens.choice import ChoiceItem, ChoiceList
from screens.widgets import Field

if TYPE_CHECKING:
    from wizard.failure import AzureFailure



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


