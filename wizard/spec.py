"""The Azure resources the answers describe: the desired cluster and GPU pool bodies (SDK models), the
compact view of a cluster that differences are computed on, and the equivalent `az` commands."""
from __future__ import annotations

import hashlib
import re
import shlex
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, Callable

from wizard.provenance import with_provenance

if TYPE_CHECKING:
    from wizard.answers import Answers, GpuPoolAnswers


@dataclass(frozen=True)
class Resolved:
    """What `auto` and a minor version became, given what the location offers."""

    subscription_id: str
    subscription_name: str
    kubernetes_version: str  # exact patch
    istio_revision: str | None
    flags: tuple[str, ...]  # preview flags the options need (registered or not)


@dataclass(frozen=True)
class Difference:
    field: str  # answers path
    current: Any
    desired: Any

    def __str__(self) -> str:
        return f"{self.field}: {self.current!r} -> {self.desired!r}"


def dns_prefix(answers: "Answers", subscription_id: str) -> str:
    """Same recipe as `az aks create`: name, group and subscription fragments, DNS-safe."""
    if answers.cluster.dns_prefix:
        return answers.cluster.dns_prefix
    def clean(s: str, n: int) -> str:
        return re.sub(r"[^A-Za-z0-9-]", "", s)[:n].strip("-")
    prefix = f"{clean(answers.cluster.name, 10)}-{clean(answers.resource_group.name, 16)}-{subscription_id[:6]}"
    return re.sub(r"-+", "-", prefix).strip("-") or "aks-" + hashlib.sha1(answers.cluster.name.encode()).hexdigest()[:8]


def addon_count(answers: "Answers") -> int:
    a = answers.cluster.addons
    return sum([a.keda, a.kaito, a.managed_prometheus])


SPOT_TAINT = "kubernetes.azure.com/scalesetpriority=spot:NoSchedule"  # AKS puts it on every Spot node itself
SPOT_LABEL = ("kubernetes.azure.com/scalesetpriority", "spot")


def oidc_issuer_on(answers: "Answers") -> bool:
    """The OIDC issuer is on when asked for, and when KAITO or workload identity need it."""
    c = answers.cluster
    return c.oidc_issuer or c.workload_identity or c.addons.kaito


def gpu_pool_profile(pool: "GpuPoolAnswers", orchestrator_version: str | None = None,
                     provenance: dict[str, str] | None = None, subnet_id: str | None = None) -> dict[str, Any]:
    """Keyword arguments shared by the cluster's GPU agentPoolProfile and a standalone AgentPool (`provenance`:
    the tags of a pool this run creates; `subnet_id`: the cluster's own subnet, which every pool shares)."""
    from azure.mgmt.containerservice import models as m

    kw: dict[str, Any] = dict(
        count=pool.count,
        vm_size=pool.vm_size,
        mode="User",
        os_type="Linux",
        type="VirtualMachineScaleSets",
        node_taints=list(pool.taints),
        node_labels=dict(pool.labels),
        gpu_profile=m.GPUProfile(
            driver="Install",
            nvidia=m.NvidiaGPUProfile(management_mode="Managed") if pool.managed_gpu else None,
        ),
    )
    if pool.zones:
        kw["availability_zones"] = list(pool.zones)
    if subnet_id:
        kw["vnet_subnet_id"] = subnet_id
    if pool.priority == "Spot":
        kw.update(scale_set_priority="Spot", scale_set_eviction_policy=pool.eviction_policy,
                  spot_max_price=pool.spot_max_price)
    if pool.autoscale:
        kw.update(enable_auto_scaling=True, min_count=pool.autoscale.min, max_count=pool.autoscale.max)
    else:
        kw["enable_auto_scaling"] = False
    if orchestrator_version:
        kw["orchestrator_version"] = orchestrator_version
    if provenance:
        kw["tags"] = dict(provenance)
    return kw


