"""Kubernetes API access on a cluster with Microsoft Entra ID: who is signed in, whether AKS will admit them, and
the role assignment that admits them (created by apply, removed by teardown).

AKS decides (https://learn.microsoft.com/azure/aks/manage-azure-rbac, concepts-identity): members of
`cluster.access.admin_group_object_ids` are cluster-admin through Kubernetes RBAC; with Azure RBAC
(`azure_rbac: true`) a role assignment whose role has Kubernetes dataActions (Azure Kubernetes Service RBAC
Cluster Admin, Admin, Writer, Reader) at the cluster or above it admits too. ARM roles such as Owner have no
dataActions: creating the cluster does not admit its creator. New assignments reach the API server "in up to
5 minutes": until then it answers 403 Forbidden.

The signed-in principal is read from the claims of its own Entra token for the AKS server application (`oid`,
`groups`, `upn`/`idtyp`), the token the kubeconfig signs in with: no Microsoft Graph call. A token whose groups
overflowed (`_claim_names`) says nothing about admin groups.

The wizard's steps (GPU stack, Kueue, verification probes) create namespaces, CRDs and cluster roles: they need
cluster-admin, so apply's step `cluster-access` grants Azure Kubernetes Service RBAC Cluster Admin on the cluster
(scope: the cluster only), journalled with its id before the PUT and described with the run's provenance, so
that teardown removes exactly the assignment it created.
"""
from __future__ import annotations

import base64
import json
import re
import shlex
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from wizard.arm_ids import MANAGED_CLUSTERS, cluster_id
from wizard.failure import AzureFailure, AzureLayerError

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

    from wizard.answers import Answers
    from wizard.azure.connection import ArmConnection
    from wizard.engine import Engine
    from wizard.journal import Journal
    from wizard.plan_model import Plan, Step

STEP = "cluster-access"
ROLE = "Azure Kubernetes Service RBAC Cluster Admin"
ROLE_ID = "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b"  # built-in, the same in every tenant
# what the wizard's own Kubernetes steps and probes do: a role must allow all of them
NEEDED = tuple(f"{MANAGED_CLUSTERS}/{a}" for a in (
    "namespaces/write", "apiextensions.k8s.io/customresourcedefinitions/write",
    "rbac.authorization.k8s.io/clusterroles/write", "apps/deployments/write", "pods/delete"))
PROPAGATION_TIMEOUT = 600.0  # seconds (of Azure's time): twice the 5 minutes Azure documents
TYPICAL = 60.0


@dataclass(frozen=True)
class Principal:
    object_id: str
    name: str
    kind: str  # User | ServicePrincipal (a role assignment's principalType)
    groups: tuple[str, ...] | None  # None: the token's groups overflowed, membership unknown


@dataclass
class Admission:
    """Will AKS admit the principal to the cluster's Kubernetes API for the wizard's work, and why (not)."""

    admitted: bool
    how: str
    principal: Principal | None = None
    assignments: list[str] = field(default_factory=list)  # ids of the assignments that admit
    recent: bool = False  # every admitting assignment is younger than the propagation bound: it may not admit yet


