"""Patch formats, server-side-apply field sets, and label/field selectors."""

from __future__ import annotations

import copy
import json
import re
from typing import Any


class PatchError(Exception):
    def __init__(self, message: str, code: int = 422, reason: str = "Invalid"):
        super().__init__(message)
        self.message, self.code, self.reason = message, code, reason


# ------------------------------------------------------------------------------------------------------
# RFC 7386 merge patch (strategic merge patch is treated as this, lists replaced)

def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if k.startswith("$"):  # strategic-merge directives ($patch, $retainKeys, ...) are not modelled
            continue
        if v is None:
            result.pop(k, None)
        else:
            result[k] = merge_patch(result.get(k), v)
    return result


# ------------------------------------------------------------------------------------------------------
# RFC 6902 JSON patch

def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def _walk(doc: Any, tokens: list[str]) -> Any:
    cur = doc
    for t in tokens:
        if isinstance(cur, list):
            cur = cur[int(t)]
        elif isinstance(cur, dict):
            cur = cur[t]
        else:
            raise KeyError(t)
    return cur


def json_patch(doc: Any, ops: list[dict]) -> Any:
    if not isinstance(ops, list):
        raise PatchError("json patch must be a list of operations", 400, "BadRequest")
    doc = copy.deepcopy(doc)
    for op in ops:
        kind, path = op.get("op"), op.get("path", "")
        tokens = [_unescape(t) for t in path.split("/")[1:]] if path else []
        try:
            if kind == "test":
                if _walk(doc, tokens) != op.get("value"):
                    raise PatchError(f"testing value {path} failed", 422, "Invalid")
                continue
            if kind in ("move", "copy"):
                src = [_unescape(t) for t in op["from"].split("/")[1:]]
                value = copy.deepcopy(_walk(doc, src))
                if kind == "move":
                    doc = _remove(doc, src)
                doc = _add(doc, tokens, value)
                continue
            if kind == "add":
                doc = _add(doc, tokens, copy.deepcopy(op.get("value")))
            elif kind == "remove":
                doc = _remove(doc, tokens)
            elif kind == "replace":
                _walk(doc, tokens)  # must exist
                doc = _remove(doc, tokens)
                doc = _add(doc, tokens, copy.deepcopy(op.get("value")))
            else:
                raise PatchError(f"Unexpected kind: {kind}", 400, "BadRequest")
        except (KeyError, IndexError, ValueError, TypeError):
            raise PatchError(f"the server rejected our request due to an error in our request: "
                             f"{kind} operation does not apply: doc is missing path: \"{path}\"", 422, "Invalid") from None
    return doc


def _add(doc: Any, tokens: list[str], value: Any) -> Any:
    if not tokens:
        return value
    parent = _walk(doc, tokens[:-1])
    last = tokens[-1]
    if isinstance(parent, list):
        if last == "-":
            parent.append(value)
        else:
            idx = int(last)
            if idx > len(parent):
                raise IndexError(idx)
            parent.insert(idx, value)
    elif isinstance(parent, dict):
        parent[last] = value
    else:
        raise KeyError(last)
    return doc


def _remove(doc: Any, tokens: list[str]) -> Any:
    parent = _walk(doc, tokens[:-1])
    last = tokens[-1]
    if isinstance(parent, list):
        del parent[int(last)]
    else:
        del parent[last]
    return doc


# ------------------------------------------------------------------------------------------------------
# Server-side apply: field sets (lists are atomic leaves; a simplification of list-map keys)

IGNORED_META = {"name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp", "managedFields",
                "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds"}


def leaf_paths(obj: Any, include_status: bool = False, prefix: tuple = ()) -> set[tuple]:
    """Set of field paths (tuples of keys) of an object; lists and scalars are leaves, empty maps too."""
    out: set[tuple] = set()
    if not isinstance(obj, dict):
        return out
    for k, v in obj.items():
        if not prefix and k in ("apiVersion", "kind"):
            continue
        if not prefix and k == "status" and not include_status:
            continue
        if prefix == ("metadata",) and k in IGNORED_META:
            continue
        path = prefix + (k,)
        if isinstance(v, dict) and v:
            out |= leaf_paths(v, include_status, path)
        else:
            out.add(path)
    return out


