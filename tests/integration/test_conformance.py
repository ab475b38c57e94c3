"""The conformance verifier through the real kubernetes client against the simulated Kubernetes API: a passing
and a failing case for every requirement, probes, reports checked against the checklist rules, 401/403/
unreachable as results."""
from __future__ import annotations

import json
import time

import pytest
import yaml

from tests.support.conformance import (Gate, cluster_body, create_via_arm, install_kueue, kube, kubeconfig,
                                            status_doc, wire_managed_prometheus)
from wizard.conformance import (VerifyOptions, VerifyTarget, load_checklist, run_verification, validate_product)
from wizard.conformance.probes import PROBE_LABEL

MUST = ["dra_support", "ai_inference", "gang_scheduling", "cluster_autoscaling", "pod_autoscaling",
        "accelerator_metrics", "ai_service_metrics", "secure_accelerator_access", "robust_controller"]
FAST_PROBES = dict(probes=True, probe_timeout=8.0, gang_negative_seconds=0.5, poll_interval=0.05)


@pytest.fixture
def make_cluster(sim):
    """make_cluster(**cluster_body options) -> (kubeconfig bytes, ARM JSON, kube_id)."""
    n = [0]

    def make(kueue: bool = True, **kw):
        n[0] += 1
        kid = f"c{n[0]}"
        body = cluster_body(**kw)
        sim.kube.sync_cluster(kid, body, [])
        kc = kubeconfig(f"{sim.base_url}/k8s/{kid}")
        if kueue:
            install_kueue(kube(kc))
        return kc, body, kid
    return make


def verify(kc, body=None, **opts):
    return run_verification(VerifyTarget(kubeconfig=kc, cluster=body), VerifyOptions(**opts))


# ------------------------------------------------------------------------------------------------ catalog
def test_catalog_versions():
    c34, c35, c36 = (load_checklist(v) for v in ("1.34", "1.35", "1.36"))
    assert c34.ids() == MUST and all(r.level == "MUST" for r in c34.requirements)
    assert {"driver_runtime_management", "gpu_sharing", "virtualized_accelerator"} <= set(c35.ids())
    assert "dra_support" not in c36.ids() and "disaggregated_inference" in c36.ids()
    assert load_checklist("v1.35").version == "1.35"
    with pytest.raises(ValueError):
        load_checklist("1.33")


# ------------------------------------------------------------------------------------------------ pass
def test_everything_passes_with_probes(sim, tmp_path):
    """Every MUST requirement proven by its behaviour, which the simulator emulates (Kueue admission, KEDA and the
    HPA on DCGM utilisation, the cluster autoscaler, managed Prometheus with its workspace's query endpoint, KAITO's
    controller): no stand-in runs beside it."""
    from wizard.azure.clusters import user_kubeconfig
    from wizard.verify_target import azure_verify_target

    conn = create_via_arm(sim)
    wire_managed_prometheus(conn, sim)
    kc = user_kubeconfig(conn, "rg-ai", "aks-ai")
    install_kueue(kube(kc))
    seen = []
    report = run_verification(azure_verify_target(conn, "rg-ai", "aks-ai"),
                              VerifyOptions(**FAST_PROBES, billable=("cluster_autoscaling",),
                                            metadata={"contactEmailAddress": "ops@example.com"}),
                              on_result=seen.append)
    assert {r.id for r in seen} == set(MUST)
    bad = {r.id: r.summary for r in report.results if r.status != "pass"}
    assert bad == {}
    assert report.must_ok
    for rid in ("ai_inference", "gang_scheduling", "cluster_autoscaling", "pod_autoscaling", "ai_service_metrics",
                "secure_accelerator_access", "robust_controller"):
        r = report.result(rid)
        assert r.proof == "probe" and any(e.startswith("probe:") for e in r.evidence), rid
    assert all(r.checklist_status == "Implemented" and r.fix is None for r in report.results)
    assert validate_product(report.to_product_yaml(), "1.34", strict=True) == []
    files = report.write(tmp_path / "out")
    assert [p.name for p in files] == ["report.md", "report.json", "junit.xml", "results.json", "PRODUCT.yaml"]
    _check_evidence_files(report, tmp_path / "out")
    assert validate_product((tmp_path / "out" / "PRODUCT.yaml").read_text(), "1.34", base_dir=tmp_path / "out",
                            strict=True) == []
    # the probe namespace and the cluster-scoped Kueue objects are gone
    k = kube(kc)
    left = [n for n in k.request("GET", "/api/v1/namespaces", {"labelSelector": PROBE_LABEL})["items"]
            if n.get("status", {}).get("phase") != "Terminating"]
    assert left == []
    assert k.request("GET", "/apis/kueue.x-k8s.io/v1beta1/clusterqueues")["items"] == []


