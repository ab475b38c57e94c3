"""API-server proxy to services, pods and nodes; the apps the simulator can answer for.

- DCGM exporter (managed GPU, GPU Operator, any pod whose image is dcgm-exporter): Prometheus text with per-GPU
  DCGM_FI_* gauges for the GPUs of the node the pod runs on; utilisation reflects GPUs allocated to pods.
- Node proxy: ":19400/metrics" on nodes labelled kubernetes.azure.com/dcgm-exporter=enabled (managed GPU host
  exporter), and kubelet "/metrics" (a few kubelet gauges).
- agnhost netexec: /hostname, /echo?msg=, / .
- prometheus-example-app (quay.io/brancz/prometheus-example-app): GET / counts into http_requests_total{code="200",
  method="get"}, /metrics exposes it.
Anything else: 503 as when the backend refuses the connection. fetch_url() is an in-cluster HTTP GET (a pod's view:
Service DNS names, node and pod IPs) for the simulated controllers that scrape (KEDA metrics-api, managed
Prometheus).
"""

from __future__ import annotations

import datetime as dt
import uuid
from urllib.parse import parse_qs

from . import errors as E
from . import names as N
from . import sizes
from .controllers.common import pod_ready
from .controllers.scheduling import is_dcgm_pod
from .store import Cluster

Response = tuple[int, dict[str, str], bytes]
PROM = "text/plain; version=0.0.4; charset=utf-8"


def _text(body: str, ctype: str = "text/plain; charset=utf-8", code: int = 200) -> Response:
    return code, {"Content-Type": ctype}, body.encode()


def gpu_uuid(node: str, idx: int) -> str:
    return "GPU-" + str(uuid.uuid5(uuid.NAMESPACE_OID, f"{node}/{idx}"))


def dcgm_metrics(c: Cluster, node: dict) -> str:
    name = node["metadata"]["name"]
    size = sizes.lookup((node["metadata"].get("labels") or {}).get(N.LABEL_INSTANCE_TYPE))
    model = size.gpu or sizes.T4
    alloc = c.gpu_alloc.get(name, {})
    rows = []
    for i in range(0 if "no-gpus" in c.degraded else size.gpus):
        owner = alloc.get(str(i))
        ns, pod, ctr = (owner.split("/") + ["", "", ""])[:3] if owner else ("", "", "")
        busy = bool(owner)
        labels = (f'gpu="{i}",UUID="{gpu_uuid(name, i)}",pci_bus_id="0000000{i + 1}:00:00.0",device="nvidia{i}",'
                  f'modelName="{model.name}",Hostname="{name}",DCGM_FI_DRIVER_VERSION="570.172.08",'
                  f'container="{ctr}",namespace="{ns}",pod="{pod}"')
        used = int(model.memory_mib * (0.62 if busy else 0.0)) + 1
        rows.append((labels, {
            "DCGM_FI_DEV_SM_CLOCK": 1410 if busy else 210, "DCGM_FI_DEV_MEM_CLOCK": 1215 if busy else 405,
            "DCGM_FI_DEV_MEMORY_TEMP": 44 if busy else 30, "DCGM_FI_DEV_GPU_TEMP": 61 if busy else 33,
            "DCGM_FI_DEV_POWER_USAGE": round(model.power_watts * (0.71 if busy else 0.12), 3),
            "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION": 123456789 + i,
            "DCGM_FI_DEV_PCIE_REPLAY_COUNTER": 0, "DCGM_FI_DEV_GPU_UTIL": 87 if busy else 0,
            "DCGM_FI_DEV_MEM_COPY_UTIL": 35 if busy else 0, "DCGM_FI_DEV_ENC_UTIL": 0, "DCGM_FI_DEV_DEC_UTIL": 0,
            "DCGM_FI_DEV_XID_ERRORS": 0, "DCGM_FI_DEV_FB_FREE": model.memory_mib - used, "DCGM_FI_DEV_FB_USED": used,
            "DCGM_FI_PROF_GR_ENGINE_ACTIVE": 0.82 if busy else 0.0,
            "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE": 0.41 if busy else 0.0,
            "DCGM_FI_PROF_DRAM_ACTIVE": 0.33 if busy else 0.0,
            "DCGM_FI_PROF_PCIE_TX_BYTES": 48213 if busy else 1024, "DCGM_FI_PROF_PCIE_RX_BYTES": 96426 if busy else 2048,
        }))
    help_ = {
        "DCGM_FI_DEV_SM_CLOCK": ("gauge", "SM clock frequency (in MHz)."),
        "DCGM_FI_DEV_MEM_CLOCK": ("gauge", "Memory clock frequency (in MHz)."),
        "DCGM_FI_DEV_MEMORY_TEMP": ("gauge", "Memory temperature (in C)."),
        "DCGM_FI_DEV_GPU_TEMP": ("gauge", "GPU temperature (in C)."),
        "DCGM_FI_DEV_POWER_USAGE": ("gauge", "Power draw (in W)."),
        "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION": ("counter", "Total energy consumption since boot (in mJ)."),
        "DCGM_FI_DEV_PCIE_REPLAY_COUNTER": ("counter", "Total number of PCIe retries."),
        "DCGM_FI_DEV_GPU_UTIL": ("gauge", "GPU utilization (in %)."),
        "DCGM_FI_DEV_MEM_COPY_UTIL": ("gauge", "Memory utilization (in %)."),
        "DCGM_FI_DEV_ENC_UTIL": ("gauge", "Encoder utilization (in %)."),
        "DCGM_FI_DEV_DEC_UTIL": ("gauge", "Decoder utilization (in %)."),
        "DCGM_FI_DEV_XID_ERRORS": ("gauge", "Value of the last XID error encountered."),
        "DCGM_FI_DEV_FB_FREE": ("gauge", "Framebuffer memory free (in MiB)."),
        "DCGM_FI_DEV_FB_USED": ("gauge", "Framebuffer memory used (in MiB)."),
        "DCGM_FI_PROF_GR_ENGINE_ACTIVE": ("gauge", "Ratio of time the graphics engine is active."),
        "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE": ("gauge", "Ratio of cycles the tensor (HMMA) pipe is active."),
        "DCGM_FI_PROF_DRAM_ACTIVE": ("gauge", "Ratio of cycles the device memory interface is active sending or "
                                              "receiving data."),
        "DCGM_FI_PROF_PCIE_TX_BYTES": ("counter", "The number of bytes of active pcie tx data including both header "
                                                  "and payload."),
        "DCGM_FI_PROF_PCIE_RX_BYTES": ("counter", "The number of bytes of active pcie rx data including both header "
                                                  "and payload."),
    }
    out = []
    for metric, (typ, text) in help_.items():
        out.append(f"# HELP {metric} {text}")
        out.append(f"# TYPE {metric} {typ}")
        for labels, values in rows:
            out.append(f"{metric}{{{labels}}} {values[metric]}")
    return "\n".join(out) + "\n"


