"""Validation rules for the answers file, one plain function per rule.

Every ``check_*`` function takes the value (or values) to check and returns an error message
saying what is allowed, or ``None`` when the value is fine.  The pydantic models call these,
and the TUI calls the very same functions to check a single field as it is typed.

``cross_field_errors(data)`` runs the rules that involve more than one field over a raw
(possibly partial, possibly wrongly typed) mapping and returns ``(path, message)`` pairs.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

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
    "check_fleet_pattern",
    "fleet_name",
    "fleet_errors",
    "cross_field_errors",
]

MIN_KUBERNETES = (1, 34)
CLOUD_NAMES = ("AzureCloud", "AzureChinaCloud", "AzureUSGovernment")
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")


def _got(value: Any) -> str:
    return f"(got {value!r})"


# --------------------------------------------------------------------------- azure

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_DOMAIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")


def check_subscription(value: str) -> str | None:
    if not value.strip():
        return "must be a subscription id (GUID) or display name, not empty"
    if value != value.strip():
        return f"must not start or end with spaces {_got(value)}"
    return None


def check_location(value: str) -> str | None:
    if re.fullmatch(r"[a-z0-9]+", value):
        return None
    msg = f"must be an Azure region name in lowercase letters and digits, like eastus2 {_got(value)}"
    hint = re.sub(r"[^a-z0-9]", "", value.lower())
    if hint and hint != value:
        msg += f"; did you mean {hint!r}?"
    return msg


def check_tenant(value: str) -> str | None:
    if _GUID.fullmatch(value) or _DOMAIN.fullmatch(value):
        return None
    return f"must be a tenant id (GUID) or a domain like contoso.onmicrosoft.com {_got(value)}"


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
        f"{{name, resource_manager, authority_host, audience}} for a custom cloud {_got(value)}"
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
    return f"must be an https:// URL with a host (http:// only for localhost) {_got(value)}"


def check_absolute_url(value: str) -> str | None:
    try:
        parts = urlsplit(value)
    except ValueError:
        parts = None
    if parts and parts.scheme in ("https", "http") and parts.netloc:
        return None
    return f"must be an absolute URL like https://management.core.windows.net/ {_got(value)}"


def check_guid(value: str) -> str | None:
    if _GUID.fullmatch(value):
        return None
    return f"must be an object id (GUID) like 00000000-0000-0000-0000-000000000000 {_got(value)}"


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
        f"not ending in '.' {_got(value)}"
    )
    if not 1 <= len(value) <= 90:
        return msg
    if not _RG.fullmatch(value) or value.endswith("."):
        return msg
    return None


_TAG_KEY_BAD = set('<>%&\\?/')


def check_azure_tag_key(value: str) -> str | None:
    if not 1 <= len(value) <= 512 or _TAG_KEY_BAD & set(value):
        return f"a tag name must be 1-512 characters without any of < > % & \\ ? / {_got(value)}"
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
        f"with a letter or digit {_got(value)}"
    )


def check_dns_prefix(value: str) -> str | None:
    if _DNS_PREFIX.fullmatch(value):
        return None
    return (
        "must be 1-54 characters of letters, digits and '-', starting and ending "
        f"with a letter or digit {_got(value)}"
    )


def check_kubernetes_version(value: str) -> str | None:
    m = _VERSION.fullmatch(value)
    if not m:
        return f'must be a minor version like "1.34" or an exact patch like "1.34.2" {_got(value)}'
    if (int(m.group(1)), int(m.group(2))) < MIN_KUBERNETES:
        return (
            f"Kubernetes {value} is below 1.34, the version the AI conformance checklist "
            "targets; use 1.34 or newer"
        )
    return None


def check_pool_name(value: str) -> str | None:
    if _POOL.fullmatch(value):
        return None
    return f"must be 1-12 lowercase letters and digits, starting with a letter {_got(value)}"


def check_vm_size(value: str) -> str | None:
    if _VM_SIZE.fullmatch(value):
        return None
    return f"must be an Azure VM size like Standard_D4ds_v5 or Standard_NC4as_T4_v3 {_got(value)}"


def check_count(value: int, low: int = 0, high: int = 1000) -> str | None:
    if low <= value <= high:
        return None
    return f"must be between {low} and {high} (got {value})"


def check_zone(value: str) -> str | None:
    if value in ("1", "2", "3"):
        return None
    return f'must be an availability zone "1", "2" or "3" {_got(value)}'


def check_zones(values: list[str]) -> str | None:
    dupes = sorted({z for z in values if values.count(z) > 1})
    if dupes:
        return f"must not list a zone twice (repeated: {', '.join(dupes)})"
    return None


_ASM = re.compile(r"^asm-(\d+)-(\d+)$")


def check_istio_revision(value: str) -> str | None:
    if value == "auto" or _ASM.fullmatch(value):
        return None
    return f'must be "auto" or an Istio add-on revision like asm-1-26 {_got(value)}'


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
        f"{_got(value)}"
    )


_FEATURE = re.compile(r"^[A-Za-z][A-Za-z0-9]*(?:\.[A-Za-z0-9]+)*/[A-Za-z0-9][A-Za-z0-9_.-]*$")


def check_feature_name(value: str) -> str | None:
    if _FEATURE.fullmatch(value):
        return None
    return (
        "must be Namespace/FeatureName, like "
        f"Microsoft.ContainerService/ManagedGatewayAPIPreview {_got(value)}"
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
        f"Microsoft.Network/virtualNetworks/<vnet>/subnets/<subnet> {_got(value)}"
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
        return f"must be an IPv4 range: AKS authorized IP ranges do not take IPv6 {_got(value)}"
    return None


def check_cidrs(values: list[str]) -> str | None:
    if len(values) > MAX_AUTHORIZED_RANGES:
        return f"at most {MAX_AUTHORIZED_RANGES} ranges (AKS's limit; got {len(values)})"
    dupes = sorted({v for v in values if values.count(v) > 1})
    if dupes:
        return f"must not list a range twice (repeated: {', '.join(dupes)})"
    return None


# ------------------------------------------------------------ Kubernetes syntax

_K8S_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*$")
_LABEL_VALUE = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?)?$")


def _qualified_name_ok(key: str) -> bool:
    """Kubernetes qualified name: optional DNS subdomain prefix (<=253) + '/' + name (<=63)."""
    if key.count("/") > 1:
        return False
    prefix, _, name = key.rpartition("/")
    if "/" in key and not (prefix and len(prefix) <= 253 and _DNS1123_SUBDOMAIN.fullmatch(prefix)):
        return False
    return bool(_K8S_NAME.fullmatch(name))


# AKS keeps kubernetes.azure.com/ for itself; the kubelet may set only node.kubernetes.io/ and
# kubelet.kubernetes.io/ of the kubernetes.io and k8s.io namespaces (NodeRestriction)
_RESERVED_LABEL_DOMAINS = ("kubernetes.azure.com", "kubernetes.io", "k8s.io")
_ALLOWED_LABEL_DOMAINS = ("node.kubernetes.io", "kubelet.kubernetes.io")


def _reserved_prefix(key: str) -> str | None:
    prefix = key.rpartition("/")[0].lower()
    if not prefix or any(prefix == d or prefix.endswith("." + d) for d in _ALLOWED_LABEL_DOMAINS):
        return None
    return next((d for d in _RESERVED_LABEL_DOMAINS if prefix == d or prefix.endswith("." + d)), None)


def check_label_key(value: str) -> str | None:
    if not _qualified_name_ok(value):
        return (
            "a label key must be an optional DNS prefix and '/', then 1-63 characters of letters, "
            f"digits, '-', '_' and '.', starting and ending with a letter or digit {_got(value)}"
        )
    if domain := _reserved_prefix(value):
        return (f"the {domain}/ prefix is reserved (AKS and Kubernetes set those labels themselves); use your own "
                f"prefix, like example.com/ {_got(value)}")
    return None


def check_label_value(value: str) -> str | None:
    if _LABEL_VALUE.fullmatch(value):
        return None
    return (
        "a label value must be empty or 1-63 characters of letters, digits, '-', '_' and '.', "
        f"starting and ending with a letter or digit {_got(value)}"
    )


def check_taint(value: str) -> str | None:
    """Kubernetes taint ``key[=value]:Effect`` (e.g. ``sku=gpu:NoSchedule``, ``nvidia.com/gpu:NoSchedule``)."""
    shape = (
        "must be key=value:Effect (the value may be empty) with Effect one of "
        f"{', '.join(TAINT_EFFECTS)} {_got(value)}"
    )
    head, sep, effect = value.rpartition(":")
    if not sep or not head:
        return shape
    if effect not in TAINT_EFFECTS:
        return shape
    key, _, taint_value = head.partition("=")
    if not _qualified_name_ok(key):
        return (
            "the taint key must be an optional DNS prefix and '/', then 1-63 characters of "
            f"letters, digits, '-', '_' and '.' {_got(value)}"
        )
    if not _LABEL_VALUE.fullmatch(taint_value):
        return (
            "the taint value must be empty or 1-63 characters of letters, digits, '-', '_' "
            f"and '.', starting and ending with a letter or digit {_got(value)}"
        )
    if domain := _reserved_prefix(key):
        return f"the {domain}/ prefix is reserved for taints AKS and Kubernetes set {_got(value)}"
    return None


def check_taints(taints: list[str]) -> str | None:
    """A node has one taint per key and effect: a repeat is a mistake, two values for one key and effect a
    contradiction (Kubernetes refuses both)."""
    seen: dict[tuple[str, str], str] = {}
    for t in taints:
        head, _, effect = t.rpartition(":")
        key = head.partition("=")[0]
        prior = seen.get((key, effect))
        if prior == t:
            return f"taint {t!r} is given twice"
        if prior is not None:
            return f"taints {prior!r} and {t!r} give the key {key!r} two values for effect {effect}; keep one"
        seen[(key, effect)] = t
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
    m = _ASM.fullmatch(revision)
    if gateway_api and m and (int(m.group(1)), int(m.group(2))) < (1, 26):
        return (
            f"managed Gateway API needs Istio revision asm-1-26 or newer (got {revision!r}); "
            'use "auto" or asm-1-26 or newer'
        )
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
    return f"must be a Kueue release tag like v0.17.8 {_got(value)}"


def check_kueue_manifest(value: str) -> str | None:
    if not value.strip():
        return "must be a local file path or an https:// URL, not empty"
    scheme = urlsplit(value).scheme if "://" in value else ""
    if scheme and scheme != "https":
        return f"must be a local file path or an https:// URL {_got(value)}"
    if scheme == "https" and not urlsplit(value).netloc:
        return f"must be a local file path or an https:// URL with a host {_got(value)}"
    return None


def check_sha256(value: str) -> str | None:
    if re.fullmatch(r"[0-9a-fA-F]{64}", value):
        return None
    return f"must be a SHA-256 digest of 64 hexadecimal characters (got {len(value)} characters: {value!r})"


# -------------------------------------------------------------------------- fleet

FLEET_FIELDS = ("n", "cluster", "resource_group")
FLEET_MAX = 100


def check_fleet_pattern(value: str) -> str | None:
    """A name pattern of a fleet member: Python format fields {n} (the member's number, 1-based, with an integer
    format such as {n:02d}), {cluster} and {resource_group} (the base names)."""
    import string

    allowed = "{n} (the member's number, e.g. {n:02d}), {cluster} and {resource_group}"
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(value) if f is not None]
        if any(f not in FLEET_FIELDS for f in fields):
            bad = next(f for f in fields if f not in FLEET_FIELDS)
            return f"unknown field {{{bad}}} in the pattern; allowed: {allowed} {_got(value)}"
        fleet_name(value, 1, "c", "g")
    except (ValueError, IndexError, KeyError) as exc:
        return f"is not a valid name pattern ({exc}); allowed fields: {allowed} {_got(value)}"
    return None


def fleet_name(pattern: str, n: int, cluster: str, resource_group: str) -> str:
    return pattern.format(n=n, cluster=cluster, resource_group=resource_group)


def fleet_errors(count: int, cluster_pattern: str, group_mode: str, group_pattern: str, cluster: str,
                 resource_group: str, overrides: list[Any], has_gpu_pool: bool) -> list[tuple[str, str]]:
    """Every derived name checked against Azure's rules and against the other members' (names are case-insensitive
    in Azure); overrides naming a member the fleet does not have, or a GPU size without a GPU pool. Paths relative
    to `fleet`."""
    out: list[tuple[str, str]] = []
    checks = [("cluster_name", cluster_pattern, check_cluster_name)]
    if group_mode == "per_cluster":
        checks.append(("resource_group_name", group_pattern, check_resource_group_name))
    for field, pattern, check in checks:
        if check_fleet_pattern(pattern):
            continue  # the pattern's own rule reports it
        seen: dict[str, int] = {}
        for n in range(1, count + 1):
            name = fleet_name(pattern, n, cluster, resource_group)
            if msg := check(name):
                out.append((field, f"member {n} would be named {name!r}, which {msg}"))
                break
            if (first := seen.setdefault(name.lower(), n)) != n:
                out.append((field, f"members {first} and {n} would both be named {name!r}: put {{n}} in the "
                                   f"pattern, e.g. \"{pattern}-{{n:02d}}\""))
                break
    given: dict[int, int] = {}
    for i, o in enumerate(overrides):
        member = o.get("member") if isinstance(o, dict) else getattr(o, "member", None)
        if not _is_int(member):
            continue
        if not 1 <= member <= count:
            out.append((f"members.{i}.member", f"member {member} is not in the fleet (1-{count})"))
        elif member in given:
            out.append((f"members.{i}.member", f"member {member} is already overridden at fleet.members.{given[member]}"))
        given.setdefault(member, i)
    for i, o in enumerate(overrides):
        size = o.get("gpu_vm_size") if isinstance(o, dict) else getattr(o, "gpu_vm_size", None)
        if size is not None and not has_gpu_pool:
            out.append((f"members.{i}.gpu_vm_size", "there is no gpu_pool to size: add a gpu_pool section or remove "
                                                     "gpu_vm_size"))
    return out


# ----------------------------------------------------------- over a raw mapping

def _get(d: Any, key: str, default: Any) -> Any:
    if isinstance(d, dict) and key in d and d[key] is not None:
        return d[key]
    return default


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _spot_errors(pool: dict[str, Any]) -> list[tuple[str, str]]:
    priority, policy = _get(pool, "priority", "Regular"), pool.get("eviction_policy")
    price = _get(pool, "spot_max_price", -1)
    if isinstance(priority, str) and (policy is None or isinstance(policy, str)) and isinstance(price, (int, float)):
        return check_spot(priority, policy, price)
    return []


def cross_field_errors(data: Any) -> list[tuple[str, str]]:
    """All cross-field rule violations in a raw answers mapping, as (path, message).

    Tolerant of partial or wrongly typed data: a rule whose inputs are missing or of the
    wrong type is skipped (the field-level error reports those), defaults fill the rest.
    """
    out: list[tuple[str, str]] = []
    if not isinstance(data, dict):
        return out
    cluster = data.get("cluster")
    cluster = cluster if isinstance(cluster, dict) else {}
    istio = cluster.get("istio")
    istio = istio if isinstance(istio, dict) else {}
    gateway_api = _get(cluster, "gateway_api", True)
    istio_enabled = _get(istio, "enabled", True)
    revision = _get(istio, "revision", "auto")
    if isinstance(gateway_api, bool) and isinstance(istio_enabled, bool):
        if msg := check_gateway_api(gateway_api, istio_enabled):
            out.append(("cluster.gateway_api", msg))
        elif isinstance(revision, str) and (msg := check_gateway_api_revision(gateway_api, revision)):
            out.append(("cluster.istio.revision", msg))

    plan, tier = _get(cluster, "support_plan", "KubernetesOfficial"), _get(cluster, "tier", "Standard")
    if isinstance(plan, str) and isinstance(tier, str) and (msg := check_support_plan(plan, tier)):
        out.append(("cluster.support_plan", msg))

    network = cluster.get("network")
    if isinstance(network, dict):
        plugin = _get(network, "plugin", "azure")
        mode = network.get("plugin_mode", "overlay")
        dataplane = network.get("dataplane")
        if isinstance(plugin, str) and (mode is None or isinstance(mode, str)) and (
            dataplane is None or isinstance(dataplane, str)
        ):
            for field, msg in check_network(plugin, mode, dataplane):
                out.append((f"cluster.network.{field}", msg))

    addons = cluster.get("addons")
    if isinstance(addons, dict):
        prom = _get(addons, "managed_prometheus", True)
        ws = addons.get("monitor_workspace_id")
        if isinstance(prom, bool) and isinstance(ws, str):
            if msg := check_monitor_workspace_needs_prometheus(prom, ws):
                out.append(("cluster.addons.monitor_workspace_id", msg))

    wi, oidc = _get(cluster, "workload_identity", False), _get(cluster, "oidc_issuer", False)
    if isinstance(wi, bool) and isinstance(oidc, bool) and (msg := check_workload_identity(wi, oidc)):
        out.append(("cluster.workload_identity", msg))
    access = cluster.get("access")
    if isinstance(access, dict):
        entra = _get(access, "entra_id", False)
        groups, local = _get(access, "admin_group_object_ids", []), _get(access, "local_accounts", True)
        if isinstance(entra, bool) and isinstance(groups, list) and isinstance(local, bool):
            for field, msg in check_access(entra, groups, local, access.get("tenant_id") is not None):
                out.append((f"cluster.access.{field}", msg))
    pools = data.get("gpu_pools")
    if isinstance(pools, list):
        if msg := check_gpu_pool_keys(isinstance(data.get("gpu_pool"), dict), bool(pools)):
            out.append(("gpu_pools", msg))
        for i, pool in enumerate(pools):
            if isinstance(pool, dict):
                out += [(f"gpu_pools.{i}.{field}", msg) for field, msg in _spot_errors(pool)]
        names = [_get(p, "name", "gpunp") if isinstance(p, dict) else None for p in pools]
        system_name = _get(cluster.get("system_pool"), "name", "system")
        if all(isinstance(n, str) for n in names) and isinstance(system_name, str):
            out += [(f"gpu_pools.{i}.name", msg) for i, msg in check_gpu_pool_names(system_name, names)]
    fleet = data.get("fleet")
    if isinstance(fleet, dict) and _is_int(fleet.get("count")) and 1 <= fleet["count"] <= FLEET_MAX:
        rg = data.get("resource_group")
        names = (_get(cluster, "name", None), _get(rg, "name", None))
        patterns = (_get(fleet, "cluster_name", "{cluster}-{n:02d}"), _get(fleet, "resource_group", "per_cluster"),
                    _get(fleet, "resource_group_name", "{resource_group}-{n:02d}"))
        overrides = _get(fleet, "members", [])
        if all(isinstance(x, str) for x in names + patterns) and isinstance(overrides, list):
            for path, msg in fleet_errors(fleet["count"], patterns[0], patterns[1], patterns[2], names[0], names[1],
                                          overrides, isinstance(data.get("gpu_pool"), dict)):
                out.append((f"fleet.{path}", msg))

    gpu = data.get("gpu_pool")
    if isinstance(gpu, dict):
        out += [(f"gpu_pool.{field}", msg) for field, msg in _spot_errors(gpu)]
        system = cluster.get("system_pool")
        system_name = _get(system, "name", "system")
        gpu_name = _get(gpu, "name", "gpunp")
        if isinstance(system_name, str) and isinstance(gpu_name, str):
            if msg := check_pool_names_differ(system_name, gpu_name):
                out.append(("gpu_pool.name", msg))
        autoscale = gpu.get("autoscale")
        count = _get(gpu, "count", 1)
        if isinstance(autoscale, dict) and _is_int(count):
            lo, hi = autoscale.get("min"), autoscale.get("max")
            if _is_int(lo) and _is_int(hi):
                for bound, msg in check_autoscale(lo, hi, count):
                    path = "gpu_pool.count" if bound == "count" else f"gpu_pool.autoscale.{bound}"
                    out.append((path, msg))
    return out