def test_read_only_full_cluster(sim, make_cluster):
    kc, body, kid = make_cluster()
    before = len(sim.request_log)
    t0 = time.monotonic()
    report = verify(kc, body)
    wall = time.monotonic() - t0
    requests = [r for r in sim.request_log[before:] if r.path.startswith(f"/k8s/{kid}")]
    st = {r.id: r.status for r in report.results}
    # presence and configuration alone are never Implemented: only DRA's API and the DCGM exporter's per-GPU
    # metrics are the behaviour itself
    assert st == {"dra_support": "pass", "ai_inference": "partial", "gang_scheduling": "partial",
                  "cluster_autoscaling": "partial", "pod_autoscaling": "partial", "accelerator_metrics": "pass",
                  "ai_service_metrics": "partial", "secure_accelerator_access": "partial", "robust_controller": "partial"}
    assert all(r.request_id or True for r in requests)
    assert not report.must_ok
    for r in report.results:
        if r.status == "partial":
            assert r.checklist_status == "Partially Implemented" and "--probes" in r.fix
    assert len(requests) <= 60 and report.metadata["requests"] == len(requests)
    assert wall < 2.0
    assert report.metadata["kubernetes_version"] == "v1.34.3" and report.metadata["cluster_name"] == "aks-ai"
    acc = report.result("accelerator_metrics")
    assert any("DCGM_FI_DEV_GPU_UTIL" in e for e in acc.evidence)
    assert any("DCGM_FI_DEV_FB_USED" in e for e in acc.evidence)


# ------------------------------------------------------------------------------------------------ failing cases
@pytest.mark.parametrize("rid, options, expect, fix", [
    ("ai_inference", dict(gateway_api=False), "CRD gatewayclasses.gateway.networking.k8s.io not found",
     "cluster.gateway_api: true"),
    ("ai_inference", dict(istio=False, gateway_api=True), "no GatewayClass is Accepted", "az aks mesh enable"),
    ("gang_scheduling", dict(kueue=False), "no gang scheduling solution", "kueue.install: true"),
    ("cluster_autoscaling", dict(autoscaled_gpu_pool=False), "gpunp is a managed GPU pool with a fixed count",
     "gpu_pool.managed_gpu: false"),
    ("cluster_autoscaling", dict(autoscaled_gpu_pool=False, managed_gpu=False), "has the cluster autoscaler disabled",
     "gpu_pool.autoscale: {min: 1, max: 3}"),
    ("cluster_autoscaling", dict(conflict=True), "uses managed GPU with the cluster autoscaler",
     "gpu_pool.managed_gpu: false"),
    ("cluster_autoscaling", dict(gpu_pool=False, autoscaled_gpu_pool=False), "no GPU node pool", "gpu_pool:"),
    ("pod_autoscaling", dict(keda=False), "no custom or external metrics API", "cluster.addons.keda: true"),
    ("accelerator_metrics", dict(managed_gpu=False), "no DCGM exporter found", "gpu_pool.managed_gpu: true"),
    ("ai_service_metrics", dict(prometheus=False), "no monitoring system found",
     "cluster.addons.managed_prometheus: true"),
    ("secure_accelerator_access", dict(managed_gpu=False), "advertise no allocatable nvidia.com/gpu",
     "k8s-device-plugin"),
    ("robust_controller", dict(kaito=False), "no AI operator with CRDs installed", "cluster.addons.kaito: true"),
])
def test_missing_option_fails_with_fix(make_cluster, rid, options, expect, fix):
    kc, body, _ = make_cluster(**options)
    r = verify(kc, body).result(rid)
    assert r.status == "fail" and r.checklist_status == "Not Implemented"
    assert expect in r.summary, r.summary
    assert r.fix and fix in r.fix, r.fix
    assert "az aks" in r.fix or "kubectl" in r.fix or "helm" in r.fix


