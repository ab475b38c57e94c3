"""What the chosen answers let the conformance verification prove, before anything is written: each MUST
requirement of the answers' checklist that these options cannot satisfy, why, and the answer to change. Pure (no
Azure, no cluster): `plan`, its JSON and the review screen show it beside the preflight."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, TYPE_CHECKING

from .checklist import load_checklist
from wizard.gpu_rules import NO_AUTOSCALER, can_autoscale

if TYPE_CHECKING:
    from wizard.answers.model import Answers


@dataclass(frozen=True)
class Gap:
    requirement: str
    reason: str
    change: str  # the answers to change (dotted keys)
    outcome: str = "Not Implemented"  # what verification would report: Not Implemented | Partially Implemented


@dataclass
class Forecast:
    checklist: str
    gaps: list[Gap]

    @property
    def ok(self) -> bool:
        return not self.gaps

    def to_dict(self) -> dict[str, Any]:
        return {"checklist": self.checklist, "ok": self.ok, "gaps": [asdict(g) for g in self.gaps]}

    def text(self) -> str:
        if self.ok:
            return f"Conformance forecast (v{self.checklist}): every MUST requirement can be proven with these answers."
        lines = [f"Conformance forecast (v{self.checklist}): {len(self.gaps)} MUST requirement(s) these answers cannot "
                 "prove:"]
        for g in self.gaps:
            lines.append(f"  ! {g.requirement} ({g.outcome}): {g.reason}")
            lines.append(f"    change: {g.change}")
        return "\n".join(lines)


def forecast(answers: "Answers") -> Forecast:
    c, v = answers.cluster, answers.verify
    must = {r.id for r in load_checklist(v.checklist).requirements if r.level == "MUST"}
    gaps: list[Gap] = []

    def gap(rid: str, reason: str, change: str, outcome: str = "Not Implemented") -> None:
        if rid in must and not any(g.requirement == rid for g in gaps):
            gaps.append(Gap(rid, reason, change, outcome))

    if not c.istio.enabled or not c.gateway_api:
        gap("ai_inference", "no Gateway API implementation: it needs the managed Gateway API with the Istio add-on",
            "cluster.istio.enabled: true, cluster.gateway_api: true")
    pools = answers.all_gpu_pools
    if not pools:
        for rid in ("accelerator_metrics", "secure_accelerator_access", "pod_autoscaling", "cluster_autoscaling"):
            gap(rid, "no GPU node pool: there are no accelerators to expose, isolate or scale",
                "gpu_pool: {vm_size: Standard_NC4as_T4_v3, autoscale: {min: 1, max: 3}}")
    elif not any(can_autoscale(p.managed_gpu, p.autoscale.min, p.autoscale.max) for p in pools if p.autoscale):
        gpu = pools[0]  # none can scale: the first pool's way to
        path = answers.gpu_pool_path(gpu.name)
        if gpu.autoscale is None or gpu.autoscale.min >= gpu.autoscale.max:
            gap("cluster_autoscaling", f"GPU pool {gpu.name} has no autoscaler range (min < max) to scale within",
                f"{path}.autoscale: {{min: 1, max: {max(3, gpu.count + 1)}}}")
        else:
            gap("cluster_autoscaling", NO_AUTOSCALER, f"{path}.managed_gpu: false (the wizard installs the device plugin "
                                                  "and DCGM exporter)")
    if not answers.kueue.install:
        gap("gang_scheduling", "no gang scheduler (Kueue) is installed", "kueue.install: true")
    if not c.addons.keda:
        gap("pod_autoscaling", "no external metrics (KEDA) to scale GPU pods on a GPU metric", "cluster.addons.keda: true")
    if not c.addons.kaito:
        gap("robust_controller", "no AI operator with CRDs and webhooks (KAITO)", "cluster.addons.kaito: true")
    if not c.addons.managed_prometheus:
        gap("ai_service_metrics", "no monitoring system to discover and collect workload metrics",
            "cluster.addons.managed_prometheus: true")
    if not v.probes:
        for rid in sorted(must - {"dra_support", "accelerator_metrics"}):
            gap(rid, "read-only verification shows presence only; the behaviour needs probes", "verify.probes: true",
                "Partially Implemented")
    elif "cluster_autoscaling" not in v.billable_probes:
        gap("cluster_autoscaling", "scaling is shown only by the billable probe (a GPU node for 10-30 minutes)",
            "verify.billable_probes: [cluster_autoscaling]", "Partially Implemented")
    return Forecast(v.checklist, gaps)
