"""The gpu-stack add-on step (NVIDIA device plugin + DCGM exporter on an unmanaged GPU pool) through the real Engine,
the real kubernetes client and the simulator; and the whole `aks-ai-wizard --simulate apply` of the example answers
ending with a verification where every MUST passes (probes on) or nothing fails (read-only)."""
from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.test_addons import Run, make_answers, rvs
from wizard.addons import gpu_stack

REPO = Path(__file__).resolve().parents[2]
MUST = ["dra_support", "ai_inference", "gang_scheduling", "cluster_autoscaling", "pod_autoscaling",
        "accelerator_metrics", "ai_service_metrics", "secure_accelerator_access", "robust_controller"]


@pytest.fixture
def runs() -> Any:
    made: list[Run] = []

    def make(answers=None, **opts: Any) -> Run:
        r = Run(answers or make_answers(kueue__install=False), **opts)
        made.append(r)
        return r

    yield make
    for r in made:
        r.close()


def core(r: Run) -> Any:
    """The kubernetes client's CoreV1Api on the simulated cluster's user kubeconfig."""
    import kubernetes

    from wizard.azure.clusters import user_kubeconfig

    kc = yaml.safe_load(user_kubeconfig(r.session.conn, "rg-aks-ai", "aks-ai"))
    api = kubernetes.config.new_client_from_config_dict(kc)
    return kubernetes.client.CoreV1Api(api), kubernetes.client.AppsV1Api(api)


