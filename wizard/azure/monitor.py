"""Azure Monitor managed Prometheus: what `az aks create|update --enable-azure-monitor-metrics` does besides the
cluster PUT (azure-cli acs/azuremonitormetrics), through the SDK (azure-mgmt-monitor: its MonitorManagementClient
has azure_monitor_workspaces at api 2023-04-03, the same version az uses, and data_collection_endpoints / rules /
rule_associations at 2023-03-11):

1. register the resource providers Microsoft.Insights, Microsoft.AlertsManagement (and Microsoft.Monitor for the
   workspace's subscription) when they are not Registered;
2. the Azure Monitor workspace: the one given (answers cluster.addons.monitor_workspace_id: only read, for its
   location), else the default one az creates, DefaultAzureMonitorWorkspace-<region> in resource group
   DefaultResourceGroup-<region> (group created if missing);
3. a data collection endpoint MSProm-<region>-<cluster> (kind Linux) in the cluster's resource group;
4. a data collection rule MSProm-<region>-<cluster> forwarding Microsoft-PrometheusMetrics to the workspace;
5. the association ContainerInsightsMetricsExtension-<region>-<cluster> of that rule with the cluster.

Every write is preceded by a read: an object that exists with the wanted settings is left alone, so a re-run
sends GETs only. Recording-rule groups (az also creates Microsoft.AlertsManagement/prometheusRuleGroups) and
Grafana linking are not done here.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Callable, ContextManager

from azure.core.exceptions import ResourceNotFoundError

if TYPE_CHECKING:
    from wizard.azure.connection import ArmConnection

log = logging.getLogger(__name__)

WORKSPACE_API = "2023-04-03"  # MAC_API in azure-cli; the SDK's default for azure_monitor_workspaces
DC_API = "2023-03-11"  # the SDK's default for data collection objects (azure-cli sends 2022-06-01)
PROVIDERS_CLUSTER = ("Microsoft.Insights", "Microsoft.AlertsManagement")
PROVIDERS_WORKSPACE = ("Microsoft.Insights", "Microsoft.AlertsManagement", "Microsoft.Monitor")
DCR_DESCRIPTION = "DCR for Azure Monitor Metrics Profile (Managed Prometheus)"
DCRA_DESCRIPTION = "Promtheus data collection association between DCR, DCE and target AKS resource"
STREAM = "Microsoft-PrometheusMetrics"

# Where azure-cli puts the default Azure Monitor workspace (acs/azuremonitormetrics/amw/defaults.py
# get_default_mac_region): the cluster's region when Microsoft.Monitor lists it for "accounts", else the first
# region listed; the canary region centraluseuap goes to eastus2euap; a cloud whose provider lists none falls back
# to the cloud's default region.
DEFAULT_REGION = {"azurecloud": "eastus", "azureusgovernment": "usgovvirginia", "azurechinacloud": "chinanorth3"}
CANARY = {"centraluseuap": "eastus2euap"}

_ID = re.compile(r"^/subscriptions/(?P<sub>[^/]+)/resourcegroups/(?P<rg>[^/]+)/providers/microsoft\.monitor/"
                 r"accounts/(?P<name>[^/]+)$", re.IGNORECASE)


# ------------------------------------------------------------------------------------------ names
def _sanitize(name: str, length: int, dce: bool = False) -> str:
    """azure-cli's sanitize_name: cut to length, DCE names keep only letters, digits and '-', end alphanumeric."""
    name = name[:length]
    if dce:
        name = "".join(ch for ch in name if ch.isalnum() or ch == "-")
    return name.rstrip("-_.()") if name else name


def _region(name: str) -> str:
    return name.replace(" ", "").lower()


def workspace_locations(conn: "ArmConnection", subscription_id: str | None = None) -> list[str]:
    """Regions Microsoft.Monitor offers Azure Monitor workspaces in ("accounts"), as ARM lists them (a read that
    works while the provider is still unregistered). A read Azure refuses counts as an empty list, as azure-cli
    then falls back to the cloud's default region."""
    from azure.core.exceptions import HttpResponseError

    try:
        provider = resource_client(conn, subscription_id).providers.get("Microsoft.Monitor")
    except HttpResponseError as exc:
        log.info("Microsoft.Monitor locations unreadable: %s", exc)
        return []
    for rt in provider.resource_types or []:
        if (rt.resource_type or "").lower() == "accounts":
            return [_region(loc) for loc in rt.locations or []]
    return []


