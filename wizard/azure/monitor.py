"""Azure Monitor managed Prometheus: what `az aks create|update --enable-azure-monitor-metrics` does besides the
cluster PUT (azure-cli acs/azuremonitormetrics), through the SDK (azure-mgmt-monitor: its MonitorManagementClient
has azure_monitor_workspaces at api 2023-04-03, the same version az uses, and data_collection_endpoints / rules /
rule_associations at 2023-03-11):

1. register the resource providers Microsoft.Insights, Microsoft.AlertsManagement (and Microsoft.Monitor for the
   workspace's subscription) when they are not Registered;
2. the Azure Monitor workspace: the one given (answers cluster.addons.monitor_workspace_id: only read; the plan
   reads its region, where az places the data collection objects), else the default one az creates, DefaultAzureMonitorWorkspace-<region> in resource group
   DefaultResourceGroup-<region> (group created if missing);
3. a data collection endpoint MSProm-<region>-<cluster> (kind Linux) in the cluster's resource group;
4. a data collection rule MSProm-<region>-<cluster> forwarding Microsoft-PrometheusMetrics to the workspace;
5. the association ContainerInsightsMetricsExtension-<region>-<cluster> of that rule with the cluster.

Each is one plan step (wizard/addons/monitor_steps.py). Every write is preceded by a read: an object that exists with the wanted settings is left alone, so a re-run
sends GETs only. Recording-rule groups (az also creates Microsoft.AlertsManagement/prometheusRuleGroups) and
Grafana linking are not done here.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from azure.core.exceptions import ResourceNotFoundError

from wizard.arm_ids import cluster_id

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
        provider = conn.resources_for(subscription_id).providers.get("Microsoft.Monitor")
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
        return cluster_id(self.subscription_id, self.cluster_rg, self.cluster_name)


def names_for(subscription_id: str, cluster_rg: str, cluster_name: str, cluster_region: str,
              workspace_id: str | None = None, cloud: str = "AzureCloud",
              offered: list[str] | None = None, workspace_location: str | None = None) -> MonitorNames:
    """``offered``: the regions of :func:`workspace_locations`; ``workspace_location``: the given workspace's
    region (:func:`given_workspace_location`): az names and places the endpoint and rule after it."""
    region = mac_region(cluster_region, cloud, offered)
    if workspace_id:
        m = _ID.fullmatch(workspace_id.strip().rstrip("/"))
        if m is None:
            raise ValueError(f"not an Azure Monitor workspace resource id: {workspace_id}")
        ws_rg, ws_name, ws_id, given = m["rg"], m["name"], workspace_id.strip().rstrip("/"), True
        region = _region(workspace_location) if workspace_location else region
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
# One plan step per part (wizard/addons/monitor_steps.py): providers, workspace, endpoint, rule, association.
Report = Callable[[str], None]
Creating = Callable[[str], None]  # called with a resource id before its create, so ownership is on record


def _get(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except ResourceNotFoundError:
        return None


def _state(obj: Any) -> str:
    return str(getattr(obj, "provisioning_state", None) or "Succeeded")


def registrations(names: MonitorNames) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(subscription, resource providers) that managed Prometheus needs registered."""
    ws_sub = workspace_subscription(names.workspace_id) or names.subscription_id
    if ws_sub.lower() != names.subscription_id.lower():
        return ((names.subscription_id, PROVIDERS_CLUSTER), (ws_sub, PROVIDERS_WORKSPACE))
    return ((names.subscription_id, PROVIDERS_CLUSTER), (ws_sub, ("Microsoft.Monitor",)))


def providers_missing(conn: "ArmConnection", wanted: tuple[tuple[str, tuple[str, ...]], ...]) -> list[str]:
    return [ns for sub, namespaces in wanted for ns in namespaces
            if (conn.resources_for(sub).providers.get(ns).registration_state or "").lower() != "registered"]


def ensure_providers(conn: "ArmConnection", namespaces: tuple[str, ...], subscription_id: str | None,
                     report: Report, sleep: Callable[[float], None], poll: float, timeout: float) -> list[str]:
    """Register the providers that are not Registered and wait (bounded) until they are."""
    import time

    from wizard.azure.features import wait_registered

    client = conn.resources_for(subscription_id)
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


