"""AI add-ons (wizard.addons) through the real clients against the simulator: managed Prometheus wiring
(azure-mgmt-monitor), DCGM scraping and Kueue (kubernetes client, server-side apply), driven by a real Engine run
of a real plan with the add-on steps appended, as the CLI will run them."""
from __future__ import annotations

import hashlib
import socket
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from wizard.addons import AddonOptions, addon_steps
from wizard.answers import Answers
from wizard.engine import Engine, RunOptions
from wizard.addons.errors import AddonError
from wizard.addons.kueue import read_local
from wizard.plan import build_plan, observe
from wizard.runners import runners
from wizard.session import SimOptions, open_session
from wizard.sim.releases import kueue_manifest_path, kueue_release_base

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "answers.yaml"
SHIPPED = kueue_manifest_path("v0.17.8")  # the simulator's copy of the pinned release


def make_answers(**changes: Any) -> Answers:
    doc = yaml.safe_load(EXAMPLE.read_text())
    for dotted, value in changes.items():
        node = doc
        *path, last = dotted.split("__")
        for p in path:
            node = node.setdefault(p, {})
        node[last] = value
    return Answers.model_validate(doc)


class Run:
    """A session on its own simulator; run() = observe, plan (+ add-on steps), Engine.run, like `apply`."""

    def __init__(self, answers: Answers, **addon_opts: Any) -> None:
        self.answers = answers
        self.session = open_session(answers, SimOptions(speed=1e5))
        self.sim = self.session.simulator
        self.addon_opts = {**vars(self.session.addon_options()), **addon_opts}  # the simulator's release copies
        self.events: list[Any] = []

    def run(self, answers: Answers | None = None) -> Any:
        answers = answers or self.answers
        obs = observe(self.session.conn, answers, self.session.subscription)
        plan = build_plan(answers, obs, allow_update=True)
        assert plan.ok, plan.problems  # build_plan already holds the add-on steps (adding them again: PlanError)
        self.plan = plan
        opts = RunOptions(poll_interval=self.session.poll_interval, tick=0.02, typical_scale=self.session.time_scale)
        opts.addons = AddonOptions(**self.addon_opts)  # type: ignore[attr-defined]
        self.mark = len(self.sim.request_log)
        self.events = []
        return Engine(self.session.conn, plan, self.events.append, None, opts, runners()).run()

    def requests(self) -> list[Any]:
        return self.sim.request_log[self.mark:]

    def writes(self) -> list[str]:
        return [f"{r.method} {r.path}" for r in self.requests() if r.method not in ("GET", "HEAD")]

    def done(self, step: str) -> Any:
        return next(e for e in self.events if e.step == step and e.kind in ("done", "failed"))

    def kube(self) -> Any:
        return self.sim.kube.cluster(self.sim.kube.cluster_ids()[0])

    def close(self) -> None:
        self.session.close()


@pytest.fixture
def runs() -> Any:
    made: list[Run] = []

    def make(answers: Answers | None = None, **opts: Any) -> Run:
        r = Run(answers or make_answers(), **opts)
        made.append(r)
        return r

    yield make
    for r in made:
        r.close()


def rvs(cluster: Any) -> dict[str, str]:
    return {f"{g}/{p}/{o['metadata'].get('namespace', '')}/{o['metadata']['name']}": o["metadata"]["resourceVersion"]
            for g, p, o in cluster.all_objects()}


# ------------------------------------------------------------------------------------------ plan
MONITOR = ("monitor-providers", "monitor-workspace", "monitor-dce", "monitor-dcr", "monitor-dcra")


