"""What a verification of an AKS cluster reads, and with which options: the cluster's ARM view, its kubeconfig and
its Azure Monitor workspace's query API (VerifyTarget), and the one place an answers file's `verify:` section
becomes VerifyOptions. `verify`, apply's closing verification, the fleet's and the TUI's (through the facade) all
use it; no CLI module is needed to verify."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from wizard import exit_codes

if TYPE_CHECKING:
    from wizard.answers import Answers
    from wizard.azure.connection import ArmConnection
    from wizard.conformance import VerifyOptions, VerifyTarget

log = logging.getLogger(__name__)


class ClusterNotFound(exit_codes.InvalidInput):
    def __init__(self, rg: str, name: str) -> None:
        super().__init__(f"cluster {name} not found in resource group {rg}",
                         "check --resource-group and --name (az aks list -o table lists the clusters)")


def _serialize(model: Any) -> dict[str, Any]:
    if model is None:
        return {}
    if isinstance(model, dict):
        return model
    try:
        doc: dict[str, Any] = model.serialize(keep_readonly=True)
    except Exception:  # noqa: BLE001
        doc = model.as_dict()
    return doc


def azure_target(conn: ArmConnection, rg: str, name: str, kubeconfig: bool = True
                 ) -> tuple[dict[str, Any], list[dict[str, Any]], bytes | None]:
    """ARM JSON of the cluster and its pools, and (unless told not to) the user kubeconfig."""
    from wizard.azure.clusters import get_cluster, kubeconfig_for_this_run

    cluster = get_cluster(conn, rg, name)
    if cluster is None:
        raise ClusterNotFound(rg, name)
    body = _serialize(cluster)
    body.setdefault("id", getattr(cluster, "id", None))
    body.setdefault("name", getattr(cluster, "name", name))
    body.setdefault("location", getattr(cluster, "location", None))
    pools = [_serialize(p) for p in conn.aks.agent_pools.list(rg, name)]
    return body, pools, kubeconfig_for_this_run(conn, rg, name) if kubeconfig else None


def azure_verify_target(conn: ArmConnection, rg: str, name: str, kubeconfig: bytes | None = None,
                        context: str | None = None) -> VerifyTarget:
    """The VerifyTarget of an AKS cluster: its ARM view, its kubeconfig (fetched unless given) and the Prometheus
    query API of the Azure Monitor workspace its managed Prometheus sends to (None when there is none)."""
    from wizard.azure import prometheus
    from wizard.conformance import VerifyTarget

    cluster, pools, user_kc = azure_target(conn, rg, name, kubeconfig=kubeconfig is None)
    endpoint, query = None, None
    try:
        endpoint = prometheus.query_endpoint(conn, str(cluster.get("id") or ""))
    except Exception as exc:  # noqa: BLE001 - the verification goes on; the probe says it cannot read back
        log.info("Azure Monitor workspace of %s not found: %s", name, exc)
    if endpoint:
        query = prometheus.querier(conn, endpoint)
    return VerifyTarget(kubeconfig=kubeconfig or user_kc, context=context, cluster=cluster, pools=pools,
                        prometheus=query, prometheus_endpoint=endpoint or "")


def private_cluster(cluster: dict[str, Any] | None) -> bool:
    """Whether the cluster's API server is private (reached only from its VNet)."""
    access = ((cluster or {}).get("properties") or {}).get("apiServerAccessProfile") or {}
    return bool(access.get("enablePrivateCluster"))


def options_from_answers(answers: Answers, **extra: Any) -> VerifyOptions:
    """VerifyOptions of the answers file's `verify:` section (apply's closing verification and the TUI);
    ``extra`` adds or overrides options (the TUI's "Run probes", the simulator's pacing)."""
    from wizard.conformance import VerifyOptions

    fields: dict[str, Any] = dict(probes=answers.verify.probes, checklist=answers.verify.checklist,
                                  billable=tuple(answers.verify.billable_probes),
                                  resource_group=answers.resource_group.name, cluster_name=answers.cluster.name,
                                  metadata=answers.verify.product.overrides())
    return VerifyOptions(**(fields | extra))
