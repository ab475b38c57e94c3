"""What AKS installs in a cluster for each enabled option, derived from the ARM view of the cluster."""

from __future__ import annotations

import base64
import copy
import hashlib
from typing import Any, Iterable

from . import discovery as disc
from . import names as N
from . import sizes
from .controllers.system import SIM_CA_PEM

CA_BUNDLE = base64.b64encode(SIM_CA_PEM.encode()).decode()

# kube-aggregator's built-in group priorities (apiserver/pkg/controlplane, "groupOrderPriorities"), approximately
GROUP_PRIORITY = {"": 18000, "apiregistration.k8s.io": 17800, "apps": 17800, "events.k8s.io": 17750,
                  "authentication.k8s.io": 17700, "authorization.k8s.io": 17600, "autoscaling": 17500,
                  "batch": 17400, "certificates.k8s.io": 17300, "networking.k8s.io": 17200, "policy": 17100,
                  "rbac.authorization.k8s.io": 17000, "storage.k8s.io": 16800, "admissionregistration.k8s.io": 16700,
                  "apiextensions.k8s.io": 16700, "scheduling.k8s.io": 16600, "coordination.k8s.io": 16500,
                  "node.k8s.io": 16300, "discovery.k8s.io": 16200, "resource.k8s.io": 16100,
                  "flowcontrol.apiserver.k8s.io": 16100}


def _props(body: dict) -> dict:
    return body.get("properties", body) if isinstance(body, dict) else {}


def pools_of(cluster: dict, agent_pools: list[dict]) -> list[dict]:
    """Pool definitions (flat: name + profile keys), agent pool bodies overriding agentPoolProfiles."""
    out: dict[str, dict] = {}
    for prof in _props(cluster).get("agentPoolProfiles") or []:
        if prof.get("name"):
            out[prof["name"]] = dict(prof)
    for body in agent_pools or []:
        name = body.get("name") or _props(body).get("name")
        if name:
            merged = dict(out.get(name, {}))
            merged.update({k: v for k, v in _props(body).items() if v is not None})
            merged["name"] = name
            out[name] = merged
    return [out[k] for k in sorted(out, key=lambda n: (out[n].get("mode") != "System", n))]


def node_count(pool: dict) -> int:
    count = pool.get("count")
    if pool.get("enableAutoScaling"):
        lo, hi = pool.get("minCount") or 0, pool.get("maxCount") or max(count or 1, 1)
        count = min(max(count if count is not None else lo, lo), hi)
    return int(count if count is not None else 1)


def pool_id(kube_id: str) -> str:
    return str(int(hashlib.sha256(kube_id.encode()).hexdigest(), 16) % 90000000 + 10000000)


def _b36(i: int, width: int = 6) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        i, r = divmod(i, 36)
        out = digits[r] + out
        if i == 0:
            break
    return out.rjust(width, "0")


def node_name(kube_id: str, pool: str, i: int) -> str:
    return f"aks-{pool}-{pool_id(kube_id)}-vmss{_b36(i)}"


def gpu_managed(pool: dict) -> bool:
    gp = pool.get("gpuProfile") or {}
    return ((gp.get("nvidia") or {}).get("managementMode") or "").lower() == "managed"


def gpu_driver_installed(pool: dict) -> bool:
    return ((pool.get("gpuProfile") or {}).get("driver") or "Install").lower() != "none"


# ------------------------------------------------------------------------------------------------------
# object builders

def namespace(name: str, labels: dict | None = None) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name, **(labels or {})}},
            "spec": {"finalizers": ["kubernetes"]}}


def deployment(name: str, ns: str, image: str, replicas: int = 1, labels: dict | None = None,
               ports: list[dict] | None = None, addon: str = "") -> dict:
    labels = labels or {"app": name}
    meta_labels = dict(labels)
    meta_labels["kubernetes.azure.com/managedby"] = "aks"
    if addon:
        meta_labels["app.kubernetes.io/part-of"] = addon
    container: dict[str, Any] = {"name": name.split("-")[0] if name.startswith("istiod") else name, "image": image,
                 "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "512Mi"}}}
    if ports:
        container["ports"] = ports
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": ns, "labels": meta_labels},
            "spec": {"replicas": replicas, "selector": {"matchLabels": dict(labels)},
                     "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600,
                     "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 1}},
                     "template": {"metadata": {"labels": dict(labels)},
                                  "spec": {"containers": [container], "priorityClassName": "system-cluster-critical",
                                           "nodeSelector": {"kubernetes.io/os": "linux"},
                                           "tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists"}]}}}}