def test_plan_has_one_step_per_addon_with_az_equivalents(runs):
    r = runs()
    obs = observe(r.session.conn, r.answers, r.session.subscription)
    plan = build_plan(r.answers, obs)
    steps = {s.id: s for s in addon_steps(r.answers, plan)}
    assert list(steps) == [*MONITOR, "gpu-stack", "gpu-metrics", "kueue", "kueue-queues"]
    assert steps["gpu-stack"].deps == ("kubeconfig",)
    assert "nvidia-device-plugin.yml" in steps["gpu-stack"].az and "rollout status" in steps["gpu-stack"].az
    # after the cluster's writes: a fresh subscription's staged create, then its Gateway API update (issue 18);
    # then one step per Azure Monitor object, each after the one before, named at plan time
    assert steps["monitor-providers"].deps == ("cluster", "preview-fields")
    assert [steps[s].deps for s in MONITOR[1:]] == [(s,) for s in MONITOR[:-1]]
    assert "az provider register --namespace Microsoft.Insights" in steps["monitor-providers"].az
    assert "az monitor account create -g DefaultResourceGroup-eastus2" in steps["monitor-workspace"].az
    assert "az monitor data-collection endpoint create -g rg-aks-ai -n MSProm-eastus2-aks-ai" in steps["monitor-dce"].az
    assert "az monitor data-collection rule association create" in steps["monitor-dcra"].az
    assert steps["gpu-metrics"].deps == ("kubeconfig",) and "dcgmexporter = true" in steps["gpu-metrics"].az
    assert ("kubectl apply --server-side -f https://github.com/kubernetes-sigs/kueue/releases/download/v0.17.8/"
            "manifests.yaml") in steps["kueue"].az
    assert "shipped with aks-ai-wizard (SHA-256 pinned)" in steps["kueue"].title
    assert steps["kueue-queues"].deps == ("kueue", "gpu-stack")  # GPU quota from the GPUs the device plugin advertises
    assert all(s.action == "create" and s.typical > 0 for s in steps.values())

    bare = make_answers(kueue__install=False, gpu_pool=None)
    ids = [s.id for s in addon_steps(bare, build_plan(bare, observe(r.session.conn, bare, r.session.subscription)))]
    assert ids == list(MONITOR)


