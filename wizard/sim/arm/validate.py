"""The checks of a cluster or pool PUT body, as AKS performs them, in AKS's order: each raises the AKS error
(`_Reject`) and changes nothing, so a refused PUT leaves the world as it was."""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from wizard.sim.faults import FAULTS

from .catalog import LOW_PRIORITY, _quotas_of, _surge, is_spot
from .wire import CS, LTS_PLAN, _get, _Reject, aks_error, is_gpu_size, version_key

if TYPE_CHECKING:
    from .rooms import Rooms as Arm

_GUID = r"[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}"


def _bad(code: str, message: str) -> _Reject:
    return _Reject(aks_error(400, code, message))


@dataclass
class ClusterPut:
    """A cluster PUT as its checks resolve it: the location, versions and target pools the accepted PUT stores."""
    name: str
    rg_name: str
    ckey: str
    body: dict[str, Any]
    rec: dict[str, Any] | None  # the stored cluster, None when the PUT creates it
    previous: dict[str, Any] | None = None  # the cluster as served before the PUT
    loc: str = ""
    patch: str = ""
    requested_version: str = ""
    targets: dict[str, dict[str, Any]] = field(default_factory=dict)  # pool key -> the pool's properties
    patches: dict[str, str] = field(default_factory=dict)  # pool key -> its resolved patch version
    names: dict[str, str] = field(default_factory=dict)  # pool key -> its name as given
    revisions: list[str] | None = None  # the Istio revisions, when the mesh is on
    gpu_pools: list[str] = field(default_factory=list)  # pools that add GPU nodes

    @property
    def props(self) -> dict[str, Any]:
        return self.body.get("properties") or {}

    @property
    def prev_props(self) -> dict[str, Any]:
        return self.previous["properties"] if self.previous else {}

    @property
    def existed(self) -> bool:
        return self.rec is not None


# ------------------------------------------------------------------------------------------ the cluster PUT
def check_cluster_put(arm: Arm, put: ClusterPut) -> ClusterPut:
    """Every check of a cluster PUT, in AKS's order; fills `put` with what the checks resolved."""
    put.previous = arm.served_cluster(put.rec) if put.rec else None
    _check_location(arm, put)
    _check_version(arm, put)
    _check_pools(arm, put)
    _check_mesh(arm, put)
    _check_gateway(arm, put)
    check_access(put.props, put.prev_props)
    check_network(arm, put.ckey, put.props, put.prev_props, put.targets, put.existed)
    put.gpu_pools = check_quota(arm, put.ckey, put.targets, put.loc)
    return put


def _check_location(arm: Arm, put: ClusterPut) -> None:
    rec = put.rec
    put.loc = arm._check_location(put.body.get("location") or (rec["body"]["location"] if rec else None),
                                  f"{CS}/managedClusters")
    if rec and rec["body"]["location"] != put.loc:
        raise _bad("InvalidParameter", f"Changing property 'location' is not allowed. Existing location is "
                                       f"'{rec['body']['location']}'.")


def _check_version(arm: Arm, put: ClusterPut) -> None:
    """The Kubernetes version, and Long-Term Support only on the Premium tier with the LTS plan."""
    props, prev_props = put.props, put.prev_props
    put.requested_version = props.get("kubernetesVersion") or ""
    put.patch, ventry = arm.resolve_version(put.requested_version, prev_props.get("currentKubernetesVersion"))
    tier = str(_get(put.body, "sku", "tier") or _get(put.previous, "sku", "tier") or "Free")
    plan = str(props.get("supportPlan") or prev_props.get("supportPlan") or "KubernetesOfficial")
    if ventry["supportPlan"] == [LTS_PLAN] and not (tier.lower() == "premium" and plan == LTS_PLAN):
        raise _bad("K8sVersionNotSupported",
                   f"Managed cluster {put.name} is on version {put.patch}, which is only available for "
                   "Long-Term Support (LTS). If you intend to onboard to LTS, please ensure the "
                   "cluster is in Premium tier and LTS support plan (see https://aka.ms/aks/enable-lts). "
                   "Otherwise, use [az aks get-versions] command to get the supported version list "
                   "in this region. For more information, please check https://aka.ms/supported-version-list")
    if plan == LTS_PLAN and tier.lower() != "premium":
        raise _bad("InvalidParameter", "Long-Term Support (AKSLongTermSupport) requires the Premium tier "
                                       "(see https://aka.ms/aks/enable-lts).")