def daemonset(name: str, ns: str, image: str, labels: dict, node_selector: dict | None = None,
              ports: list[dict] | None = None) -> dict:
    container: dict[str, Any] = {"name": name, "image": image,
                                 "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}}}
    if ports:
        container["ports"] = ports
    spec: dict[str, Any] = {"containers": [container], "priorityClassName": "system-node-critical",
            "tolerations": [{"operator": "Exists"}]}
    if node_selector:
        spec["nodeSelector"] = node_selector
    return {"apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": name, "namespace": ns, "labels": {**labels, "kubernetes.azure.com/managedby": "aks"}},
            "spec": {"selector": {"matchLabels": dict(labels)}, "revisionHistoryLimit": 10,
                     "updateStrategy": {"type": "RollingUpdate",
                                        "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}},
                     "template": {"metadata": {"labels": dict(labels)}, "spec": spec}}}


def service(name: str, ns: str, selector: dict, ports: list[dict], labels: dict | None = None) -> dict:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": ns, "labels": labels or {}},
            "spec": {"type": "ClusterIP", "selector": selector, "sessionAffinity": "None",
                     "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack", "internalTrafficPolicy": "Cluster",
                     "ports": [{"protocol": "TCP", **p, "targetPort": p.get("targetPort", p["port"])} for p in ports]}}


def apiservice(name: str, group: str, version: str, svc: tuple[str, str] | None, priority: int = 100,
               labels: dict | None = None) -> dict:
    spec = {"group": group, "version": version, "groupPriorityMinimum": priority,
            "versionPriority": 100 if svc else 15}
    if not group:
        spec.pop("group")
    if svc:
        spec["service"] = {"name": svc[0], "namespace": svc[1], "port": 443}
        spec["insecureSkipTLSVerify"] = True
    return {"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
            "metadata": {"name": name, "labels": labels or {}}, "spec": spec}


def crd(group: str, plural: str, kind: str, versions: Iterable[str] = ("v1",), storage: str | None = None,
        scope: str = "Namespaced", short: Iterable[str] = (), categories: Iterable[str] = (),
        annotations: dict | None = None, labels: dict | None = None) -> dict:
    versions = list(versions)
    storage = storage or versions[0]
    schema = {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}
    names: dict[str, Any] = {"plural": plural, "singular": kind.lower(), "kind": kind, "listKind": kind + "List"}
    if short:
        names["shortNames"] = list(short)
    if categories:
        names["categories"] = list(categories)
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.{group}", "annotations": annotations or {}, "labels": labels or {}},
            "spec": {"group": group, "scope": scope, "names": names, "conversion": {"strategy": "None"},
                     "versions": [{"name": v, "served": True, "storage": v == storage,
                                   "schema": copy.deepcopy(schema), "subresources": {"status": {}}}
                                  for v in versions]}}


def webhook_config(kind: str, name: str, hook: str, svc: tuple[str, str, int, str], rules: list[dict],
                   failure: str = "Fail", ns_selector: dict | None = None, labels: dict | None = None) -> dict:
    wh = {"name": hook, "admissionReviewVersions": ["v1"], "sideEffects": "None", "failurePolicy": failure,
          "matchPolicy": "Equivalent", "timeoutSeconds": 10,
          "clientConfig": {"service": {"name": svc[0], "namespace": svc[1], "port": svc[2], "path": svc[3]},
                           "caBundle": CA_BUNDLE},
          "rules": [{"scope": "*", **r} for r in rules],
          "namespaceSelector": ns_selector or {}, "objectSelector": {}}
    if kind == "MutatingWebhookConfiguration":
        wh["reinvocationPolicy"] = "Never"
    return {"apiVersion": "admissionregistration.k8s.io/v1", "kind": kind,
            "metadata": {"name": name, "labels": labels or {}}, "webhooks": [wh]}


def rule(groups: list[str], versions: list[str], resources: list[str], ops=("CREATE", "UPDATE")) -> dict:
    return {"apiGroups": groups, "apiVersions": versions, "resources": resources, "operations": list(ops)}


# ------------------------------------------------------------------------------------------------------
# per option