# ------------------------------------------------------------------------------------------ the step
def test_manifests_are_the_pinned_upstream_ones():
    objs = gpu_stack.load_manifests()
    assert [(o["kind"], o["metadata"]["name"]) for o in objs] == [
        ("DaemonSet", "nvidia-device-plugin-daemonset"), ("DaemonSet", "nvidia-dcgm-exporter"),
        ("Service", "nvidia-dcgm-exporter")]
    assert all(o["metadata"]["namespace"] == "kube-system" for o in objs)
    images = [c["image"] for o in objs if o["kind"] == "DaemonSet" for c in o["spec"]["template"]["spec"]["containers"]]
    assert images == ["nvcr.io/nvidia/k8s-device-plugin:v0.19.3", "nvcr.io/nvidia/k8s/dcgm-exporter:4.5.3-4.8.2-distroless"]
    for name, pinned in gpu_stack.FILES.items():  # the source and version are cited in each file, its digest pinned
        head = (gpu_stack.MANIFESTS / name).read_text().splitlines()[1]
        assert "github.com/NVIDIA/" in head and ("v0.19.3" in head or "4.5.3-4.8.2" in head)
        assert hashlib.sha256((gpu_stack.MANIFESTS / name).read_bytes()).hexdigest() == pinned
    assert gpu_stack.tolerations(["sku=gpu:NoSchedule", "dedicated:NoExecute"]) == [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
        {"key": "sku", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"},
        {"key": "dedicated", "operator": "Exists", "effect": "NoExecute"}]


def test_installs_device_plugin_and_dcgm_exporter_and_a_rerun_writes_nothing(runs):
    from prometheus_client.parser import text_string_to_metric_families

    r = runs()
    result = r.run()
    assert result.status == "done", result.failure and result.failure.render()
    step = next(s for s in r.plan.steps if s.id == "gpu-stack")
    assert "kubectl apply --server-side" in step.az and "sku=gpu:NoSchedule" in step.az
    done = r.done("gpu-stack")
    assert done.kind == "done" and "1/1 GPU node(s) advertise nvidia.com/gpu" in done.message, done.message
    progress = [e.message for e in r.events if e.step == "gpu-stack" and e.kind == "progress"]
    assert any("server-side apply" in m and "PodMonitor kube-system/nvidia-dcgm-exporter" in m for m in progress)

    v1, apps = core(r)
    dp = apps.read_namespaced_daemon_set("nvidia-device-plugin-daemonset", "kube-system")
    spec = dp.spec.template.spec
    assert spec.containers[0].image == "nvcr.io/nvidia/k8s-device-plugin:v0.19.3"
    tols = {(t.key, t.operator, t.value, t.effect) for t in spec.tolerations}
    assert {("sku", "Equal", "gpu", "NoSchedule"), ("nvidia.com/gpu", "Exists", None, "NoSchedule")} <= tols
    terms = spec.affinity.node_affinity.required_during_scheduling_ignored_during_execution.node_selector_terms
    assert {(e.key, tuple(e.values)) for t in terms for e in t.match_expressions} == {
        ("kubernetes.azure.com/accelerator", ("nvidia",)), ("accelerator", ("nvidia",))}
    assert any(m.manager == "aks-ai-wizard" and m.operation == "Apply" for m in dp.metadata.managed_fields)
    dcgm = apps.read_namespaced_daemon_set("nvidia-dcgm-exporter", "kube-system")
    assert dcgm.status.number_ready == dcgm.status.desired_number_scheduled == 1
    svc = v1.read_namespaced_service("nvidia-dcgm-exporter", "kube-system")
    assert [(p.name, p.port) for p in svc.spec.ports] == [("metrics", 9400)]
    # the pods run on the GPU node only, and the GPU node now advertises its GPU
    nodes = {n.metadata.name: n for n in v1.list_node().items}
    gpu_nodes = [n for n, o in nodes.items() if (o.metadata.labels or {}).get("accelerator") == "nvidia"]
    assert len(gpu_nodes) == 1 and nodes[gpu_nodes[0]].status.allocatable.get("nvidia.com/gpu") == "1"
    for sel in ("name=nvidia-device-plugin-ds", "app.kubernetes.io/name=dcgm-exporter"):
        assert [p.spec.node_name for p in v1.list_namespaced_pod("kube-system", label_selector=sel).items] == gpu_nodes
    assert all("nvidia.com/gpu" not in (o.status.allocatable or {}) for n, o in nodes.items() if n not in gpu_nodes)
    # DCGM metrics through the API server's service proxy, parsed with prometheus_client
    text = v1.connect_get_namespaced_service_proxy_with_path("nvidia-dcgm-exporter:9400", "kube-system", "metrics")
    fams = {f.name: f for f in text_string_to_metric_families(text)}
    util = fams["DCGM_FI_DEV_GPU_UTIL"].samples
    assert len(util) == 1 and util[0].labels["UUID"].startswith("GPU-") and util[0].labels["Hostname"] == gpu_nodes[0]
    assert "DCGM_FI_DEV_FB_USED" in fams and "DCGM_FI_DEV_GPU_TEMP" in fams
    # managed Prometheus scrapes it through a PodMonitor
    pm = r.kube().get("azmonitoring.coreos.com", "podmonitors", "kube-system", "nvidia-dcgm-exporter")
    assert pm["spec"]["podMetricsEndpoints"][0]["port"] == "metrics"

    before = rvs(r.kube())
    again = r.run()
    assert again.status == "done"
    assert r.done("gpu-stack").message.startswith("skipped: already applied and ready")
    assert rvs(r.kube()) == before
    assert not [w for w in r.writes() if "/k8s/" in w]


def test_a_changed_or_missing_object_is_applied_again(runs):
    r = runs()
    assert r.run().status == "done"
    c = r.kube()
    c.raw_delete("", "services", "kube-system", "nvidia-dcgm-exporter")
    c.next_rv()
    assert r.run().status == "done"
    assert r.done("gpu-stack").message.startswith("applied 1 object(s)")
    assert [w for w in r.writes() if "/k8s/" in w] == [
        f"PATCH /k8s/{r.sim.kube.cluster_ids()[0]}/api/v1/namespaces/kube-system/services/nvidia-dcgm-exporter"]


def test_skipped_with_managed_gpu(runs):
    answers = make_answers(kueue__install=False, gpu_pool__managed_gpu=True, gpu_pool__autoscale=None)
    r = runs(answers)
    assert r.run().status == "done"
    assert "gpu-stack" not in [s.id for s in r.plan.steps]
    c = r.kube()
    # AKS installed its own (managed GPU); the wizard applied nothing of its own
    ds = c.get("apps", "daemonsets", "kube-system", "nvidia-device-plugin-daemonset")
    assert ds is not None and not any(m.get("manager") == "aks-ai-wizard" for m in ds["metadata"].get("managedFields") or [])
    assert c.get("azmonitoring.coreos.com", "podmonitors", "kube-system", "nvidia-dcgm-exporter") is None
    from wizard.addons import gpu_stack_inputs, run_gpu_stack
    from wizard.plan_model import Step

    # the runner itself refuses a managed pool too (its inputs name no pool to install on)
    step = Step("gpu-stack", "gpu stack", "create", "", payload=gpu_stack_inputs(r.answers))
    assert run_gpu_stack(None, step, 0.0)["message"].startswith("skipped: AKS manages")


def test_wait_is_bounded(runs, monkeypatch):
    monkeypatch.setattr(gpu_stack, "status", lambda kube: (False, "0/1 GPU node(s) advertise nvidia.com/gpu"))
    r = runs(wait_timeout=0.2, max_poll=0.05)
    result = r.run()
    assert result.status == "failed" and result.failed_step == "gpu-stack"
    assert "Timed out waiting for the NVIDIA device plugin and DCGM exporter" in result.failure.render()


# ------------------------------------------------------------------------------------------ the CLI, end to end
def _apply(tmp_path: Path, monkeypatch, capsys, probes: bool, *extra: str) -> tuple[int, dict]:
    import wizard.conformance as conformance
    from wizard.cli import main

    doc = yaml.safe_load((REPO / "examples" / "answers.yaml").read_text())
    doc["verify"] = {**doc["verify"], "probes": probes, "checklist": "1.34"}  # keeps billable_probes
    path = tmp_path / "answers.yaml"
    path.write_text(yaml.safe_dump(doc))
    # the closing verification builds VerifyOptions itself: shorten the probes' waits (the gang probe's negative
    # window is 30 s of wall time by default) the way tests/integration/test_conformance_cli.py does
    monkeypatch.setattr(conformance, "VerifyOptions", functools.partial(
        conformance.VerifyOptions, probe_timeout=10.0, gang_negative_seconds=0.5, poll_interval=0.05))
    rc = main(["--simulate", "--sim-speed", "100000", "apply", str(path), "--output", "json", *extra])
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.strip()]
    assert lines[-2]["kind"] == "verification", lines[-2]
    result = lines[-1]
    assert result["kind"] == "result" and result["exit_code"] == rc and result["conformant"] is lines[-2]["must_ok"]
    return rc, lines[-2]


