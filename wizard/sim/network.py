"""Virtual networks and subnets of the simulated Azure (Microsoft.Network, api 2024-05-01): what a cluster with
`cluster.network.vnet_subnet_id` puts its nodes into.

As ARM: a virtual network PUT carries its subnets; each subnet's prefix must lie inside the network's address
space and overlap no other subnet; a subnet GET shows its `ipConfigurations` (one per address the cluster nodes
and, with Azure CNI without overlay, their pods hold) and its `delegations`. AKS refuses a pool whose subnet does not
exist, is delegated to another service, or has too few free addresses for the pool (InsufficientSubnetSize).
Stored in `World.networks`, keyed by lower-case virtual network id, so --sim-state persists them.
"""
from __future__ import annotations

import copy
import ipaddress
from typing import TYPE_CHECKING, AbstractSet, Any

if TYPE_CHECKING:
    from wizard.sim.arm import Arm, Request, Response
    from wizard.sim.arm.rooms import Rooms

VNET_TYPE = "Microsoft.Network/virtualNetworks"
SUBNET_TYPE = "Microsoft.Network/virtualNetworks/subnets"
RESERVED = 5  # Azure keeps the first four addresses and the last of every subnet
AZURE_CNI_MAX_PODS = 30  # AKS's default maxPods with Azure CNI without overlay (250 with overlay)

_VNET = (r"/subscriptions/(?P<sub>[^/]+)/resourcegroups/(?P<rg>[^/]+)/providers/microsoft\.network/"
         r"virtualnetworks/(?P<vnet>[^/]+)")


# The simulated subscription's hub network, which a platform team would have made before any cluster: what
# examples/production.yaml puts its nodes in (aks-nodes, a /22: 1019 addresses), with a /28 too small for any pool
# with Azure CNI and a subnet delegated to another service.
SEEDED_GROUP, SEEDED_LOCATION, SEEDED_VNET = "rg-network", "eastus2", "vnet-ai"
SEEDED_SUBNETS = [
    {"name": "aks-nodes", "addressPrefix": "10.10.0.0/22", "delegations": []},
    {"name": "small", "addressPrefix": "10.10.8.0/28", "delegations": []},
    {"name": "webapps", "addressPrefix": "10.10.9.0/24", "delegations": [
        {"name": "web", "properties": {"serviceName": "Microsoft.Web/serverFarms"}}]},
]


def seed(arm: "Arm") -> None:
    """Put the hub network in a world that has none yet (a world that deleted it keeps it deleted)."""
    world = arm.world
    if world.networks or SEEDED_GROUP in world.resource_groups:
        return
    arm._put_group(SEEDED_GROUP, SEEDED_LOCATION)
    world.networks[vnet_id(arm, SEEDED_GROUP, SEEDED_VNET).lower()] = {
        "rg": SEEDED_GROUP, "name": SEEDED_VNET, "location": SEEDED_LOCATION, "addressPrefixes": ["10.10.0.0/16"],
        "subnets": copy.deepcopy(SEEDED_SUBNETS), "tags": {}}


def group_resources(arm: "Rooms", rg: str) -> list[dict[str, Any]]:
    return [{"id": vnet_id(arm, r["rg"], r["name"]), "name": r["name"], "type": VNET_TYPE, "location": r["location"],
             "tags": r["tags"]} for r in arm.world.networks.values() if r["rg"] == rg.lower()]


def register(arm: "Arm") -> None:
    r = arm._route
    r("PUT|GET|DELETE", _VNET, lambda req, rg, vnet: _vnet(arm, req, rg, vnet))
    r("GET", _VNET + r"/subnets/(?P<subnet>[^/]+)", lambda req, rg, vnet, subnet: _subnet(arm, rg, vnet, subnet))


def _resp(status: int, body: Any = None, changed: bool = False) -> "Response":
    from wizard.sim.arm import Response
    return Response(status, body, changed=changed)


def _error(status: int, code: str, message: str) -> "Response":
    from wizard.sim.arm import arm_error
    return arm_error(status, code, message)


def vnet_id(arm: "Rooms", rg: str, vnet: str) -> str:
    return f"/subscriptions/{arm.world.subscription_id}/resourceGroups/{rg}/providers/{VNET_TYPE}/{vnet}"


def _vnet(arm: "Arm", req: "Request", rg: str, vnet: str) -> "Response":
    arm._require_rg(rg)
    key = vnet_id(arm, rg, vnet).lower()
    rec = arm.world.networks.get(key)
    if req.method == "GET":
        return _resp(200, _served(arm, rec)) if rec else _not_found(rg, VNET_TYPE, vnet)
    if req.method == "DELETE":
        if rec is None:
            return _resp(204)
        if users := _users(arm, key):
            return _error(400, "InUseSubnetCannotBeDeleted", f"Subnet {users[0]} is in use by a managed cluster's "
                          "node pool and cannot be deleted.")
        del arm.world.networks[key]
        return _resp(200, changed=True)
    body = req.json() or {}
    props = body.get("properties") or {}
    try:
        space = [ipaddress.ip_network(p) for p in (props.get("addressSpace") or {}).get("addressPrefixes") or []]
    except ValueError as exc:
        return _error(400, "InvalidAddressPrefixFormat", f"Address prefix is not valid: {exc}.")
    if not space:
        return _error(400, "InvalidRequestFormat", "Virtual network addressSpace.addressPrefixes must not be empty.")
    subnets = _subnets(props.get("subnets") or [], space, vnet)
    if not isinstance(subnets, list):
        return subnets
    arm.world.networks[key] = {"rg": rg.lower(), "name": vnet, "location": body.get("location"),
                               "addressPrefixes": [str(n) for n in space], "subnets": subnets,
                               "tags": body.get("tags") or {}}
    return _resp(200 if rec else 201, _served(arm, arm.world.networks[key]), changed=True)


