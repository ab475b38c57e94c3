"""Quota arithmetic (surge, peak, most nodes that fit, lines per family and regional), the checklist
rendering, and the 403-on-register translation (through the real FeatureClient against a loopback server)."""
from __future__ import annotations

import json

import pytest

from tests.support.preflight import Loopback
from wizard.azure.compute import Usage
from wizard.preflight.quota import PoolDemand, QuotaLine, most_nodes, peak_vcpus, surge_nodes
from wizard.preflight.report import CheckResult, PreflightReport


@pytest.mark.parametrize("nodes,surge", [(0, 0), (1, 1), (3, 1), (10, 1), (11, 2), (20, 2), (21, 3), (100, 10),
                                         (101, 11)])
def test_surge_is_ten_percent_rounded_up_at_least_one(nodes, surge):
    assert surge_nodes(nodes) == surge


def test_peak_and_most_nodes():
    assert peak_vcpus(3, 6) == 24
    assert peak_vcpus(11, 4) == 52
    assert most_nodes(24, 6) == 3
    assert most_nodes(23, 6) == 2
    assert most_nodes(11, 6) == 0  # one node needs a surge node too
    assert most_nodes(0, 6) == 0
    assert most_nodes(52, 4) == 11 and most_nodes(51, 4) == 10
    assert most_nodes(10**6, 1) == 1000


def test_quota_line_arithmetic_and_room():
    sys_pool = PoolDemand("system pool system", "cluster.system_pool.count", "Standard_D4ds_v5",
                          "standardDDSv5Family", 4, 2, "count")
    gpu = PoolDemand("GPU pool gpunp", "gpu_pool.autoscale.max", "Standard_NC6s_v3", "standardNCSv3Family", 6, 3,
                     "autoscale max", existing_nodes=1)
    assert sys_pool.peak == 12 and sys_pool.needed == 12
    assert gpu.peak == 24 and gpu.needed == 18
    regional = QuotaLine("cores", "Total Regional vCPUs", [sys_pool, gpu], in_use=80, limit=100)
    assert regional.needed == 30 and regional.remaining == 20 and regional.fits is False
    assert regional.new_limit == 110
    text = regional.arithmetic()
    assert "Needed 12 + 18 = 30" in text and "in use 80 of limit 100, 20 left: short by 10" in text
    assert "1 running x 6 already in use = 18" in text
    # room for the GPU pool: 20 left - 12 for the system pool + its own 6 already running
    assert regional.room_for(gpu) == 14 and most_nodes(14, 6) == 1
    unknown = QuotaLine("standardXFamily", "x", [gpu])
    assert unknown.fits is None and "no quota" in unknown.arithmetic()
    assert json.dumps(regional.to_dict())


def test_usage_remaining_never_negative():
    assert Usage("cores", "Total Regional vCPUs", 120, 100).remaining == 0


def test_report_text_lists_fix_under_failing_items_only():
    r = PreflightReport(location="eastus2", items=[
        CheckResult("a", "first", "pass", "fine", "unused fix"),
        CheckResult("b", "second", "fail", "broken: 30 > 24", "lower gpu_pool.autoscale.max to 3", "gpu_pool.autoscale.max"),
        CheckResult("c", "third", "warn", "maybe", "do this"),
        CheckResult("d", "fourth", "skip", "n/a"),
    ])
    assert not r.ok and [i.id for i in r.failures] == ["b"]
    text = r.text()
    assert "[FAIL] second" in text and "fix: lower gpu_pool.autoscale.max to 3" in text
    assert "unused fix" not in text and "fix: do this" in text
    assert "1 passed, 1 failed, 1 warning, 1 skipped" in text
    d = r.to_dict()
    assert d["ok"] is False and d["counts"]["fail"] == 1 and d["items"][1]["field"] == "gpu_pool.autoscale.max"


# ------------------------------------------------------------------------------------------ 403 on register
FORBIDDEN = {"error": {"code": "AuthorizationFailed", "message": (
    "The client 'dev@contoso.com' with object id '0000-1111' does not have authorization to perform action "
    "'Microsoft.Features/providers/features/register/action' over scope '/subscriptions/3f2c8a9e-5b1d-4c7e-9a60-"
    "2d84f1b7c513/providers/Microsoft.Features/providers/Microsoft.ContainerService/features/ManagedGatewayAPIPreview'"
    " or the scope is invalid. If access was recently granted, please refresh your credentials.")}}


def _forbidding_arm():
    from http.server import BaseHTTPRequestHandler

    class H(BaseHTTPRequestHandler):
        def _deny(self) -> None:
            body = json.dumps(FORBIDDEN).encode()
            self.send_response(403)
            self.send_header("Content-Type", "application/json")
            self.send_header("x-ms-request-id", "req-403")
            self.send_header("x-ms-failure-cause", "gateway")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_POST = do_GET = _deny

        def log_message(self, *a):
            pass

    return H


def test_register_403_says_your_role_cannot_and_gives_the_command():
    import threading
    from http.server import ThreadingHTTPServer

    from azure.core.exceptions import HttpResponseError

    from wizard.azure.clouds import resolve_cloud
    from wizard.azure.connection import ArmConnection
    from wizard.azure.features import register_feature
    from wizard.preflight import register_failure

    class Cred:
        def get_token(self, *scopes, **kw):
            from azure.core.credentials import AccessToken
            return AccessToken("t", 2**31)

    server = ThreadingHTTPServer(("127.0.0.1", 0), _forbidding_arm())
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        conn = ArmConnection(Cred(), "3f2c8a9e-5b1d-4c7e-9a60-2d84f1b7c513", resolve_cloud("AzureCloud"),
                             base_url=f"http://127.0.0.1:{server.server_port}", allow_http=True, retry_total=0)
        flag = "Microsoft.ContainerService/ManagedGatewayAPIPreview"
        with pytest.raises(HttpResponseError) as info:
            register_feature(conn, flag)
        failure = register_failure(info.value, flag)
        assert failure.category == "permissions"
        assert "Your role can't register preview features" in failure.what
        assert "Ask someone with Contributor on the subscription to run" in failure.action
        assert "az feature register --namespace Microsoft.ContainerService --name ManagedGatewayAPIPreview" in failure.action
        assert "az provider register --namespace Microsoft.ContainerService" in failure.action
        assert failure.request_id == "req-403" and failure.fix_field == "features"
        conn.close()
    finally:
        server.shutdown()
        server.server_close()


def test_register_failure_other_errors_go_through_translate():
    from azure.core.exceptions import ResourceNotFoundError

    from wizard.preflight import provider_register_failure, register_failure

    exc = ResourceNotFoundError("The feature 'StartStopPreview' could not be found.")
    f = register_failure(exc, "Microsoft.ContainerService/StartStopPreview")
    assert f.category != "permissions"

    from azure.core.exceptions import HttpResponseError

    denied = HttpResponseError("forbidden")
    denied.status_code = 403
    p = provider_register_failure(denied)
    assert p.category == "permissions" and "az provider register --namespace Microsoft.ContainerService" in p.action


def test_loopback_helper_serves():
    with Loopback(lambda path, q: (200, {"Content-Type": "text/plain"}, b"ok")) as lb:
        import urllib.request

        assert urllib.request.urlopen(lb.url + "/x").read() == b"ok"
