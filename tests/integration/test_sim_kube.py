"""The simulated Kubernetes API, driven over HTTP by the real `kubernetes` client (and its DynamicClient)."""

from __future__ import annotations

import copy
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from kubernetes import client as k8s
from kubernetes.client.rest import ApiException
from kubernetes.dynamic import DynamicClient
from prometheus_client.parser import text_string_to_metric_families

from wizard.sim.kube import KUBE_TOKEN, KubeWorld
from wizard.sim.kube import names as N

KUBE_ID = "c0ffee01"

CLUSTER = {
    "id": "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-ai/providers/"
          "Microsoft.ContainerService/managedClusters/aks-ai",
    "name": "aks-ai", "location": "eastus",
    "properties": {
        "kubernetesVersion": "1.34", "currentKubernetesVersion": "1.34.2",
        "agentPoolProfiles": [
            {"name": "system", "count": 2, "vmSize": "Standard_D4s_v5", "mode": "System"},
            {"name": "gpu", "count": 1, "vmSize": "Standard_NC12s_v3", "mode": "User", "enableAutoScaling": True,
             "minCount": 1, "maxCount": 3, "nodeTaints": ["sku=gpu:NoSchedule"], "nodeLabels": {"workload": "ai"},
             "gpuProfile": {"driver": "Install", "nvidia": {"managementMode": "Managed"}}},
        ],
        "serviceMeshProfile": {"mode": "Istio", "istio": {"revisions": ["asm-1-26"]}},
        "ingressProfile": {"gatewayAPI": {"installation": "Standard"}},
        "workloadAutoScalerProfile": {"keda": {"enabled": True}},
        "aiToolchainOperatorProfile": {"enabled": True},
        "azureMonitorProfile": {"metrics": {"enabled": True}},
        "oidcIssuerProfile": {"enabled": True},
    },
}


def _pools(cluster: dict) -> list[dict]:
    return [{"name": p["name"], "properties": {k: v for k, v in p.items() if k != "name"}}
            for p in cluster["properties"]["agentPoolProfiles"]]


class _Handler(BaseHTTPRequestHandler):
    world: KubeWorld = None  # type: ignore[assignment]
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else ~40 ms per keep-alive request (delayed ACK)

    def _serve(self):
        url = urlsplit(self.path)
        parts = url.path.split("/", 3)  # '', 'k8s', id, rest
        if len(parts) < 3 or parts[1] != "k8s":
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        rest = "/" + (parts[3] if len(parts) > 3 else "")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        code, headers, out = self.world.handle(parts[2], self.command, rest, parse_qs(url.query, keep_blank_values=True),
                                               dict(self.headers.items()), body)
        self.send_response(code)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, *args):  # quiet
        pass


@pytest.fixture
def world():
    w = KubeWorld()
    w.sync_cluster(KUBE_ID, CLUSTER, _pools(CLUSTER))
    return w


@pytest.fixture
def server(world):
    handler = type("H", (_Handler,), {"world": world})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()


def _api(server, token: str | None = KUBE_TOKEN, kube_id: str = KUBE_ID) -> k8s.ApiClient:
    cfg = k8s.Configuration(host=f"http://127.0.0.1:{server.server_address[1]}/k8s/{kube_id}",
                            api_key={"authorization": f"Bearer {token}"} if token else {})
    return k8s.ApiClient(cfg)


@pytest.fixture
def api(server):
    with _api(server) as a:
        yield a


@pytest.fixture
def dyn(api, tmp_path):
    return DynamicClient(api, cache_file=str(tmp_path / "discovery.json"))


def _cond(conditions, type_):
    for c in conditions or []:
        if c.type == type_:
            return c.status
    return None


# ------------------------------------------------------------------------------------------------------

def test_version_and_core_discovery(api):
    v = k8s.VersionApi(api).get_code()
    assert v.git_version == "v1.34.2" and v.major == "1" and v.minor == "34"
    core = k8s.CoreApi(api).get_api_versions()
    assert core.versions == ["v1"]
    res = k8s.CoreV1Api(api).get_api_resources()
    names = {r.name for r in res.resources}
    assert {"pods", "nodes", "services", "pods/log", "services/proxy", "nodes/proxy"} <= names


