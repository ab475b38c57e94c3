"""Managed clusters and agent pools: reads, create-or-update as long-running operations, kubeconfig, and what
AKS says when it refuses a write because another operation is running (409 OperationNotAllowed)."""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, cast

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from wizard.arm_ids import cluster_id

if TYPE_CHECKING:
    from azure.core.polling import LROPoller
    from azure.mgmt.containerservice.models import AgentPool, ManagedCluster

    from wizard.azure.connection import ArmConnection


_OPERATION = re.compile(r"/operations/([^/?]+)", re.IGNORECASE)


@dataclass
class RequestIds:
    """ARM request and correlation ids of the first (write) response and the latest one, for the journal
    and for support tickets. Used as a per-call `raw_response_hook`, which azure-core also applies to polls."""

    first_request_id: str | None = None
    correlation_id: str | None = None
    last_request_id: str | None = None
    responses: int = 0  # responses seen for the write (the hook runs once per attempt that got an answer)
    attempts: int = 0  # attempts the SDK's retry policy had made when the latest answer came
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
            self.responses += 1
            self.attempts = int(pipeline_response.context.get("retry_count") or 0) + 1

    @property
    def lost_response(self) -> bool:
        """The SDK sent the write again because an earlier attempt got no answer (a dropped connection):
        Azure may have accepted that earlier attempt."""
        return self.attempts > self.responses


TERMINAL_STATES = frozenset({"succeeded", "failed", "canceled"})
# the preview API that serves operations/latest; the stable API the SDK speaks has no such operation
LATEST_OPERATION_API = "2025-10-02-preview"
_CONFLICT_CODES = frozenset({"OperationNotAllowed", "AnotherOperationInProgress", "OperationPreempted",
                             "EtagMismatch", "Conflict", "PreconditionFailed"})


def state_of(resource: Any | None) -> str | None:
    """A resource's provisioning state (ARM: none reported means Succeeded); None when it does not exist."""
    if resource is None:
        return None
    return getattr(resource, "provisioning_state", None) or "Succeeded"


def in_progress(state: str | None) -> bool:
    """ARM: Succeeded, Failed and Canceled are terminal, every other state (Creating, Updating, Accepted, an
    RP-specific one) means an operation is still running."""
    return state is not None and state.lower() not in TERMINAL_STATES


@dataclass(frozen=True)
class Busy:
    """AKS refused a write because another operation runs on the cluster or pool."""

    code: str
    message: str
    operation_id: str | None
    started: datetime | None  # when that operation started, as AKS says it
    retry_after: float | None  # seconds, from the Retry-After header
    request_id: str | None


def busy_of(exc: BaseException) -> Busy | None:
    """The conflict an SDK error reports, or None when it is another kind of error (quota also uses
    OperationNotAllowed: that is not a conflict to wait out)."""
    if not isinstance(exc, HttpResponseError) or exc.status_code not in (409, 412):
        return None
    code = str(getattr(exc.error, "code", None) or "")
    text = str(getattr(exc.error, "message", None) or exc.message or exc)
    if "quota" in text.lower() or (code not in _CONFLICT_CODES and
                                   not re.search(r"in progress|another operation", text, re.IGNORECASE)):
        return None
    op = re.search(r"operation ID: ?([0-9a-fA-F-]{8,})", text, re.IGNORECASE)
    at = re.search(r"started on UTC (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)", text, re.IGNORECASE)
    headers = getattr(exc.response, "headers", None) or {}
    wait = str(headers.get("Retry-After") or "").strip()
    return Busy(code or str(exc.status_code), text, op.group(1) if op else None,
                datetime.fromisoformat(at.group(1)).replace(tzinfo=timezone.utc) if at else None,
                float(wait) if wait.isdigit() else None, headers.get("x-ms-request-id"))


def latest_operation(conn: "ArmConnection", group: str, cluster: str, pool: str | None = None) -> dict[str, Any] | None:
    """AKS's operations/latest of a cluster or pool (id, status, percentComplete, startTime) where the API offers
    it; None where it does not (the read is best effort and never fails the run)."""
    from azure.core.exceptions import AzureError
    from azure.core.rest import HttpRequest

    path = (cluster_id(conn.subscription_id, group, cluster) + (f"/agentPools/{pool}" if pool else "")
            + f"/operations/latest?api-version={LATEST_OPERATION_API}")
    try:
        response = conn.aks.send_request(HttpRequest("GET", path))
        body = response.json() if response.status_code == 200 else None
    except (AzureError, ValueError):
        return None
    return body if isinstance(body, dict) and body.get("status") else None


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
    """PUT a managed cluster, or re-attach to a PUT already accepted (continuation_token). The SDK serializes a
    REST-shaped dict as it does its model (its overloads name only the model and IO[bytes]); with a continuation
    token it reads no body."""
    if continuation_token:
        return conn.aks.managed_clusters.begin_create_or_update(
            group, name, cast("ManagedCluster", None), continuation_token=continuation_token, **kw)
    return conn.aks.managed_clusters.begin_create_or_update(group, name, cast("ManagedCluster", body), **kw)


def begin_pool(conn: "ArmConnection", group: str, cluster: str, pool: str, body: Any | None = None,
               continuation_token: str | None = None, **kw: Any) -> "LROPoller[Any]":
    if continuation_token:
        return conn.aks.agent_pools.begin_create_or_update(
            group, cluster, pool, cast("AgentPool", None), continuation_token=continuation_token, **kw)
    return conn.aks.agent_pools.begin_create_or_update(group, cluster, pool, cast("AgentPool", body), **kw)


def user_kubeconfig(conn: "ArmConnection", group: str, name: str) -> bytes:
    """The user kubeconfig as Azure returns it (with Entra ID: kubelogin as its exec plugin, no token)."""
    result = conn.aks.managed_clusters.list_cluster_user_credentials(group, name)
    if not result.kubeconfigs:
        raise RuntimeError(f"Azure returned no kubeconfig for cluster {name}")
    value = result.kubeconfigs[0].value
    if value is None:
        raise RuntimeError(f"Azure returned an empty kubeconfig for cluster {name}")
    return value if isinstance(value, bytes) else bytes(value)


def kubeconfig_for_this_run(conn: "ArmConnection", group: str, name: str) -> bytes:
    """The user kubeconfig this process talks to the cluster with: with Entra ID, signed in through the
    connection's own credential (wizard.azure.entra; in memory only, never written)."""
    from wizard.azure.entra import signed_in

    return signed_in(user_kubeconfig(conn, group, name), conn.credential)
