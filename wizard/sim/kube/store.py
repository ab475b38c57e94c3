"""The object store of one simulated cluster."""

from __future__ import annotations

import builtins
import copy
import datetime as dt
import hashlib
import uuid
from typing import Any, Iterator

from . import discovery as disc

RV_START = 1000


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def split_api_version(api_version: str) -> tuple[str, str]:
    group, _, version = (api_version or "").rpartition("/")
    return group, version


class Cluster:
    """Objects of one cluster keyed by (group, plural) then (namespace, name); resourceVersion counter."""

    def __init__(self, kube_id: str):
        self.kube_id = kube_id
        self.git_version = "v1.34.2"
        self.rv = RV_START
        self.store: dict[tuple[str, str], dict[tuple[str, str], dict]] = {}
        self.seeded: dict[str, str] = {}  # object key -> option that seeded it
        self.arm: dict = {}  # last synced ARM view {"cluster": ..., "pools": [...]}
        self.gpu_alloc: dict[str, dict[str, str]] = {}  # node -> gpu index -> "ns/pod/container"
        self.logs: dict[str, str] = {}  # "ns/pod/container" -> simulated output
        self.ip_next = 10  # service cluster IPs 10.0.x.y
        self.lb_next = 4  # load balancer IPs 20.x.y.z
        self.degraded: set[str] = set()  # ways this cluster falls short on purpose (see degrade.py)
        self.counters: dict[str, int] = {}  # "ns/pod" -> requests served by a metrics-exposing app
        self.scraped: list[dict] = []  # samples the managed Prometheus collector sent (see monitoring.py)
        # (group, plural) -> namespace (None: all) -> objects sorted as list() returns them; dropped on every put or
        # delete of that resource, so that controllers listing pods each round do not sort a busy cluster each time
        self._sorted: dict[tuple[str, str], dict[str | None, builtins.list[dict]]] = {}
        # (group, plural) -> namespace -> owner uid -> its objects in list() order (same lifetime as _sorted)
        self._owned: dict[tuple[str, str], dict[str, dict[str | None, builtins.list[dict]]]] = {}

    # --- identity --------------------------------------------------------------------------------------
    @staticmethod
    def okey(group: str, plural: str, ns: str, name: str) -> str:
        return f"{group}/{plural}/{ns}/{name}"

    def next_rv(self) -> str:
        self.rv += 1
        return str(self.rv)

    def uid_for(self, key: str) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.kube_id}/{key}/{self.rv}"))

    # --- resource registry -----------------------------------------------------------------------------
    def crds(self) -> list[dict]:
        return list(self.store.get(("apiextensions.k8s.io", "customresourcedefinitions"), {}).values())

    def resource(self, group: str, version: str, plural: str) -> disc.Resource | None:
        builtin = disc.builtin_resources().get((group, version))
        if builtin is not None:
            return builtin.get(plural)
        for crd in self.crds():
            spec = crd.get("spec", {})
            if spec.get("group") == group and spec.get("names", {}).get("plural") == plural:
                return disc.crd_resources(crd).get(version)
        agg = disc.aggregated_resources(group, version)
        if agg is not None and self.apiservice_for(group, version) is not None:
            return agg.get(plural)
        return None

    def resource_for_kind(self, api_version: str, kind: str) -> disc.Resource | None:
        group, version = split_api_version(api_version)
        builtin = disc.builtin_resources().get((group, version))
        if builtin is not None:
            for r in builtin.values():
                if r.kind == kind:
                    return r
            return None
        for crd in self.crds():
            spec = crd.get("spec", {})
            if spec.get("group") == group and spec.get("names", {}).get("kind") == kind:
                return disc.crd_resources(crd).get(version)
        return None

    def apiservice_for(self, group: str, version: str) -> dict | None:
        return self.get("apiregistration.k8s.io", "apiservices", "", f"{version}.{group}")

    def group_served(self, group: str) -> bool:
        return any(g["name"] == group for g in self.api_groups())

    def api_groups(self) -> list[dict]:
        """The /apis group list: built-ins, CRD groups, then aggregated groups with an APIService."""
        groups = [copy.deepcopy(g) for g in disc.builtin_groups()]
        known = {g["name"] for g in groups}
        crd_versions: dict[str, set[str]] = {}
        for crd in self.crds():
            if not _established(crd):
                continue
            g = crd["spec"]["group"]
            crd_versions.setdefault(g, set()).update(disc.crd_resources(crd).keys())
        for g in sorted(crd_versions):
            if g in known:
                continue
            vs = sorted(crd_versions[g], key=disc.version_priority_key)
            versions = [{"groupVersion": f"{g}/{v}", "version": v} for v in vs]
            groups.append({"name": g, "versions": versions, "preferredVersion": versions[0]})
            known.add(g)
        agg: dict[str, tuple[int, list[str]]] = {}
        for svc in self.list("apiregistration.k8s.io", "apiservices"):
            spec = svc.get("spec", {})
            g = spec.get("group")
            if not g or g in known or not spec.get("service"):
                continue
            prio, vs = agg.get(g, (0, []))
            vs.append(spec.get("version"))
            agg[g] = (max(prio, int(spec.get("groupPriorityMinimum", 0))), vs)
        for g, (_, vs) in sorted(agg.items(), key=lambda kv: (-kv[1][0], kv[0])):
            vs = sorted(set(vs), key=disc.version_priority_key)
            versions = [{"groupVersion": f"{g}/{v}", "version": v} for v in vs]
            groups.append({"name": g, "versions": versions, "preferredVersion": versions[0]})
        return groups

    # --- objects ---------------------------------------------------------------------------------------
    def get(self, group: str, plural: str, ns: str, name: str) -> dict | None:
        return self.store.get((group, plural), {}).get((ns or "", name))

    def list(self, group: str, plural: str, ns: str | None = None) -> list[dict]:
        lists = self._sorted.setdefault((group, plural), {})
        got = lists.get(ns)
        if got is None:
            items = self.store.get((group, plural), {})
            out = [o for (ons, _), o in items.items() if ns is None or ons == ns]
            got = lists[ns] = sorted(out, key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
        return builtins.list(got)

    def owned(self, group: str, plural: str, ns: str, owner_uid: str | None) -> "builtins.list[dict]":
        """The objects of one namespace with an owner reference to that uid, in list() order: what
        `[o for o in list(group, plural, ns) if owned_by(o, owner)]` gives, without scanning a thousand pods for
        each ReplicaSet, DaemonSet, StatefulSet and Job every round."""
        by_ns = self._owned.setdefault((group, plural), {})
        index = by_ns.get(ns)
        if index is None:
            index = by_ns[ns] = {}
            for o in self.list(group, plural, ns):
                for uid in dict.fromkeys(r.get("uid") for r in o["metadata"].get("ownerReferences") or []):
                    index.setdefault(uid, []).append(o)
        return builtins.list(index.get(owner_uid, ()))

    def _forget(self, group: str, plural: str) -> None:
        """A put or delete of the resource: its sorted lists and owner index are rebuilt when next asked for."""
        self._sorted.pop((group, plural), None)
        self._owned.pop((group, plural), None)

    def all_objects(self) -> Iterator[tuple[str, str, dict]]:
        for (group, plural), items in list(self.store.items()):
            for obj in list(items.values()):
                yield group, plural, obj

    def raw_put(self, group: str, plural: str, obj: dict) -> dict:
        meta = obj["metadata"]
        self._forget(group, plural)
        self.store.setdefault((group, plural), {})[(meta.get("namespace", ""), meta["name"])] = obj
        return obj

    def raw_delete(self, group: str, plural: str, ns: str, name: str) -> dict | None:
        items = self.store.get((group, plural), {})
        obj = items.pop((ns or "", name), None)
        self._forget(group, plural)
        self.seeded.pop(self.okey(group, plural, ns or "", name), None)
        if (group, plural) == ("", "pods"):
            for key in [k for k in self.logs if k.startswith(f"{ns}/{name}/")]:
                del self.logs[key]
        return obj

    def drop_resource(self, group: str, plural: str) -> None:
        """Forget every object of a resource at once (its CRD is gone)."""
        self.store.pop((group, plural), None)
        self._forget(group, plural)

    def write(self, obj: dict, seeded_by: str | None = None) -> dict:
        """Controller/seed write: create or update by apiVersion/kind; bumps resourceVersion only on change."""
        group, _ = split_api_version(obj["apiVersion"])
        res = self.resource_for_kind(obj["apiVersion"], obj["kind"])
        if res is None:
            raise KeyError(f"no resource for {obj['apiVersion']} {obj['kind']}")
        meta = obj.setdefault("metadata", {})
        ns = meta.get("namespace", "") if res.namespaced else ""
        if not res.namespaced:
            meta.pop("namespace", None)
        key = self.okey(group, res.plural, ns, meta["name"])
        old = self.get(group, res.plural, ns, meta["name"])
        if old is not None:
            for k in ("uid", "creationTimestamp"):
                meta[k] = old["metadata"].get(k)
            if "managedFields" in old["metadata"] and "managedFields" not in meta:
                meta["managedFields"] = old["metadata"]["managedFields"]
            if "generation" in old["metadata"]:
                meta["generation"] = old["metadata"]["generation"]
                if old.get("spec") != obj.get("spec"):
                    meta["generation"] += 1
            meta["resourceVersion"] = old["metadata"]["resourceVersion"]
            if old == obj:
                if seeded_by:
                    self.seeded[key] = seeded_by
                return old
        else:
            meta.setdefault("uid", self.uid_for(key))
            meta.setdefault("creationTimestamp", now())
            if "spec" in obj and obj["kind"] not in ("Namespace", "Node", "Service"):
                meta.setdefault("generation", 1)
        meta["resourceVersion"] = self.next_rv()
        self.raw_put(group, res.plural, obj)
        if seeded_by:
            self.seeded[key] = seeded_by
        return obj

    def find(self, kind: str, name: str, namespace: str = "") -> dict | None:
        """Test helper: first object of that kind and name (any group)."""
        for _, _, obj in self.all_objects():
            if obj.get("kind") == kind and obj["metadata"]["name"] == name and \
                    obj["metadata"].get("namespace", "") == (namespace or ""):
                return obj
        return None

    @property
    def objects(self) -> dict[str, dict]:
        """All objects keyed "group/plural/namespace/name" (read-only view for tests)."""
        return {self.okey(g, p, o["metadata"].get("namespace", ""), o["metadata"]["name"]): o
                for g, p, o in self.all_objects()}

    def of_kind(self, kind: str, namespace: str | None = None) -> "builtins.list[dict]":
        return [o for _, _, o in self.all_objects() if o.get("kind") == kind and
                (namespace is None or o["metadata"].get("namespace", "") == namespace)]

    # --- persistence -----------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "kube_id": self.kube_id, "git_version": self.git_version, "rv": self.rv,
            "objects": [{"group": g, "plural": p, "object": o} for g, p, o in self.all_objects()],
            "seeded": dict(self.seeded), "arm": self.arm, "gpu_alloc": self.gpu_alloc,
            "ip_next": self.ip_next, "lb_next": self.lb_next, "logs": dict(self.logs),
            "degraded": sorted(self.degraded), "counters": dict(self.counters), "scraped": list(self.scraped),
        }

    @classmethod
    def from_dict(cls, d: dict) -> "Cluster":
        c = cls(d["kube_id"])
        c.git_version = d.get("git_version", c.git_version)
        c.rv = int(d.get("rv", RV_START))
        for row in d.get("objects", []):
            c.raw_put(row["group"], row["plural"], row["object"])
        c.seeded = dict(d.get("seeded", {}))
        c.arm = d.get("arm", {})
        c.gpu_alloc = {k: dict(v) for k, v in d.get("gpu_alloc", {}).items()}
        c.logs = dict(d.get("logs", {}))
        c.ip_next = d.get("ip_next", 10)
        c.lb_next = d.get("lb_next", 4)
        c.degraded = set(d.get("degraded", []))
        c.counters = dict(d.get("counters", {}))
        c.scraped = list(d.get("scraped", []))
        return c


def _established(crd: dict) -> bool:
    for cond in crd.get("status", {}).get("conditions", []) or []:
        if cond.get("type") == "Established":
            return cond.get("status") == "True"
    return False


def short_hash(text: str, n: int = 10) -> str:
    """Kubernetes-like pod-template-hash / random suffix alphabet (no vowels)."""
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    h = int(hashlib.sha256(text.encode()).hexdigest(), 16)
    out = ""
    for _ in range(n):
        h, r = divmod(h, len(alphabet))
        out += alphabet[r]
    return out


def deepcopy(o: Any) -> Any:
    return copy.deepcopy(o)