def _check_pools(arm: Arm, put: ClusterPut) -> None:
    """Each pool of the body (or, without agentPoolProfiles, the stored ones), and one System pool at least."""
    profiles = put.props.get("agentPoolProfiles")
    if profiles is None:
        profiles = put.prev_props.get("agentPoolProfiles") or []
    if not isinstance(profiles, list) or (not put.rec and not profiles):
        raise _bad("InvalidParameter", "The value of parameter agentPoolProfiles is invalid. A managed cluster needs "
                                       "at least one agent pool.")
    for prof in profiles:
        pname = str(prof.get("name") or "")
        pprops = {k: v for k, v in prof.items() if k != "name"}
        put.patches[pname.lower()] = check_pool(arm, pname, pprops, put.loc, put.requested_version or put.patch,
                                                put.patch)
        put.targets[pname.lower()] = pprops
        put.names[pname.lower()] = pname
    _ensure_system_pool(put)


def _ensure_system_pool(put: ClusterPut) -> None:
    """AKS makes the first pool System when no pool is and the first gives no mode; refuses when it gives one."""
    targets = put.targets
    all_modes = [str(p.get("mode") or "") for p in targets.values()]
    if put.rec:
        all_modes += [str(_get(p, "properties", "mode") or "") for k, p in put.rec["pools"].items()
                      if k not in targets]
    if not targets or "system" in [m.lower() for m in all_modes]:
        return
    first = next(iter(targets))
    if targets[first].get("mode"):
        raise _bad("InvalidParameter", "A managed cluster must have at least one agent pool in System mode "
                                       "(see https://aka.ms/aks/nodepool/mode).")
    targets[first] = dict(targets[first], mode="System")


def _check_mesh(arm: Arm, put: ClusterPut) -> None:
    """The Istio add-on's revisions: given, else the stored ones, else the newest compatible with the version."""
    mesh = put.props.get("serviceMeshProfile") or {}
    if str(mesh.get("mode") or "").lower() != "istio":
        return
    minor = ".".join(put.patch.split(".")[:2])
    revisions = list(_get(mesh, "istio", "revisions") or [])
    known = {r["revision"]: r for r in arm.catalog["mesh_revisions"]}
    if not revisions:
        prev_revs = _get(put.prev_props, "serviceMeshProfile", "istio", "revisions") or []
        compatible = [r for r in arm.catalog["mesh_revisions"] if minor in r["compatible"]]
        revisions = list(prev_revs) or ([compatible[-1]["revision"]] if compatible else [])
    for rev in revisions:
        if rev not in known:
            raise _bad("BadRequest", "Requested change in revisions is not allowed. Reason: Revision "
                                     f"{rev} is not supported by the service mesh add-on.")
        if minor not in known[rev]["compatible"]:
            raise _bad("BadRequest", f"Service mesh revision {rev} is not compatible with cluster version "
                                     f"{put.patch}. To find information about mesh-cluster compatibility, use "
                                     "'az aks mesh get-upgrades'.")
    put.revisions = revisions


def _check_gateway(arm: Arm, put: ClusterPut) -> None:
    if str(_get(put.props, "ingressProfile", "gatewayAPI", "installation") or "").lower() != "standard":
        return
    require_feature(arm, f"{CS}/ManagedGatewayAPIPreview")
    if put.revisions is None:
        raise _bad("BadRequest", "Managed Gateway API installation 'Standard' requires the Istio-based service "
                                 "mesh add-on (serviceMeshProfile.mode 'Istio') on this cluster. Enable the "
                                 "add-on or set ingressProfile.gatewayAPI.installation to 'Disabled'.")


def require_feature(arm: Arm, flag: str) -> None:
    if not arm.feature_registered(flag):
        raise _bad("PreviewFeatureNotRegistered", f"Preview feature {flag} not registered.")


# ------------------------------------------------------------------------------------------ one pool
def check_pool(arm: Arm, name: str, props: dict[str, Any], loc: str, cluster_version: str,
               cluster_patch: str) -> str:
    """Validate one pool's properties; returns its resolved patch version."""
    if not re.fullmatch(r"[a-z][a-z0-9]{0,11}", name or ""):
        raise _bad("InvalidParameter", f"Agent Pool name '{name}' is invalid: it must start with a lowercase letter, "
                                       "have max length of 12, and only have characters a-z0-9.")
    _check_sizes(arm, props, loc)
    patch = _pool_version(arm, props, cluster_version, cluster_patch)
    _check_priority(name, props)
    if props.get("enableAutoScaling") and int(props.get("minCount") or 0) == 0 and \
            str(props.get("mode") or "").lower() == "system":
        raise _bad("InvalidParameter", f"Agent pool '{name}': a System mode pool needs minCount of at least 1.")
    _check_managed_gpu(arm, name, props)
    return patch


