"""Issue 12 item 6 on a busy cluster: hundreds of nodes and over a thousand running pods (the load created the way
a user's workloads would be, through the real kubernetes client). Verification with probes gives no FAIL that the
same cluster without the load would not give (a probe that cannot decide in its time is inconclusive), leaves no
probe namespace or labelled object behind, and finishes within the test timeout."""
from __future__ import annotations

from tests.support.conformance import cluster_body, install_kueue, kube, kubeconfig
from wizard.conformance import VerifyOptions, VerifyTarget, run_verification
from wizard.conformance.probes import PROBE_LABEL

FAST = dict(probes=True, probe_timeout=3.0, gang_negative_seconds=0.3, poll_interval=0.05,
            scale_up_timeout=3.0, scale_down_timeout=3.0)
BUSY_NODES, BUSY_PODS = 300, 1200
LOAD_NS = "busy-load"


def busy_body(nodes: int) -> dict:
    """The conformance cluster (cluster_body) with a system pool of `nodes` nodes."""
    body = cluster_body()
    for pool in body["properties"]["agentPoolProfiles"]:
        if pool["name"] == "system":
            pool["count"] = nodes
    return body


def add_load(k, pods: int) -> None:
    """A Deployment of `pods` small replicas in its own namespace: what a busy cluster runs besides the probes."""
    labels = {"app": "busy-load"}
    k.request("POST", "/api/v1/namespaces", body={"apiVersion": "v1", "kind": "Namespace",
                                                   "metadata": {"name": LOAD_NS}})
    k.request("POST", f"/apis/apps/v1/namespaces/{LOAD_NS}/deployments", body={
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "busy-load"},
        "spec": {"replicas": pods, "selector": {"matchLabels": labels}, "template": {
            "metadata": {"labels": labels},
            "spec": {"containers": [{"name": "app", "image": "registry.k8s.io/e2e-test-images/agnhost:2.53",
                                     "args": ["netexec", "--http-port=8080"],
                                     "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]}}}},
        timeout=120)


def make_cluster(sim, kid: str, nodes: int, pods: int):
    arm = busy_body(nodes)
    sim.kube.sync_cluster(kid, arm, [])
    kc = kubeconfig(f"{sim.base_url}/k8s/{kid}")
    k = kube(kc)
    install_kueue(k)
    if pods:
        add_load(k, pods)
    return kc, arm, k


def verify(kc, arm):
    """Every probe, the billable cluster autoscaling one too (it makes GPU pods pend among the load's pods)."""
    return run_verification(VerifyTarget(kubeconfig=kc, cluster=arm),
                            VerifyOptions(**FAST, billable=("cluster_autoscaling",)))


def _namespaces(k) -> set[str]:
    return {n["metadata"]["name"] for n in k.request("GET", "/api/v1/namespaces")["items"]}


def test_busy_cluster_probes_no_false_fail_and_nothing_left(sim):
    kc, arm, k = make_cluster(sim, "busy", BUSY_NODES, BUSY_PODS)
    nodes = k.request("GET", "/api/v1/nodes")["items"]
    running = [p for p in k.request("GET", f"/api/v1/namespaces/{LOAD_NS}/pods", timeout=60)["items"]
               if p["status"].get("phase") == "Running"]
    assert len(nodes) >= BUSY_NODES and len(running) == BUSY_PODS  # the load is really there
    before = _namespaces(k)

    busy = verify(kc, arm)

    qkc, qarm, _ = make_cluster(sim, "quiet", 2, 0)
    quiet = verify(qkc, qarm)
    got = {r.id: r.status for r in busy.results}
    want = {r.id: r.status for r in quiet.results}
    assert set(got) == set(want)
    assert got["cluster_autoscaling"] == "pass" and busy.result("cluster_autoscaling").proof == "probe"
    assert list(got.values()).count("pass") >= 7  # the probes did run and prove things on the busy cluster
    false = {i: (got[i], want[i], busy.result(i).summary) for i in got
             if got[i] != want[i] and got[i] != "inconclusive"}
    assert not false, false
    # nothing left behind: the namespaces are those from before, no object carries the probes' label
    assert _namespaces(k) == before
    assert len(k.request("GET", "/api/v1/nodes")["items"]) == len(nodes)  # the node the probe added is gone
    assert k.request("GET", "/api/v1/namespaces", {"labelSelector": PROBE_LABEL})["items"] == []
    for plural in ("clusterqueues", "resourceflavors"):
        assert k.request("GET", f"/apis/kueue.x-k8s.io/v1beta1/{plural}", {"labelSelector": PROBE_LABEL})["items"] == []
    for kind_path in ("/api/v1/pods", "/apis/apps/v1/deployments", "/apis/batch/v1/jobs", "/api/v1/services"):
        assert k.request("GET", kind_path, {"labelSelector": PROBE_LABEL}, timeout=60)["items"] == []
    assert len([p for p in k.request("GET", f"/api/v1/namespaces/{LOAD_NS}/pods", timeout=60)["items"]
                if p["status"].get("phase") == "Running"]) == BUSY_PODS  # the probes did not disturb the load