def test_dra_not_served_fails(sim, make_cluster):
    kc, body, kid = make_cluster()
    nf = (404, status_doc(404, "NotFound", "the server could not find the requested resource"))
    with Gate(sim.kube, kid, {"/apis/resource.k8s.io/v1": nf}) as gate:
        r = verify(kubeconfig(gate.url), body).result("dra_support")
    assert r.status == "fail" and "resource.k8s.io" in r.summary and "not served" in r.summary
    assert "cluster.kubernetes_version" in r.fix and "az aks upgrade" in r.fix


def test_probe_failures_are_failures(make_cluster, monkeypatch):
    """No Kueue admission, no KEDA HPA (the simulator's emulated controllers switched off, as when they are wedged):
    the probes disprove within their bounds."""
    from wizard.sim.kube import controllers, keda, kueue_admission

    monkeypatch.setattr(controllers, "CONTROLLERS", [f for f in controllers.CONTROLLERS
                                                     if f not in (keda.controller, kueue_admission.controller)])
    kc, body, _ = make_cluster()
    report = verify(kc, body, **{**FAST_PROBES, "probe_timeout": 1.0})
    g = report.result("gang_scheduling")
    assert g.status == "fail" and "admitted" in g.summary and any(e.startswith("probe:") for e in g.evidence)
    p = report.result("pod_autoscaling")
    assert p.status == "fail" and "keda-hpa-aicv-scale" in p.summary


def test_real_probes_pass_against_the_simulator_without_stand_ins(make_cluster):
    """Kueue admission and KEDA's ScaledObject -> HPA are emulated by the simulator itself: the gang and autoscaling
    probes pass with no test controller running, and what they leave behind is Kueue's and KEDA's shape."""
    kc, body, _ = make_cluster()
    report = verify(kc, body, **FAST_PROBES)
    for rid in ("gang_scheduling", "pod_autoscaling"):
        r = report.result(rid)
        assert r.status == "pass" and r.proof == "probe", (rid, r.summary, r.evidence)
    g = report.result("gang_scheduling")
    assert any("Admitted=True" in e for e in g.evidence) and any("zero pods" in e for e in g.evidence)
    p = report.result("pod_autoscaling")
    assert any("external metric s0-metric-api-DCGM_FI_DEV_GPU_UTIL = 87" in e and "desiredReplicas 2" in e
               for e in p.evidence), p.evidence
    assert any("scaled the GPU Deployment back to 1 replica" in e for e in p.evidence)
    assert [(x.name, x.status) for x in p.subchecks] == [("ScaleUpOnGPUMetric", "pass"),
                                                          ("ReplicasRunningOnGPUNodes", "pass"), ("ScaleDown", "pass")]


def test_kaito_webhook_not_enforcing_fails(make_cluster):
    kc, body, _ = make_cluster()
    k = kube(kc)
    cfg = k.request("GET", "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/"
                           "validation.workspace.kaito.sh")
    cfg["webhooks"][0]["rules"][0]["operations"] = ["DELETE"]  # never called on create
    k.request("PUT", "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/"
                     "validation.workspace.kaito.sh", body=cfg)
    r = verify(kc, body, **{**FAST_PROBES, "probe_timeout": 1.0}).result("robust_controller")
    assert r.status == "fail" and "was accepted" in r.summary


