"""Opt-in probes: short-lived workloads in one throw-away namespace `aicv-<random>` (labelled, deleted in a
`finally` by the runner, even on Ctrl-C), each wait bounded by VerifyOptions.probe_timeout. Cluster-scoped
objects (Kueue ResourceFlavor/ClusterQueue) carry the same label. A later run deletes whatever an interrupted run
left (cleanup_leftovers, by label selector)."""
from __future__ import annotations

import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from .context import GPU, Ctx, cond, cond_true
from .kube import Kube, KubeFailure

PROBE_LABEL = "aks-ai-wizard.io/conformance-probe"
BUSYBOX = "mcr.microsoft.com/cbl-mariner/busybox:2.0"
AGNHOST = "registry.k8s.io/e2e-test-images/agnhost:2.39"
KUEUE = "kueue.x-k8s.io"


class Cancelled(Exception):
    pass


@dataclass
class ProbeResult:
    ok: bool | None  # True proven, False disproven, None could not run
    message: str = ""
    evidence: list[str] = field(default_factory=list)
    fix: str | None = None


def cleanup_leftovers(kube: Kube) -> list[str]:
    """Delete probe namespaces and cluster-scoped probe objects an earlier (interrupted) run left behind."""
    removed = []
    sel = {"labelSelector": PROBE_LABEL}
    try:
        for ns in (kube.request("GET", "/api/v1/namespaces", sel).get("items") or []):
            name = ns["metadata"]["name"]
            if ns.get("status", {}).get("phase") == "Terminating":
                continue
            _delete(kube, f"/api/v1/namespaces/{name}")
            removed.append(f"namespace {name}")
    except KubeFailure:
        pass
    for plural in ("clusterqueues", "resourceflavors"):
        for version in ("v1beta1", "v1beta2"):
            try:
                items = kube.request("GET", f"/apis/{KUEUE}/{version}/{plural}", sel).get("items") or []
            except KubeFailure:
                continue
            for o in items:
                _delete(kube, f"/apis/{KUEUE}/{version}/{plural}/{o['metadata']['name']}")
                removed.append(f"{plural} {o['metadata']['name']}")
            break
    return removed


def _delete(kube: Kube, path: str) -> None:
    try:
        kube.request("DELETE", path, body={"kind": "DeleteOptions", "apiVersion": "v1",
                                           "propagationPolicy": "Background"})
    except KubeFailure:
        pass