def _check_sizes(arm: Arm, props: dict[str, Any], loc: str) -> None:
    for size, _n in arm._pool_nodes(props):
        if not size:
            continue
        sku = arm.skus.get(size.lower())
        if sku is None or sku.get("retired") or arm._unavailable(sku, loc) == "location":
            raise _bad("BadRequest", f"The VM size of {size} is not allowed in your subscription in location "
                                     f"'{loc}'. For more details, please visit https://aka.ms/aks/quotas-skus-regions")


def _pool_version(arm: Arm, props: dict[str, Any], cluster_version: str, cluster_patch: str) -> str:
    ov = props.get("orchestratorVersion") or ""
    if not ov:
        return cluster_patch
    patch, _ = arm.resolve_version(ov, None, pool=True)
    if version_key(patch)[:2] > version_key(cluster_patch)[:2]:
        raise _bad("InvalidParameter", f"Node pool version {ov} and control plane version {cluster_version} are "
                                       "incompatible. Node pool version cannot be greater than control plane version.")
    return patch


def _check_priority(name: str, props: dict[str, Any]) -> None:
    """Spot: never the System pool; spotMaxPrice -1 or positive; the Spot fields only with Spot."""
    if not is_spot(props):
        if props.get("scaleSetEvictionPolicy") or props.get("spotMaxPrice") is not None:
            raise _bad("InvalidParameter", f"Agent pool '{name}': scaleSetEvictionPolicy and "
                                           "spotMaxPrice are only allowed with scaleSetPriority Spot.")
        return
    if str(props.get("mode") or "").lower() == "system":
        raise _bad("InvalidParameter", f"Agent pool '{name}': a System mode pool cannot use scaleSetPriority Spot.")
    price = props.get("spotMaxPrice")
    if price is not None and not (price == -1 or price > 0):
        raise _bad("InvalidParameter", f"Agent pool '{name}': spotMaxPrice must be -1 or greater than 0 "
                                       f"(got {price}).")


def _check_managed_gpu(arm: Arm, name: str, props: dict[str, Any]) -> None:
    mode = str(_get(props, "gpuProfile", "nvidia", "managementMode") or "")
    if mode.lower() != "managed":
        return
    require_feature(arm, f"{CS}/ManagedGPUExperiencePreview")
    autoscaled = props.get("enableAutoScaling") or _get(props, "virtualMachinesProfile", "scale", "autoscale")
    if autoscaled:  # as AKS refuses it while managed GPU is in preview
        raise _bad("BadRequest", f"Agent pool '{name}' sets gpuProfile.nvidia.managementMode 'Managed' with "
                                 "the cluster autoscaler enabled: the cluster autoscaler is not supported on "
                                 "managed GPU node pools while managed GPU is in preview. Disable "
                                 "enableAutoScaling, or set managementMode to 'Unmanaged'.")


# ------------------------------------------------------------------------------------------ access
def check_access(props: dict[str, Any], prev: dict[str, Any]) -> None:
    """Entra ID, Azure RBAC, local accounts, OIDC issuer and workload identity, as AKS checks them."""
    aad = props.get("aadProfile")
    managed = bool((aad or {}).get("managed"))
    if aad is not None and not managed:
        raise _bad("BadRequest", "The legacy Azure AD integration (aadProfile without managed) is "
                                 "retired; set aadProfile.managed to true for AKS-managed Microsoft Entra ID.")
    if _get(prev, "aadProfile", "managed") and not managed:
        raise _bad("BadRequest", "Disabling AKS-managed Microsoft Entra ID integration is not "
                                 "allowed once it is enabled.")
    for gid in (aad or {}).get("adminGroupObjectIDs") or []:
        if not re.fullmatch(_GUID, str(gid)):
            raise _bad("InvalidParameter", f"The value of parameter "
                                           f"aadProfile.adminGroupObjectIDs is invalid: '{gid}' is not a GUID.")
    if props.get("disableLocalAccounts") and not managed:
        raise _bad("BadRequest", "Local accounts can only be disabled on clusters with "
                                 "AKS-managed Microsoft Entra ID integration (aadProfile.managed).")
    oidc = bool(_get(props, "oidcIssuerProfile", "enabled"))
    if _get(prev, "oidcIssuerProfile", "enabled") and not oidc:
        raise _bad("BadRequest", "The OIDC issuer cannot be disabled once it is enabled.")
    if _get(props, "securityProfile", "workloadIdentity", "enabled") and not oidc:
        raise _bad("BadRequest", "Enabling workload identity requires enabling OIDC issuer "
                                 "profile (oidcIssuerProfile.enabled).")


