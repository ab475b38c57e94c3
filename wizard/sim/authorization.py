"""Microsoft.Authorization of the simulated Azure (api 2022-04-01): role assignments and built-in role definitions,
and who they admit to a cluster's Kubernetes API with Azure RBAC (read by wizard/sim/kube/authz.py).

As ARM: a role assignment is PUT at a scope (subscription, resource group, resource, or a cluster's namespace) under
a GUID name and answers 201; a second assignment of the same principal, role and scope, under any name, is 409
RoleAssignmentExists (the PUT is not idempotent); an unknown principal is 400 PrincipalNotFound, an unknown role
400 RoleDefinitionDoesNotExist; the caller needs Microsoft.Authorization/roleAssignments/write over the scope (Owner,
User Access Administrator, Role Based Access Control Administrator), else 403 AuthorizationFailed. DELETE answers
200 with the assignment, 204 when there is none. A list at a scope holds the assignments at, above and below it
(`atScope()`: at and above; `principalId eq '..'`; `assignedTo('..')`: the principal and its groups). Assignments
at a resource that no longer exists are gone with it. Role definitions: the built-ins by id, or by `roleName eq`.

As AKS (https://learn.microsoft.com/azure/aks/manage-azure-rbac): a new assignment takes effect on the Kubernetes
API only after the authorization server picks it up ("up to 5 minutes"): PROPAGATION simulated seconds here.
Stored in `World.role_assignments` (lower-case id -> record), so --sim-state persists them.
"""
from __future__ import annotations

import re
import uuid
import weakref
from typing import TYPE_CHECKING, Any

from wizard.sim.credential import ARM_AUDIENCE, PIPELINE, PRINCIPALS, USER, claims_of

if TYPE_CHECKING:
    from wizard.sim.arm import Arm, Request, Response

PROPAGATION = 150.0  # simulated seconds before a new role assignment admits anyone to a Kubernetes API
ASSIGNMENT_TYPE = "Microsoft.Authorization/roleAssignments"
DEFINITION_TYPE = "Microsoft.Authorization/roleDefinitions"
_MC = "Microsoft.ContainerService/managedClusters"

_K8S_READ = [f"{_MC}/{r}/read" for r in (
    "apps/controllerrevisions", "apps/daemonsets", "apps/deployments", "apps/replicasets", "apps/statefulsets",
    "autoscaling/horizontalpodautoscalers", "batch/cronjobs", "batch/jobs", "configmaps", "discovery.k8s.io/endpointslices",
    "endpoints", "events.k8s.io/events", "events", "extensions/daemonsets", "extensions/deployments",
    "extensions/ingresses", "extensions/networkpolicies", "extensions/replicasets", "limitranges",
    "metrics.k8s.io/pods", "metrics.k8s.io/nodes", "namespaces", "networking.k8s.io/ingresses",
    "networking.k8s.io/networkpolicies", "persistentvolumeclaims", "pods", "policy/poddisruptionbudgets",
    "replicationcontrollers", "resourcequotas", "serviceaccounts", "services")]
_K8S_WRITE = [a.replace("/read", "/*") for a in _K8S_READ if "/metrics.k8s.io/" not in a and "/namespaces/" not in a
              and "/resourcequotas/" not in a and "/limitranges/" not in a] + [f"{_MC}/secrets/*",
                                                                                f"{_MC}/serviceaccounts/impersonate/action"]

