"""HTTP semantics of kube-apiserver over the store of one cluster: discovery, CRUD, patch, apply, subresources."""

from __future__ import annotations

import copy
import json
import re
import time
import uuid
from urllib.parse import unquote

from . import admission as A
from . import controllers
from . import discovery as disc
from . import errors as E
from . import names as N
from . import proxy
from . import quantity as Q
from .patch import (PatchError, deep_merge, field_selector_matches, from_fields_v1, get_path, json_patch,
                    label_requirements_match, leaf_paths, merge_patch, parse_body, parse_label_selector, path_str,
                    remove_path, to_fields_v1)
from .store import Cluster, now, short_hash

Response = tuple[int, dict[str, str], bytes]
JSON = {"Content-Type": "application/json"}

APPLY = "application/apply-patch+yaml"
MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
JSONPATCH = "application/json-patch+json"
EMPTY_WATCH_HEADER = "X-Sim-Empty-Watch"
RETURNS_OBJECT_ON_DELETE = {("", "pods"), ("", "namespaces"), ("apiextensions.k8s.io", "customresourcedefinitions")}


def respond(code: int, body) -> Response:
    return code, dict(JSON), json.dumps(body).encode()


def status_ok(res, name: str, uid: str | None = None) -> dict:
    details = {"name": name, "kind": res.plural}
    if res.group:
        details["group"] = res.group
    if uid:
        details["uid"] = uid
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}


class Request:
    def __init__(self, method: str, query: dict, headers: dict, body: bytes):
        self.method = method.upper()
        self.query = {k: (v if isinstance(v, list) else [v]) for k, v in (query or {}).items()}
        self.headers = {k.lower(): v for k, v in (headers or {}).items()}
        self.body = body or b""

    def q(self, key: str, default: str | None = None) -> str | None:
        v = self.query.get(key)
        return v[0] if v else default

    @property
    def dry_run(self) -> bool:
        return "All" in (self.query.get("dryRun") or [])

    @property
    def content_type(self) -> str:
        return (self.headers.get("content-type") or "application/json").split(";")[0].strip().lower()

    def manager(self) -> str:
        fm = self.q("fieldManager")
        if fm:
            return fm
        ua = self.headers.get("user-agent") or "unknown"
        return ua.split("/")[0]

    def json(self):
        try:
            return parse_body(self.body, self.content_type)
        except Exception as exc:  # noqa: BLE001
            raise E.bad_request(f"the body of the request could not be decoded: {exc}") from None


def handle(c: Cluster, method: str, path: str, query: dict, headers: dict, body: bytes) -> Response:
    req = Request(method, query, headers, body)
    try:
        return _route(c, req, path)
    except E.KubeError as err:
        return respond(err.code, err.status())
    except PatchError as err:
        return respond(err.code, E.KubeError(err.code, err.reason, err.message).status())


# ------------------------------------------------------------------------------------------------------
# routing