def test_apis_discovery_is_1_34(api):
    groups = {g.name: g for g in k8s.ApisApi(api).get_api_versions().groups}
    assert groups["resource.k8s.io"].preferred_version.version == "v1"
    assert [v.version for v in groups["resource.k8s.io"].versions] == ["v1"]
    assert "storagemigration.k8s.io" not in groups and "internal.apiserver.k8s.io" not in groups
    assert [v.version for v in groups["autoscaling"].versions] == ["v2", "v1"]
    assert "gateway.networking.k8s.io" in groups and "metrics.k8s.io" in groups
    dra = api.call_api(*api.param_serialize("GET", "/apis/resource.k8s.io/v1", auth_settings=["BearerToken"]))
    dra.read()
    doc = json.loads(dra.data)
    byname = {r["name"]: r for r in doc["resources"]}
    for name in ("deviceclasses", "resourceclaims", "resourceclaimtemplates", "resourceslices"):
        assert {"create", "update", "list", "patch", "delete", "get", "watch"} <= set(byname[name]["verbs"])
    adm = json.loads(_raw(api, "/apis/admissionregistration.k8s.io/v1"))
    assert "mutatingadmissionpolicies" not in {r["name"] for r in adm["resources"]}


def _raw(api, path, method="GET"):
    r = api.call_api(*api.param_serialize(method, path, auth_settings=["BearerToken"]))
    r.read()
    return r.data


def test_unauthorized_and_unknown_cluster(server):
    with _api(server, token=None) as a:
        with pytest.raises(ApiException) as ei:
            k8s.CoreV1Api(a).list_namespace()
        assert ei.value.status == 401
        assert json.loads(ei.value.body)["reason"] == "Unauthorized"
    with _api(server, token="wrong") as a:
        with pytest.raises(ApiException) as ei:
            k8s.CoreV1Api(a).list_node()
        assert ei.value.status == 401
    with _api(server, kube_id="nope") as a:
        with pytest.raises(ApiException) as ei:
            k8s.CoreV1Api(a).list_node()
        assert ei.value.status == 404


def test_nodes_from_pools(api):
    core = k8s.CoreV1Api(api)
    nodes = core.list_node().items
    assert len(nodes) == 3
    by_pool: dict[str, list] = {}
    for n in nodes:
        by_pool.setdefault(n.metadata.labels[N.LABEL_AGENTPOOL], []).append(n)
        assert n.status.node_info.kubelet_version == "v1.34.2"
        assert _cond(n.status.conditions, "Ready") == "True"
        assert n.metadata.labels["kubernetes.io/os"] == "linux"
    assert len(by_pool["system"]) == 2
    gpu = by_pool["gpu"][0]
    assert gpu.metadata.name.startswith("aks-gpu-") and gpu.metadata.name.endswith("-vmss000000")
    assert gpu.metadata.labels[N.LABEL_INSTANCE_TYPE] == "Standard_NC12s_v3"
    assert gpu.metadata.labels[N.LABEL_ACCELERATOR] == "nvidia"
    assert gpu.metadata.labels["workload"] == "ai"
    assert gpu.metadata.labels[N.LABEL_DCGM_EXPORTER] == "enabled"
    assert gpu.status.allocatable[N.GPU_RESOURCE] == "2"
    assert gpu.status.capacity["cpu"] == "12"
    assert [(t.key, t.value, t.effect) for t in gpu.spec.taints] == [("sku", "gpu", "NoSchedule")]
    system = by_pool["system"][0]
    assert N.GPU_RESOURCE not in system.status.allocatable
    assert system.status.capacity["cpu"] == "4"
    assert _cond(gpu.status.conditions, N.NODE_CONDITION_DEVICE_PLUGIN) == "False"
    # field selector
    one = core.list_node(field_selector=f"metadata.name={gpu.metadata.name}").items
    assert [n.metadata.name for n in one] == [gpu.metadata.name]
    sel = core.list_node(label_selector=f"{N.LABEL_AGENTPOOL} in (gpu),accelerator=nvidia").items
    assert len(sel) == 1
    assert len(core.list_node(label_selector="!accelerator").items) == 2