def desired_cluster(answers: "Answers", resolved: Resolved, include_gpu_pool: bool = True,
                    provenance: dict[str, str] | None = None) -> Any:
    """The ManagedCluster to PUT for a new cluster: everything in one request. `provenance` tags say this wizard
    created it (only a cluster it creates gets them; differences never count them, see cluster_view)."""
    from azure.mgmt.containerservice import models as m

    c = answers.cluster
    sp = c.system_pool
    net = c.network
    system: dict[str, Any] = {"availability_zones": list(sp.zones)} if sp.zones else {}
    if net.vnet_subnet_id:
        system["vnet_subnet_id"] = net.vnet_subnet_id
    pools = [m.ManagedClusterAgentPoolProfile(
        name=sp.name, count=sp.count, vm_size=sp.vm_size, mode="System", os_type="Linux",
        type="VirtualMachineScaleSets", **system,
    )]
    if include_gpu_pool:
        pools += [m.ManagedClusterAgentPoolProfile(name=gp.name, **gpu_pool_profile(
            gp, provenance=provenance, subnet_id=net.vnet_subnet_id)) for gp in answers.all_gpu_pools]
    kw: dict[str, Any] = dict(
        location=answers.azure.location,
        tags=with_provenance(c.tags, provenance),
        sku=m.ManagedClusterSKU(name="Base", tier=c.tier),
        identity=m.ManagedClusterIdentity(type="SystemAssigned"),
        kubernetes_version=resolved.kubernetes_version,
        dns_prefix=dns_prefix(answers, resolved.subscription_id),
        support_plan=c.support_plan,
        enable_rbac=True,
        agent_pool_profiles=pools,
        network_profile=m.ContainerServiceNetworkProfile(
            network_plugin=c.network.plugin,
            network_plugin_mode=c.network.plugin_mode if c.network.plugin == "azure" else None,
            network_dataplane=c.network.dataplane,
            outbound_type=c.network.outbound_type,
        ),
    )
    kw.update(profile_kwargs(answers, resolved))
    return m.ManagedCluster(**{k: v for k, v in kw.items() if v is not None})


def profile_kwargs(answers: "Answers", resolved: Resolved) -> dict[str, Any]:
    """The cluster-level options (mesh, Gateway API, add-ons) as ManagedCluster keyword arguments."""
    from azure.mgmt.containerservice import models as m

    c = answers.cluster
    kw: dict[str, Any] = {}
    if c.istio.enabled and resolved.istio_revision:
        kw["service_mesh_profile"] = m.ServiceMeshProfile(
            mode="Istio", istio=m.IstioServiceMesh(revisions=[resolved.istio_revision]))
    if c.gateway_api:
        kw["ingress_profile"] = m.ManagedClusterIngressProfile(
            gateway_api=m.ManagedClusterIngressProfileGatewayConfiguration(installation="Standard"))
    if c.addons.keda:
        kw["workload_auto_scaler_profile"] = m.ManagedClusterWorkloadAutoScalerProfile(
            keda=m.ManagedClusterWorkloadAutoScalerProfileKeda(enabled=True))
    if c.addons.kaito:
        kw["ai_toolchain_operator_profile"] = m.ManagedClusterAIToolchainOperatorProfile(enabled=True)
    if oidc_issuer_on(answers):
        kw["oidc_issuer_profile"] = m.ManagedClusterOIDCIssuerProfile(enabled=True)
    if c.workload_identity:
        kw["security_profile"] = m.ManagedClusterSecurityProfile(
            workload_identity=m.ManagedClusterSecurityProfileWorkloadIdentity(enabled=True))
    if c.addons.managed_prometheus:
        kw["azure_monitor_profile"] = m.ManagedClusterAzureMonitorProfile(
            metrics=m.ManagedClusterAzureMonitorProfileMetrics(enabled=True))
    access = c.access
    if access.entra_id:
        kw["aad_profile"] = m.ManagedClusterAADProfile(
            managed=True, enable_azure_rbac=access.azure_rbac,
            admin_group_object_i_ds=list(access.admin_group_object_ids) or None, tenant_id=access.tenant_id)
    if not access.local_accounts:
        kw["disable_local_accounts"] = True
    api = c.network.api_server
    if api.private or api.authorized_ip_ranges:
        kw["api_server_access_profile"] = m.ManagedClusterAPIServerAccessProfile(
            enable_private_cluster=api.private or None,
            authorized_ip_ranges=list(api.authorized_ip_ranges) or None)
    return kw


