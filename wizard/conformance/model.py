"""Inputs and results of a verification: VerifyTarget, VerifyOptions, RequirementResult, Report."""
from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

STATUSES = ("pass", "partial", "fail", "inconclusive", "skipped")
# inconclusive: a probe or a read could not decide (timeout, unreadable result, API error); never reported as
# Not Implemented. In PRODUCT.yaml it is Partially Implemented when presence was read, else N/A (with the reason).
CHECKLIST_STATUS = {"pass": "Implemented", "partial": "Partially Implemented", "fail": "Not Implemented",
                    "inconclusive": "Partially Implemented", "skipped": "N/A"}


@dataclass
class SubCheck:
    """One sub-check of a requirement, named as the official suite's subtest where there is one
    (e.g. PositiveAccessTest): status pass | fail | skip."""
    name: str
    status: str
    message: str = ""


@dataclass
class VerifyTarget:
    """What to verify. kubeconfig: the cluster's kubeconfig (bytes of YAML); cluster/pools: the ARM JSON of the
    managed cluster and its agent pools (camelCase, as GET returns them); cluster None -> the Azure view is N/A."""
    kubeconfig: bytes | None
    context: str | None = None
    cluster: dict[str, Any] | None = None
    pools: list[dict[str, Any]] = field(default_factory=list)
    # PromQL instant query -> Prometheus HTTP API JSON, against the cluster's Azure Monitor workspace (managed
    # Prometheus); None: the collected value cannot be read back (ai_service_metrics stays Partially Implemented)
    prometheus: Callable[[str], dict[str, Any]] | None = None
    prometheus_endpoint: str = ""


@dataclass
class VerifyOptions:
    probes: bool = False
    checklist: str = "1.34"
    timeout: float = 10.0  # seconds per Kubernetes API request
    probe_timeout: float = 120.0  # upper bound of each probe wait
    billable: tuple[str, ...] = ()  # billable probes asked for by requirement id (e.g. cluster_autoscaling)
    scale_up_timeout: float = 1200.0  # cluster autoscaling probe: a node added (AKS: typically 3-10 minutes)
    scale_down_timeout: float = 1800.0  # ... and removed again (scale-down-unneeded-time is 10 minutes)
    only: tuple[str, ...] = ()  # verify only these requirement ids (a retry)
    simulated: bool = False  # the cluster is the embedded simulator's: every report file says so
    gang_negative_seconds: float = 30.0  # how long a too-big gang must stay without pods
    poll_interval: float = 1.0  # probe polling period
    concurrency: int = 12
    metadata: dict[str, Any] = field(default_factory=dict[str, Any])  # PRODUCT.yaml metadata overrides (e.g. contactEmailAddress)
    resource_group: str | None = None  # for the az commands in fixes (default: from the cluster's ARM id)
    cluster_name: str | None = None


@dataclass
class RequirementResult:
    id: str
    level: str
    category: str
    description: str
    status: str  # pass | partial | fail | skipped
    checklist_status: str  # Implemented | Partially Implemented | Not Implemented | N/A
    summary: str
    evidence: list[str] = field(default_factory=list)
    fix: str | None = None
    notes: str = ""
    proof: str = ""  # read-only | azure | probe | "" : what established the status
    duration: float = 0.0
    test: str = ""  # the official suite's test name (junit testcase), e.g. TestSecureAcceleratorAccess
    subchecks: list[SubCheck] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Report:
    results: list[RequirementResult]
    checklist_version: str
    metadata: dict[str, Any] = field(default_factory=dict[str, Any])
    started: dt.datetime | None = None
    finished: dt.datetime | None = None
    probes: bool = False

    @property
    def must_ok(self) -> bool:
        return all(r.status == "pass" for r in self.results if r.level == "MUST")

    @property
    def undecided(self) -> list[str]:
        """MUST requirements a probe or a read could not decide (to retry)."""
        return [r.id for r in self.results if r.level == "MUST" and r.status == "inconclusive"]

    def result(self, rid: str) -> RequirementResult | None:
        return next((r for r in self.results if r.id == rid), None)

    def counts(self) -> dict[str, int]:
        out = {s: 0 for s in STATUSES}
        for r in self.results:
            out[r.status] = out.get(r.status, 0) + 1
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "checklist_version": self.checklist_version,
            "metadata": dict(self.metadata),
            "started": self.started.isoformat() if self.started else None,
            "finished": self.finished.isoformat() if self.finished else None,
            "probes": self.probes,
            "must_ok": self.must_ok,
            "counts": self.counts(),
            "results": [r.to_dict() for r in self.results],
        }

    def to_markdown(self) -> str:
        from .report import to_markdown
        return to_markdown(self)

    def to_product_yaml(self, overrides: dict[str, Any] | None = None) -> str:
        from .report import to_product_yaml
        return to_product_yaml(self, overrides)

    def validate(self, strict: bool = False, base_dir: Path | None = None) -> list[str]:
        """The cncf/k8s-ai-conformance validator's rules applied to to_product_yaml() (see report.validate_product)."""
        from .report import validate_product
        return validate_product(self.to_product_yaml(), self.checklist_version, base_dir=base_dir, strict=strict)

    def write(self, directory: str | Path) -> list[Path]:
        from .report import write_report
        return write_report(self, Path(directory))