def test_namespaces_and_system_deployments(api):
    core, apps = k8s.CoreV1Api(api), k8s.AppsV1Api(api)
    ns = {n.metadata.name: n for n in core.list_namespace().items}
    assert {"default", "kube-system", "kube-public", "kube-node-lease", N.ISTIO_SYSTEM_NS, N.ISTIO_INGRESS_NS} <= set(ns)
    assert all(n.status.phase == "Active" for n in ns.values())
    deps = {d.metadata.name: d for d in apps.list_namespaced_deployment(N.KUBE_SYSTEM).items}
    for name in (N.COREDNS_DEPLOYMENT, N.METRICS_SERVER_DEPLOYMENT, N.KEDA_OPERATOR, N.KEDA_METRICS_APISERVER,
                 N.KEDA_ADMISSION_WEBHOOKS, N.KAITO_DEPLOYMENT, N.AMA_METRICS_DEPLOYMENT, N.AMA_METRICS_KSM_DEPLOYMENT):
        d = deps[name]
        assert d.status.available_replicas >= d.spec.replicas, name
        assert _cond(d.status.conditions, "Available") == "True"
    istiod = apps.read_namespaced_deployment("istiod-asm-1-26", N.ISTIO_SYSTEM_NS)
    assert istiod.status.ready_replicas == 2
    pods = core.list_namespaced_pod(N.KUBE_SYSTEM, label_selector="k8s-app=kube-dns").items
    assert len(pods) == 2 and all(p.status.phase == "Running" and p.spec.node_name for p in pods)
    ds = {d.metadata.name: d for d in apps.list_namespaced_daemon_set(N.KUBE_SYSTEM).items}
    assert ds[N.DEVICE_PLUGIN_DAEMONSET].status.number_ready == 1  # one GPU node
    assert ds[N.AMA_METRICS_NODE_DAEMONSET].status.number_ready == 3  # every linux node
    cm = core.read_namespaced_config_map(N.AUTOSCALER_STATUS_CONFIGMAP, N.KUBE_SYSTEM)
    assert "aks-gpu-" in cm.data["status"] and "minSize: 1" in cm.data["status"] and "maxSize: 3" in cm.data["status"]
    with pytest.raises(ApiException) as ei:
        core.read_namespaced_config_map(N.AMA_METRICS_SETTINGS_CONFIGMAP, N.KUBE_SYSTEM)
    assert ei.value.status == 404
    body = json.loads(ei.value.body)
    assert body["reason"] == "NotFound" and body["details"]["name"] == N.AMA_METRICS_SETTINGS_CONFIGMAP


def test_crds_apiservices_webhooks(api):
    ext, reg = k8s.ApiextensionsV1Api(api), k8s.ApiregistrationV1Api(api)
    for name in N.GATEWAY_API_CRDS + N.KEDA_CRDS + N.KAITO_CRDS + N.AMA_CRDS:
        crd = ext.read_custom_resource_definition(name)
        assert _cond(crd.status.conditions, "Established") == "True", name
        assert _cond(crd.status.conditions, "NamesAccepted") == "True", name
    httproutes = ext.read_custom_resource_definition("httproutes.gateway.networking.k8s.io")
    assert "v1" in [v.name for v in httproutes.spec.versions if v.served]
    assert httproutes.metadata.annotations["gateway.networking.k8s.io/bundle-version"] == "v1.3.0"
    assert httproutes.metadata.annotations["gateway.networking.k8s.io/channel"] == "standard"
    for name in (N.METRICS_APISERVICE, N.EXTERNAL_METRICS_APISERVICE):
        svc = reg.read_api_service(name)
        assert _cond(svc.status.conditions, "Available") == "True", name
    assert reg.read_api_service(N.EXTERNAL_METRICS_APISERVICE).spec.service.name == N.KEDA_METRICS_APISERVER
    adm = k8s.AdmissionregistrationV1Api(api)
    kaito = adm.read_validating_webhook_configuration(N.KAITO_WEBHOOK_CONFIG)
    assert kaito.webhooks[0].client_config.ca_bundle and kaito.webhooks[0].side_effects == "None"
    assert adm.read_validating_webhook_configuration(N.KEDA_WEBHOOK_CONFIG).webhooks[0].client_config.ca_bundle
    inj = adm.read_mutating_webhook_configuration("istio-sidecar-injector-asm-1-26")
    assert inj.webhooks[0].client_config.ca_bundle