def _route(c: Cluster, req: Request, path: str) -> Response:
    parts = [unquote(p) for p in path.split("?")[0].split("/") if p]
    if not parts:
        return respond(200, {"paths": ["/api", "/api/v1", "/apis", "/healthz", "/livez", "/readyz", "/version"]})
    if parts[0] in ("healthz", "livez", "readyz"):
        return 200, {"Content-Type": "text/plain; charset=utf-8"}, b"ok"
    if parts == ["version"]:
        v = c.git_version if c.git_version.startswith("v") else "v" + c.git_version
        major, minor = v.lstrip("v").split(".")[:2]
        return respond(200, {"major": major, "minor": minor, "emulationMajor": major, "emulationMinor": minor,
                             "minCompatibilityMajor": major, "minCompatibilityMinor": str(int(minor) - 1),
                             "gitVersion": v, "gitCommit": short_hash(v, 20), "gitTreeState": "clean",
                             "buildDate": "2025-10-01T00:00:00Z", "goVersion": "go1.24.6", "compiler": "gc",
                             "platform": "linux/amd64"})
    if parts[0] == "api":
        if len(parts) == 1:
            return respond(200, disc.api_versions_doc())
        if parts[1] != "v1":
            raise E.no_resource()
        if len(parts) == 2:
            return respond(200, disc.core_v1_doc())
        return _resource_request(c, req, "", "v1", parts[2:])
    if parts[0] == "apis":
        if len(parts) == 1:
            return respond(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": c.api_groups()})
        group = parts[1]
        g = next((x for x in c.api_groups() if x["name"] == group), None)
        if g is None:
            raise E.no_resource()
        if len(parts) == 2:
            return respond(200, {"kind": "APIGroup", "apiVersion": "v1", **g})
        version = parts[2]
        if version not in [v["version"] for v in g["versions"]]:
            raise E.no_resource()
        if len(parts) == 3:
            return respond(200, _resource_list(c, group, version))
        return _resource_request(c, req, group, version, parts[3:])
    if parts[0] in ("openapi", "metrics", ".well-known"):
        raise E.no_resource()
    raise E.no_resource()


def _resource_list(c: Cluster, group: str, version: str) -> dict:
    doc = disc.builtin_documents().get(f"{group}/{version}")
    if doc is not None:
        return copy.deepcopy(doc)
    crds = [crd for crd in c.crds() if crd["spec"].get("group") == group]
    if crds:
        return disc.crd_resource_list(group, version, crds)
    svc = c.apiservice_for(group, version)
    if svc is not None:
        _require_available(svc)
        return disc.aggregated_resource_list(group, version)
    raise E.no_resource()


def _require_available(svc: dict) -> None:
    ok = any(x.get("type") == "Available" and x.get("status") == "True"
             for x in svc.get("status", {}).get("conditions", []) or [])
    if not ok:
        raise E.unavailable()


def _resource_request(c: Cluster, req: Request, group: str, version: str, rest: list[str]) -> Response:
    if rest and rest[0] == "watch":  # deprecated /watch/ prefix
        req.query["watch"] = ["true"]
        rest = rest[1:]
    ns = None
    if rest[0] == "namespaces" and len(rest) >= 3 and not (group == "" and rest[2] in ("status", "finalize")):
        ns, rest = rest[1], rest[2:]
    plural = rest[0]
    name = rest[1] if len(rest) > 1 else None
    sub = rest[2] if len(rest) > 2 else None
    subpath = "/".join(rest[3:])
    res = c.resource(group, version, plural)
    if res is None:
        raise E.no_resource()
    if res.aggregated:
        svc = c.apiservice_for(group, version)
        _require_available(svc)
        return _aggregated(c, req, res, ns, name)
    if ns is not None and not res.namespaced:
        raise E.no_resource()
    if sub is not None and sub not in res.subresources:
        raise E.no_resource()
    if res.namespaced and name is not None and ns is None:
        raise E.no_resource()
    m = req.method
    if sub == "proxy":
        if m not in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"):
            raise E.method_not_allowed()
        if plural == "services":
            return proxy.service_proxy(c, ns or "", name, subpath, req.query)
        if plural == "pods":
            return proxy.pod_proxy(c, ns or "", name, subpath, req.query)
        if plural == "nodes":
            return proxy.node_proxy(c, name, subpath, req.query)
        raise E.no_resource()
    if sub == "log":
        return _pod_log(c, req, res, ns, name)
    if sub == "eviction":
        if m != "POST":
            raise E.method_not_allowed()
        return _evict(c, req, res, ns, name)
    if sub == "scale":
        return _scale(c, req, res, ns, name)
    if sub not in (None, "status"):
        raise E.method_not_allowed()
    if name is None:
        if m == "GET":
            if req.q("watch") in ("true", "1"):
                return _watch(c, req, res, ns)
            return respond(200, _list(c, req, res, ns))
        if m == "POST":
            return _create(c, req, res, ns)
        if m == "DELETE":
            return _delete_collection(c, req, res, ns)
        raise E.method_not_allowed()
    if m == "GET":
        obj = c.get(res.group, res.plural, ns or "", name)
        if obj is None:
            raise E.not_found(res, name)
        return respond(200, _out(obj, res))
    if m == "PUT":
        return _replace(c, req, res, ns, name, sub)
    if m == "PATCH":
        return _patch(c, req, res, ns, name, sub)
    if m == "DELETE":
        if sub:
            raise E.method_not_allowed()
        return _delete(c, req, res, ns, name)
    raise E.method_not_allowed()


def _out(obj: dict, res) -> dict:
    out = copy.deepcopy(obj)
    out["apiVersion"] = res.api_version
    out["kind"] = res.kind
    return out


# ------------------------------------------------------------------------------------------------------
# list / watch

def _list_items(c: Cluster, req: Request, res, ns: str | None) -> list[dict]:
    items = c.list(res.group, res.plural, ns if res.namespaced else None)
    ls = req.q("labelSelector")
    if ls:
        reqs = parse_label_selector(ls)
        items = [o for o in items if label_requirements_match(reqs, o["metadata"].get("labels"))]
    fs = req.q("fieldSelector")
    if fs:
        items = [o for o in items if field_selector_matches(fs, o)]
    return items


def _list(c: Cluster, req: Request, res, ns: str | None) -> dict:
    items = _list_items(c, req, res, ns)
    return {"kind": res.list_kind, "apiVersion": res.api_version, "metadata": {"resourceVersion": str(c.rv)},
            "items": [_out(o, res) for o in items]}


def _watch(c: Cluster, req: Request, res, ns: str | None) -> Response:
    """A watch that replays the current state and ends (clients re-list or re-watch)."""
    since = req.q("resourceVersion")
    events = []
    for o in _list_items(c, req, res, ns):
        rv = int(o["metadata"].get("resourceVersion", "0"))
        if since in (None, "", "0"):
            events.append({"type": "ADDED", "object": _out(o, res)})
        elif rv > int(since):
            events.append({"type": "MODIFIED", "object": _out(o, res)})
    body = "".join(json.dumps(e) + "\n" for e in events).encode()
    headers = {"Content-Type": "application/json"}
    if not events:  # the world sleeps (outside its lock) so that re-watching clients do not spin
        headers[EMPTY_WATCH_HEADER] = "1"
    return 200, headers, body


# ------------------------------------------------------------------------------------------------------
# managed fields

def _entries(obj: dict) -> list[dict]:
    out = []
    for e in obj.get("metadata", {}).get("managedFields") or []:
        out.append({**e, "_set": from_fields_v1(e.get("fieldsV1") or {})})
    return out


def _overlaps(p: tuple, q: tuple) -> bool:
    n = min(len(p), len(q))
    return p[:n] == q[:n]


def _store_entries(obj: dict, entries: list[dict], touched: set[int]) -> None:
    out = []
    for i, e in enumerate(entries):
        if not e["_set"]:
            continue
        row = {k: v for k, v in e.items() if k != "_set"}
        row["fieldsType"] = "FieldsV1"
        row["fieldsV1"] = to_fields_v1(e["_set"])
        if i in touched or "time" not in row:
            row["time"] = now()
        out.append(row)
    obj["metadata"]["managedFields"] = out


def _track_update(old: dict | None, new: dict, manager: str, api_version: str, sub: str | None,
                  operation: str = "Update") -> None:
    include_status = sub == "status"
    new_paths = leaf_paths(new, include_status)
    if include_status:
        new_paths = {p for p in new_paths if p[0] == "status"}
    if old is None:
        changed, removed = new_paths, set()
        entries = []
    else:
        old_paths = leaf_paths(old, include_status)
        if include_status:
            old_paths = {p for p in old_paths if p[0] == "status"}
        changed = {p for p in new_paths if get_path(old, p) != get_path(new, p)}
        removed = old_paths - new_paths
        entries = _entries(old)
    touched = set()
    for i, e in enumerate(entries):
        before = set(e["_set"])
        e["_set"] = {q for q in e["_set"] if not any(_overlaps(p, q) for p in changed | removed)}
        if e["_set"] != before:
            touched.add(i)
    idx = next((i for i, e in enumerate(entries) if e.get("manager") == manager and e.get("operation") == operation
                and e.get("subresource") == sub), None)
    if changed:
        if idx is None:
            row = {"manager": manager, "operation": operation, "apiVersion": api_version, "_set": set()}
            if sub:
                row["subresource"] = sub
            entries.append(row)
            idx = len(entries) - 1
        entries[idx]["_set"] |= changed
        entries[idx]["apiVersion"] = api_version
        touched.add(idx)
    _store_entries(new, entries, touched)


# ------------------------------------------------------------------------------------------------------
# create / update / patch / apply / delete

def _check_body(res, body, ns: str | None, name: str | None = None) -> dict:
    if not isinstance(body, dict):
        raise E.bad_request("the body of the request was in an unknown format")
    api_version, kind = body.get("apiVersion"), body.get("kind")
    if api_version and api_version != res.api_version:
        raise E.bad_request(f"the API version in the data ({api_version}) does not match the expected API version "
                            f"({res.api_version})")
    if kind and kind != res.kind:
        raise E.bad_request(f"the kind in the data ({kind}) does not match the expected kind ({res.kind})")
    body = copy.deepcopy(body)
    body["apiVersion"], body["kind"] = res.api_version, res.kind
    meta = body.setdefault("metadata", {}) or {}
    body["metadata"] = meta
    if res.namespaced:
        if meta.get("namespace") and ns and meta["namespace"] != ns:
            raise E.bad_request("the namespace of the provided object does not match the namespace sent on the "
                                "request")
        meta["namespace"] = ns or meta.get("namespace") or "default"
    else:
        meta.pop("namespace", None)
    if name is not None and meta.get("name") and meta["name"] != name:
        raise E.bad_request(f"the name of the object ({meta['name']}) does not match the name on the URL ({name})")
    if name is not None:
        meta["name"] = name
    return body


def _require_namespace(c: Cluster, res, ns: str | None, name: str) -> None:
    if not res.namespaced:
        return
    nso = c.get("", "namespaces", "", ns or "")
    if nso is None:
        raise E.KubeError(404, "NotFound", f'namespaces "{ns}" not found',
                          {"name": ns, "kind": "namespaces"})
    if nso.get("status", {}).get("phase") == "Terminating":
        raise E.KubeError(403, "Forbidden", f'{res.qualified} "{name}" is forbidden: unable to create new content '
                                            f'in namespace {ns} because it is being terminated',
                          {"name": name, "group": res.group, "kind": res.plural,
                           "causes": [{"reason": "NamespaceTerminating", "message": f"namespace {ns} is being "
                                       f"terminated", "field": "metadata.namespace"}]})


def _create(c: Cluster, req: Request, res, ns: str | None, body=None, manager_entry=None) -> Response:
    if "create" not in res.verbs:
        raise E.method_not_allowed()
    obj = _check_body(res, req.json() if body is None else body, ns)
    meta = obj["metadata"]
    if not meta.get("name") and meta.get("generateName"):
        meta["name"] = meta["generateName"] + short_hash(f"{c.kube_id}/{meta['generateName']}/{c.rv}/{time.time()}", 5)
    name = meta.get("name", "")
    _require_namespace(c, res, meta.get("namespace"), name)
    if res.has_status() or res.kind in ("Namespace",):
        obj.pop("status", None)
    for k in ("uid", "resourceVersion", "creationTimestamp", "deletionTimestamp", "generation", "selfLink"):
        meta.pop(k, None)
    A.apply_defaults(obj)
    A.validate(c, res, obj, None)
    if res.kind == "Pod":
        A.runtime_class(c, obj)
    obj = A.run_webhooks(c, res.kind, res, "CREATE", obj, None, None, req.dry_run)
    if c.get(res.group, res.plural, meta.get("namespace", "") if res.namespaced else "", name) is not None:
        raise E.already_exists(res, name)
    key = c.okey(res.group, res.plural, obj["metadata"].get("namespace", ""), name)
    obj["metadata"]["uid"] = c.uid_for(key + str(time.time()))
    obj["metadata"]["creationTimestamp"] = now()
    A.fix_job_selector(obj)
    if "spec" in obj and res.kind not in ("Namespace", "Node", "Service", "PersistentVolumeClaim") or res.crd:
        obj["metadata"]["generation"] = 1
    if manager_entry is not None:
        obj["metadata"]["managedFields"] = [manager_entry]
    else:
        _track_update(None, obj, req.manager(), res.api_version, None)
    if res.kind == "Namespace":
        obj["status"] = {"phase": "Active"}
    if req.dry_run:
        return respond(201, _out(obj, res))
    obj["metadata"]["resourceVersion"] = c.next_rv()
    c.raw_put(res.group, res.plural, obj)
    controllers.reconcile(c)
    stored = c.get(res.group, res.plural, obj["metadata"].get("namespace", ""), name) or obj
    return respond(201, _out(stored, res))


def _comparable(obj: dict) -> dict:
    o = copy.deepcopy(obj)
    o["metadata"].pop("resourceVersion", None)
    for e in o["metadata"].get("managedFields") or []:
        e.pop("time", None)
    return o


def _commit_update(c: Cluster, req: Request, res, old: dict, new: dict, sub: str | None,
                   manager_done: bool = False) -> Response:
    """Shared tail of PUT/PATCH/apply on an existing object."""
    name = old["metadata"]["name"]
    ns = old["metadata"].get("namespace", "")
    meta = new.setdefault("metadata", {})
    for k in ("uid", "creationTimestamp", "deletionTimestamp"):
        if k in old["metadata"]:
            meta[k] = old["metadata"][k]
        else:
            meta.pop(k, None)
    meta["name"] = name
    if res.namespaced:
        meta["namespace"] = ns
    new["apiVersion"], new["kind"] = res.api_version, res.kind
    if sub == "status":
        status = new.get("status")
        new = copy.deepcopy(old)
        new["apiVersion"], new["kind"] = res.api_version, res.kind
        if status is None:
            new.pop("status", None)
        else:
            new["status"] = status
    elif res.has_status():
        if "status" in old:
            new["status"] = copy.deepcopy(old["status"])
        else:
            new.pop("status", None)
    A.apply_defaults(new)
    A.validate(c, res, new, old)
    new = A.run_webhooks(c, res.kind, res, "UPDATE", new, old, sub, req.dry_run)
    if "generation" in old["metadata"]:
        meta = new["metadata"]
        meta["generation"] = old["metadata"]["generation"]
        strip = lambda o: {k: v for k, v in o.items() if k not in ("metadata", "status", "apiVersion", "kind")}  # noqa
        if strip(new) != strip(old):
            meta["generation"] += 1
    if not manager_done:
        _track_update(old, new, req.manager(), res.api_version, sub)
    new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
    old_cmp = _comparable(old)
    old_cmp["apiVersion"], old_cmp["kind"] = res.api_version, res.kind
    if _comparable(new) == old_cmp:
        return respond(200, _out(old, res))
    if req.dry_run:
        return respond(200, _out(new, res))
    new["metadata"]["resourceVersion"] = c.next_rv()
    c.raw_put(res.group, res.plural, new)
    controllers.reconcile(c)
    stored = c.get(res.group, res.plural, ns if res.namespaced else "", name) or new
    return respond(200, _out(stored, res))


def _replace(c: Cluster, req: Request, res, ns: str | None, name: str, sub: str | None) -> Response:
    if "update" not in res.verbs:
        raise E.method_not_allowed()
    body = _check_body(res, req.json(), ns, name)
    old = c.get(res.group, res.plural, ns or "", name)
    if old is None:
        raise E.not_found(res, name)
    rv = body["metadata"].get("resourceVersion")
    if rv:
        if rv != old["metadata"]["resourceVersion"]:
            raise E.conflict(res, name)
    elif res.crd:
        raise E.invalid(res, name, [A.cause("metadata.resourceVersion", "Invalid value: 0x0: must be specified for "
                                                                        "an update")])
    body["metadata"].pop("managedFields", None)
    if "managedFields" in old["metadata"]:
        body["metadata"]["managedFields"] = old["metadata"]["managedFields"]
    return _commit_update(c, req, res, old, body, sub)


def _patch(c: Cluster, req: Request, res, ns: str | None, name: str, sub: str | None) -> Response:
    if "patch" not in res.verbs:
        raise E.method_not_allowed()
    ct = req.content_type
    if ct == APPLY:
        return _apply(c, req, res, ns, name, sub)
    accepted = [JSONPATCH, MERGE, APPLY] + ([] if res.crd else [STRATEGIC])
    if ct not in accepted:
        raise E.unsupported_media(f"the body of the request was in an unknown format - accepted media types include: "
                                  f"{', '.join(accepted)}")
    old = c.get(res.group, res.plural, ns or "", name)
    if old is None:
        raise E.not_found(res, name)
    patch = req.json()
    base = _out(old, res)
    if ct == JSONPATCH:
        new = json_patch(base, patch)
    else:
        if not isinstance(patch, dict):
            raise E.bad_request("the body of the request was in an unknown format")
        new = merge_patch(base, patch)
    if not isinstance(new, dict):
        raise E.bad_request("patched object is not an object")
    new.setdefault("metadata", {})
    rv = (patch.get("metadata") or {}).get("resourceVersion") if isinstance(patch, dict) else None
    if rv and rv != old["metadata"]["resourceVersion"]:
        raise E.conflict(res, name)
    return _commit_update(c, req, res, old, new, sub)


def _apply(c: Cluster, req: Request, res, ns: str | None, name: str, sub: str | None) -> Response:
    manager = req.q("fieldManager")
    if not manager:
        raise E.bad_request("PATCH " + res.plural + ": fieldManager is required for apply requests")
    force = (req.q("force") or "").lower() == "true"
    applied = req.json()
    if not isinstance(applied, dict):
        raise E.bad_request("the body of the request was in an unknown format")
    if not applied.get("apiVersion") or not applied.get("kind"):
        raise E.bad_request("invalid object type: /, Kind=")
    applied = _check_body(res, applied, ns, name)
    include_status = sub == "status"
    paths = leaf_paths(applied, include_status)
    if include_status:
        paths = {p for p in paths if p[0] == "status"}
    entry = {"manager": manager, "operation": "Apply", "apiVersion": res.api_version, "time": now(),
             "fieldsType": "FieldsV1", "fieldsV1": to_fields_v1(paths)}
    if sub:
        entry["subresource"] = sub
    old = c.get(res.group, res.plural, ns or "", name)
    if old is None:
        if sub:
            raise E.not_found(res, name)
        return _create(c, req, res, ns, body=applied, manager_entry=entry)
    entries = _entries(old)
    conflicts = []
    for e in entries:
        if e.get("manager") == manager and e.get("operation") == "Apply":
            continue
        if e.get("subresource") != sub:
            continue
        for q in e["_set"]:
            for p in paths:
                if _overlaps(p, q) and get_path(old, p) != get_path(applied, p):
                    conflicts.append((e.get("manager"), p, e.get("apiVersion", res.api_version)))
    if conflicts and not force:
        seen, causes = set(), []
        for mgr, p, _av in conflicts:
            if (mgr, p) in seen:
                continue
            seen.add((mgr, p))
            causes.append({"reason": "FieldManagerConflict", "message": f'conflict with "{mgr}"',
                           "field": path_str(p)})
        text = "\n".join(f'- {c_["message"]}: {c_["field"]}' for c_ in causes)
        n = len(causes)
        msg = (f"Apply failed with {n} conflict{'s' if n > 1 else ''}: {causes[0]['message']}: {causes[0]['field']}"
               if n == 1 else f"Apply failed with {n} conflicts:\n{text}")
        raise E.KubeError(409, "Conflict", msg, {"causes": causes})
    touched = set()
    if force:
        for i, e in enumerate(entries):
            if e.get("manager") == manager and e.get("operation") == "Apply":
                continue
            before = set(e["_set"])
            e["_set"] = {q for q in e["_set"] if not any(_overlaps(p, q) for p in paths)}
            if before != e["_set"]:
                touched.add(i)
    mine = next((e for e in entries if e.get("manager") == manager and e.get("operation") == "Apply"
                 and e.get("subresource") == sub), None)
    others = set().union(*[e["_set"] for e in entries if e is not mine]) if entries else set()
    new = copy.deepcopy(old)
    if mine is not None:
        for p in mine["_set"] - paths:
            if not any(_overlaps(p, q) for q in others) and not any(_overlaps(p, q) for q in paths):
                remove_path(new, p)
    overlay = {k: v for k, v in applied.items() if k not in ("apiVersion", "kind")}
    if not include_status:
        overlay.pop("status", None)
    else:
        overlay = {"status": applied.get("status", {})}
    meta_overlay = {k: v for k, v in (overlay.pop("metadata", None) or {}).items()
                    if k in ("labels", "annotations", "finalizers", "ownerReferences")}
    new = deep_merge(new, overlay)
    new["metadata"] = deep_merge(new["metadata"], meta_overlay)
    if mine is None:
        row = {"manager": manager, "operation": "Apply", "apiVersion": res.api_version, "_set": set(paths)}
        if sub:
            row["subresource"] = sub
        entries.append(row)
        touched.add(len(entries) - 1)
    else:
        if mine["_set"] != paths:
            touched.add(entries.index(mine))
        mine["_set"] = set(paths)
        mine["apiVersion"] = res.api_version
    _store_entries(new, entries, touched)
    if sub == "status":
        new_status = new.get("status")
        return _commit_update(c, req, res, old, {**copy.deepcopy(old), "status": new_status,
                                                 "metadata": new["metadata"]}, sub, manager_done=True)
    return _commit_update(c, req, res, old, new, None, manager_done=True)


def _dependents(c: Cluster, uid: str) -> list[tuple[str, str, dict]]:
    return [(g, p, o) for g, p, o in c.all_objects()
            if any(r.get("uid") == uid for r in o["metadata"].get("ownerReferences") or [])]


def _delete(c: Cluster, req: Request, res, ns: str | None, name: str, reconcile: bool = True) -> Response:
    if "delete" not in res.verbs:
        raise E.method_not_allowed()
    obj = c.get(res.group, res.plural, ns or "", name)
    if obj is None:
        raise E.not_found(res, name)
    body = req.json() if req.body else None
    policy = req.q("propagationPolicy") or (body or {}).get("propagationPolicy")
    if policy is None and (req.q("orphanDependents") == "true" or (body or {}).get("orphanDependents")):
        policy = "Orphan"
    if policy is None and res.group == "batch" and res.plural == "jobs":
        policy = "Orphan"  # batch/v1 Jobs default to orphaning their pods
    pre = (body or {}).get("preconditions") or {}
    if pre.get("uid") and pre["uid"] != obj["metadata"].get("uid"):
        raise E.conflict(res, name, f"Precondition failed: UID in precondition: {pre['uid']}, UID in object meta: "
                                    f"{obj['metadata'].get('uid')}")
    if pre.get("resourceVersion") and pre["resourceVersion"] != obj["metadata"].get("resourceVersion"):
        raise E.conflict(res, name, "Precondition failed")
    out = _out(obj, res)
    out["metadata"]["deletionTimestamp"] = now()
    if res.plural == "pods":
        out["metadata"]["deletionGracePeriodSeconds"] = int(req.q("gracePeriodSeconds") or
                                                            obj["spec"].get("terminationGracePeriodSeconds", 30))
    if res.plural == "namespaces":
        out.setdefault("status", {})["phase"] = "Terminating"
    if req.dry_run:
        return respond(200, out if (res.group, res.plural) in RETURNS_OBJECT_ON_DELETE else
                       status_ok(res, name, obj["metadata"].get("uid")))
    if res.plural == "namespaces":
        for g, p, o in list(c.all_objects()):
            if o["metadata"].get("namespace") == name and (g, p) != ("", "namespaces"):
                c.raw_delete(g, p, name, o["metadata"]["name"])
    if res.plural == "customresourcedefinitions" and res.group == "apiextensions.k8s.io":
        spec = obj.get("spec", {})
        c.store.pop((spec.get("group", ""), spec.get("names", {}).get("plural", "")), None)
    if policy == "Orphan":
        for g, p, o in _dependents(c, obj["metadata"].get("uid")):
            o = copy.deepcopy(o)
            o["metadata"]["ownerReferences"] = [r for r in o["metadata"]["ownerReferences"]
                                                if r.get("uid") != obj["metadata"].get("uid")]
            if not o["metadata"]["ownerReferences"]:
                del o["metadata"]["ownerReferences"]
            o["metadata"]["resourceVersion"] = c.next_rv()
            c.raw_put(g, p, o)
    c.raw_delete(res.group, res.plural, ns or "", name)
    c.next_rv()
    if reconcile:
        controllers.reconcile(c)
    if (res.group, res.plural) in RETURNS_OBJECT_ON_DELETE:
        return respond(200, out)
    return respond(200, status_ok(res, name, obj["metadata"].get("uid")))


def _delete_collection(c: Cluster, req: Request, res, ns: str | None) -> Response:
    if "deletecollection" not in res.verbs:
        raise E.method_not_allowed()
    items = _list_items(c, req, res, ns)
    deleted = []
    for o in items:
        sub_req = Request("DELETE", {k: v for k, v in req.query.items() if k in ("dryRun", "propagationPolicy")},
                          req.headers, b"")
        _delete(c, sub_req, res, o["metadata"].get("namespace"), o["metadata"]["name"], reconcile=False)
        deleted.append(_out(o, res))
    controllers.reconcile(c)
    return respond(200, {"kind": res.list_kind, "apiVersion": res.api_version,
                         "metadata": {"resourceVersion": str(c.rv)}, "items": deleted})


# ------------------------------------------------------------------------------------------------------
# subresources

def _scale(c: Cluster, req: Request, res, ns: str | None, name: str) -> Response:
    obj = c.get(res.group, res.plural, ns or "", name)
    if obj is None:
        raise E.not_found(res, name)

    def scale_of(o):
        sel = (o.get("spec", {}).get("selector") or {}).get("matchLabels") or {}
        return {"kind": "Scale", "apiVersion": "autoscaling/v1",
                "metadata": {k: o["metadata"][k] for k in ("name", "namespace", "uid", "resourceVersion",
                                                           "creationTimestamp") if k in o["metadata"]},
                "spec": {"replicas": o.get("spec", {}).get("replicas", 0)},
                "status": {"replicas": o.get("status", {}).get("replicas", 0),
                           "selector": ",".join(f"{k}={v}" for k, v in sorted(sel.items()))}}
    if req.method == "GET":
        return respond(200, scale_of(obj))
    if req.method not in ("PUT", "PATCH"):
        raise E.method_not_allowed()
    body = req.json()
    if req.method == "PATCH":
        current = scale_of(obj)
        body = json_patch(current, body) if req.content_type == JSONPATCH else merge_patch(current, body)
    replicas = (body.get("spec") or {}).get("replicas")
    if not isinstance(replicas, int) or replicas < 0:
        raise E.invalid(res, name, [A.cause("spec.replicas", f"Invalid value: {replicas}: must be greater than or "
                                                             f"equal to 0")])
    new = copy.deepcopy(obj)
    new["spec"]["replicas"] = replicas
    _commit_update(c, req, res, obj, new, None)
    return respond(200, scale_of(c.get(res.group, res.plural, ns or "", name)))


def _evict(c: Cluster, req: Request, res, ns: str | None, name: str) -> Response:
    pod = c.get("", "pods", ns or "", name)
    if pod is None:
        raise E.not_found(res, name)
    if not req.dry_run:
        controllers._delete_pod(c, pod)
        controllers.reconcile(c)
    return respond(201, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201})