# ------------------------------------------------------------------------------------------ full run, re-run
def test_full_apply_installs_every_addon_and_a_rerun_writes_nothing(runs):
    r = runs()
    result = r.run()
    assert result.status == "done", result.failure and result.failure.render()
    assert "Kueue installed v0.17.8" in r.done("kueue").message
    assert not any("/_releases/" in q.path for q in r.requests())  # the pinned release is shipped: no download
    c = r.kube()
    # Kueue: CRDs Established, controller Available, webhooks with the CA bundle, default queues Active
    for plural in ("clusterqueues", "localqueues", "resourceflavors", "workloads", "admissionchecks",
                   "workloadpriorityclasses"):
        crd = c.get("apiextensions.k8s.io", "customresourcedefinitions", "", f"{plural}.kueue.x-k8s.io")
        assert crd and any(x["type"] == "Established" and x["status"] == "True" for x in crd["status"]["conditions"])
    dep = c.get("apps", "deployments", "kueue-system", "kueue-controller-manager")
    assert dep["status"]["availableReplicas"] == 1
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.k8s.io/kueue/kueue:v0.17.8"
    assert any(m["manager"] == "aks-ai-wizard" and m["operation"] == "Apply" for m in dep["metadata"]["managedFields"])
    for plural, name in (("mutatingwebhookconfigurations", "kueue-mutating-webhook-configuration"),
                         ("validatingwebhookconfigurations", "kueue-validating-webhook-configuration")):
        cfg = c.get("admissionregistration.k8s.io", plural, "", name)
        assert cfg["webhooks"] and all(w["clientConfig"].get("caBundle") for w in cfg["webhooks"])
    cq = c.get("kueue.x-k8s.io", "clusterqueues", "", "cluster-queue")
    assert cq["spec"]["resourceGroups"][0]["coveredResources"] == ["cpu", "memory", "nvidia.com/gpu"]
    assert cq["status"]["conditions"][0]["status"] == "True"
    assert c.get("kueue.x-k8s.io", "localqueues", "default", "user-queue")["spec"]["clusterQueue"] == "cluster-queue"
    # DCGM scraping
    cm = c.get("", "configmaps", "kube-system", "ama-metrics-settings-configmap")
    assert "dcgmexporter = true" in cm["data"]["default-scrape-settings-enabled"]
    assert cm["data"]["schema-version"] == "v1"
    # Azure Monitor resources, read back through the SDK
    mon = r.session.conn.monitor_for()
    ws = mon.azure_monitor_workspaces.get("DefaultResourceGroup-eastus2", "DefaultAzureMonitorWorkspace-eastus2")
    assert ws.provisioning_state == "Succeeded" and ws.metrics.prometheus_query_endpoint.startswith("https://")
    dcr = mon.data_collection_rules.get("rg-aks-ai", "MSProm-eastus2-aks-ai")
    assert dcr.destinations.monitoring_accounts[0].account_resource_id.lower() == ws.id.lower()
    assert dcr.data_flows[0].streams == ["Microsoft-PrometheusMetrics"]
    cluster_id = r.session.conn.aks.managed_clusters.get("rg-aks-ai", "aks-ai").id
    dcra = mon.data_collection_rule_associations.get(cluster_id, "ContainerInsightsMetricsExtension-eastus2-aks-ai")
    assert dcra.data_collection_rule_id.lower() == dcr.id.lower()

    before = rvs(c)
    monitor_before = {k: v["body"] for k, v in r.sim.world.monitor.items()}
    again = r.run()
    assert again.status == "done"
    assert r.writes() == [f"POST /subscriptions/{r.sim.subscription_id}/resourceGroups/rg-aks-ai/providers/"
                          "Microsoft.ContainerService/managedClusters/aks-ai/listClusterUserCredential"]
    assert rvs(c) == before
    assert {k: v["body"] for k, v in r.sim.world.monitor.items()} == monitor_before
    assert r.done("kueue").message == "skipped: already at v0.17.8"
    assert r.done("kueue-queues").message.startswith("skipped:")
    assert r.done("gpu-metrics").message.startswith("skipped:")
    assert r.done("gpu-stack").message.startswith("skipped: already applied and ready")
    assert all(r.done(s).message.startswith("skipped: already in place") for s in MONITOR)
    assert not any("/_releases/" in q.path for q in r.requests())  # no download when nothing is to be installed


def test_progress_events_for_each_addon_step(runs):
    r = runs()
    assert r.run().status == "done"
    for step in (*MONITOR, "gpu-metrics", "kueue", "kueue-queues"):
        kinds = [e.kind for e in r.events if e.step == step]
        assert kinds[0] == "started" and kinds[-1] == "done", (step, kinds)
    kueue_progress = [e.message for e in r.events if e.step == "kueue" and e.kind == "progress"]
    assert any("Established" in m for m in kueue_progress) and any("server-side apply" in m for m in kueue_progress)


# ------------------------------------------------------------------------------------------ managed Prometheus
def test_given_monitor_workspace_is_linked_not_created(runs):
    r = runs()
    from azure.mgmt.monitor import models as mm

    conn = r.session.conn
    conn.resources.resource_groups.create_or_update("rg-mon", {"location": "westeurope"})
    conn.resources.providers.register("Microsoft.Monitor")
    import time
    deadline = time.monotonic() + 10
    while conn.resources.providers.get("Microsoft.Monitor").registration_state != "Registered":
        assert time.monotonic() < deadline
        time.sleep(0.01)
    ws = conn.monitor_for().azure_monitor_workspaces.create("rg-mon", "amw-shared",
                                                            mm.AzureMonitorWorkspaceResource(location="westeurope"))
    answers = make_answers(cluster__addons__monitor_workspace_id=ws.id, kueue__install=False)
    plan = build_plan(answers, observe(conn, answers, r.session.subscription))
    linked = {s.id: s for s in plan.steps}
    assert "link Azure Monitor workspace amw-shared (westeurope)" in linked["monitor-workspace"].title
    assert "az monitor account create" not in linked["monitor-workspace"].az
    # placed at plan time in the workspace's region, as az places them
    assert "-n MSProm-westeurope-aks-ai -l westeurope" in linked["monitor-dcr"].az
    result = r.run(answers)
    assert result.status == "done", result.failure and result.failure.render()
    assert not any("DefaultResourceGroup" in w or "DefaultAzureMonitorWorkspace" in w for w in r.writes())
    dcr = conn.monitor_for().data_collection_rules.get("rg-aks-ai", "MSProm-westeurope-aks-ai")
    assert dcr.destinations.monitoring_accounts[0].account_resource_id.lower() == ws.id.lower()
    assert dcr.location == "westeurope"