def read_workspace(conn: "ArmConnection", names: MonitorNames) -> Any:
    ws_sub = workspace_subscription(names.workspace_id) or names.subscription_id
    return _get(lambda: conn.monitor_for(ws_sub).azure_monitor_workspaces.get(names.workspace_rg,
                                                                              names.workspace_name))


def given_workspace_location(conn: "ArmConnection", workspace_id: str) -> str:
    """The region of the workspace cluster.addons.monitor_workspace_id names (the plan places the data collection
    objects there, as az does). LookupError when it does not exist; Azure's refusal of the read as it is."""
    m = _ID.fullmatch(workspace_id.strip().rstrip("/"))
    if m is None:
        raise ValueError(f"not an Azure Monitor workspace resource id: {workspace_id}")
    from azure.core.exceptions import HttpResponseError

    from wizard.azure.errors import error_code

    where = f"Azure Monitor workspace {m['name']} was not found in resource group {m['rg']} of subscription {m['sub']}"
    try:
        ws = conn.monitor_for(m["sub"]).azure_monitor_workspaces.get(m["rg"], m["name"])
    except ResourceNotFoundError as exc:
        raise LookupError(where) from exc
    except HttpResponseError as exc:
        if error_code(exc) != "MissingSubscriptionRegistration":
            raise
        raise LookupError(f"{where} (Microsoft.Monitor is not registered there, so it holds no workspace)") from exc
    return _region(ws.location or "")


def workspace_ready(ws: Any, names: MonitorNames) -> bool:
    return ws is not None and _state(ws).lower() == "succeeded" and _region(ws.location or "") == names.region


def _placed_where_planned(ws: Any, names: MonitorNames) -> None:
    """The plan named and placed the endpoint and rule after the workspace's region; a workspace elsewhere (moved
    or re-created since the plan) would put them in the wrong region."""
    if ws.location and _region(ws.location) != names.region:
        raise RuntimeError(f"Azure Monitor workspace {names.workspace_name} is in {_region(ws.location)}, but the "
                           f"plan placed its data collection endpoint and rule in {names.region}; plan again (the "
                           "plan reads the workspace's region)")


def ensure_workspace(conn: "ArmConnection", names: MonitorNames, tags: dict[str, str] | None, report: Report,
                     sleep: Callable[[float], None], poll: float, timeout: float,
                     creating: Creating) -> tuple[Any, list[str]]:
    """The workspace found (a given one is only read) or created, and Succeeded: (workspace, what was written)."""
    import time

    ws_sub = workspace_subscription(names.workspace_id) or names.subscription_id
    mon_ws = conn.monitor_for(ws_sub)
    written: list[str] = []
    ws = read_workspace(conn, names)
    if ws is None and names.workspace_given:
        raise LookupError(f"Azure Monitor workspace {names.workspace_id} was not found (cluster.addons."
                          "monitor_workspace_id)")
    if ws is None:
        rgs = conn.resources_for(ws_sub).resource_groups
        if not rgs.check_existence(names.workspace_rg):
            rgs.create_or_update(names.workspace_rg, {"location": names.region})
            written.append(f"resource group {names.workspace_rg}")
        creating(names.workspace_id)
        ws = mon_ws.azure_monitor_workspaces.create(names.workspace_rg, names.workspace_name,
                                                     workspace_body(names.region, tags))
        written.append(f"Azure Monitor workspace {names.workspace_name}")
        report(f"created Azure Monitor workspace {names.workspace_name} in {names.workspace_rg}")
    else:
        report(f"using Azure Monitor workspace {names.workspace_name} ({'given' if names.workspace_given else 'default'}"
               f", {ws.location})")
    _placed_where_planned(ws, names)
    deadline = time.monotonic() + timeout
    last = None
    while _state(ws).lower() != "succeeded":
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
    return ws, written