def token_claims(token: str) -> dict[str, Any] | None:
    """The payload of a JWT (an Entra access token), unverified: only what this run's own token says of it."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, TypeError):
        return None
    return claims if isinstance(claims, dict) else None


def signed_in_principal(credential: "TokenCredential") -> Principal | None:
    """Who the run's credential signs in to Kubernetes as (its token's claims), or None when the token is not a
    readable JWT."""
    from wizard.azure.entra import AKS_SERVER_APP_ID

    claims = token_claims(credential.get_token(f"{AKS_SERVER_APP_ID}/.default").token)
    if not claims or not claims.get("oid"):
        return None
    app = claims.get("idtyp") == "app" or ("upn" not in claims and "scp" not in claims)
    groups = None if "groups" in (claims.get("_claim_names") or {}) else tuple(
        str(g).lower() for g in claims.get("groups") or [])
    name = str(claims.get("upn") or claims.get("preferred_username") or claims.get("appid") or claims["oid"])
    return Principal(str(claims["oid"]).lower(), name, "ServicePrincipal" if app else "User", groups)


def permits(allowed: list[str], denied: list[str], action: str) -> bool:
    """Azure's wildcard match of a data action against a role's dataActions and notDataActions."""
    def match(pattern: str) -> bool:
        return re.fullmatch(re.escape(pattern).replace(r"\*", ".*"), action, re.IGNORECASE) is not None
    return any(match(a) for a in allowed) and not any(match(d) for d in denied)


def _role_admits(definition: Any) -> bool:
    perms = list(getattr(definition, "permissions", None) or [])
    return all(any(permits(list(p.data_actions or []), list(p.not_data_actions or []), a) for p in perms)
               for a in NEEDED)


def _under(scope: str, parent: str) -> bool:
    s, p = scope.lower().rstrip("/"), parent.lower().rstrip("/")
    return s == p or s.startswith(p + "/")


def wanted(answers: "Answers") -> bool:
    """Clusters whose Kubernetes API decides by Entra identity (local accounts or not, the user kubeconfig signs in
    through Entra ID)."""
    return bool(answers.cluster.access.entra_id)


@dataclass(frozen=True)
class AccessInputs:
    """The cluster-access step's inputs (its payload, built with the plan): the cluster, what admits to its
    Kubernetes API (admin groups; Azure RBAC on or off), and the description with the run's provenance."""

    resource_group: str
    cluster: str
    admin_group_object_ids: tuple[str, ...]
    azure_rbac: bool
    description: str


def inputs_of(answers: "Answers", provenance: dict[str, str] | None) -> AccessInputs:
    access = answers.cluster.access
    description = " ".join(["Kubernetes API access for aks-ai-wizard's steps;"]
                           + [f"{k}={v}" for k, v in (provenance or {}).items()])
    return AccessInputs(answers.resource_group.name, answers.cluster.name, tuple(access.admin_group_object_ids or ()),
                        bool(access.azure_rbac), description)


def admission(conn: "ArmConnection", answers: "Answers", principal: Principal | None) -> Admission:
    """Reads only: the principal's admin-group membership (token) and its role assignments (ARM, with groups)."""
    return admission_of(conn, inputs_of(answers, None), principal)


def admission_of(conn: "ArmConnection", access: AccessInputs, principal: Principal | None) -> Admission:
    """admission() from a step's inputs."""
    if principal is None:
        return Admission(False, "the signed-in principal cannot be read from its token")
    admins = {g.lower() for g in access.admin_group_object_ids or []}
    member = sorted(admins & set(principal.groups or ()))
    if member:
        return Admission(True, f"{principal.name} is a member of admin group {member[0]} (cluster-admin through "
                               "Kubernetes RBAC)", principal)
    if not access.azure_rbac:
        return Admission(False, "without Azure RBAC only the admin groups are cluster-admin", principal)
    scope = cluster_id(conn.subscription_id, access.resource_group, access.cluster)
    client = conn.authorization
    found, defs = [], {}
    for ra in client.role_assignments.list_for_subscription(filter=f"assignedTo('{principal.object_id}')"):
        if not _under(scope, ra.scope or ""):
            continue
        rid = str(ra.role_definition_id)
        if rid.lower() not in defs:
            defs[rid.lower()] = client.role_definitions.get_by_id(rid)
        if _role_admits(defs[rid.lower()]):
            found.append((ra, defs[rid.lower()].role_name))
    if found:
        ra, role = found[0]
        where = "the cluster" if ra.scope.lower() == scope.lower() else ra.scope
        return Admission(True, f"{principal.name} holds {role} on {where}", principal, [str(r.id) for r, _ in found],
                         all(_recent(r) for r, _ in found))
    return Admission(False, f"{principal.name} holds no Kubernetes data-plane role on the cluster, its resource "
                            "group or subscription (Owner and Contributor have no dataActions)", principal)


def _recent(ra: Any) -> bool:
    """Created within Azure's propagation bound (a grant of an interrupted run, a colleague's a minute ago)."""
    from datetime import datetime, timezone

    created = getattr(ra, "created_on", None)
    return isinstance(created, datetime) and (
        datetime.now(timezone.utc) - created.astimezone(timezone.utc)).total_seconds() < PROPAGATION_TIMEOUT