def desired(kube_id: str, cluster: dict, agent_pools: list[dict]) -> dict[str, list[dict]]:
    """option -> objects AKS would have installed."""
    p = _props(cluster)
    version = p.get("currentKubernetesVersion") or p.get("kubernetesVersion") or "1.34.2"
    pools = pools_of(cluster, agent_pools)
    out: dict[str, list[dict]] = {}
    out[N.OPT_BASE] = base()
    out[N.OPT_NODES] = nodes(kube_id, cluster, pools, version)
    if any(sizes.is_gpu_size(pl.get("vmSize")) and gpu_managed(pl) for pl in pools):
        out[N.OPT_MANAGED_GPU] = managed_gpu()
    auto = [pl for pl in pools if pl.get("enableAutoScaling")]
    if auto:
        out[N.OPT_AUTOSCALER] = [autoscaler_status(kube_id, pools)]
    mesh = p.get("serviceMeshProfile") or {}
    istio_on = (mesh.get("mode") or "").lower() == "istio"
    gw_on = (((p.get("ingressProfile") or {}).get("gatewayAPI") or {}).get("installation") or "").lower() == "standard"
    if istio_on:
        revisions = ((mesh.get("istio") or {}).get("revisions") or ["asm-1-26"])
        out[N.OPT_ISTIO] = istio(revisions)
    if gw_on:
        out[N.OPT_GATEWAY_API] = gateway_api(istio_on)
    if ((p.get("workloadAutoScalerProfile") or {}).get("keda") or {}).get("enabled"):
        out[N.OPT_KEDA] = keda()
    if (p.get("aiToolchainOperatorProfile") or {}).get("enabled"):
        out[N.OPT_KAITO] = kaito()
    if ((p.get("azureMonitorProfile") or {}).get("metrics") or {}).get("enabled"):
        out[N.OPT_AMA] = managed_prometheus()
    if any(sandboxed(pl) for pl in pools):
        out[N.OPT_SANDBOX] = [pod_sandboxing()]
    return out


def sandboxed(pool: dict) -> bool:
    """AKS pod sandboxing: a pool created with --workload-runtime KataVmIsolation (Azure Linux)."""
    return str(pool.get("workloadRuntime") or "").lower() in ("katavmisolation", "katamshvvmisolation")


def pod_sandboxing() -> dict:
    """The RuntimeClass AKS installs with pod sandboxing (Kata Containers VMs), scheduled onto its nodes."""
    return {"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass", "metadata": {"name": N.KATA_RUNTIME_CLASS},
            "handler": N.KATA_RUNTIME_CLASS, "scheduling": {"nodeSelector": {N.LABEL_KATA: "true"}}}


def base() -> list[dict]:
    objs = [namespace(n) for n in N.SYSTEM_NAMESPACES]
    for name, value in (("system-cluster-critical", 2000000000), ("system-node-critical", 2000001000)):
        objs.append({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": name},
                     "value": value, "preemptionPolicy": "PreemptLowerPriority",
                     "description": "Used for system critical pods that must run in the cluster, but can be moved to "
                                    "another node if necessary." if value == 2000000000 else
                     "Used for system critical pods that must not be moved from their current node."})
    objs.append({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                 "metadata": {"name": "managed-csi", "annotations": {
                     "storageclass.kubernetes.io/is-default-class": "true"}},
                 "provisioner": "disk.csi.azure.com", "parameters": {"skuname": "StandardSSD_LRS"},
                 "reclaimPolicy": "Delete", "volumeBindingMode": "WaitForFirstConsumer", "allowVolumeExpansion": True})
    for g in disc.builtin_groups():
        for v in g["versions"]:
            objs.append(apiservice(f"{v['version']}.{g['name']}", g["name"], v["version"], None,
                                   GROUP_PRIORITY.get(g["name"], 16000),
                                   {"kube-aggregator.kubernetes.io/automanaged": "onstart"}))
    objs.append(apiservice("v1.", "", "v1", None, 18000, {"kube-aggregator.kubernetes.io/automanaged": "onstart"}))
    ks = N.KUBE_SYSTEM
    objs.append(deployment(N.COREDNS_DEPLOYMENT, ks, "mcr.microsoft.com/oss/v2/kubernetes/coredns:v1.12.1-2",
                           2, {"k8s-app": "kube-dns"}, [{"containerPort": 53, "name": "dns", "protocol": "UDP"}]))
    objs.append(service("kube-dns", ks, {"k8s-app": "kube-dns"},
                        [{"name": "dns", "port": 53, "protocol": "UDP"}, {"name": "dns-tcp", "port": 53}],
                        {"k8s-app": "kube-dns", "kubernetes.io/name": "CoreDNS"}))
    objs.append(deployment(N.METRICS_SERVER_DEPLOYMENT, ks, "mcr.microsoft.com/oss/v2/kubernetes/metrics-server:v0.7.2-5",
                           2, {"k8s-app": "metrics-server"}, [{"containerPort": 4443, "name": "https"}]))
    objs.append(service(N.METRICS_SERVER_SERVICE, ks, {"k8s-app": "metrics-server"},
                        [{"name": "https", "port": 443, "targetPort": "https"}], {"k8s-app": "metrics-server"}))
    objs.append(apiservice(N.METRICS_APISERVICE, "metrics.k8s.io", "v1beta1", (N.METRICS_SERVER_SERVICE, ks), 100,
                           {"k8s-app": "metrics-server"}))
    objs.append(service("kubernetes", N.DEFAULT_NS, {}, [{"name": "https", "port": 443, "targetPort": 443}],
                        {"component": "apiserver", "provider": "kubernetes"}))
    objs[-1]["spec"].pop("selector")
    objs[-1]["spec"]["clusterIP"] = "10.0.0.1"
    objs[-1]["spec"]["clusterIPs"] = ["10.0.0.1"]
    return objs