@dataclass(frozen=True)
class Part:
    """One data collection object of the wiring, in the cluster's subscription: how it is named and read, whether
    what exists is what the wiring wants, and its body (``existing``: what Azure has, whose tags stay)."""

    what: str
    name: Callable[[MonitorNames], str]
    rid: Callable[[MonitorNames], str]
    read: Callable[[Any, MonitorNames], Any]
    ok: Callable[[Any, MonitorNames], bool]
    create: Callable[[Any, MonitorNames, Any], Any]
    body: Callable[[MonitorNames, dict[str, str] | None], Any]


def _rule_ok(rule: Any, names: MonitorNames) -> bool:
    accounts = [a.account_resource_id for a in (getattr(rule.destinations, "monitoring_accounts", None) or [])]
    return (str(rule.data_collection_endpoint_id or "").lower() == names.dce_id().lower()
            and any(str(a or "").lower() == names.workspace_id.lower() for a in accounts))


def _dcra_id(names: MonitorNames) -> str:
    return f"{names.cluster_id()}/providers/Microsoft.Insights/dataCollectionRuleAssociations/{names.dcra_name}"


PARTS = {
    "dce": Part("data collection endpoint", lambda n: n.dce_name, MonitorNames.dce_id,
                lambda mon, n: mon.data_collection_endpoints.get(n.cluster_rg, n.dce_name), lambda _obj, _n: True,
                lambda mon, n, body: mon.data_collection_endpoints.create(n.cluster_rg, n.dce_name, body=body),
                lambda n, tags: dce_body(n.region, tags)),
    "dcr": Part("data collection rule", lambda n: n.dcr_name, MonitorNames.dcr_id,
                lambda mon, n: mon.data_collection_rules.get(n.cluster_rg, n.dcr_name), _rule_ok,
                lambda mon, n, body: mon.data_collection_rules.create(n.cluster_rg, n.dcr_name, body=body),
                lambda n, tags: dcr_body(n.region, n.dce_id(), n.workspace_id, tags)),
    "dcra": Part("data collection rule association", lambda n: n.dcra_name, _dcra_id,
                 lambda mon, n: mon.data_collection_rule_associations.get(n.cluster_id(), n.dcra_name),
                 lambda obj, n: str(obj.data_collection_rule_id or "").lower() == n.dcr_id().lower(),
                 lambda mon, n, body: mon.data_collection_rule_associations.create(n.cluster_id(), n.dcra_name,
                                                                                   body=body),
                 lambda n, _tags: dcra_body(n.dcr_id())),
}


def part_in_place(conn: "ArmConnection", names: MonitorNames, part: Part) -> bool:
    obj = _get(lambda: part.read(conn.monitor_for(names.subscription_id), names))
    return obj is not None and part.ok(obj, names)


def ensure_part(conn: "ArmConnection", names: MonitorNames, part: Part, tags: dict[str, str] | None,
                creating: Creating) -> str | None:
    """Read, then create what is missing or rewrite what differs (keeping its tags): what was done, or None when
    the object was already as wanted."""
    mon = conn.monitor_for(names.subscription_id)
    obj = _get(lambda: part.read(mon, names))
    if obj is not None and part.ok(obj, names):
        return None
    if obj is None:
        creating(part.rid(names))
    part.create(mon, names, part.body(names, tags if obj is None else getattr(obj, "tags", None)))
    return f"{'created' if obj is None else 'updated'} {part.what} {part.name(names)}"


def az_commands(names: MonitorNames) -> dict[str, list[list[str]]]:
    """The az commands that do each part (workspace, dce, dcr, dcra), one argument list per command."""
    return {
        "workspace": [] if names.workspace_given else [
            ["monitor", "account", "create", "-g", names.workspace_rg, "-n", names.workspace_name, "-l", names.region]],
        "dce": [["monitor", "data-collection", "endpoint", "create", "-g", names.cluster_rg, "-n", names.dce_name,
                 "-l", names.region, "--public-network-access", "Enabled"]],
        "dcr": [["monitor", "data-collection", "rule", "create", "-g", names.cluster_rg, "-n", names.dcr_name,
                 "-l", names.region, "--rule-file", "prometheus-dcr.json"]],
        "dcra": [["monitor", "data-collection", "rule", "association", "create", "--name", names.dcra_name,
                  "--resource", names.cluster_id(), "--rule-id", names.dcr_id()]],
    }
