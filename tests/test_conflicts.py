"""What AKS's refusals of a busy cluster say, read through the real SDK: the operation that runs, when it
started and how long Azure asks to wait (Retry-After), and what is not a conflict to wait out."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import pytest

from tests.conftest import _allow_http_policy
from wizard.azure.clusters import busy_of

SUB = "3f2c8a9e-5b1d-4c7e-9a60-2d84f1b7c513"
BUSY = ("Operation is not allowed because there's an in progress upgrade managed cluster operation (operation ID: "
        "7c1f0d2e-1111-4c7e-9a60-2d84f1b7c513) on the managed cluster started on UTC 2026-05-22T07:19:23Z. Please "
        "wait for it to finish before starting a new operation.")
QUOTA = ("Operation could not be completed as it results in exceeding approved standardNCSv3Family Cores quota. "
         "Additional details - Deployment Model: Resource Manager, Location: eastus2, Current Limit: 24")


@pytest.fixture
def refusing() -> Iterator[tuple[list[tuple[int, dict[str, Any], dict[str, str]]], str]]:
    """An HTTP server that answers every request with the next scripted (status, body, headers)."""
    script: list[tuple[int, dict[str, Any], dict[str, str]]] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def do_PUT(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, body, headers = script.pop(0)
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
        yield script, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def _put(base_url: str) -> BaseException:
    from azure.core.credentials import AccessToken
    from azure.mgmt.containerservice import ContainerServiceClient

    class Token:
        def get_token(self, *scopes: str, **kw: Any) -> AccessToken:
            return AccessToken("t", 2**31)

    aks = ContainerServiceClient(Token(), SUB, base_url=base_url, retry_total=0, per_call_policies=[_allow_http_policy()])
    with pytest.raises(Exception) as e:
        aks.managed_clusters.begin_create_or_update("rg", "aks", {"location": "eastus2"})
    return e.value


def test_a_busy_cluster_refusal_names_the_operation_its_start_and_the_wait_azure_asks(refusing):
    script, url = refusing
    script.append((409, {"error": {"code": "OperationNotAllowed", "message": BUSY}}, {"Retry-After": "30"}))
    busy = busy_of(_put(url))
    assert busy is not None and busy.code == "OperationNotAllowed"
    assert busy.operation_id == "7c1f0d2e-1111-4c7e-9a60-2d84f1b7c513"
    assert busy.started is not None and busy.started.isoformat() == "2026-05-22T07:19:23+00:00"
    assert (busy.retry_after, busy.request_id) == (30.0, "req-409")


def test_a_stale_etag_is_a_conflict_and_a_quota_refusal_is_not(refusing):
    script, url = refusing
    script.append((412, {"code": "EtagMismatch", "message": "The specified eTag does not match.", "subcode": ""}, {}))
    busy = busy_of(_put(url))
    assert busy is not None and (busy.code, busy.operation_id, busy.retry_after) == ("EtagMismatch", None, None)
    script.append((409, {"error": {"code": "OperationNotAllowed", "message": QUOTA}}, {}))
    assert busy_of(_put(url)) is None