def nodes(kube_id: str, cluster: dict, pools: list[dict], version: str) -> list[dict]:
    p = _props(cluster)
    location = cluster.get("location") or "eastus"
    rid = cluster.get("id") or ""
    parts = rid.split("/")
    rg = parts[4] if len(parts) > 4 else "rg"
    cname = cluster.get("name") or (parts[-1] if parts else "cluster")
    node_rg = p.get("nodeResourceGroup") or f"MC_{rg}_{cname}_{location}"
    sub = parts[2] if len(parts) > 2 else "00000000-0000-0000-0000-000000000000"
    out = []
    for pi, pool in enumerate(pools):
        size = sizes.lookup(pool.get("vmSize"))
        gpu_vm = sizes.is_gpu_size(pool.get("vmSize"))
        for i in range(node_count(pool)):
            name = node_name(kube_id, pool["name"], i)
            zones = pool.get("availabilityZones") or []
            zone = f"{location}-{zones[i % len(zones)]}" if zones else "0"
            labels = {
                "agentpool": pool["name"], N.LABEL_AGENTPOOL: pool["name"],
                "beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/instance-type": pool.get("vmSize", ""),
                "beta.kubernetes.io/os": "linux", "failure-domain.beta.kubernetes.io/region": location,
                "failure-domain.beta.kubernetes.io/zone": zone, "kubernetes.io/arch": "amd64",
                "kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.azure.com/cluster": node_rg,
                N.LABEL_MODE: (pool.get("mode") or "User").lower(),
                "kubernetes.azure.com/node-image-version": "AKSUbuntu-2204gen2containerd-202510.03.0",
                "kubernetes.azure.com/os-sku": pool.get("osSKU") or "Ubuntu", "kubernetes.azure.com/role": "agent",
                N.LABEL_INSTANCE_TYPE: pool.get("vmSize", ""), "topology.kubernetes.io/region": location,
                "topology.kubernetes.io/zone": zone, "storageprofile": "managed", "storagetier": "Premium_LRS",
                "kubernetes.azure.com/nodepool-type": "VirtualMachineScaleSets",
            }
            if gpu_vm:
                labels[N.LABEL_ACCELERATOR] = "nvidia"
                labels[N.LABEL_AKS_ACCELERATOR] = "nvidia"
                if gpu_managed(pool):
                    labels[N.LABEL_DCGM_EXPORTER] = "enabled"
                    labels["kubernetes.azure.com/gpu-management-mode"] = "managed"
            if sandboxed(pool):
                labels[N.LABEL_KATA] = "true"
            labels.update(pool.get("nodeLabels") or {})
            taints = []
            for t in pool.get("nodeTaints") or []:
                kv, _, effect = t.partition(":")
                key, _, value = kv.partition("=")
                taint = {"key": key, "effect": effect or "NoSchedule"}
                if value:
                    taint["value"] = value
                taints.append(taint)
            cpu, mem_ki = size.cpu, size.memory_gib * 1024 * 1024
            capacity = {"cpu": str(cpu), "ephemeral-storage": "129886128Ki", "hugepages-1Gi": "0",
                        "hugepages-2Mi": "0", "memory": f"{mem_ki}Ki", "pods": str(pool.get("maxPods") or 250)}
            allocatable = dict(capacity, cpu=f"{sizes.allocatable_cpu_millis(cpu)}m",
                               memory=f"{sizes.allocatable_memory_ki(size.memory_gib)}Ki",
                               **{"ephemeral-storage": "119703055367"})
            ip = f"10.224.{pi}.{4 + i}"
            conditions = [
                _ncond("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                _ncond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                _ncond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                _ncond("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
            ]
            if gpu_vm and gpu_managed(pool):
                conditions += [
                    _ncond(N.NODE_CONDITION_DEVICE_PLUGIN, "False", "NoUnhealthyNvidiaDevicePlugin",
                           "NVIDIA device plugin is healthy"),
                    _ncond(N.NODE_CONDITION_DCGM, "False", "NoUnhealthyNvidiaDCGMServices",
                           "NVIDIA DCGM services are healthy"),
                ]
            uid_seed = hashlib.sha256(f"{kube_id}/{name}".encode()).hexdigest()
            node: dict[str, Any] = {"apiVersion": "v1", "kind": "Node",
                    "metadata": {"name": name, "labels": labels, "annotations": {
                        "node.alpha.kubernetes.io/ttl": "0",
                        "volumes.kubernetes.io/controller-managed-attach-detach": "true"}},
                    "spec": {"providerID": f"azure:///subscriptions/{sub}/resourceGroups/{node_rg.lower()}/providers/"
                                           f"Microsoft.Compute/virtualMachineScaleSets/aks-{pool['name']}-"
                                           f"{pool_id(kube_id)}-vmss/virtualMachines/{i}",
                             "podCIDR": f"10.244.{pi * 16 + i}.0/24", "podCIDRs": [f"10.244.{pi * 16 + i}.0/24"]},
                    "status": {"capacity": capacity, "allocatable": allocatable, "conditions": conditions,
                               "addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}],
                               "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
                               "nodeInfo": {"architecture": "amd64", "bootID": uid_seed[:36],
                                            "containerRuntimeVersion": "containerd://1.7.28-1",
                                            "kernelVersion": "5.15.0-1092-azure", "kubeProxyVersion": "",
                                            "kubeletVersion": f"v{version.lstrip('v')}", "machineID": uid_seed[:32],
                                            "operatingSystem": "linux", "osImage": "Ubuntu 22.04.5 LTS",
                                            "systemUUID": uid_seed[32:68]}}}
            if taints:
                node["spec"]["taints"] = taints
            out.append(node)
    return out


def _ncond(t: str, s: str, reason: str, message: str) -> dict:
    return {"type": t, "status": s, "reason": reason, "message": message,
            "lastHeartbeatTime": None, "lastTransitionTime": None}


def managed_gpu() -> list[dict]:
    ks = N.KUBE_SYSTEM
    sel = {N.LABEL_AKS_ACCELERATOR: "nvidia"}
    dp = daemonset(N.DEVICE_PLUGIN_DAEMONSET, ks, N.DEVICE_PLUGIN_IMAGE, dict(N.DEVICE_PLUGIN_POD_LABELS), sel)
    dcgm = daemonset(N.DCGM_EXPORTER_DAEMONSET, ks, N.DCGM_IMAGE, dict(N.DCGM_POD_LABELS), sel,
                     [{"containerPort": N.DCGM_EXPORTER_PORT, "name": N.DCGM_EXPORTER_PORT_NAME, "protocol": "TCP"}])
    svc = service(N.DCGM_EXPORTER_SERVICE, ks, {"app": N.DCGM_POD_LABELS["app"]},
                  [{"name": N.DCGM_EXPORTER_PORT_NAME, "port": N.DCGM_EXPORTER_PORT,
                    "targetPort": N.DCGM_EXPORTER_PORT}], dict(N.DCGM_POD_LABELS))
    return [dp, dcgm, svc]


def autoscaler_status(kube_id: str, pools: list[dict]) -> dict:
    ts = "2025-01-01T00:00:00Z"
    total = sum(node_count(pl) for pl in pools)
    lines = ["time: " + ts, "autoscalerStatus: Running", "clusterWide:", "  health:", "    status: Healthy",
             "    nodeCounts:", "      registered:", f"        total: {total}", f"        ready: {total}",
             "        notStarted: 0", "      longUnregistered: 0", "      unregistered: 0",
             f"    lastProbeTime: \"{ts}\"", f"    lastTransitionTime: \"{ts}\"", "  scaleUp:",
             "    status: NoActivity", f"    lastProbeTime: \"{ts}\"", f"    lastTransitionTime: \"{ts}\"",
             "  scaleDown:", "    status: NoCandidates", f"    lastProbeTime: \"{ts}\"",
             f"    lastTransitionTime: \"{ts}\"", "nodeGroups:"]
    for pl in pools:
        if not pl.get("enableAutoScaling"):
            continue
        n = node_count(pl)
        lines += [f"- name: aks-{pl['name']}-{pool_id(kube_id)}-vmss", "  health:", "    status: Healthy",
                  "    nodeCounts:", "      registered:", f"        total: {n}", f"        ready: {n}",
                  "        notStarted: 0", "      longUnregistered: 0", "      unregistered: 0",
                  f"    cloudProviderTarget: {n}", f"    minSize: {pl.get('minCount') or 0}",
                  f"    maxSize: {pl.get('maxCount') or n}", f"    lastProbeTime: \"{ts}\"",
                  f"    lastTransitionTime: \"{ts}\"", "  scaleUp:", "    status: NoActivity",
                  f"    lastProbeTime: \"{ts}\"", f"    lastTransitionTime: \"{ts}\"", "  scaleDown:",
                  "    status: NoCandidates", f"    lastProbeTime: \"{ts}\"", f"    lastTransitionTime: \"{ts}\""]
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": N.AUTOSCALER_STATUS_CONFIGMAP, "namespace": N.KUBE_SYSTEM,
                         "annotations": {"cluster-autoscaler.kubernetes.io/last-updated": "2025-01-01 00:00:00 +0000 UTC"}},
            "data": {"status": "\n".join(lines) + "\n"}}