def desired_pool(answers: "Answers", resolved: Resolved, provenance: dict[str, str] | None = None,
                 pool: "GpuPoolAnswers | None" = None) -> Any:
    """The AgentPool to PUT for a GPU pool (default: the first) of an existing cluster."""
    from azure.mgmt.containerservice import models as m

    pool = pool or answers.all_gpu_pools[0]
    return m.AgentPool(**gpu_pool_profile(pool, resolved.kubernetes_version, provenance,
                                          answers.cluster.network.vnet_subnet_id))


def cluster_update(answers: "Answers", resolved: Resolved) -> Callable[[Any], Any]:
    """An update's or retry's way from the cluster as Azure has it then to the body it sends (ArmWrite.update)."""
    return partial(updated_cluster, answers=answers, resolved=resolved)


def updated_cluster(existing: Any, answers: "Answers", resolved: Resolved) -> Any:
    """The existing cluster with the answers' cluster-level options applied. Agent pools are kept as they are
    (the GPU pool changes through the agent pool API) but for the system pool's node count, so an update can
    never drop a pool."""
    from azure.mgmt.containerservice import models as m

    body = existing.as_dict()
    props = body.setdefault("properties", {})
    for key in ("provisioningState", "powerState", "currentKubernetesVersion", "fqdn", "azurePortalFQDN",
                "privateFQDN", "maxAgentPools", "resourceUID", "status"):
        props.pop(key, None)
    gpus = {p.name: p for p in answers.all_gpu_pools}
    for i, pool in enumerate(props.get("agentPoolProfiles") or []):
        gpu = gpus.get(pool.get("name"))
        if gpu is not None and (pool.get("provisioningState") or "") == "Failed":
            # the GPU pool never came up (a SKU or quota failure): it is sent as the answers now say, which is
            # how following the failure's advice (change gpu_pool.vm_size) takes effect; it is not an update
            fresh = m.ManagedClusterAgentPoolProfile(name=gpu.name, **gpu_pool_profile(
                gpu, provenance=pool.get("tags"), subnet_id=answers.cluster.network.vnet_subnet_id)).as_dict()
            props["agentPoolProfiles"][i] = pool = fresh
        for key in ("provisioningState", "powerState", "currentOrchestratorVersion", "nodeImageVersion", "eTag"):
            pool.pop(key, None)
    props["kubernetesVersion"] = resolved.kubernetes_version
    props["supportPlan"] = answers.cluster.support_plan
    body.setdefault("sku", {})["tier"] = answers.cluster.tier
    if answers.cluster.tags:
        body["tags"] = {**(body.get("tags") or {}), **answers.cluster.tags}
    sp = answers.cluster.system_pool
    for pool in props.get("agentPoolProfiles") or []:
        if pool.get("name") == sp.name and not pool.get("enableAutoScaling"):
            pool["count"] = sp.count  # the one system pool setting AKS changes in place
    wanted = m.ManagedCluster(location=answers.azure.location, **profile_kwargs(answers, resolved)).as_dict()
    wanted_props = wanted.get("properties", {})
    # the API server profile is merged (its private DNS zone and subnet stay); its ranges are the answers'
    api = {**(props.get("apiServerAccessProfile") or {}), **wanted_props.pop("apiServerAccessProfile", {})}
    if api:
        api["authorizedIPRanges"] = list(answers.cluster.network.api_server.authorized_ip_ranges)
        props["apiServerAccessProfile"] = api
    props.update(wanted_props)
    props["disableLocalAccounts"] = not answers.cluster.access.local_accounts  # re-enabling them is a change too
    for drop in ("id", "name", "type", "systemData"):
        body.pop(drop, None)
    return m.ManagedCluster(body)