# ------------------------------------------------------------------------------------------ network
def check_network(arm: Arm, ckey: str, props: dict[str, Any], prev: dict[str, Any],
                  targets: dict[str, dict[str, Any]], existed: bool) -> None:
    """API server access, outbound type and each pool's own subnet, as AKS checks them."""
    _check_api_server(props, prev, existed)
    net = props.get("networkProfile") or prev.get("networkProfile") or {}
    overlay = (str(net.get("networkPluginMode") or "").lower() == "overlay"
               or str(net.get("networkPlugin") or "azure").lower() != "azure")
    subnets = {str(p.get("vnetSubnetID") or "") for p in targets.values()}
    outbound = str(net.get("outboundType") or "loadBalancer")
    _check_outbound(outbound, subnets)
    for sid in sorted(subnets - {""}):
        _check_subnet(arm, ckey, sid, outbound, targets, overlay)


def _check_api_server(props: dict[str, Any], prev: dict[str, Any], existed: bool) -> None:
    api = props.get("apiServerAccessProfile") or {}
    private = bool(api.get("enablePrivateCluster"))
    if existed and private != bool(_get(prev, "apiServerAccessProfile", "enablePrivateCluster")):
        raise _bad("BadRequest", "Changing property 'enablePrivateCluster' is not allowed on an existing cluster.")
    ranges = api.get("authorizedIPRanges") or []
    if private and ranges:
        raise _bad("BadRequest", "API server authorized IP ranges are not supported on private clusters.")
    for r in ranges:
        try:
            ipaddress.IPv4Network(r)
        except ValueError:
            raise _bad("InvalidParameter", f"The value of parameter "
                                           f"apiServerAccessProfile.authorizedIPRanges is invalid: '{r}'.") from None


def _check_outbound(outbound: str, subnets: set[str]) -> None:
    if outbound in ("userDefinedRouting", "userAssignedNATGateway") and subnets in ({""}, set()):
        raise _bad("InvalidParameter", f"outboundType {outbound} requires the agent pools to "
                                       "use a custom VNet subnet (vnetSubnetID).")
    if outbound == "managedNATGateway" and subnets - {""}:
        raise _bad("InvalidParameter", "outboundType managedNATGateway is not supported with a "
                                       "custom VNet; use userAssignedNATGateway.")
    vnets = {s.lower().rpartition("/subnets/")[0] for s in subnets if s}
    if len(vnets) > 1 or (vnets and "" in subnets):
        raise _bad("InvalidParameter", "All agent pools of a cluster must use subnets of the same virtual network.")


def _check_subnet(arm: Arm, ckey: str, sid: str, outbound: str, targets: dict[str, dict[str, Any]],
                  overlay: bool) -> None:
    """The subnet exists, is not delegated elsewhere, has the route table or NAT gateway the outbound type needs,
    and has addresses for the nodes (and, without overlay, the pods) of the pools in it."""
    from wizard.sim import network

    found = network.find_subnet(arm, sid)
    if found is None:
        raise _bad("InvalidParameter", f"The subnet {sid} of the agent pool does not exist (vnetSubnetID).")
    sub = found[1]
    foreign = [d for d in sub["delegations"] if str(_get(d, "properties", "serviceName") or "").lower()
               != "microsoft.containerservice/managedclusters"]
    if foreign:
        raise _bad("SubnetIsDelegated", f"Subnet {sid} is delegated to "
                                        f"{_get(foreign[0], 'properties', 'serviceName')} and cannot hold AKS nodes.")
    if outbound == "userDefinedRouting" and not sub.get("routeTable"):
        raise _bad("ExistingRouteTableNotAssociatedWithSubnet", f"An existing route table "
                   f"has not been associated with subnet {sid}. Please update the route table "
                   "association (outboundType userDefinedRouting).")
    if outbound == "userAssignedNATGateway" and not sub.get("natGateway"):
        raise _bad("ExistingNatGatewayNotAssociatedWithSubnet", f"An existing NAT gateway "
                   f"has not been associated with subnet {sid} (outboundType userAssignedNATGateway).")
    mine = [k for k, p in targets.items() if str(p.get("vnetSubnetID") or "").lower() == sid.lower()]
    need = sum(network.pool_addresses(targets[k], overlay, int(targets[k].get("count") or 0)
                                      + _surge(targets[k], int(targets[k].get("count") or 0))) for k in mine)
    free = network.capacity(sub["addressPrefix"]) - network.addresses_used(arm, sid, {(ckey, k) for k in mine})
    if need > free:
        raise _bad("InsufficientSubnetSize", f"Pre-allocated IPs {need} exceeds IPs "
                   f"available {max(free, 0)} in Subnet Cidr {sub['addressPrefix']}, Subnet Name "
                   f"{sub['name']}. http://aka.ms/aks/insufficientsubnetsize")