def az_create(principal: Principal | None, scope: str) -> str:
    who = (f"--assignee-object-id {principal.object_id} --assignee-principal-type {principal.kind}" if principal
           else "--assignee \"$(az ad signed-in-user show --query id -o tsv)\"")
    return f"az role assignment create --role {shlex.quote(ROLE)} {who} --scope {shlex.quote(scope)}"


# ------------------------------------------------------------------------------------------ plan
def access_steps(answers: "Answers", plan: "Plan") -> list["Step"]:
    """The role assignment step of an Entra ID cluster with Azure RBAC (settled against Azure by settle())."""
    from wizard.plan_model import Step

    if not plan.ok or not wanted(answers) or not answers.cluster.access.azure_rbac:
        return []
    scope = cluster_id(plan.observed.subscription_id, answers.resource_group.name, answers.cluster.name)
    return [Step(STEP, f"grant the signed-in principal {ROLE} on cluster {answers.cluster.name} (Azure RBAC admits "
                       "it to the Kubernetes API), then wait until the API server admits it", "create",
                 az_create(None, scope), deps=("kubeconfig",), typical=TYPICAL,
                 payload=inputs_of(answers, plan.provenance),
                 reason="skipped when the principal is already admitted (an admin group or a data-plane role)")]


def settle(conn: "ArmConnection", plan: "Plan") -> None:
    """Reads only: skip the step when the signed-in principal is already admitted; else name it in the az line."""
    step = next((s for s in plan.steps if s.id == STEP), None)
    if step is None:
        return
    try:
        principal = signed_in_principal(conn.credential)
        adm = admission(conn, plan.answers, principal)
    except Exception as exc:  # noqa: BLE001 - the plan stands; the runner reads again before writing
        plan.notes.append(f"the role assignments could not be read now ({type(exc).__name__}); step {STEP} checks "
                          "again before writing anything")
        return
    scope = cluster_id(plan.observed.subscription_id, plan.answers.resource_group.name, plan.answers.cluster.name)
    step.az = az_create(principal, scope)
    if adm.admitted and adm.recent:  # nothing to write, but the Kubernetes steps wait until the API server admits it
        step.action, step.reason = "read", f"admitted by a recent grant ({adm.how}): waits until it propagates"
    elif adm.admitted:
        step.action, step.reason = "skip", f"already admitted: {adm.how}"


# ------------------------------------------------------------------------------------------ apply
def provenance_of(description: str | None) -> dict[str, str]:
    """The provenance tags an assignment's description carries (role assignments have no tags)."""
    return {m.group(1): m.group(2) for m in re.finditer(r"(\S+)=(\S+)", description or "")}


def _refused(what: str, why: str, action: str, code: str) -> AzureLayerError:
    return AzureLayerError(AzureFailure("permissions", code, what, why, action, None, None, None, "",
                                        "cluster.access.admin_group_object_ids"))


def run_access(engine: "Engine", step: "Step", started: float) -> dict[str, Any]:
    from azure.core.exceptions import ResourceExistsError
    from azure.mgmt.authorization.v2022_04_01.models import RoleAssignmentCreateParameters

    a: AccessInputs = step.payload
    principal = signed_in_principal(engine.conn.credential)
    scope = cluster_id(engine.conn.subscription_id, a.resource_group, a.cluster)
    if principal is None:
        raise _refused("The signed-in principal could not be read from its Entra token.",
                       "Without its object id the wizard cannot grant it access to the Kubernetes API.",
                       f"grant it yourself: {az_create(None, scope)}", "PrincipalUnknown")
    adm = admission_of(engine.conn, a, principal)
    out: dict[str, Any] = {"state": "Unchanged", "message": f"skipped: already admitted ({adm.how})"}
    if not adm.admitted:
        client = engine.conn.authorization
        rid = f"{scope}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}"
        if engine.journal is not None:  # ownership follows this intent (teardown confirms the description)
            engine.journal.append(step.id, "intent", creates=True, resource_id=rid)
        params = RoleAssignmentCreateParameters(
            role_definition_id=f"/subscriptions/{engine.conn.subscription_id}/providers/Microsoft.Authorization/"
                               f"roleDefinitions/{ROLE_ID}",
            principal_id=principal.object_id, principal_type=principal.kind, description=a.description)
        try:
            client.role_assignments.create_by_id(rid, params)
            out = {"state": "Succeeded", "resource_id": rid, "created_ids": [rid],
                   "message": f"granted {principal.name} {ROLE} on cluster {a.cluster}"}
        except ResourceExistsError:  # another run made the same grant a moment ago: it admits, it is not ours
            out = {"state": "Unchanged", "created_ids": [],
                   "message": f"{principal.name} already holds {ROLE} on cluster {a.cluster}"}
        engine.emit("progress", step, out["message"], started=started)
    waited = wait_admitted(engine, step, started)
    out["message"] += f"; the API server admits it{f' (after {waited:.0f}s)' if waited >= 1 else ''}"
    return out


