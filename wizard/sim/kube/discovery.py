"""Discovery documents of a Kubernetes 1.34 API server, and the registry of resources behind them.

Built-in group versions come from the Kubernetes project's generated discovery files (data/discovery/,
copied verbatim from kubernetes/kubernetes api/discovery/, see data/discovery/SOURCES.md), filtered to what
a 1.34 server with default feature gates serves. Group versions without a file come from a compact table
written from the 1.34 API reference. CRD and APIService groups are generated from the objects in the store.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).parent / "data" / "discovery"

STD_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
CRD_VERBS = ("delete", "deletecollection", "get", "list", "patch", "create", "update", "watch")
SUB_VERBS = ("get", "patch", "update")


def storage_version_hash(group: str, version: str, kind: str) -> str:
    """kube-apiserver's formula: base64(sha256("<group>/<version>/<Kind>")[:8])."""
    return base64.b64encode(hashlib.sha256(f"{group}/{version}/{kind}".encode()).digest()[:8]).decode()


@dataclass
class Resource:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    verbs: tuple[str, ...] = STD_VERBS
    singular: str = ""
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: dict[str, str] = field(default_factory=dict)  # name -> kind
    crd: bool = False
    aggregated: bool = False  # served by an APIService (metrics.k8s.io, ...)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self) -> str:
        """plural.group as used in messages ("deployments.apps"), plural alone for the core group."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def list_kind(self) -> str:
        return self.kind + "List"

    def has_status(self) -> bool:
        return "status" in self.subresources


# ------------------------------------------------------------------------------------------------------
# Built-ins

# Group versions served by 1.34 (default gates) without a verbatim file: (plural, kind, namespaced, shortNames,
# subresources, categories). Written from the Kubernetes 1.34 API reference.
COMPACT: dict[str, list[tuple]] = {
    "events.k8s.io/v1": [("events", "Event", True, ("ev",), (), ())],
    "authentication.k8s.io/v1": [
        ("selfsubjectreviews", "SelfSubjectReview", False, (), (), ()),
        ("tokenreviews", "TokenReview", False, (), (), ()),
    ],
    "authorization.k8s.io/v1": [
        ("localsubjectaccessreviews", "LocalSubjectAccessReview", True, (), (), ()),
        ("selfsubjectaccessreviews", "SelfSubjectAccessReview", False, (), (), ()),
        ("selfsubjectrulesreviews", "SelfSubjectRulesReview", False, (), (), ()),
        ("subjectaccessreviews", "SubjectAccessReview", False, (), (), ()),
    ],
    "certificates.k8s.io/v1": [
        ("certificatesigningrequests", "CertificateSigningRequest", False, ("csr",), ("approval", "status"), ()),
    ],
    "networking.k8s.io/v1": [
        ("ingressclasses", "IngressClass", False, (), (), ()),
        ("ingresses", "Ingress", True, ("ing",), ("status",), ()),
        ("ipaddresses", "IPAddress", False, ("ip",), (), ()),
        ("networkpolicies", "NetworkPolicy", True, ("netpol",), (), ()),
        ("servicecidrs", "ServiceCIDR", False, (), ("status",), ()),
    ],
    "policy/v1": [("poddisruptionbudgets", "PodDisruptionBudget", True, ("pdb",), ("status",), ())],
    "rbac.authorization.k8s.io/v1": [
        ("clusterrolebindings", "ClusterRoleBinding", False, (), (), ()),
        ("clusterroles", "ClusterRole", False, (), (), ()),
        ("rolebindings", "RoleBinding", True, (), (), ()),
        ("roles", "Role", True, (), (), ()),
    ],
    "storage.k8s.io/v1": [
        ("csidrivers", "CSIDriver", False, (), (), ()),
        ("csinodes", "CSINode", False, (), (), ()),
        ("csistoragecapacities", "CSIStorageCapacity", True, (), (), ()),
        ("storageclasses", "StorageClass", False, ("sc",), (), ()),
        ("volumeattachments", "VolumeAttachment", False, (), ("status",), ()),
        ("volumeattributesclasses", "VolumeAttributesClass", False, ("vac",), (), ()),
    ],
    "scheduling.k8s.io/v1": [("priorityclasses", "PriorityClass", False, ("pc",), (), ())],
    "coordination.k8s.io/v1": [("leases", "Lease", True, (), (), ())],
    "node.k8s.io/v1": [("runtimeclasses", "RuntimeClass", False, (), (), ())],
    "discovery.k8s.io/v1": [("endpointslices", "EndpointSlice", True, (), (), ())],
    "flowcontrol.apiserver.k8s.io/v1": [
        ("flowschemas", "FlowSchema", False, (), ("status",), ()),
        ("prioritylevelconfigurations", "PriorityLevelConfiguration", False, (), ("status",), ()),
    ],
}
CREATE_ONLY = {"tokenreviews", "selfsubjectreviews", "localsubjectaccessreviews", "selfsubjectaccessreviews",
               "selfsubjectrulesreviews", "subjectaccessreviews"}

# Groups served through an APIService backed by a Service (aggregated): resources they list when Available.
AGGREGATED: dict[str, list[dict]] = {
    "metrics.k8s.io/v1beta1": [
        {"name": "nodes", "singularName": "", "namespaced": False, "kind": "NodeMetrics", "verbs": ["get", "list"]},
        {"name": "pods", "singularName": "", "namespaced": True, "kind": "PodMetrics", "verbs": ["get", "list"]},
    ],
    "external.metrics.k8s.io/v1beta1": [
        {"name": "externalmetrics", "singularName": "", "namespaced": True, "kind": "ExternalMetricValueList",
         "verbs": ["get"]},
    ],
    "custom.metrics.k8s.io/v1beta1": [],
}

# Groups dropped from the verbatim /apis document (see SOURCES.md).
DROPPED_GROUPS = {"storagemigration.k8s.io", "internal.apiserver.k8s.io"}
DROPPED_RESOURCES = {"admissionregistration.k8s.io/v1": {"mutatingadmissionpolicies", "mutatingadmissionpolicybindings"}}
GA = re.compile(r"^v\d+$")


def _load(name: str) -> dict:
    return json.loads((DATA / name).read_text())


@lru_cache(maxsize=1)
def builtin_documents() -> dict[str, dict]:
    """groupVersion -> APIResourceList for every built-in group version a 1.34 server serves."""
    docs: dict[str, dict] = {}
    for path in sorted(DATA.glob("*.json")):
        doc = json.loads(path.read_text())
        if doc.get("kind") != "APIResourceList":
            continue
        gv = doc["groupVersion"]
        drop = DROPPED_RESOURCES.get(gv, set())
        if drop:
            doc["resources"] = [r for r in doc["resources"] if r["name"].split("/")[0] not in drop]
        docs[gv] = doc
    for gv, rows in COMPACT.items():
        group, version = gv.split("/")
        resources = []
        for plural, kind, namespaced, short, subs, cats in rows:
            verbs = ["create"] if plural in CREATE_ONLY else list(STD_VERBS)
            r = {"name": plural, "singularName": kind.lower(), "namespaced": namespaced, "kind": kind,
                 "verbs": verbs}
            if plural not in CREATE_ONLY:
                r["storageVersionHash"] = storage_version_hash(group, version, kind)
            if short:
                r["shortNames"] = list(short)
            if cats:
                r["categories"] = list(cats)
            resources.append(r)
            for sub in subs:
                resources.append({"name": f"{plural}/{sub}", "singularName": "", "namespaced": namespaced,
                                  "kind": kind, "verbs": list(SUB_VERBS)})
        docs[gv] = {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}
    return docs


@lru_cache(maxsize=1)
def builtin_groups() -> list[dict]:
    """The /apis group list of a 1.34 default-gates server (GA versions only, newer groups dropped)."""
    doc = _load("apis.json")
    served = builtin_documents()
    out = []
    for g in doc["groups"]:
        if g["name"] in DROPPED_GROUPS:
            continue
        versions = [v for v in g["versions"] if GA.match(v["version"]) and v["groupVersion"] in served]
        if not versions:
            continue
        pref = g["preferredVersion"] if g["preferredVersion"] in versions else versions[0]
        out.append({"name": g["name"], "versions": versions, "preferredVersion": pref})
    return out


def _resources_from_doc(doc: dict, aggregated: bool = False) -> dict[str, Resource]:
    gv = doc["groupVersion"]
    group, _, version = gv.rpartition("/")
    out: dict[str, Resource] = {}
    for r in doc["resources"]:
        if "/" in r["name"]:
            continue
        out[r["name"]] = Resource(group, version, r["name"], r["kind"], bool(r["namespaced"]),
                                  tuple(r["verbs"]), r.get("singularName", ""), tuple(r.get("shortNames", ())),
                                  tuple(r.get("categories", ())), aggregated=aggregated)
    for r in doc["resources"]:
        if "/" in r["name"]:
            base, sub = r["name"].split("/", 1)
            if base in out:
                out[base].subresources[sub] = r["kind"]
    return out


@lru_cache(maxsize=1)
def builtin_resources() -> dict[tuple[str, str], dict[str, Resource]]:
    """(group, version) -> plural -> Resource for built-ins."""
    out = {}
    for gv, doc in builtin_documents().items():
        group, _, version = gv.rpartition("/")
        out[(group, version)] = _resources_from_doc(doc)
    return out


@lru_cache(maxsize=1)
def kind_index() -> dict[tuple[str, str], Resource]:
    """(group, Kind) -> Resource of the preferred built-in version (for controllers writing objects)."""
    out: dict[tuple[str, str], Resource] = {}
    preferred = {"": "v1"}
    for g in builtin_groups():
        preferred[g["name"]] = g["preferredVersion"]["version"]
    for (group, version), resources in builtin_resources().items():
        for r in resources.values():
            key = (group, r.kind)
            if key not in out or preferred.get(group) == version:
                out[key] = r
    return out


def api_versions_doc() -> dict:
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "10.0.0.1:443"}]}


def core_v1_doc() -> dict:
    return copy.deepcopy(builtin_documents()["v1"])


_VERSION_RE = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")


def version_priority_key(v: str):
    """Kubernetes version ordering: GA > beta > alpha, higher numbers first; non-kube versions last."""
    m = _VERSION_RE.match(v)
    if not m:
        return (3, 0, 0, v)
    major, pre, minor = int(m.group(1)), m.group(2), int(m.group(3) or 0)
    rank = {None: 0, "beta": 1, "alpha": 2}[pre]
    return (rank, -major, -minor, v)


def crd_resources(crd: dict) -> dict[str, Resource]:
    """version -> Resource for every served version of a CRD."""
    spec = crd.get("spec", {})
    names = spec.get("names", {})
    group = spec.get("group", "")
    out = {}
    for v in spec.get("versions", []):
        if not v.get("served", True):
            continue
        subs = v.get("subresources") or {}
        r = Resource(group, v["name"], names.get("plural", ""), names.get("kind", ""),
                     spec.get("scope", "Namespaced") == "Namespaced", CRD_VERBS,
                     names.get("singular") or names.get("kind", "").lower(), tuple(names.get("shortNames", ())),
                     tuple(names.get("categories", ())), crd=True)
        if "status" in subs:
            r.subresources["status"] = r.kind
        if "scale" in subs:
            r.subresources["scale"] = "Scale"
        out[v["name"]] = r
    return out


def crd_storage_version(crd: dict) -> str:
    for v in crd.get("spec", {}).get("versions", []):
        if v.get("storage"):
            return v["name"]
    vs = crd.get("spec", {}).get("versions", [])
    return vs[0]["name"] if vs else "v1"


def crd_resource_list(group: str, version: str, crds: list[dict]) -> dict:
    resources = []
    for crd in crds:
        r = crd_resources(crd).get(version)
        if r is None:
            continue
        entry = {"name": r.plural, "singularName": r.singular, "namespaced": r.namespaced, "kind": r.kind,
                 "verbs": list(CRD_VERBS)}
        if r.short_names:
            entry["shortNames"] = list(r.short_names)
        if r.categories:
            entry["categories"] = list(r.categories)
        entry["storageVersionHash"] = storage_version_hash(group, crd_storage_version(crd), r.kind)
        resources.append(entry)
        if "status" in r.subresources:
            resources.append({"name": f"{r.plural}/status", "singularName": "", "namespaced": r.namespaced,
                              "kind": r.kind, "verbs": list(SUB_VERBS)})
        if "scale" in r.subresources:
            resources.append({"name": f"{r.plural}/scale", "singularName": "", "namespaced": r.namespaced,
                              "group": "autoscaling", "version": "v1", "kind": "Scale", "verbs": list(SUB_VERBS)})
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": f"{group}/{version}",
            "resources": resources}


def aggregated_resources(group: str, version: str) -> dict[str, Resource] | None:
    doc = AGGREGATED.get(f"{group}/{version}")
    if doc is None:
        return None
    return _resources_from_doc({"groupVersion": f"{group}/{version}", "resources": doc}, aggregated=True)


def aggregated_resource_list(group: str, version: str) -> dict:
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": f"{group}/{version}",
            "resources": copy.deepcopy(AGGREGATED.get(f"{group}/{version}", []))}
