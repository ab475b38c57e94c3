"""HTTP semantics of kube-apiserver over the store of one cluster: discovery, CRUD, patch, apply, subresources."""

from __future__ import annotations

import copy
import json
import time
from urllib.parse import unquote

from . import admission as A
from . import controllers
from . import discovery as disc
from . import errors as E
from . import proxy
from .patch import (PatchError, deep_merge, field_selector_matches, json_patch,
                    label_requirements_match, leaf_paths, merge_patch, parse_label_selector, to_fields_v1)
from . import fields as F
from .fields import entries_of, store_entries, track_update
from .store import Cluster, now, short_hash
from . import subresources as S
from .wire import (APPLY, EMPTY_WATCH_HEADER, JSONPATCH, MERGE, RETURNS_OBJECT_ON_DELETE, STRATEGIC, Request,
                   Response, out_object, respond, status_ok)


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


def _require_available(svc: dict | None) -> None:
    """An aggregated API without its APIService answers 503, as the kube-apiserver does."""
    ok = any(x.get("type") == "Available" and x.get("status") == "True"
             for x in (svc or {}).get("status", {}).get("conditions", []) or [])
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
    res = c.resource(group, version, plural)
    if res is None:
        raise E.no_resource()
    if res.aggregated:
        svc = c.apiservice_for(group, version)
        _require_available(svc)
        return S.aggregated(c, req, res, ns, name)
    if ns is not None and not res.namespaced:
        raise E.no_resource()
    if sub is not None and sub not in res.subresources:
        raise E.no_resource()
    if res.namespaced and name is not None and ns is None:
        raise E.no_resource()
    if sub is not None and sub != "status" and name is not None:  # a subresource path names its object
        return _subresource(c, req, res, ns, name, sub, "/".join(rest[3:]))
    if name is None:
        return _collection(c, req, res, ns)
    return _item(c, req, res, ns, name, sub)


def _subresource(c: Cluster, req: Request, res, ns: str | None, name: str, sub: str, subpath: str) -> Response:
    m = req.method
    if sub == "proxy":
        if m not in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"):
            raise E.method_not_allowed()
        if res.plural == "services":
            return proxy.service_proxy(c, ns or "", name, subpath, req.query)
        if res.plural == "pods":
            return proxy.pod_proxy(c, ns or "", name, subpath, req.query)
        if res.plural == "nodes":
            return proxy.node_proxy(c, name, subpath, req.query)
        raise E.no_resource()
    if sub == "log":
        return S.pod_log(c, req, res, ns, name)
    if sub == "eviction":
        if m != "POST":
            raise E.method_not_allowed()
        return S.evict(c, req, res, ns, name)
    if sub == "scale":
        return S.scale(c, req, res, ns, name)
    raise E.method_not_allowed()


def _collection(c: Cluster, req: Request, res, ns: str | None) -> Response:
    m = req.method
    if m == "GET":
        if req.q("watch") in ("true", "1"):
            return _watch(c, req, res, ns)
        return respond(200, _list(c, req, res, ns))
    if m == "POST":
        return _create(c, req, res, ns)
    if m == "DELETE":
        return _delete_collection(c, req, res, ns)
    raise E.method_not_allowed()


def _item(c: Cluster, req: Request, res, ns: str | None, name: str, sub: str | None) -> Response:
    m = req.method
    if m == "GET":
        obj = c.get(res.group, res.plural, ns or "", name)
        if obj is None:
            raise E.not_found(res, name)
        return respond(200, out_object(obj, res))
    if m == "PUT":
        return _replace(c, req, res, ns, name, sub)
    if m == "PATCH":
        return _patch(c, req, res, ns, name, sub)
    if m == "DELETE":
        if sub:
            raise E.method_not_allowed()
        return _delete(c, req, res, ns, name)
    raise E.method_not_allowed()



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
            "items": [out_object(o, res) for o in items]}