def mac_region(region: str, cloud: str = "AzureCloud", offered: list[str] | None = None) -> str:
    """The default workspace's region for a cluster in ``region`` (see DEFAULT_REGION above)."""
    region = _region(region)
    if region in CANARY:
        return CANARY[region]
    offered = offered or []
    if region in offered:
        return region
    return offered[0] if offered else DEFAULT_REGION.get(cloud.lower(), "eastus")


@dataclass(frozen=True)
class MonitorNames:
    region: str  # where the workspace and data collection objects go
    workspace_id: str
    workspace_rg: str
    workspace_name: str
    workspace_given: bool
    dce_name: str
    dcr_name: str
    dcra_name: str
    cluster_rg: str
    cluster_name: str
    subscription_id: str

    def dce_id(self) -> str:
        return (f"/subscriptions/{self.subscription_id}/resourceGroups/{self.cluster_rg}/providers/"
                f"Microsoft.Insights/dataCollectionEndpoints/{self.dce_name}")

    def dcr_id(self) -> str:
        return (f"/subscriptions/{self.subscription_id}/resourceGroups/{self.cluster_rg}/providers/"
                f"Microsoft.Insights/dataCollectionRules/{self.dcr_name}")

    def cluster_id(self) -> str:
        return (f"/subscriptions/{self.subscription_id}/resourceGroups/{self.cluster_rg}/providers/"
                f"Microsoft.ContainerService/managedClusters/{self.cluster_name}")


def names_for(subscription_id: str, cluster_rg: str, cluster_name: str, cluster_region: str,
              workspace_id: str | None = None, cloud: str = "AzureCloud",
              offered: list[str] | None = None) -> MonitorNames:
    """``offered``: the regions of :func:`workspace_locations`."""
    region = mac_region(cluster_region, cloud, offered)
    if workspace_id:
        m = _ID.fullmatch(workspace_id.strip().rstrip("/"))
        if m is None:
            raise ValueError(f"not an Azure Monitor workspace resource id: {workspace_id}")
        ws_rg, ws_name, ws_id, given = m["rg"], m["name"], workspace_id.strip().rstrip("/"), True
    else:
        ws_rg = f"DefaultResourceGroup-{region}"
        ws_name = f"DefaultAzureMonitorWorkspace-{region}"[:43]
        ws_id = f"/subscriptions/{subscription_id}/resourceGroups/{ws_rg}/providers/Microsoft.Monitor/accounts/{ws_name}"
        given = False
    return MonitorNames(
        region=region, workspace_id=ws_id, workspace_rg=ws_rg, workspace_name=ws_name, workspace_given=given,
        dce_name=_sanitize(f"MSProm-{region}-{cluster_name}", 44, dce=True),
        dcr_name=_sanitize(f"MSProm-{region}-{cluster_name}", 64),
        dcra_name=_sanitize(f"ContainerInsightsMetricsExtension-{region}-{cluster_name}", 64),
        cluster_rg=cluster_rg, cluster_name=cluster_name, subscription_id=subscription_id)


def workspace_subscription(workspace_id: str) -> str | None:
    m = _ID.fullmatch(workspace_id)
    return m["sub"] if m else None


# ------------------------------------------------------------------------------------------ clients
def monitor_client(conn: "ArmConnection", subscription_id: str | None = None) -> Any:
    """MonitorManagementClient built like every other client of the connection (same base URL, scopes, policies)."""
    sub = subscription_id or conn.subscription_id

    def make() -> Any:
        from azure.mgmt.monitor import MonitorManagementClient

        return conn.make_client(MonitorManagementClient, sub)

    cached = getattr(conn, "_cached", None)
    return cached(f"monitor:{sub}", make) if cached else make()


def resource_client(conn: "ArmConnection", subscription_id: str | None = None) -> Any:
    if subscription_id in (None, conn.subscription_id):
        return conn.resources

    def make() -> Any:
        from azure.mgmt.resource.resources import ResourceManagementClient

        return conn.make_client(ResourceManagementClient, subscription_id)

    cached = getattr(conn, "_cached", None)
    return cached(f"resources:{subscription_id}", make) if cached else make()


