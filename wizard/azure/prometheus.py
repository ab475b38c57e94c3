"""The Prometheus query API of the Azure Monitor workspace a cluster sends its managed Prometheus metrics to: found
through the cluster's data collection rule association -> rule -> monitoring account (workspace) ->
properties.metrics.prometheusQueryEndpoint; queried with an Entra token for the workspace's Prometheus audience
(https://prometheus.monitor.azure.com on the public cloud; the endpoint's own domain elsewhere)."""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Callable
from urllib.parse import urlsplit

from .monitor import workspace_subscription

if TYPE_CHECKING:
    from .connection import ArmConnection

_RID = re.compile(r"/subscriptions/[^/]+/resourceGroups/(?P<rg>[^/]+)/providers/[^/]+/[^/]+/(?P<name>[^/]+)$",
                  re.IGNORECASE)


def query_endpoint(conn: "ArmConnection", cluster_id: str) -> str | None:
    """The Prometheus query endpoint of the workspace the cluster's data collection rule sends to, or None."""
    mon = conn.monitor_for()
    for assoc in mon.data_collection_rule_associations.list_by_resource(cluster_id):
        m = _RID.search(str(getattr(assoc, "data_collection_rule_id", "") or ""))
        if m is None:
            continue
        rule = mon.data_collection_rules.get(m["rg"], m["name"])
        for acct in getattr(getattr(rule, "destinations", None), "monitoring_accounts", None) or []:
            wid = str(acct.account_resource_id or "")
            w = _RID.search(wid)
            if w is None:
                continue
            ws = conn.monitor_for(workspace_subscription(wid)).azure_monitor_workspaces.get(w["rg"], w["name"])
            endpoint = getattr(getattr(ws, "metrics", None), "prometheus_query_endpoint", None)
            if endpoint:
                return str(endpoint)
    return None


def audience(endpoint: str) -> str:
    """https://prometheus.monitor.azure.com for https://<ws>.<region>.prometheus.monitor.azure.com."""
    host = urlsplit(endpoint).hostname or ""
    return "https://" + host.split(".", 2)[-1] if host.count(".") >= 3 else "https://prometheus.monitor.azure.com"


def querier(conn: "ArmConnection", endpoint: str, timeout: float = 30.0) -> Callable[[str], Any]:
    """PromQL instant query -> the Prometheus HTTP API answer (JSON), with a token for the endpoint's audience."""
    import requests

    scope = audience(endpoint) + "/.default"
    url = conn.data_plane_url(endpoint.rstrip("/") + "/api/v1/query")

    def query(promql: str) -> Any:
        token = conn.credential.get_token(scope).token
        resp = requests.get(url, params={"query": promql}, headers={"Authorization": f"Bearer {token}"},
                            timeout=timeout)
        try:
            return resp.json()
        except ValueError:
            return {"status": "error", "error": f"HTTP {resp.status_code}: {resp.text[:200]}"}

    return query