def _watch(c: Cluster, req: Request, res, ns: str | None) -> Response:
    """A watch that replays the current state and ends (clients re-list or re-watch)."""
    since = req.q("resourceVersion")
    events = []
    for o in _list_items(c, req, res, ns):
        rv = int(o["metadata"].get("resourceVersion", "0"))
        if since in (None, "", "0"):
            events.append({"type": "ADDED", "object": out_object(o, res)})
        elif rv > int(since):
            events.append({"type": "MODIFIED", "object": out_object(o, res)})
    body = "".join(json.dumps(e) + "\n" for e in events).encode()
    headers = {"Content-Type": "application/json"}
    if not events:  # the world sleeps (outside its lock) so that re-watching clients do not spin
        headers[EMPTY_WATCH_HEADER] = "1"
    return 200, headers, body




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
        track_update(None, obj, req.manager(), res.api_version, None)
    if res.kind == "Namespace":
        obj["status"] = {"phase": "Active"}
    if req.dry_run:
        return respond(201, out_object(obj, res))
    obj["metadata"]["resourceVersion"] = c.next_rv()
    c.raw_put(res.group, res.plural, obj)
    controllers.reconcile(c)
    stored = c.get(res.group, res.plural, obj["metadata"].get("namespace", ""), name) or obj
    return respond(201, out_object(stored, res))


def _comparable(obj: dict) -> dict:
    o = copy.deepcopy(obj)
    o["metadata"].pop("resourceVersion", None)
    for e in o["metadata"].get("managedFields") or []:
        e.pop("time", None)
    return o