def _subnets(given: list[dict[str, Any]], space: list[Any], vnet: str) -> "list[dict[str, Any]] | Response":
    """The subnets of a virtual network PUT as stored, or ARM's refusal: each prefix valid, inside the address
    space and overlapping no other subnet."""
    subnets: list[dict[str, Any]] = []
    seen: list[tuple[str, Any]] = []
    for s in given:
        name = s.get("name") or ""
        sp = s.get("properties") or {}
        try:
            net = ipaddress.ip_network(sp.get("addressPrefix") or "")
        except ValueError:
            return _error(400, "InvalidAddressPrefixFormat", f"Subnet '{name}' has an invalid address prefix "
                          f"'{sp.get('addressPrefix')}'.")
        if not any(net.subnet_of(n) for n in space if n.version == net.version):
            return _error(400, "NetcfgSubnetRangeOutsideVnet", f"Subnet '{name}' is not valid because its IP address "
                          f"range is outside the IP address range of virtual network '{vnet}'.")
        if clash := next((other for other, o in seen if o.overlaps(net)), None):
            return _error(400, "NetcfgSubnetRangesOverlap", f"Subnet '{name}' is not valid because its IP address "
                          f"range overlaps with that of an existing subnet '{clash}' in the virtual network.")
        seen.append((name, net))
        subnets.append({"name": name, "addressPrefix": str(net), "delegations": copy.deepcopy(sp.get("delegations") or []),
                        **{k: {"id": sp[k]["id"]} for k in ("routeTable", "natGateway")
                           if isinstance(sp.get(k), dict) and sp[k].get("id")}})
    return subnets


def _not_found(rg: str, rtype: str, name: str) -> "Response":
    from wizard.sim.arm import NOT_FOUND_FIX
    return _error(404, "ResourceNotFound", f"The Resource '{rtype}/{name}' under resource group '{rg}' was not found. "
                                           f"{NOT_FOUND_FIX}")


def find_subnet(arm: "Rooms", subnet_id: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(virtual network record, subnet record) of a subnet id, or None."""
    vnet_part, _, name = subnet_id.rstrip("/").rpartition("/subnets/")
    rec = arm.world.networks.get(vnet_part.lower())
    if rec is None:
        return None
    sub = next((s for s in rec["subnets"] if s["name"].lower() == name.lower()), None)
    return (rec, sub) if sub else None


def _subnet(arm: "Arm", rg: str, vnet: str, subnet: str) -> "Response":
    arm._require_rg(rg)
    sid = f"{vnet_id(arm, rg, vnet)}/subnets/{subnet}"
    found = find_subnet(arm, sid)
    if found is None:
        return _not_found(rg, SUBNET_TYPE, f"{vnet}/{subnet}")
    return _resp(200, _served_subnet(arm, found[0], found[1]))


def _served(arm: "Arm", rec: dict[str, Any]) -> dict[str, Any]:
    vid = vnet_id(arm, rec["rg"], rec["name"])
    return {"id": vid, "name": rec["name"], "type": VNET_TYPE, "location": rec["location"], "tags": rec["tags"],
            "properties": {"provisioningState": "Succeeded", "addressSpace": {"addressPrefixes": rec["addressPrefixes"]},
                           "subnets": [_served_subnet(arm, rec, s) for s in rec["subnets"]]}}


def _served_subnet(arm: "Arm", rec: dict[str, Any], sub: dict[str, Any]) -> dict[str, Any]:
    sid = f"{vnet_id(arm, rec['rg'], rec['name'])}/subnets/{sub['name']}"
    used = addresses_used(arm, sid)
    return {"id": sid, "name": sub["name"], "type": SUBNET_TYPE,
            "properties": {"provisioningState": "Succeeded", "addressPrefix": sub["addressPrefix"],
                           "delegations": copy.deepcopy(sub["delegations"]),
                           **{k: dict(sub[k]) for k in ("routeTable", "natGateway") if sub.get(k)},
                           "ipConfigurations": [{"id": f"{sid}/ipConfigurations/aks-node-{i}"} for i in range(used)]}}


def _users(arm: "Arm", vnet_key: str) -> list[str]:
    return [p["properties"]["vnetSubnetID"] for c in arm.world.clusters.values() for p in c["pools"].values()
            if str(p["properties"].get("vnetSubnetID") or "").lower().startswith(vnet_key + "/subnets/")]


def pool_addresses(props: dict[str, Any], overlay: bool, nodes: int | None = None) -> int:
    """Addresses a pool holds in its subnet: one per node; with Azure CNI without overlay one per pod too."""
    n = int(props.get("count") or 0) if nodes is None else nodes
    per_node = 1 if overlay else 1 + int(props.get("maxPods") or AZURE_CNI_MAX_PODS)
    return n * per_node


def addresses_used(arm: "Rooms", subnet_id: str, exclude: AbstractSet[tuple[str, str]] = frozenset()) -> int:
    used = 0
    for ckey, c in arm.world.clusters.items():
        net = (c["body"].get("properties") or {}).get("networkProfile") or {}
        overlay = str(net.get("networkPluginMode") or "").lower() == "overlay" or net.get("networkPlugin") != "azure"
        for pkey, p in c["pools"].items():
            if (ckey, pkey) in exclude or str(p["properties"].get("vnetSubnetID") or "").lower() != subnet_id.lower():
                continue
            used += pool_addresses(p["properties"], overlay)
    return used


def capacity(prefix: str) -> int:
    return ipaddress.ip_network(prefix).num_addresses - RESERVED

