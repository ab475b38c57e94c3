"""DCGM exporter scraping by Azure Monitor managed Prometheus: the ama-metrics add-on reads the optional ConfigMap
kube-system/ama-metrics-settings-configmap (Azure/prometheus-collector otelcollector/configmaps). Its default scrape
target `dcgmexporter` scrapes the DCGM exporter AKS runs on managed GPU nodes (label
kubernetes.azure.com/dcgm-exporter=enabled). The collector's own default for it is true; the step writes it
explicitly so a ConfigMap that turned it off, or a collector that defaults otherwise, still scrapes.

Both schema versions of the ConfigMap are read and written: v1 has the section `default-scrape-settings-enabled`
as a data key of its own; v2 nests `default-targets-scrape-enabled: |-` inside the `cluster-metrics` data key.

Idempotent: a ConfigMap that already says `dcgmexporter = true` is left alone (no write). A missing one is created
with schema v1 and that one line (every other target keeps the collector's default); in an existing one only that
line changes (a merge patch of the one data key that holds it: every other setting stays as its owner left it).
"""
from __future__ import annotations

from typing import Any

import re

NAMESPACE = "kube-system"
NAME = "ama-metrics-settings-configmap"
TARGET = "dcgmexporter"
PATH = f"/api/v1/namespaces/{NAMESPACE}/configmaps/{NAME}"
V1_KEY = "default-scrape-settings-enabled"  # a data key of its own (schema v1)
V2_KEY, V2_SECTION = "cluster-metrics", "default-targets-scrape-enabled"  # a section inside a data key (v2)

_LINE = re.compile(rf"^([ \t]*){TARGET}[ \t]*=[ \t]*(\S+)[ \t]*$", re.MULTILINE)
_V2_HEADER = re.compile(rf"^([ \t]*){V2_SECTION}[ \t]*:[ \t]*\|-?[ \t]*$", re.MULTILINE)


def _schema(data: dict[str, str]) -> str:
    return "v2" if str(data.get("schema-version", "")).strip() == "v2" else "v1"


def _v2_block(text: str) -> tuple[int, int, str] | None:
    """(start, end, indent) of the lines of the v2 scrape section inside the cluster-metrics text."""
    header = _V2_HEADER.search(text)
    if header is None:
        return None
    start = header.end() + 1
    end, indent = start, ""
    for line in text[start:].splitlines(keepends=True):
        lead = line[: len(line) - len(line.lstrip())]
        if line.strip() and len(lead) <= len(header.group(1)):
            break
        indent = indent or (lead if line.strip() else "")
        end += len(line)
    return start, end, indent or header.group(1) + "  "


def _section(data: dict[str, str]) -> str:
    """The text of the scrape-enabled section, whichever schema the ConfigMap uses."""
    if _schema(data) == "v1":
        return data.get(V1_KEY) or ""
    text = data.get(V2_KEY) or ""
    block = _v2_block(text)
    return text[block[0]:block[1]] if block else ""


def setting(configmap: dict[str, Any] | None) -> bool | None:
    """What the ConfigMap says of the DCGM exporter target: True, False, or None (not said: the collector's
    default, which is true)."""
    m = _LINE.search(_section((configmap or {}).get("data") or {}))
    return None if m is None else m.group(2).strip('"').lower() == "true"


def _with_line(text: str, indent: str = "") -> str:
    """The section text with `dcgmexporter = true` (replacing the line that is there, or appended)."""
    if _LINE.search(text):
        return _LINE.sub(lambda m: f"{m.group(1)}{TARGET} = true", text, count=1)
    return (text.rstrip("\n") + "\n" if text.strip() else "") + f"{indent}{TARGET} = true"


def default_configmap() -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": NAME, "namespace": NAMESPACE},
            "data": {"schema-version": "v1", "config-version": "ver1", V1_KEY: f"{TARGET} = true"}}


def patch_for(existing: dict[str, Any]) -> dict[str, Any]:
    """The merge patch of the one data key that holds the setting."""
    data = existing.get("data") or {}
    if _schema(data) == "v1":
        changed = {V1_KEY: _with_line(data.get(V1_KEY) or "")}
    else:
        text = data.get(V2_KEY) or ""
        block = _v2_block(text)
        if block is None:
            text = (text.rstrip("\n") + "\n" if text.strip() else "") + f"{V2_SECTION}: |-\n  {TARGET} = true"
        else:
            start, end, indent = block
            body = text[start:end].rstrip("\n")
            text = text[:start] + _with_line(body, indent) + text[start + len(body):]
        changed = {V2_KEY: text}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": NAME, "namespace": NAMESPACE},
            "data": changed}