# ------------------------------------------------------------------------------------------------ API errors
def test_unauthorized_is_a_result(sim, make_cluster):
    """An API that cannot be read decides nothing: inconclusive (never Not Implemented), with the fix and the retry."""
    _, body, kid = make_cluster(kueue=False)
    report = verify(kubeconfig(f"{sim.base_url}/k8s/{kid}", token="wrong"), body)
    for r in report.results:
        if r.id != "cluster_autoscaling":
            assert r.status == "inconclusive", r.id
            assert r.checklist_status == "N/A" and "inconclusive" in r.notes
            assert "401 Unauthorized" in r.summary and "az aks get-credentials" in r.fix and "retry:" in r.fix
    ca = report.result("cluster_autoscaling")  # the Azure view still speaks; the Kubernetes half is missing
    assert ca.status == "partial" and "401 Unauthorized" in ca.notes
    assert any(e.startswith("Azure: GPU pool gpuas") for e in ca.evidence)
    assert not report.must_ok and "dra_support" in report.undecided


def test_unreachable_is_a_result():
    t0 = time.monotonic()
    report = verify(kubeconfig("http://127.0.0.1:9"), None, timeout=2.0)
    assert time.monotonic() - t0 < 10
    for r in report.results:
        assert r.status == "inconclusive" and "unreachable" in r.summary, r.summary
    assert report.metadata["requests"] <= 15  # each read tried once, failures cached


def test_forbidden_names_the_missing_verb(sim, make_cluster):
    kc, body, kid = make_cluster()
    msg = ('deployments.apps is forbidden: User "verifier" cannot list resource "deployments" in API group "apps" '
           'at the cluster scope')
    with Gate(sim.kube, kid, {"/apis/apps/v1/deployments": (403, status_doc(403, "Forbidden", msg))}) as gate:
        report = verify(kubeconfig(gate.url), body)
    r = report.result("robust_controller")
    assert r.status == "inconclusive" and "verb 'list' on 'deployments.apps'" in r.summary
    assert "cluster-admin" in r.fix
    assert report.result("dra_support").status == "pass"  # other reads unaffected


def test_timeout_is_a_result(sim, make_cluster):
    kc, body, kid = make_cluster()
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Slow(BaseHTTPRequestHandler):
        def do_GET(self):
            time.sleep(2)

        def log_message(self, *a):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        report = verify(kubeconfig(f"http://127.0.0.1:{srv.server_address[1]}"), None, timeout=0.3)
    finally:
        srv.shutdown()
        srv.server_close()
    assert all(r.status == "inconclusive" for r in report.results)
    assert "timed out" in report.result("dra_support").summary


# ------------------------------------------------------------------------------------------------ probes hygiene
def test_leftovers_removed_and_cleanup_on_interrupt(make_cluster):
    kc, body, _ = make_cluster()
    k = kube(kc)
    k.request("POST", "/api/v1/namespaces", body={"metadata": {"name": "aicv-old123", "labels": {PROBE_LABEL: "true"}}})

    def interrupt(r):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_verification(VerifyTarget(kc, cluster=body), VerifyOptions(**FAST_PROBES), on_result=interrupt)
    live = [n["metadata"]["name"] for n in k.request("GET", "/api/v1/namespaces",
                                                      {"labelSelector": PROBE_LABEL})["items"]
            if n.get("status", {}).get("phase") != "Terminating"]
    assert live == []