def istio(revisions: list[str]) -> list[dict]:
    objs = [namespace(N.ISTIO_SYSTEM_NS), namespace(N.ISTIO_INGRESS_NS)]
    for rev in revisions:
        name = f"{N.ISTIOD_DEPLOYMENT_PREFIX}{rev}"
        labels = {"app": "istiod", "istio.io/rev": rev}
        minor = rev.replace("asm-", "").replace("-", ".")
        objs.append(deployment(name, N.ISTIO_SYSTEM_NS, f"mcr.microsoft.com/oss/istio/pilot:{minor}.3-distroless",
                               2, labels, [{"containerPort": 15017, "name": "https-webhook"}], "istio"))
        objs.append(service(name, N.ISTIO_SYSTEM_NS, labels,
                            [{"name": "grpc-xds", "port": 15010}, {"name": "https-dns", "port": 15012},
                             {"name": "https-webhook", "port": 443, "targetPort": 15017},
                             {"name": "http-monitoring", "port": 15014}], labels))
        objs.append(webhook_config(
            "MutatingWebhookConfiguration", f"{N.ISTIO_SIDECAR_INJECTOR_PREFIX}{rev}",
            "rev.namespace.sidecar-injector.istio.io", (name, N.ISTIO_SYSTEM_NS, 443, "/inject"),
            [rule([""], ["v1"], ["pods"], ("CREATE",))],
            ns_selector={"matchExpressions": [{"key": "istio.io/rev", "operator": "In", "values": [rev]},
                                              {"key": "istio-injection", "operator": "DoesNotExist"}]},
            labels={"app": "sidecar-injector", "istio.io/rev": rev}))
        objs.append(webhook_config(
            "ValidatingWebhookConfiguration", f"istio-validator-{rev}-{N.ISTIO_SYSTEM_NS}",
            "rev.validation.istio.io", (name, N.ISTIO_SYSTEM_NS, 443, "/validate"),
            [rule(["security.istio.io", "networking.istio.io", "telemetry.istio.io"], ["*"], ["*"])],
            failure="Ignore", labels={"app": "istiod", "istio.io/rev": rev}))
    ann = {"app.kubernetes.io/managed-by": "aks"}
    for group, plural, kind, versions in (
            ("networking.istio.io", "virtualservices", "VirtualService", ("v1", "v1beta1", "v1alpha3")),
            ("networking.istio.io", "destinationrules", "DestinationRule", ("v1", "v1beta1", "v1alpha3")),
            ("networking.istio.io", "gateways", "Gateway", ("v1", "v1beta1", "v1alpha3")),
            ("networking.istio.io", "serviceentries", "ServiceEntry", ("v1", "v1beta1", "v1alpha3")),
            ("networking.istio.io", "sidecars", "Sidecar", ("v1", "v1beta1", "v1alpha3")),
            ("networking.istio.io", "envoyfilters", "EnvoyFilter", ("v1alpha3",)),
            ("security.istio.io", "authorizationpolicies", "AuthorizationPolicy", ("v1", "v1beta1")),
            ("security.istio.io", "peerauthentications", "PeerAuthentication", ("v1", "v1beta1")),
            ("security.istio.io", "requestauthentications", "RequestAuthentication", ("v1", "v1beta1")),
            ("telemetry.istio.io", "telemetries", "Telemetry", ("v1", "v1alpha1"))):
        objs.append(crd(group, plural, kind, versions, storage=versions[-1] if "v1alpha3" in versions else versions[-1],
                        categories=("istio-io", group.split(".")[0] + "-istio-io"), labels=dict(ann)))
    return objs