# ------------------------------------------------------------------------------------------ quota
def _new_vcpus(arm: Arm, ckey: str, targets: dict[str, dict[str, Any]]) -> tuple[dict[str, int], list[str]]:
    """vCPUs the target pools add per quota (count growth only), and the GPU pools that add nodes."""
    rec = arm.world.clusters.get(ckey)
    delta: dict[str, int] = {}
    gpu_pools: list[str] = []
    for pkey, props in targets.items():
        old = rec["pools"].get(pkey) if rec else None
        old_nodes: dict[str, int] = {}
        if old and _get(old, "properties", "provisioningState") != "Failed":
            for size, n in arm._pool_nodes(old["properties"]):
                old_nodes[size.lower()] = old_nodes.get(size.lower(), 0) + n
        if _add_growth(arm, props, old_nodes, delta):
            gpu_pools.append(pkey)
    return delta, gpu_pools


def _add_growth(arm: Arm, props: dict[str, Any], old_nodes: dict[str, int], delta: dict[str, int]) -> bool:
    """Add one pool's growth to `delta`; whether it adds GPU nodes."""
    adds_gpu = False
    for size, n in arm._pool_nodes(props):
        sku = arm.skus.get(size.lower())
        grow = n - old_nodes.get(size.lower(), 0)
        if not sku or grow <= 0:
            continue
        grow += _surge(props, n)  # AKS counts the surge nodes of the new count too
        for quota in _quotas_of(props, sku):
            delta[quota] = delta.get(quota, 0) + grow * sku["vCPUs"]
        adds_gpu = adds_gpu or is_gpu_size(size)
    return adds_gpu


def check_quota(arm: Arm, ckey: str, targets: dict[str, dict[str, Any]], loc: str) -> list[str]:
    """Raise ErrCode_InsufficientVCPUQuota when the target pools need more vCPUs than left (or the
    gpu-quota fault is on and they add GPU nodes). Returns the GPU pools that add nodes."""
    delta, gpu_pools = _new_vcpus(arm, ckey, targets)
    # the targets' current nodes count as used: the delta only counts growth
    used = arm._usage(loc)
    for fam, need in delta.items():
        if fam != "cores":
            _check_family(arm, fam, need, used, loc)
    need = delta.get("cores", 0)
    remaining = max(0, arm.quota()["cores"] - used.get("cores", 0))
    if need > remaining:
        raise _bad("ErrCode_InsufficientVCPUQuota",
                   f"Insufficient regional vcpu quota left for location {loc}. left regional vcpu "
                   f"quota {remaining}, requested quota {need}. Surge nodes would also consume vcpu quota.")
    return gpu_pools


def _check_family(arm: Arm, fam: str, need: int, used: dict[str, int], loc: str) -> None:
    limit = arm._family_limit(fam, used)
    remaining = max(0, limit - used.get(fam, 0))
    if need <= remaining:
        return
    if fam == LOW_PRIORITY:
        used_lp = used.get(fam, 0)
        raise _bad("ErrCode_InsufficientVCPUQuota",
                   "Operation could not be completed as it results in exceeding approved Low "
                   "Priority Cores quota. Additional details - Deployment Model: Resource "
                   f"Manager, Location: {loc}, Current Limit: {limit}, Current Usage: {used_lp}, "
                   f"Additional Required: {need}, (Minimum) New Limit Required: "
                   f"{used_lp + need}. Spot node pools count against the low priority quota; "
                   "surge nodes would also consume it.")
    raise _bad("ErrCode_InsufficientVCPUQuota", FAULTS["gpu-quota"].message.format(
        requested=need, remaining=remaining, family=fam, location=loc))
