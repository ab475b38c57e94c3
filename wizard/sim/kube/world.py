"""KubeWorld: the Kubernetes API of every simulated cluster."""

from __future__ import annotations

import copy
import json
import threading
import time

from . import api, controllers, seed
from . import names as N
from .degrade import check_names
from .store import Cluster, now

KUBE_TOKEN = "sim-kube-token"


def _status(code: int, reason: str, message: str) -> tuple[int, dict[str, str], bytes]:
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
            "reason": reason, "code": code}
    return code, {"Content-Type": "application/json"}, json.dumps(body).encode()


def _signed_in(c: Cluster, headers: dict[str, str], method: str, path: str,
               query: dict[str, list[str]]) -> tuple[int, dict[str, str], bytes] | None:
    """None when AKS lets the request through, else its 401 or 403 (who signs in and what they may do:
    authz.py; the static token unless local accounts are disabled, Entra tokens with Kubernetes and Azure RBAC)."""
    from .authz import refusal

    return refusal(c, headers.get("authorization", "").strip(), KUBE_TOKEN, method, path, query or {})


class KubeWorld:
    """Thread-safe set of simulated clusters, addressed by kube_id."""

    def __init__(self, degrade: tuple[str, ...] | list[str] = ()) -> None:
        self._lock = threading.RLock()
        self._clusters: dict[str, Cluster] = {}
        self.degraded = check_names(degrade)  # applied to every cluster (see degrade.py)
        # each cluster's saved form as JSON text, until something reaches that cluster again (every way in is a
        # method here that names it): a save of a fleet's world encodes the clusters that changed, not all twenty
        self._saved: dict[str, str] = {}

    def degrade(self, kube_id: str, *names: str) -> None:
        """Make one cluster fall short in the named ways (degrade.NAMES); its controllers act on it at once."""
        with self._lock:
            self._saved.pop(kube_id, None)
            c = self._clusters[kube_id]
            c.degraded |= check_names(names)
            controllers.reconcile(c)

    # --- ARM side ----------------------------------------------------------------------------------------
    def sync_cluster(self, kube_id: str, cluster: dict, agent_pools: list[dict]) -> None:
        """Make the cluster's objects follow the ARM view: seed what each enabled option installs, remove what a
        disabled option had seeded; objects users created are kept. Idempotent."""
        with self._lock:
            self._saved.pop(kube_id, None)
            c = self._clusters.get(kube_id)
            if c is None:
                c = self._clusters[kube_id] = Cluster(kube_id)
                c.degraded |= self.degraded
            props = cluster.get("properties", cluster) if isinstance(cluster, dict) else {}
            version = props.get("currentKubernetesVersion") or props.get("kubernetesVersion") or "1.34.2"
            c.git_version = "v" + str(version).lstrip("v")
            if c.git_version.count(".") == 1:
                c.git_version += ".0"
            c.arm = {"cluster": copy.deepcopy(cluster), "pools": copy.deepcopy(agent_pools or [])}
            desired = seed.desired(kube_id, cluster, agent_pools or [])
            keep: set[str] = set()
            # namespaces and CRDs first so that namespaced objects and custom resources have a home
            order = sorted(((opt, obj) for opt, objs in desired.items() for obj in objs),
                           key=lambda t: 0 if t[1]["kind"] in ("Namespace", "CustomResourceDefinition") else 1)
            for opt, obj in order:
                if obj["kind"] == "CustomResourceDefinition" or obj["kind"] == "Namespace":
                    keep.add(self._seed_one(c, opt, obj))
            controllers.crds(c)
            for opt, obj in order:
                if obj["kind"] not in ("CustomResourceDefinition", "Namespace"):
                    keep.add(self._seed_one(c, opt, obj))
            for key in [k for k in c.seeded if k not in keep]:
                if "metrics-off" in c.degraded and c.seeded.get(key) == N.OPT_AMA:
                    continue  # the collector's objects stay behind while Azure has metrics off
                self._remove_seeded(c, key)
            controllers.reconcile(c)

    @staticmethod
    def _seed_one(c: Cluster, option: str, obj: dict) -> str:
        res = c.resource_for_kind(obj["apiVersion"], obj["kind"])
        if res is None:
            raise ValueError(f"seed {option}: {obj['apiVersion']} {obj['kind']} is not a resource this cluster serves")
        group = obj["apiVersion"].rpartition("/")[0]
        ns = obj["metadata"].get("namespace", "") if res.namespaced else ""
        existing = c.get(group, res.plural, ns, obj["metadata"]["name"])
        obj = copy.deepcopy(obj)
        if obj["kind"] == "Node":
            old_conds = {x["type"]: x for x in (existing or {}).get("status", {}).get("conditions", [])}
            ts = now()
            for x in obj["status"]["conditions"]:
                o = old_conds.get(x["type"])
                x["lastHeartbeatTime"] = o.get("lastHeartbeatTime", ts) if o else ts
                x["lastTransitionTime"] = o.get("lastTransitionTime", ts) if o and o.get("status") == x["status"] else ts
            if existing is not None:
                for k in ("capacity", "allocatable"):
                    gpu = (existing.get("status", {}).get(k) or {}).get(N.GPU_RESOURCE)
                    if gpu is not None:
                        obj["status"][k][N.GPU_RESOURCE] = gpu
        if existing is not None:
            if "status" not in obj and "status" in existing:
                obj["status"] = copy.deepcopy(existing["status"])
            if obj["kind"] == "Service":
                for k in ("clusterIP", "clusterIPs"):
                    if k in existing.get("spec", {}):
                        obj["spec"][k] = existing["spec"][k]
            for k in ("annotations", "labels"):
                extra = existing["metadata"].get(k) or {}
                if extra:
                    obj["metadata"][k] = {**extra, **(obj["metadata"].get(k) or {})}
        if obj["kind"] == "GatewayClass" and existing is not None:
            obj["status"] = copy.deepcopy(existing.get("status", {}))
        stored = c.write(obj, seeded_by=option)
        return c.okey(group, res.plural, ns, stored["metadata"]["name"])

    @staticmethod
    def _remove_seeded(c: Cluster, key: str) -> None:
        group, plural, ns, name = key.split("/", 3)
        obj = c.get(group, plural, ns, name)
        if obj is None:
            c.seeded.pop(key, None)
            return
        if (group, plural) == ("", "namespaces"):
            for g, p, o in list(c.all_objects()):
                if o["metadata"].get("namespace") == name and (g, p) != ("", "namespaces"):
                    c.raw_delete(g, p, name, o["metadata"]["name"])
        if (group, plural) == ("apiextensions.k8s.io", "customresourcedefinitions"):
            spec = obj.get("spec", {})
            c.drop_resource(spec.get("group", ""), spec.get("names", {}).get("plural", ""))
        c.raw_delete(group, plural, ns, name)
        c.next_rv()

    def collect(self, kube_id: str) -> list[dict]:
        """What the cluster's managed Prometheus collector sends now (see monitoring.py)."""
        from . import monitoring
        with self._lock:
            self._saved.pop(kube_id, None)
            c = self._clusters.get(kube_id)
            return monitoring.collect(c) if c is not None else []

    def remove_cluster(self, kube_id: str) -> None:
        with self._lock:
            self._saved.pop(kube_id, None)
            self._clusters.pop(kube_id, None)

    # --- HTTP side ---------------------------------------------------------------------------------------
    def handle(self, kube_id: str, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str],
               body: bytes) -> tuple[int, dict[str, str], bytes]:
        hdrs = {k.lower(): v for k, v in (headers or {}).items()}
        with self._lock:
            self._saved.pop(kube_id, None)
            c = self._clusters.get(kube_id)
            if c is None:
                return _status(404, "NotFound", f'cluster "{kube_id}" not found')
            refused = _signed_in(c, hdrs, method, path, query)
            if refused is not None:
                return refused
            code, out_headers, out = api.handle(c, method, path, query or {}, hdrs, body or b"")
        if out_headers.pop(api.EMPTY_WATCH_HEADER, None):
            try:
                time.sleep(min(float((query or {}).get("timeoutSeconds", ["1"])[0]), 1.0))
            except (ValueError, TypeError, IndexError):
                time.sleep(1.0)
        return code, out_headers, out

    # --- state -------------------------------------------------------------------------------------------
    def cluster(self, kube_id: str) -> Cluster:
        with self._lock:
            self._saved.pop(kube_id, None)  # the caller may change it
            return self._clusters[kube_id]

    def cluster_ids(self) -> list[str]:
        with self._lock:
            return sorted(self._clusters)

    def to_dict(self) -> dict:
        """The saved form (a copy)."""
        return json.loads(self.to_json())

    def to_json(self) -> str:
        """The saved form as JSON text. Encoding under the lock is the snapshot (no deep copy), and a cluster's
        text is kept until that cluster is reached again."""
        with self._lock:
            for k, c in self._clusters.items():
                if k not in self._saved:
                    self._saved[k] = json.dumps(c.to_dict())
            clusters = ", ".join(f"{json.dumps(k)}: {self._saved[k]}" for k in self._clusters)
        return '{"version": 1, "clusters": {' + clusters + "}}"

    @classmethod
    def from_dict(cls, d: dict) -> "KubeWorld":
        w = cls()
        for k, cd in (d or {}).get("clusters", {}).items():
            w._clusters[k] = Cluster.from_dict(cd)
        return w