def test_missing_given_workspace_is_reported(runs):
    answers = make_answers(kueue__install=False, cluster__addons__monitor_workspace_id=(
        "/subscriptions/3f2c8a9e-5b1d-4c7e-9a60-2d84f1b7c513/resourceGroups/rg-x/providers/Microsoft.Monitor/"
        "accounts/nope"))
    r = runs(answers)
    plan = build_plan(answers, observe(r.session.conn, answers, r.session.subscription))
    # refused before anything is written (the cluster is not created only for the wiring to fail after it)
    [problem] = plan.problems
    assert problem.field == "cluster.addons.monitor_workspace_id" and "nope was not found" in problem.message
    assert "monitor_workspace_id" in problem.fix


def test_a_workspace_deleted_after_the_plan_stops_its_step_with_what_happened(runs):
    r = runs()
    from azure.mgmt.monitor import models as mm

    conn = r.session.conn
    conn.resources.resource_groups.create_or_update("rg-mon", {"location": "eastus2"})
    conn.resources.providers.register("Microsoft.Monitor")
    while conn.resources.providers.get("Microsoft.Monitor").registration_state != "Registered":
        time.sleep(0.01)
    mon = conn.monitor_for()
    ws = mon.azure_monitor_workspaces.create("rg-mon", "amw-gone", mm.AzureMonitorWorkspaceResource(location="eastus2"))
    answers = make_answers(cluster__addons__monitor_workspace_id=ws.id, kueue__install=False)
    plan = build_plan(answers, observe(conn, answers, r.session.subscription), allow_update=True)
    assert plan.ok, plan.problems
    mon.azure_monitor_workspaces.begin_delete("rg-mon", "amw-gone").result()  # someone else deletes it
    events: list = []
    opts = RunOptions(poll_interval=r.session.poll_interval, tick=0.02, typical_scale=r.session.time_scale)
    result = Engine(conn, plan, events.append, None, opts, runners()).run()
    assert result.status == "failed" and result.failed_step == "monitor-workspace"
    assert "amw-gone was not found" in result.failure.render()
    assert not any(e.step in ("monitor-dce", "monitor-dcr", "monitor-dcra") and e.kind == "started" for e in events)


def test_gpu_metrics_keeps_existing_settings(runs):
    r = runs(make_answers(kueue__install=False))
    assert r.run().status == "done"
    c = r.kube()
    cm = c.get("", "configmaps", "kube-system", "ama-metrics-settings-configmap")
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": cm["metadata"]["name"],
                                                                 "namespace": "kube-system"},
          "data": {"schema-version": "v1", "default-scrape-settings-enabled": "kubelet = false\ndcgmexporter = false",
                   "prometheus-collector-settings": 'cluster_alias = "mine"'}}
    c.write(cm)  # what a user's kubectl apply would leave
    assert r.run().status == "done"
    data = c.get("", "configmaps", "kube-system", "ama-metrics-settings-configmap")["data"]
    assert data["default-scrape-settings-enabled"] == "kubelet = false\ndcgmexporter = true"
    assert data["prometheus-collector-settings"] == 'cluster_alias = "mine"'
    assert "dcgmexporter = true" in r.done("gpu-metrics").message