# ------------------------------------------------------------------------------------------ bodies
# The request bodies, as SDK models: what ensure_monitoring sends and what `export` writes into templates.
def workspace_body(region: str, tags: dict[str, str] | None) -> Any:
    from azure.mgmt.monitor import models as mm

    return mm.AzureMonitorWorkspaceResource(location=region, tags=tags or None)


def dce_body(region: str, tags: dict[str, str] | None) -> Any:
    from azure.mgmt.monitor import models as mm

    return mm.DataCollectionEndpointResource(location=region, kind="Linux", tags=tags or None)


def dcr_body(region: str, dce_id: str, workspace_id: str, tags: dict[str, str] | None) -> Any:
    from azure.mgmt.monitor import models as mm

    return mm.DataCollectionRuleResource(
        location=region, kind="Linux", tags=tags or None, description=DCR_DESCRIPTION,
        data_collection_endpoint_id=dce_id,
        data_sources=mm.DataCollectionRuleDataSources(prometheus_forwarder=[mm.PrometheusForwarderDataSource(
            name="PrometheusDataSource", streams=[STREAM], label_include_filter={})]),
        destinations=mm.DataCollectionRuleDestinations(monitoring_accounts=[mm.MonitoringAccountDestination(
            account_resource_id=workspace_id, name="MonitoringAccount1")]),
        data_flows=[mm.DataFlow(streams=[STREAM], destinations=["MonitoringAccount1"])])


def dcra_body(dcr_id: str) -> Any:
    from azure.mgmt.monitor import models as mm

    return mm.DataCollectionRuleAssociationProxyOnlyResource(data_collection_rule_id=dcr_id,
                                                            description=DCRA_DESCRIPTION)


# ------------------------------------------------------------------------------------------ the work
Report = Callable[[str], None]


@dataclass
class MonitorResult:
    names: MonitorNames
    workspace_location: str = ""
    query_endpoint: str | None = None
    written: list[str] = field(default_factory=list)  # what this run created or changed
    created_ids: list[str] = field(default_factory=list)  # resource ids this run created (teardown reads them)
    registered: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.written or self.registered)