def wait_admitted(engine: "Engine", step: "Step", started: float) -> float:
    """Wait, bounded, until the Kubernetes API admits the principal: a 403 meanwhile is Azure RBAC propagating."""
    from kubernetes.client import CoreV1Api
    from kubernetes.client.exceptions import ApiException

    from wizard.addons import options_of, poll_of

    opts = options_of(engine)
    api = CoreV1Api(engine.kube_client())
    t0 = time.monotonic()
    while True:
        try:
            api.list_namespace(limit=1, _request_timeout=opts.kube_timeout)
            return time.monotonic() - t0
        except ApiException as exc:
            if exc.status != 403:
                raise
            waited = time.monotonic() - t0
            if waited > max(30.0, PROPAGATION_TIMEOUT * engine.options.typical_scale):  # simulated: its clock
                raise _refused(f"The Kubernetes API of {step.payload.cluster} still refuses the signed-in "
                               f"principal (403 Forbidden) {waited:.0f}s after the role assignment.",
                               "Azure documents up to 5 minutes for a role assignment to reach the API server.",
                               "run apply again in a few minutes (it does only what is left); check the assignment "
                               "with `az role assignment list --scope <cluster id>`", "RoleNotPropagated") from exc
            engine.emit("progress", step, f"waiting for Azure RBAC to reach the API server (403 Forbidden until it "
                        f"does; up to 5 minutes): {waited:.0f}s", status="Propagating", started=started)
            engine.sleep(poll_of(engine, opts))


def _status_message(exc: Any) -> str:
    """The message of a Kubernetes Status body (what the API server said), else the HTTP reason."""
    try:
        return str(json.loads(exc.body).get("message") or exc.reason)
    except (TypeError, ValueError, AttributeError):
        return str(exc.reason)


def check_admitted(api_client: Any, cluster: dict[str, Any] | None, credential: "TokenCredential") -> None:
    """Before a verification of an Entra ID cluster: raise a clear "forbidden: needs role X" failure when its
    Kubernetes API refuses the signed-in principal, instead of an inconclusive row per requirement. Nothing is
    asked of anyone for a cluster without Entra ID (no token for the AKS server application)."""
    from kubernetes.client import CoreV1Api
    from kubernetes.client.exceptions import ApiException

    props = (cluster or {}).get("properties") or {}
    aad = props.get("aadProfile") or {}
    if not aad.get("managed"):
        return
    try:
        CoreV1Api(api_client).list_namespace(limit=1, _request_timeout=30)
        return
    except ApiException as exc:
        if exc.status != 403:
            return  # the verification explains anything else
        said = _status_message(exc)
    principal = signed_in_principal(credential)
    name = str((cluster or {}).get("name") or "the cluster")
    scope = str((cluster or {}).get("id") or "<cluster id>")
    groups = ", ".join(aad.get("adminGroupObjectIDs") or []) or "none set"
    way = (f"grant it {ROLE} on the cluster: {az_create(principal, scope)} (then allow up to 5 minutes)"
           if aad.get("enableAzureRBAC") else "add it to one of the cluster's admin groups (Azure RBAC is off)")
    who = principal.name if principal else "the signed-in principal"
    raise _refused(f"Forbidden: the Kubernetes API of {name} refuses {who}: it needs the role {ROLE} (or membership "
                   f"of an admin group: {groups}).",
                   "The cluster signs in through Microsoft Entra ID; "
                   + ("Azure RBAC" if aad.get("enableAzureRBAC") else "Kubernetes RBAC")
                   + f" does not admit this principal (an ARM role such as Owner gives no Kubernetes access). "
                   f"The API server said: {said[:400]}", way + "; then run verify again", "Forbidden")