def _pod_log(c: Cluster, req: Request, res, ns: str | None, name: str) -> Response:
    pod = c.get("", "pods", ns or "", name)
    if pod is None:
        raise E.not_found(res, name)
    containers = pod["spec"].get("containers", []) or []
    cname = req.q("container")
    if cname is None:
        if len(containers) > 1:
            raise E.bad_request(f"a container name must be specified for pod {name}, choose one of: "
                                f"[{' '.join(x['name'] for x in containers)}]")
        cname = containers[0]["name"] if containers else ""
    ctr = next((x for x in containers + (pod["spec"].get("initContainers") or []) if x["name"] == cname), None)
    if ctr is None:
        raise E.bad_request(f"container {cname} is not valid for pod {name}")
    if pod.get("status", {}).get("phase") == "Pending":
        raise E.bad_request(f'container "{cname}" in pod "{name}" is waiting to start: ContainerCreating')
    return 200, {"Content-Type": "text/plain"}, simulated_log(c, pod, ctr).encode()


def simulated_log(c: Cluster, pod: dict, ctr: dict) -> str:
    key = f"{pod['metadata']['namespace']}/{pod['metadata']['name']}/{ctr['name']}"
    if key in c.logs:
        return c.logs[key]
    return compute_log(c, pod, ctr)


