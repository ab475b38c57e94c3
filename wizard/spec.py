"""The Azure resources the answers describe: the desired cluster and GPU pool bodies (SDK models), the
compact view of a cluster that differences are computed on, and the equivalent `az` commands."""
from __future__ import annotations

import hashlib
import re
import shlex
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

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


def gpu_pool_profile(pool: "GpuPoolAnswers", orchestrator_version: str | None = None) -> dict[str, Any]:
    """Keyword arguments shared by the cluster's GPU agentPoolProfile and a standalone AgentPool."""
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
    if pool.autoscale:
        kw.update(enable_auto_scaling=True, min_count=pool.autoscale.min, max_count=pool.autoscale.max)
    else:
        kw["enable_auto_scaling"] = False
    if orchestrator_version:
        kw["orchestrator_version"] = orchestrator_version
    return kw


def desired_cluster(answers: "Answers", resolved: Resolved, include_gpu_pool: bool = True) -> Any:
    """The ManagedCluster to PUT for a new cluster: everything in one request."""
    from azure.mgmt.containerservice import models as m

    c = answers.cluster
    sp = c.system_pool
    pools = [m.ManagedClusterAgentPoolProfile(
        name=sp.name, count=sp.count, vm_size=sp.vm_size, mode="System", os_type="Linux",
        type="VirtualMachineScaleSets", **({"availability_zones": list(sp.zones)} if sp.zones else {}),
    )]
    if include_gpu_pool and answers.gpu_pool:
        pools.append(m.ManagedClusterAgentPoolProfile(name=answers.gpu_pool.name, **gpu_pool_profile(answers.gpu_pool)))
    kw: dict[str, Any] = dict(
        location=answers.azure.location,
        tags=dict(c.tags) or None,
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
        kw["oidc_issuer_profile"] = m.ManagedClusterOIDCIssuerProfile(enabled=True)  # KAITO needs it
    if c.addons.managed_prometheus:
        kw["azure_monitor_profile"] = m.ManagedClusterAzureMonitorProfile(
            metrics=m.ManagedClusterAzureMonitorProfileMetrics(enabled=True))
    return kw


def desired_pool(answers: "Answers", resolved: Resolved) -> Any:
    from azure.mgmt.containerservice import models as m

    assert answers.gpu_pool is not None
    return m.AgentPool(**gpu_pool_profile(answers.gpu_pool, resolved.kubernetes_version))


def updated_cluster(existing: Any, answers: "Answers", resolved: Resolved) -> Any:
    """The existing cluster with the answers' cluster-level options applied. Agent pools are kept exactly as
    they are (pool changes go through the agent pool API), so an update can never drop a pool."""
    from azure.mgmt.containerservice import models as m

    body = existing.as_dict()
    props = body.setdefault("properties", {})
    for key in ("provisioningState", "powerState", "currentKubernetesVersion", "fqdn", "azurePortalFQDN",
                "privateFQDN", "maxAgentPools", "resourceUID", "status"):
        props.pop(key, None)
    for pool in props.get("agentPoolProfiles") or []:
        for key in ("provisioningState", "powerState", "currentOrchestratorVersion", "nodeImageVersion", "eTag"):
            pool.pop(key, None)
    props["kubernetesVersion"] = resolved.kubernetes_version
    body.setdefault("sku", {})["tier"] = answers.cluster.tier
    wanted = m.ManagedCluster(location=answers.azure.location, **profile_kwargs(answers, resolved)).as_dict()
    props.update(wanted.get("properties", {}))
    for drop in ("id", "name", "type", "systemData"):
        body.pop(drop, None)
    return m.ManagedCluster(body)


# ---------------------------------------------------------------------------------------- differences
def _minor(version: str | None) -> str | None:
    return ".".join(version.split(".")[:2]) if version else None


def cluster_view(body: dict[str, Any]) -> dict[str, Any]:
    """The answers-level facts of an ARM cluster body (camelCase JSON), keyed by answers path."""
    p = body.get("properties") or {}
    mesh = p.get("serviceMeshProfile") or {}
    sys_pools = [a for a in p.get("agentPoolProfiles") or [] if (a.get("mode") or "").lower() == "system"]
    sys_pool = sys_pools[0] if sys_pools else {}
    return {
        "cluster.kubernetes_version": p.get("currentKubernetesVersion") or p.get("kubernetesVersion"),
        "cluster.tier": (body.get("sku") or {}).get("tier"),
        "cluster.system_pool.vm_size": sys_pool.get("vmSize"),
        "cluster.istio.enabled": (mesh.get("mode") or "").lower() == "istio",
        "cluster.istio.revision": ((mesh.get("istio") or {}).get("revisions") or [None])[-1],
        "cluster.gateway_api": (((p.get("ingressProfile") or {}).get("gatewayAPI") or {}).get("installation")
                                or "").lower() == "standard",
        "cluster.addons.keda": bool(((p.get("workloadAutoScalerProfile") or {}).get("keda") or {}).get("enabled")),
        "cluster.addons.kaito": bool((p.get("aiToolchainOperatorProfile") or {}).get("enabled")),
        "cluster.addons.managed_prometheus": bool(
            ((p.get("azureMonitorProfile") or {}).get("metrics") or {}).get("enabled")),
    }


def pool_view(props: dict[str, Any]) -> dict[str, Any]:
    """The answers-level facts of an agent pool (properties of an AgentPool or an agentPoolProfile)."""
    auto = bool(props.get("enableAutoScaling"))
    nvidia = ((props.get("gpuProfile") or {}).get("nvidia") or {})
    return {
        "gpu_pool.vm_size": (props.get("vmSize") or "").lower(),
        "gpu_pool.autoscale": (props.get("minCount"), props.get("maxCount")) if auto else None,
        "gpu_pool.count": None if auto else props.get("count"),
        "gpu_pool.taints": sorted(props.get("nodeTaints") or []),
        "gpu_pool.labels": dict(props.get("nodeLabels") or {}),
        "gpu_pool.managed_gpu": (nvidia.get("managementMode") or "").lower() == "managed",
    }


def cluster_differences(existing: dict[str, Any], desired: dict[str, Any], minor_only: bool) -> list[Difference]:
    have, want = cluster_view(existing), cluster_view(desired)
    if minor_only:
        have["cluster.kubernetes_version"] = _minor(have["cluster.kubernetes_version"])
        want["cluster.kubernetes_version"] = _minor(want["cluster.kubernetes_version"])
    want["cluster.system_pool.vm_size"] = have["cluster.system_pool.vm_size"]  # system pool is not re-sized here
    return [Difference(k, have[k], want[k]) for k in want if _norm(have[k]) != _norm(want[k])]


def pool_differences(existing_props: dict[str, Any], desired_props: dict[str, Any]) -> list[Difference]:
    have, want = pool_view(existing_props), pool_view(desired_props)
    if want["gpu_pool.count"] is None:
        have["gpu_pool.count"] = None
    # labels Azure adds itself are not a difference: only the wanted ones must be present and equal
    have["gpu_pool.labels"] = {k: have["gpu_pool.labels"].get(k) for k in want["gpu_pool.labels"]}
    return [Difference(k, have[k], want[k]) for k in want if _norm(have[k]) != _norm(want[k])]


def _norm(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


# ---------------------------------------------------------------------------------------- az equivalents
def az(*args: Any) -> str:
    return "az " + " ".join(shlex.quote(str(a)) for a in args if a is not None and a != "")


def az_cluster_create(answers: "Answers", resolved: Resolved) -> str:
    """`az aks create` with every option of desired_cluster()'s body (the GPU pool follows as `nodepool add`:
    az creates one pool per command)."""
    c = answers.cluster
    args: list[Any] = ["aks", "create", "-g", answers.resource_group.name, "-n", c.name,
                       "-l", answers.azure.location, "--kubernetes-version", resolved.kubernetes_version,
                       "--dns-name-prefix", dns_prefix(answers, resolved.subscription_id),
                       "--tier", c.tier.lower(), "--k8s-support-plan", c.support_plan,
                       "--nodepool-name", c.system_pool.name,
                       "--node-count", c.system_pool.count, "--node-vm-size", c.system_pool.vm_size,
                       "--network-plugin", c.network.plugin]
    if c.system_pool.zones:
        args += ["--zones", *c.system_pool.zones]
    if c.network.plugin == "azure" and c.network.plugin_mode:
        args += ["--network-plugin-mode", c.network.plugin_mode]
    if c.network.dataplane:
        args += ["--network-dataplane", c.network.dataplane]
    if c.tags:
        args += ["--tags", *[f"{k}={v}" for k, v in c.tags.items()]]
    if c.istio.enabled and resolved.istio_revision:
        args += ["--enable-azure-service-mesh", "--revision", resolved.istio_revision]
    if c.gateway_api:
        args += ["--enable-gateway-api"]
    if c.addons.keda:
        args += ["--enable-keda"]
    if c.addons.kaito:
        args += ["--enable-ai-toolchain-operator", "--enable-oidc-issuer"]
    if c.addons.managed_prometheus:
        args += ["--enable-azure-monitor-metrics"]
    return az(*args, "--no-ssh-key")  # the wizard's body has no linuxProfile


def az_pool_add(answers: "Answers") -> str:
    p = answers.gpu_pool
    assert p is not None
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
    if p.managed_gpu:
        args += ["--enable-managed-gpu"]
    return az(*args)
