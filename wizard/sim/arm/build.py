"""The stored resource of an accepted PUT: the body as given, with AKS's defaults and the fields the server sets
(ids, FQDNs, identities, outbound IPs, node image), keeping what an update does not change."""
from __future__ import annotations

import copy
import secrets
from typing import TYPE_CHECKING, Any

from wizard.sim.state import new_id

from .catalog import is_spot
from .wire import CS, _get, is_gpu_size

if TYPE_CHECKING:
    from .rooms import Rooms as Arm

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

_NETWORK_DEFAULTS = {"networkPolicy": "none", "podCidr": "10.244.0.0/16", "serviceCidr": "10.0.0.0/16",
                     "dnsServiceIP": "10.0.0.10", "outboundType": "loadBalancer", "loadBalancerSku": "standard"}

_POOL_DEFAULTS = {"osDiskSizeGB": 128, "osDiskType": "Managed", "kubeletDiskType": "OS"}
_POOL_FLAGS = {"enableAutoScaling": False, "enableNodePublicIP": False, "enableEncryptionAtHost": False,
               "enableFIPS": False, "scaleDownMode": "Delete"}


def default_max_pods(cluster_props: dict[str, Any]) -> int:
    """AKS's maxPods default: 250 with Azure CNI Overlay, 30 with Azure CNI on the subnet, 110 with kubenet."""
    net = cluster_props.get("networkProfile") or {}
    plugin = str(net.get("networkPlugin") or "azure").lower()
    if plugin == "kubenet":
        return 110
    if plugin == "azure" and str(net.get("networkPluginMode") or "").lower() != "overlay":
        return 30
    return 250