# Built-in roles as Azure defines them (ids and permissions from Microsoft's built-in roles reference).
BUILT_IN: dict[str, dict[str, Any]] = {
    "8e3af657-a8ff-404c-931c-0bb5da2e4e2d": {"roleName": "Owner", "actions": ["*"]},
    "b24988ac-6180-42a0-ab88-20f7382dd24c": {"roleName": "Contributor", "actions": ["*"], "notActions": [
        "Microsoft.Authorization/*/Delete", "Microsoft.Authorization/*/Write",
        "Microsoft.Authorization/elevateAccess/Action"]},
    "acdd72a7-3385-48ef-bd42-f606fba81ae7": {"roleName": "Reader", "actions": ["*/read"]},
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": {"roleName": "User Access Administrator", "actions": [
        "*/read", "Microsoft.Authorization/*"]},
    "f58310d9-a9f6-439a-9e8d-f62e7b41a168": {"roleName": "Role Based Access Control Administrator", "actions": [
        "Microsoft.Authorization/roleAssignments/write", "Microsoft.Authorization/roleAssignments/delete", "*/read"]},
    "0ab0b1a8-8aac-4efd-b8c2-3ee1fb270be8": {"roleName": "Azure Kubernetes Service Cluster Admin Role", "actions": [
        f"{_MC}/listClusterAdminCredential/action", f"{_MC}/accessProfiles/listCredential/action",
        f"{_MC}/read", f"{_MC}/runcommand/action"]},
    "4abbcc35-e782-43d8-92c5-2d3c1bd2d1ce": {"roleName": "Azure Kubernetes Service Cluster User Role", "actions": [
        f"{_MC}/listClusterUserCredential/action", f"{_MC}/read"]},
    "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b": {"roleName": "Azure Kubernetes Service RBAC Cluster Admin", "actions": [
        "Microsoft.Authorization/*/read", "Microsoft.Resources/subscriptions/operationresults/read",
        "Microsoft.Resources/subscriptions/read", "Microsoft.Resources/subscriptions/resourceGroups/read",
        f"{_MC}/listClusterUserCredential/action"], "dataActions": [f"{_MC}/*"]},
    "3498e952-d568-435e-9b2c-8d77e338d7f7": {"roleName": "Azure Kubernetes Service RBAC Admin", "actions": [
        "Microsoft.Authorization/*/read", "Microsoft.Resources/subscriptions/operationresults/read",
        "Microsoft.Resources/subscriptions/read", "Microsoft.Resources/subscriptions/resourceGroups/read",
        f"{_MC}/listClusterUserCredential/action"], "dataActions": [f"{_MC}/*"], "notDataActions": [
        f"{_MC}/resourcequotas/write", f"{_MC}/resourcequotas/delete", f"{_MC}/namespaces/write",
        f"{_MC}/namespaces/delete"]},
    "a7ffa36f-339b-4b5c-8bdf-e2c188b2c0eb": {"roleName": "Azure Kubernetes Service RBAC Writer", "actions": [
        "Microsoft.Authorization/*/read", "Microsoft.Resources/subscriptions/operationresults/read",
        "Microsoft.Resources/subscriptions/read", "Microsoft.Resources/subscriptions/resourceGroups/read"],
        "dataActions": _K8S_WRITE + _K8S_READ},
    "7f6c6a51-bcf8-42ba-9220-52d62157d7db": {"roleName": "Azure Kubernetes Service RBAC Reader", "actions": [
        "Microsoft.Authorization/*/read", "Microsoft.Resources/subscriptions/operationresults/read",
        "Microsoft.Resources/subscriptions/read", "Microsoft.Resources/subscriptions/resourceGroups/read"],
        "dataActions": _K8S_READ},
}
OWNER, CONTRIBUTOR = "8e3af657-a8ff-404c-931c-0bb5da2e4e2d", "b24988ac-6180-42a0-ab88-20f7382dd24c"

_SCOPE = r"(?P<scope>/subscriptions/[^/]+(?:/resourcegroups/[^/]+(?:/providers/.+?)?)?)"
_AUTH = r"/providers/microsoft\.authorization/"
_ARMS: "weakref.WeakSet[Arm]" = weakref.WeakSet()  # every simulated ARM of this process (the kube side asks them)


def register(arm: "Arm") -> None:
    _ARMS.add(arm)
    r = arm._route
    r("GET", _SCOPE + _AUTH + r"roleassignments", lambda req, scope: _foreign(arm, scope) or _list(arm, req, scope))
    r("PUT|GET|DELETE", _SCOPE + _AUTH + r"roleassignments/(?P<name>[^/]+)",
      lambda req, scope, name: _foreign(arm, scope) or _assignment(arm, req, scope, name))
    r("GET", _SCOPE + _AUTH + r"roledefinitions", lambda req, scope: _definitions(arm, req))
    r("GET", _SCOPE + _AUTH + r"roledefinitions/(?P<rid>[^/]+)", lambda req, scope, rid: _definition(arm, rid))


def _foreign(arm: "Arm", scope: str) -> "Response | None":
    sub = scope.split("/")[2]
    if sub.lower() != arm.world.subscription_id:
        return _error(404, "SubscriptionNotFound", f"The subscription '{sub}' could not be found.")
    return None


