"""ARM resource handlers of the simulated Azure and its long-running operations.

`Arm.handle(Request) -> Response` is transport-free: the HTTP server (server.py) parses requests and writes
responses. Wire behaviour follows ../shared/arm/README.md: PUT of a cluster or pool answers 201/200 with the
resource (provisioningState Creating/Updating) and an absolute Azure-AsyncOperation URL on this server; the
operation status answers InProgress until its simulated duration has passed, then Succeeded (the resource
becomes Succeeded and the Kubernetes side is synced) or Failed with an ARM error. Operations complete by
wall-clock time, checked at the start of every request (`advance`). A held ARM (`hold`, for tests) completes
nothing: operations stay InProgress and registrations Registering until `release`.
"""
from __future__ import annotations

import base64
import copy
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from wizard.sim import latency
from wizard.sim.credential import KUBE_TOKEN
from wizard.sim.faults import FAULTS, FaultSet
from wizard.sim.state import SUBSCRIPTION_NAME, World, new_id

CATALOG_FILE = Path(__file__).resolve().parent / "data" / "catalog.json"
LTS_PLAN = "AKSLongTermSupport"
CS = "Microsoft.ContainerService"
NOT_FOUND_FIX = "For more details please go to https://aka.ms/ARMResourceNotFoundFix"


def load_catalog(path: Path = CATALOG_FILE) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


# ------------------------------------------------------------------------------------------ wire types
@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]          # lower-case keys
    body: bytes = b""

    def q(self, name: str, default: str | None = None) -> str | None:
        for k, v in self.query.items():
            if k.lower() == name.lower() and v:
                return v[0]
        return default

    def json(self) -> Any:
        if not self.body:
            return {}
        return json.loads(self.body.decode("utf-8"))


@dataclass
class Response:
    status: int
    body: Any = None                 # JSON-able, or None for no body
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False               # close the connection without answering
    changed: bool = False            # state changed (save when persisting)


def arm_error(status: int, code: str, message: str, headers: dict[str, str] | None = None,
              target: str | None = None) -> Response:
    """ARM's wrapped error body {"error": {"code", "message"}}."""
    err: dict[str, Any] = {"code": code, "message": message}
    if target:
        err["target"] = target
    return Response(status, {"error": err}, dict(headers or {}))


def aks_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    """AKS RP's top-level error body {"code", "details": null, "message", "subcode": ""}."""
    return Response(status, {"code": code, "details": None, "message": message, "subcode": ""}, dict(headers or {}))


class _Reject(Exception):
    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def _get(d: Any, *path: str) -> Any:
    for p in path:
        if not isinstance(d, dict):
            return None
        d = d.get(p)
    return d


def version_key(v: str) -> tuple[int, ...]:
    return tuple(int(p) for p in v.split(".") if p.isdigit())


def is_gpu_size(size: str | None) -> bool:
    return bool(size) and bool(re.match(r"(?i)^standard_n", size or ""))


# ------------------------------------------------------------------------------------------ the handler
_SUB = r"/subscriptions/(?P<sub>[^/]+)"
_RG = _SUB + r"/resourcegroups/(?P<rg>[^/]+)"
_MC = _RG + r"/providers/microsoft\.containerservice/managedclusters/(?P<name>[^/]+)"
_CSLOC = _SUB + r"/providers/microsoft\.containerservice/locations/(?P<loc>[^/]+)"
_FEAT = _SUB + r"/providers/microsoft\.features/providers/(?P<ns>[^/]+)/features"
_NAMESPACE = re.compile(r"/providers/([^/]+)/[^/]+", re.IGNORECASE)
_REGISTRATION = re.compile(_SUB + r"/providers/[^/]+/(register|unregister)$", re.IGNORECASE)