def test_gateway_class_and_gateway_programmed(api):
    co, core, apps = k8s.CustomObjectsApi(api), k8s.CoreV1Api(api), k8s.AppsV1Api(api)
    gcs = co.list_cluster_custom_object("gateway.networking.k8s.io", "v1", "gatewayclasses")["items"]
    istio = next(g for g in gcs if g["metadata"]["name"] == "istio")
    assert istio["spec"]["controllerName"] == N.ISTIO_GATEWAY_CONTROLLER
    assert {c["type"]: c["status"] for c in istio["status"]["conditions"]}["Accepted"] == "True"
    core.create_namespace({"metadata": {"name": "aicv-gw"}})
    apps.create_namespaced_deployment("aicv-gw", {
        "metadata": {"name": "echo"}, "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "echo"}},
                                               "template": {"metadata": {"labels": {"app": "echo"}}, "spec": {
                                                   "containers": [{"name": "echo", "image": "registry.k8s.io/e2e-test-images/agnhost:2.39",
                                                                   "args": ["netexec", "--http-port=8080"]}]}}}})
    core.create_namespaced_service("aicv-gw", {"metadata": {"name": "echo"}, "spec": {
        "selector": {"app": "echo"}, "ports": [{"port": 80, "targetPort": 8080}]}})
    co.create_namespaced_custom_object("gateway.networking.k8s.io", "v1", "aicv-gw", "gateways", {
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
        "metadata": {"name": "gw", "annotations": {"networking.istio.io/service-type": "ClusterIP"}},
        "spec": {"gatewayClassName": "istio", "listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}]}})
    co.create_namespaced_custom_object("gateway.networking.k8s.io", "v1", "aicv-gw", "httproutes", {
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": "r"},
        "spec": {"parentRefs": [{"name": "gw"}], "rules": [
            {"backendRefs": [{"name": "echo", "port": 80, "weight": 80}, {"name": "missing", "port": 80, "weight": 20}]}]}})
    gw = co.get_namespaced_custom_object("gateway.networking.k8s.io", "v1", "aicv-gw", "gateways", "gw")
    conds = {c["type"]: c["status"] for c in gw["status"]["conditions"]}
    assert conds == {"Accepted": "True", "Programmed": "True"}
    assert gw["status"]["addresses"] and gw["status"]["listeners"][0]["attachedRoutes"] == 1
    route = co.get_namespaced_custom_object("gateway.networking.k8s.io", "v1", "aicv-gw", "httproutes", "r")
    parent = route["status"]["parents"][0]
    rc = {c["type"]: (c["status"], c["reason"]) for c in parent["conditions"]}
    assert rc["Accepted"][0] == "True" and rc["ResolvedRefs"] == ("False", "BackendNotFound")
    co.patch_namespaced_custom_object("gateway.networking.k8s.io", "v1", "aicv-gw", "httproutes", "r",
                                      {"spec": {"rules": [{"backendRefs": [{"name": "echo", "port": 80}]}]}})
    route = co.get_namespaced_custom_object("gateway.networking.k8s.io", "v1", "aicv-gw", "httproutes", "r")
    rc = {c["type"]: c["status"] for c in route["status"]["parents"][0]["conditions"]}
    assert rc == {"Accepted": "True", "ResolvedRefs": "True"}
    # the agnhost echo answers through the service proxy
    assert core.connect_get_namespaced_service_proxy_with_path("echo:80", "aicv-gw", "hostname").startswith("echo-")
    # deleting the namespace removes everything in it
    core.delete_namespace("aicv-gw")
    assert not co.list_namespaced_custom_object("gateway.networking.k8s.io", "v1", "aicv-gw", "gateways")["items"]
    assert "aicv-gw" not in {n.metadata.name for n in core.list_namespace().items}


def test_dynamic_client_discovers_crd_group_and_server_side_apply(dyn):
    crd_body = {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "clusterqueues.kueue.x-k8s.io"},
        "spec": {"group": "kueue.x-k8s.io", "scope": "Cluster",
                 "names": {"plural": "clusterqueues", "singular": "clusterqueue", "kind": "ClusterQueue",
                           "shortNames": ["cq"]},
                 "versions": [{"name": "v1beta1", "served": True, "storage": True, "subresources": {"status": {}},
                               "schema": {"openAPIV3Schema": {"type": "object",
                                                              "x-kubernetes-preserve-unknown-fields": True}}}]}}
    crds = dyn.resources.get(api_version="apiextensions.k8s.io/v1", kind="CustomResourceDefinition")
    first = crds.server_side_apply(body=crd_body, field_manager="aks-ai-wizard", force_conflicts=True)
    again = crds.server_side_apply(body=crd_body, field_manager="aks-ai-wizard", force_conflicts=True)
    assert first.metadata.resourceVersion == again.metadata.resourceVersion  # no-op apply
    assert {c.type: c.status for c in again.status.conditions}["Established"] == "True"
    assert any(m.manager == "aks-ai-wizard" and m.operation == "Apply" for m in again.metadata.managedFields)
    dyn.resources.invalidate_cache()
    cq = dyn.resources.get(api_version="kueue.x-k8s.io/v1beta1", kind="ClusterQueue")
    assert cq.namespaced is False and cq.name == "clusterqueues"
    obj = cq.create(body={"apiVersion": "kueue.x-k8s.io/v1beta1", "kind": "ClusterQueue",
                          "metadata": {"name": "aicv-cq"}, "spec": {"namespaceSelector": {}}})
    assert obj.metadata.generation == 1 and obj.metadata.uid
    # a Deployment applied twice: the second apply changes nothing, a changed apply bumps generation
    dep = {"apiVersion": "apps/v1", "kind": "Deployment",
           "metadata": {"name": "kueue-controller-manager", "namespace": "default", "labels": {"app": "kueue"}},
           "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "kueue"}},
                    "template": {"metadata": {"labels": {"app": "kueue"}},
                                 "spec": {"containers": [{"name": "manager", "image": "registry.k8s.io/kueue/kueue:v0.14.1"}]}}}}
    deps = dyn.resources.get(api_version="apps/v1", kind="Deployment")
    a1 = deps.server_side_apply(body=dep, field_manager="aks-ai-wizard", force_conflicts=True)
    a2 = deps.server_side_apply(body=dep, field_manager="aks-ai-wizard", force_conflicts=True)
    assert a1.metadata.resourceVersion == a2.metadata.resourceVersion
    assert a2.status.availableReplicas == 1
    # another manager changing an owned field conflicts unless forced
    dep2 = {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "kueue-controller-manager", "namespace": "default"}, "spec": {"replicas": 2}}
    with pytest.raises(ApiException) as ei:
        deps.server_side_apply(body=dep2, field_manager="someone-else")
    assert ei.value.status == 409 and "conflict with \"aks-ai-wizard\"" in json.loads(ei.value.body)["message"]
    a3 = deps.server_side_apply(body=dep2, field_manager="someone-else", force_conflicts=True)
    assert a3.spec.replicas == 2 and a3.metadata.generation == 2
    assert int(a3.metadata.resourceVersion) > int(a2.metadata.resourceVersion)
    # dropping a field from the applied config removes it
    dep3 = copy.deepcopy(dep)
    del dep3["metadata"]["labels"]
    with pytest.raises(ApiException) as ei:  # replicas now belong to someone-else
        deps.server_side_apply(body=dep3, field_manager="aks-ai-wizard")
    assert ei.value.status == 409
    a4 = deps.server_side_apply(body=dep3, field_manager="aks-ai-wizard", force_conflicts=True)
    assert not (a4.metadata.labels or {}).get("app") and a4.spec.replicas == 1
    managers = {(m.manager, m.operation) for m in a4.metadata.managedFields}
    assert ("aks-ai-wizard", "Apply") in managers and ("someone-else", "Apply") not in managers