# ---------------------------------------------------------------------------------------- differences
# Fields AKS cannot change in place on an existing cluster or pool (or this tool does not change): a difference
# there is refused even with --allow-update, with the way out.
FIXED: dict[str, str] = {
    "cluster.dns_prefix": "the DNS prefix is fixed when a cluster is created: set cluster.dns_prefix to the "
                          "cluster's, or remove it",
    "cluster.network.plugin": "set the answers' network to the cluster's, or change it yourself "
                              "(az aks update --network-plugin ...) where AKS supports that migration",
    "cluster.network.plugin_mode": "set the answers' network to the cluster's, or migrate it yourself "
                                   "(az aks update --network-plugin-mode overlay)",
    "cluster.network.dataplane": "set the answers' network to the cluster's, or migrate it yourself "
                                 "(az aks update --network-dataplane cilium)",
    "cluster.network.vnet_subnet_id": "a cluster's subnet is fixed: set cluster.network.vnet_subnet_id to the "
                                      "cluster's, or create a new cluster",
    "cluster.network.outbound_type": "set cluster.network.outbound_type to the cluster's, or migrate it yourself "
                                     "(az aks update --outbound-type ...) where AKS supports that migration",
    "cluster.network.api_server.private": "a public API server cannot become private in place (nor the other way): "
                                          "set cluster.network.api_server.private to the cluster's, or create a new "
                                          "cluster",
    "cluster.access.entra_id": "AKS cannot turn Microsoft Entra ID integration off: set cluster.access.entra_id: true",
    "cluster.oidc_issuer": "AKS cannot turn a cluster's OIDC issuer off: set cluster.oidc_issuer: true",
    "cluster.system_pool.name": "set cluster.system_pool.name to the cluster's system pool",
    "cluster.system_pool.vm_size": "a pool's VM size is fixed: set cluster.system_pool.vm_size to the pool's, or add "
                                   "a system pool of the new size (az aks nodepool add --mode System) and name it "
                                   "in cluster.system_pool",
    "cluster.system_pool.zones": "a pool's zones are fixed: set cluster.system_pool.zones to the pool's",
    "gpu_pool.vm_size": "a pool's VM size is fixed: set gpu_pool.vm_size to the pool's, or choose another "
                        "gpu_pool.name for a new pool",
    "gpu_pool.zones": "a pool's zones are fixed: set gpu_pool.zones to the pool's, or choose another gpu_pool.name",
    "gpu_pool.priority": "a pool's priority (Regular or Spot) is fixed: set it to the pool's, or choose another name "
                         "for a new pool",
    "gpu_pool.eviction_policy": "a Spot pool's eviction policy is fixed: set it to the pool's, or choose another "
                                "name for a new pool",
    "gpu_pool.spot_max_price": "a Spot pool's max price is fixed: set it to the pool's, or choose another name for "
                               "a new pool",
}
ONE_WAY = ("cluster.access.entra_id", "cluster.oidc_issuer")  # AKS turns these on in place, never off


def _minor(version: str | None) -> str | None:
    return ".".join(version.split(".")[:2]) if version else None


def _wanted_tags(have: dict[str, Any] | None, want: dict[str, Any]) -> dict[str, Any]:
    """Tags Azure or a policy added are not a difference: only the answers' tags must be there and equal."""
    have = have or {}
    return {k: have.get(k) for k in want}


