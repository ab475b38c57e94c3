"""Subscriptions, locations, resource groups, resource providers and preview features."""
from __future__ import annotations

from typing import Any


from .rooms import Base
from .wire import (CS, Request, Response, _get, _Reject, arm_error)
from wizard.sim.state import SUBSCRIPTION_NAME


class Subscriptions(Base):
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
        return rec is not None and rec["state"] == "Registered"

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