def test_dry_run_create_and_errors(api):
    core = k8s.CoreV1Api(api)
    res = k8s.ResourceV1Api(api)
    body = {"metadata": {"name": "aicv-gpu"}, "spec": {"spec": {"devices": {"requests": [
        {"name": "gpu", "exactly": {"deviceClassName": "gpu.nvidia.com"}}]}}}}
    out = res.create_namespaced_resource_claim_template("default", body, dry_run="All")
    assert out.metadata.name == "aicv-gpu"
    assert res.list_namespaced_resource_claim_template("default").items == []
    cm = {"metadata": {"name": "x"}, "data": {"a": "1"}}
    core.create_namespaced_config_map("default", cm)
    with pytest.raises(ApiException) as ei:
        core.create_namespaced_config_map("default", cm)
    assert ei.value.status == 409 and json.loads(ei.value.body)["reason"] == "AlreadyExists"
    with pytest.raises(ApiException) as ei:
        core.create_namespaced_config_map("default", {"metadata": {"name": "Bad_Name"}})
    assert ei.value.status == 422 and json.loads(ei.value.body)["details"]["causes"][0]["field"] == "metadata.name"
    with pytest.raises(ApiException) as ei:
        core.create_namespaced_config_map("no-such-ns", cm)
    assert ei.value.status == 404
    with pytest.raises(ApiException) as ei:
        k8s.AppsV1Api(api).create_namespaced_deployment("default", {
            "metadata": {"name": "bad"}, "spec": {"selector": {"matchLabels": {"a": "b"}},
                                                  "template": {"metadata": {"labels": {"a": "c"}},
                                                               "spec": {"containers": [{"name": "c", "image": "i"}]}}}})
    assert ei.value.status == 422
    old = core.read_namespaced_config_map("x", "default")
    core.patch_namespaced_config_map("x", "default", {"data": {"b": "2"}})
    new = core.read_namespaced_config_map("x", "default")
    assert new.data == {"a": "1", "b": "2"} and int(new.metadata.resource_version) > int(old.metadata.resource_version)
    old.data = {"c": "3"}
    with pytest.raises(ApiException) as ei:  # stale resourceVersion
        core.replace_namespaced_config_map("x", "default", old)
    assert ei.value.status == 409 and json.loads(ei.value.body)["reason"] == "Conflict"
    # json patch
    core.patch_namespaced_config_map("x", "default", [{"op": "remove", "path": "/data/a"}],
                                     _content_type="application/json-patch+json")
    assert core.read_namespaced_config_map("x", "default").data == {"b": "2"}
    gen = core.create_namespaced_config_map("default", {"metadata": {"generateName": "probe-"}})
    assert gen.metadata.name.startswith("probe-") and len(gen.metadata.name) == len("probe-") + 5