V2_CLUSTER_METRICS = """default-targets-scrape-enabled: |-
  kubelet = true
  coredns = true
  dcgmexporter = false

default-targets-metrics-keep-list: |-
  kubelet = ""
  dcgmexporter = ""
minimal-ingestion-profile: |-
  enabled = true"""


def test_gpu_metrics_edits_a_schema_v2_configmap_in_place(runs):
    """Schema v2 (the upstream default file since 2025) nests the section inside cluster-metrics: the one line
    changes there, the keep-list's line of the same name and every other key stay; a second run writes nothing."""
    r = runs(make_answers(kueue__install=False))
    assert r.run().status == "done"
    c = r.kube()
    c.write({"apiVersion": "v1", "kind": "ConfigMap",
             "metadata": {"name": "ama-metrics-settings-configmap", "namespace": "kube-system"},
             "data": {"schema-version": "v2", "cluster-metrics": V2_CLUSTER_METRICS,
                      "prometheus-collector-settings": 'cluster_alias = "mine"'}})  # replaces the wizard's v1
    assert r.run().status == "done"
    data = c.get("", "configmaps", "kube-system", "ama-metrics-settings-configmap")["data"]
    assert data["cluster-metrics"] == V2_CLUSTER_METRICS.replace("dcgmexporter = false", "dcgmexporter = true")
    assert "default-scrape-settings-enabled" not in data  # no v1 key added to a v2 ConfigMap
    assert data["prometheus-collector-settings"] == 'cluster_alias = "mine"'
    assert r.run().status == "done"
    assert r.done("gpu-metrics").message.startswith("skipped: ama-metrics-settings-configmap already has")


# ------------------------------------------------------------------------------------------ Kueue sources
def test_checksum_mismatch_refuses_with_nothing_applied(runs):
    r = runs(make_answers(kueue__sha256="0" * 64))
    result = r.run()
    assert result.status == "failed" and result.failed_step == "kueue"
    assert result.failure.code == "ChecksumMismatch" and result.failure.fix_field == "kueue.sha256"
    assert "nothing was applied" in result.failure.what
    assert hashlib.sha256(SHIPPED.read_bytes()).hexdigest() in result.failure.why
    c = r.kube()
    assert c.get("", "namespaces", "", "kueue-system") is None
    assert not [o for g, p, o in c.all_objects() if g == "kueue.x-k8s.io" or "kueue" in o["metadata"]["name"]]
    assert not [w for w in r.writes() if "/k8s/" in w and "kueue" in w]
    assert "kueue-queues" not in {e.step for e in r.events}  # its dependency failed


def test_local_manifest_file_with_matching_checksum(runs, tmp_path):
    local = tmp_path / "kueue-v0.17.8.yaml"
    local.write_bytes(SHIPPED.read_bytes())
    digest = hashlib.sha256(local.read_bytes()).hexdigest()
    r = runs(make_answers(kueue__manifest=str(local), kueue__sha256=digest, kueue__default_queues=False))
    assert r.run().status == "done"
    assert r.done("kueue").message.startswith("Kueue installed v0.17.8")
    assert not any("/_releases/" in q.path for q in r.requests())  # never downloaded
    ns = r.kube().get("", "namespaces", "", "kueue-system")
    assert ns["metadata"]["annotations"]["aks-ai-wizard/kueue-manifest-sha256"] == digest
    assert r.plan.step("kueue").az.startswith(f"kubectl apply --server-side -f {local}")
    r.run()
    assert r.done("kueue").message == "skipped: already at v0.17.8"


