"""Azure Monitor resources of the simulated Azure: what `az aks create --enable-azure-monitor-metrics` creates
besides the cluster PUT (azure-cli acs/azuremonitormetrics): an Azure Monitor workspace (Microsoft.Monitor/accounts,
api 2023-04-03), a data collection endpoint and rule (Microsoft.Insights/dataCollectionEndpoints|Rules) and the
rule's association with the cluster (an extension resource under the managed cluster).

Wire behaviour as ARM's: PUT answers 201 (new) or 200 (existing) with the resource, synchronously (none of these
is a long-running operation in their REST specs); a workspace reports provisioningState Creating until its
simulated creation time has passed, then Succeeded. Deleting a workspace is long-running (api 2023-04-03: 202
with Location and Azure-AsyncOperation, final state via Location; 204 when there is none): it reads Deleting,
and refuses a PUT, until its operation completes, then 404. Rules, endpoints and associations are deleted at once
(200, or 204). The resource provider must be registered first (Arm answers 409 MissingSubscriptionRegistration
otherwise, for every request to an unregistered namespace).
Stored in `World.monitor`, keyed by lower-case resource id, so --sim-state persists them.
"""
from __future__ import annotations

import copy
import hashlib
import uuid
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wizard.sim.arm import Arm, Request, Response
    from wizard.sim.arm.rooms import Rooms

WORKSPACE_CREATE = 20.0  # typical seconds until a new Azure Monitor workspace is Succeeded
WORKSPACE_DELETE = 30.0  # typical seconds until a deleted workspace is gone
WORKSPACE_API = "2023-04-03"

_RGP = r"/subscriptions/(?P<sub>[^/]+)/resourcegroups/(?P<rg>[^/]+)/providers"
_MC = _RGP + r"/microsoft\.containerservice/managedclusters/(?P<name>[^/]+)"

TYPES = {
    "accounts": ("Microsoft.Monitor", "Microsoft.Monitor/accounts"),
    "datacollectionendpoints": ("Microsoft.Insights", "Microsoft.Insights/dataCollectionEndpoints"),
    "datacollectionrules": ("Microsoft.Insights", "Microsoft.Insights/dataCollectionRules"),
}
DCRA_TYPE = "Microsoft.Insights/dataCollectionRuleAssociations"


def register(arm: "Arm") -> None:
    """Add the Azure Monitor routes to an Arm (called from Arm.__init__)."""
    r = arm._route
    r("PUT|GET|DELETE", _RGP + r"/microsoft\.monitor/accounts/(?P<name>[^/]+)",
      lambda req, rg, name: _tracked(arm, req, rg, "accounts", name))
    r("PUT|GET|DELETE", _RGP + r"/microsoft\.insights/datacollectionendpoints/(?P<name>[^/]+)",
      lambda req, rg, name: _tracked(arm, req, rg, "datacollectionendpoints", name))
    r("PUT|GET|DELETE", _RGP + r"/microsoft\.insights/datacollectionrules/(?P<name>[^/]+)",
      lambda req, rg, name: _tracked(arm, req, rg, "datacollectionrules", name))
    r("GET", r"/subscriptions/(?P<sub>[^/]+)/providers/microsoft\.monitor/locations/(?P<loc>[^/]+)/"
             r"operationstatuses/(?P<op>[^/]+)", lambda req, loc, op: _operation(arm, op, status=True))
    r("GET", r"/subscriptions/(?P<sub>[^/]+)/providers/microsoft\.monitor/locations/(?P<loc>[^/]+)/"
             r"operationresults/(?P<op>[^/]+)", lambda req, loc, op: _operation(arm, op, status=False))
    r("GET", _RGP + r"/microsoft\.monitor/accounts",
      lambda req, rg: _list(arm, rg, "Microsoft.Monitor/accounts"))
    r("GET", _RGP + r"/microsoft\.insights/datacollectionendpoints",
      lambda req, rg: _list(arm, rg, "Microsoft.Insights/dataCollectionEndpoints"))
    r("GET", _RGP + r"/microsoft\.insights/datacollectionrules",
      lambda req, rg: _list(arm, rg, "Microsoft.Insights/dataCollectionRules"))
    r("GET", r"/subscriptions/(?P<sub>[^/]+)/providers/microsoft\.insights/datacollectionrules",
      lambda req: _resp(200, {"value": [_served(arm, r) for r in arm.world.monitor.values()
                                        if r["type"] == "Microsoft.Insights/dataCollectionRules"]}))
    r("GET", _RGP + r"/microsoft\.insights/datacollectionrules/(?P<name>[^/]+)/associations",
      lambda req, rg, name: _rule_associations(arm, rg, name))
    r("PUT|GET|DELETE", _MC + r"/providers/microsoft\.insights/datacollectionruleassociations/(?P<assoc>[^/]+)",
      lambda req, rg, name, assoc: _association(arm, req, rg, name, assoc))
    r("GET", _MC + r"/providers/microsoft\.insights/datacollectionruleassociations",
      lambda req, rg, name: _list_associations(arm, rg, name))


