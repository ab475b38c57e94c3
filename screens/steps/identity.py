"""Identity and access. Microsoft Entra ID with Azure RBAC, admin groups, local accounts, workload
identity with the OIDC issuer; and the role assignment the user needs to verify the cluster (preflight's words)."""
from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Checkbox, Input, Static

from screens.base import Rule, StepScreen
from screens.state import Draft
from screens.steps.common import _rules, set_answer, split_list, switch_row
from screens.widgets import Field

ACCESS = "cluster.access"


def check_groups(value: str) -> str | None:
    """Admin group object ids as typed (comma-separated): each a GUID, no repeats (the model's rules)."""
    r = _rules()
    ids = split_list(value)
    message: str | None = next((m for m in map(r.check_guid, ids) if m), None) or r.check_guids(ids)
    return message


class IdentityScreen(StepScreen):
    STEP = "identity"

    def form(self) -> ComposeResult:
        d = self.draft
        yield from switch_row("Microsoft Entra ID integration (AKS-managed)", bool(d.get(f"{ACCESS}.entra_id")),
                              "id-entra", "People sign in to Kubernetes with their Entra ID accounts.")
        with Vertical(id="entra-fields"):
            yield from switch_row("Azure RBAC for Kubernetes authorization", d.get(f"{ACCESS}.azure_rbac") is not False,
                                  "id-rbac", "Off: Kubernetes RBAC decides (admin groups, RoleBindings).")
            groups = d.get(f"{ACCESS}.admin_group_object_ids") or []
            yield Field("Admin group object ids", Input(", ".join(groups), id="id-groups", compact=True,
                                                        placeholder="GUID, GUID, ... (empty: none)",
                                                        validators=[Rule(check_groups, optional=True)]),
                        f"{ACCESS}.admin_group_object_ids", "Entra groups whose members are cluster admins.")
            yield Field("Tenant id", Input(d.get(f"{ACCESS}.tenant_id") or "", id="id-tenant", compact=True,
                                           placeholder="empty: the subscription's tenant",
                                           validators=[Rule(_rules().check_guid, optional=True)]),
                        f"{ACCESS}.tenant_id")
            yield from switch_row("Disable local accounts (no static admin credential)",
                                  d.get(f"{ACCESS}.local_accounts") is False, "id-nolocal",
                                  "Every sign-in, this wizard's too, then goes through Entra ID.")
        yield from switch_row("OIDC issuer", bool(d.get("cluster.oidc_issuer")), "id-oidc",
                              "Once on, AKS cannot turn it off (KAITO turns it on anyway).")
        yield from switch_row("Microsoft Entra Workload ID", bool(d.get("cluster.workload_identity")), "id-wi",
                              "Pods sign in to Azure with federated service account tokens (needs the OIDC issuer).")
        yield Static("", id="access-note", classes="consequence", markup=False)

    def load(self) -> None:
        self._sync()

    def write(self, d: Draft) -> None:
        entra = self.query_one("#id-entra", Checkbox).value
        set_answer(d, f"{ACCESS}.entra_id", entra)
        if entra or d.has(f"{ACCESS}.azure_rbac"):
            set_answer(d, f"{ACCESS}.azure_rbac", self.query_one("#id-rbac", Checkbox).value)
        # switched off, Entra ID's own answers go with it (the model refuses them without entra_id)
        set_answer(d, f"{ACCESS}.admin_group_object_ids",
                   split_list(self.query_one("#id-groups", Input).value) if entra else [])
        tenant = self.query_one("#id-tenant", Input).value.strip()
        set_answer(d, f"{ACCESS}.tenant_id", tenant if entra and tenant else None)
        set_answer(d, f"{ACCESS}.local_accounts", not (entra and self.query_one("#id-nolocal", Checkbox).value))
        set_answer(d, "cluster.oidc_issuer", self.query_one("#id-oidc", Checkbox).value)
        set_answer(d, "cluster.workload_identity", self.query_one("#id-wi", Checkbox).value)

    def store(self) -> None:
        self.write(self.draft)

    def _sync(self) -> None:
        self.query_one("#entra-fields").display = self.query_one("#id-entra", Checkbox).value
        from wizard.interactive import entra_access_note

        probe = Draft(self.draft.copy())
        self.write(probe)
        session = self.state.session
        note = entra_access_note(probe.data, session.subscription[0] if session is not None else None)
        box = self.query_one("#access-note", Static)
        box.update(note)
        box.display = bool(note)

    @on(Checkbox.Changed, "#id-wi")
    def _workload_identity(self, event: Checkbox.Changed) -> None:
        if event.value and not self.query_one("#id-oidc", Checkbox).value:
            self.query_one("#id-oidc", Checkbox).value = True
            self.notify("OIDC issuer turned on: workload identity needs it.", markup=False)

    @on(Checkbox.Changed, "#id-oidc")
    def _oidc(self, event: Checkbox.Changed) -> None:
        if not event.value and self.query_one("#id-wi", Checkbox).value:
            self.query_one("#id-wi", Checkbox).value = False
            self.notify("Workload identity turned off: it needs the OIDC issuer.", markup=False)

    @on(Checkbox.Changed)
    @on(Input.Changed, "#id-groups, #id-tenant")
    def _changed_any(self) -> None:
        self._sync()