# ------------------------------------------------------------------------------------------ teardown
def owned_assignments(journal: "Journal") -> list[str]:
    """Assignment ids this wizard created, by the journal: an intent whose step then reported it created (or never
    finished: the PUT may have landed), until a teardown recorded its deletion."""
    owned: list[str] = []
    pending: list[str] = []
    for rec in journal.records():
        if rec["step"] == STEP and rec["event"] == "intent" and rec.get("resource_id"):
            pending.append(rec["resource_id"])
        elif rec["step"] == STEP and rec["event"] == "done":
            owned += [r for r in pending if r in (rec.get("created_ids") or []) and r not in owned]
            pending = []
        elif rec["event"] == "deleted" and rec.get("resource_id") in owned:
            owned.remove(rec["resource_id"])
    return owned + [r for r in pending if r not in owned]


@dataclass
class AccessTeardown:
    steps: list["Step"] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


def teardown_steps(conn: "ArmConnection", journal: "Journal", answers: "Answers", identity: str,
                   from_tags: bool) -> AccessTeardown:
    """Steps deleting the role assignments this wizard created for these answers: each one only when it still exists
    and its description's provenance agrees; a pre-existing assignment is never listed."""
    from azure.core.exceptions import ResourceNotFoundError

    from wizard.plan_model import Deletion, Step
    from wizard.provenance import verdict

    out = AccessTeardown()
    if not wanted(answers):
        return out
    client = conn.authorization
    scope = cluster_id(conn.subscription_id, answers.resource_group.name, answers.cluster.name)
    if from_tags:
        try:
            ids = [str(r.id) for r in client.role_assignments.list_for_scope(scope, filter="atScope()")
                   if (r.scope or "").lower() == scope.lower() and verdict(provenance_of(r.description), identity).ours]
        except ResourceNotFoundError:
            ids = []
    else:
        ids = owned_assignments(journal)
    for rid in ids:
        try:
            ra = client.role_assignments.get_by_id(rid)
        except ResourceNotFoundError:
            continue  # never created, or gone with the cluster
        v = verdict(provenance_of(ra.description), identity)
        if not v.ours:
            out.kept.append(f"role assignment {rid.rsplit('/', 1)[-1]}: {v.said}; not deleted")
            continue
        out.steps.append(Step(f"delete-access:{rid.rsplit('/', 1)[-1]}", f"delete the role assignment {ROLE} of "
                              f"principal {ra.principal_id} on cluster {answers.cluster.name} (granted by this wizard)",
                              "update", f"az role assignment delete --ids {shlex.quote(rid)}", typical=5.0,
                              payload=Deletion(STEP, identity, resource_id=rid)))
    return out


def run_delete_access(engine: "Engine", step: "Step", started: float) -> dict[str, Any]:
    from azure.core.exceptions import ResourceNotFoundError

    from wizard.provenance import verdict

    rid = step.payload.resource_id
    client = engine.conn.authorization
    try:
        ra = client.role_assignments.get_by_id(rid)
    except ResourceNotFoundError:
        ra = None
    if ra is not None:
        v = verdict(provenance_of(ra.description), step.payload.identity)
        if not v.ours:
            return {"state": "Kept", "message": step.title.replace("delete", "kept", 1) + f": {v.said}"}
        client.role_assignments.delete_by_id(rid)
    if engine.journal is not None:
        engine.journal.append(step.id, "deleted", created_by=STEP, resource_id=rid)
    return {"state": "Deleted" if ra is not None else "Gone",
            "message": step.title.replace("delete", "deleted" if ra is not None else "already gone:", 1)}
