"""The cross-field rules of the answers: which rule of rules.py holds between which fields, and where it reports.

One home for both readers of the answers: the model's validators run these functions over their own values
(``model_dump``), and ``cross_field_errors`` runs them over the raw mapping of a file that does not validate yet,
so every violation gets its line. Over a raw mapping they are tolerant of partial or wrongly typed data: a rule
whose inputs are missing or of the wrong type is skipped (the field-level error reports those), defaults fill the
rest. Paths are relative to the section each function is given.
"""
from __future__ import annotations

from typing import Any

from wizard.answers import fleet_rules, rules

Errors = list[tuple[str, str]]


def _get(d: Any, key: str, default: Any) -> Any:
    if isinstance(d, dict) and key in d and d[key] is not None:
        return d[key]
    return default


def _section(d: Any, key: str) -> dict[str, Any]:
    value = d.get(key) if isinstance(d, dict) else None
    return value if isinstance(value, dict) else {}


def _under(prefix: str, errors: Errors) -> Errors:
    return [(f"{prefix}.{path}", message) for path, message in errors]


# ------------------------------------------------------------------------------------------ cluster
def cluster_errors(cluster: dict[str, Any]) -> Errors:
    """Gateway API on Istio (and its minimum revision), the LTS plan's tier, workload identity's OIDC issuer."""
    out: Errors = []
    istio = _section(cluster, "istio")
    gateway_api = _get(cluster, "gateway_api", True)
    istio_enabled = _get(istio, "enabled", True)
    revision = _get(istio, "revision", "auto")
    if isinstance(gateway_api, bool) and isinstance(istio_enabled, bool):
        if msg := rules.check_gateway_api(gateway_api, istio_enabled):
            out.append(("gateway_api", msg))
        elif isinstance(revision, str) and (msg := rules.check_gateway_api_revision(gateway_api, revision)):
            out.append(("istio.revision", msg))
    plan, tier = _get(cluster, "support_plan", "KubernetesOfficial"), _get(cluster, "tier", "Standard")
    if isinstance(plan, str) and isinstance(tier, str) and (msg := rules.check_support_plan(plan, tier)):
        out.append(("support_plan", msg))
    wi, oidc = _get(cluster, "workload_identity", False), _get(cluster, "oidc_issuer", False)
    if isinstance(wi, bool) and isinstance(oidc, bool) and (msg := rules.check_workload_identity(wi, oidc)):
        out.append(("workload_identity", msg))
    return out


def network_errors(network: dict[str, Any]) -> Errors:
    """The plugin's mode and dataplane; the outbound type against your own subnet."""
    out: Errors = []
    plugin = _get(network, "plugin", "azure")
    mode = network.get("plugin_mode", "overlay")
    dataplane = network.get("dataplane")
    if isinstance(plugin, str) and (mode is None or isinstance(mode, str)) and (
            dataplane is None or isinstance(dataplane, str)):
        out += rules.check_network(plugin, mode, dataplane)
    outbound, subnet = _get(network, "outbound_type", "loadBalancer"), network.get("vnet_subnet_id")
    if isinstance(outbound, str) and (subnet is None or isinstance(subnet, str)) and (
            msg := rules.check_outbound(outbound, subnet)):
        out.append(("outbound_type", msg))
    return out


def api_server_errors(api: dict[str, Any]) -> Errors:
    private, ranges = _get(api, "private", False), _get(api, "authorized_ip_ranges", [])
    if isinstance(private, bool) and isinstance(ranges, list) and (msg := rules.check_api_server(private, ranges)):
        return [("authorized_ip_ranges", msg)]
    return []


def access_errors(access: dict[str, Any]) -> Errors:
    entra = _get(access, "entra_id", False)
    groups, local = _get(access, "admin_group_object_ids", []), _get(access, "local_accounts", True)
    if isinstance(entra, bool) and isinstance(groups, list) and isinstance(local, bool):
        return rules.check_access(entra, groups, local, access.get("tenant_id") is not None)
    return []


def addons_errors(addons: dict[str, Any]) -> Errors:
    prom, ws = _get(addons, "managed_prometheus", True), addons.get("monitor_workspace_id")
    if isinstance(prom, bool) and isinstance(ws, str) and (
            msg := rules.check_monitor_workspace_needs_prometheus(prom, ws)):
        return [("monitor_workspace_id", msg)]
    return []


