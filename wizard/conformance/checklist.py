"""The CNCF Kubernetes AI Conformance checklists (cncf/k8s-ai-conformance docs/AIConformance-<v>.yaml), shipped as
package data, verbatim. v1.34 is the default; 1.35 and 1.36 add SHOULD items (1.36 drops dra_support), 1.37 adds
workload_sandboxing."""
from __future__ import annotations

from typing import Any

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import yaml

VERSIONS = ("1.34", "1.35", "1.36", "1.37")
DEFAULT_VERSION = "1.34"


@dataclass(frozen=True)
class Requirement:
    id: str
    level: str  # MUST | SHOULD
    category: str  # accelerators, networking, schedulingOrchestration, observability, security, operator
    description: str


@dataclass(frozen=True)
class Checklist:
    version: str
    text: str  # the YAML as published
    metadata: dict[str, Any]
    requirements: tuple[Requirement, ...]

    def ids(self) -> list[str]:
        return [r.id for r in self.requirements]

    def get(self, rid: str) -> Requirement | None:
        return next((r for r in self.requirements if r.id == rid), None)


def normalize_version(version: str | None) -> str:
    v = (version or DEFAULT_VERSION).strip().lstrip("v")
    v = ".".join(v.split(".")[:2])
    if v not in VERSIONS:
        raise ValueError(f"unknown checklist version {version!r}; choose one of {', '.join(VERSIONS)}")
    return v


@lru_cache(maxsize=None)
def load_checklist(version: str | None = None) -> Checklist:
    v = normalize_version(version)
    text = resources.files("wizard.conformance").joinpath("checklists", f"AIConformance-{v}.yaml").read_text("utf-8")
    doc = yaml.safe_load(text)
    reqs = []
    for category, items in (doc.get("spec") or {}).items():
        for item in items or []:
            reqs.append(Requirement(item["id"], item.get("level", "MUST"), category,
                                    " ".join(str(item.get("description", "")).split())))
    return Checklist(v, text, dict(doc.get("metadata") or {}), tuple(reqs))