def get_path(obj: Any, path: tuple) -> tuple[bool, Any]:
    cur = obj
    for k in path:
        if not isinstance(cur, dict) or k not in cur:
            return False, None
        cur = cur[k]
    return True, cur


def remove_path(obj: dict, path: tuple) -> None:
    cur = obj
    parents = []
    for k in path[:-1]:
        if not isinstance(cur, dict) or k not in cur:
            return
        parents.append((cur, k))
        cur = cur[k]
    if isinstance(cur, dict):
        cur.pop(path[-1], None)
    # prune maps emptied by the removal
    for parent, k in reversed(parents):
        if isinstance(parent.get(k), dict) and not parent[k]:
            del parent[k]
        else:
            break


def deep_merge(base: Any, overlay: Any) -> Any:
    """Apply-style merge: maps merge recursively, everything else (lists included) is replaced."""
    if not isinstance(base, dict) or not isinstance(overlay, dict):
        return copy.deepcopy(overlay)
    out = copy.deepcopy(base)
    for k, v in overlay.items():
        out[k] = deep_merge(out.get(k), v)
    return out


def to_fields_v1(paths: set[tuple]) -> dict:
    root: dict = {}
    for path in sorted(paths):
        cur = root
        for i, k in enumerate(path):
            key = f"f:{k}"
            node = cur.setdefault(key, {})
            if i < len(path) - 1:
                node.setdefault(".", {})
            cur = node
    return root


def from_fields_v1(fields: dict, prefix: tuple = ()) -> set[tuple]:
    out: set[tuple] = set()
    for key, sub in (fields or {}).items():
        if key == "." or not key.startswith("f:"):
            continue
        path = prefix + (key[2:],)
        children = {k: v for k, v in (sub or {}).items() if k != "."}
        if children:
            out |= from_fields_v1(children, path)
        else:
            out.add(path)
    return out


def path_str(path: tuple) -> str:
    return "." + ".".join(path)


# ------------------------------------------------------------------------------------------------------
# Selectors

_SET_RE = re.compile(r"^\s*([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")


def _split_selector(sel: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in sel:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


def parse_label_selector(sel: str) -> list[tuple[str, str, list[str]]]:
    reqs = []
    for part in _split_selector(sel or ""):
        m = _SET_RE.match(part)
        if m:
            values = [v.strip() for v in m.group(3).split(",") if v.strip()]
            reqs.append((m.group(1), m.group(2), values))
        elif "!=" in part:
            k, v = part.split("!=", 1)
            reqs.append((k.strip(), "!=", [v.strip()]))
        elif "==" in part:
            k, v = part.split("==", 1)
            reqs.append((k.strip(), "=", [v.strip()]))
        elif "=" in part:
            k, v = part.split("=", 1)
            reqs.append((k.strip(), "=", [v.strip()]))
        elif part.startswith("!"):
            reqs.append((part[1:].strip(), "!", []))
        else:
            reqs.append((part, "exists", []))
    return reqs


def label_requirements_match(reqs: list[tuple[str, str, list[str]]], labels: dict | None) -> bool:
    labels = labels or {}
    for key, op, values in reqs:
        present = key in labels
        val = labels.get(key)
        if op == "=" and (not present or val != values[0]):
            return False
        if op == "!=" and present and val == values[0]:
            return False
        if op == "in" and (not present or val not in values):
            return False
        if op == "notin" and present and val in values:
            return False
        if op == "exists" and not present:
            return False
        if op == "!" and present:
            return False
    return True


def selector_matches(selector: dict | None, labels: dict | None) -> bool:
    """metav1.LabelSelector (matchLabels + matchExpressions) against labels; an empty selector matches all."""
    if selector is None:
        return False
    labels = labels or {}
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def field_selector_matches(sel: str, obj: dict) -> bool:
    for part in _split_selector(sel or ""):
        if "!=" in part:
            k, v, neg = *part.split("!=", 1), True
        else:
            k, v = part.split("==", 1) if "==" in part else part.split("=", 1)
            neg = False
        found, actual = get_path(obj, tuple(k.strip().split(".")))
        actual = "" if not found or actual is None else str(actual)
        if (actual == v.strip()) == neg:
            return False
    return True


def parse_body(body: bytes, content_type: str = "") -> Any:
    if not body:
        return None
    text = body.decode("utf-8")
    try:
        return json.loads(text)
    except ValueError:
        import yaml
        return yaml.safe_load(text)