def test_kaito_webhook_denies_invalid_workspace(api):
    co = k8s.CustomObjectsApi(api)
    bad = {"apiVersion": "kaito.sh/v1beta1", "kind": "Workspace", "metadata": {"name": "aicv-bad"}}
    with pytest.raises(ApiException) as ei:
        co.create_namespaced_custom_object("kaito.sh", "v1beta1", "default", "workspaces", bad, dry_run="All")
    assert ei.value.status == 400
    assert 'admission webhook "validation.workspace.kaito.sh" denied the request' in json.loads(ei.value.body)["message"]
    good = {**bad, "metadata": {"name": "aicv-good"},
            "resource": {"instanceType": "Standard_NC24ads_A100_v4", "labelSelector": {"matchLabels": {"apps": "phi"}}},
            "inference": {"preset": {"name": "phi-4-mini-instruct"}}}
    out = co.create_namespaced_custom_object("kaito.sh", "v1beta1", "default", "workspaces", good, dry_run="All")
    assert out["metadata"]["name"] == "aicv-good"
    assert co.list_namespaced_custom_object("kaito.sh", "v1beta1", "default", "workspaces")["items"] == []
    # strategic merge patch is not accepted for custom resources (as kube-apiserver)
    co.create_namespaced_custom_object("kaito.sh", "v1beta1", "default", "workspaces", good)
    with pytest.raises(ApiException) as ei:
        co.patch_namespaced_custom_object("kaito.sh", "v1beta1", "default", "workspaces", "aicv-good",
                                          {"metadata": {"labels": {"a": "b"}}},
                                          _content_type="application/strategic-merge-patch+json")
    assert ei.value.status == 415


def test_dcgm_metrics_through_service_and_node_proxy(api):
    core = k8s.CoreV1Api(api)
    text = core.connect_get_namespaced_service_proxy_with_path(
        f"{N.DCGM_EXPORTER_SERVICE}:{N.DCGM_EXPORTER_PORT}", N.KUBE_SYSTEM, "metrics")
    fams = {f.name: f for f in text_string_to_metric_families(text)}
    for metric in ("DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_FB_FREE", "DCGM_FI_DEV_GPU_TEMP",
                   "DCGM_FI_DEV_POWER_USAGE"):
        assert metric in fams, metric
    util = fams["DCGM_FI_DEV_GPU_UTIL"].samples
    assert len({s.labels["UUID"] for s in util}) == 2  # NC12s_v3: 2 GPUs
    assert {s.labels["modelName"] for s in util} == {"Tesla V100-PCIE-16GB"}
    assert all(s.labels["Hostname"].startswith("aks-gpu-") and s.value == 0 for s in util)
    gpu_node = core.list_node(label_selector=f"{N.LABEL_DCGM_EXPORTER}=enabled").items[0].metadata.name
    node_text = core.connect_get_node_proxy_with_path(f"{gpu_node}:{N.DCGM_NODE_PROXY_PORT}", "metrics")
    assert "DCGM_FI_DEV_FB_FREE" in node_text
    with pytest.raises(ApiException) as ei:
        core.connect_get_namespaced_service_proxy_with_path("kube-dns:53", N.KUBE_SYSTEM, "metrics")
    assert ei.value.status == 503


def test_gpu_scheduling_and_probe_logs(api):
    core = k8s.CoreV1Api(api)
    core.create_namespace({"metadata": {"name": "aicv-gpu"}})
    tol = [{"key": "sku", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}]

    def pod(name, gpus, cmd="ls /dev/nvidia[0-9]* | wc -l", restart="Never"):
        ctr = {"name": "c", "image": "ubuntu:22.04", "command": ["sh", "-c", cmd]}
        if gpus:
            ctr["resources"] = {"limits": {N.GPU_RESOURCE: str(gpus)}}
        return {"metadata": {"name": name}, "spec": {"restartPolicy": restart, "tolerations": tol,
                                                      "nodeSelector": {N.LABEL_AGENTPOOL: "gpu"}, "containers": [ctr]}}
    core.create_namespaced_pod("aicv-gpu", pod("one", 1))
    p = core.read_namespaced_pod("one", "aicv-gpu")
    assert p.status.phase == "Succeeded" and p.spec.node_name.startswith("aks-gpu-")
    assert core.read_namespaced_pod_log("one", "aicv-gpu").strip() == "1"
    core.create_namespaced_pod("aicv-gpu", pod("none", 0))
    assert core.read_namespaced_pod_log("none", "aicv-gpu").strip() == "0"
    # two long-running GPU pods fill the node; a third is unschedulable
    core.create_namespaced_pod("aicv-gpu", pod("a", 1, "sleep 3600", "Always"))
    core.create_namespaced_pod("aicv-gpu", pod("b", 1, "sleep 3600", "Always"))
    assert core.read_namespaced_pod("b", "aicv-gpu").status.phase == "Running"
    third = pod("c", 1, "sleep 3600", "Always")  # pinned to that node: the autoscaler cannot help it
    third["spec"]["nodeSelector"]["kubernetes.io/hostname"] = core.read_namespaced_pod("b", "aicv-gpu").spec.node_name
    core.create_namespaced_pod("aicv-gpu", third)
    c = core.read_namespaced_pod("c", "aicv-gpu")
    assert c.status.phase == "Pending" and c.spec.node_name is None
    sched = next(x for x in c.status.conditions if x.type == "PodScheduled")
    assert sched.status == "False" and sched.reason == "Unschedulable" and "Insufficient nvidia.com/gpu" in sched.message
    # utilisation shows on the allocated GPUs
    text = core.connect_get_namespaced_service_proxy_with_path(f"{N.DCGM_EXPORTER_SERVICE}:9400", N.KUBE_SYSTEM, "metrics")
    util = [s for f in text_string_to_metric_families(text) if f.name == "DCGM_FI_DEV_GPU_UTIL" for s in f.samples]
    assert sorted(s.labels["pod"] for s in util) == ["a", "b"] and all(s.value > 0 for s in util)
    core.delete_namespaced_pod("a", "aicv-gpu")
    assert core.read_namespaced_pod("c", "aicv-gpu").status.phase == "Running"