# ------------------------------------------------------------------------------------------------ reports
def test_reports_of_a_failing_cluster(make_cluster, tmp_path):
    kc, body, _ = make_cluster(kueue=False, keda=False)
    report = verify(kc, body)
    files = report.write(tmp_path)
    _check_evidence_files(report, tmp_path)
    md = (tmp_path / "report.md").read_text()
    for rid in MUST:
        assert f"## {rid}" in md
    doc = json.loads((tmp_path / "report.json").read_text())
    assert doc["must_ok"] is False and len(doc["results"]) == 9
    assert doc["checklist_version"] == "1.34"
    product = yaml.safe_load((tmp_path / "PRODUCT.yaml").read_text())
    items = {i["id"]: i for items in product["spec"].values() for i in items}
    assert set(items) == set(MUST)
    assert items["gang_scheduling"]["status"] == "Not Implemented" and "kueue.install" in items["gang_scheduling"]["notes"]
    assert items["ai_inference"]["status"] == "Partially Implemented"
    assert items["dra_support"]["status"] == "Implemented"
    assert "file://results/junit.xml#TestDRASupport" in items["dra_support"]["evidence"]
    assert "file://results/junit.xml#TestGangScheduling" in items["gang_scheduling"]["evidence"]
    assert product["metadata"]["platformVersion"] == "v1.34"  # the AKS version line, not the patch
    assert not product["metadata"]["description"].startswith("[SIMULATED")
    errors = validate_product(files[-1].read_text(), "1.34", base_dir=tmp_path)
    assert errors == ["Metadata field contactEmailAddress is empty"]
    strict = validate_product(files[-1].read_text(), "1.34", base_dir=tmp_path, strict=True)
    assert any("gang_scheduling' is MUST level" in e for e in strict)


def _check_evidence_files(report, out) -> None:
    """junit.xml: one testcase per requirement (the official suite's names) and per sub-check; results.json: go test
    -json events for the same tests, ending with the package's verdict."""
    import xml.etree.ElementTree as ET

    suite = ET.parse(out / "results" / "junit.xml").getroot().find("testsuite")
    names = [c.get("name") for c in suite.findall("testcase")]
    wanted = ("TestSecureAcceleratorAccess/PositiveAccessTest", "TestSecureAcceleratorAccess/NegativeIsolationTest",
                     "TestSecureAcceleratorAccess/MultiContainerIsolationTest", "TestGangScheduling",
                     "TestAcceleratorClusterAutoscaling/ScaleUp", "TestRobustCRDControllerOperation/WebhookRejectsInvalidCR",
                     "TestRobustCRDControllerOperation/ControllerReconcilesCR", "TestAIServiceMetrics")
    for official in wanted if report.probes else [w for w in wanted if "/" not in w]:
        assert official in names, names
    assert int(suite.get("failures")) == sum(r.status == "fail" for r in report.results) + sum(
        s.status == "fail" for r in report.results for s in r.subchecks)
    events = [json.loads(x) for x in (out / "results" / "results.json").read_text().splitlines()]
    assert {e["Action"] for e in events} >= {"start", "run", "output"}
    assert [e["Test"] for e in events if e["Action"] == "run"] == names
    assert events[-1]["Action"] == ("pass" if report.must_ok else "fail") and "Test" not in events[-1]


def test_validator_rules():
    text = (load_checklist("1.34").text)
    errors = validate_product(text, "1.34")
    assert any("placeholder" in e for e in errors) and any("Invalid status ''" in e for e in errors)
    doc = yaml.safe_load(text)
    doc["spec"]["networking"] = []
    doc["spec"]["accelerators"][0].update(status="N/A", notes="")
    errors = validate_product(doc, "1.34")
    assert "Missing requirement 'ai_inference' in category 'networking'" in errors
    assert "Notes required for 'dra_support' when status is N/A" in errors
    assert any("k8sConformanceUrl" in e for e in errors)


@pytest.mark.parametrize("version", ["1.35", "1.36", "1.37"])
def test_newer_checklists_report_should_items(make_cluster, version):
    kc, body, _ = make_cluster(autoscaled_gpu_pool=version != "1.35")
    report = verify(kc, body, checklist=version, metadata={"contactEmailAddress": "ops@example.com"})
    assert [r.id for r in report.results] == load_checklist(version).ids()
    should = [r for r in report.results if r.level == "SHOULD"]
    assert should and all(r.status in ("pass", "partial", "fail", "skipped") for r in should)
    if version == "1.35":
        assert report.result("driver_runtime_management").status == "pass"
    for r in should:
        if r.status == "skipped":
            assert r.checklist_status == "N/A" and r.notes
    assert validate_product(report.to_product_yaml(), version) == []
    assert yaml.safe_load(report.to_product_yaml())["metadata"]["kubernetesVersion"] == f"v{version}"