def test_simulated_apply_of_the_example_passes_every_must_with_probes(tmp_path, monkeypatch, capsys):
    rc, v = _apply(tmp_path, monkeypatch, capsys, probes=True)
    assert rc == 0
    status = {r["id"]: r["status"] for r in v["results"] if r["level"] == "MUST"}
    assert list(status) == MUST
    assert status == {rid: "pass" for rid in MUST}, {r["id"]: r["summary"] for r in v["results"]}
    assert v["must_ok"] is True and v["probes"] is True
    assert v["metadata"]["simulated"] is True


def test_simulated_apply_of_the_example_read_only_fails_nothing(tmp_path, monkeypatch, capsys):
    """Read-only checks prove presence, not behaviour: Partially is not a pass, so apply says "not conformant"
    (exit 4) unless told conformance is not required."""
    rc, v = _apply(tmp_path, monkeypatch, capsys, probes=False)
    assert rc == 4 and v["must_ok"] is False
    rc, v = _apply(tmp_path, monkeypatch, capsys, False, "--conformance-not-required")
    assert rc == 0 and v["must_ok"] is False
    status = {r["id"]: r["status"] for r in v["results"]}
    assert "fail" not in status.values(), {r["id"]: r["summary"] for r in v["results"] if r["status"] == "fail"}
    assert status["accelerator_metrics"] == "pass" and status["secure_accelerator_access"] == "partial"