# ---------------------------------------------------------------------------------------------- responses
def _resp(status: int, body: Any = None, changed: bool = False) -> "Response":
    from wizard.sim.arm import Response
    return Response(status, body, changed=changed)


def _error(status: int, code: str, message: str) -> "Response":
    from wizard.sim.arm import arm_error
    return arm_error(status, code, message)


def definition_id(arm: "Arm", guid: str) -> str:
    return f"/subscriptions/{arm.world.subscription_id}/providers/{DEFINITION_TYPE}/{guid}"


def _definition_body(arm: "Arm", guid: str) -> dict[str, Any]:
    d = BUILT_IN[guid]
    return {"id": definition_id(arm, guid), "name": guid, "type": DEFINITION_TYPE, "properties": {
        "roleName": d["roleName"], "type": "BuiltInRole", "description": f"{d['roleName']} (built-in role)",
        "assignableScopes": ["/"], "permissions": [{k: list(d.get(k, [])) for k in (
            "actions", "notActions", "dataActions", "notDataActions")}],
        "createdOn": "2015-02-02T21:55:09.8806423Z", "updatedOn": "2025-01-01T00:00:00.0000000Z",
        "createdBy": None, "updatedBy": None}}


def _definitions(arm: "Arm", req: "Request") -> "Response":
    flt = req.q("$filter") or ""
    wanted = re.fullmatch(r"\s*rolename\s+eq\s+'([^']*)'\s*", flt, re.IGNORECASE)
    if flt and not wanted and not re.fullmatch(r"\s*type\s+eq\s+'BuiltInRole'\s*", flt, re.IGNORECASE):
        return _error(400, "InvalidFilter", f"The filter '{flt}' is not supported.")
    return _resp(200, {"value": [_definition_body(arm, g) for g, d in BUILT_IN.items()
                                 if not wanted or d["roleName"].lower() == wanted.group(1).lower()]})


def _definition(arm: "Arm", rid: str) -> "Response":
    if rid.lower() not in BUILT_IN:
        return _error(404, "RoleDefinitionDoesNotExist", f"The specified role definition with ID '{rid}' does not exist.")
    return _resp(200, _definition_body(arm, rid.lower()))


# ---------------------------------------------------------------------------------------------- assignments
def _seeded(arm: "Arm") -> list[dict[str, Any]]:
    """The subscription's own assignments from before any run: its creator (the simulated user) is Owner, the
    deployment pipeline's service principal Contributor (it may create clusters, not grant roles)."""
    sub = f"/subscriptions/{arm.world.subscription_id}"
    return [_record(arm, sub, name, role, p.object_id, p.kind, "", 0.0, seeded=True) for name, role, p in (
        ("2f0e8c4a-6b1d-4e3f-9a7c-5d2b8e1f4a60", OWNER, USER),
        ("7c5a3e1f-9b8d-4f2a-8c6e-1d3f5b7a9c24", CONTRIBUTOR, PIPELINE))]


def _record(arm: "Arm", scope: str, name: str, role_guid: str, principal_id: str, kind: str, description: str,
            effective_at: float, seeded: bool = False, created_by: str | None = None) -> dict[str, Any]:
    from wizard.sim.arm import iso

    when = "2025-01-01T00:00:00.0000000Z" if seeded else iso(arm.now())
    return {"effective_at": effective_at, "body": {
        "id": f"{scope}/providers/{ASSIGNMENT_TYPE}/{name}", "name": name, "type": ASSIGNMENT_TYPE, "properties": {
            "roleDefinitionId": definition_id(arm, role_guid), "principalId": principal_id, "principalType": kind,
            "scope": scope, "condition": None, "conditionVersion": None, "createdOn": when, "updatedOn": when,
            "createdBy": created_by, "updatedBy": created_by, "delegatedManagedIdentityResourceId": None,
            "description": description or None}}}


def _exists(arm: "Arm", scope: str) -> bool:
    """Does the scope's resource exist (subscriptions always; groups and clusters as the world holds them)?"""
    m = re.fullmatch(r"/subscriptions/[^/]+(?:/resourcegroups/(?P<rg>[^/]+)(?:/providers/microsoft\.containerservice/"
                     r"managedclusters/(?P<mc>[^/]+)(?:/namespaces/[^/]+)?|/providers/.+)?)?", scope, re.IGNORECASE)
    if m is None:
        return False
    rg, mc = (m.group("rg") or "").lower(), (m.group("mc") or "").lower()
    return (not rg or rg in arm.world.resource_groups) and (not mc or f"{rg}/{mc}" in arm.world.clusters)