# ------------------------------------------------------------------------------------------ helpers
def _resp(status: int, body: Any = None, changed: bool = False) -> "Response":
    from wizard.sim.arm import Response
    return Response(status, body, changed=changed)


def _error(status: int, code: str, message: str) -> "Response":
    from wizard.sim.arm import arm_error
    return arm_error(status, code, message)


def _not_found(rtype: str, name: str, rg: str) -> "Response":
    from wizard.sim.arm import NOT_FOUND_FIX
    return _error(404, "ResourceNotFound", f"The Resource '{rtype}/{name}' under resource group '{rg}' was not found. "
                                           f"{NOT_FOUND_FIX}")


def _served(arm: "Arm", rec: dict[str, Any]) -> dict[str, Any]:
    body = copy.deepcopy(rec["body"])
    if rec.get("deleting") is not None:
        body["properties"]["provisioningState"] = "Deleting"
    elif rec.get("ready_at") is not None:
        done = not arm.held and arm.now() >= rec["ready_at"]  # a held simulator completes nothing
        body["properties"]["provisioningState"] = "Succeeded" if done else "Creating"
    return body


def _json_body(req: "Request") -> dict[str, Any] | None:
    """The request's JSON object (empty when there is no body), or None when it is not JSON."""
    try:
        return req.json() or {}
    except ValueError:
        return None


def _system_data(arm: "Arm", old: dict[str, Any] | None) -> dict[str, Any]:
    from wizard.sim.arm import iso
    ts = iso(arm.now())
    created = (old or {}).get("systemData", {}).get("createdAt", ts)
    return {"createdBy": "simulated-user@example.com", "createdByType": "User", "createdAt": created,
            "lastModifiedBy": "simulated-user@example.com", "lastModifiedByType": "User", "lastModifiedAt": ts}


def _short(text: str, n: int = 4) -> str:
    return hashlib.sha1(text.lower().encode()).hexdigest()[:n]


def _tracked(arm: "Arm", req: "Request", rg: str, kind: str, name: str) -> "Response":
    namespace, rtype = TYPES[kind]
    sub = arm.world.subscription_id
    rid = f"/subscriptions/{sub}/resourceGroups/{rg}/providers/{rtype}/{name}"
    key = rid.lower()
    rec = arm.world.monitor.get(key)
    if req.method == "GET":
        if rec is None:
            return _not_found(rtype, name, rg)
        return _resp(200, _served(arm, rec))
    if req.method == "DELETE":
        if rec is None:
            return _resp(204)
        if kind == "accounts":
            return _delete_workspace(arm, rec, key)
        arm.world.monitor.pop(key, None)
        return _resp(200, changed=True)
    if rec is not None and rec.get("deleting") is not None:
        return _error(409, "Conflict", f"The resource '{name}' is being deleted; try again when the deletion "
                                       "has finished.")
    return _put_tracked(arm, req, rg, kind, name, rid, rec)


def _delete_workspace(arm: "Arm", rec: dict[str, Any], key: str) -> "Response":
    """Accepted: the workspace reads Deleting until its operation completes (Arm.advance removes it)."""
    from wizard.sim.arm import Response

    op = arm.world.operations.get(rec.get("deleting") or "")
    if op is None:
        loc = rec["body"]["location"]
        op = arm._new_op("workspace_delete", loc, WORKSPACE_DELETE, resource=key)
        rec["deleting"] = op["id"]
    base = (f"{arm.base_url}/subscriptions/{arm.world.subscription_id}/providers/Microsoft.Monitor/locations/"
            f"{op['location']}")
    return Response(202, None, {"Location": f"{base}/operationResults/{op['id']}?api-version={WORKSPACE_API}",
                                "Azure-AsyncOperation": f"{base}/operationStatuses/{op['id']}?api-version="
                                                        f"{WORKSPACE_API}"}, changed=True)


def _operation(arm: "Arm", op_id: str, status: bool) -> "Response":
    """A workspace deletion's operation: its status document, or its result (202 while it runs, then 204)."""
    from wizard.sim.arm import Response, iso

    op = arm.world.operations.get(op_id)
    if op is None or op["kind"] != "workspace_delete":
        return _error(404, "NotFound", f"Operation '{op_id}' was not found.")
    if not status:
        return Response(204) if op["done"] else Response(202)
    body = {"id": op_id, "name": op_id, "status": "Succeeded" if op["done"] else "InProgress",
            "startTime": iso(op["start"])}
    if op["done"]:
        body["endTime"] = iso(op["end"])
    return Response(200, body)