def _get(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except ResourceNotFoundError:
        return None


def _state(obj: Any) -> str:
    return str(getattr(obj, "provisioning_state", None) or "Succeeded")


def ensure_providers(conn: "ArmConnection", namespaces: tuple[str, ...], subscription_id: str | None,
                     report: Report, sleep: Callable[[float], None], poll: float, timeout: float) -> list[str]:
    """Register the providers that are not Registered and wait (bounded) until they are."""
    import time

    from wizard.azure.features import wait_registered

    client = resource_client(conn, subscription_id)
    pending = []
    for ns in namespaces:
        state = client.providers.get(ns).registration_state or "NotRegistered"
        if state.lower() != "registered":
            client.providers.register(ns)
            report(f"registering resource provider {ns} (was {state})")
            pending.append(ns)
    deadline = time.monotonic() + timeout
    for ns in pending:
        def read(ns: str = ns) -> str:
            return client.providers.get(ns).registration_state or ""

        def timed_out(state: str, ns: str = ns) -> Exception:
            return TimeoutError(f"resource provider {ns} still {state} after {timeout:.0f} s")

        wait_registered(read(), read, sleep, poll, deadline, lambda _state: None, timed_out)
        report(f"resource provider {ns} is Registered")
    return pending


def _providers(names: MonitorNames) -> list[tuple[str, tuple[str, ...]]]:
    """(subscription, resource providers) that managed Prometheus needs registered."""
    ws_sub = workspace_subscription(names.workspace_id) or names.subscription_id
    if ws_sub.lower() != names.subscription_id.lower():
        return [(names.subscription_id, PROVIDERS_CLUSTER), (ws_sub, PROVIDERS_WORKSPACE)]
    return [(names.subscription_id, PROVIDERS_CLUSTER), (ws_sub, ("Microsoft.Monitor",))]


def _placed(names: MonitorNames, ws: Any) -> MonitorNames:
    """az names and places the DCE/DCR after the workspace's region (a linked workspace may be elsewhere)."""
    dc_region = _region(ws.location or names.region)
    if dc_region == names.region:
        return names
    return replace(names, region=dc_region, dce_name=_sanitize(f"MSProm-{dc_region}-{names.cluster_name}", 44, dce=True),
                   dcr_name=_sanitize(f"MSProm-{dc_region}-{names.cluster_name}", 64))


def _rule_ok(rule: Any, dce_id: str, workspace_id: str) -> bool:
    accounts = [a.account_resource_id for a in (getattr(rule.destinations, "monitoring_accounts", None) or [])]
    return (str(rule.data_collection_endpoint_id or "").lower() == dce_id.lower()
            and any(str(a or "").lower() == workspace_id.lower() for a in accounts))


def _association_ok(dcra: Any, dcr_id: str) -> bool:
    return dcra is not None and str(dcra.data_collection_rule_id or "").lower() == dcr_id.lower()


def monitoring_missing(conn: "ArmConnection", names: MonitorNames) -> list[str]:
    """What ensure_monitoring would still register or write, found with reads only (plan: empty = in place)."""
    missing = [f"resource provider {ns}" for sub, namespaces in _providers(names) for ns in namespaces
               if (resource_client(conn, sub).providers.get(ns).registration_state or "").lower() != "registered"]
    ws_sub = workspace_subscription(names.workspace_id) or names.subscription_id
    ws = _get(lambda: monitor_client(conn, ws_sub).azure_monitor_workspaces.get(names.workspace_rg,
                                                                                 names.workspace_name))
    if ws is None or _state(ws).lower() != "succeeded":
        return missing + [f"Azure Monitor workspace {names.workspace_name}"]
    names = _placed(names, ws)
    mon = monitor_client(conn, names.subscription_id)
    dce = _get(lambda: mon.data_collection_endpoints.get(names.cluster_rg, names.dce_name))
    if dce is None:
        return missing + [f"data collection endpoint {names.dce_name}"]
    dcr = _get(lambda: mon.data_collection_rules.get(names.cluster_rg, names.dcr_name))
    if dcr is None or not _rule_ok(dcr, dce.id or names.dce_id(), names.workspace_id):
        return missing + [f"data collection rule {names.dcr_name}"]
    dcra = _get(lambda: mon.data_collection_rule_associations.get(names.cluster_id(), names.dcra_name))
    if not _association_ok(dcra, dcr.id or names.dcr_id()):
        missing.append(f"data collection rule association {names.dcra_name}")
    return missing


def _ensure_workspace(conn: "ArmConnection", names: MonitorNames, tags: dict[str, str] | None, report: Report,
                      sleep: Callable[[float], None], poll: float, timeout: float, creating: Callable[[str], None],
                      result: MonitorResult) -> Any:
    """Steps 1-2: the providers registered, the workspace found or created and Succeeded."""
    import time

    ws_sub = workspace_subscription(names.workspace_id) or names.subscription_id
    for sub, namespaces in _providers(names):
        result.registered += ensure_providers(conn, namespaces, sub, report, sleep, poll, timeout)
    mon_ws = monitor_client(conn, ws_sub)

    # 2. the workspace
    ws = _get(lambda: mon_ws.azure_monitor_workspaces.get(names.workspace_rg, names.workspace_name))
    if ws is None and names.workspace_given:
        raise LookupError(f"Azure Monitor workspace {names.workspace_id} was not found (cluster.addons."
                          "monitor_workspace_id)")
    if ws is None:
        rgs = resource_client(conn, ws_sub).resource_groups
        if not rgs.check_existence(names.workspace_rg):
            rgs.create_or_update(names.workspace_rg, {"location": names.region})
            result.written.append(f"resource group {names.workspace_rg}")
        creating(names.workspace_id)
        ws = mon_ws.azure_monitor_workspaces.create(names.workspace_rg, names.workspace_name,
                                                     workspace_body(names.region, tags))
        result.written.append(f"Azure Monitor workspace {names.workspace_name}")
        report(f"created Azure Monitor workspace {names.workspace_name} in {names.workspace_rg}")
    else:
        report(f"using Azure Monitor workspace {names.workspace_name} ({'given' if names.workspace_given else 'default'}"
               f", {ws.location})")
    deadline = time.monotonic() + timeout
    last = None
    while _state(ws).lower() not in ("succeeded",):
        state = _state(ws)
        if state.lower() in ("failed", "canceled"):
            raise RuntimeError(f"Azure Monitor workspace {names.workspace_name} is {state}")
        if state != last:
            report(f"Azure Monitor workspace {names.workspace_name} is {state}")
            last = state
        if time.monotonic() > deadline:
            raise TimeoutError(f"Azure Monitor workspace {names.workspace_name} still {state} after {timeout:.0f} s")
        sleep(poll)
        ws = mon_ws.azure_monitor_workspaces.get(names.workspace_rg, names.workspace_name)
    return ws


def ensure_monitoring(conn: "ArmConnection", names: MonitorNames, tags: dict[str, str] | None, report: Report,
                      sleep: Callable[[float], None], poll: float = 5.0, timeout: float = 600.0,
                      intend: Callable[[str], None] | None = None,
                      shared: ContextManager[Any] | None = None) -> MonitorResult:
    """Steps 1-5 of the module docstring. Bounded: every wait ends after `timeout` seconds. `tags` go on what
    this creates (an object that exists keeps its own); `intend(resource_id)` is called before each create, so
    ownership is on record even when the create's answer is lost. `shared` is held over steps 1-2 (the providers
    and the workspace, which the members of a fleet share): steps 3-5 are the cluster's own and run unheld."""
    import contextlib

    def creating(rid: str) -> None:
        result.created_ids.append(rid)
        if intend is not None:
            intend(rid)

    result = MonitorResult(names)
    with shared or contextlib.nullcontext():
        ws = _ensure_workspace(conn, names, tags, report, sleep, poll, timeout, creating, result)
    result.workspace_location = (ws.location or names.region).replace(" ", "").lower()
    result.query_endpoint = getattr(getattr(ws, "metrics", None), "prometheus_query_endpoint", None)
    names = result.names = _placed(names, ws)
    dc_region = names.region
    mon = monitor_client(conn, names.subscription_id)

    # 3. data collection endpoint
    dce = _get(lambda: mon.data_collection_endpoints.get(names.cluster_rg, names.dce_name))
    if dce is None:
        creating(names.dce_id())
        dce = mon.data_collection_endpoints.create(names.cluster_rg, names.dce_name,
                                                   body=dce_body(dc_region, tags))
        result.written.append(f"data collection endpoint {names.dce_name}")
        report(f"created data collection endpoint {names.dce_name}")
    dce_id = dce.id or names.dce_id()

    # 4. data collection rule
    dcr = _get(lambda: mon.data_collection_rules.get(names.cluster_rg, names.dcr_name))
    if dcr is None or not _rule_ok(dcr, dce_id, names.workspace_id):
        body = dcr_body(dc_region, dce_id, names.workspace_id, tags if dcr is None else dcr.tags)
        verb = "created" if dcr is None else "updated"
        if dcr is None:
            creating(names.dcr_id())
        dcr = mon.data_collection_rules.create(names.cluster_rg, names.dcr_name, body=body)
        result.written.append(f"data collection rule {names.dcr_name}")
        report(f"{verb} data collection rule {names.dcr_name} -> {names.workspace_name}")
    dcr_id = dcr.id or names.dcr_id()

    # 5. association with the cluster
    cluster_id = names.cluster_id()
    dcra = _get(lambda: mon.data_collection_rule_associations.get(cluster_id, names.dcra_name))
    if not _association_ok(dcra, dcr_id):
        mon.data_collection_rule_associations.create(
            cluster_id, names.dcra_name,
            body=dcra_body(dcr_id))
        result.written.append(f"data collection rule association {names.dcra_name}")
        report(f"associated data collection rule {names.dcr_name} with cluster {names.cluster_name}")
    return result


def az_equivalent(names: MonitorNames) -> list[list[str]]:
    """The az commands that do the same, one argument list per command."""
    cmds: list[list[str]] = []
    if not names.workspace_given:
        cmds.append(["monitor", "account", "create", "-g", names.workspace_rg, "-n", names.workspace_name,
                     "-l", names.region])
    cmds.append(["monitor", "data-collection", "endpoint", "create", "-g", names.cluster_rg, "-n", names.dce_name,
                 "-l", names.region, "--public-network-access", "Enabled"])
    cmds.append(["monitor", "data-collection", "rule", "create", "-g", names.cluster_rg, "-n", names.dcr_name,
                 "-l", names.region, "--rule-file", "prometheus-dcr.json"])
    cmds.append(["monitor", "data-collection", "rule", "association", "create", "--name", names.dcra_name,
                 "--resource", names.cluster_id(), "--rule-id", names.dcr_id()])
    return cmds