# ------------------------------------------------------------------------------------------ GPU pools
def autoscale_errors(autoscale: dict[str, Any]) -> Errors:
    """The autoscaler's bounds in order (min <= max)."""
    lo, hi = autoscale.get("min"), autoscale.get("max")
    if fleet_rules.is_int(lo) and fleet_rules.is_int(hi):
        return rules.check_autoscale(lo, hi)
    return []


def pool_errors(pool: dict[str, Any]) -> Errors:
    """A GPU pool: its count between the autoscaler's bounds, and the Spot fields only with Spot."""
    out: Errors = []
    autoscale, count = pool.get("autoscale"), _get(pool, "count", 1)
    if isinstance(autoscale, dict) and fleet_rules.is_int(count):
        lo, hi = autoscale.get("min"), autoscale.get("max")
        if fleet_rules.is_int(lo) and fleet_rules.is_int(hi):
            out += [("count" if bound == "count" else f"autoscale.{bound}", msg)
                    for bound, msg in rules.check_autoscale(lo, hi, count)]
    priority, policy = _get(pool, "priority", "Regular"), pool.get("eviction_policy")
    price = _get(pool, "spot_max_price", -1)
    if isinstance(priority, str) and (policy is None or isinstance(policy, str)) and isinstance(price, (int, float)):
        out += rules.check_spot(priority, policy, price)
    return out


# ------------------------------------------------------------------------------------------ the whole file
def answers_errors(data: dict[str, Any]) -> Errors:
    """Between sections: gpu_pool or gpu_pools, the pools' names, the fleet's derived names and overrides."""
    out: Errors = []
    cluster = _section(data, "cluster")
    system_name = _get(cluster.get("system_pool"), "name", "system")
    gpu = data.get("gpu_pool")
    pools = _get(data, "gpu_pools", [])
    if isinstance(pools, list):
        if msg := rules.check_gpu_pool_keys(isinstance(gpu, dict), bool(pools)):
            out.append(("gpu_pools", msg))
        given = [_get(p, "name", "gpunp") if isinstance(p, dict) else None for p in pools]
        names = [n for n in given if isinstance(n, str)]
        if len(names) == len(given) and isinstance(system_name, str):
            out += [(f"gpu_pools.{i}.name", msg) for i, msg in rules.check_gpu_pool_names(system_name, names)]
    if isinstance(gpu, dict):
        gpu_name = _get(gpu, "name", "gpunp")
        if isinstance(system_name, str) and isinstance(gpu_name, str) and (
                msg := rules.check_pool_names_differ(system_name, gpu_name)):
            out.append(("gpu_pool.name", msg))
    return out + _fleet_errors(data, cluster)


def _fleet_errors(data: dict[str, Any], cluster: dict[str, Any]) -> Errors:
    fleet = data.get("fleet")
    if not (isinstance(fleet, dict) and fleet_rules.is_int(fleet.get("count")) and 1 <= fleet["count"] <= rules.FLEET_MAX):
        return []
    names = (_get(cluster, "name", None), _get(data.get("resource_group"), "name", None))
    patterns = (_get(fleet, "cluster_name", "{cluster}-{n:02d}"), _get(fleet, "resource_group", "per_cluster"),
                _get(fleet, "resource_group_name", "{resource_group}-{n:02d}"))
    overrides = _get(fleet, "members", [])
    if not (all(isinstance(x, str) for x in names + patterns) and isinstance(overrides, list)):
        return []
    return _under("fleet", fleet_rules.fleet_errors(fleet["count"], patterns[0], patterns[1], patterns[2], names[0],
                                              names[1], overrides, isinstance(data.get("gpu_pool"), dict)))


def cross_field_errors(data: Any) -> Errors:
    """All cross-field rule violations in a raw answers mapping, as (path, message)."""
    if not isinstance(data, dict):
        return []
    cluster = _section(data, "cluster")
    out = _under("cluster", cluster_errors(cluster))
    network = cluster.get("network")
    if isinstance(network, dict):
        out += _under("cluster.network", network_errors(network))
        if isinstance(network.get("api_server"), dict):
            out += _under("cluster.network.api_server", api_server_errors(network["api_server"]))
    for key, check in (("addons", addons_errors), ("access", access_errors)):
        if isinstance(cluster.get(key), dict):
            out += _under(f"cluster.{key}", check(cluster[key]))
    if isinstance(data.get("gpu_pool"), dict):
        out += _under("gpu_pool", pool_errors(data["gpu_pool"]))
    if isinstance(data.get("gpu_pools"), list):
        for i, pool in enumerate(data["gpu_pools"]):
            if isinstance(pool, dict):
                out += _under(f"gpu_pools.{i}", pool_errors(pool))
    return out + answers_errors(data)