def commit_update(c: Cluster, req: Request, res, old: dict, new: dict, sub: str | None,
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
        track_update(old, new, req.manager(), res.api_version, sub)
    new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
    old_cmp = _comparable(old)
    old_cmp["apiVersion"], old_cmp["kind"] = res.api_version, res.kind
    if _comparable(new) == old_cmp:
        return respond(200, out_object(old, res))
    if req.dry_run:
        return respond(200, out_object(new, res))
    new["metadata"]["resourceVersion"] = c.next_rv()
    c.raw_put(res.group, res.plural, new)
    controllers.reconcile(c)
    stored = c.get(res.group, res.plural, ns if res.namespaced else "", name) or new
    return respond(200, out_object(stored, res))


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
    return commit_update(c, req, res, old, body, sub)


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
    base = out_object(old, res)
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
    return commit_update(c, req, res, old, new, sub)


def _apply(c: Cluster, req: Request, res, ns: str | None, name: str, sub: str | None) -> Response:
    manager = req.q("fieldManager")
    if not manager:
        raise E.bad_request("PATCH " + res.plural + ": fieldManager is required for apply requests")
    force = (req.q("force") or "").lower() == "true"
    applied = _applied_body(req, res, ns, name)
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
    entries = entries_of(old)
    conflicts = F.apply_conflicts(entries, manager, sub, paths, old, applied, res.api_version)
    if conflicts and not force:
        raise F.conflict_error(conflicts)
    touched = F.take_ownership(entries, manager, paths) if force else set()
    mine = next((e for e in entries if e.get("manager") == manager and e.get("operation") == "Apply"
                 and e.get("subresource") == sub), None)
    new = copy.deepcopy(old)
    F.prune_unapplied(new, entries, mine, paths)
    overlay, meta_overlay = F.apply_overlay(applied, include_status)
    new = deep_merge(new, overlay)
    new["metadata"] = deep_merge(new["metadata"], meta_overlay)
    F.record_apply(entries, mine, manager, res.api_version, sub, paths, touched)
    store_entries(new, entries, touched)
    if sub == "status":
        new_status = new.get("status")
        return commit_update(c, req, res, old, {**copy.deepcopy(old), "status": new_status,
                                                "metadata": new["metadata"]}, sub, manager_done=True)
    return commit_update(c, req, res, old, new, None, manager_done=True)


def _applied_body(req: Request, res, ns: str | None, name: str) -> dict:
    applied = req.json()
    if not isinstance(applied, dict):
        raise E.bad_request("the body of the request was in an unknown format")
    if not applied.get("apiVersion") or not applied.get("kind"):
        raise E.bad_request("invalid object type: /, Kind=")
    return _check_body(res, applied, ns, name)


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
    policy = _propagation(req, res, body or {})
    _check_preconditions(res, name, obj, (body or {}).get("preconditions") or {})
    out = out_object(obj, res)
    out["metadata"]["deletionTimestamp"] = now()
    if res.plural == "pods":
        out["metadata"]["deletionGracePeriodSeconds"] = int(req.q("gracePeriodSeconds") or
                                                            obj["spec"].get("terminationGracePeriodSeconds", 30))
    if res.plural == "namespaces":
        out.setdefault("status", {})["phase"] = "Terminating"
    if req.dry_run:
        return respond(200, out if (res.group, res.plural) in RETURNS_OBJECT_ON_DELETE else
                       status_ok(res, name, obj["metadata"].get("uid")))
    _cascade(c, res, name, obj, policy)
    c.raw_delete(res.group, res.plural, ns or "", name)
    c.next_rv()
    if reconcile:
        controllers.reconcile(c)
    if (res.group, res.plural) in RETURNS_OBJECT_ON_DELETE:
        return respond(200, out)
    return respond(200, status_ok(res, name, obj["metadata"].get("uid")))


def _propagation(req: Request, res, body: dict) -> str | None:
    policy = req.q("propagationPolicy") or body.get("propagationPolicy")
    if policy is None and (req.q("orphanDependents") == "true" or body.get("orphanDependents")):
        policy = "Orphan"
    if policy is None and res.group == "batch" and res.plural == "jobs":
        policy = "Orphan"  # batch/v1 Jobs default to orphaning their pods
    return policy


def _check_preconditions(res, name: str, obj: dict, pre: dict) -> None:
    if pre.get("uid") and pre["uid"] != obj["metadata"].get("uid"):
        raise E.conflict(res, name, f"Precondition failed: UID in precondition: {pre['uid']}, UID in object meta: "
                                    f"{obj['metadata'].get('uid')}")
    if pre.get("resourceVersion") and pre["resourceVersion"] != obj["metadata"].get("resourceVersion"):
        raise E.conflict(res, name, "Precondition failed")


def _cascade(c: Cluster, res, name: str, obj: dict, policy: str | None) -> None:
    """What goes with the object: a namespace's objects, a CRD's resources; with Orphan, the dependents lose
    their owner reference instead of being collected."""
    if res.plural == "namespaces":
        for g, p, o in list(c.all_objects()):
            if o["metadata"].get("namespace") == name and (g, p) != ("", "namespaces"):
                c.raw_delete(g, p, name, o["metadata"]["name"])
    if res.plural == "customresourcedefinitions" and res.group == "apiextensions.k8s.io":
        spec = obj.get("spec", {})
        c.drop_resource(spec.get("group", ""), spec.get("names", {}).get("plural", ""))
    if policy != "Orphan":
        return
    for g, p, o in _dependents(c, obj["metadata"].get("uid")):
        o = copy.deepcopy(o)
        o["metadata"]["ownerReferences"] = [r for r in o["metadata"]["ownerReferences"]
                                            if r.get("uid") != obj["metadata"].get("uid")]
        if not o["metadata"]["ownerReferences"]:
            del o["metadata"]["ownerReferences"]
        o["metadata"]["resourceVersion"] = c.next_rv()
        c.raw_put(g, p, o)


def _delete_collection(c: Cluster, req: Request, res, ns: str | None) -> Response:
    if "deletecollection" not in res.verbs:
        raise E.method_not_allowed()
    items = _list_items(c, req, res, ns)
    deleted = []
    for o in items:
        sub_req = Request("DELETE", {k: v for k, v in req.query.items() if k in ("dryRun", "propagationPolicy")},
                          req.headers, b"")
        _delete(c, sub_req, res, o["metadata"].get("namespace"), o["metadata"]["name"], reconcile=False)
        deleted.append(out_object(o, res))
    controllers.reconcile(c)
    return respond(200, {"kind": res.list_kind, "apiVersion": res.api_version,
                         "metadata": {"resourceVersion": str(c.rv)}, "items": deleted})

