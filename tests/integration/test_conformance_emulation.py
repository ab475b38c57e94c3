"""The simulator's Kueue admission and KEDA (ScaledObject -> HPA) emulation, driven through the real kubernetes
client (wizard.conformance.kube.Kube) the way the conformance probes drive them."""
from __future__ import annotations

from tests.support.conformance import cluster_body, install_kueue, kube, kubeconfig

G = "/apis/kueue.x-k8s.io/v1beta1"


def _cluster(sim, kid: str = "emu"):
    sim.kube.sync_cluster(kid, cluster_body(), [])
    k = kube(kubeconfig(f"{sim.base_url}/k8s/{kid}"))
    return k


def _queues(k, ns: str = "team", cpu: str = "1"):
    k.request("POST", "/api/v1/namespaces", body={"metadata": {"name": ns}})
    k.request("POST", f"{G}/resourceflavors", body={"apiVersion": "kueue.x-k8s.io/v1beta1", "kind": "ResourceFlavor",
                                                    "metadata": {"name": "rf"}})
    k.request("POST", f"{G}/clusterqueues", body={
        "apiVersion": "kueue.x-k8s.io/v1beta1", "kind": "ClusterQueue", "metadata": {"name": "cq"},
        "spec": {"namespaceSelector": {}, "resourceGroups": [{"coveredResources": ["cpu", "memory"], "flavors": [{
            "name": "rf", "resources": [{"name": "cpu", "nominalQuota": cpu}, {"name": "memory", "nominalQuota": "4Gi"}]}]}]}})
    k.request("POST", f"{G}/namespaces/{ns}/localqueues", body={
        "apiVersion": "kueue.x-k8s.io/v1beta1", "kind": "LocalQueue", "metadata": {"name": "lq"},
        "spec": {"clusterQueue": "cq"}})


