"""Managed fields (metadata.managedFields): which manager owns which field, as updates and server-side apply
record it, and the conflicts an apply meets."""

from __future__ import annotations

from . import errors as E
from .patch import from_fields_v1, get_path, leaf_paths, path_str, remove_path, to_fields_v1
from .store import now

def entries_of(obj: dict) -> list[dict]:
    out = []
    for e in obj.get("metadata", {}).get("managedFields") or []:
        out.append({**e, "_set": from_fields_v1(e.get("fieldsV1") or {})})
    return out


def overlaps(p: tuple, q: tuple) -> bool:
    n = min(len(p), len(q))
    return p[:n] == q[:n]


def store_entries(obj: dict, entries: list[dict], touched: set[int]) -> None:
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


def track_update(old: dict | None, new: dict, manager: str, api_version: str, sub: str | None,
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
        entries = entries_of(old)
    touched = set()
    for i, e in enumerate(entries):
        before = set(e["_set"])
        e["_set"] = {q for q in e["_set"] if not any(overlaps(p, q) for p in changed | removed)}
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
    store_entries(new, entries, touched)


# ------------------------------------------------------------------------------------------------------
# server-side apply

def _is_mine(e: dict, manager: str) -> bool:
    return e.get("manager") == manager and e.get("operation") == "Apply"


def apply_conflicts(entries: list[dict], manager: str, sub: str | None, paths: set, old: dict, applied: dict,
                    api_version: str) -> list[tuple]:
    """(manager, path, apiVersion) of each field another manager owns that the apply would change."""
    conflicts = []
    for e in entries:
        if _is_mine(e, manager) or e.get("subresource") != sub:
            continue
        for q in e["_set"]:
            for p in paths:
                if overlaps(p, q) and get_path(old, p) != get_path(applied, p):
                    conflicts.append((e.get("manager"), p, e.get("apiVersion", api_version)))
    return conflicts


def conflict_error(conflicts: list[tuple]) -> E.KubeError:
    """The 409 of an apply without force, one cause per manager and field."""
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
    return E.KubeError(409, "Conflict", msg, {"causes": causes})


def take_ownership(entries: list[dict], manager: str, paths: set) -> set[int]:
    """A forced apply: the applied fields leave the other managers' sets. Returns the entries it changed."""
    touched = set()
    for i, e in enumerate(entries):
        if _is_mine(e, manager):
            continue
        before = set(e["_set"])
        e["_set"] = {q for q in e["_set"] if not any(overlaps(p, q) for p in paths)}
        if before != e["_set"]:
            touched.add(i)
    return touched


def prune_unapplied(new: dict, entries: list[dict], mine: dict | None, paths: set) -> None:
    """Fields the manager applied before, applies no more and nobody else owns are removed."""
    if mine is None:
        return
    others = set().union(*[e["_set"] for e in entries if e is not mine]) if entries else set()
    for p in mine["_set"] - paths:
        if not any(overlaps(p, q) for q in others) and not any(overlaps(p, q) for q in paths):
            remove_path(new, p)


def apply_overlay(applied: dict, include_status: bool) -> tuple[dict, dict]:
    """(what the apply merges into the object, what it merges into its metadata)."""
    overlay = {k: v for k, v in applied.items() if k not in ("apiVersion", "kind")}
    if not include_status:
        overlay.pop("status", None)
    else:
        overlay = {"status": applied.get("status", {})}
    meta_overlay = {k: v for k, v in (overlay.pop("metadata", None) or {}).items()
                    if k in ("labels", "annotations", "finalizers", "ownerReferences")}
    return overlay, meta_overlay


def record_apply(entries: list[dict], mine: dict | None, manager: str, api_version: str, sub: str | None,
                 paths: set, touched: set[int]) -> None:
    """The manager's Apply entry now owns exactly the applied fields."""
    if mine is None:
        row = {"manager": manager, "operation": "Apply", "apiVersion": api_version, "_set": set(paths)}
        if sub:
            row["subresource"] = sub
        entries.append(row)
        touched.add(len(entries) - 1)
        return
    if mine["_set"] != paths:
        touched.add(entries.index(mine))
    mine["_set"] = set(paths)
    mine["apiVersion"] = api_version
