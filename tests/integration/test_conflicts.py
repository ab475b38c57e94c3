"""What AKS's refusals of a busy cluster say, read through the real SDK: the operation that runs, when it
started and how long Azure asks to wait (Retry-After), and what is not a conflict to wait out."""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import pytest
from azure.core.credentials import AccessToken

from tests.conftest import _allow_http_policy
from wizard.azure.clusters import busy_of

SUB = "3f2c8a9e-5b1d-4c7e-9a60-2d84f1b7c513"
BUSY = ("Operation is not allowed because there's an in progress upgrade managed cluster operation (operation ID: "
        "7c1f0d2e-1111-4c7e-9a60-2d84f1b7c513) on the managed cluster started on UTC 2026-05-22T07:19:23Z. Please "
        "wait for it to finish before starting a new operation.")
QUOTA = ("Operation could not be completed as it results in exceeding approved standardNCSv3Family Cores quota. "
         "Additional details - Deployment Model: Resource Manager, Location: eastus2, Current Limit: 24")


@dataclass
class Refusing:
    script: list[tuple[int, dict[str, Any], dict[str, str]]]  # PUT answers in turn; the last one repeats
    url: str
    seen: list[tuple[str, str]]  # (method, path) of every request


@pytest.fixture
def refusing() -> Iterator[Refusing]:
    """An HTTP server that answers PUTs as scripted and every GET with 404."""
    script: list[tuple[int, dict[str, Any], dict[str, str]]] = []
    seen: list[tuple[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def do_PUT(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            seen.append(("PUT", self.path))
            status, body, headers = script.pop(0) if len(script) > 1 else script[0]  # the last answer repeats
            self._answer(status, body, headers)

        def do_GET(self) -> None:  # the cluster and its operations/latest read as absent
            seen.append(("GET", self.path))
            self._answer(404, {"error": {"code": "ResourceNotFound", "message": "not found"}}, {})

        def _answer(self, status: int, body: dict[str, Any], headers: dict[str, str]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            for k, v in {"Content-Type": "application/json", "x-ms-request-id": "req-409", **headers}.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield Refusing(script, f"http://127.0.0.1:{server.server_address[1]}", seen)
    finally:
        server.shutdown()


class Token:
    def get_token(self, *scopes: str, **kw: Any) -> AccessToken:
        return AccessToken("t", 2**31)


def _put(base_url: str) -> BaseException:
    from azure.mgmt.containerservice import ContainerServiceClient

    aks = ContainerServiceClient(Token(), SUB, base_url=base_url, retry_total=0, per_call_policies=[_allow_http_policy()])
    with pytest.raises(Exception) as e:
        aks.managed_clusters.begin_create_or_update("rg", "aks", {"location": "eastus2"})
    return e.value


def test_a_busy_cluster_refusal_names_the_operation_its_start_and_the_wait_azure_asks(refusing):
    script, url = refusing.script, refusing.url
    script.append((409, {"error": {"code": "OperationNotAllowed", "message": BUSY}}, {"Retry-After": "30"}))
    busy = busy_of(_put(url))
    assert busy is not None and busy.code == "OperationNotAllowed"
    assert busy.operation_id == "7c1f0d2e-1111-4c7e-9a60-2d84f1b7c513"
    assert busy.started is not None and busy.started.isoformat() == "2026-05-22T07:19:23+00:00"
    assert (busy.retry_after, busy.request_id) == (30.0, "req-409")


def test_a_stale_etag_is_a_conflict_and_a_quota_refusal_is_not(refusing):
    script, url = refusing.script, refusing.url
    script.append((412, {"code": "EtagMismatch", "message": "The specified eTag does not match.", "subcode": ""}, {}))
    busy = busy_of(_put(url))
    assert busy is not None and (busy.code, busy.operation_id, busy.retry_after) == ("EtagMismatch", None, None)
    script[:] = [(409, {"error": {"code": "OperationNotAllowed", "message": QUOTA}}, {})]
    assert busy_of(_put(url)) is None


def test_refusals_while_the_cluster_reads_as_idle_are_bounded_and_end_with_a_clear_failure(refusing):
    """An ARM that keeps refusing while GET shows nothing running: the run re-sends only after a pause, stops
    at the deadline, and says so; it never loops for ever."""
    from tests.unit.test_plan import answers, observed
    from wizard.azure.clouds import resolve_cloud
    from wizard.azure.connection import ArmConnection
    from wizard.engine import Engine, RunOptions
    from wizard.plan import build_plan

    script, url = refusing.script, refusing.url
    script.append((409, {"error": {"code": "OperationNotAllowed", "message": "Another operation is in progress."}}, {}))
    plan = build_plan(answers(gpu_pool=None), observed(group={"location": "eastus2"}))
    step = plan.step("cluster")
    step.deps = ()
    plan.steps = [step]
    conn = ArmConnection(Token(), SUB, resolve_cloud("AzureCloud"), base_url=url, allow_http=True,
                         polling_interval=0, retry_total=0)
    events: list[Any] = []
    result = Engine(conn, plan, events.append, None, RunOptions(poll_interval=0.05, tick=0.01,
                                                                 conflict_timeout=0.4)).run()
    assert result.status == "failed" and result.failure is not None
    assert result.failure.category == "timeout" and "Azure accepted no request of this run" in result.failure.what
    assert "--conflict-timeout" in result.failure.action and "az aks operation-abort" in result.failure.action
    puts = [p for m, p in refusing.seen if m == "PUT"]
    assert 2 <= len(puts) <= 0.4 / 0.05 + 1  # one PUT per pause at most
    assert any(e.kind == "progress" and "cluster aks-ai is not there" in e.message for e in events)