def kubelet_metrics(c: Cluster, node: dict) -> str:
    name = node["metadata"]["name"]
    running = len([p for p in c.list("", "pods") if p["spec"].get("nodeName") == name and pod_ready(p)])
    version = (node.get("status", {}).get("nodeInfo") or {}).get("kubeletVersion", "")
    return ("# HELP kubelet_running_pods [ALPHA] Number of pods that have a running pod sandbox\n"
            "# TYPE kubelet_running_pods gauge\n"
            f"kubelet_running_pods {running}\n"
            "# HELP kubernetes_build_info [ALPHA] A metric with a constant '1' value labeled by major, minor, git "
            "version, git commit, git tree state, build date, Go version, and compiler from which Kubernetes was built, "
            "and platform on which it is running.\n"
            "# TYPE kubernetes_build_info gauge\n"
            f'kubernetes_build_info{{git_version="{version}",major="1",minor="34"}} 1\n')


def _pod_app(c: Cluster, pod: dict, port: str, path: str, query: dict) -> Response:
    node = c.get("", "nodes", "", pod["spec"].get("nodeName") or "")
    if is_dcgm_pod(pod) and node is not None and port in ("", str(N.DCGM_EXPORTER_PORT), N.DCGM_EXPORTER_PORT_NAME):
        if path.strip("/") in ("metrics", ""):
            return _text(dcgm_metrics(c, node), PROM)
        return _text("404 page not found\n", code=404)
    words = " ".join(" ".join(ctr.get("command") or []) + " " + " ".join(ctr.get("args") or []) + " " +
                     (ctr.get("image") or "") for ctr in pod["spec"].get("containers", []) or [])
    if "prometheus-example-app" in words:
        key = f"{pod['metadata']['namespace']}/{pod['metadata']['name']}"
        p = path.strip("/")
        if p == "metrics":
            return _text("# HELP http_requests_total Count of all HTTP requests\n# TYPE http_requests_total counter\n"
                         f'http_requests_total{{code="200",method="get"}} {c.counters.get(key, 0)}\n'
                         '# HELP version Version information about this binary\n# TYPE version gauge\n'
                         'version{version="v0.5.0"} 1\n', PROM)
        if p == "":
            c.counters[key] = c.counters.get(key, 0) + 1
            return _text("Hello from example application.")
        return _text("404 page not found\n", code=404)
    if "agnhost" in words and "netexec" in words:
        p = path.strip("/")
        if p == "hostname":
            return _text(pod["metadata"]["name"])
        if p == "echo":
            return _text((query.get("msg") or [""])[0])
        if p == "clientip":
            return _text("10.244.0.1:41234")
        if p in ("", "healthz"):
            return _text(f"NOW: {dt.datetime.now(dt.timezone.utc).isoformat()}")
        return _text("404 page not found\n", code=404)
    raise E.unavailable(f'error trying to reach service: dial tcp {pod.get("status", {}).get("podIP", "")}:'
                        f'{port or 80}: connect: connection refused')