def gateway_api(istio_on: bool) -> list[dict]:
    ann = {"gateway.networking.k8s.io/bundle-version": N.GATEWAY_API_BUNDLE_VERSION,
           "gateway.networking.k8s.io/channel": N.GATEWAY_API_CHANNEL}
    labels = {"app.kubernetes.io/managed-by": "aks"}
    g = N.GATEWAY_API_GROUP
    objs = [
        crd(g, "gatewayclasses", "GatewayClass", ("v1", "v1beta1"), "v1", "Cluster", ("gc",), ("gateway-api",), ann, labels),
        crd(g, "gateways", "Gateway", ("v1", "v1beta1"), "v1", "Namespaced", ("gtw",), ("gateway-api",), ann, labels),
        crd(g, "httproutes", "HTTPRoute", ("v1", "v1beta1"), "v1", "Namespaced", (), ("gateway-api",), ann, labels),
        crd(g, "grpcroutes", "GRPCRoute", ("v1",), "v1", "Namespaced", (), ("gateway-api",), ann, labels),
        crd(g, "referencegrants", "ReferenceGrant", ("v1beta1",), "v1beta1", "Namespaced", ("refgrant",),
            ("gateway-api",), ann, labels),
    ]
    for o in objs:
        o["metadata"]["annotations"]["app.kubernetes.io/managed-by"] = "aks"
        if o["spec"]["names"]["plural"] == "referencegrants":
            o["spec"]["versions"][0]["subresources"] = {}
    if istio_on:
        objs.append({"apiVersion": f"{g}/v1", "kind": "GatewayClass",
                     "metadata": {"name": N.ISTIO_GATEWAY_CLASS, "labels": dict(labels)},
                     "spec": {"controllerName": N.ISTIO_GATEWAY_CONTROLLER,
                              "description": "The default Istio GatewayClass"}})
    return objs