class Arm:
    """ARM of the simulated subscription over a `World`."""

    def __init__(self, world: World, faults: FaultSet, speed: float,
                 base_url: Callable[[], str], kube: Callable[[], Any],
                 typical: latency.Typical = latency.TYPICAL, catalog: dict[str, Any] | None = None) -> None:
        self.world = world
        self.faults = faults
        self.speed = speed
        self._base_url = base_url
        self._kube = kube
        self.typical = typical
        self.ca_pem: bytes | None = None  # set by a TLS simulator: the CA its kubeconfigs name
        self.held = False  # while True, advance() completes nothing (Simulator.hold/release)
        self._conflicted: set[str] = set()  # clusters the conflict fault has already kept busy
        self._dropped: set[str] = set()  # resources whose PUT response the connection-drop fault has lost
        self.catalog = catalog or load_catalog()
        self.locations = {loc["name"]: loc for loc in self.catalog["locations"]}
        self.skus = {s["name"].lower(): s for s in self.catalog["skus"]}
        self._gpu_families = {s["family"] for s in self.catalog["skus"] if is_gpu_size(s["name"])}
        self.routes: list[tuple[str, re.Pattern[str], Callable[..., Response]]] = []
        r = self._route
        r("GET", r"/subscriptions", self.list_subscriptions)
        r("GET", _SUB, self.get_subscription)
        r("GET", _SUB + r"/locations", self.list_locations)
        r("GET", _SUB + r"/resourcegroups", self.list_groups)
        r("PUT|GET|HEAD|DELETE|PATCH", _RG, self.group)
        r("GET", _RG + r"/resources", self.list_group_resources)
        r("GET", _SUB + r"/operationresults/(?P<op>[^/]+)", self.group_operation_result)
        r("GET", _SUB + r"/providers", self.list_providers)
        r("GET", _SUB + r"/providers/microsoft\.features/features", self.list_all_features)
        r("GET", _FEAT, self.list_features)
        r("GET", _FEAT + r"/(?P<feature>[^/]+)", self.get_feature)
        r("POST", _FEAT + r"/(?P<feature>[^/]+)/(?P<action>register|unregister)", self.register_feature)
        r("GET", _CSLOC + r"/kubernetesversions", self.kubernetes_versions)
        r("GET", _CSLOC + r"/meshrevisionprofiles", self.mesh_revision_profiles)
        r("GET", _CSLOC + r"/meshrevisionprofiles/(?P<mode>[^/]+)", self.mesh_revision_profile)
        r("GET", _CSLOC + r"/operations/(?P<op>[^/]+)", self.operation_status)
        r("GET", _CSLOC + r"/operationresults/(?P<op>[^/]+)", self.operation_result)
        r("GET", _SUB + r"/providers/microsoft\.containerservice/managedclusters", self.list_all_clusters)
        r("GET", _SUB + r"/providers/microsoft\.compute/skus", self.list_skus)
        r("GET", _SUB + r"/providers/microsoft\.compute/locations/(?P<loc>[^/]+)/usages", self.list_usages)
        r("GET", _SUB + r"/providers/(?P<ns>[^/]+)", self.get_provider)
        r("POST", _SUB + r"/providers/(?P<ns>[^/]+)/(?P<action>register|unregister)", self.register_provider)
        r("GET", _RG + r"/providers/microsoft\.containerservice/managedclusters", self.list_group_clusters)
        r("PUT|GET|DELETE", _MC, self.cluster)
        r("POST", _MC + r"/(?P<action>listclusterusercredential|listclusteradmincredential"
                        r"|listclustermonitoringusercredential)", self.credentials)
        r("GET", _MC + r"/agentpools", self.list_pools)
        r("GET", _MC + r"(?:/agentpools/(?P<pool>[^/]+))?/operations/latest", self.latest_operation)
        r("PUT|GET|DELETE", _MC + r"/agentpools/(?P<pool>[^/]+)", self.pool)
        from wizard.sim import authorization, monitor, network  # + role assignments and definitions
        authorization.register(self)
        monitor.register(self)
        network.register(self)
        network.seed(self)

    def _route(self, methods: str, pattern: str, fn: Callable[..., Response]) -> None:
        self.routes.append((methods, re.compile(pattern, re.IGNORECASE), fn))

    @property
    def base_url(self) -> str:
        return self._base_url()

    @property
    def kube(self) -> Any:
        return self._kube()

    # ------------------------------------------------------------------------------------ dispatch
    def handle(self, req: Request) -> Response:
        path = req.path.rstrip("/") or "/"
        allowed: set[str] = set()
        for methods, pattern, fn in self.routes:
            m = pattern.fullmatch(path)
            if not m:
                continue
            ms = set(methods.split("|"))
            if req.method not in ms:
                allowed |= ms
                continue
            if not req.q("api-version"):
                return arm_error(400, "MissingApiVersionParameter",
                                 "The api-version query parameter (?api-version=) is required for all requests.")
            groups = m.groupdict()
            sub = groups.pop("sub", None)
            if sub is not None and sub.lower() != self.world.subscription_id:
                return arm_error(404, "SubscriptionNotFound", f"The subscription '{sub}' could not be found.")
            refused = self._unregistered(path)
            if refused is not None:
                return refused
            with self.world.lock:
                self.advance()
                try:
                    return fn(req, **groups)
                except _Reject as r:
                    return r.response
        if allowed:
            return arm_error(405, "MethodNotAllowed",
                             f"The requested resource does not support http method '{req.method}'.")
        return arm_error(404, "InvalidResourceType" if "/providers/" in path.lower() else "NotFound",
                         f"The simulated Azure has no route for '{req.method} {req.path}'.")

    def _unregistered(self, path: str) -> Response | None:
        """ARM refuses any request (reads too) routed to a resource provider the subscription has not registered:
        409 MissingSubscriptionRegistration. The provider's own registration, its GET, and Microsoft.Features
        (feature flags of any namespace) are served by ARM itself. An extension resource goes to the last
        namespace in its id (a data collection rule association under a cluster: Microsoft.Insights)."""
        found = _NAMESPACE.findall(path)
        if not found or found[0].lower() == "microsoft.features" or _REGISTRATION.search(path):
            return None
        ns = found[-1]
        with self.world.lock:
            rec = self.world.providers.get(ns.lower())
            if rec is None or rec["state"] == "Registered":
                return None
        return arm_error(409, "MissingSubscriptionRegistration",
                         f"The subscription is not registered to use namespace '{rec['namespace']}'. See "
                         "https://aka.ms/rps-not-found for how to register subscriptions.", target=rec["namespace"])

    def api_version(self, req: Request) -> str:
        return req.q("api-version") or "2026-08-01"

    # ------------------------------------------------------------------------------------ time
    def now(self) -> float:
        return time.time()

    def duration(self, typical: float) -> float:
        return latency.scaled(typical, self.speed)

    def advance(self) -> bool:
        """Complete everything whose time has come (nothing while held). Returns True if anything changed."""
        if self.held:
            return False
        now = self.now()
        changed = False
        for rec in self.world.features.values():
            if rec["state"] == "Registering" and rec.get("ready_at") is not None and rec["ready_at"] <= now:
                rec["state"], rec["ready_at"] = "Registered", None
                changed = True
            elif rec["state"] == "Unregistering" and rec.get("ready_at") is not None and rec["ready_at"] <= now:
                rec["state"], rec["ready_at"] = "Unregistered", None
                changed = True
        for rec in self.world.providers.values():
            if rec["state"] in ("Registering", "Unregistering") and (rec.get("ready_at") or 0) <= now:
                rec["state"] = "Registered" if rec["state"] == "Registering" else "Unregistered"
                rec["ready_at"] = None
                changed = True
        for op in sorted(self.world.operations.values(), key=lambda o: o["start"]):
            if not op["done"] and op["start"] + op["duration"] <= now:
                self._complete(op)
                changed = True
        return changed

    def release(self, complete: bool = True) -> bool:
        """End a hold. With `complete`, whatever is pending becomes due now (operations, registrations,
        monitor resources) so it completes at once; otherwise it keeps its own simulated durations."""
        self.held = False
        if complete:
            now = self.now()
            for op in self.world.operations.values():
                if not op["done"]:
                    op["duration"] = min(op["duration"], max(0.0, now - op["start"]))
            for rec in (*self.world.features.values(), *self.world.providers.values(),
                        *self.world.monitor.values()):
                if rec.get("ready_at") is not None and rec["ready_at"] > now:
                    rec["ready_at"] = now
        return self.advance()

    # ------------------------------------------------------------------------------------ subscriptions
    def subscription_body(self) -> dict[str, Any]:
        sub = self.world.subscription_id
        return {
            "id": f"/subscriptions/{sub}", "subscriptionId": sub, "tenantId": self.world.tenant_id,
            "displayName": SUBSCRIPTION_NAME, "state": "Enabled", "authorizationSource": "RoleBased",
            "managedByTenants": [], "tags": {},
            "subscriptionPolicies": {"locationPlacementId": "Public_2014-09-01",
                                     "quotaId": "PayAsYouGo_2014-09-01", "spendingLimit": "Off"},
        }

    def list_subscriptions(self, req: Request) -> Response:
        return Response(200, {"value": [self.subscription_body()], "count": {"type": "Total", "value": 1}})

    def get_subscription(self, req: Request) -> Response:
        return Response(200, self.subscription_body())

    def list_locations(self, req: Request) -> Response:
        sub = self.world.subscription_id
        out = []
        for loc in self.catalog["locations"]:
            name = loc["name"]
            out.append({
                "id": f"/subscriptions/{sub}/locations/{name}", "name": name, "type": "Region",
                "displayName": loc["displayName"], "regionalDisplayName": loc["regionalDisplayName"],
                "metadata": {
                    "regionType": "Physical", "regionCategory": "Recommended" if "latitude" in loc else "Other",
                    "geographyGroup": loc["geographyGroup"],
                    **{k: loc[k] for k in ("geography", "latitude", "longitude", "physicalLocation") if k in loc},
                    **({"pairedRegion": [{"name": loc["pairedRegion"],
                                          "id": f"/subscriptions/{sub}/locations/{loc['pairedRegion']}"}]}
                       if "pairedRegion" in loc else {}),
                },
                "availabilityZoneMappings": [{"logicalZone": z, "physicalZone": f"{name}-az{z}"}
                                             for z in loc.get("zones", [])],
            })
        return Response(200, {"value": out})

    # ------------------------------------------------------------------------------------ resource groups
    def _rg_not_found(self, rg: str) -> _Reject:
        return _Reject(arm_error(404, "ResourceGroupNotFound", f"Resource group '{rg}' could not be found."))

    def _require_rg(self, rg: str) -> dict[str, Any]:
        rec = self.world.resource_groups.get(rg.lower())
        if rec is None or _get(rec, "body", "properties", "provisioningState") == "Deleting":
            raise self._rg_not_found(rg)
        return rec

    def _check_location(self, location: Any, resource_type: str) -> str:
        loc = str(location or "").replace(" ", "").lower()
        if not loc:
            raise _Reject(arm_error(400, "LocationRequired", "The location property is required for this definition."))
        if loc not in self.locations:
            names = ",".join(sorted(self.locations))
            raise _Reject(arm_error(400, "LocationNotAvailableForResourceType",
                                    f"The provided location '{location}' is not available for resource type "
                                    f"'{resource_type}'. List of available regions for the resource type is "
                                    f"'{names}'."))
        return loc

    def _put_group(self, name: str, location: str, tags: dict[str, Any] | None = None,
                   managed_by: str | None = None) -> tuple[dict[str, Any], bool]:
        key = name.lower()
        existing = self.world.resource_groups.get(key)
        body = {
            "id": f"/subscriptions/{self.world.subscription_id}/resourceGroups/{existing['body']['name'] if existing else name}",
            "name": existing["body"]["name"] if existing else name,
            "type": "Microsoft.Resources/resourceGroups",
            "location": location,
            "tags": dict(tags or {}),
            "properties": {"provisioningState": "Succeeded"},
        }
        if managed_by:
            body["managedBy"] = managed_by
        elif existing and existing["body"].get("managedBy"):
            body["managedBy"] = existing["body"]["managedBy"]
        self.world.resource_groups[key] = {"body": body}
        return body, existing is not None

    def group(self, req: Request, rg: str) -> Response:
        key = rg.lower()
        rec = self.world.resource_groups.get(key)
        if req.method == "HEAD":
            return Response(204 if rec is not None else 404)
        if req.method == "GET":
            if rec is None:
                raise self._rg_not_found(rg)
            return Response(200, rec["body"])
        if req.method in ("PUT", "PATCH"):
            try:
                body = req.json() or {}
            except ValueError:
                return arm_error(400, "InvalidRequestContent", "The request content was invalid and could not be deserialized.")
            if req.method == "PATCH":
                if rec is None:
                    raise self._rg_not_found(rg)
                tags = body.get("tags", rec["body"].get("tags"))
                out, _ = self._put_group(rg, rec["body"]["location"], tags)
                return Response(200, out, changed=True)
            if rec is not None and _get(rec, "body", "properties", "provisioningState") == "Deleting":
                return arm_error(409, "ResourceGroupBeingDeleted",
                                 f"The resource group '{rg}' is in deprovisioning state and cannot perform this operation.")
            location = self._check_location(body.get("location"), "Microsoft.Resources/resourceGroups")
            if rec is not None and rec["body"]["location"] != location:
                return arm_error(409, "InvalidResourceGroupLocation",
                                 f"Invalid resource group location '{location}'. The Resource group already exists "
                                 f"in location '{rec['body']['location']}'.")
            out, existed = self._put_group(rg, location, body.get("tags"), body.get("managedBy"))
            return Response(200 if existed else 201, out, changed=True)
        # DELETE
        if rec is None:
            raise self._rg_not_found(rg)
        if _get(rec, "body", "properties", "provisioningState") != "Deleting":
            rec["body"]["properties"]["provisioningState"] = "Deleting"
            op = self._new_op("rg_delete", rec["body"]["location"], self.typical.resource_group_delete
                              + sum(self.typical.cluster_delete for c in self.world.clusters.values()
                                    if c["rg"] == key), rg=key)
        else:
            op = next(o for o in self.world.operations.values()
                      if o["kind"] == "rg_delete" and o["rg"] == key and not o["done"])
        loc = f"{self.base_url}/subscriptions/{self.world.subscription_id}/operationresults/{op['id']}?api-version={self.api_version(req)}"
        return Response(202, None, {"Location": loc}, changed=True)

    def group_operation_result(self, req: Request, op: str) -> Response:
        rec = self.world.operations.get(op)
        if rec is None:
            return arm_error(404, "NotFound", f"The operation '{op}' could not be found.")
        if "status-drop" in self.faults:
            return Response(0, drop=True)
        if not rec["done"]:
            loc = f"{self.base_url}/subscriptions/{self.world.subscription_id}/operationresults/{op}?api-version={self.api_version(req)}"
            return Response(202, None, {"Location": loc})
        if rec["outcome"]["status"] != "Succeeded":
            return Response(200, {"error": rec["outcome"].get("error")})
        return Response(200, None)

    def list_groups(self, req: Request) -> Response:
        return Response(200, {"value": [r["body"] for r in self.world.resource_groups.values()]})

    def list_group_resources(self, req: Request, rg: str) -> Response:
        self._require_rg(rg)
        out = []
        for c in self.world.clusters.values():
            if c["rg"] == rg.lower():
                b = c["body"]
                out.append({"id": b["id"], "name": b["name"], "type": b["type"], "location": b["location"],
                            "tags": b.get("tags", {}), "sku": b.get("sku"), "identity": b.get("identity")})
        from wizard.sim import monitor, network
        out.extend(monitor.group_resources(self, rg))
        out.extend(network.group_resources(self, rg))
        return Response(200, {"value": out})

    # ------------------------------------------------------------------------------------ providers
    def provider_body(self, rec: dict[str, Any]) -> dict[str, Any]:
        ns = rec["namespace"]
        types: list[dict[str, Any]] = []
        if ns.lower() == CS.lower():
            names = [loc["displayName"] for loc in self.catalog["locations"]]
            for t in ("managedClusters", "managedClusters/agentPools", "locations", "locations/operations",
                      "locations/kubernetesVersions", "locations/meshRevisionProfiles"):
                types.append({"resourceType": t, "locations": names,
                              "apiVersions": ["2026-08-01", "2025-10-01", "2025-07-01"],
                              "capabilities": "SystemAssignedResourceIdentity, SupportsTags, SupportsLocation"
                              if t == "managedClusters" else "None"})
        elif ns.lower() == "microsoft.monitor":
            # where Azure Monitor workspaces can be created: azure-cli places the default one in the cluster's
            # region when listed here, else in the first listed
            types.append({"resourceType": "accounts", "apiVersions": ["2023-04-03"],
                          "locations": [loc["displayName"] for loc in self.catalog["locations"]],
                          "capabilities": "SupportsTags, SupportsLocation"})
        return {"id": f"/subscriptions/{self.world.subscription_id}/providers/{ns}", "namespace": ns,
                "registrationPolicy": "RegistrationRequired", "registrationState": rec["state"],
                "resourceTypes": types}

    def _provider(self, ns: str) -> dict[str, Any]:
        rec = self.world.providers.get(ns.lower())
        if rec is None:
            raise _Reject(arm_error(404, "InvalidResourceNamespace", f"The resource namespace '{ns}' is invalid."))
        return rec

    def list_providers(self, req: Request) -> Response:
        return Response(200, {"value": [self.provider_body(r) for r in self.world.providers.values()]})

    def get_provider(self, req: Request, ns: str) -> Response:
        return Response(200, self.provider_body(self._provider(ns)))

    def register_provider(self, req: Request, ns: str, action: str) -> Response:
        rec = self._provider(ns)
        if action.lower() == "register":
            # re-registering a registered provider (to pick up newly registered preview flags) also passes
            # through Registering for a while, as in Azure
            rec["state"] = "Registering"
            rec["ready_at"] = self.now() + self.duration(self.typical.provider_registration)
        else:
            if rec["state"] != "Unregistered":
                rec["state"] = "Unregistering"
                rec["ready_at"] = self.now() + self.duration(self.typical.provider_registration)
        return Response(200, self.provider_body(rec), changed=True)

    # ------------------------------------------------------------------------------------ features
    def feature_body(self, rec: dict[str, Any]) -> dict[str, Any]:
        ns, _, name = rec["name"].partition("/")
        return {"id": f"/subscriptions/{self.world.subscription_id}/providers/Microsoft.Features/providers/{ns}/features/{name}",
                "name": rec["name"], "type": "Microsoft.Features/providers/features",
                "properties": {"state": rec["state"]}}

    def _feature(self, ns: str, feature: str) -> dict[str, Any]:
        rec = self.world.features.get(f"{ns}/{feature}".lower())
        if rec is None:
            raise _Reject(arm_error(404, "FeatureNotFound", f"The feature '{feature}' could not be found."))
        return rec

    def feature_registered(self, flag: str) -> bool:
        rec = self.world.features.get(flag.lower())
        return bool(rec) and rec["state"] == "Registered"

    def list_all_features(self, req: Request) -> Response:
        return Response(200, {"value": [self.feature_body(r) for r in self.world.features.values()]})

    def list_features(self, req: Request, ns: str) -> Response:
        return Response(200, {"value": [self.feature_body(r) for r in self.world.features.values()
                                        if r["name"].lower().startswith(ns.lower() + "/")]})

    def get_feature(self, req: Request, ns: str, feature: str) -> Response:
        return Response(200, self.feature_body(self._feature(ns, feature)))

    def register_feature(self, req: Request, ns: str, feature: str, action: str) -> Response:
        rec = self._feature(ns, feature)
        if action.lower() == "register":
            if rec["state"] != "Registered":
                rec["state"] = "Registering"
                rec["ready_at"] = self.now() + self.duration(self.typical.feature_registration)
        elif rec["state"] not in ("NotRegistered", "Unregistered"):
            rec["state"] = "Unregistering"
            rec["ready_at"] = self.now() + self.duration(self.typical.feature_registration)
        return Response(200, self.feature_body(rec), changed=True)

    # ------------------------------------------------------------------------------------ catalog reads
    def kubernetes_versions(self, req: Request, loc: str) -> Response:
        self._check_location(loc, f"{CS}/locations/kubernetesVersions")
        values = []
        versions = self.catalog["kubernetes_versions"]
        all_patches = sorted((p for v in versions for p in v["patches"]), key=version_key)
        for v in versions:
            entry: dict[str, Any] = {"version": v["version"], "capabilities": {"supportPlan": list(v["supportPlan"])}}
            if v.get("isDefault"):
                entry["isDefault"] = True
            if v.get("isPreview"):
                entry["isPreview"] = True
            patches = {}
            minor_key = version_key(v["version"])
            for p in v["patches"]:
                ups = [q for q in all_patches if version_key(q) > version_key(p)
                       and version_key(q)[:2] <= (minor_key[0], minor_key[1] + 1)]
                patches[p] = {"upgrades": ups}
            entry["patchVersions"] = patches
            values.append(entry)
        return Response(200, {"values": values})

    def _mesh_profile(self, loc: str) -> dict[str, Any]:
        return {
            "id": f"/subscriptions/{self.world.subscription_id}/providers/{CS}/locations/{loc}/meshRevisionProfiles/istio",
            "name": "istio", "type": f"{CS}/locations/meshRevisionProfiles",
            "properties": {"meshRevisions": [
                {"revision": r["revision"], "upgrades": list(r["upgrades"]),
                 "compatibleWith": [{"name": "kubernetes", "versions": list(r["compatible"])}]}
                for r in self.catalog["mesh_revisions"]]},
        }

    def mesh_revision_profiles(self, req: Request, loc: str) -> Response:
        loc = self._check_location(loc, f"{CS}/locations/meshRevisionProfiles")
        return Response(200, {"value": [self._mesh_profile(loc)]})

    def mesh_revision_profile(self, req: Request, loc: str, mode: str) -> Response:
        loc = self._check_location(loc, f"{CS}/locations/meshRevisionProfiles")
        if mode.lower() != "istio":
            return arm_error(404, "NotFound", f"Mesh revision profile '{mode}' was not found.")
        return Response(200, self._mesh_profile(loc))

    # ------------------------------------------------------------------------------------ compute
    def _unavailable(self, s: dict[str, Any], loc: str) -> str | None:
        """Why a size is not offered in a location: "location", "zone:1,2" or None. The regions the catalog has
        no detail for offer no GPU sizes to the simulated subscription."""
        if is_gpu_size(s["name"]) and self.locations[loc].get("gpu_sizes", True) is False:
            return "location"
        return (s.get("unavailable") or {}).get(loc)

    def _sku_entry(self, s: dict[str, Any], loc: str) -> dict[str, Any]:
        zones = list(self.locations[loc].get("zones", []))
        restrictions = []
        why = self._unavailable(s, loc)
        if why == "location":
            restrictions.append({"type": "Location", "values": [loc],
                                 "restrictionInfo": {"locations": [loc]},
                                 "reasonCode": "NotAvailableForSubscription"})
        elif why and why.startswith("zone:"):
            bad = why.split(":", 1)[1].split(",")
            restrictions.append({"type": "Zone", "values": [loc],
                                 "restrictionInfo": {"locations": [loc], "zones": bad},
                                 "reasonCode": "NotAvailableForSubscription"})
        caps = [
            {"name": "vCPUs", "value": str(s["vCPUs"])},
            {"name": "vCPUsAvailable", "value": str(s["vCPUs"])},
            {"name": "MemoryGB", "value": str(s["MemoryGB"])},
            {"name": "GPUs", "value": str(s.get("GPUs", 0))},
            {"name": "HyperVGenerations", "value": "V1,V2" if not s.get("GPUs") else "V2"},
            {"name": "PremiumIO", "value": "True"},
            {"name": "AcceleratedNetworkingEnabled", "value": "True"},
            {"name": "EphemeralOSDiskSupported", "value": "True"},
            {"name": "vCPUsPerCore", "value": "2" if not s.get("GPUs") else "1"},
        ]
        return {"resourceType": "virtualMachines", "name": s["name"], "tier": "Standard", "size": s["size"],
                "family": s["family"], "locations": [loc],
                "locationInfo": [{"location": loc, "zones": zones, "zoneDetails": [
                    {"name": zones, "capabilities": [{"name": "UltraSSDAvailable", "value": "True"}]}] if zones else []}],
                "capabilities": caps, "restrictions": restrictions}

    def list_skus(self, req: Request) -> Response:
        flt = req.q("$filter") or ""
        m = re.search(r"location\s+eq\s+'([^']*)'", flt, re.IGNORECASE)
        locs = list(self.locations)
        if m:
            want = m.group(1).replace(" ", "").lower()
            locs = [want] if want in self.locations else []
        # a retired size (NCv3 since 2025-09-30) is gone from Azure's resource SKU list
        return Response(200, {"value": [self._sku_entry(s, loc) for loc in locs for s in self.catalog["skus"]
                                        if not s.get("retired")]})

    def _pool_nodes(self, props: dict[str, Any]) -> list[tuple[str, int]]:
        """(vmSize, node count) of a pool's properties, for quota."""
        if str(props.get("type") or "").lower() == "virtualmachines" and props.get("virtualMachinesProfile"):
            scale = _get(props, "virtualMachinesProfile", "scale") or {}
            out = [(m.get("size") or "", int(m.get("count") or 0)) for m in scale.get("manual") or []]
            out += [(a.get("size") or "", int(a.get("minCount") or 0)) for a in scale.get("autoscale") or []]
            return out
        count = props.get("count")
        if count is None:
            count = props.get("minCount") or 0
        return [(props.get("vmSize") or "", int(count or 0))]

    def _usage(self, loc: str, exclude: set[tuple[str, str]] = frozenset()) -> dict[str, int]:
        """vCPUs in use per family (and 'cores') in a location. exclude: (cluster key, pool key) pairs."""
        used: dict[str, int] = {"cores": 0}
        vms = 0
        for ckey, c in self.world.clusters.items():
            if c["body"].get("location") != loc:
                continue
            for pkey, p in c["pools"].items():
                if (ckey, pkey) in exclude or _get(p, "properties", "provisioningState") == "Failed":
                    continue
                for size, n in self._pool_nodes(p["properties"]):
                    sku = self.skus.get(size.lower())
                    if not sku:
                        continue
                    for quota in _quotas_of(p["properties"], sku):
                        used[quota] = used.get(quota, 0) + sku["vCPUs"] * n
                    vms += n
        used["virtualMachines"] = vms
        used["virtualMachineScaleSets"] = sum(len(c["pools"]) for c in self.world.clusters.values()
                                              if c["body"].get("location") == loc)
        return used

    def quota(self) -> dict[str, Any]:
        """The subscription's vCPU limits: the catalog's defaults, with the limits granted to it (World.quota_limits)."""
        q = self.catalog["quota"]
        granted = self.world.quota_limits
        return {**q, "cores": granted.get("cores", q["cores"]),
                "families": {**q["families"], **{k: v for k, v in granted.items() if k != "cores"}}}

    def list_usages(self, req: Request, loc: str) -> Response:
        loc = self._check_location(loc, "Microsoft.Compute/locations/usages")
        q = self.quota()
        used = self._usage(loc)
        items = [
            {"unit": "Count", "currentValue": used["cores"], "limit": q["cores"],
             "name": {"value": "cores", "localizedValue": "Total Regional vCPUs"}},
            {"unit": "Count", "currentValue": used["virtualMachines"], "limit": q["virtualMachines"],
             "name": {"value": "virtualMachines", "localizedValue": "Virtual Machines"}},
            {"unit": "Count", "currentValue": used["virtualMachineScaleSets"], "limit": q["virtualMachineScaleSets"],
             "name": {"value": "virtualMachineScaleSets", "localizedValue": "Virtual Machine Scale Sets"}},
        ]
        items.append({"unit": "Count", "currentValue": used.get(LOW_PRIORITY, 0),
                      "limit": self._family_limit(LOW_PRIORITY, used),
                      "name": {"value": LOW_PRIORITY, "localizedValue": "Total Regional Low-priority vCPUs"}})
        for fam in q["families"]:
            items.append({"unit": "Count", "currentValue": used.get(fam, 0), "limit": self._family_limit(fam, used),
                          "name": {"value": fam, "localizedValue": _family_display(fam)}})
        return Response(200, {"value": items})

    def _family_limit(self, fam: str, used: dict[str, int]) -> int:
        """A vCPU family's quota (or the low-priority quota of Spot VMs); with the gpu-quota fault a GPU family has
        none left beyond what is used, for the usage reads and the PUTs alike."""
        if fam == LOW_PRIORITY:
            return self.catalog["quota"].get(LOW_PRIORITY, 0)
        if "gpu-quota" in self.faults and fam in self._gpu_families:
            return used.get(fam, 0)
        return self.quota()["families"].get(fam, 0)

    # ------------------------------------------------------------------------------------ clusters: reads
    def _ckey(self, rg: str, name: str) -> str:
        return f"{rg.lower()}/{name.lower()}"

    def _cluster_not_found(self, rg: str, name: str) -> _Reject:
        return _Reject(arm_error(404, "ResourceNotFound",
                                 f"The Resource '{CS}/managedClusters/{name}' under resource group '{rg}' was not "
                                 f"found. {NOT_FOUND_FIX}"))

    def served_cluster(self, rec: dict[str, Any]) -> dict[str, Any]:
        body = copy.deepcopy(rec["body"])
        body["properties"]["agentPoolProfiles"] = [
            {"name": p["name"], **copy.deepcopy(p["properties"])} for p in rec["pools"].values()]
        return body

    def served_pools(self, rec: dict[str, Any]) -> list[dict[str, Any]]:
        return [copy.deepcopy(p) for p in rec["pools"].values()]

    def list_group_clusters(self, req: Request, rg: str) -> Response:
        self._require_rg(rg)
        return Response(200, {"value": [self.served_cluster(c) for c in self.world.clusters.values()
                                        if c["rg"] == rg.lower()]})

    def list_all_clusters(self, req: Request) -> Response:
        return Response(200, {"value": [self.served_cluster(c) for c in self.world.clusters.values()]})

    def cluster(self, req: Request, rg: str, name: str) -> Response:
        if req.method == "PUT":
            return self.put_cluster(req, rg, name)
        self._require_rg(rg)
        rec = self.world.clusters.get(self._ckey(rg, name))
        if rec is None:
            raise self._cluster_not_found(rg, name)
        if req.method == "GET":
            return Response(200, self.served_cluster(rec))
        return self.delete_cluster(req, rec)

    def credentials(self, req: Request, rg: str, name: str, action: str) -> Response:
        self._require_rg(rg)
        rec = self.world.clusters.get(self._ckey(rg, name))
        if rec is None:
            raise self._cluster_not_found(rg, name)
        admin = action.lower() == "listclusteradmincredential"
        props = rec["body"]["properties"]
        if admin and props.get("disableLocalAccounts"):
            raise _Reject(aks_error(400, "BadRequest", "Getting static credential is not allowed because this cluster "
                                    "is set to disable local accounts."))
        entra = bool(_get(props, "aadProfile", "managed")) and not admin
        cname = rec["body"]["name"]
        user = f"cluster{'Admin' if admin else 'User'}_{rec['body']['id'].split('/')[4]}_{cname}"
        server = f"{self.base_url}/k8s/{rec['kube_id']}"
        cluster_entry = f"    server: {server}\n"
        if server.startswith("https://"):
            if self.ca_pem:  # as AKS does: the cluster's CA in the kubeconfig
                cluster_entry += f"    certificate-authority-data: {base64.b64encode(self.ca_pem).decode()}\n"
            else:
                cluster_entry += "    insecure-skip-tls-verify: true\n"
        kubeconfig = (
            "apiVersion: v1\n"
            "kind: Config\n"
            "clusters:\n"
            "- cluster:\n" + cluster_entry +
            f"  name: {cname}\n"
            "contexts:\n"
            "- context:\n"
            f"    cluster: {cname}\n"
            f"    user: {user}\n"
            f"  name: {cname}\n"
            f"current-context: {cname}\n"
            "preferences: {}\n"
            "users:\n"
            f"- name: {user}\n"
            "  user:\n"
            + (_kubelogin_user(self.world.tenant_id) if entra else f"    token: {_kube_token()}\n")
        )
        value = base64.b64encode(kubeconfig.encode()).decode()
        return Response(200, {"kubeconfigs": [{"name": "clusterAdmin" if admin else "clusterUser", "value": value}]})

    # ------------------------------------------------------------------------------------ validation helpers
    def resolve_version(self, requested: str | None, fallback: str | None, pool: bool = False) -> tuple[str, dict[str, Any]]:
        """(patch, catalog entry) for a requested version: minor -> newest patch, patch -> itself,
        empty -> fallback or the default. Raises _Reject with the AKS error when not offered."""
        versions = self.catalog["kubernetes_versions"]
        req = (requested or "").strip()
        if not req:
            req = fallback or next(v["version"] for v in versions if v.get("isDefault"))
        for v in versions:
            if req == v["version"]:
                return max(v["patches"], key=version_key), v
            if req in v["patches"]:
                return req, v
        code = "AgentPoolK8sVersionNotSupported" if pool else "K8sVersionNotSupported"
        raise _Reject(aks_error(400, code,
                                f"Version {req} is not supported in this region. Please use [az aks get-versions] "
                                "command to get the supported version list in this region. For more information, "
                                "please check https://aka.ms/supported-version-list"))

    def _check_pool(self, name: str, props: dict[str, Any], loc: str, cluster_version: str,
                    cluster_patch: str) -> str:
        """Validate one pool's properties; returns its resolved patch version."""
        if not re.fullmatch(r"[a-z][a-z0-9]{0,11}", name or ""):
            raise _Reject(aks_error(400, "InvalidParameter",
                                    f"Agent Pool name '{name}' is invalid: it must start with a lowercase letter, "
                                    "have max length of 12, and only have characters a-z0-9."))
        for size, _n in self._pool_nodes(props):
            if not size:
                continue
            sku = self.skus.get(size.lower())
            if sku is None or sku.get("retired") or self._unavailable(sku, loc) == "location":
                raise _Reject(aks_error(400, "BadRequest",
                                        f"The VM size of {size} is not allowed in your subscription in location "
                                        f"'{loc}'. For more details, please visit https://aka.ms/aks/quotas-skus-regions"))
        ov = props.get("orchestratorVersion") or ""
        if ov:
            patch, _ = self.resolve_version(ov, None, pool=True)
            if version_key(patch)[:2] > version_key(cluster_patch)[:2]:
                raise _Reject(aks_error(400, "InvalidParameter",
                                        f"Node pool version {ov} and control plane version {cluster_version} are "
                                        "incompatible. Node pool version cannot be greater than control plane version."))
        else:
            patch = cluster_patch
        if is_spot(props):
            if str(props.get("mode") or "").lower() == "system":
                raise _Reject(aks_error(400, "InvalidParameter", f"Agent pool '{name}': a System mode pool cannot use "
                                        "scaleSetPriority Spot."))
            price = props.get("spotMaxPrice")
            if price is not None and not (price == -1 or price > 0):
                raise _Reject(aks_error(400, "InvalidParameter", f"Agent pool '{name}': spotMaxPrice must be -1 or "
                                        f"greater than 0 (got {price})."))
        elif props.get("scaleSetEvictionPolicy") or props.get("spotMaxPrice") is not None:
            raise _Reject(aks_error(400, "InvalidParameter", f"Agent pool '{name}': scaleSetEvictionPolicy and "
                                    "spotMaxPrice are only allowed with scaleSetPriority Spot."))
        if props.get("enableAutoScaling") and int(props.get("minCount") or 0) == 0 and \
                str(props.get("mode") or "").lower() == "system":
            raise _Reject(aks_error(400, "InvalidParameter", f"Agent pool '{name}': a System mode pool needs minCount "
                                    "of at least 1."))
        mode = str(_get(props, "gpuProfile", "nvidia", "managementMode") or "")
        if mode.lower() == "managed":
            self._require_feature(f"{CS}/ManagedGPUExperiencePreview")
            autoscaled = props.get("enableAutoScaling") or _get(props, "virtualMachinesProfile", "scale", "autoscale")
            if autoscaled:  # as AKS refuses it while managed GPU is in preview
                raise _Reject(aks_error(400, "BadRequest",
                                        f"Agent pool '{name}' sets gpuProfile.nvidia.managementMode 'Managed' with "
                                        "the cluster autoscaler enabled: the cluster autoscaler is not supported on "
                                        "managed GPU node pools while managed GPU is in preview. Disable "
                                        "enableAutoScaling, or set managementMode to 'Unmanaged'."))
        return patch

    def _check_access(self, props: dict[str, Any], prev: dict[str, Any], existed: bool) -> None:
        """Entra ID, Azure RBAC, local accounts, OIDC issuer and workload identity, as AKS checks them."""
        aad = props.get("aadProfile")
        managed = bool((aad or {}).get("managed"))
        if aad is not None and not managed:
            raise _Reject(aks_error(400, "BadRequest", "The legacy Azure AD integration (aadProfile without managed) is "
                                    "retired; set aadProfile.managed to true for AKS-managed Microsoft Entra ID."))
        if _get(prev, "aadProfile", "managed") and not managed:
            raise _Reject(aks_error(400, "BadRequest", "Disabling AKS-managed Microsoft Entra ID integration is not "
                                    "allowed once it is enabled."))
        if aad is not None:
            for gid in aad.get("adminGroupObjectIDs") or []:
                if not re.fullmatch(r"[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}", str(gid)):
                    raise _Reject(aks_error(400, "InvalidParameter", f"The value of parameter "
                                            f"aadProfile.adminGroupObjectIDs is invalid: '{gid}' is not a GUID."))
        if props.get("disableLocalAccounts") and not managed:
            raise _Reject(aks_error(400, "BadRequest", "Local accounts can only be disabled on clusters with "
                                    "AKS-managed Microsoft Entra ID integration (aadProfile.managed)."))
        oidc = bool(_get(props, "oidcIssuerProfile", "enabled"))
        if _get(prev, "oidcIssuerProfile", "enabled") and not oidc:
            raise _Reject(aks_error(400, "BadRequest", "The OIDC issuer cannot be disabled once it is enabled."))
        if _get(props, "securityProfile", "workloadIdentity", "enabled") and not oidc:
            raise _Reject(aks_error(400, "BadRequest", "Enabling workload identity requires enabling OIDC issuer "
                                    "profile (oidcIssuerProfile.enabled)."))

    def _check_network(self, ckey: str, props: dict[str, Any], prev: dict[str, Any],
                       targets: dict[str, dict[str, Any]], existed: bool) -> None:
        """API server access, outbound type and each pool's own subnet, as AKS checks them."""
        import ipaddress

        from wizard.sim import network

        api = props.get("apiServerAccessProfile") or {}
        private = bool(api.get("enablePrivateCluster"))
        if existed and private != bool(_get(prev, "apiServerAccessProfile", "enablePrivateCluster")):
            raise _Reject(aks_error(400, "BadRequest", "Changing property 'enablePrivateCluster' is not allowed on an "
                                    "existing cluster."))
        ranges = api.get("authorizedIPRanges") or []
        if private and ranges:
            raise _Reject(aks_error(400, "BadRequest", "API server authorized IP ranges are not supported on private "
                                    "clusters."))
        for r in ranges:
            try:
                ipaddress.IPv4Network(r)
            except ValueError:
                raise _Reject(aks_error(400, "InvalidParameter", f"The value of parameter "
                                        f"apiServerAccessProfile.authorizedIPRanges is invalid: '{r}'.")) from None
        net = props.get("networkProfile") or prev.get("networkProfile") or {}
        overlay = (str(net.get("networkPluginMode") or "").lower() == "overlay"
                   or str(net.get("networkPlugin") or "azure").lower() != "azure")
        subnets = {str(p.get("vnetSubnetID") or "") for p in targets.values()}
        outbound = str(net.get("outboundType") or "loadBalancer")
        if outbound in ("userDefinedRouting", "userAssignedNATGateway") and subnets in ({""}, set()):
            raise _Reject(aks_error(400, "InvalidParameter", f"outboundType {outbound} requires the agent pools to "
                                    "use a custom VNet subnet (vnetSubnetID)."))
        if outbound == "managedNATGateway" and subnets - {""}:
            raise _Reject(aks_error(400, "InvalidParameter", "outboundType managedNATGateway is not supported with a "
                                    "custom VNet; use userAssignedNATGateway."))
        vnets = {s.lower().rpartition("/subnets/")[0] for s in subnets if s}
        if len(vnets) > 1 or (vnets and "" in subnets):
            raise _Reject(aks_error(400, "InvalidParameter", "All agent pools of a cluster must use subnets of the same "
                                    "virtual network."))
        for sid in sorted(subnets - {""}):
            found = network.find_subnet(self, sid)
            if found is None:
                raise _Reject(aks_error(400, "InvalidParameter", f"The subnet {sid} of the agent pool does not exist "
                                        "(vnetSubnetID)."))
            sub = found[1]
            foreign = [d for d in sub["delegations"] if str(_get(d, "properties", "serviceName") or "").lower()
                       != "microsoft.containerservice/managedclusters"]
            if foreign:
                raise _Reject(aks_error(400, "SubnetIsDelegated", f"Subnet {sid} is delegated to "
                                        f"{_get(foreign[0], 'properties', 'serviceName')} and cannot hold AKS nodes."))
            if outbound == "userDefinedRouting" and not sub.get("routeTable"):
                raise _Reject(aks_error(400, "ExistingRouteTableNotAssociatedWithSubnet", f"An existing route table "
                                        f"has not been associated with subnet {sid}. Please update the route table "
                                        "association (outboundType userDefinedRouting)."))
            if outbound == "userAssignedNATGateway" and not sub.get("natGateway"):
                raise _Reject(aks_error(400, "ExistingNatGatewayNotAssociatedWithSubnet", f"An existing NAT gateway "
                                        f"has not been associated with subnet {sid} (outboundType "
                                        "userAssignedNATGateway)."))
            mine = [k for k, p in targets.items() if str(p.get("vnetSubnetID") or "").lower() == sid.lower()]
            need = sum(network.pool_addresses(targets[k], overlay, int(targets[k].get("count") or 0)
                                              + _surge(targets[k], int(targets[k].get("count") or 0))) for k in mine)
            free = network.capacity(sub["addressPrefix"]) - network.addresses_used(self, sid, {(ckey, k) for k in mine})
            if need > free:
                raise _Reject(aks_error(400, "InsufficientSubnetSize", f"Pre-allocated IPs {need} exceeds IPs "
                                        f"available {max(free, 0)} in Subnet Cidr {sub['addressPrefix']}, Subnet Name "
                                        f"{sub['name']}. http://aka.ms/aks/insufficientsubnetsize"))

    def _require_feature(self, flag: str) -> None:
        if not self.feature_registered(flag):
            raise _Reject(aks_error(400, "PreviewFeatureNotRegistered", f"Preview feature {flag} not registered."))

    def _new_gpu_vcpus(self, ckey: str, targets: dict[str, dict[str, Any]], loc: str) -> tuple[dict[str, int], list[str]]:
        """vCPUs the target pools add per family (count growth only), and the GPU pools that add nodes."""
        rec = self.world.clusters.get(ckey)
        delta: dict[str, int] = {}
        gpu_pools: list[str] = []
        for pkey, props in targets.items():
            old = rec["pools"].get(pkey) if rec else None
            old_nodes: dict[str, int] = {}
            if old and _get(old, "properties", "provisioningState") != "Failed":
                for size, n in self._pool_nodes(old["properties"]):
                    old_nodes[size.lower()] = old_nodes.get(size.lower(), 0) + n
            adds_gpu = False
            for size, n in self._pool_nodes(props):
                sku = self.skus.get(size.lower())
                grow = n - old_nodes.get(size.lower(), 0)
                if not sku or grow <= 0:
                    continue
                grow += _surge(props, n)  # AKS counts the surge nodes of the new count too
                for quota in _quotas_of(props, sku):
                    delta[quota] = delta.get(quota, 0) + grow * sku["vCPUs"]
                if is_gpu_size(size):
                    adds_gpu = True
            if adds_gpu:
                gpu_pools.append(pkey)
        return delta, gpu_pools

    def _check_quota(self, ckey: str, targets: dict[str, dict[str, Any]], loc: str) -> list[str]:
        """Raise ErrCode_InsufficientVCPUQuota when the target pools need more vCPUs than left (or the
        gpu-quota fault is on and they add GPU nodes). Returns the GPU pools that add nodes."""
        delta, gpu_pools = self._new_gpu_vcpus(ckey, targets, loc)
        q = self.quota()
        # the targets' current nodes count as used: the delta only counts growth
        used_with_old = self._usage(loc)
        for fam, need in delta.items():
            if fam == "cores":
                continue
            limit = self._family_limit(fam, used_with_old)
            remaining = max(0, limit - used_with_old.get(fam, 0))
            if need > remaining and fam == LOW_PRIORITY:
                used_lp = used_with_old.get(fam, 0)
                raise _Reject(aks_error(400, "ErrCode_InsufficientVCPUQuota",
                                        "Operation could not be completed as it results in exceeding approved Low "
                                        "Priority Cores quota. Additional details - Deployment Model: Resource "
                                        f"Manager, Location: {loc}, Current Limit: {limit}, Current Usage: {used_lp}, "
                                        f"Additional Required: {need}, (Minimum) New Limit Required: "
                                        f"{used_lp + need}. Spot node pools count against the low priority quota; "
                                        "surge nodes would also consume it."))
            if need > remaining:
                raise _Reject(aks_error(400, "ErrCode_InsufficientVCPUQuota", FAULTS["gpu-quota"].message.format(
                    requested=need, remaining=remaining, family=fam, location=loc)))
        need = delta.get("cores", 0)
        remaining = max(0, q["cores"] - used_with_old.get("cores", 0))
        if need > remaining:
            raise _Reject(aks_error(400, "ErrCode_InsufficientVCPUQuota",
                                    f"Insufficient regional vcpu quota left for location {loc}. left regional vcpu "
                                    f"quota {remaining}, requested quota {need}. Surge nodes would also consume "
                                    "vcpu quota."))
        return gpu_pools

    def _busy(self, ckey: str, pool: str | None = None) -> dict[str, Any] | None:
        """An in-flight operation that blocks a new one on this cluster (or this pool)."""
        for op in self.world.operations.values():
            if op["done"] or op.get("cluster") != ckey:
                continue
            if op["kind"].startswith("cluster") or pool is None or op.get("pool") == pool:
                return op
        return None

    def _conflict(self, op: dict[str, Any], rg: str, name: str) -> _Reject:
        if op["kind"] in ("pool_put", "pool_delete"):
            rec = self.world.clusters[op["cluster"]]
            p = rec["pools"].get(op["pool"]) or {"name": op["pool"], "properties": {}}
            state = _get(p, "properties", "provisioningState") or "Updating"
            return _Reject(arm_error(409, "OperationNotAllowed",
                                     f"Operation is not allowed: Another agentpool operation ({p['name']} - {state}) "
                                     "is in progress, please wait for it to finish before starting a new operation. "
                                     "See https://aka.ms/aks-pending-operation for more details"))
        verb = {"cluster_delete": "delete managed cluster"}.get(op["kind"],
                                                                "create managed cluster" if op.get("created") else "update managed cluster")
        return _Reject(arm_error(409, "OperationNotAllowed",
                                 f"Operation is not allowed because there's an in progress {verb} operation "
                                 f"(operation ID: {op['id']}) on the managed cluster started on UTC "
                                 f"{iso(op['start'])[:19]}Z. Please wait for it to finish before starting a new "
                                 f"operation. You can also use 'az aks operation-abort --resource-group {rg} "
                                 f"--name {name}' to abort the ongoing operation."))

    def _throttle(self, handler: str) -> None:
        f = self.faults.get("throttle")
        if f:
            raise _Reject(aks_error(429, f.code, f.message.format(handler=handler, subscription=self.world.subscription_id),
                                    headers={"Retry-After": str(f.retry_after)}))

    def _foreign_operation(self, ckey: str, rg: str, name: str, location: Any) -> None:
        """The `conflict` fault: at the first write to a cluster, another client's operation already runs on it,
        started a while ago (an update of the cluster, or the delete of an earlier cluster of that name), so the
        write meets AKS's ordinary 409 until that operation ends. Once per cluster per process."""
        if "conflict" not in self.faults or ckey in self._conflicted or self._busy(ckey):
            return
        self._conflicted.add(ckey)
        rec = self.world.clusters.get(ckey)
        ahead = self.duration(95.0)  # it started 95 simulated seconds before our write
        if rec is not None:
            rec["body"]["properties"]["provisioningState"] = "Updating"
            self._new_op("cluster_put", rec["body"]["location"], self.typical.cluster_update,
                         start=self.now() - ahead, cluster=ckey)
            return
        loc = str(location or "").replace(" ", "").lower() or next(iter(self.locations))
        cluster_id = (f"/subscriptions/{self.world.subscription_id}/resourceGroups/{rg}/providers/{CS}/"
                      f"managedClusters/{name}")
        self.world.clusters[ckey] = {
            "rg": rg.lower(), "name": name, "kube_id": secrets.token_hex(4), "synced": True, "pools": {},
            "body": {"id": cluster_id, "name": name, "type": f"{CS}/managedClusters", "location": loc, "tags": {},
                     "properties": {"provisioningState": "Deleting", "nodeResourceGroup": f"MC_{rg}_{name}_{loc}"}}}
        self._new_op("cluster_delete", loc, self.typical.cluster_delete, start=self.now() - ahead, cluster=ckey)

    def _drop_once(self, key: str) -> bool:
        """The `connection-drop` fault: the first accepted PUT of each resource loses its response."""
        if "connection-drop" not in self.faults or key in self._dropped:
            return False
        self._dropped.add(key)
        return True

    # ------------------------------------------------------------------------------------ clusters: PUT
    def put_cluster(self, req: Request, rg: str, name: str) -> Response:
        self._throttle("PutManagedClusterHandler")
        rg_rec = self._require_rg(rg)
        try:
            body = req.json()
        except ValueError:
            return arm_error(400, "InvalidRequestContent",
                             "The request content was invalid and could not be deserialized.")
        if not isinstance(body, dict):
            return arm_error(400, "InvalidRequestContent", "The request content was invalid and could not be deserialized.")
        ckey = self._ckey(rg, name)
        rec = self.world.clusters.get(ckey)
        rg_name = rg_rec["body"]["name"]
        self._foreign_operation(ckey, rg_name, name, body.get("location"))
        rec = self.world.clusters.get(ckey)
        busy = self._busy(ckey)
        if busy:
            raise self._conflict(busy, rg_name, name)
        loc = self._check_location(body.get("location") or (rec["body"]["location"] if rec else None),
                                   f"{CS}/managedClusters")
        if rec and rec["body"]["location"] != loc:
            return aks_error(400, "InvalidParameter",
                             f"Changing property 'location' is not allowed. Existing location is "
                             f"'{rec['body']['location']}'.")
        props = body.get("properties") or {}
        previous = self.served_cluster(rec) if rec else None
        prev_props = previous["properties"] if previous else {}
        # --- Kubernetes version
        fallback = prev_props.get("currentKubernetesVersion")
        requested_version = props.get("kubernetesVersion") or ""
        patch, ventry = self.resolve_version(requested_version, fallback)
        tier = str(_get(body, "sku", "tier") or _get(previous, "sku", "tier") or "Free")
        plan = str(props.get("supportPlan") or prev_props.get("supportPlan") or "KubernetesOfficial")
        if ventry["supportPlan"] == [LTS_PLAN] and not (tier.lower() == "premium" and plan == LTS_PLAN):
            raise _Reject(aks_error(400, "K8sVersionNotSupported",
                                    f"Managed cluster {name} is on version {patch}, which is only available for "
                                    "Long-Term Support (LTS). If you intend to onboard to LTS, please ensure the "
                                    "cluster is in Premium tier and LTS support plan (see https://aka.ms/aks/enable-lts). "
                                    "Otherwise, use [az aks get-versions] command to get the supported version list "
                                    "in this region. For more information, please check https://aka.ms/supported-version-list"))
        if plan == LTS_PLAN and tier.lower() != "premium":
            raise _Reject(aks_error(400, "InvalidParameter",
                                    "Long-Term Support (AKSLongTermSupport) requires the Premium tier "
                                    "(see https://aka.ms/aks/enable-lts)."))
        minor = ".".join(patch.split(".")[:2])
        # --- pools
        profiles = props.get("agentPoolProfiles")
        if profiles is None:
            profiles = prev_props.get("agentPoolProfiles") or []
        if not isinstance(profiles, list) or (not rec and not profiles):
            return aks_error(400, "InvalidParameter",
                             "The value of parameter agentPoolProfiles is invalid. A managed cluster needs at least "
                             "one agent pool.")
        targets: dict[str, dict[str, Any]] = {}
        patches: dict[str, str] = {}
        names: dict[str, str] = {}
        for prof in profiles:
            pname = str(prof.get("name") or "")
            pprops = {k: v for k, v in prof.items() if k != "name"}
            patches[pname.lower()] = self._check_pool(pname, pprops, loc, requested_version or patch, patch)
            targets[pname.lower()] = pprops
            names[pname.lower()] = pname
        all_modes = [str(p.get("mode") or "") for p in targets.values()]
        if rec:
            all_modes += [str(_get(p, "properties", "mode") or "") for k, p in rec["pools"].items() if k not in targets]
        if targets and "system" not in [m.lower() for m in all_modes]:
            first = next(iter(targets))
            if not targets[first].get("mode"):
                targets[first] = dict(targets[first], mode="System")
            else:
                return aks_error(400, "InvalidParameter",
                                 "A managed cluster must have at least one agent pool in System mode "
                                 "(see https://aka.ms/aks/nodepool/mode).")
        # --- mesh and Gateway API
        mesh = props.get("serviceMeshProfile") or {}
        istio = str(mesh.get("mode") or "").lower() == "istio"
        revisions = list(_get(mesh, "istio", "revisions") or [])
        if istio:
            known = {r["revision"]: r for r in self.catalog["mesh_revisions"]}
            if not revisions:
                prev_revs = _get(prev_props, "serviceMeshProfile", "istio", "revisions") or []
                compatible = [r for r in self.catalog["mesh_revisions"] if minor in r["compatible"]]
                revisions = list(prev_revs) or ([compatible[-1]["revision"]] if compatible else [])
            for rev in revisions:
                if rev not in known:
                    raise _Reject(aks_error(400, "BadRequest",
                                            "Requested change in revisions is not allowed. Reason: Revision "
                                            f"{rev} is not supported by the service mesh add-on."))
                if minor not in known[rev]["compatible"]:
                    raise _Reject(aks_error(400, "BadRequest",
                                            f"Service mesh revision {rev} is not compatible with cluster version "
                                            f"{patch}. To find information about mesh-cluster compatibility, use "
                                            "'az aks mesh get-upgrades'."))
        if str(_get(props, "ingressProfile", "gatewayAPI", "installation") or "").lower() == "standard":
            self._require_feature(f"{CS}/ManagedGatewayAPIPreview")
            if not istio:
                raise _Reject(aks_error(400, "BadRequest",
                                        "Managed Gateway API installation 'Standard' requires the Istio-based service "
                                        "mesh add-on (serviceMeshProfile.mode 'Istio') on this cluster. Enable the "
                                        "add-on or set ingressProfile.gatewayAPI.installation to 'Disabled'."))
        self._check_access(props, prev_props, rec is not None)
        self._check_network(ckey, props, prev_props, targets, rec is not None)
        gpu_pools = self._check_quota(ckey, targets, loc)
        # --- accepted
        existed = rec is not None
        now = self.now()
        cluster_id = (rec["body"]["id"] if rec else
                      f"/subscriptions/{self.world.subscription_id}/resourceGroups/{rg_name}/providers/{CS}/managedClusters/{name}")
        if rec is None:
            rec = {"rg": rg.lower(), "name": name, "kube_id": secrets.token_hex(4), "synced": False,
                   "body": {}, "pools": {}}
            self.world.clusters[ckey] = rec
        new_body = self._complete_cluster(body, rec, cluster_id, name, rg_name, loc, patch, requested_version,
                                          revisions if istio else None, existed)
        state = "Updating" if existed else "Creating"
        new_body["properties"]["provisioningState"] = state
        rec["body"] = new_body
        for pkey, pprops in targets.items():
            old = rec["pools"].get(pkey)
            rec["pools"][pkey] = self._complete_pool(cluster_id, names[pkey], pprops, old, patches[pkey],
                                                     requested_version or patch, loc,
                                                     "Updating" if old else "Creating",
                                                     _default_max_pods(new_body["properties"]))
        # node resource group
        nrg = new_body["properties"]["nodeResourceGroup"]
        if nrg.lower() not in self.world.resource_groups:
            self._put_group(nrg, loc, {"aks-managed-cluster-name": name, "aks-managed-cluster-rg": rg_name},
                            managed_by=cluster_id)
        typical = latency.cluster_put_typical(body if props.get("agentPoolProfiles") is not None
                                              else self.served_cluster(rec), existed, previous, self.typical)
        outcome: dict[str, Any] = {"status": "Succeeded"}
        failed_pools: list[str] = []
        if "sku-unavailable" in self.faults and gpu_pools:
            failed_pools = gpu_pools
            outcome = {"status": "Failed", "error": self._sku_error(rec, gpu_pools[0], loc)}
        elif "lro-failed" in self.faults:
            failed_pools = list(targets)
            first = names[next(iter(targets))] if targets else "nodepool1"
            outcome = {"status": "Failed", "error": {
                "code": FAULTS["lro-failed"].code,
                "message": FAULTS["lro-failed"].message.format(pool=first, vmss_suffix=_vmss_suffix(cluster_id, first))}}
        op = self._new_op("cluster_put", loc, typical, cluster=ckey, touched=list(targets), outcome=outcome,
                          failed_pools=failed_pools, created=not existed, start=now)
        return Response(200 if existed else 201, self.served_cluster(rec),
                        {"Azure-AsyncOperation": self._op_url(loc, op["id"], req)}, changed=True,
                        drop=self._drop_once(ckey))

    def _sku_error(self, rec: dict[str, Any], pkey: str, loc: str) -> dict[str, Any]:
        pool = rec["pools"][pkey]
        props = pool["properties"]
        zones = ",".join(props.get("availabilityZones") or [])
        nrg = rec["body"]["properties"]["nodeResourceGroup"]
        vmss = (f"/subscriptions/{self.world.subscription_id}/resourceGroups/{nrg}/providers/Microsoft.Compute/"
                f"virtualMachineScaleSets/aks-{pool['name']}-{_vmss_suffix(rec['body']['id'], pool['name'])}-vmss")
        return {"code": FAULTS["sku-unavailable"].code, "message": FAULTS["sku-unavailable"].message.format(
            vmss_id=vmss, location=loc, zones=zones, subscription=self.world.subscription_id)}

    def _complete_cluster(self, body: dict[str, Any], rec: dict[str, Any], cluster_id: str, name: str, rg: str,
                          loc: str, patch: str, requested_version: str, revisions: list[str] | None,
                          existed: bool) -> dict[str, Any]:
        old = rec["body"] if existed else {}
        oldp = old.get("properties", {}) if old else {}
        out = copy.deepcopy({k: v for k, v in body.items() if k not in ("id", "name", "type", "systemData", "eTag")})
        props = out.setdefault("properties", {}) or {}
        out["properties"] = props
        props.pop("agentPoolProfiles", None)
        out["id"] = cluster_id
        out["name"] = old.get("name", name) if old else name
        out["type"] = f"{CS}/managedClusters"
        out["location"] = loc
        out.setdefault("tags", old.get("tags", {}) if old else {})
        sku = out.get("sku") or old.get("sku") or {}
        out["sku"] = {"name": sku.get("name") or "Base", "tier": sku.get("tier") or "Free"}
        ident = out.get("identity") or old.get("identity") or {"type": "SystemAssigned"}
        ident = copy.deepcopy(ident)
        old_ident = old.get("identity") or {}
        if str(ident.get("type", "")).lower() == "systemassigned":
            ident["principalId"] = old_ident.get("principalId") or new_id()
            ident["tenantId"] = self.world.tenant_id
        uai = ident.get("userAssignedIdentities")
        if isinstance(uai, dict):
            for k, v in list(uai.items()):
                v = dict(v or {})
                v.setdefault("clientId", new_id())
                v.setdefault("principalId", new_id())
                uai[k] = v
        out["identity"] = ident
        props["kubernetesVersion"] = requested_version or patch
        props["currentKubernetesVersion"] = patch
        props.setdefault("supportPlan", oldp.get("supportPlan", "KubernetesOfficial"))
        dns = props.get("dnsPrefix") or oldp.get("dnsPrefix") or f"{name[:10]}-{rg[:10]}-{self.world.subscription_id[:6]}"
        props["dnsPrefix"] = dns
        suffix = (oldp.get("fqdn", "").split(".")[0].rsplit("-", 1)[-1] if oldp.get("fqdn") else secrets.token_hex(4))
        props["fqdn"] = f"{dns}-{suffix}.hcp.{loc}.azmk8s.io"
        props["azurePortalFQDN"] = f"{dns}-{suffix}.portal.hcp.{loc}.azmk8s.io"
        props["nodeResourceGroup"] = oldp.get("nodeResourceGroup") or props.get("nodeResourceGroup") or f"MC_{rg}_{name}_{loc}"
        api = props.get("apiServerAccessProfile")
        if isinstance(api, dict) and api.get("enablePrivateCluster"):  # as AKS: a private endpoint in the VNet
            api.setdefault("privateDNSZone", "system")
            api.setdefault("enablePrivateClusterPublicFQDN", True)
            props["privateFQDN"] = oldp.get("privateFQDN") or f"{dns}-{secrets.token_hex(4)}.{secrets.token_hex(16)}" \
                f".privatelink.{loc}.azmk8s.io"
        aad = props.get("aadProfile")
        if isinstance(aad, dict) and aad.get("managed"):
            aad.setdefault("tenantID", self.world.tenant_id)
            aad.setdefault("enableAzureRBAC", False)
        props["maxAgentPools"] = 100
        props["powerState"] = {"code": "Running"}
        props.setdefault("enableRBAC", True)
        sp = props.get("servicePrincipalProfile") or {"clientId": "msi"}
        props["servicePrincipalProfile"] = {k: v for k, v in sp.items() if k != "secret"}
        if isinstance(props.get("windowsProfile"), dict):
            props["windowsProfile"] = {k: v for k, v in props["windowsProfile"].items() if k != "adminPassword"}
        net = props.get("networkProfile") or {}
        plugin = net.get("networkPlugin") or "azure"
        net["networkPlugin"] = plugin
        if plugin == "azure":
            net.setdefault("networkPluginMode", "overlay")
        net.setdefault("networkPolicy", "none")
        net.setdefault("podCidr", "10.244.0.0/16")
        net.setdefault("serviceCidr", "10.0.0.0/16")
        net.setdefault("dnsServiceIP", "10.0.0.10")
        net.setdefault("outboundType", "loadBalancer")
        net.setdefault("loadBalancerSku", "standard")
        net.setdefault("podCidrs", [net["podCidr"]])
        net.setdefault("serviceCidrs", [net["serviceCidr"]])
        net.setdefault("ipFamilies", ["IPv4"])
        if str(net.get("outboundType")).lower() == "loadbalancer":
            lb = net.get("loadBalancerProfile") or {}
            lb.setdefault("managedOutboundIPs", {"count": 1})
            old_eff = _get(oldp, "networkProfile", "loadBalancerProfile", "effectiveOutboundIPs")
            lb["effectiveOutboundIPs"] = old_eff or [
                {"id": f"/subscriptions/{self.world.subscription_id}/resourceGroups/{props['nodeResourceGroup']}/"
                       f"providers/Microsoft.Network/publicIPAddresses/{new_id()}"}]
            lb.setdefault("allocatedOutboundPorts", 0)
            lb.setdefault("idleTimeoutInMinutes", 30)
            lb.setdefault("backendPoolType", "nodeIPConfiguration")
            net["loadBalancerProfile"] = lb
        props["networkProfile"] = net
        if isinstance(props.get("autoScalerProfile"), dict):
            for k, v in _AUTOSCALER_DEFAULTS.items():
                props["autoScalerProfile"].setdefault(k, v)
        oidc = props.get("oidcIssuerProfile")
        if isinstance(oidc, dict) and oidc.get("enabled"):
            old_url = _get(oldp, "oidcIssuerProfile", "issuerURL")
            oidc["issuerURL"] = old_url or f"https://{loc}.oic.prod-aks.azure.com/{self.world.tenant_id}/{new_id()}/"
        if revisions is not None:
            mesh = props["serviceMeshProfile"]
            mesh.setdefault("istio", {})
            mesh["istio"] = dict(mesh["istio"] or {}, revisions=revisions)
        props.setdefault("addonProfiles", {})
        props["resourceUID"] = oldp.get("resourceUID") or secrets.token_hex(12)
        out["eTag"] = secrets.token_hex(6)
        return out

    def _complete_pool(self, cluster_id: str, name: str, props: dict[str, Any], old: dict[str, Any] | None,
                       patch: str, cluster_version: str, loc: str, state: str, max_pods: int = 250) -> dict[str, Any]:
        """max_pods: AKS's default for the cluster's network (250 with overlay, 30 with Azure CNI on the subnet)."""
        p = copy.deepcopy(props)
        for k in ("provisioningState", "currentOrchestratorVersion", "nodeImageVersion", "powerState", "eTag"):
            p.pop(k, None)
        ptype = p.setdefault("type", "VirtualMachineScaleSets")
        if ptype == "VirtualMachineScaleSets":
            p.setdefault("count", 1 if not p.get("enableAutoScaling") else (p.get("minCount") or 1))
            p.setdefault("vmSize", "Standard_D4ds_v5")
        p.setdefault("mode", "User")
        p.setdefault("osType", "Linux")
        if p["osType"] == "Linux":
            p.setdefault("osSKU", "Ubuntu")
        p.setdefault("osDiskSizeGB", 128)
        p.setdefault("osDiskType", "Managed")
        p.setdefault("kubeletDiskType", "OS")
        p.setdefault("maxPods", max_pods)
        if is_spot(p):  # as AKS: the taint and label of every Spot node, Delete and -1 unless given
            p.setdefault("scaleSetEvictionPolicy", "Delete")
            p.setdefault("spotMaxPrice", -1)
            taint = "kubernetes.azure.com/scalesetpriority=spot:NoSchedule"
            p["nodeTaints"] = list(p.get("nodeTaints") or []) + ([taint] if taint not in (p.get("nodeTaints") or []) else [])
            p["nodeLabels"] = {**(p.get("nodeLabels") or {}), "kubernetes.azure.com/scalesetpriority": "spot"}
        p.setdefault("enableAutoScaling", False)
        p.setdefault("enableNodePublicIP", False)
        p.setdefault("enableEncryptionAtHost", False)
        p.setdefault("enableFIPS", False)
        p.setdefault("scaleDownMode", "Delete")
        p.setdefault("upgradeSettings", {"maxSurge": "10%"})
        p["orchestratorVersion"] = p.get("orchestratorVersion") or cluster_version
        p["currentOrchestratorVersion"] = patch
        sizes = [s for s, _ in self._pool_nodes(p)]
        gpu = any(is_gpu_size(s) for s in sizes)
        image = self.catalog["node_image_version_gpu" if gpu else "node_image_version"]
        p["nodeImageVersion"] = image
        if ptype == "VirtualMachines":
            scale = _get(p, "virtualMachinesProfile", "scale") or {}
            status = [{"size": m.get("size"), "count": int(m.get("count") or 0)} for m in scale.get("manual") or []]
            status += [{"size": a.get("size"), "count": int(a.get("minCount") or 0)} for a in scale.get("autoscale") or []]
            p["virtualMachineNodesStatus"] = status
        p["provisioningState"] = state
        p["powerState"] = {"code": "Running"}
        p["eTag"] = secrets.token_hex(6)
        return {"id": f"{cluster_id}/agentPools/{name}", "name": (old or {}).get("name", name),
                "type": f"{CS}/managedClusters/agentPools", "properties": p}

    # ------------------------------------------------------------------------------------ pools
    def list_pools(self, req: Request, rg: str, name: str) -> Response:
        self._require_rg(rg)
        rec = self.world.clusters.get(self._ckey(rg, name))
        if rec is None:
            raise self._cluster_not_found(rg, name)
        return Response(200, {"value": self.served_pools(rec)})

    def pool(self, req: Request, rg: str, name: str, pool: str) -> Response:
        if req.method == "PUT":
            self._throttle("PutAgentPoolHandler")
        self._require_rg(rg)
        ckey = self._ckey(rg, name)
        rec = self.world.clusters.get(ckey)
        if rec is None:
            raise self._cluster_not_found(rg, name)
        pkey = pool.lower()
        if req.method == "GET":
            p = rec["pools"].get(pkey)
            if p is None:
                return arm_error(404, "ResourceNotFound",
                                 f"The Resource '{CS}/managedClusters/{name}/agentPools/{pool}' under resource "
                                 f"group '{rg}' was not found. {NOT_FOUND_FIX}")
            return Response(200, copy.deepcopy(p))
        if req.method == "DELETE":
            return self.delete_pool(req, rec, ckey, pkey, rg, name, pool)
        return self.put_pool(req, rec, ckey, pkey, rg, name, pool)

    def put_pool(self, req: Request, rec: dict[str, Any], ckey: str, pkey: str, rg: str, name: str,
                 pool: str) -> Response:
        try:
            body = req.json()
        except ValueError:
            return arm_error(400, "InvalidRequestContent", "The request content was invalid and could not be deserialized.")
        self._foreign_operation(ckey, rg, name, None)
        busy = self._busy(ckey, pkey)
        if busy:
            raise self._conflict(busy, rg, name)
        props = dict((body or {}).get("properties") or {})
        loc = rec["body"]["location"]
        cprops = rec["body"]["properties"]
        patch = self._check_pool(pool, props, loc, cprops["kubernetesVersion"], cprops["currentKubernetesVersion"])
        others = {k: p["properties"] for k, p in rec["pools"].items() if k != pkey}
        self._check_network(ckey, cprops, cprops, {**others, pkey: props}, True)
        gpu_pools = self._check_quota(ckey, {pkey: props}, loc)
        old = rec["pools"].get(pkey)
        existed = old is not None
        if not existed and not props.get("mode"):
            props["mode"] = "User"
        rec["pools"][pkey] = self._complete_pool(rec["body"]["id"], pool, props, old, patch,
                                                 props.get("orchestratorVersion") or cprops["kubernetesVersion"],
                                                 loc, "Updating" if existed else "Creating", _default_max_pods(cprops))
        outcome: dict[str, Any] = {"status": "Succeeded"}
        failed: list[str] = []
        if "sku-unavailable" in self.faults and gpu_pools:
            failed = [pkey]
            outcome = {"status": "Failed", "error": self._sku_error(rec, pkey, loc)}
        op = self._new_op("pool_put", loc, latency.agent_pool_put_typical(existed, self.typical),
                          cluster=ckey, pool=pkey, touched=[pkey], outcome=outcome, failed_pools=failed,
                          created=not existed)
        return Response(200 if existed else 201, copy.deepcopy(rec["pools"][pkey]),
                        {"Azure-AsyncOperation": self._op_url(loc, op["id"], req)}, changed=True,
                        drop=self._drop_once(f"{ckey}/{pkey}"))

    def delete_pool(self, req: Request, rec: dict[str, Any], ckey: str, pkey: str, rg: str, name: str,
                    pool: str) -> Response:
        p = rec["pools"].get(pkey)
        if p is None:
            return Response(204)
        busy = self._busy(ckey, pkey)
        if busy:
            raise self._conflict(busy, rg, name)
        others = [q for k, q in rec["pools"].items() if k != pkey]
        if str(p["properties"].get("mode")).lower() == "system" and not any(
                str(q["properties"].get("mode")).lower() == "system" for q in others):
            return aks_error(400, "OperationNotAllowed",
                             "Cannot delete the last system node pool: a managed cluster must have at least one "
                             "System mode node pool.")
        p["properties"]["provisioningState"] = "Deleting"
        loc = rec["body"]["location"]
        op = self._new_op("pool_delete", loc, self.typical.agent_pool_delete, cluster=ckey, pool=pkey)
        return Response(202, None, {"Azure-AsyncOperation": self._op_url(loc, op["id"], req),
                                    "Location": self._op_url(loc, op["id"], req, results=True)}, changed=True)

    def delete_cluster(self, req: Request, rec: dict[str, Any]) -> Response:
        ckey = self._ckey(rec["rg"], rec["body"]["name"])
        busy = self._busy(ckey)
        if busy and busy["kind"] != "cluster_delete":
            raise self._conflict(busy, rec["rg"], rec["body"]["name"])
        loc = rec["body"]["location"]
        if busy:
            op = busy
        else:
            rec["body"]["properties"]["provisioningState"] = "Deleting"
            op = self._new_op("cluster_delete", loc, self.typical.cluster_delete, cluster=ckey)
        return Response(202, None, {"Azure-AsyncOperation": self._op_url(loc, op["id"], req),
                                    "Location": self._op_url(loc, op["id"], req, results=True)}, changed=True)

    # ------------------------------------------------------------------------------------ operations
    def _op_url(self, loc: str, op_id: str, req: Request, results: bool = False) -> str:
        kind = "operationresults" if results else "operations"
        return (f"{self.base_url}/subscriptions/{self.world.subscription_id}/providers/{CS}/locations/{loc}/"
                f"{kind}/{op_id}?api-version={self.api_version(req)}")

    def _new_op(self, kind: str, loc: str, typical: float, start: float | None = None, **extra: Any) -> dict[str, Any]:
        op_id = new_id()
        op = {"id": op_id, "kind": kind, "location": loc, "start": start if start is not None else self.now(),
              "duration": self.duration(typical), "typical": typical, "done": False, "end": None,
              "outcome": {"status": "Succeeded"}, "failed_pools": [], "touched": [], "cluster": None, "pool": None,
              "rg": None, "created": False}
        op.update(extra)
        self.world.operations[op_id] = op
        return op

    def op_status_body(self, op: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": f"/subscriptions/{self.world.subscription_id}/providers/{CS}/locations/{op['location']}/operations/{op['id']}",
            "name": op["id"], "startTime": iso(op["start"])}
        if op["done"]:
            out["status"] = op["outcome"]["status"]
            out["endTime"] = iso(op["end"] or op["start"] + op["duration"])
            if op["outcome"].get("error"):
                out["error"] = op["outcome"]["error"]
            else:
                out["percentComplete"] = 100.0
        else:
            out["status"] = "InProgress"
            elapsed = self.now() - op["start"]
            out["percentComplete"] = round(min(99.0, 100.0 * elapsed / op["duration"]) if op["duration"] else 0.0, 1)
        return out

    def latest_operation(self, req: Request, rg: str, name: str, pool: str | None = None) -> Response:
        """operations/latest of a cluster or pool: served by the preview API versions only, as in AKS."""
        if not self.api_version(req).endswith("-preview"):
            return arm_error(400, "NoRegisteredProviderFound",
                             f"No registered resource provider found for location and API version "
                             f"'{self.api_version(req)}' for type 'managedClusters/operations'.")
        self._require_rg(rg)
        ckey = self._ckey(rg, name)
        if ckey not in self.world.clusters:
            raise self._cluster_not_found(rg, name)
        ops = [o for o in self.world.operations.values() if o.get("cluster") == ckey
               and (pool is None or o.get("pool") == pool.lower())]
        if not ops:
            return arm_error(404, "NotFound", "No operation was found for this resource.")
        return Response(200, self.op_status_body(max(ops, key=lambda o: o["start"])))

    def operation_status(self, req: Request, loc: str, op: str) -> Response:
        rec = self.world.operations.get(op)
        if rec is None:
            return arm_error(404, "NotFound", f"Operation '{op}' was not found.")
        if "status-drop" in self.faults:
            return Response(0, drop=True)
        return Response(200, self.op_status_body(rec))

    def operation_result(self, req: Request, loc: str, op: str) -> Response:
        rec = self.world.operations.get(op)
        if rec is None:
            return arm_error(404, "NotFound", f"Operation '{op}' was not found.")
        if "status-drop" in self.faults:
            return Response(0, drop=True)
        if not rec["done"]:
            return Response(202, None, {"Location": self._op_url(loc, op, req, results=True)})
        if rec["outcome"]["status"] != "Succeeded":
            return Response(200, {"error": rec["outcome"].get("error")})
        return Response(204)

    def _complete(self, op: dict[str, Any]) -> None:
        op["done"] = True
        op["end"] = op["start"] + op["duration"]
        kind = op["kind"]
        if kind == "rg_delete":
            self._delete_group_now(op["rg"])
            return
        rec = self.world.clusters.get(op["cluster"] or "")
        if rec is None:
            return
        if kind == "cluster_delete":
            self._delete_cluster_now(op["cluster"])
            return
        if kind == "pool_delete":
            rec["pools"].pop(op["pool"], None)
            self._sync(rec)
            return
        ok = op["outcome"]["status"] == "Succeeded"
        failed = set(op.get("failed_pools") or [])
        for pkey in op.get("touched") or []:
            p = rec["pools"].get(pkey)
            if p is not None:
                p["properties"]["provisioningState"] = "Failed" if (not ok and (pkey in failed or not failed)) else "Succeeded"
        if kind == "cluster_put":
            rec["body"]["properties"]["provisioningState"] = "Succeeded" if ok else "Failed"
            # as the 2026-08-01 API reports it: the error of the last failed operation on the cluster
            if ok:
                rec["body"]["properties"].pop("status", None)
            else:
                rec["body"]["properties"]["status"] = {"provisioningError": op["outcome"].get("error")}
        if ok or rec.get("synced"):
            self._sync(rec)

    def _sync(self, rec: dict[str, Any]) -> None:
        kube = self.kube
        if rec["body"]["properties"].get("provisioningState") == "Failed" and not rec.get("synced"):
            return
        rec["synced"] = True
        if kube is None:
            return
        pools = [p for p in self.served_pools(rec) if p["properties"].get("provisioningState") != "Failed"]
        cluster = self.served_cluster(rec)
        cluster["properties"]["agentPoolProfiles"] = [
            {"name": p["name"], **p["properties"]} for p in pools]
        kube.sync_cluster(rec["kube_id"], cluster, pools)

    def _delete_cluster_now(self, ckey: str) -> None:
        rec = self.world.clusters.pop(ckey, None)
        if rec is None:
            return
        from wizard.sim import monitor
        monitor.forget_cluster(self, ckey)
        nrg = str(rec["body"]["properties"].get("nodeResourceGroup") or "").lower()
        g = self.world.resource_groups.get(nrg)
        if g and str(g["body"].get("managedBy", "")).lower() == rec["body"]["id"].lower():
            self.world.resource_groups.pop(nrg, None)
        kube = self.kube
        if kube is not None:
            kube.remove_cluster(rec["kube_id"])

    def _delete_group_now(self, rg: str) -> None:
        for ckey in [k for k, c in self.world.clusters.items() if c["rg"] == rg]:
            self._delete_cluster_now(ckey)
        from wizard.sim import monitor
        monitor.forget_group(self, rg)
        self.world.resource_groups.pop(rg, None)