def _kernel_facts(c: Cluster, pod: dict, node: str, text: str) -> str:
    """$(uname -r), $(cat /proc/version), $(cat /proc/sys/kernel/random/boot_id) as the container sees them: the
    node's kernel, or the Kata utility VM's own in a pod of a kata RuntimeClass (AKS pod sandboxing)."""
    nodeobj = c.get("", "nodes", "", node) or {}
    info = (nodeobj.get("status") or {}).get("nodeInfo") or {}
    rc = c.get("node.k8s.io", "runtimeclasses", "", pod["spec"].get("runtimeClassName") or "") or {}
    if "kata" in str(rc.get("handler", "")) and (nodeobj.get("metadata", {}).get("labels") or {}).get(N.LABEL_KATA):
        release, boot = N.KATA_GUEST_KERNEL, str(uuid.uuid5(uuid.NAMESPACE_OID, pod["metadata"].get("uid", "")))
    else:
        release, boot = info.get("kernelVersion", "5.15.0-1092-azure"), info.get("bootID", "")
    version = f"Linux version {release} (root@azure) (gcc 11.2.0) #1 SMP"
    return (text.replace("$(uname -r)", release).replace("$(cat /proc/version)", version)
            .replace("$(cat /proc/sys/kernel/random/boot_id)", boot))