def cluster_wanted(answers: "Answers", resolved: Resolved) -> dict[str, Any]:
    """Every cluster-level fact the answers set, keyed by answers path (the GPU pool is compared on its own)."""
    c, sp = answers.cluster, answers.cluster.system_pool
    a = c.addons
    want: dict[str, Any] = {
        "cluster.kubernetes_version": resolved.kubernetes_version,
        "cluster.tier": c.tier,
        "cluster.support_plan": c.support_plan,
        "cluster.tags": dict(c.tags),
        "cluster.network.plugin": c.network.plugin,
        "cluster.network.plugin_mode": c.network.plugin_mode if c.network.plugin == "azure" else None,
        "cluster.istio.enabled": c.istio.enabled,
        "cluster.gateway_api": c.gateway_api,
        "cluster.addons.keda": a.keda,
        "cluster.addons.kaito": a.kaito,
        "cluster.addons.managed_prometheus": a.managed_prometheus,
        "cluster.system_pool.name": sp.name,
        "cluster.system_pool.vm_size": sp.vm_size,
        "cluster.system_pool.count": sp.count,
        "cluster.system_pool.zones": sorted(sp.zones),
    }
    if c.istio.enabled:
        want["cluster.istio.revision"] = resolved.istio_revision
    if c.dns_prefix:
        want["cluster.dns_prefix"] = c.dns_prefix
    if c.network.dataplane:
        want["cluster.network.dataplane"] = c.network.dataplane
    net, access = c.network, c.access
    if net.vnet_subnet_id:
        want["cluster.network.vnet_subnet_id"] = net.vnet_subnet_id
    want |= {
        "cluster.network.outbound_type": net.outbound_type,
        "cluster.network.api_server.private": net.api_server.private,
        "cluster.network.api_server.authorized_ip_ranges": sorted(net.api_server.authorized_ip_ranges),
        "cluster.access.entra_id": access.entra_id,
        "cluster.access.local_accounts": access.local_accounts,
        "cluster.workload_identity": c.workload_identity,
        "cluster.oidc_issuer": oidc_issuer_on(answers),
    }
    if access.entra_id:
        want["cluster.access.azure_rbac"] = access.azure_rbac
        want["cluster.access.admin_group_object_ids"] = sorted(g.lower() for g in access.admin_group_object_ids)
    return want


def _sub(d: dict[str, Any], *path: str) -> Any:
    """d[path[0]][path[1]]..., None where a level is missing (ARM leaves unset profiles out)."""
    node: Any = d
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return node


def _system_pool_view(pools: list[dict[str, Any]], system_pool: str) -> dict[str, Any]:
    """The system pool's facts: the pool of that name; when there is none, its name reads as the cluster's
    System-mode pools."""
    pool = next((a for a in pools if a.get("name") == system_pool), None)
    if pool is None:
        names = [str(a.get("name")) for a in pools if (a.get("mode") or "").lower() == "system"]
        sys_name: Any = (" or ".join(names) + " (no pool named " + system_pool + ")") if names else None
    else:
        sys_name = pool.get("name")
    pool = pool or {}
    return {
        "cluster.network.vnet_subnet_id": pool.get("vnetSubnetID"),
        "cluster.system_pool.name": sys_name,
        "cluster.system_pool.vm_size": pool.get("vmSize"),
        "cluster.system_pool.count": pool.get("count"),
        "cluster.system_pool.zones": sorted(pool.get("availabilityZones") or []),
    }


def _options_view(p: dict[str, Any]) -> dict[str, Any]:
    """Mesh, Gateway API, add-ons and identity options of a cluster's properties."""
    mesh = p.get("serviceMeshProfile") or {}
    return {
        "cluster.istio.enabled": (mesh.get("mode") or "").lower() == "istio",
        "cluster.istio.revision": (_sub(mesh, "istio", "revisions") or [None])[-1],
        "cluster.gateway_api": str(_sub(p, "ingressProfile", "gatewayAPI", "installation") or "").lower()
        == "standard",
        "cluster.addons.keda": bool(_sub(p, "workloadAutoScalerProfile", "keda", "enabled")),
        "cluster.addons.kaito": bool(_sub(p, "aiToolchainOperatorProfile", "enabled")),
        "cluster.addons.managed_prometheus": bool(_sub(p, "azureMonitorProfile", "metrics", "enabled")),
        "cluster.workload_identity": bool(_sub(p, "securityProfile", "workloadIdentity", "enabled")),
        "cluster.oidc_issuer": bool(_sub(p, "oidcIssuerProfile", "enabled")),
    }


