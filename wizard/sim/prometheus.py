"""The Prometheus query API of a simulated Azure Monitor workspace (`<endpoint>/api/v1/query`, reached at
`{base_url}/_dataplane/<endpoint host>/...`): Entra token for the Prometheus audience required (401 otherwise, as
the service answers), the workspace found by its prometheusQueryEndpoint, its data = what the managed Prometheus
collectors of the clusters whose data collection rule sends to it collected (kube/monitoring.py).

PromQL: an instant vector selector `name{label="v", label!="v", label=~"re"}` optionally inside sum(...), count(...),
max(...) or min(...); anything else is a 400 bad_data, as an unsupported expression is on the real service."""
from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any, Callable

from .credential import PROMETHEUS_TOKEN

if TYPE_CHECKING:
    from .arm import Arm

_SELECTOR = re.compile(r'^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?:\{([^}]*)\})?\s*$')
_AGG = re.compile(r"^\s*(sum|count|max|min)\s*\((.*)\)\s*$", re.S)
_MATCHER = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*,?')


def _error(code: int, etype: str, message: str) -> tuple[int, dict]:
    return code, {"status": "error", "errorType": etype, "error": message}


def _matchers(text: str) -> list[tuple[str, str, str]]:
    out, pos = [], 0
    text = text or ""
    while pos < len(text.strip()):
        m = _MATCHER.match(text, pos)
        if m is None:
            raise ValueError(f"parse error: unexpected character in label matchers: {text[pos:pos + 10]!r}")
        out.append((m.group(1), m.group(2), m.group(3)))
        pos = m.end()
    return out


def _select(samples: list[dict], expr: str) -> list[dict]:
    m = _SELECTOR.match(expr)
    if m is None:
        raise ValueError(f"parse error: unsupported expression {expr!r}")
    name, matchers = m.group(1), _matchers(m.group(2) or "")
    out = []
    for s in samples:
        if s["metric"] != name:
            continue
        ok = True
        for k, op, v in matchers:
            actual = s["labels"].get(k, "")
            ok = ok and (actual == v if op == "=" else actual != v if op == "!=" else re.fullmatch(v, actual) is not None)
        if ok:
            out.append(s)
    return out


def evaluate(samples: list[dict], promql: str) -> list[dict]:
    agg = _AGG.match(promql)
    if agg:
        chosen = _select(samples, agg.group(2))
        if not chosen:
            return []
        values = [s["value"] for s in chosen]
        how: dict[str, Callable[[list[Any]], Any]] = {"sum": sum, "count": len, "max": max, "min": min}
        v = how[agg.group(1)](values)
        return [{"metric": {}, "value": [time.time(), repr(float(v)) if agg.group(1) != "count" else str(v)]}]
    return [{"metric": {"__name__": s["metric"], **s["labels"]}, "value": [time.time(), repr(float(s["value"]))]}
            for s in _select(samples, promql)]


def _workspace(arm: "Arm", host: str) -> dict | None:
    for rec in arm.world.monitor.values():
        body = rec.get("body") or {}
        endpoint = ((body.get("properties") or {}).get("metrics") or {}).get("prometheusQueryEndpoint") or ""
        if body.get("type") == "Microsoft.Monitor/accounts" and endpoint.lower().endswith("//" + host.lower()):
            return body
    return None


def _clusters_sending_to(arm: "Arm", workspace_id: str) -> list[dict]:
    monitor = arm.world.monitor
    out = []
    for rec in monitor.values():
        if not rec.get("cluster"):
            continue
        rule = monitor.get(str((rec["body"].get("properties") or {}).get("dataCollectionRuleId") or "").lower())
        accounts = (((rule or {}).get("body") or {}).get("properties") or {}).get("destinations", {}).get(
            "monitoringAccounts") or []
        cluster = arm.world.clusters.get(rec["cluster"])
        if cluster and any(str(a.get("accountResourceId", "")).lower() == workspace_id.lower() for a in accounts):
            out.append(cluster)
    return out


def handle(arm: "Arm", kube: Any, host: str, path: str, query: dict[str, list[str]],
           headers: dict[str, str]) -> tuple[int, dict]:
    auth = {k.lower(): v for k, v in headers.items()}.get("authorization", "")
    if auth.strip() != f"Bearer {PROMETHEUS_TOKEN}":
        return 401, {"error": {"code": "InvalidAuthenticationTokenAudience",
                               "message": "The access token has an invalid audience: request a token for "
                                          "https://prometheus.monitor.azure.com"}}
    ws = _workspace(arm, host)
    if ws is None:
        return 404, {"error": {"code": "NotFound", "message": f"no Azure Monitor workspace answers at {host}"}}
    if path.rstrip("/") != "/api/v1/query":
        return _error(404, "not_found", f"unknown path {path}")
    promql = (query.get("query") or [""])[0]
    samples: list[dict] = []
    for cluster in _clusters_sending_to(arm, ws["id"]):
        kube_id = cluster.get("kube_id")
        if kube is not None and kube_id and kube_id in kube.cluster_ids():
            samples += kube.collect(kube_id)
    try:
        result = evaluate(samples, promql)
    except ValueError as exc:
        return _error(400, "bad_data", str(exc))
    return 200, {"status": "success", "data": {"resultType": "vector", "result": result}}