def compute_log(c: Cluster, pod: dict, ctr: dict) -> str:
    """What a probe container prints, for the few probes the verifier runs (device nodes, nvidia-smi, echo);
    computed when the container starts (GPUs are released when the pod completes)."""
    argv = (ctr.get("command") or []) + (ctr.get("args") or [])
    if argv and argv[0].rsplit("/", 1)[-1] in ("sh", "bash", "ash", "dash") and "-c" in argv:
        argv = argv[argv.index("-c") + 1:]
    script = " ".join(argv)
    node = pod["spec"].get("nodeName") or ""
    key = f"{pod['metadata']['namespace']}/{pod['metadata']['name']}/{ctr['name']}"
    gpus = sorted(int(i) for i, owner in c.gpu_alloc.get(node, {}).items() if owner == key)
    if "gpu-leak" in c.degraded and any(e.get("name") == "NVIDIA_VISIBLE_DEVICES" and e.get("value") == "all"
                                        for e in ctr.get("env") or []):
        from . import sizes  # a runtime that honours the variable for unprivileged containers: every device
        nodeobj = c.get("", "nodes", "", node) or {"metadata": {"labels": {}}}
        gpus = list(range(sizes.lookup((nodeobj["metadata"].get("labels") or {}).get(
            "node.kubernetes.io/instance-type")).gpus))
    lines = []
    for part in re.split(r"&&|;|\n", script):
        part = part.strip()
        if "/dev/nvidia" in part and "wc -l" in part:
            lines.append(str(len(gpus)))
        elif "/dev/nvidia" in part and part.startswith("ls"):
            lines.extend(f"/dev/nvidia{i}" for i in gpus)
            if not gpus:
                lines.append("ls: cannot access '/dev/nvidia[0-9]*': No such file or directory")
        elif "nvidia-smi" in part:
            if not gpus:
                lines.append("sh: 1: nvidia-smi: not found")
            else:
                from . import sizes
                nodeobj = c.get("", "nodes", "", node) or {"metadata": {"labels": {}}}
                model = sizes.lookup((nodeobj["metadata"].get("labels") or {}).get("node.kubernetes.io/instance-type"))
                for n, i in enumerate(gpus):
                    lines.append(f"GPU {n}: {(model.gpu or sizes.T4).name} (UUID: {proxy.gpu_uuid(node, i)})")
        elif part.startswith("echo "):
            lines.append(_kernel_facts(c, pod, node, part[5:].strip().strip("'\"")))
        elif "printenv" in part or part.startswith("env"):
            for e in ctr.get("env") or []:
                lines.append(f"{e.get('name')}={e.get('value', '')}")
    return "\n".join(lines) + ("\n" if lines else "")