def _access_view(p: dict[str, Any]) -> dict[str, Any]:
    """Network exposure and sign-in of a cluster's properties."""
    net = p.get("networkProfile") or {}
    aad = p.get("aadProfile") or {}
    return {
        "cluster.network.plugin": net.get("networkPlugin"),
        "cluster.network.plugin_mode": net.get("networkPluginMode"),
        "cluster.network.dataplane": net.get("networkDataplane") or "azure",
        "cluster.network.outbound_type": net.get("outboundType") or "loadBalancer",
        "cluster.network.api_server.private": bool(_sub(p, "apiServerAccessProfile", "enablePrivateCluster")),
        "cluster.network.api_server.authorized_ip_ranges": sorted(
            _sub(p, "apiServerAccessProfile", "authorizedIPRanges") or []),
        "cluster.access.entra_id": bool(aad.get("managed")),
        "cluster.access.azure_rbac": bool(aad.get("enableAzureRBAC")),
        "cluster.access.admin_group_object_ids": sorted(g.lower() for g in aad.get("adminGroupObjectIDs") or []),
        "cluster.access.local_accounts": not p.get("disableLocalAccounts"),
    }


def cluster_view(body: dict[str, Any], system_pool: str) -> dict[str, Any]:
    """The answers-level facts of an ARM cluster body (camelCase JSON), keyed by answers path."""
    p = body.get("properties") or {}
    return {
        "cluster.kubernetes_version": p.get("currentKubernetesVersion") or p.get("kubernetesVersion"),
        "cluster.tier": (body.get("sku") or {}).get("tier"),
        "cluster.support_plan": p.get("supportPlan") or "KubernetesOfficial",
        "cluster.tags": dict(body.get("tags") or {}),
        "cluster.dns_prefix": p.get("dnsPrefix"),
        **_options_view(p),
        **_access_view(p),
        **_system_pool_view(p.get("agentPoolProfiles") or [], system_pool),
    }


def _max_price(price: Any) -> float:
    """A Spot pool's max price as AKS reports it; absent is -1 (pay up to the on-demand price)."""
    return float(price if price is not None else -1)


def pool_view(props: dict[str, Any], path: str = "gpu_pool") -> dict[str, Any]:
    """The answers-level facts of an agent pool (properties of an AgentPool or an agentPoolProfile), keyed by
    answers path under `path` (gpu_pool, or gpu_pools[i])."""
    auto = bool(props.get("enableAutoScaling"))
    nvidia = ((props.get("gpuProfile") or {}).get("nvidia") or {})
    spot = (props.get("scaleSetPriority") or "Regular").lower() == "spot"
    view = {
        "vm_size": (props.get("vmSize") or "").lower(),
        "autoscale": (props.get("minCount"), props.get("maxCount")) if auto else None,
        "count": None if auto else props.get("count"),
        # AKS taints every Spot node itself: not the answers' taint
        "taints": sorted(t for t in props.get("nodeTaints") or [] if t != SPOT_TAINT),
        "labels": dict(props.get("nodeLabels") or {}),
        "managed_gpu": (nvidia.get("managementMode") or "").lower() == "managed",
        "zones": sorted(props.get("availabilityZones") or []),
        "priority": "Spot" if spot else "Regular",
        "eviction_policy": (props.get("scaleSetEvictionPolicy") or "Delete") if spot else None,
        "spot_max_price": _max_price(props.get("spotMaxPrice")) if spot else None,
    }
    return {f"{path}.{k}": v for k, v in view.items()}