def test_suspended_job_stays_suspended_and_job_completes(api):
    batch, core = k8s.BatchV1Api(api), k8s.CoreV1Api(api)
    tmpl = {"spec": {"restartPolicy": "Never", "containers": [
        {"name": "c", "image": "busybox", "command": ["sh", "-c", "echo hi"],
         "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}}]}}
    batch.create_namespaced_job("default", {"metadata": {"name": "held", "labels": {"kueue.x-k8s.io/queue-name": "q"}},
                                            "spec": {"suspend": True, "parallelism": 2, "completions": 2,
                                                     "template": tmpl}})
    held = batch.read_namespaced_job("held", "default")
    assert held.spec.suspend is True and not held.status.active
    assert core.list_namespaced_pod("default", label_selector="job-name=held").items == []
    batch.create_namespaced_job("default", {"metadata": {"name": "run"},
                                            "spec": {"parallelism": 2, "completions": 2, "template": tmpl}})
    run = batch.read_namespaced_job("run", "default")
    assert run.status.succeeded == 2 and _cond(run.status.conditions, "Complete") == "True"
    pods = core.list_namespaced_pod("default", label_selector="job-name=run").items
    assert len(pods) == 2 and all(p.spec.node_name for p in pods)
    assert core.read_namespaced_pod_log(pods[0].metadata.name, "default").strip() == "hi"
    batch.delete_namespaced_job("run", "default", propagation_policy="Background")
    assert core.list_namespaced_pod("default", label_selector="job-name=run").items == []


def test_options_removed_on_resync(world, api):
    ext, core, apps = k8s.ApiextensionsV1Api(api), k8s.CoreV1Api(api), k8s.AppsV1Api(api)
    core.create_namespaced_config_map("default", {"metadata": {"name": "mine"}})
    off = copy.deepcopy(CLUSTER)
    p = off["properties"]
    p["workloadAutoScalerProfile"] = {"keda": {"enabled": False}}
    p["aiToolchainOperatorProfile"] = {"enabled": False}
    p["serviceMeshProfile"] = {"mode": "Disabled"}
    p["agentPoolProfiles"] = [p["agentPoolProfiles"][0]]
    world.sync_cluster(KUBE_ID, off, _pools(off))
    names = {c.metadata.name for c in ext.list_custom_resource_definition().items}
    assert not names & set(N.KEDA_CRDS + N.KAITO_CRDS)
    assert set(N.GATEWAY_API_CRDS) <= names  # still enabled
    assert "istio" not in {g["metadata"]["name"] for g in k8s.CustomObjectsApi(api).list_cluster_custom_object(
        "gateway.networking.k8s.io", "v1", "gatewayclasses")["items"]}
    deps = {d.metadata.name for d in apps.list_namespaced_deployment(N.KUBE_SYSTEM).items}
    assert N.KEDA_OPERATOR not in deps and N.KAITO_DEPLOYMENT not in deps and N.COREDNS_DEPLOYMENT in deps
    assert N.ISTIO_SYSTEM_NS not in {n.metadata.name for n in core.list_namespace().items}
    assert len(core.list_node().items) == 2
    with pytest.raises(ApiException):
        k8s.ApiregistrationV1Api(api).read_api_service(N.EXTERNAL_METRICS_APISERVICE)
    with pytest.raises(ApiException):
        core.read_namespaced_config_map(N.AUTOSCALER_STATUS_CONFIGMAP, N.KUBE_SYSTEM)
    assert core.read_namespaced_config_map("mine", "default").metadata.name == "mine"
    # unmanaged GPU pool: nodes without a device plugin advertise no nvidia.com/gpu
    unmanaged = copy.deepcopy(off)
    unmanaged["properties"]["agentPoolProfiles"].append(
        {"name": "gpu2", "count": 1, "vmSize": "Standard_NC4as_T4_v3", "mode": "User"})
    world.sync_cluster(KUBE_ID, unmanaged, _pools(unmanaged))
    gpu2 = core.list_node(label_selector=f"{N.LABEL_AGENTPOOL}=gpu2").items[0]
    assert gpu2.metadata.labels[N.LABEL_ACCELERATOR] == "nvidia"
    assert N.GPU_RESOURCE not in gpu2.status.allocatable
    # ... until a device plugin DaemonSet (the NVIDIA manifest) runs there
    apps.create_namespaced_daemon_set(N.KUBE_SYSTEM, {
        "metadata": {"name": "nvidia-device-plugin-daemonset"},
        "spec": {"selector": {"matchLabels": {"name": "nvidia-device-plugin-ds"}},
                 "template": {"metadata": {"labels": {"name": "nvidia-device-plugin-ds"}},
                              "spec": {"tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists"},
                                                       {"key": "sku", "operator": "Exists"}],
                                       "containers": [{"name": "nvidia-device-plugin-ctr",
                                                       "image": "nvcr.io/nvidia/k8s-device-plugin:v0.17.1"}]}}}})
    gpu2 = core.read_node(gpu2.metadata.name)
    assert gpu2.status.allocatable[N.GPU_RESOURCE] == "1"


def test_state_round_trip(world, api):
    core = k8s.CoreV1Api(api)
    core.create_namespaced_config_map("default", {"metadata": {"name": "persisted"}, "data": {"k": "v"}})
    d = world.to_dict()
    text = json.dumps(d)
    w2 = KubeWorld.from_dict(json.loads(text))
    c1, c2 = world.cluster(KUBE_ID), w2.cluster(KUBE_ID)
    assert c2.objects.keys() == c1.objects.keys() and c2.rv == c1.rv
    assert c2.find("ConfigMap", "persisted", "default")["data"] == {"k": "v"}
    rv = c2.rv
    w2.sync_cluster(KUBE_ID, CLUSTER, _pools(CLUSTER))  # idempotent after restore
    assert c2.rv == rv
    w2.remove_cluster(KUBE_ID)
    assert w2.cluster_ids() == []


def test_status_and_scale_subresources(api):
    co, apps, core = k8s.CustomObjectsApi(api), k8s.AppsV1Api(api), k8s.CoreV1Api(api)
    # a RAGEngine: no simulated controller writes its status (KAITO's workspace controller reconciles Workspaces)
    ws = {"apiVersion": "kaito.sh/v1beta1", "kind": "RAGEngine", "metadata": {"name": "phi"},
          "spec": {"compute": {"instanceType": "Standard_NC24ads_A100_v4"}}, "status": {"ignored": True}}
    created = co.create_namespaced_custom_object("kaito.sh", "v1beta1", "default", "ragengines", ws)
    assert "status" not in created  # status is dropped on create when the status subresource is enabled
    co.patch_namespaced_custom_object_status("kaito.sh", "v1beta1", "default", "ragengines", "phi", {
        "status": {"conditions": [{"type": "WorkspaceSucceeded", "status": "True"}]}})
    got = co.get_namespaced_custom_object("kaito.sh", "v1beta1", "default", "ragengines", "phi")
    assert got["status"]["conditions"][0]["type"] == "WorkspaceSucceeded"
    assert got["metadata"]["generation"] == 1  # status writes do not bump generation
    # a main-resource patch cannot change status
    co.patch_namespaced_custom_object("kaito.sh", "v1beta1", "default", "ragengines", "phi",
                                      {"status": {"conditions": []}, "metadata": {"labels": {"x": "y"}}})
    got = co.get_namespaced_custom_object("kaito.sh", "v1beta1", "default", "ragengines", "phi")
    assert got["status"]["conditions"] and got["metadata"]["labels"] == {"x": "y"}
    # scale a deployment through /scale; pods follow
    apps.patch_namespaced_deployment_scale(N.COREDNS_DEPLOYMENT, N.KUBE_SYSTEM, {"spec": {"replicas": 3}})
    dep = apps.read_namespaced_deployment(N.COREDNS_DEPLOYMENT, N.KUBE_SYSTEM)
    assert dep.spec.replicas == 3 and dep.status.available_replicas == 3
    assert len(core.list_namespaced_pod(N.KUBE_SYSTEM, label_selector="k8s-app=kube-dns").items) == 3
    # deletecollection by label
    for i in range(3):
        core.create_namespaced_config_map("default", {"metadata": {"name": f"p{i}", "labels": {"probe": "yes"}}})
    core.delete_collection_namespaced_config_map("default", label_selector="probe=yes")
    assert core.list_namespaced_config_map("default", label_selector="probe=yes").items == []