def keda() -> list[dict]:
    ks = N.KUBE_SYSTEM
    objs = [
        deployment(N.KEDA_OPERATOR, ks, "mcr.microsoft.com/aks/keda/keda:2.17.2", 1, {"app": N.KEDA_OPERATOR},
                   [{"containerPort": 8080, "name": "http"}], "keda-operator"),
        deployment(N.KEDA_METRICS_APISERVER, ks, "mcr.microsoft.com/aks/keda/keda-metrics-apiserver:2.17.2", 1,
                   {"app": N.KEDA_METRICS_APISERVER}, [{"containerPort": 6443, "name": "https"}], "keda-operator"),
        deployment(N.KEDA_ADMISSION_WEBHOOKS, ks, "mcr.microsoft.com/aks/keda/keda-admission-webhooks:2.17.2", 1,
                   {"app": N.KEDA_ADMISSION_WEBHOOKS}, [{"containerPort": 9443, "name": "https"}], "keda-operator"),
        service(N.KEDA_METRICS_APISERVER, ks, {"app": N.KEDA_METRICS_APISERVER},
                [{"name": "https", "port": 443, "targetPort": 6443}], {"app": N.KEDA_METRICS_APISERVER}),
        service(N.KEDA_ADMISSION_WEBHOOKS, ks, {"app": N.KEDA_ADMISSION_WEBHOOKS},
                [{"name": "https", "port": 443, "targetPort": 9443}], {"app": N.KEDA_ADMISSION_WEBHOOKS}),
        apiservice(N.EXTERNAL_METRICS_APISERVICE, "external.metrics.k8s.io", "v1beta1", (N.KEDA_METRICS_APISERVER, ks),
                   100, {"app.kubernetes.io/name": N.KEDA_METRICS_APISERVER}),
        webhook_config("ValidatingWebhookConfiguration", N.KEDA_WEBHOOK_CONFIG, "vscaledobject.kb.io",
                       (N.KEDA_ADMISSION_WEBHOOKS, ks, 443, "/validate-keda-sh-v1alpha1-scaledobject"),
                       [rule(["keda.sh"], ["v1alpha1"], ["scaledobjects"])], failure="Ignore",
                       labels={"app.kubernetes.io/name": N.KEDA_ADMISSION_WEBHOOKS}),
    ]
    for plural, kind, scope, short in (("scaledobjects", "ScaledObject", "Namespaced", ("so",)),
                                       ("scaledjobs", "ScaledJob", "Namespaced", ("sj",)),
                                       ("triggerauthentications", "TriggerAuthentication", "Namespaced", ("ta", "triggerauth")),
                                       ("clustertriggerauthentications", "ClusterTriggerAuthentication", "Cluster",
                                        ("cta", "clustertriggerauth"))):
        objs.append(crd("keda.sh", plural, kind, ("v1alpha1",), scope=scope, short=short,
                        labels={"app.kubernetes.io/part-of": "keda-operator"}))
    return objs