def cluster_differences(existing: dict[str, Any], answers: "Answers", resolved: Resolved,
                        minor_only: bool) -> list[Difference]:
    """Every difference between an existing cluster and what the answers set (the GPU pool aside)."""
    want = cluster_wanted(answers, resolved)
    have = cluster_view(existing, answers.cluster.system_pool.name)
    have["cluster.tags"] = _wanted_tags(have["cluster.tags"], want["cluster.tags"])
    if minor_only:
        have["cluster.kubernetes_version"] = _minor(have["cluster.kubernetes_version"])
        want["cluster.kubernetes_version"] = _minor(want["cluster.kubernetes_version"])
    if have["cluster.system_pool.name"] != want["cluster.system_pool.name"]:
        for key in ("vm_size", "count", "zones"):  # no such pool: nothing of it to compare
            want.pop(f"cluster.system_pool.{key}")
    return [Difference(k, have[k], want[k]) for k in want if _norm(have[k]) != _norm(want[k])]


def pool_differences(existing_props: dict[str, Any], desired_props: dict[str, Any],
                     path: str = "gpu_pool") -> list[Difference]:
    have, want = pool_view(existing_props, path), pool_view(desired_props, path)
    if want[f"{path}.count"] is None:
        have[f"{path}.count"] = None
    # labels Azure adds itself are not a difference: only the wanted ones must be present and equal
    have[f"{path}.labels"] = {k: have[f"{path}.labels"].get(k) for k in want[f"{path}.labels"]}
    return [Difference(k, have[k], want[k]) for k in want if _norm(have[k]) != _norm(want[k])]


def fixed_rule(field: str) -> str | None:
    """The way out of a difference no update can apply, or None (a pool of gpu_pools follows gpu_pool's rules)."""
    return FIXED.get(re.sub(r"^gpu_pools\[\d+\]", "gpu_pool", field))


def fixed(diffs: list[Difference]) -> list[Difference]:
    """The differences an update cannot apply (FIXED; ONE_WAY ones only when they would turn something off)."""
    return [d for d in diffs if fixed_rule(d.field) and (d.field not in ONE_WAY or d.desired is False)]


