"""Managed clusters and agent pools: reads, create-or-update as long-running operations, kubeconfig."""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from azure.core.exceptions import ResourceNotFoundError

if TYPE_CHECKING:
    from azure.core.polling import LROPoller

    from wizard.azure.connection import ArmConnection


_OPERATION = re.compile(r"/operations/([^/?]+)", re.IGNORECASE)


@dataclass
class RequestIds:
    """ARM request and correlation ids of the first (write) response and the latest one, for the journal
    and for support tickets. Used as a per-call `raw_response_hook`, which azure-core also applies to polls."""

    first_request_id: str | None = None
    correlation_id: str | None = None
    last_request_id: str | None = None
    operation_id: str | None = None  # AKS's operation id, from the write's Azure-AsyncOperation URL
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __call__(self, pipeline_response: Any) -> None:
        headers = pipeline_response.http_response.headers
        with self._lock:
            rid = headers.get("x-ms-request-id")
            if self.first_request_id is None:
                self.first_request_id = rid
                self.correlation_id = headers.get("x-ms-correlation-request-id")
                m = _OPERATION.search(headers.get("Azure-AsyncOperation") or headers.get("Location") or "")
                self.operation_id = m.group(1) if m else None
            self.last_request_id = rid


def get_cluster(conn: "ArmConnection", group: str, name: str) -> Any | None:
    try:
        return conn.aks.managed_clusters.get(group, name)
    except ResourceNotFoundError:
        return None


def get_pool(conn: "ArmConnection", group: str, cluster: str, pool: str) -> Any | None:
    try:
        return conn.aks.agent_pools.get(group, cluster, pool)
    except ResourceNotFoundError:
        return None


def begin_cluster(conn: "ArmConnection", group: str, name: str, body: Any | None = None,
                  continuation_token: str | None = None, **kw: Any) -> "LROPoller[Any]":
    """PUT a managed cluster, or re-attach to a PUT already accepted (continuation_token)."""
    if continuation_token:
        return conn.aks.managed_clusters.begin_create_or_update(
            group, name, None, continuation_token=continuation_token, **kw)
    return conn.aks.managed_clusters.begin_create_or_update(group, name, body, **kw)


def begin_pool(conn: "ArmConnection", group: str, cluster: str, pool: str, body: Any | None = None,
               continuation_token: str | None = None, **kw: Any) -> "LROPoller[Any]":
    if continuation_token:
        return conn.aks.agent_pools.begin_create_or_update(
            group, cluster, pool, None, continuation_token=continuation_token, **kw)
    return conn.aks.agent_pools.begin_create_or_update(group, cluster, pool, body, **kw)


def user_kubeconfig(conn: "ArmConnection", group: str, name: str) -> bytes:
    result = conn.aks.managed_clusters.list_cluster_user_credentials(group, name)
    if not result.kubeconfigs:
        raise RuntimeError(f"Azure returned no kubeconfig for cluster {name}")
    value = result.kubeconfigs[0].value
    return value if isinstance(value, bytes) else bytes(value)