def kaito() -> list[dict]:
    ks = N.KAITO_NAMESPACE
    labels = {"app.kubernetes.io/name": "workspace", "app.kubernetes.io/instance": "kaito-workspace"}
    objs = [
        deployment(N.KAITO_DEPLOYMENT, ks, "mcr.microsoft.com/aks/kaito/workspace:0.6.2", 1, labels,
                   [{"containerPort": 9443, "name": "webhook"}, {"containerPort": 8080, "name": "metrics"}], "kaito"),
        service(N.KAITO_WEBHOOK_SERVICE, ks, labels, [{"name": "webhook-workspace", "port": 9443, "targetPort": 9443},
                                                      {"name": "http-metrics", "port": 8080}], labels),
        webhook_config("ValidatingWebhookConfiguration", N.KAITO_WEBHOOK_CONFIG, N.KAITO_WEBHOOK_NAME,
                       (N.KAITO_WEBHOOK_SERVICE, ks, 9443, "/validate/workspace.kaito.sh"),
                       [rule(["kaito.sh"], ["v1alpha1", "v1beta1"], ["workspaces", "workspaces/status"])],
                       labels=dict(labels)),
        crd("kaito.sh", "workspaces", "Workspace", ("v1beta1", "v1alpha1"), "v1beta1", short=("wk", "wks"),
            categories=("workspace",)),
        crd("kaito.sh", "ragengines", "RAGEngine", ("v1beta1", "v1alpha1"), "v1beta1", short=("rag",)),
    ]
    return objs


def managed_prometheus() -> list[dict]:
    ks = N.KUBE_SYSTEM
    return [
        deployment(N.AMA_METRICS_DEPLOYMENT, ks, "mcr.microsoft.com/azuremonitor/containerinsights/ciprod/prometheus-"
                   "collector/images:6.22.0-main-09-05-2025", 2, {"rsName": "ama-metrics"}, addon="ama-metrics"),
        deployment(N.AMA_METRICS_KSM_DEPLOYMENT, ks, "mcr.microsoft.com/oss/v2/kubernetes/kube-state-metrics:v2.15.0", 1,
                   {"app.kubernetes.io/name": "ama-metrics-ksm"}, addon="ama-metrics"),
        deployment(N.AMA_METRICS_OPERATOR_TARGETS_DEPLOYMENT, ks, "mcr.microsoft.com/azuremonitor/containerinsights/"
                   "ciprod/prometheus-collector/images:6.22.0-main-09-05-2025-targetallocator", 1,
                   {"rsName": "ama-metrics-operator-targets"}, addon="ama-metrics"),
        daemonset(N.AMA_METRICS_NODE_DAEMONSET, ks, "mcr.microsoft.com/azuremonitor/containerinsights/ciprod/"
                  "prometheus-collector/images:6.22.0-main-09-05-2025", {"dsName": "ama-metrics-node"},
                  {"kubernetes.io/os": "linux"}),
        crd("azmonitoring.coreos.com", "podmonitors", "PodMonitor", ("v1",), short=("pmon",),
            categories=("prometheus-operator",)),
        crd("azmonitoring.coreos.com", "servicemonitors", "ServiceMonitor", ("v1",), short=("smon",),
            categories=("prometheus-operator",)),
    ]