_AUTOSCALER_DEFAULTS = {
    "balance-similar-node-groups": "false",
    "daemonset-eviction-for-empty-nodes": False,
    "daemonset-eviction-for-occupied-nodes": True,
    "expander": "random",
    "ignore-daemonsets-utilization": False,
    "max-empty-bulk-delete": "10",
    "max-graceful-termination-sec": "600",
    "max-node-provision-time": "15m",
    "max-total-unready-percentage": "45",
    "new-pod-scale-up-delay": "0s",
    "ok-total-unready-count": "3",
    "scale-down-delay-after-add": "10m",
    "scale-down-delay-after-delete": "10s",
    "scale-down-delay-after-failure": "3m",
    "scale-down-unneeded-time": "10m",
    "scale-down-unready-time": "20m",
    "scale-down-utilization-threshold": "0.5",
    "scan-interval": "10s",
    "skip-nodes-with-local-storage": "false",
    "skip-nodes-with-system-pods": "true",
}


def _default_max_pods(cluster_props: dict[str, Any]) -> int:
    """AKS's maxPods default: 250 with Azure CNI Overlay, 30 with Azure CNI on the subnet, 110 with kubenet."""
    net = cluster_props.get("networkProfile") or {}
    plugin = str(net.get("networkPlugin") or "azure").lower()
    if plugin == "kubenet":
        return 110
    if plugin == "azure" and str(net.get("networkPluginMode") or "").lower() != "overlay":
        return 30
    return 250


