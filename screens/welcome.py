"""Step 1: sign-in method, cloud, and a clear badge when simulated. Kept lean: it is the first screen."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.widgets import Button, Input, Static

from screens.base import NEXT, Rule, StepScreen
from screens.choice import ChoiceItem, ChoiceList
from screens.widgets import Field

if TYPE_CHECKING:
    from wizard.failure import AzureFailure


def _check_tenant(value: str) -> str | None:
    from wizard.answers.rules import check_tenant  # imported when first typed: pydantic is not needed to start

    return check_tenant(value)


# ================================================================================================ 1. welcome
CLOUDS = ("AzureCloud", "AzureChinaCloud", "AzureUSGovernment")


def registered_cloud_items() -> list[ChoiceItem]:
    """The clouds `az cloud register` recorded on this machine, offered by name as the answers file holds them."""
    from wizard.az_clouds import CloudError, registered_clouds

    try:
        clouds = registered_clouds().values()
    except CloudError:
        return []  # unreadable: the public clouds are still offered; naming one in answers says why
    return [ChoiceItem(c["name"], f"{c['name']} (az cloud register: {c.get('resource_manager', '?')})")
            for c in clouds if c["name"] not in CLOUDS]


class WelcomeScreen(StepScreen):
    STEP = "welcome"
    NEXT_LABEL = "Sign in"

    def form(self) -> ComposeResult:
        yield Static("From an empty Azure subscription to an AKS cluster that meets the CNCF Kubernetes AI "
                     "Conformance checklist (v1.34), and proof of it.", classes="lead", markup=False)
        sim = self.state.sim
        if sim is not None:
            faults = f"; faults: {', '.join(sim.faults)}" if sim.faults else ""
            yield Static(f"SIMULATED: an embedded Azure answers every call; nothing is created in your "
                         f"subscription (operations {sim.speed:g}x faster than Azure{faults}).",
                         id="sim-banner", markup=False)
        auth = ChoiceList(id="auth")
        auth.set_items([ChoiceItem("default", "Existing sign-in: az login, environment or managed identity"),
                        ChoiceItem("device_code", "Device code: sign in with a code in a browser")],
                       self.draft.get("azure.auth") or "default")
        yield Field("Sign-in method", auth, "azure.auth")
        cloud = self.draft.get("azure.cloud") or "AzureCloud"
        items = [ChoiceItem(c, c) for c in CLOUDS] + registered_cloud_items()
        if isinstance(cloud, str) and cloud not in [i.value for i in items]:
            items.append(ChoiceItem(cloud, f"{cloud} (not registered on this machine)"))
        if isinstance(cloud, dict):
            items.append(ChoiceItem("custom", f"custom: {cloud.get('name', 'custom cloud')} ({cloud.get('resource_manager', '')})"))
        clouds = ChoiceList(id="cloud")
        clouds.set_items(items, "custom" if isinstance(cloud, dict) else str(cloud))
        yield Field("Cloud", clouds, "azure.cloud")
        tenant = Input(compact=True, value=self.draft.get("azure.tenant") or "", placeholder="optional: tenant id or domain",
                       validators=[Rule(_check_tenant, optional=True)], id="tenant")
        yield Field("Tenant", tenant, "azure.tenant", "Leave empty for the credential's home tenant.")

    def on_mount(self) -> None:
        warm = getattr(self.app, "warm_up", None)
        if callable(warm) and not self.app.is_headless:
            self.set_timer(0.3, warm)

    def store(self) -> None:
        from screens.steps.common import set_answer  # defaults the file never named stay out of it when saved

        set_answer(self.draft, "azure.auth", self.query_one("#auth", ChoiceList).value or "default")
        cloud = self.query_one("#cloud", ChoiceList).value or "AzureCloud"
        if cloud != "custom":
            set_answer(self.draft, "azure.cloud", cloud)
        tenant = self.query_one("#tenant", Input).value.strip()
        if tenant:
            self.draft.set("azure.tenant", tenant)
        else:
            self.draft.delete("azure.tenant")

    def proceed(self) -> None:
        if self.query_one("#next", Button).disabled:
            return  # signing in already (^n pressed again)
        key = (repr(self.draft.get("azure.cloud")), self.draft.get("azure.auth"), self.draft.get("azure.tenant"))
        if self.state.link is not None and self.state.link_key == key:
            self.dismiss(NEXT)
            return
        self.query_one("#next", Button).disabled = True
        self.set_status("Starting the simulator..." if self.state.simulated else "Signing in...")
        from wizard.interactive import connect

        app: Any = self.app
        self.fetch("sign-in", connect, self.draft.get("azure.cloud") or "AzureCloud",
                   self.draft.get("azure.auth") or "default", self.draft.get("azure.tenant"), self.state.sim,
                   app.device_code_prompt)
        self._link_key = key

    def fetched(self, key: str, result: Any) -> None:
        old = self.state.link
        if old is not None:
            old.close()
        result.no_prices = self.state.no_prices
        self.state.link, self.state.link_key, self.state.session = result, self._link_key, None
        self.dismiss(NEXT)

    def fetch_failed(self, key: str, failure: "AzureFailure") -> None:
        self.query_one("#next", Button).disabled = False
        super().fetch_failed(key, failure)