def live(arm: "Arm", prune: bool = True) -> list[dict[str, Any]]:
    """Every assignment of the subscription (seeded and created) whose scope still exists: Azure removes the
    assignments of a deleted resource with it (pruned from the store under ARM's lock; the kube side only reads)."""
    store = arm.world.role_assignments
    gone = [k for k, rec in list(store.items()) if not _exists(arm, rec["body"]["properties"]["scope"])]
    for key in gone if prune else ():
        store.pop(key, None)
    return _seeded(arm) + [rec for k, rec in list(store.items()) if k not in gone]


def _under(scope: str, parent: str) -> bool:
    s, p = scope.lower().rstrip("/"), parent.lower().rstrip("/")
    return s == p or s.startswith(p + "/")


def _caller(req: "Request") -> dict[str, Any] | None:
    claims = claims_of(req.headers.get("authorization") or "")
    return claims if claims and str(claims.get("aud", "")).rstrip("/") == ARM_AUDIENCE.rstrip("/") else None


def may(arm: "Arm", claims: dict[str, Any], action: str, scope: str) -> bool:
    """Does an ARM caller hold `action` (by actions/notActions) over scope, directly or through its groups?"""
    ids = {str(claims.get("oid", "")).lower(), *(str(g).lower() for g in claims.get("groups") or [])}
    for rec in live(arm):
        p = rec["body"]["properties"]
        role = BUILT_IN.get(p["roleDefinitionId"].rsplit("/", 1)[-1].lower())
        if role and p["principalId"].lower() in ids and _under(scope, p["scope"]) and permits(
                role.get("actions", []), role.get("notActions", []), action):
            return True
    return False


def permits(allowed: list[str], denied: list[str], action: str) -> bool:
    """Azure's wildcard match of an action against a role's allowed and excluded patterns (case-insensitive)."""
    def match(pattern: str) -> bool:
        return re.fullmatch(re.escape(pattern).replace(r"\*", ".*"), action, re.IGNORECASE) is not None
    return any(match(a) for a in allowed) and not any(match(d) for d in denied)


def _forbidden(claims: dict[str, Any], action: str, scope: str) -> "Response":
    who = claims.get("upn") or claims.get("appid") or claims.get("oid")
    return _error(403, "AuthorizationFailed", f"The client '{who}' with object id '{claims.get('oid')}' does not have "
                  f"authorization to perform action '{action}' over scope '{scope}' or the scope is invalid. If access "
                  "was recently granted, please refresh your credentials.")


def _assignment(arm: "Arm", req: "Request", scope: str, name: str) -> "Response":
    claims = _caller(req)
    if claims is None:
        return _error(401, "InvalidAuthenticationToken", "The access token is invalid.")
    key = f"{scope}/providers/{ASSIGNMENT_TYPE}/{name}".lower()
    if req.method != "GET" and not _exists(arm, scope):
        return _error(404, "ResourceNotFound", f"The scope '{scope}' does not exist.")
    live(arm)
    rec = arm.world.role_assignments.get(key) or next(
        (r for r in _seeded(arm) if r["body"]["id"].lower() == key), None)
    if req.method == "GET":
        return _resp(200, rec["body"]) if rec else _error(
            404, "RoleAssignmentNotFound", f"The role assignment '{name}' is not found.")
    verb = "write" if req.method == "PUT" else "delete"
    if not may(arm, claims, f"Microsoft.Authorization/roleAssignments/{verb}", scope):
        return _forbidden(claims, f"Microsoft.Authorization/roleAssignments/{verb}", scope)
    if req.method == "DELETE":
        if rec is None:
            return _resp(204)
        arm.world.role_assignments.pop(key, None)
        return _resp(200, rec["body"], changed=True)
    return _put(arm, req, scope, name, key, claims)


