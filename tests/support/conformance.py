"""Helpers for the conformance tests: ARM JSON of simulated clusters, kubeconfigs for the simulated Kubernetes
API, objects the simulator does not install (Kueue) created through the real kubernetes client, the full cluster created through the real SDK (with managed Prometheus wired), and a gate server in front of a simulated cluster
that answers chosen paths itself (RBAC 403, a group not served)."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

RG, NAME = "rg-ai", "aks-ai"


def cluster_body(*, managed_gpu: bool = True, autoscaled_gpu_pool: bool = True, conflict: bool = False,
                 istio: bool = True, gateway_api: bool = True, keda: bool = True, kaito: bool = True,
                 prometheus: bool = True, gpu_pool: bool = True, version: str = "1.34.3") -> dict:
    pools = [{"name": "system", "mode": "System", "count": 2, "vmSize": "Standard_D4ds_v5"}]
    if gpu_pool:
        gp = {"name": "gpunp", "mode": "User", "count": 1, "vmSize": "Standard_NC4as_T4_v3",
              "nodeTaints": ["sku=gpu:NoSchedule"],
              "gpuProfile": {"driver": "Install", "nvidia": {"managementMode": "Managed" if managed_gpu else "Unmanaged"}}}
        if conflict:
            gp.update(enableAutoScaling=True, minCount=1, maxCount=3)
        pools.append(gp)
    if autoscaled_gpu_pool:
        pools.append({"name": "gpuas", "mode": "User", "count": 1, "vmSize": "Standard_NC4as_T4_v3",
                      "enableAutoScaling": True, "minCount": 1, "maxCount": 3, "nodeTaints": ["sku=gpu:NoSchedule"],
                      "gpuProfile": {"driver": "Install"}})
    props: dict[str, Any] = {"kubernetesVersion": version.rsplit(".", 1)[0], "currentKubernetesVersion": version,
                             "agentPoolProfiles": pools}
    if istio:
        props["serviceMeshProfile"] = {"mode": "Istio", "istio": {"revisions": ["asm-1-27"]}}
    if gateway_api:
        props["ingressProfile"] = {"gatewayAPI": {"installation": "Standard"}}
    props["workloadAutoScalerProfile"] = {"keda": {"enabled": keda}}
    props["aiToolchainOperatorProfile"] = {"enabled": kaito}
    props["azureMonitorProfile"] = {"metrics": {"enabled": prometheus}}
    return {"id": f"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/{RG}/providers/"
                  f"Microsoft.ContainerService/managedClusters/{NAME}",
            "name": NAME, "location": "eastus2", "properties": props}


def kubeconfig(server: str, token: str | None = None) -> bytes:
    from wizard.sim import KUBE_TOKEN

    return yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "sim",
        "clusters": [{"name": "sim", "cluster": {"server": server}}],
        "users": [{"name": "u", "user": {"token": token or KUBE_TOKEN}}],
        "contexts": [{"name": "sim", "context": {"cluster": "sim", "user": "u"}}]}).encode()


def kube(kc: bytes):
    from wizard.conformance.kube import Kube

    return Kube.from_kubeconfig(kc)


# --------------------------------------------------------------------------------------------------- Kueue
def _crd(group: str, plural: str, kind: str, versions=("v1beta1",), scope: str = "Namespaced") -> dict:
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.{group}"},
            "spec": {"group": group, "scope": scope,
                     "names": {"plural": plural, "singular": kind.lower(), "kind": kind, "listKind": kind + "List"},
                     "versions": [{"name": v, "served": True, "storage": i == 0,
                                   "schema": {"openAPIV3Schema": {"type": "object",
                                                                  "x-kubernetes-preserve-unknown-fields": True}},
                                   "subresources": {"status": {}}} for i, v in enumerate(versions)]}}


def install_kueue(k) -> None:
    """What `kubectl apply -f kueue manifests.yaml` leaves (the parts the verifier reads)."""
    g = "kueue.x-k8s.io"
    for plural, kind, scope in (("clusterqueues", "ClusterQueue", "Cluster"), ("localqueues", "LocalQueue", "Namespaced"),
                                ("resourceflavors", "ResourceFlavor", "Cluster"), ("workloads", "Workload", "Namespaced")):
        k.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", body=_crd(g, plural, kind, scope=scope))
    k.request("POST", "/api/v1/namespaces", body={"apiVersion": "v1", "kind": "Namespace",
                                                   "metadata": {"name": "kueue-system"}})
    labels = {"control-plane": "controller-manager"}
    k.request("POST", "/apis/apps/v1/namespaces/kueue-system/deployments", body={
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "kueue-controller-manager"},
        "spec": {"replicas": 1, "selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels},
                 "spec": {"containers": [{"name": "manager", "image": "registry.k8s.io/kueue/kueue:v0.14.4",
                                          "args": ["--config=/controller_manager_config.yaml"],
                                          "resources": {"requests": {"cpu": "10m", "memory": "64Mi"}}}]}}}})
    k.request("POST", "/api/v1/namespaces/kueue-system/services", body={
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "kueue-webhook-service"},
        "spec": {"selector": labels, "ports": [{"port": 443, "targetPort": 9443}]}})
    k.request("POST", "/api/v1/namespaces/kueue-system/configmaps", body={
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kueue-manager-config"},
        "data": {"controller_manager_config.yaml": "waitForPodsReady:\n  enable: true\nintegrations:\n  frameworks:\n"
                                                   "  - batch/job\n"}})
    import base64
    ca = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nfake\n-----END CERTIFICATE-----\n").decode()
    for kind, plural, name in (("ValidatingWebhookConfiguration", "validatingwebhookconfigurations",
                                "kueue-validating-webhook-configuration"),
                               ("MutatingWebhookConfiguration", "mutatingwebhookconfigurations",
                                "kueue-mutating-webhook-configuration")):
        k.request("POST", f"/apis/admissionregistration.k8s.io/v1/{plural}", body={
            "apiVersion": "admissionregistration.k8s.io/v1", "kind": kind, "metadata": {"name": name},
            "webhooks": [{"name": f"v{kind[0].lower()}clusterqueue.kb.io", "admissionReviewVersions": ["v1"],
                          "sideEffects": "None", "failurePolicy": "Ignore",
                          "clientConfig": {"service": {"name": "kueue-webhook-service", "namespace": "kueue-system",
                                                       "path": "/validate"}, "caBundle": ca},
                          "rules": [{"apiGroups": [g], "apiVersions": ["v1beta1"], "resources": ["clusterqueues"],
                                     "operations": ["CREATE", "UPDATE"]}]}]})


# --------------------------------------------------------------------------------------------------- via ARM
def create_via_arm(sim):
    """The full cluster created through the real SDK (preview flags registered first); returns the connection."""
    import time

    from wizard.azure.clouds import resolve_cloud
    from wizard.azure.connection import ArmConnection

    conn = ArmConnection(sim.credential, sim.subscription_id, resolve_cloud("AzureCloud"), base_url=sim.base_url,
                         allow_http=True, polling_interval=0.01, data_plane_base=sim.base_url)
    conn.resources.resource_groups.create_or_update("rg-ai", {"location": "eastus2"})
    for flag in ("ManagedGPUExperiencePreview", "ManagedGatewayAPIPreview"):
        conn.features.features.register("Microsoft.ContainerService", flag)
    time.sleep(0.05)
    body = cluster_body()
    body.pop("id"), body.pop("name")
    body["properties"]["dnsPrefix"] = "aks-ai"
    body["identity"] = {"type": "SystemAssigned"}
    for p in body["properties"]["agentPoolProfiles"]:
        p["osType"] = "Linux"
    conn.aks.managed_clusters.begin_create_or_update("rg-ai", "aks-ai", body).result()
    return conn


def wire_managed_prometheus(conn, sim):
    """What the wizard's monitor-* steps do: providers, workspace, data collection endpoint, rule, association."""
    from wizard.azure import monitor

    names = monitor.names_for(sim.subscription_id, "rg-ai", "aks-ai", "eastus2",
                              offered=monitor.workspace_locations(conn))
    for sub, namespaces in monitor.registrations(names):
        monitor.ensure_providers(conn, namespaces, sub, lambda m: None, lambda s: None, poll=0.0, timeout=5.0)
    monitor.ensure_workspace(conn, names, None, lambda m: None, lambda s: None, 0.0, 5.0, lambda rid: None)
    for part in monitor.PARTS.values():
        monitor.ensure_part(conn, names, part, None, lambda rid: None)



class Gate:
    """HTTP server in front of one simulated cluster: paths in `overrides` get a canned answer, the rest is
    forwarded to KubeWorld.handle. Counts requests."""

    def __init__(self, world, kube_id: str, overrides: dict[str, tuple[int, dict]] | None = None):
        self.world, self.kube_id, self.overrides = world, kube_id, overrides or {}
        self.requests: list[str] = []
        gate = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _serve(self):
                u = urlsplit(self.path)
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                gate.requests.append(f"{self.command} {u.path}")
                if u.path in gate.overrides:
                    code, doc = gate.overrides[u.path]
                    data, hdrs = json.dumps(doc).encode(), {"Content-Type": "application/json"}
                else:
                    code, hdrs, data = gate.world.handle(gate.kube_id, self.command, u.path,
                                                         parse_qs(u.query, keep_blank_values=True),
                                                         dict(self.headers.items()), body)
                self.send_response(code)
                for k, v in hdrs.items():
                    if k.lower() != "content-length":
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def status_doc(code: int, reason: str, message: str) -> dict:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
            "reason": reason, "code": code}


def wait_for(fn, timeout: float = 5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = fn()
        if v:
            return v
        time.sleep(0.05)
    return fn()