# ------------------------------------------------------------------------------------------ cluster
def complete_cluster(arm: Arm, body: dict[str, Any], rec: dict[str, Any], cluster_id: str, name: str, rg: str,
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
    out["identity"] = _identity(arm, out.get("identity") or old.get("identity") or {"type": "SystemAssigned"},
                                old.get("identity") or {})
    props["kubernetesVersion"] = requested_version or patch
    props["currentKubernetesVersion"] = patch
    props.setdefault("supportPlan", oldp.get("supportPlan", "KubernetesOfficial"))
    _endpoints(arm, props, oldp, name, rg, loc)
    _access(arm, props)
    _network(arm, props, oldp)
    _addons(arm, props, oldp, loc, revisions)
    out["eTag"] = secrets.token_hex(6)
    return out


def _identity(arm: Arm, given: dict[str, Any], old_ident: dict[str, Any]) -> dict[str, Any]:
    """The cluster identity with the ids Entra ID gives it (kept across updates for the system-assigned one)."""
    ident = copy.deepcopy(given)
    if str(ident.get("type", "")).lower() == "systemassigned":
        ident["principalId"] = old_ident.get("principalId") or new_id()
        ident["tenantId"] = arm.world.tenant_id
    uai = ident.get("userAssignedIdentities")
    if isinstance(uai, dict):
        for k, v in list(uai.items()):
            v = dict(v or {})
            v.setdefault("clientId", new_id())
            v.setdefault("principalId", new_id())
            uai[k] = v
    return ident


def _endpoints(arm: Arm, props: dict[str, Any], oldp: dict[str, Any], name: str, rg: str, loc: str) -> None:
    """DNS prefix, FQDNs (the private one of a private cluster) and the node resource group."""
    dns = props.get("dnsPrefix") or oldp.get("dnsPrefix") or f"{name[:10]}-{rg[:10]}-{arm.world.subscription_id[:6]}"
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


def _access(arm: Arm, props: dict[str, Any]) -> None:
    """Entra ID's tenant, RBAC, power state; secrets are never served back."""
    aad = props.get("aadProfile")
    if isinstance(aad, dict) and aad.get("managed"):
        aad.setdefault("tenantID", arm.world.tenant_id)
        aad.setdefault("enableAzureRBAC", False)
    props["maxAgentPools"] = 100
    props["powerState"] = {"code": "Running"}
    props.setdefault("enableRBAC", True)
    sp = props.get("servicePrincipalProfile") or {"clientId": "msi"}
    props["servicePrincipalProfile"] = {k: v for k, v in sp.items() if k != "secret"}
    if isinstance(props.get("windowsProfile"), dict):
        props["windowsProfile"] = {k: v for k, v in props["windowsProfile"].items() if k != "adminPassword"}


def _network(arm: Arm, props: dict[str, Any], oldp: dict[str, Any]) -> None:
    """The network profile's defaults (Azure CNI Overlay) and, with a load balancer, its outbound IPs."""
    net = props.get("networkProfile") or {}
    plugin = net.get("networkPlugin") or "azure"
    net["networkPlugin"] = plugin
    if plugin == "azure":
        net.setdefault("networkPluginMode", "overlay")
    for k, v in _NETWORK_DEFAULTS.items():
        net.setdefault(k, v)
    net.setdefault("podCidrs", [net["podCidr"]])
    net.setdefault("serviceCidrs", [net["serviceCidr"]])
    net.setdefault("ipFamilies", ["IPv4"])
    if str(net.get("outboundType")).lower() == "loadbalancer":
        lb = net.get("loadBalancerProfile") or {}
        lb.setdefault("managedOutboundIPs", {"count": 1})
        old_eff = _get(oldp, "networkProfile", "loadBalancerProfile", "effectiveOutboundIPs")
        lb["effectiveOutboundIPs"] = old_eff or [
            {"id": f"/subscriptions/{arm.world.subscription_id}/resourceGroups/{props['nodeResourceGroup']}/"
                   f"providers/Microsoft.Network/publicIPAddresses/{new_id()}"}]
        lb.setdefault("allocatedOutboundPorts", 0)
        lb.setdefault("idleTimeoutInMinutes", 30)
        lb.setdefault("backendPoolType", "nodeIPConfiguration")
        net["loadBalancerProfile"] = lb
    props["networkProfile"] = net


def _addons(arm: Arm, props: dict[str, Any], oldp: dict[str, Any], loc: str, revisions: list[str] | None) -> None:
    """Autoscaler profile defaults, the OIDC issuer URL, the mesh revisions, add-ons and the resource UID."""
    if isinstance(props.get("autoScalerProfile"), dict):
        for k, v in _AUTOSCALER_DEFAULTS.items():
            props["autoScalerProfile"].setdefault(k, v)
    oidc = props.get("oidcIssuerProfile")
    if isinstance(oidc, dict) and oidc.get("enabled"):
        old_url = _get(oldp, "oidcIssuerProfile", "issuerURL")
        oidc["issuerURL"] = old_url or f"https://{loc}.oic.prod-aks.azure.com/{arm.world.tenant_id}/{new_id()}/"
    if revisions is not None:
        mesh = props["serviceMeshProfile"]
        mesh.setdefault("istio", {})
        mesh["istio"] = dict(mesh["istio"] or {}, revisions=revisions)
    props.setdefault("addonProfiles", {})
    props["resourceUID"] = oldp.get("resourceUID") or secrets.token_hex(12)


# ------------------------------------------------------------------------------------------ pool
def complete_pool(arm: Arm, cluster_id: str, name: str, props: dict[str, Any], old: dict[str, Any] | None,
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
    for k, v in _POOL_DEFAULTS.items():
        p.setdefault(k, v)
    p.setdefault("maxPods", max_pods)
    if is_spot(p):
        _spot(p)
    for k, v in _POOL_FLAGS.items():
        p.setdefault(k, v)
    p.setdefault("upgradeSettings", {"maxSurge": "10%"})
    p["orchestratorVersion"] = p.get("orchestratorVersion") or cluster_version
    p["currentOrchestratorVersion"] = patch
    gpu = any(is_gpu_size(s) for s, _ in arm._pool_nodes(p))
    p["nodeImageVersion"] = arm.catalog["node_image_version_gpu" if gpu else "node_image_version"]
    if ptype == "VirtualMachines":
        p["virtualMachineNodesStatus"] = _vm_status(p)
    p["provisioningState"] = state
    p["powerState"] = {"code": "Running"}
    p["eTag"] = secrets.token_hex(6)
    return {"id": f"{cluster_id}/agentPools/{name}", "name": (old or {}).get("name", name),
            "type": f"{CS}/managedClusters/agentPools", "properties": p}


def _spot(p: dict[str, Any]) -> None:
    """As AKS: the taint and label of every Spot node, Delete and -1 unless given."""
    p.setdefault("scaleSetEvictionPolicy", "Delete")
    p.setdefault("spotMaxPrice", -1)
    taint = "kubernetes.azure.com/scalesetpriority=spot:NoSchedule"
    p["nodeTaints"] = list(p.get("nodeTaints") or []) + ([taint] if taint not in (p.get("nodeTaints") or []) else [])
    p["nodeLabels"] = {**(p.get("nodeLabels") or {}), "kubernetes.azure.com/scalesetpriority": "spot"}


def _vm_status(p: dict[str, Any]) -> list[dict[str, Any]]:
    """The node counts per size of a VirtualMachines pool."""
    scale = _get(p, "virtualMachinesProfile", "scale") or {}
    status = [{"size": m.get("size"), "count": int(m.get("count") or 0)} for m in scale.get("manual") or []]
    status += [{"size": a.get("size"), "count": int(a.get("minCount") or 0)} for a in scale.get("autoscale") or []]
    return status