def _norm(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


# ---------------------------------------------------------------------------------------- az equivalents
def az(*args: Any) -> str:
    return "az " + " ".join(shlex.quote(str(a)) for a in args if a is not None and a != "")


def az_cluster_create(answers: "Answers", resolved: Resolved, without: tuple[str, ...] = ()) -> str:
    """`az aks create` with every option of desired_cluster()'s body (the GPU pool follows as `nodepool add`:
    az creates one pool per command). `without`: switches a staged create leaves for `az_cluster_enable`."""
    c = answers.cluster
    net, access = c.network, c.access
    args: list[Any] = ["aks", "create", "-g", answers.resource_group.name, "-n", c.name,
                       "-l", answers.azure.location, "--kubernetes-version", resolved.kubernetes_version,
                       "--dns-name-prefix", dns_prefix(answers, resolved.subscription_id),
                       "--tier", c.tier.lower(), "--k8s-support-plan", c.support_plan,
                       "--nodepool-name", c.system_pool.name,
                       "--node-count", c.system_pool.count, "--node-vm-size", c.system_pool.vm_size,
                       "--network-plugin", net.plugin]
    if c.system_pool.zones:
        args += ["--zones", *c.system_pool.zones]
    if net.plugin == "azure" and net.plugin_mode:
        args += ["--network-plugin-mode", net.plugin_mode]
    if net.dataplane:
        args += ["--network-dataplane", net.dataplane]
    if net.vnet_subnet_id:
        args += ["--vnet-subnet-id", net.vnet_subnet_id]
    if net.outbound_type != "loadBalancer":
        args += ["--outbound-type", net.outbound_type]
    if net.api_server.private:
        args += ["--enable-private-cluster"]
    if net.api_server.authorized_ip_ranges:
        args += ["--api-server-authorized-ip-ranges", ",".join(net.api_server.authorized_ip_ranges)]
    if access.entra_id:
        args += ["--enable-aad"] + (["--enable-azure-rbac"] if access.azure_rbac else [])
        if access.admin_group_object_ids:
            args += ["--aad-admin-group-object-ids", ",".join(access.admin_group_object_ids)]
        if access.tenant_id:
            args += ["--aad-tenant-id", access.tenant_id]
    if not access.local_accounts:
        args += ["--disable-local-accounts"]
    if c.tags:
        args += ["--tags", *[f"{k}={v}" for k, v in c.tags.items()]]
    if c.istio.enabled and resolved.istio_revision:
        args += ["--enable-azure-service-mesh", "--revision", resolved.istio_revision]
    if c.gateway_api:
        args += ["--enable-gateway-api"]
    if c.addons.keda:
        args += ["--enable-keda"]
    if c.addons.kaito:
        args += ["--enable-ai-toolchain-operator"]
    if oidc_issuer_on(answers):
        args += ["--enable-oidc-issuer"]
    if c.workload_identity:
        args += ["--enable-workload-identity"]
    if c.addons.managed_prometheus:
        args += ["--enable-azure-monitor-metrics"]
    return az(*[a for a in args if a not in without], "--no-ssh-key")  # the wizard's body has no linuxProfile


def az_pool_add(answers: "Answers", pool: "GpuPoolAnswers | None" = None) -> str:
    p = pool or answers.all_gpu_pools[0]
    args: list[Any] = ["aks", "nodepool", "add", "-g", answers.resource_group.name,
                       "--cluster-name", answers.cluster.name, "-n", p.name, "--node-vm-size", p.vm_size,
                       "--node-count", p.count, "--mode", "User", "--gpu-driver", "Install"]
    if p.zones:
        args += ["--zones", *p.zones]
    for t in p.taints:
        args += ["--node-taints", t]
    if p.labels:
        args += ["--labels", *[f"{k}={v}" for k, v in p.labels.items()]]
    if p.autoscale:
        args += ["--enable-cluster-autoscaler", "--min-count", p.autoscale.min, "--max-count", p.autoscale.max]
    if p.priority == "Spot":
        args += ["--priority", "Spot", "--eviction-policy", p.eviction_policy, "--spot-max-price", f"{p.spot_max_price:g}"]
    if answers.cluster.network.vnet_subnet_id:
        args += ["--vnet-subnet-id", answers.cluster.network.vnet_subnet_id]
    if p.managed_gpu:
        args += ["--enable-managed-gpu"]
    return az(*args)


def az_cluster_update(answers: "Answers", diffs: list[Difference]) -> str:
    """`az aks update` with the flags of the differences it can apply (those it has a flag for)."""
    c = answers.cluster
    fields = {d.field for d in diffs}
    args: list[Any] = ["aks", "update", "-g", answers.resource_group.name, "-n", c.name]
    access = c.access
    if "cluster.access.entra_id" in fields:
        args += ["--enable-aad"]
    if "cluster.access.azure_rbac" in fields:
        args += ["--enable-azure-rbac" if access.azure_rbac else "--disable-azure-rbac"]
    if "cluster.access.admin_group_object_ids" in fields:
        args += ["--aad-admin-group-object-ids", ",".join(access.admin_group_object_ids)]
    if "cluster.access.local_accounts" in fields:
        args += ["--enable-local-accounts" if access.local_accounts else "--disable-local-accounts"]
    if "cluster.oidc_issuer" in fields:
        args += ["--enable-oidc-issuer"]
    if "cluster.workload_identity" in fields:
        args += ["--enable-workload-identity" if c.workload_identity else "--disable-workload-identity"]
    if "cluster.network.api_server.authorized_ip_ranges" in fields:
        args += ["--api-server-authorized-ip-ranges", ",".join(c.network.api_server.authorized_ip_ranges) or '""']
    if "cluster.tier" in fields:
        args += ["--tier", c.tier.lower()]
    return az(*args)


def az_cluster_enable(answers: "Answers", switches: list[str]) -> str:
    """`az aks update` turning on what a staged create left for after the preview flags (`--enable-gateway-api`)."""
    return az("aks", "update", "-g", answers.resource_group.name, "-n", answers.cluster.name, *switches)