def _job(k, name: str, n: int, cmd: str = "sleep 5", ns: str = "team"):
    k.request("POST", f"/apis/batch/v1/namespaces/{ns}/jobs", body={
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name, "labels": {"kueue.x-k8s.io/queue-name": "lq"}},
        "spec": {"parallelism": n, "completions": n, "suspend": True, "template": {"spec": {
            "restartPolicy": "Never", "containers": [{"name": "w", "image": "busybox", "command": ["sh", "-c", cmd],
                                                      "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}]}}}})


def _workload(k, job: str, ns: str = "team") -> dict:
    return next(w for w in k.request("GET", f"{G}/namespaces/{ns}/workloads")["items"]
                if w["metadata"]["ownerReferences"][0]["name"] == job)


def _conds(obj: dict) -> dict:
    return {c["type"]: c for c in obj.get("status", {}).get("conditions") or []}


def _pods(k, job: str, ns: str = "team") -> list:
    return k.request("GET", f"/api/v1/namespaces/{ns}/pods", {"labelSelector": f"job-name={job}"})["items"]


def test_kueue_admits_whole_gangs_only(sim):
    k = _cluster(sim)
    install_kueue(k)
    _queues(k)
    # 4 x 100m fits 1 CPU -> Workload admitted, Job unsuspended, all 4 pods at once (long-running: quota stays held)
    _job(k, "fits", 4, "sleep 3600")
    wl = _workload(k, "fits")
    c = _conds(wl)
    assert c["QuotaReserved"]["status"] == "True" and c["Admitted"]["status"] == "True"
    assert wl["metadata"]["name"].startswith("job-fits-") and wl["spec"]["podSets"][0]["count"] == 4
    assert wl["status"]["admission"] == {"clusterQueue": "cq", "podSetAssignments": [{
        "name": "main", "flavors": {"cpu": "rf", "memory": "rf"}, "count": 4,
        "resourceUsage": {"cpu": "400m", "memory": "256Mi"}}]}
    assert k.request("GET", "/apis/batch/v1/namespaces/team/jobs/fits")["spec"]["suspend"] is False
    assert len(_pods(k, "fits")) == 4
    # 20 x 100m can never fit -> pending with Kueue's message, suspended, zero pods
    _job(k, "too-big", 20)
    c = _conds(_workload(k, "too-big"))
    assert "Admitted" not in c and c["QuotaReserved"]["status"] == "False" and c["QuotaReserved"]["reason"] == "Pending"
    assert "insufficient quota for cpu in flavor rf, request > maximum capacity (2 > 1)" in c["QuotaReserved"]["message"]
    assert k.request("GET", "/apis/batch/v1/namespaces/team/jobs/too-big")["spec"]["suspend"] is True
    assert _pods(k, "too-big") == []
    # 8 x 100m fits the quota but not what "fits" leaves unused -> waits, all or nothing
    _job(k, "waits", 8)
    c = _conds(_workload(k, "waits"))
    assert "insufficient unused quota for cpu in flavor rf, 200m more needed" in c["QuotaReserved"]["message"]
    assert _pods(k, "waits") == []
    cq = k.request("GET", f"{G}/clusterqueues/cq")["status"]
    assert (cq["admittedWorkloads"], cq["pendingWorkloads"]) == (1, 2)
    # the first gang goes away -> its quota is released and the waiting gang is admitted whole
    k.request("DELETE", "/apis/batch/v1/namespaces/team/jobs/fits")
    c = _conds(_workload(k, "waits"))
    assert c["Admitted"]["status"] == "True" and len(_pods(k, "waits")) == 8


def test_finished_job_releases_quota_and_unmanaged_jobs_are_left_alone(sim):
    k = _cluster(sim, "emu2")
    install_kueue(k)
    _queues(k)
    _job(k, "short", 10)  # 10 x 100m = all of the quota; the pods finish at once
    wl = _workload(k, "short")
    assert _conds(wl)["Finished"]["status"] == "True"
    _job(k, "next", 10)
    assert _conds(_workload(k, "next"))["Admitted"]["status"] == "True"
    # Kueue configured without the batch/job integration: a queued Job is not Kueue's, it stays as it is
    cm = k.request("GET", "/api/v1/namespaces/kueue-system/configmaps/kueue-manager-config")
    cm["data"]["controller_manager_config.yaml"] = "integrations:\n  frameworks:\n  - kubeflow.org/mpijob\n"
    k.request("PUT", "/api/v1/namespaces/kueue-system/configmaps/kueue-manager-config", body=cm)
    _job(k, "ignored", 1)
    assert all(w["metadata"]["ownerReferences"][0]["name"] != "ignored"
               for w in k.request("GET", f"{G}/namespaces/team/workloads")["items"])
    assert k.request("GET", "/apis/batch/v1/namespaces/team/jobs/ignored")["spec"]["suspend"] is True


def test_keda_scaledobject_gets_an_hpa_on_an_external_metric(sim):
    k = _cluster(sim, "emu3")
    k.request("POST", "/api/v1/namespaces", body={"metadata": {"name": "app"}})
    k.request("POST", "/apis/apps/v1/namespaces/app/deployments", body={
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}}, "template": {
            "metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{
                "name": "c", "image": "busybox", "command": ["sh", "-c", "sleep infinity"],
                "resources": {"requests": {"cpu": "10m"}}}]}}}})
    so = {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": {"name": "web"},
          "spec": {"scaleTargetRef": {"name": "web"}, "minReplicaCount": 1, "maxReplicaCount": 3,
                   "triggers": [{"type": "kubernetes-workload", "metadata": {"podSelector": "app=web", "value": "0.5"}}]}}
    k.request("POST", "/apis/keda.sh/v1alpha1/namespaces/app/scaledobjects", body=so)
    hpa = k.request("GET", "/apis/autoscaling/v2/namespaces/app/horizontalpodautoscalers/keda-hpa-web")
    assert hpa["metadata"]["labels"]["scaledobject.keda.sh/name"] == "web"
    assert hpa["metadata"]["ownerReferences"][0]["kind"] == "ScaledObject"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (1, 3)
    m = hpa["spec"]["metrics"][0]
    assert m["type"] == "External" and m["external"]["metric"]["name"] == "s0-workload-app"
    assert m["external"]["target"] == {"type": "AverageValue", "averageValue": "500m"}
    # 1 pod / 0.5 -> 2; then 2 pods / 0.5 -> 4, limited to the maximum 3: the HPA scales the Deployment
    assert hpa["status"]["desiredReplicas"] == 3
    assert {c["type"]: c["status"] for c in hpa["status"]["conditions"]}["ScalingLimited"] == "True"
    assert k.request("GET", "/apis/apps/v1/namespaces/app/deployments/web")["spec"]["replicas"] == 3
    st = k.request("GET", "/apis/keda.sh/v1alpha1/namespaces/app/scaledobjects/web")["status"]
    conds = {c["type"]: c["status"] for c in st["conditions"]}
    assert conds["Ready"] == "True" and conds["Active"] == "True" and st["hpaName"] == "keda-hpa-web"
    assert st["externalMetricNames"] == ["s0-workload-app"]
    # a ScaledObject whose target does not exist: not Ready, no HPA
    so2 = {**so, "metadata": {"name": "ghost"}, "spec": {**so["spec"], "scaleTargetRef": {"name": "nope"}}}
    k.request("POST", "/apis/keda.sh/v1alpha1/namespaces/app/scaledobjects", body=so2)
    st = k.request("GET", "/apis/keda.sh/v1alpha1/namespaces/app/scaledobjects/ghost")["status"]
    assert {c["type"]: c["status"] for c in st["conditions"]}["Ready"] == "False"
    assert [h["metadata"]["name"] for h in k.request(
        "GET", "/apis/autoscaling/v2/namespaces/app/horizontalpodautoscalers")["items"]] == ["keda-hpa-web"]
