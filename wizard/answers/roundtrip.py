"""Saving into an answers file the user wrote: their comments, key order, quoting and layout stay.

ruamel.yaml's round-trip mode edits the document in place: only a value that changed is replaced, a key the
answers no longer hold is removed, a new one is appended to its section. Whether a value changed is decided by
what the project's own loader reads (YAML 1.1 booleans, no floats), so `enabled: yes` stays as written when the
answer is still true. A file whose answers are unchanged is not written at all (byte for byte the same).
"""
from __future__ import annotations

import io
import re
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq


def _yaml(text: str) -> YAML:
    """A round-trip YAML that dumps with the indentation the document uses (ruamel applies one to all)."""
    from ruamel.yaml.util import load_yaml_guess_indent

    _, indent, block_seq_indent = load_yaml_guess_indent(text)
    offset = block_seq_indent or 0
    # ruamel's guess is the sequences' indent (dash offset included): the mappings' own is that of the first
    # nested key (`cluster:` then `  name:` is 2 even where the lists read `  - name:` with 4)
    mapping = next((len(m.group(1)) for m in re.finditer(r"^\S[^\n]*:[ \t]*\n( +)[^\s-]", text, re.M)), None)
    y = YAML(typ="rt")
    y.preserve_quotes = True
    y.width = 4096  # never re-wrap the user's long lines
    if mapping is not None and indent:
        y.indent(mapping=mapping, sequence=indent, offset=offset)
    else:
        indent = indent or 2
        y.indent(mapping=indent, sequence=indent + offset, offset=offset)
    return y


def _merge(node: CommentedMap, old: dict[str, Any], new: dict[str, Any]) -> None:
    """Make `node` (whose values read as `old`) hold `new`, touching only what differs."""
    for key in [k for k in node if k not in new]:
        del node[key]
    for key, value in new.items():
        if key in node and isinstance(node[key], CommentedMap) and isinstance(value, dict) \
                and isinstance(old.get(key), dict):
            _merge(node[key], old[key], value)
        elif key in node and _same_shape_list(node[key], old.get(key), value):
            for item, was, now in zip(node[key], old[key], value):  # a list of mappings (gpu_pools): item by item
                _merge(item, was, now)
        elif key not in node or old.get(key, object()) != value:
            node[key] = value


def _same_shape_list(node: Any, old: Any, new: Any) -> bool:
    """A list of mappings in the file that still has as many items (each then edited in place, its comments kept)."""
    return isinstance(node, CommentedSeq) and isinstance(old, list) and isinstance(new, list) \
        and len(node) == len(old) == len(new) and all(isinstance(i, CommentedMap) for i in node) \
        and all(isinstance(i, dict) for i in (*old, *new))


def updated_text(text: str, old: dict[str, Any], new: dict[str, Any]) -> str | None:
    """`text` (which the project's loader reads as `old`) changed to hold `new`; None when it is not a YAML
    mapping ruamel can edit in place (the caller then writes a fresh document)."""
    try:
        y = _yaml(text)
        doc = y.load(text)
    except Exception:  # noqa: BLE001 - any parse problem: not editable in place
        return None
    if not isinstance(doc, CommentedMap):
        return None
    _merge(doc, old, new)
    out = io.StringIO()
    y.dump(doc, out)
    return out.getvalue()