# ------------------------------------------------------------------------------------------------------
# aggregated APIs served by the simulator itself (metrics-server, KEDA)

def _aggregated(c: Cluster, req: Request, res, ns: str | None, name: str | None) -> Response:
    if req.method != "GET":
        raise E.method_not_allowed()
    ts = now()
    if res.group == "metrics.k8s.io" and res.plural == "nodes":
        items = []
        for node in c.list("", "nodes"):
            if name and node["metadata"]["name"] != name:
                continue
            alloc = node.get("status", {}).get("allocatable") or {}
            pods = [p for p in c.list("", "pods") if p["spec"].get("nodeName") == node["metadata"]["name"]]
            cpu = sum(Q.pod_requests(p).get("cpu", 0) for p in pods) + Q.parse(alloc.get("cpu", "1")) / 20
            mem = sum(Q.pod_requests(p).get("memory", 0) for p in pods) + Q.parse(alloc.get("memory", "1Gi")) / 8
            items.append({"metadata": {"name": node["metadata"]["name"], "creationTimestamp": ts,
                                       "labels": node["metadata"].get("labels") or {}},
                          "timestamp": ts, "window": "20.05s",
                          "usage": {"cpu": f"{int(cpu * 10**9)}n", "memory": f"{int(mem / 1024)}Ki"}})
        if name:
            if not items:
                raise E.KubeError(404, "NotFound", f'nodemetrics.metrics.k8s.io "{name}" not found')
            return respond(200, {"kind": "NodeMetrics", "apiVersion": "metrics.k8s.io/v1beta1", **items[0]})
        return respond(200, {"kind": "NodeMetricsList", "apiVersion": "metrics.k8s.io/v1beta1", "metadata": {},
                             "items": items})
    if res.group == "metrics.k8s.io" and res.plural == "pods":
        items = []
        for pod in c.list("", "pods", ns):
            if (name and pod["metadata"]["name"] != name) or pod.get("status", {}).get("phase") != "Running":
                continue
            containers = [{"name": ctr["name"],
                           "usage": {"cpu": f"{int(Q.parse(((ctr.get('resources') or {}).get('requests') or {}).get('cpu', '1m')) * 10**9 / 2)}n",
                                     "memory": f"{int(Q.parse(((ctr.get('resources') or {}).get('requests') or {}).get('memory', '8Mi')) / 1024 / 2)}Ki"}}
                          for ctr in pod["spec"].get("containers", [])]
            items.append({"metadata": {"name": pod["metadata"]["name"], "namespace": pod["metadata"]["namespace"],
                                       "creationTimestamp": ts, "labels": pod["metadata"].get("labels") or {}},
                          "timestamp": ts, "window": "15.012s", "containers": containers})
        if name:
            if not items:
                raise E.KubeError(404, "NotFound", f'podmetrics.metrics.k8s.io "{name}" not found')
            return respond(200, {"kind": "PodMetrics", "apiVersion": "metrics.k8s.io/v1beta1", **items[0]})
        return respond(200, {"kind": "PodMetricsList", "apiVersion": "metrics.k8s.io/v1beta1", "metadata": {},
                             "items": items})
    if res.group == "external.metrics.k8s.io":
        return respond(200, {"kind": "ExternalMetricValueList", "apiVersion": "external.metrics.k8s.io/v1beta1",
                             "metadata": {}, "items": []})
    raise E.no_resource()
