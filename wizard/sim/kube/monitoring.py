"""Azure Managed Prometheus's collector (ama-metrics), simulated: what it sends to the cluster's Azure Monitor
workspace. While Azure has metrics enabled for the cluster, the ama-metrics Deployment has a ready pod and the
cluster is not degraded monitoring-blind, every PodMonitor / ServiceMonitor of azmonitoring.coreos.com/v1 is
discovered (namespaceSelector, selector, the named port and path) and its targets scraped; samples get the labels
the collector adds (namespace, pod, container, job, instance). Scrapes happen when the workspace is queried (the
simulated world has no clock between requests; a real collector scrapes every interval and ingestion lags a few
minutes). Prometheus Operator CRs (monitoring.coreos.com) are ignored, as the add-on ignores them."""
from __future__ import annotations

from . import names as N
from .patch import selector_matches
from .store import Cluster

GROUP = "azmonitoring.coreos.com"


def _metrics_enabled(c: Cluster) -> bool:
    cluster = (c.arm or {}).get("cluster") or {}
    props = cluster.get("properties", cluster) if isinstance(cluster, dict) else {}
    return bool(((props.get("azureMonitorProfile") or {}).get("metrics") or {}).get("enabled"))


def _collector_running(c: Cluster) -> bool:
    from .controllers import deployment_running
    return deployment_running(c, N.KUBE_SYSTEM, "ama-metrics")


def _port(pod: dict, name: str) -> str:
    for ctr in pod["spec"].get("containers") or []:
        for p in ctr.get("ports") or []:
            if p.get("name") == name or str(p.get("containerPort")) == str(name):
                return str(p["containerPort"])
    return ""


def _parse(text: str) -> list[tuple[str, dict, float]]:
    from prometheus_client.parser import text_string_to_metric_families

    out = []
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out.append((s.name, dict(s.labels), float(s.value)))
    return out


def _namespaces(c: Cluster, monitor: dict) -> list[str]:
    sel = (monitor.get("spec") or {}).get("namespaceSelector") or {}
    if sel.get("any"):
        return sorted({n["metadata"]["name"] for n in c.list("", "namespaces")})
    return list(sel.get("matchNames") or [monitor["metadata"]["namespace"]])


def collect(c: Cluster) -> list[dict]:
    """One scrape of every discovered target: [{"metric", "labels", "value"}]."""
    if not _metrics_enabled(c) or not _collector_running(c) or "monitoring-blind" in c.degraded:
        return []
    samples: list[dict] = []
    for kind, plural in (("PodMonitor", "podmonitors"), ("ServiceMonitor", "servicemonitors")):
        if c.resource(GROUP, "v1", plural) is None:
            continue
        for mon in c.list(GROUP, plural):
            spec = mon.get("spec") or {}
            endpoints = spec.get("podMetricsEndpoints" if kind == "PodMonitor" else "endpoints") or []
            for ns in _namespaces(c, mon):
                for pod in _targets(c, kind, spec, ns):
                    samples += _scrape(c, kind, mon, ns, pod, endpoints)
    return samples


def _targets(c: Cluster, kind: str, spec: dict, ns: str) -> list[dict]:
    """The ready pods a monitor selects in a namespace: by their labels (PodMonitor) or behind the services it
    selects (ServiceMonitor)."""
    from .controllers import pod_ready

    if kind == "PodMonitor":
        return [p for p in c.list("", "pods", ns) if pod_ready(p)
                and selector_matches(spec.get("selector") or {}, p["metadata"].get("labels") or {})]
    svcs = [s for s in c.list("", "services", ns)
            if selector_matches(spec.get("selector") or {}, s["metadata"].get("labels") or {})]
    return [p for s in svcs for p in c.list("", "pods", ns) if pod_ready(p) and (s.get("spec") or {})
            .get("selector") and selector_matches({"matchLabels": s["spec"]["selector"]},
                                                  p["metadata"].get("labels") or {})]


def _scrape(c: Cluster, kind: str, mon: dict, ns: str, pod: dict, endpoints: list[dict]) -> list[dict]:
    from .proxy import fetch_url

    samples = []
    for ep in endpoints:
        port = _port(pod, ep.get("port") or ep.get("targetPort") or "")
        ip = (pod.get("status") or {}).get("podIP")
        if not port or not ip:
            continue
        text = fetch_url(c, f"http://{ip}:{port}{ep.get('path') or '/metrics'}")
        if text is None:
            continue
        base = {"namespace": ns, "pod": pod["metadata"]["name"], "instance": f"{ip}:{port}",
                "job": f"{kind.lower()}/{mon['metadata']['namespace']}/{mon['metadata']['name']}"}
        for name, labels, value in _parse(text):
            samples.append({"metric": name, "labels": {**labels, **base}, "value": value})
    return samples
