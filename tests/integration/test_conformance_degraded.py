"""Every way a real cluster falls short, reproduced by the simulator behaving like the broken component
(wizard.sim.kube.degrade), verified with probes: the requirement that names the behaviour never passes, and says
why. Plus the registry of requirement modules kept equal to the checklists 1.34-1.37."""
from __future__ import annotations

import pytest

from tests.support.conformance import (create_via_arm, install_kueue, kube, kubeconfig, wire_managed_prometheus,
                                            cluster_body)
from wizard.conformance import VerifyOptions, VerifyTarget, load_checklist, run_verification
from wizard.conformance.checklist import VERSIONS
from wizard.conformance.requirements import REGISTRY

FAST = dict(probes=True, probe_timeout=3.0, gang_negative_seconds=0.3, poll_interval=0.05,
            scale_up_timeout=3.0, scale_down_timeout=3.0)


def test_registry_equals_the_checklists():
    ids = {r.id for v in VERSIONS for r in load_checklist(v).requirements}
    assert set(REGISTRY) == ids
    c37 = load_checklist("1.37")
    assert c37.get("workload_sandboxing").level == "SHOULD" and "dra_support" not in c37.ids()
    for spec in REGISTRY.values():
        assert spec.check.__module__.endswith(f"requirements.{spec.id}")  # one module per requirement
        if spec.probe is not None:
            assert spec.test.startswith("Test")


def _direct(sim, kid: str, *degrade: str, **body):
    """A cluster seeded from its ARM view (no Azure Monitor workspace), degraded."""
    arm = cluster_body(**body)
    sim.kube.sync_cluster(kid, arm, [])
    if degrade:
        sim.kube.degrade(kid, *degrade)
    kc = kubeconfig(f"{sim.base_url}/k8s/{kid}")
    install_kueue(kube(kc))
    return kc, arm


def verify(kc, arm, **opts):
    return run_verification(VerifyTarget(kubeconfig=kc, cluster=arm), VerifyOptions(**{**FAST, **opts}))


def test_no_gpus(sim):
    kc, arm = _direct(sim, "d-nogpu", "no-gpus")
    report = verify(kc, arm, only=("pod_autoscaling", "secure_accelerator_access", "accelerator_metrics"))
    pa = report.result("pod_autoscaling")
    assert pa.status == "fail" and "no node advertises nvidia.com/gpu" in pa.summary
    assert report.result("secure_accelerator_access").status == "fail"
    acc = report.result("accelerator_metrics")
    assert acc.status == "fail" and "no per-GPU utilisation metric" in acc.summary


def test_runtime_leaking_gpus(sim):
    kc, arm = _direct(sim, "d-leak", "gpu-leak")
    r = verify(kc, arm, only=("secure_accelerator_access",)).result("secure_accelerator_access")
    assert r.status == "fail" and "NVIDIA_VISIBLE_DEVICES=all sees 1 GPU device(s) (expected 0)" in r.summary
    assert "accept-nvidia-visible-devices-envvar-when-unprivileged" in r.fix
    subs = {s.name: s.status for s in r.subchecks}
    assert subs == {"PositiveAccessTest": "pass", "NegativeIsolationTest": "fail",
                    "MultiContainerIsolationTest": "pass"}


def test_autoscaler_cannot_add_nodes(sim):
    kc, arm = _direct(sim, "d-ca", "autoscaler-stuck")
    r = verify(kc, arm, only=("cluster_autoscaling",), billable=("cluster_autoscaling",)).result("cluster_autoscaling")
    assert r.status == "fail" and "did not add a node" in r.summary and "QuotaExceeded" in r.summary
    assert [(s.name, s.status) for s in r.subchecks] == [("ScaleUp", "fail")]


def test_autoscaler_scales_up_and_down(sim):
    kc, arm = _direct(sim, "d-ca-ok")
    k = kube(kc)
    before = {n["metadata"]["name"] for n in k.request("GET", "/api/v1/nodes")["items"]}
    r = verify(kc, arm, only=("cluster_autoscaling",), billable=("cluster_autoscaling",)).result("cluster_autoscaling")
    assert r.status == "pass" and r.proof == "probe", r.summary
    assert any("TriggeredScaleUp" in e for e in r.evidence)
    assert [(s.name, s.status) for s in r.subchecks] == [("ScaleUp", "pass"), ("ScaleDown", "pass")]
    assert {n["metadata"]["name"] for n in k.request("GET", "/api/v1/nodes")["items"]} == before


def test_without_the_billable_probe_cluster_autoscaling_is_partial(sim):
    kc, arm = _direct(sim, "d-ca-ro")
    r = verify(kc, arm, only=("cluster_autoscaling",)).result("cluster_autoscaling")
    assert r.status == "partial" and "--billable-probe cluster_autoscaling" in r.fix


