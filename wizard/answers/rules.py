"""Validation rules for the answers file, one plain function per rule.

Every ``check_*`` function takes the value (or values) to check and returns an error message
saying what is allowed, or ``None`` when the value is fine.  The pydantic models call these,
and the TUI calls the very same functions to check a single field as it is typed.

Which rules hold between fields, and where each reports, is cross.py (for the model and a raw mapping
alike); the label and taint syntax is k8s_rules.py, a fleet's name rules fleet_rules.py.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from wizard import mesh_rules

__all__ = [
    "MIN_KUBERNETES",
    "CLOUD_NAMES",
    "TAINT_EFFECTS",
    "check_subscription",
    "check_location",
    "check_tenant",
    "check_cloud_name",
    "check_https_url",
    "check_absolute_url",
    "check_resource_group_name",
    "check_azure_tag_key",
    "check_azure_tag_value",
    "check_azure_tags",
    "check_taints",
    "check_cluster_name",
    "check_dns_prefix",
    "check_kubernetes_version",
    "check_pool_name",
    "check_vm_size",
    "check_count",
    "check_zone",
    "check_zones",
    "check_istio_revision",
    "check_monitor_workspace_id",
    "check_feature_name",
    "check_taint",
    "check_label_key",
    "check_label_value",
    "check_autoscale",
    "check_pool_names_differ",
    "check_gateway_api",
    "check_gateway_api_revision",
    "check_support_plan",
    "check_network",
    "check_monitor_workspace_needs_prometheus",
    "check_kueue_version",
    "check_kueue_manifest",
    "check_sha256",
    "check_guid",
    "check_guids",
    "check_subnet_id",
    "check_cidr",
    "check_cidrs",
    "check_access",
    "check_workload_identity",
    "check_outbound",
    "check_api_server",
    "check_spot",
    "check_spot_max_price",
    "check_gpu_pool_keys",
    "check_gpu_pool_names",
    "subnet_ips_needed",
    "fleet_name",
]

MIN_KUBERNETES = (1, 34)
CLOUD_NAMES = ("AzureCloud", "AzureChinaCloud", "AzureUSGovernment")


def got(value: Any) -> str:
    return f"(got {value!r})"


# the Kubernetes syntax of node labels and taints: k8s_rules.py (imported after got, which it uses)
from wizard.answers.k8s_rules import (TAINT_EFFECTS, check_label_key, check_label_value,  # noqa: E402
                                      check_taint, check_taints)


# --------------------------------------------------------------------------- azure

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_DOMAIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")


def check_subscription(value: str) -> str | None:
    if not value.strip():
        return "must be a subscription id (GUID) or display name, not empty"
    if value != value.strip():
        return f"must not start or end with spaces {got(value)}"
    return None


def check_location(value: str) -> str | None:
    if re.fullmatch(r"[a-z0-9]+", value):
        return None
    msg = f"must be an Azure region name in lowercase letters and digits, like eastus2 {got(value)}"
    hint = re.sub(r"[^a-z0-9]", "", value.lower())
    if hint and hint != value:
        msg += f"; did you mean {hint!r}?"
    return msg


def check_tenant(value: str) -> str | None:
    if _GUID.fullmatch(value) or _DOMAIN.fullmatch(value):
        return None
    return f"must be a tenant id (GUID) or a domain like contoso.onmicrosoft.com {got(value)}"


def check_cloud_name(value: str) -> str | None:
    """A public cloud's name, or one registered on this machine with ``az cloud register`` (the Azure CLI's
    clouds.config, as `--cloud` reads it); names are matched exactly, as `az cloud set` does."""
    if value in CLOUD_NAMES:
        return None
    from wizard.az_clouds import CloudError, az_config_dir, registered_clouds

    try:
        registered = [c["name"] for c in registered_clouds().values()]
    except CloudError as exc:
        return f"is not a public cloud's name, and the registered clouds cannot be read: {exc}"
    if value in registered:
        return None
    where = az_config_dir() / "clouds.config"
    listed = f"registered: {', '.join(registered)}" if registered else "none registered"
    msg = (
        "must be one of AzureCloud, AzureChinaCloud, AzureUSGovernment, a cloud registered with "
        f"`az cloud register` (read from {where}: {listed}), or a mapping "
        f"{{name, resource_manager, authority_host, audience}} for a custom cloud {got(value)}"
    )
    for name in (*CLOUD_NAMES, *registered):
        if name.lower() == str(value).lower():
            msg += f"; did you mean {name!r}?"
    return msg


_LOOPBACK = {"localhost", "127.0.0.1", "::1"}


def check_https_url(value: str) -> str | None:
    """An https URL with a host (plain http only for a loopback host, e.g. the simulator)."""
    try:
        parts = urlsplit(value)
    except ValueError:
        parts = None
    if parts and parts.netloc and parts.hostname:
        if parts.scheme == "https":
            return None
        if parts.scheme == "http" and parts.hostname in _LOOPBACK:
            return None
    return f"must be an https:// URL with a host (http:// only for localhost) {got(value)}"


def check_absolute_url(value: str) -> str | None:
    try:
        parts = urlsplit(value)
    except ValueError:
        parts = None
    if parts and parts.scheme in ("https", "http") and parts.netloc:
        return None
    return f"must be an absolute URL like https://management.core.windows.net/ {got(value)}"


def check_guid(value: str) -> str | None:
    if _GUID.fullmatch(value):
        return None
    return f"must be an object id (GUID) like 00000000-0000-0000-0000-000000000000 {got(value)}"


def check_guids(values: list[str]) -> str | None:
    lowered = [v.lower() for v in values]
    dupes = sorted({v for v in values if lowered.count(v.lower()) > 1})
    if dupes:
        return f"must not list an object id twice (repeated: {', '.join(dupes)})"
    return None


# ---------------------------------------------------------------- resource group

# Azure: underscores, hyphens, periods, parentheses, letters or digits (Unicode letters too),
# 1-90 characters, must not end with a period.
_RG = re.compile(r"^[\w\-.()]+$")


def check_resource_group_name(value: str) -> str | None:
    msg = (
        "must be 1-90 characters of letters, digits, '.', '_', '-', '(' and ')', "
        f"not ending in '.' {got(value)}"
    )
    if not 1 <= len(value) <= 90:
        return msg
    if not _RG.fullmatch(value) or value.endswith("."):
        return msg
    return None


_TAG_KEY_BAD = set('<>%&\\?/')


def check_azure_tag_key(value: str) -> str | None:
    if not 1 <= len(value) <= 512 or _TAG_KEY_BAD & set(value):
        return f"a tag name must be 1-512 characters without any of < > % & \\ ? / {got(value)}"
    return None


def check_azure_tag_value(value: str) -> str | None:
    if len(value) > 256:
        return f"a tag value must be at most 256 characters (got {len(value)})"
    return None


MAX_TAGS = 50  # per resource, Azure's limit
PROVENANCE_TAGS = ("created-by", "aks-ai-wizard-answers", "aks-ai-wizard-run")  # wizard.provenance writes these
_RESERVED_TAG_PREFIXES = ("microsoft", "azure", "windows")


def check_azure_tags(tags: dict[str, str]) -> str | None:
    """The tag set of one resource: Azure allows 50, and this wizard adds its provenance tags to what it creates;
    those names, and Azure's reserved prefixes, are not the user's to set."""
    room = MAX_TAGS - len(PROVENANCE_TAGS)
    if len(tags) > room:
        return (f"at most {room} tags: Azure allows {MAX_TAGS} per resource and this wizard adds "
                f"{len(PROVENANCE_TAGS)} ({', '.join(PROVENANCE_TAGS)}) (got {len(tags)})")
    lowered = [k.lower() for k in tags]
    if len(set(lowered)) != len(lowered):
        twins = sorted({k for k in tags if lowered.count(k.lower()) > 1})
        return f"tag names are case-insensitive on Azure: {', '.join(twins)} name the same tag"
    ours = [k for k in tags if k.lower() in PROVENANCE_TAGS]
    if ours:
        return (f"{', '.join(ours)}: this wizard writes these tags itself (they prove which answers file created "
                "a resource); use another name")
    reserved = [k for k in tags if k.lower().startswith(_RESERVED_TAG_PREFIXES)]
    if reserved:
        return (f"{', '.join(reserved)}: tag names starting with {', '.join(_RESERVED_TAG_PREFIXES)} are reserved "
                "by Azure")
    return None


# ------------------------------------------------------------------------ cluster

_CLUSTER = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?$")
_DNS_PREFIX = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,52}[A-Za-z0-9])?$")
_POOL = re.compile(r"^[a-z][a-z0-9]{0,11}$")
_VERSION = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?$")
_VM_SIZE = re.compile(r"^[A-Za-z]+_[A-Za-z0-9_-]+$")


def check_cluster_name(value: str) -> str | None:
    if _CLUSTER.fullmatch(value):
        return None
    return (
        "must be 1-63 characters of letters, digits, '-' and '_', starting and ending "
        f"with a letter or digit {got(value)}"
    )


def check_dns_prefix(value: str) -> str | None:
    if _DNS_PREFIX.fullmatch(value):
        return None
    return (
        "must be 1-54 characters of letters, digits and '-', starting and ending "
        f"with a letter or digit {got(value)}"
    )


def check_kubernetes_version(value: str) -> str | None:
    m = _VERSION.fullmatch(value)
    if not m:
        return f'must be a minor version like "1.34" or an exact patch like "1.34.2" {got(value)}'
    if (int(m.group(1)), int(m.group(2))) < MIN_KUBERNETES:
        return (
            f"Kubernetes {value} is below 1.34, the version the AI conformance checklist "
            "targets; use 1.34 or newer"
        )
    return None


def check_pool_name(value: str) -> str | None:
    if _POOL.fullmatch(value):
        return None
    return f"must be 1-12 lowercase letters and digits, starting with a letter {got(value)}"


def check_vm_size(value: str) -> str | None:
    if _VM_SIZE.fullmatch(value):
        return None
    return f"must be an Azure VM size like Standard_D4ds_v5 or Standard_NC4as_T4_v3 {got(value)}"


def check_count(value: int, low: int = 0, high: int = 1000) -> str | None:
    if low <= value <= high:
        return None
    return f"must be between {low} and {high} (got {value})"


def check_zone(value: str) -> str | None:
    if value in ("1", "2", "3"):
        return None
    return f'must be an availability zone "1", "2" or "3" {got(value)}'


def check_zones(values: list[str]) -> str | None:
    dupes = sorted({z for z in values if values.count(z) > 1})
    if dupes:
        return f"must not list a zone twice (repeated: {', '.join(dupes)})"
    return None


_ASM = re.compile(r"^asm-(\d+)-(\d+)$")


def check_istio_revision(value: str) -> str | None:
    if value == "auto" or _ASM.fullmatch(value):
        return None
    return f'must be "auto" or an Istio add-on revision like asm-1-26 {got(value)}'


_MONITOR_ID = re.compile(
    r"/subscriptions/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/resourceGroups/[\w\-.()]{0,89}"
    r"[\w\-()]/providers/Microsoft\.Monitor/accounts/[A-Za-z0-9](?:[A-Za-z0-9-]{0,42}[A-Za-z0-9])?",
    re.IGNORECASE,
)


def check_monitor_workspace_id(value: str) -> str | None:
    if _MONITOR_ID.fullmatch(value):
        return None
    return (
        "must be the resource id of an Azure Monitor workspace, like "
        "/subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.Monitor/accounts/<name> "
        f"{got(value)}"
    )


_FEATURE = re.compile(r"^[A-Za-z][A-Za-z0-9]*(?:\.[A-Za-z0-9]+)*/[A-Za-z0-9][A-Za-z0-9_.-]*$")


def check_feature_name(value: str) -> str | None:
    if _FEATURE.fullmatch(value):
        return None
    return (
        "must be Namespace/FeatureName, like "
        f"Microsoft.ContainerService/ManagedGatewayAPIPreview {got(value)}"
    )


_SUBNET_ID = re.compile(
    r"/subscriptions/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/resourceGroups/[\w\-.()]{0,89}"
    r"[\w\-()]/providers/Microsoft\.Network/virtualNetworks/[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,62}[A-Za-z0-9_])?"
    r"/subnets/[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,78}[A-Za-z0-9_])?",
    re.IGNORECASE,
)


def check_subnet_id(value: str) -> str | None:
    if _SUBNET_ID.fullmatch(value):
        return None
    return (
        "must be the resource id of an existing subnet, like /subscriptions/<id>/resourceGroups/<rg>/providers/"
        f"Microsoft.Network/virtualNetworks/<vnet>/subnets/<subnet> {got(value)}"
    )


MAX_AUTHORIZED_RANGES = 200  # AKS's limit on apiServerAccessProfile.authorizedIPRanges


def check_cidr(value: str) -> str | None:
    """An IPv4 address or CIDR range (AKS's authorized IP ranges are IPv4 only), host bits zero."""
    import ipaddress

    try:
        net = ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        return f"must be an IPv4 address or CIDR range like 203.0.113.0/24 ({exc})"
    if net.version != 4:
        return f"must be an IPv4 range: AKS authorized IP ranges do not take IPv6 {got(value)}"
    return None


def check_cidrs(values: list[str]) -> str | None:
    if len(values) > MAX_AUTHORIZED_RANGES:
        return f"at most {MAX_AUTHORIZED_RANGES} ranges (AKS's limit; got {len(values)})"
    dupes = sorted({v for v in values if values.count(v) > 1})
    if dupes:
        return f"must not list a range twice (repeated: {', '.join(dupes)})"
    return None


# ------------------------------------------------------------------- cross-field

def check_autoscale(min_: int, max_: int, count: int | None = None) -> list[tuple[str, str]]:
    """Order of the autoscaler bounds: min <= count <= max (each bound's own 0..1000 range
    is a field rule, ``check_count``).  Returns (bound, message) pairs, bound being
    "min" or "count" (the one that broke the order)."""
    out: list[tuple[str, str]] = []
    if min_ > max_:
        out.append(("min", f"autoscale min ({min_}) must not be greater than max ({max_})"))
    elif count is not None:
        if count < min_:
            out.append(("count", f"count ({count}) must not be below autoscale min ({min_})"))
        elif count > max_:
            out.append(("count", f"count ({count}) must not be above autoscale max ({max_})"))
    return out


def check_pool_names_differ(system_name: str, gpu_name: str) -> str | None:
    if system_name == gpu_name:
        return (
            f"the GPU pool needs a name different from the system pool's ({gpu_name!r}); "
            "the default is gpunp"
        )
    return None


def check_gateway_api(gateway_api: bool, istio_enabled: bool) -> str | None:
    if gateway_api and not istio_enabled:
        return (
            "gateway_api: true needs cluster.istio.enabled: true, because managed Gateway API "
            "runs on the Istio service mesh add-on; enable Istio or set gateway_api: false"
        )
    return None


def check_gateway_api_revision(gateway_api: bool, revision: str) -> str | None:
    if gateway_api and _ASM.fullmatch(revision) and not mesh_rules.supports_gateway_api(revision):
        least = mesh_rules.GATEWAY_MIN_REVISION
        return f'managed Gateway API needs Istio revision {least} or newer (got {revision!r}); use "auto" or {least} or newer'
    return None


def check_support_plan(support_plan: str, tier: str) -> str | None:
    if support_plan == "AKSLongTermSupport" and tier != "Premium":
        return (
            f"support_plan AKSLongTermSupport needs tier: Premium (got tier {tier!r}); "
            "use tier: Premium or support_plan: KubernetesOfficial"
        )
    return None


def check_network(plugin: str, plugin_mode: str | None, dataplane: str | None) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if plugin_mode == "overlay" and plugin != "azure":
        out.append((
            "plugin_mode",
            f"plugin_mode overlay needs plugin: azure (got plugin {plugin!r}); "
            "set plugin_mode: null for kubenet or none",
        ))
    if dataplane == "cilium" and plugin != "azure":
        out.append(("dataplane", f"dataplane cilium needs plugin: azure (got plugin {plugin!r})"))
    return out


def check_access(entra_id: bool, admin_groups: list[str], local_accounts: bool,
                 tenant_set: bool) -> list[tuple[str, str]]:
    """AKS's rules for Entra ID: admin groups, a tenant and disabling local accounts all need the AKS-managed
    Entra ID integration (aadProfile.managed); azure_rbac is read only with it."""
    if entra_id:
        return []
    out: list[tuple[str, str]] = []
    need = "needs entra_id: true (AKS-managed Microsoft Entra ID integration)"
    if admin_groups:
        out.append(("admin_group_object_ids", f"admin_group_object_ids {need}; set entra_id: true or remove them"))
    if tenant_set:
        out.append(("tenant_id", f"tenant_id {need}"))
    if not local_accounts:
        out.append(("local_accounts", "local_accounts: false (disableLocalAccounts) " + need + ": without it "
                    "nobody could sign in to the cluster"))
    return out


def check_workload_identity(workload_identity: bool, oidc_issuer: bool) -> str | None:
    if workload_identity and not oidc_issuer:
        return ("workload_identity: true needs oidc_issuer: true (AKS: workload identity federates Kubernetes service "
                "account tokens through the cluster's OIDC issuer)")
    return None


def check_outbound(outbound_type: str, subnet_id: str | None) -> str | None:
    if outbound_type in ("userDefinedRouting", "userAssignedNATGateway") and not subnet_id:
        return (f"outbound_type {outbound_type} needs vnet_subnet_id: the route table or NAT gateway is on your own "
                "subnet; give cluster.network.vnet_subnet_id or use loadBalancer or managedNATGateway")
    if outbound_type == "managedNATGateway" and subnet_id:
        return ("outbound_type managedNATGateway is for the VNet AKS creates; with your own subnet (vnet_subnet_id) "
                "use userAssignedNATGateway (a NAT gateway on that subnet) or loadBalancer")
    return None


def check_api_server(private: bool, authorized_ranges: list[str]) -> str | None:
    if private and authorized_ranges:
        return ("authorized_ip_ranges cannot be used with private: true (AKS: a private API server has no public "
                "endpoint to restrict); remove authorized_ip_ranges or set private: false")
    return None


def check_spot_max_price(value: float) -> str | None:
    """Azure: -1 (pay up to the on-demand price, never evicted for price) or a price in US dollars per hour
    above 0 with at most 5 decimals."""
    if value == -1:
        return None
    if value <= 0:
        return f"must be -1 (up to the on-demand price) or a price above 0 in US dollars per hour (got {value})"
    if round(value, 5) != value:
        return f"must have at most 5 decimals (got {value})"
    return None


def check_spot(priority: str, eviction_policy: str | None, max_price: float) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if priority == "Spot" and eviction_policy is None:
        out.append(("eviction_policy", "priority: Spot needs eviction_policy: Delete (evicted nodes are deleted; "
                    "the autoscaler can add them back) or Deallocate (kept stopped, their disks still billed "
                    "and their vCPUs still counted against quota)"))
    if priority != "Spot":
        if eviction_policy is not None:
            out.append(("eviction_policy", "eviction_policy is only for priority: Spot pools"))
        if max_price != -1:
            out.append(("spot_max_price", "spot_max_price is only for priority: Spot pools"))
    return out


def check_gpu_pool_keys(has_single: bool, has_list: bool) -> str | None:
    if has_single and has_list:
        return ("give either gpu_pool (one pool) or gpu_pools (a list of pools), not both; move gpu_pool into "
                "the gpu_pools list")
    return None


def check_gpu_pool_names(system_name: str, names: list[str]) -> list[tuple[int, str]]:
    """(index, message) for each GPU pool whose name is the system pool's or an earlier pool's."""
    out: list[tuple[int, str]] = []
    seen: set[str] = set()
    for i, name in enumerate(names):
        if message := check_pool_names_differ(system_name, name):
            out.append((i, message))
        elif name in seen:
            out.append((i, f"two GPU pools are named {name!r}; each pool needs its own name"))
        seen.add(name)
    return out


AZURE_SUBNET_RESERVED = 5  # Azure keeps the first four addresses and the last of every subnet
AZURE_CNI_MAX_PODS = 30  # AKS's default maxPods per node with Azure CNI (pods take subnet addresses)


def subnet_ips_needed(peak_nodes: int, overlay: bool, plugin: str, max_pods: int = AZURE_CNI_MAX_PODS) -> int:
    """Subnet addresses the pools need at their peak (nodes plus surge): one per node, and with Azure CNI without
    overlay one more per pod the node can run (AKS reserves them when the node joins)."""
    per_node = 1 if overlay or plugin != "azure" else 1 + max_pods
    return peak_nodes * per_node


def check_monitor_workspace_needs_prometheus(managed_prometheus: bool, workspace_id: str | None) -> str | None:
    if workspace_id and not managed_prometheus:
        return "monitor_workspace_id is only used with managed_prometheus: true"
    return None


_KUEUE_VERSION = re.compile(r"^v\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$")


def check_kueue_version(value: str) -> str | None:
    if _KUEUE_VERSION.fullmatch(value):
        return None
    return f"must be a Kueue release tag like v0.17.8 {got(value)}"


def check_kueue_manifest(value: str) -> str | None:
    if not value.strip():
        return "must be a local file path or an https:// URL, not empty"
    scheme = urlsplit(value).scheme if "://" in value else ""
    if scheme and scheme != "https":
        return f"must be a local file path or an https:// URL {got(value)}"
    if scheme == "https" and not urlsplit(value).netloc:
        return f"must be a local file path or an https:// URL with a host {got(value)}"
    return None


def check_sha256(value: str) -> str | None:
    if re.fullmatch(r"[0-9a-fA-F]{64}", value):
        return None
    return f"must be a SHA-256 digest of 64 hexadecimal characters (got {len(value)} characters: {value!r})"


# -------------------------------------------------------------------------- fleet

FLEET_FIELDS = ("n", "cluster", "resource_group")
FLEET_MAX = 100


def fleet_name(pattern: str, n: int, cluster: str, resource_group: str) -> str:
    return pattern.format(n=n, cluster=cluster, resource_group=resource_group)
