"""The plan's conformance forecast: which MUST requirements the answers cannot satisfy, why, what to change."""
from __future__ import annotations

from pathlib import Path

import pytest

from wizard.answers.loader import load_answers, parse_answers
from wizard.conformance.forecast import forecast

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "answers.yaml"


def test_the_example_can_prove_every_must_requirement():
    f = forecast(load_answers(EXAMPLE))
    assert f.ok and f.gaps == [] and "every MUST requirement can be proven" in f.text()


HEAD = "azure: {subscription: s, location: eastus2}\nresource_group: {name: rg}\ncluster:\n  name: c\n"
VERIFY = "verify: {probes: true, billable_probes: [cluster_autoscaling]}\n"


def _text(cluster: str, gpu: str, rest: str, verify: str = VERIFY) -> str:
    return HEAD + "\n".join(x for x in (cluster, gpu, rest) if x) + "\n" + verify
GPU = "gpu_pool: {vm_size: Standard_NC6s_v3, count: 1, autoscale: {min: 1, max: 3}}"


def _gaps(cluster: str = "", gpu: str = GPU, rest: str = "") -> dict[str, str]:
    f = forecast(parse_answers(_text(cluster, gpu, rest)))
    return {g.requirement: g.change for g in f.gaps}


@pytest.mark.parametrize("cluster, gpu, rest, expect", [
    ("  istio: {enabled: false}\n  gateway_api: false", GPU, "", {"ai_inference": "cluster.istio.enabled: true"}),
    ("", "", "", {"accelerator_metrics": "gpu_pool:", "secure_accelerator_access": "gpu_pool:",
                  "pod_autoscaling": "gpu_pool:", "cluster_autoscaling": "gpu_pool:"}),
    ("", "gpu_pool: {vm_size: Standard_NC6s_v3, count: 1}", "", {"cluster_autoscaling": "gpu_pool.autoscale"}),
    ("", GPU, "kueue: {install: false}", {"gang_scheduling": "kueue.install: true"}),
    ("  addons: {keda: false, kaito: false, managed_prometheus: false}", GPU, "",
     {"pod_autoscaling": "cluster.addons.keda: true", "robust_controller": "cluster.addons.kaito: true",
      "ai_service_metrics": "cluster.addons.managed_prometheus: true"}),
])
def test_each_option_off_names_the_requirement_and_the_answer(cluster, gpu, rest, expect):
    gaps = _gaps(cluster, gpu, rest)
    assert set(gaps) == set(expect), gaps
    for rid, change in expect.items():
        assert change in gaps[rid]


def test_read_only_verification_is_partial_and_the_checklist_decides_what_is_must():
    f = forecast(parse_answers(_text("", GPU, "", 'verify: {probes: false, checklist: "1.37"}\n')))
    assert {g.outcome for g in f.gaps} == {"Partially Implemented"}
    ids = {g.requirement for g in f.gaps}
    assert "dra_support" not in ids and "workload_sandboxing" not in ids and "gang_scheduling" in ids
    assert "verify.probes: true" in f.text()