def test_operator_never_reconciles(sim):
    kc, arm = _direct(sim, "d-op", "operator-stuck")
    r = verify(kc, arm, only=("robust_controller",)).result("robust_controller")
    assert r.status == "fail" and "did not reconcile a valid Workspace" in r.summary
    subs = {s.name: s.status for s in r.subchecks}
    assert subs["WebhookRejectsInvalidCR"] == "pass" and subs["ControllerReconcilesCR"] == "fail"


def test_dry_run_refusal_is_not_a_denial(sim):
    """A webhook whose sideEffects forbid dry runs answers 400 "does not support dry run": the probe creates the
    invalid resource for real and still sees the webhook's own denial."""
    kc, arm = _direct(sim, "d-dry")
    k = kube(kc)
    path = "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/validation.workspace.kaito.sh"
    cfg = k.request("GET", path)
    cfg["webhooks"][0]["sideEffects"] = "Some"
    k.request("PUT", path, body=cfg)
    r = verify(kc, arm, only=("robust_controller",)).result("robust_controller")
    assert r.status == "pass", r.summary
    assert any("does not support dry run" in e and "creating it for real" in e for e in r.evidence)


def test_dra_only_gpu_nodes_use_resource_claims(sim):
    kc, arm = _direct(sim, "d-dra", "dra-only")
    report = verify(kc, arm, only=("secure_accelerator_access",))
    r = report.result("secure_accelerator_access")
    assert any("allocation mode DRA" in e for e in r.evidence), r.evidence
    assert r.status == "pass" and "ResourceClaim" in r.summary, r.summary


@pytest.mark.parametrize("degrade, status, text", [
    ("monitoring-blind", "inconclusive", "probe could not decide"),
    ("metrics-off", "fail", "azureMonitorProfile.metrics.enabled = false"),
])
def test_monitoring_falls_short(sim, degrade, status, text):
    conn = create_via_arm(sim)
    wire_managed_prometheus(conn, sim)
    kid = sim.arm.world.clusters[sim.arm._ckey("rg-ai", "aks-ai")]["kube_id"]
    sim.kube.degrade(kid, degrade)
    if degrade == "metrics-off":  # Azure turned managed Prometheus off; the collector's pods stayed behind
        body = conn.aks.managed_clusters.get("rg-ai", "aks-ai")
        body.azure_monitor_profile.metrics.enabled = False
        conn.aks.managed_clusters.begin_create_or_update("rg-ai", "aks-ai", body).result()
    from wizard.verify_target import azure_verify_target

    target = azure_verify_target(conn, "rg-ai", "aks-ai")
    r = run_verification(target, VerifyOptions(**FAST, only=("ai_service_metrics",))).result("ai_service_metrics")
    assert r.status == status and text in r.summary, r.summary
    assert r.status != "pass"


def _sandbox_cluster(sim, kid: str, runtime: str = "KataVmIsolation"):
    arm = cluster_body()
    arm["properties"]["agentPoolProfiles"].append({"name": "kata", "mode": "User", "count": 1,
                                                   "vmSize": "Standard_D4ds_v5", "osSKU": "AzureLinux",
                                                   "workloadRuntime": runtime})
    sim.kube.sync_cluster(kid, arm, [])
    return kubeconfig(f"{sim.base_url}/k8s/{kid}"), arm


def test_workload_sandboxing_1_37(sim):
    kc, arm = _sandbox_cluster(sim, "d-kata")
    report = verify(kc, arm, checklist="1.37", only=("workload_sandboxing",))
    r = report.result("workload_sandboxing")
    assert r.status == "pass" and r.level == "SHOULD", r.summary
    assert any("kernel 6.6" in e and "control pod on the same node: kernel 5.15" in e for e in r.evidence)
    assert {s.name: s.status for s in r.subchecks} == {"SchedulingAndExecution": "pass",
                                                       "KernelAndMemoryIsolation": "pass"}
    # a RuntimeClass whose handler gives no kernel boundary (runc under a sandbox-looking name) fails the probe
    k = kube(kc)
    k.request("POST", "/apis/node.k8s.io/v1/runtimeclasses", body={
        "apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass", "metadata": {"name": "sandboxed-runc"},
        "handler": "runc"})
    k.request("DELETE", "/apis/node.k8s.io/v1/runtimeclasses/kata-vm-isolation")
    r = verify(kc, arm, checklist="1.37", only=("workload_sandboxing",)).result("workload_sandboxing")
    assert r.status == "fail" and "sees the node's own kernel" in r.summary


def test_no_sandbox_runtime_is_not_implemented_for_1_37(sim):
    kc, arm = _direct(sim, "d-nokata")
    r = verify(kc, arm, probes=False, checklist="1.37", only=("workload_sandboxing",)).result("workload_sandboxing")
    assert r.status == "fail" and "--workload-runtime KataVmIsolation" in r.fix
