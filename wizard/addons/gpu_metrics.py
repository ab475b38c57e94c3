"""DCGM exporter scraping by Azure Monitor managed Prometheus: the ama-metrics add-on reads the optional ConfigMap
kube-system/ama-metrics-settings-configmap (Azure/prometheus-collector otelcollector/configmaps, schema v1); the
default scrape target `dcgmexporter` in `default-scrape-settings-enabled` turns on scraping of the DCGM exporter.

Idempotent: a ConfigMap that already says `dcgmexporter = true` is left alone (no write). A missing one is created
with the documented defaults plus that line (server-side apply, field manager aks-ai-wizard); in an existing one
only that line changes (a merge patch of that one key: every other setting stays as its owner left it).
"""
from __future__ import annotations

import re

NAMESPACE = "kube-system"
NAME = "ama-metrics-settings-configmap"
KEY = "default-scrape-settings-enabled"
TARGET = "dcgmexporter"

DEFAULT_SCRAPE = {
    "kubelet": "true", "coredns": "false", "cadvisor": "true", "kubeproxy": "false", "apiserver": "false",
    "kubestate": "true", "nodeexporter": "true", "windowsexporter": "false", "windowskubeproxy": "false",
    "kappiebasic": "true", "networkobservabilityRetina": "true", "networkobservabilityHubble": "true",
    "networkobservabilityCilium": "true", "prometheuscollectorhealth": "false", "controlplane-apiserver": "true",
    "controlplane-cluster-autoscaler": "false", "controlplane-kube-scheduler": "false",
    "controlplane-kube-controller-manager": "false", "controlplane-etcd": "true",
    "acstor-capacity-provisioner": "true", "acstor-metrics-exporter": "true",
}

_LINE = re.compile(rf"^(\s*){TARGET}\s*=\s*(\S+)\s*$", re.MULTILINE)


def enabled(text: str | None) -> bool:
    m = _LINE.search(text or "")
    return bool(m) and m.group(2).strip('"').lower() == "true"


def with_dcgm(text: str | None) -> str:
    """The settings text with `dcgmexporter = true` (replacing a false, or appended)."""
    text = text or ""
    if _LINE.search(text):
        return _LINE.sub(lambda m: f"{m.group(1)}{TARGET} = true", text, count=1)
    return (text.rstrip("\n") + "\n" if text.strip() else "") + f"{TARGET} = true"


def default_configmap() -> dict:
    scrape = "\n".join(f"{k} = {v}" for k, v in DEFAULT_SCRAPE.items()) + f"\n{TARGET} = true"
    return {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": NAME, "namespace": NAMESPACE},
        "data": {
            "schema-version": "v1",
            "config-version": "ver1",
            "prometheus-collector-settings": 'cluster_alias = ""',
            KEY: scrape,
            "pod-annotation-based-scraping": 'podannotationnamespaceregex = ""',
            "debug-mode": "enabled = false",
        },
    }


def patch_for(existing: dict) -> dict:
    """The one-key merge patch for an existing ConfigMap."""
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": NAME, "namespace": NAMESPACE},
            "data": {KEY: with_dcgm((existing.get("data") or {}).get(KEY))}}