def _put(arm: "Arm", req: "Request", scope: str, name: str, key: str, claims: dict[str, Any]) -> "Response":
    try:
        uuid.UUID(name)
    except ValueError:
        return _error(400, "InvalidRoleAssignmentId", f"The role assignment ID '{name}' is not valid. The role "
                      "assignment ID must be a GUID.")
    props = ((req.json() or {}).get("properties") or {}) if isinstance(req.json(), dict) else {}
    role_guid = str(props.get("roleDefinitionId") or "").rsplit("/", 1)[-1].lower()
    principal_id = str(props.get("principalId") or "").lower()
    if not role_guid or not principal_id:
        return _error(400, "InvalidRequestContent", "The request content was invalid: properties.roleDefinitionId "
                      "and properties.principalId are required.")
    if role_guid not in BUILT_IN:
        return _error(400, "RoleDefinitionDoesNotExist",
                      f"The specified role definition with ID '{role_guid}' does not exist.")
    principal = PRINCIPALS.get(principal_id)
    from wizard.sim.credential import GROUPS

    if principal is None and principal_id not in GROUPS:
        return _error(400, "PrincipalNotFound", f"Principal {principal_id.replace('-', '')} does not exist in the "
                      f"directory {arm.world.tenant_id}. Check that you have the correct principal ID. If you are "
                      "creating this principal and then immediately assigning a role, this error might be related "
                      "to a replication delay. In this case, set the role assignment principalType property to a "
                      "value, such as ServicePrincipal, User, or Group. See https://aka.ms/docs-principaltype")
    for other in live(arm):
        p = other["body"]["properties"]
        if (p["principalId"].lower() == principal_id and p["scope"].lower() == scope.lower()
                and p["roleDefinitionId"].rsplit("/", 1)[-1].lower() == role_guid):
            return _error(409, "RoleAssignmentExists", "The role assignment already exists.")
    kind = principal.kind if principal else "Group"
    arm.world.role_assignments[key] = _record(
        arm, scope, name, role_guid, principal_id, kind, str(props.get("description") or ""),
        arm.now() + arm.duration(PROPAGATION), created_by=str(claims.get("oid") or "") or None)
    return _resp(201, arm.world.role_assignments[key]["body"], changed=True)


def _list(arm: "Arm", req: "Request", scope: str) -> "Response":
    flt = (req.q("$filter") or "").strip()
    at_scope, principal, assigned = False, None, None
    for term in (t.strip() for t in re.split(r"\s+and\s+", flt, flags=re.IGNORECASE) if t.strip()):
        if term.lower() == "atscope()":
            at_scope = True
        elif m := re.fullmatch(r"principalid\s+eq\s+'([^']+)'", term, re.IGNORECASE):
            principal = m.group(1).lower()
        elif m := re.fullmatch(r"assignedto\('([^']+)'\)", term, re.IGNORECASE):
            assigned = m.group(1).lower()
        else:
            return _error(400, "InvalidFilter", f"The filter '{flt}' is not supported.")
    ids = None
    if assigned is not None:
        p = PRINCIPALS.get(assigned)
        ids = {assigned, *(g.lower() for g in (p.groups if p else ()))}
    out = []
    for rec in live(arm):
        p = rec["body"]["properties"]
        above = _under(scope, p["scope"])
        if not (above or (not at_scope and _under(p["scope"], scope))):
            continue
        if (principal and p["principalId"].lower() != principal) or (ids is not None and p["principalId"].lower()
                                                                      not in ids):
            continue
        out.append(rec["body"])
    return _resp(200, {"value": out})


# ---------------------------------------------------------------------------------------------- the kube side
def effective(cluster: Any, now: float) -> list[dict[str, Any]] | None:
    """The assignments that AKS's authorization server of this simulated Kubernetes cluster (a kube store
    Cluster) knows now (propagated), with their role definitions; None when no simulated ARM of this process
    serves it. Found by identity: several simulators of one process (tests) may hold clusters of the same id."""
    for arm in list(_ARMS):
        served = getattr(arm.kube, "_clusters", None) or {}  # read without its lock: the caller holds it
        if served.get(cluster.kube_id) is cluster:
            return [{"properties": rec["body"]["properties"],
                     "role": BUILT_IN.get(rec["body"]["properties"]["roleDefinitionId"].rsplit("/", 1)[-1].lower(), {})}
                    for rec in live(arm, prune=False) if rec["effective_at"] <= now]
    return None