def _split_target(target: str) -> tuple[str, str]:
    parts = target.split(":")
    if len(parts) == 3:  # scheme:name:port
        return parts[1], parts[2]
    if len(parts) == 2:
        return parts[0], parts[1]
    return parts[0], ""


def service_proxy(c: Cluster, ns: str, target: str, path: str, query: dict) -> Response:
    name, port = _split_target(target)
    svc = c.get("", "services", ns, name)
    if svc is None:
        raise E.KubeError(404, "NotFound", f'services "{name}" not found', {"name": name, "kind": "services"})
    ports = svc.get("spec", {}).get("ports", []) or []
    chosen = None
    for p in ports:
        if port in (str(p.get("port")), p.get("name")) or (not port and len(ports) == 1):
            chosen = p
    if chosen is None:
        raise E.unavailable(f'no endpoints available for service "{target}"')
    sel = svc.get("spec", {}).get("selector") or {}
    pods = [p for p in c.list("", "pods", ns) if pod_ready(p) and sel and
            all((p["metadata"].get("labels") or {}).get(k) == v for k, v in sel.items())]
    if not pods:
        raise E.unavailable(f'no endpoints available for service "{name}"')
    tp = chosen.get("targetPort", chosen.get("port"))
    return _pod_app(c, pods[0], str(tp), path, query)


def pod_proxy(c: Cluster, ns: str, target: str, path: str, query: dict) -> Response:
    name, port = _split_target(target)
    pod = c.get("", "pods", ns, name)
    if pod is None:
        raise E.KubeError(404, "NotFound", f'pods "{name}" not found', {"name": name, "kind": "pods"})
    if not pod_ready(pod):
        raise E.unavailable(f'pod "{name}" is not running')
    return _pod_app(c, pod, port, path, query)


def node_proxy(c: Cluster, target: str, path: str, query: dict) -> Response:
    name, port = _split_target(target)
    node = c.get("", "nodes", "", name)
    if node is None:
        raise E.KubeError(404, "NotFound", f'nodes "{name}" not found', {"name": name, "kind": "nodes"})
    labels = node["metadata"].get("labels") or {}
    if port == str(N.DCGM_NODE_PROXY_PORT):
        if labels.get(N.LABEL_DCGM_EXPORTER) == "enabled" and path.strip("/") == "metrics":
            return _text(dcgm_metrics(c, node), PROM)
        raise E.unavailable(f"error trying to reach service: dial tcp {_ip(node)}:{port}: connect: connection refused")
    if port in ("", "10250") and path.strip("/") in ("metrics", "metrics/resource"):
        return _text(kubelet_metrics(c, node), PROM)
    if port in ("", "10250") and path.strip("/") == "healthz":
        return _text("ok")
    raise E.unavailable(f"error trying to reach service: dial tcp {_ip(node)}:{port or 10250}: connect: connection "
                        f"refused")


def _ip(node: dict) -> str:
    for a in node.get("status", {}).get("addresses", []) or []:
        if a.get("type") == "InternalIP":
            return a["address"]
    return ""


def fetch_url(c: Cluster, url: str) -> str | None:
    """GET url from inside the cluster; the body, or None when it cannot be reached (as a pod would see it)."""
    from urllib.parse import urlsplit

    u = urlsplit(url)
    host, port, path = u.hostname or "", str(u.port or (443 if u.scheme == "https" else 80)), u.path or "/"
    try:
        labels = host.split(".")
        if len(labels) >= 3 and labels[2] == "svc":
            code, _, body = service_proxy(c, labels[1], f"{labels[0]}:{port}", path, parse_query(u.query))
        else:
            node = next((n for n in c.list("", "nodes") if _ip(n) == host), None)
            pod = next((p for p in c.list("", "pods") if (p.get("status") or {}).get("podIP") == host), None)
            if node is not None and not (pod and not pod["spec"].get("hostNetwork")):
                code, _, body = node_proxy(c, f"{node['metadata']['name']}:{port}", path, parse_query(u.query))
            elif pod is not None and pod_ready(pod):
                code, _, body = _pod_app(c, pod, port, path, parse_query(u.query))
            else:
                return None
    except E.KubeError:
        return None
    return body.decode() if code == 200 else None


def sample(text: str, name: str) -> float | None:
    """The value of the first sample of metric `name` in a Prometheus text exposition (what KEDA's metrics-api
    scaler takes with format: prometheus)."""
    for line in text.splitlines():
        if line.startswith(name) and line[len(name):len(name) + 1] in ("{", " "):
            try:
                return float(line.rsplit(" ", 1)[1])
            except (IndexError, ValueError):
                return None
    return None


def parse_query(qs: str) -> dict:
    return parse_qs(qs, keep_blank_values=True)