def _put_tracked(arm: "Arm", req: "Request", rg: str, kind: str, name: str, rid: str,
                 rec: dict[str, Any] | None) -> "Response":
    _, rtype = TYPES[kind]
    group = arm.world.resource_groups.get(rg.lower())
    if group is None:
        return _error(404, "ResourceGroupNotFound", f"Resource group '{rg}' could not be found.")
    body = _json_body(req)
    if body is None:
        return _error(400, "InvalidRequestContent", "The request content was invalid and could not be deserialized.")
    from wizard.sim.arm import _Reject
    try:
        location = arm._check_location(body.get("location"), rtype)
    except _Reject as r:
        return r.response
    if rec is not None and rec["body"]["location"] != location:
        return _error(409, "InvalidResourceLocation",
                      f"The resource '{name}' already exists in location '{rec['body']['location']}' in resource "
                      f"group '{rg}'. A resource with the same name cannot be created in location '{location}'. "
                      "Please select a new resource name.")
    props = copy.deepcopy(body.get("properties") or {})
    old_body = rec["body"] if rec else None
    old_props = (old_body or {}).get("properties", {})
    ready_at = rec.get("ready_at") if rec else None
    if kind == "accounts":
        _account_props(arm, props, old_props, name, location)
        if rec is None:
            ready_at = arm.now() + arm.duration(WORKSPACE_CREATE)
    elif kind == "datacollectionendpoints":
        _endpoint_props(props, old_props, name, location)
    else:
        refused = _rule_props(arm, props, old_props)
        if refused is not None:
            return refused
    out = {"id": rid if rec is None else rec["body"]["id"], "name": name if rec is None else rec["body"]["name"],
           "type": rtype, "location": location, "tags": dict(body.get("tags") or {}),
           "properties": props, "systemData": _system_data(arm, old_body)}
    if body.get("kind"):
        out["kind"] = body["kind"]
    if kind != "accounts":
        out["etag"] = f'"{uuid.uuid4()}"'
    key = rid.lower()
    arm.world.monitor[key] = {"rg": rg.lower(), "type": rtype, "body": out, "ready_at": ready_at, "cluster": None}
    return _resp(201 if rec is None else 200, _served(arm, arm.world.monitor[key]), changed=True)


def _account_props(arm: "Arm", props: dict[str, Any], old_props: dict[str, Any], name: str, location: str) -> None:
    """An Azure Monitor workspace: its Prometheus query endpoint and default ingestion rule and endpoint."""
    sub = arm.world.subscription_id
    immutable = old_props.get("accountId") or str(uuid.uuid4())
    managed = f"MA_{name}_{location}_managed"
    props.update({
        "accountId": immutable,
        "metrics": {"prometheusQueryEndpoint":
                    f"https://{name.lower()}-{_short(immutable)}.{location}.prometheus.monitor.azure.com",
                    "internalId": f"mac_{immutable}"},
        "defaultIngestionSettings": {
            "dataCollectionRuleResourceId": f"/subscriptions/{sub}/resourceGroups/{managed}/providers/"
                                            f"Microsoft.Insights/dataCollectionRules/{name}",
            "dataCollectionEndpointResourceId": f"/subscriptions/{sub}/resourceGroups/{managed}/providers/"
                                                f"Microsoft.Insights/dataCollectionEndpoints/{name}"},
        "publicNetworkAccess": props.get("publicNetworkAccess", "Enabled"),
        "provisioningState": "Succeeded",
    })


def _endpoint_props(props: dict[str, Any], old_props: dict[str, Any], name: str, location: str) -> None:
    immutable = old_props.get("immutableId") or f"dce-{uuid.uuid4().hex}"
    host = f"{name.lower()}-{_short(immutable)}.{location}-1"
    props.update({
        "immutableId": immutable,
        "configurationAccess": {"endpoint": f"https://{host}.handler.control.monitor.azure.com"},
        "logsIngestion": {"endpoint": f"https://{host}.ingest.monitor.azure.com"},
        "metricsIngestion": {"endpoint": f"https://{host}.metrics.ingest.monitor.azure.com"},
        "networkAcls": props.get("networkAcls") or {"publicNetworkAccess": "Enabled"},
        "provisioningState": "Succeeded",
    })


def _rule_props(arm: "Arm", props: dict[str, Any], old_props: dict[str, Any]) -> "Response | None":
    """A data collection rule: its references must exist (the refusal), else its immutable id."""
    dce = props.get("dataCollectionEndpointId")
    if dce and dce.lower() not in arm.world.monitor:
        return _error(400, "InvalidPayload", f"Data collection rule is invalid: dataCollectionEndpointId "
                                             f"'{dce}' does not exist.")
    for acct in ((props.get("destinations") or {}).get("monitoringAccounts") or []):
        aid = str(acct.get("accountResourceId") or "")
        if aid.lower() not in arm.world.monitor:
            return _error(400, "InvalidPayload", f"Data collection rule is invalid: destinations."
                                                 f"monitoringAccounts: account '{aid}' does not exist.")
    immutable = old_props.get("immutableId") or f"dcr-{uuid.uuid4().hex}"
    props.update({"immutableId": immutable, "provisioningState": "Succeeded"})
    return None


