"""Shared helpers (no tests here) of the preflight and GPU sizing tests: an ArmConnection to the simulator, answers builders,
and a loopback HTTP server around a handler (the simulator's price table, or one that stalls)."""
from __future__ import annotations

import copy
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

BASE_ANSWERS: dict[str, Any] = {
    "azure": {"subscription": "Simulated Subscription", "location": "eastus2"},
    "resource_group": {"name": "rg-pre"},
    "cluster": {"name": "aks-pre"},
    "gpu_pool": {"vm_size": "Standard_NC4as_T4_v3", "count": 1, "autoscale": {"min": 1, "max": 3}},
}


def make_answers(**overrides: Any) -> Any:
    """answers_from_dict of BASE_ANSWERS with overrides given as a__b__c=value (None deletes the key)."""
    from wizard.answers import answers_from_dict

    data = copy.deepcopy(BASE_ANSWERS)
    for path, value in overrides.items():
        node = data
        keys = path.split("__")
        for k in keys[:-1]:
            node = node.setdefault(k, {})
        if value is None and keys[-1] != "gpu_pool":
            node.pop(keys[-1], None)
        else:
            node[keys[-1]] = value
    return answers_from_dict(data)


def sim_conn(sim: Any) -> Any:
    from wizard.azure.clouds import resolve_cloud
    from wizard.azure.connection import ArmConnection

    return ArmConnection(sim.credential, sim.subscription_id, resolve_cloud("AzureCloud"), base_url=sim.base_url,
                         allow_http=True, polling_interval=0)


def plan_for(conn: Any, answers: Any, allow_update: bool = False) -> Any:
    from wizard.plan import build_plan, observe

    obs = observe(conn, answers, (conn.subscription_id, "Simulated Subscription"))
    return build_plan(answers, obs, allow_update=allow_update)


def preflight(conn: Any, answers: Any, allow_update: bool = False, **kw: Any) -> tuple[Any, Any]:
    from wizard.preflight import run_preflight

    plan = plan_for(conn, answers, allow_update)
    return run_preflight(conn, answers, plan, **kw), plan


def create_cluster(conn: Any, answers: Any) -> None:
    """Create what the answers describe in the simulator, through the real SDK (one cluster PUT)."""
    plan = plan_for(conn, answers)
    assert plan.ok, plan.problems
    conn.resources.resource_groups.create_or_update(answers.resource_group.name,
                                                    {"location": answers.azure.location})
    body = plan.step("cluster").payload.body
    conn.aks.managed_clusters.begin_create_or_update(answers.resource_group.name, answers.cluster.name,
                                                     body).result()


class Loopback:
    """ThreadingHTTPServer on 127.0.0.1 answering GETs with handler(path, query) -> (status, headers, body)."""

    def __init__(self, handler: Callable[[str, dict[str, list[str]]], tuple[int, dict[str, str], bytes]],
                 delay: float = 0.0) -> None:
        outer = self
        self.hits: list[str] = []

        class H(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                outer.hits.append(self.path)
                if delay:
                    time.sleep(delay)
                u = urlsplit(self.path)
                status, headers, body = handler(u.path, parse_qs(u.query))
                try:
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the client gave up (timeout)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def __enter__(self) -> "Loopback":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