LOW_PRIORITY = "lowPriorityCores"  # the regional quota Spot VMs count against, instead of their family's


def is_spot(props: dict[str, Any]) -> bool:
    return str(props.get("scaleSetPriority") or "").lower() == "spot"


def _quotas_of(props: dict[str, Any], sku: dict[str, Any]) -> tuple[str, ...]:
    """The vCPU quotas a pool's nodes count against: Spot VMs the low-priority quota only; others their family's
    and the regional total."""
    return (LOW_PRIORITY,) if is_spot(props) else (sku["family"], "cores")


def _surge(props: dict[str, Any], nodes: int) -> int:
    """Surge nodes AKS reserves quota for at PUT: upgradeSettings.maxSurge (default 10%, rounded up; or a node
    count). The autoscaler's maxCount is not counted at PUT."""
    import math

    raw = str(_get(props, "upgradeSettings", "maxSurge") or "10%").strip()
    if raw.endswith("%"):
        return math.ceil(nodes * float(raw[:-1] or 0) / 100)
    return int(raw) if raw.isdigit() else 0


def _kubelogin_user(tenant: str) -> str:
    """The user entry AKS returns for a cluster with Entra ID: kubelogin as an exec credential plugin."""
    from wizard.azure.entra import AKS_SERVER_APP_ID

    args = ["get-token", "--environment", "AzurePublicCloud", "--server-id", AKS_SERVER_APP_ID, "--client-id",
            "80faf920-1908-4b52-b5ef-a8e7bedfc67a", "--tenant-id", tenant, "--login", "devicecode"]
    return ("    exec:\n"
            "      apiVersion: client.authentication.k8s.io/v1beta1\n"
            "      args:\n" + "".join(f"      - {a}\n" for a in args) +
            "      command: kubelogin\n"
            "      env: null\n"
            "      installHint: |\n"
            "        kubelogin is not installed which is required to connect to AAD enabled cluster.\n"
            "      interactiveMode: IfAvailable\n"
            "      provideClusterInfo: false\n")


def _kube_token() -> str:
    try:
        from wizard.sim.kube import KUBE_TOKEN as token
    except ImportError:
        return KUBE_TOKEN
    return token


def _vmss_suffix(cluster_id: str, pool: str) -> str:
    """AKS names a pool's scale set aks-<pool>-<8 digits>-vmss; stable per cluster and pool."""
    import zlib
    return f"{zlib.crc32((cluster_id.lower() + '/' + pool).encode()) % 100000000:08d}"


def _family_display(fam: str) -> str:
    core = fam[len("standard"):] if fam.startswith("standard") else fam
    core = core[:-len("Family")] if core.endswith("Family") else core
    return f"Standard {core} Family vCPUs"