def _list(arm: "Arm", rg: str, rtype: str) -> "Response":
    return _resp(200, {"value": [_served(arm, r) for r in arm.world.monitor.values()
                                 if r["rg"] == rg.lower() and r["type"] == rtype]})


def _association(arm: "Arm", req: "Request", rg: str, name: str, assoc: str) -> "Response":
    ckey = arm._ckey(rg, name)
    cluster = arm.world.clusters.get(ckey)
    if cluster is None:
        from wizard.sim.arm import CS
        return _not_found(f"{CS}/managedClusters", name, rg)
    rid = f"{cluster['body']['id']}/providers/{DCRA_TYPE}/{assoc}"
    key = rid.lower()
    rec = arm.world.monitor.get(key)
    if req.method == "GET":
        if rec is None:
            return _error(404, "ResourceNotFound", f"Data collection rule association '{assoc}' was not found.")
        return _resp(200, copy.deepcopy(rec["body"]))
    if req.method == "DELETE":
        if rec is None:
            return _resp(204)
        arm.world.monitor.pop(key, None)
        return _resp(200, changed=True)
    body = _json_body(req)
    if body is None:
        return _error(400, "InvalidRequestContent", "The request content was invalid and could not be deserialized.")
    props = copy.deepcopy(body.get("properties") or {})
    dcr = str(props.get("dataCollectionRuleId") or "")
    dce = str(props.get("dataCollectionEndpointId") or "")
    if not dcr and not dce:
        return _error(400, "InvalidPayload", "Data collection rule association is invalid: one of "
                                             "dataCollectionRuleId or dataCollectionEndpointId is required.")
    for ref in (dcr, dce):
        if ref and ref.lower() not in arm.world.monitor:
            return _error(400, "InvalidPayload", f"Data collection rule association is invalid: '{ref}' does not "
                                                 "exist.")
    props["provisioningState"] = "Succeeded"
    out = {"id": rid, "name": assoc, "type": DCRA_TYPE, "properties": props,
           "systemData": _system_data(arm, rec["body"] if rec else None), "etag": f'"{uuid.uuid4()}"'}
    arm.world.monitor[key] = {"rg": rg.lower(), "type": DCRA_TYPE, "body": out, "ready_at": None, "cluster": ckey}
    return _resp(201 if rec is None else 200, copy.deepcopy(out), changed=True)


def _rule_associations(arm: "Arm", rg: str, name: str) -> "Response":
    """GET .../dataCollectionRules/{name}/associations: every association (on any resource) using the rule."""
    rule = f"/subscriptions/{arm.world.subscription_id}/resourcegroups/{rg}/providers/microsoft.insights/" \
           f"datacollectionrules/{name}".lower()
    if rule not in arm.world.monitor:
        return _not_found("Microsoft.Insights/dataCollectionRules", name, rg)
    return _resp(200, {"value": [copy.deepcopy(r["body"]) for r in arm.world.monitor.values()
                                 if r["type"] == DCRA_TYPE and
                                 str(r["body"]["properties"].get("dataCollectionRuleId") or "").lower() == rule]})


def _list_associations(arm: "Arm", rg: str, name: str) -> "Response":
    ckey = arm._ckey(rg, name)
    return _resp(200, {"value": [copy.deepcopy(r["body"]) for r in arm.world.monitor.values()
                                 if r.get("cluster") == ckey]})


# ------------------------------------------------------------------------------------------ lifecycle hooks
def group_resources(arm: "Rooms", rg: str) -> list[dict[str, Any]]:
    """Generic-resource views of the tracked Azure Monitor resources in a group (GET .../resources)."""
    out = []
    for r in arm.world.monitor.values():
        if r["rg"] == rg.lower() and r["type"] != DCRA_TYPE:
            b = r["body"]
            out.append({"id": b["id"], "name": b["name"], "type": b["type"], "location": b["location"],
                        "tags": b.get("tags", {}), **({"kind": b["kind"]} if b.get("kind") else {})})
    return out


def forget_group(arm: "Rooms", rg: str) -> None:
    for key in [k for k, r in arm.world.monitor.items() if r["rg"] == rg.lower()]:
        arm.world.monitor.pop(key, None)


def forget_cluster(arm: "Rooms", ckey: str) -> None:
    for key in [k for k, r in arm.world.monitor.items() if r.get("cluster") == ckey]:
        arm.world.monitor.pop(key, None)