def test_unreadable_local_manifest(runs, tmp_path):
    """The plan reads a local manifest and refuses what it cannot use; one that goes away after the plan fails
    its step with the same explanation."""
    answers = make_answers(kueue__manifest=str(tmp_path / "missing.yaml"))
    r = runs(answers)
    plan = build_plan(answers, observe(r.session.conn, answers, r.session.subscription))
    assert [(p.field, p.message.split(".")[0]) for p in plan.problems] == [
        ("kueue.manifest", f"Could not read the Kueue manifest {tmp_path / 'missing'}")]
    with pytest.raises(AddonError) as info:
        read_local(tmp_path / "missing.yaml")
    assert info.value.failure.code == "ManifestUnreadable" and info.value.failure.fix_field == "kueue.manifest"


def test_download_http_error_is_reported(runs):
    r = runs(make_answers(kueue__version="v0.0.1"))
    result = r.run()
    assert result.status == "failed" and result.failed_step == "kueue"
    f = result.failure
    assert f.code == "HTTP404" and "HTTP 404" in f.why and "v0.0.1/manifests.yaml" in f.what
    assert "--kueue-manifest" in f.action
    assert r.kube().get("", "namespaces", "", "kueue-system") is None


@pytest.fixture
def silent_server() -> Any:
    """A loopback TCP server that accepts connections and never answers (a hung download)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    conns: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        srv.settimeout(0.1)
        while not stop.is_set():
            try:
                conns.append(srv.accept()[0])
            except OSError:
                continue

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.getsockname()[1]}/releases/download"
    stop.set()
    t.join(2)
    for c in conns:
        c.close()
    srv.close()


def test_download_timeout_is_reported(runs, silent_server):
    r = runs(make_answers(kueue__version="v0.14.4"), kueue_release_base=silent_server, download_timeout=0.5)
    result = r.run()
    assert result.status == "failed" and result.failed_step == "kueue"
    assert result.failure.code == "DownloadTimeout" and "No answer within 0.5 s" in result.failure.why
    assert r.kube().get("", "namespaces", "", "kueue-system") is None


def test_another_version_is_downloaded_from_the_release_location(runs):
    r = runs(make_answers(kueue__version="v0.14.4", kueue__default_queues=False))
    assert r.run().status == "done"
    assert r.done("kueue").message.startswith("Kueue installed v0.14.4")
    assert [q.path for q in r.requests() if "/_releases/" in q.path] == [
        "/_releases/github.com/kubernetes-sigs/kueue/releases/download/v0.14.4/manifests.yaml"]


def test_shipped_manifests_match_their_pins():
    import gzip

    from wizard.addons.kueue import PINNED_VERSION, SHIPPED_RELEASE, parse
    from wizard.sim.releases import kueue_shipped

    data = gzip.decompress(SHIPPED_RELEASE.path.read_bytes())
    assert hashlib.sha256(data).hexdigest() == SHIPPED_RELEASE.sha256
    full = parse(data, "package")
    image = next(o for o in full if o["kind"] == "Deployment")["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == f"registry.k8s.io/kueue/kueue:{PINNED_VERSION}"
    # for real, the default answers install the shipped file: no URL at all
    from wizard.addons import RELEASE_BASE, AddonOptions
    from wizard.addons.kueue import manifest_location
    assert AddonOptions().kueue_shipped == SHIPPED_RELEASE
    assert manifest_location(make_answers(), RELEASE_BASE) == str(SHIPPED_RELEASE.path)
    assert manifest_location(make_answers(kueue__version="v0.14.4"), RELEASE_BASE).startswith("https://github.com/")
    sim = kueue_shipped()
    assert sim.version == PINNED_VERSION and hashlib.sha256(sim.path.read_bytes()).hexdigest() == sim.sha256
    # the simulator's copy is the same release: the same objects, only CRD schemas trimmed
    assert [(o["kind"], o["metadata"]["name"]) for o in parse(sim.path.read_bytes(), "sim")] == \
        [(o["kind"], o["metadata"]["name"]) for o in full]


def test_redirect_away_from_https_is_refused():
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from wizard.addons.errors import AddonError
    from wizard.addons.kueue import download

    class Redirect(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(302)
            self.send_header("Location", "http://localhost:9/manifests.yaml")  # plain http elsewhere
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        with pytest.raises(AddonError) as exc:
            download(f"http://127.0.0.1:{srv.server_address[1]}/v9/manifests.yaml", 2)
        assert exc.value.failure.code == "InsecureRedirect" and "http://localhost:9/manifests.yaml" in str(exc.value)
    finally:
        srv.shutdown()
        srv.server_close()


def test_insecure_download_url_refused():
    from wizard.addons.errors import AddonError
    from wizard.addons.kueue import download
    with pytest.raises(AddonError) as exc:
        download("http://example.com/manifests.yaml", 1)
    assert "Only https" in exc.value.why


def test_manifest_order_puts_webhooks_last_and_crds_first():
    from wizard.addons.kueue import ORDER, ordered, parse
    objs = ordered(parse(SHIPPED.read_bytes(), "shipped"))
    kinds = [o["kind"] for o in objs]
    assert kinds[0] == "Namespace" and set(kinds[1:12]) == {"CustomResourceDefinition"}
    assert kinds[-2:] == ["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"]
    ranks = [ORDER.get(k, 6) for k in kinds]
    assert ranks == sorted(ranks)
    assert kinds.index("Deployment") < kinds.index("APIService") < kinds.index("MutatingWebhookConfiguration")


# ------------------------------------------------------------------------------------------ simulator
def test_sim_serves_release_manifest_and_404s_unknown_tags(sim):
    base = kueue_release_base(sim.base_url)
    with urllib.request.urlopen(f"{base}/v0.14.4/manifests.yaml", timeout=5) as resp:
        assert resp.read() == kueue_manifest_path("v0.14.4").read_bytes()
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(f"{base}/v9.9.9/manifests.yaml", timeout=5)
    assert exc.value.code == 404


def test_shipped_manifest_is_the_pinned_release_shape():
    from wizard.addons.kueue import parse
    objs = parse(SHIPPED.read_bytes(), "shipped")
    names = {(o["kind"], o["metadata"]["name"]) for o in objs}
    for want in (("Namespace", "kueue-system"), ("Deployment", "kueue-controller-manager"),
                 ("Service", "kueue-webhook-service"), ("ConfigMap", "kueue-manager-config"),
                 ("MutatingWebhookConfiguration", "kueue-mutating-webhook-configuration"),
                 ("ValidatingWebhookConfiguration", "kueue-validating-webhook-configuration"),
                 ("ClusterRole", "kueue-manager-role"), ("APIService", "v1beta1.visibility.kueue.x-k8s.io")):
        assert want in names
    crds = {o["metadata"]["name"]: o for o in objs if o["kind"] == "CustomResourceDefinition"}
    for plural in ("clusterqueues", "localqueues", "resourceflavors", "workloads", "admissionchecks",
                   "workloadpriorityclasses"):
        versions = crds[f"{plural}.kueue.x-k8s.io"]["spec"]["versions"]
        assert [(v["name"], v["served"], v["storage"]) for v in versions] == [("v1beta1", True, False),
                                                                              ("v1beta2", True, True)]


def test_sim_monitor_requires_provider_registration(sim):
    from azure.core.exceptions import HttpResponseError, ResourceExistsError
    from azure.mgmt.monitor import models as mm

    from tests.support.preflight import sim_conn

    conn = sim_conn(sim)
    rm = conn.resources
    rm.resource_groups.create_or_update("rg1", {"location": "eastus2"})
    mon = conn.monitor_for()
    # our clients never register a provider behind the caller's back: the 409 reaches the caller, nothing is sent
    before = len(sim.request_log)
    with pytest.raises(ResourceExistsError) as refused:
        mon.azure_monitor_workspaces.create("rg1", "amw1", mm.AzureMonitorWorkspaceResource(location="eastus2"))
    assert refused.value.error.code == "MissingSubscriptionRegistration" and "Microsoft.Monitor" in str(refused.value)
    assert [(r.method, r.status) for r in sim.request_log[before:]] == [("PUT", 409)]
    # reads of an unregistered namespace are refused too, as ARM does
    with pytest.raises(ResourceExistsError):
        mon.azure_monitor_workspaces.get("rg1", "amw1")
    rm.providers.register("Microsoft.Monitor")  # the explicit step (apply's monitoring step does this)
    sim.release()  # the registration completes now
    assert rm.providers.get("Microsoft.Monitor").registration_state == "Registered"
    ws = mon.azure_monitor_workspaces.create("rg1", "amw1", mm.AzureMonitorWorkspaceResource(location="eastus2"))
    assert ws.id.endswith("/providers/Microsoft.Monitor/accounts/amw1")
    rm.providers.register("Microsoft.Insights")
    sim.release()
    with pytest.raises(HttpResponseError) as exc:
        mon.data_collection_rules.create("rg1", "dcr1", body=mm.DataCollectionRuleResource(
            location="eastus2", destinations=mm.DataCollectionRuleDestinations(monitoring_accounts=[
                mm.MonitoringAccountDestination(account_resource_id=ws.id + "x", name="a")])))
    assert exc.value.status_code == 400
    listed = [x.name for x in rm.resources.list_by_resource_group("rg1")]
    assert "amw1" in listed


def test_sim_workspace_delete_is_long_running_as_the_sdk_expects(sim):
    """Microsoft.Monitor/accounts DELETE (api 2023-04-03): 202 with Location, Deleting until its operation ends,
    a write meanwhile refused, then 404; deleting what is not there is 204. The SDK's own poller drives it."""
    from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
    from azure.mgmt.monitor import models as mm

    from tests.support.preflight import sim_conn

    conn = sim_conn(sim)
    conn.resources.resource_groups.create_or_update("rg1", {"location": "eastus2"})
    conn.resources.providers.register("Microsoft.Monitor")
    sim.release()
    mon = conn.monitor_for()
    mon.azure_monitor_workspaces.create("rg1", "amw1", mm.AzureMonitorWorkspaceResource(location="eastus2"))
    sim.hold()
    poller = mon.azure_monitor_workspaces.begin_delete("rg1", "amw1")
    delete = next(r for r in reversed(sim.request_log) if r.method == "DELETE")
    assert delete.status == 202
    assert mon.azure_monitor_workspaces.get("rg1", "amw1").provisioning_state == "Deleting"
    with pytest.raises(HttpResponseError) as busy:
        mon.azure_monitor_workspaces.create("rg1", "amw1", mm.AzureMonitorWorkspaceResource(location="eastus2"))
    assert busy.value.status_code == 409
    assert not poller.done()
    sim.release()
    poller.result()
    with pytest.raises(ResourceNotFoundError):
        mon.azure_monitor_workspaces.get("rg1", "amw1")
    mark = len(sim.request_log)
    mon.azure_monitor_workspaces.begin_delete("rg1", "amw1").result()
    assert [(r.method, r.status) for r in sim.request_log[mark:]] == [("DELETE", 204)]


def test_default_workspace_region_follows_azure_cli():
    """azure-cli's get_default_mac_region: the cluster's region when Microsoft.Monitor offers workspaces there,
    else the first region it lists; centraluseuap -> eastus2euap; none listed -> the cloud's default."""
    from wizard.azure.monitor import mac_region

    offered = ["eastus", "westus3", "westeurope"]
    assert mac_region("westus3", offered=offered) == "westus3"
    assert mac_region("West US 3", offered=offered) == "westus3"
    assert mac_region("brazilsouth", offered=offered) == "eastus"
    assert mac_region("centraluseuap", offered=offered) == "eastus2euap"
    assert mac_region("westus3") == "eastus"
    assert mac_region("usgovarizona", "AzureUSGovernment") == "usgovvirginia"
    assert mac_region("chinaeast3", "AzureChinaCloud") == "chinanorth3"