class ProbeRunner:
    def __init__(self, ctx: Ctx):
        self.ctx = ctx
        self.kube: Kube = ctx.k()
        self.opts = ctx.opts
        self.suffix = secrets.token_hex(3)
        self.ns = f"aicv-{self.suffix}"
        self._ns_lock = threading.Lock()
        self._ns_ready = False
        self._closed = False
        self._cluster_objects: list[str] = []
        self._lock = threading.Lock()
        self.gpu_lock = threading.Lock()  # GPU-using probes run one after the other
        self.left_over: list[str] = []
        self._evidence = threading.local()
        self.log: list[str] = []

    # ----------------------------------------------------------------- plumbing
    def start(self) -> None:
        self.left_over = cleanup_leftovers(self.kube)

    def namespace(self) -> str:
        with self._ns_lock:
            if self._closed:
                raise Cancelled("verification finished or interrupted")
            if not self._ns_ready:
                self.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {
                    "name": self.ns, "labels": {PROBE_LABEL: "true", "app.kubernetes.io/managed-by": "aks-ai-wizard"}}})
                self._ns_ready = True
        return self.ns

    def cleanup(self) -> list[str]:
        """Delete what the probes created; afterwards no probe creates anything (a worker thread still running
        after Ctrl-C gets Cancelled)."""
        done = []
        with self._ns_lock, self._lock:
            self._closed = True
            objs = list(self._cluster_objects)
        for path in reversed(objs):
            _delete(self.kube, path)
            done.append(path)
        if self._ns_ready:  # creation finished under _ns_lock before _closed was set
            _delete(self.kube, f"/api/v1/namespaces/{self.ns}")
            done.append(f"namespace {self.ns}")
        return done

    def post(self, path: str, body: dict, dry_run: bool = False, cluster_scoped: bool = False) -> dict:
        body.setdefault("metadata", {}).setdefault("labels", {})[PROBE_LABEL] = "true"
        if self._closed or self.ctx.cancel.is_set():
            raise Cancelled("verification finished or interrupted")
        if cluster_scoped and not dry_run:
            with self._lock:  # registered before cleanup can run, or not created at all
                if self._closed:
                    raise Cancelled("verification finished or interrupted")
                res = self.kube.request("POST", path, None, body)
                self._cluster_objects.append(f"{path}/{body['metadata']['name']}")
            return res
        return self.kube.request("POST", path, {"dryRun": "All"} if dry_run else None, body)

    def get(self, path: str, query: dict | None = None) -> Any:
        return self.kube.request("GET", path, query)

    def wait(self, what: str, fn: Callable[[], Any], timeout: float | None = None) -> Any:
        """Poll fn until it returns a truthy value; bounded; stops on cancel."""
        deadline = time.monotonic() + (timeout if timeout is not None else self.opts.probe_timeout)
        last_exc: Exception | None = None
        while True:
            if self.ctx.cancel.is_set():
                raise Cancelled("cancelled")
            try:
                v = fn()
                if v:
                    return v
            except KubeFailure as exc:
                if exc.kind not in ("notfound",):
                    raise
                last_exc = exc
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{what}: not within {timeout if timeout is not None else self.opts.probe_timeout:g} s"
                                   + (f" ({last_exc})" if last_exc else ""))
            self.ctx.cancel.wait(self.opts.poll_interval)

    def run(self, name: str) -> ProbeResult:
        fn = getattr(self, f"probe_{name}", None)
        if fn is None:
            return ProbeResult(None, f"no probe for {name}")
        ev: list[str] = []
        self._evidence.ev = ev
        try:
            res = fn()
            res.evidence = ev + [e for e in res.evidence if e not in ev]
            return res
        except Cancelled:
            return ProbeResult(None, "cancelled", ev)
        except TimeoutError as exc:
            return ProbeResult(False, str(exc), ev)
        except KubeFailure as exc:
            if exc.kind in ("forbidden", "unauthorized", "unreachable"):
                return ProbeResult(None, exc.describe(), ev, fix=exc.fix())
            return ProbeResult(False, exc.describe(), ev)

    def ev(self, line: str) -> None:
        """Evidence of the probe running on this thread (kept when the probe fails midway)."""
        getattr(self._evidence, "ev", []).append(line)

    # ----------------------------------------------------------------- dra_support
    def probe_dra_support(self) -> ProbeResult:
        ns = self.namespace()
        body = {"apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaimTemplate",
                "metadata": {"name": "aicv-gpu", "namespace": ns},
                "spec": {"spec": {"devices": {"requests": [{"name": "gpu", "exactly": {
                    "deviceClassName": "gpu.nvidia.com"}}]}}}}
        self.post(f"/apis/resource.k8s.io/v1/namespaces/{ns}/resourceclaimtemplates", body, dry_run=True)
        return ProbeResult(True, "ResourceClaimTemplate accepted", ["server-side dry run: ResourceClaimTemplate "
                                                                    "(resource.k8s.io/v1) accepted"])

    # ----------------------------------------------------------------- ai_inference
    def probe_ai_inference(self) -> ProbeResult:
        from .checks import accepted_gateway_classes

        classes = accepted_gateway_classes(self.ctx)
        if not classes:
            return ProbeResult(False, "no Accepted GatewayClass")
        preferred = ("istio", "approuting-istio")
        cls = sorted(classes, key=lambda c: (c["metadata"]["name"] not in preferred, c["metadata"]["name"]))[0]
        cname = cls["metadata"]["name"]
        ns = self.namespace()
        for app in ("aicv-a", "aicv-b"):
            self.post(f"/apis/apps/v1/namespaces/{ns}/deployments", {
                "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": app, "namespace": ns},
                "spec": {"replicas": 1, "selector": {"matchLabels": {"app": app}},
                         "template": {"metadata": {"labels": {"app": app}}, "spec": {"containers": [{
                             "name": "echo", "image": AGNHOST, "args": ["netexec", "--http-port=8080"],
                             "ports": [{"containerPort": 8080}],
                             "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]}}}})
            self.post(f"/api/v1/namespaces/{ns}/services", {
                "apiVersion": "v1", "kind": "Service", "metadata": {"name": app, "namespace": ns},
                "spec": {"selector": {"app": app}, "ports": [{"name": "http", "port": 8080, "targetPort": 8080}]}})
        gw = "/apis/gateway.networking.k8s.io/v1"
        self.post(f"{gw}/namespaces/{ns}/gateways", {
            "apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
            "metadata": {"name": "aicv-gw", "namespace": ns,
                         "annotations": {"networking.istio.io/service-type": "ClusterIP"}},
            "spec": {"gatewayClassName": cname, "listeners": [{"name": "http", "protocol": "HTTP", "port": 80}]}})
        self.post(f"{gw}/namespaces/{ns}/httproutes", {
            "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
            "metadata": {"name": "aicv-route", "namespace": ns},
            "spec": {"parentRefs": [{"name": "aicv-gw"}], "rules": [
                {"matches": [{"headers": [{"name": "x-model-name", "value": "aicv-b"}], "path": {
                    "type": "PathPrefix", "value": "/v1/chat/completions"}}],
                 "backendRefs": [{"name": "aicv-b", "port": 8080}]},
                {"backendRefs": [{"name": "aicv-a", "port": 8080, "weight": 80},
                                 {"name": "aicv-b", "port": 8080, "weight": 20}]}]}})
        ev = self._evidence.ev
        ev.append(f"Gateway aicv-gw (class {cname}) and HTTPRoute with a header match (x-model-name) and 80/20 "
                  "weighted backends created")

        def gw_ready():
            g = self.get(f"{gw}/namespaces/{ns}/gateways/aicv-gw")
            return g if cond_true(g, "Accepted") and cond_true(g, "Programmed") else None

        try:
            g = self.wait("Gateway Accepted and Programmed", gw_ready)
        except TimeoutError as exc:
            g = self.get(f"{gw}/namespaces/{ns}/gateways/aicv-gw")
            c = cond(g, "Programmed") or cond(g, "Accepted") or {}
            return ProbeResult(False, f"{exc}; Gateway {c.get('type', '')}={c.get('status', '?')} "
                                      f"{c.get('reason', '')}: {c.get('message', '')}".strip(), ev)
        addr = ", ".join(a.get("value", "") for a in (g.get("status") or {}).get("addresses") or [])
        ev.append(f"Gateway Accepted and Programmed (addresses {addr or 'none'})")

        def route_ok():
            r = self.get(f"{gw}/namespaces/{ns}/httproutes/aicv-route")
            parents = (r.get("status") or {}).get("parents") or []
            return r if parents and all(cond_true({"status": p}, "Accepted") and
                                        cond_true({"status": p}, "ResolvedRefs") for p in parents) else None

        self.wait("HTTPRoute Accepted with ResolvedRefs", route_ok)
        ev.append("HTTPRoute Accepted and ResolvedRefs=True on its parent Gateway")
        return ProbeResult(True, "Gateway Programmed, HTTPRoute Accepted", ev)

    # ----------------------------------------------------------------- gang_scheduling
    def _kueue_version(self) -> str:
        crd = self.ctx.crds().get(f"clusterqueues.{KUEUE}") or {}
        served = [v["name"] for v in (crd.get("spec") or {}).get("versions") or [] if v.get("served")]
        return "v1beta1" if "v1beta1" in served else (served[0] if served else "v1beta1")

    def _job(self, name: str, n: int, queue: str) -> dict:
        return {"apiVersion": "batch/v1", "kind": "Job",
                "metadata": {"name": name, "namespace": self.ns, "labels": {f"{KUEUE}/queue-name": queue}},
                "spec": {"parallelism": n, "completions": n, "suspend": True, "backoffLimit": 0,
                         "template": {"spec": {"restartPolicy": "Never", "terminationGracePeriodSeconds": 0,
                                               "containers": [{"name": "w", "image": BUSYBOX,
                                                               "command": ["sh", "-c", "sleep 5"],
                                                               "resources": {"requests": {"cpu": "100m",
                                                                                          "memory": "128Mi"}}}]}}}}

    def _job_pods(self, job: str) -> list[dict]:
        return self.get(f"/api/v1/namespaces/{self.ns}/pods", {"labelSelector": f"job-name={job}"}).get("items") or []

    def probe_gang_scheduling(self) -> ProbeResult:
        ns = self.namespace()
        v = self._kueue_version()
        base = f"/apis/{KUEUE}/{v}"
        rf = cq = f"aicv-{self.suffix}"
        self.post(f"{base}/resourceflavors", {"apiVersion": f"{KUEUE}/{v}", "kind": "ResourceFlavor",
                                              "metadata": {"name": rf}}, cluster_scoped=True)
        self.post(f"{base}/clusterqueues", {
            "apiVersion": f"{KUEUE}/{v}", "kind": "ClusterQueue", "metadata": {"name": cq},
            "spec": {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}},
                     "resourceGroups": [{"coveredResources": ["cpu", "memory"], "flavors": [{
                         "name": rf, "resources": [{"name": "cpu", "nominalQuota": "1"},
                                                   {"name": "memory", "nominalQuota": "1Gi"}]}]}]}},
            cluster_scoped=True)
        self.post(f"{base}/namespaces/{ns}/localqueues", {
            "apiVersion": f"{KUEUE}/{v}", "kind": "LocalQueue", "metadata": {"name": "aicv-lq", "namespace": ns},
            "spec": {"clusterQueue": cq}})
        ev = self._evidence.ev
        ev.append(f"ResourceFlavor/ClusterQueue {cq} (quota 1 CPU, 1Gi) and LocalQueue aicv-lq ({KUEUE}/{v})")
        # positive: 2 x 100m fits -> admitted whole
        self.post(f"/apis/batch/v1/namespaces/{ns}/jobs", self._job("aicv-fits", 2, "aicv-lq"))

        def admitted():
            job = self.get(f"/apis/batch/v1/namespaces/{ns}/jobs/aicv-fits")
            if (job.get("spec") or {}).get("suspend"):
                return None
            pods = [p for p in self._job_pods("aicv-fits") if (p.get("spec") or {}).get("nodeName")]
            return pods if len(pods) >= 2 else None

        try:
            pods = self.wait("Job aicv-fits (2 pods) admitted and both pods bound", admitted)
        except TimeoutError as exc:
            wl = self._workloads()
            return ProbeResult(False, f"{exc}; {wl}", ev, "check the Kueue controller logs: kubectl logs -n "
                                                          "kueue-system deploy/kueue-controller-manager")
        ev.append(f"fitting gang (2 x 100m) admitted whole: job unsuspended, {len(pods)} pods bound "
                  f"({', '.join(sorted({p['spec']['nodeName'] for p in pods}))})")
        wl = self._workloads()
        if wl:
            ev.append(wl)
        # negative: 20 x 100m > 1 CPU quota -> zero pods for the whole window
        self.post(f"/apis/batch/v1/namespaces/{ns}/jobs", self._job("aicv-too-big", 20, "aicv-lq"))
        end = time.monotonic() + self.opts.gang_negative_seconds
        while time.monotonic() < end:
            if self.ctx.cancel.is_set():
                raise Cancelled()
            job = self.get(f"/apis/batch/v1/namespaces/{ns}/jobs/aicv-too-big")
            pods = self._job_pods("aicv-too-big")
            if not (job.get("spec") or {}).get("suspend") or pods:
                return ProbeResult(False, f"too-big gang (20 x 100m > 1 CPU) was not held back: "
                                          f"suspend={job['spec'].get('suspend')}, {len(pods)} pod(s) created", ev)
            self.ctx.cancel.wait(min(self.opts.poll_interval, max(0.0, end - time.monotonic())))
        ev.append(f"too-big gang (20 x 100m > 1 CPU quota) kept suspended with zero pods for "
                  f"{self.opts.gang_negative_seconds:g} s")
        return ProbeResult(True, "all-or-nothing admission", ev)

    def _workloads(self) -> str:
        try:
            items = self.get(f"/apis/{KUEUE}/{self._kueue_version()}/namespaces/{self.ns}/workloads").get("items") or []
        except KubeFailure:
            return ""
        parts = []
        for w in items:
            a = cond(w, "Admitted") or cond(w, "QuotaReserved") or {}
            parts.append(f"{w['metadata']['name']}: {a.get('type', 'Admitted')}={a.get('status', 'unknown')}")
        return "Workloads " + "; ".join(parts) if parts else "no Workload objects"

    # ----------------------------------------------------------------- robust_controller
    def probe_robust_controller(self) -> ProbeResult:
        ns = self.namespace()
        crd = self.ctx.crds().get("workspaces.kaito.sh") or {}
        versions = [x["name"] for x in (crd.get("spec") or {}).get("versions") or [] if x.get("served")]
        storage = next((x["name"] for x in (crd.get("spec") or {}).get("versions") or [] if x.get("storage")),
                       versions[0] if versions else "v1beta1")
        body = {"apiVersion": f"kaito.sh/{storage}", "kind": "Workspace",
                "metadata": {"name": f"aicv-invalid-{self.suffix}", "namespace": ns},
                "resource": {"instanceType": "Standard_NC24ads_A100_v4", "labelSelector": {"matchLabels": {"apps": "aicv"}}},
                "inference": {"preset": {"name": "aicv-no-such-model"}}}
        try:
            self.post(f"/apis/kaito.sh/{storage}/namespaces/{ns}/workspaces", body, dry_run=True)
        except KubeFailure as exc:
            if exc.kind == "denied" or "admission webhook" in exc.message:
                m = re.search(r'admission webhook "([^"]+)"', exc.message)
                return ProbeResult(True, "invalid Workspace denied", [
                    f"server-side dry run of an invalid Workspace (unknown preset) denied by webhook "
                    f"{m.group(1) if m else '?'}: {exc.message[:160]}"])
            return ProbeResult(False, f"invalid Workspace not denied by the webhook: {exc.describe()}")
        return ProbeResult(False, "an invalid Workspace (unknown preset) was accepted: KAITO's validating webhook "
                                  "did not run", fix="kubectl get validatingwebhookconfiguration "
                                                     "validation.workspace.kaito.sh -o yaml; check the kaito-workspace "
                                                     "pods")

    # ----------------------------------------------------------------- secure_accelerator_access
    def _gpu_pod(self, name: str, node: str, containers: list[dict]) -> dict:
        return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": self.ns},
                "spec": {"restartPolicy": "Never", "terminationGracePeriodSeconds": 0,
                         "nodeSelector": {"kubernetes.io/hostname": node},
                         "tolerations": [{"operator": "Exists"}], "containers": containers}}

    @staticmethod
    def _ctr(name: str, gpu: bool, env_all: bool = False) -> dict:
        c = {"name": name, "image": BUSYBOX, "command": ["sh", "-c", "ls /dev/nvidia[0-9]* 2>/dev/null | wc -l"],
             "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}
        if gpu:
            c["resources"]["limits"] = {GPU: "1"}
        if env_all:
            c["env"] = [{"name": "NVIDIA_VISIBLE_DEVICES", "value": "all"}]
        return c

    def _devices_seen(self, pod: str, container: str) -> int:
        path = f"/api/v1/namespaces/{self.ns}/pods/{pod}"

        def done():
            p = self.get(path)
            return p if (p.get("status") or {}).get("phase") in ("Succeeded", "Failed") else None

        self.wait(f"pod {pod} finished", done)
        text = self.kube.request("GET", f"{path}/log", {"container": container}, raw=True)
        nums = [int(x) for x in re.findall(r"^\s*(\d+)\s*$", text, re.M)]
        if not nums:
            raise KubeFailure("error", f"pod {pod}/{container}: unexpected output {text[:80]!r}")
        return nums[-1]

    def probe_secure_accelerator_access(self) -> ProbeResult:
        gpu_nodes = self.ctx.gpu_nodes()
        if not gpu_nodes:
            return ProbeResult(None, f"no node advertises {GPU}")
        with self.gpu_lock:
            return self._secure(gpu_nodes[0]["metadata"]["name"])

    def _secure(self, node: str) -> ProbeResult:
        ns = self.namespace()
        self._evidence.ev.append(f"pods pinned to GPU node {node}, reading `ls /dev/nvidia[0-9]*` from the pod log")
        pods = {"aicv-gpu": [self._ctr("probe", True)], "aicv-nogpu": [self._ctr("probe", False)],
                "aicv-envall": [self._ctr("probe", False, env_all=True)]}
        for name, ctrs in pods.items():
            self.post(f"/api/v1/namespaces/{ns}/pods", self._gpu_pod(name, node, ctrs))
        ev, bad = self._evidence.ev, []
        expect = {("aicv-gpu", "probe"): 1, ("aicv-nogpu", "probe"): 0, ("aicv-envall", "probe"): 0}
        labels = {("aicv-gpu", "probe"): "container requesting 1 GPU",
                  ("aicv-nogpu", "probe"): "container without a GPU request",
                  ("aicv-envall", "probe"): "container without a request but NVIDIA_VISIBLE_DEVICES=all",
                  ("aicv-multi", "gpu"): "multi-container pod, container with the GPU request",
                  ("aicv-multi", "nogpu"): "multi-container pod, second container without a request"}
        for (pod, ctr), want in expect.items():
            got = self._devices_seen(pod, ctr)
            (ev if got == want else bad).append(f"{labels[(pod, ctr)]} sees {got} GPU device(s) (expected {want})")
        # after aicv-gpu finished its GPU is free again for the two-container pod
        self.post(f"/api/v1/namespaces/{ns}/pods", self._gpu_pod("aicv-multi", node, [
            self._ctr("gpu", True), self._ctr("nogpu", False)]))
        for ctr, want in (("gpu", 1), ("nogpu", 0)):
            got = self._devices_seen("aicv-multi", ctr)
            (ev if got == want else bad).append(f"{labels[('aicv-multi', ctr)]} sees {got} GPU device(s) "
                                                f"(expected {want})")
        if bad:
            return ProbeResult(False, "; ".join(bad), bad,
                               "harden the NVIDIA container toolkit: accept-nvidia-visible-devices-envvar-when-"
                               "unprivileged = false (AKS managed GPU does this), use the device plugin's "
                               "DEVICE_LIST_STRATEGY=volume-mounts")
        return ProbeResult(True, "device isolation holds", ev)

    # ----------------------------------------------------------------- pod_autoscaling
    def probe_pod_autoscaling(self) -> ProbeResult:
        if "scaledobjects.keda.sh" not in self.ctx.crds():
            return ProbeResult(None, "KEDA not installed; the probe drives the external metric through KEDA")
        with self.gpu_lock:
            try:
                return self._autoscale()
            finally:
                _delete(self.kube, f"/apis/keda.sh/v1alpha1/namespaces/{self.ns}/scaledobjects/aicv-scale")
                _delete(self.kube, f"/apis/apps/v1/namespaces/{self.ns}/deployments/aicv-gpu-app")

    def _autoscale(self) -> ProbeResult:
        ns = self.namespace()
        self.post(f"/apis/apps/v1/namespaces/{ns}/deployments", {
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "aicv-gpu-app", "namespace": ns},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "aicv-gpu-app"}},
                     "template": {"metadata": {"labels": {"app": "aicv-gpu-app"}}, "spec": {
                         "tolerations": [{"operator": "Exists"}],
                         "containers": [{"name": "app", "image": BUSYBOX, "command": ["sh", "-c", "sleep infinity"],
                                         "resources": {"requests": {"cpu": "10m", "memory": "16Mi"},
                                                       "limits": {GPU: "1"}}}]}}}})
        self.post(f"/apis/keda.sh/v1alpha1/namespaces/{ns}/scaledobjects", {
            "apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
            "metadata": {"name": "aicv-scale", "namespace": ns},
            "spec": {"scaleTargetRef": {"name": "aicv-gpu-app"}, "minReplicaCount": 1, "maxReplicaCount": 2,
                     "pollingInterval": 5, "cooldownPeriod": 30,
                     "triggers": [{"type": "kubernetes-workload", "metadata": {
                         "podSelector": "app=aicv-gpu-app", "value": "0.5"}}]}})
        ev = self._evidence.ev
        ev.append("GPU Deployment aicv-gpu-app (1 replica, nvidia.com/gpu: 1) and ScaledObject (external metric "
                  "kubernetes-workload, target 0.5 per replica, max 2)")

        def scaled():
            hpa = self.get(f"/apis/autoscaling/v2/namespaces/{ns}/horizontalpodautoscalers/keda-hpa-aicv-scale")
            st = hpa.get("status") or {}
            return hpa if (st.get("desiredReplicas") or 0) >= 2 else None

        hpa = self.wait("HPA keda-hpa-aicv-scale desiredReplicas >= 2", scaled)
        metrics = [m.get("external", {}).get("metric", {}).get("name") for m in (hpa.get("spec") or {}).get(
            "metrics") or [] if m.get("type") == "External"]
        ev.append(f"HPA keda-hpa-aicv-scale on external metric {', '.join(filter(None, metrics)) or '?'}: "
                  f"desiredReplicas {hpa['status'].get('desiredReplicas')}")
        return ProbeResult(True, "HPA scaled the GPU Deployment on an external metric", ev)
