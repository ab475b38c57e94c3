"""The location and the resource group, listed live."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import ComposeResult
from textual.content import Content
from textual.widgets import Input, RadioButton, RadioSet, Select

from screens.base import Rule, StepScreen
from screens.widgets import Field

from screens.steps.common import _rules

if TYPE_CHECKING:
    pass


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


