"""Reading an answers file as YAML, strictly: no float, date or ambiguous number is guessed, no duplicate key,
no control character, no anchor or tag tricks; every problem with its line and column."""
from __future__ import annotations

import json
import re
import typing
from typing import Any, Protocol

import yaml

from .errors import FieldError



SCHEMA_ID = "urn:aks-ai-wizard:answers:1"
_FLOAT_TAG = "tag:yaml.org,2002:float"


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """SafeLoader (libyaml's parser when installed: linear and fast on large files) that never reads a plain
    scalar as a float, a date or a YAML 1.1 non-decimal number.

    No answer is a float, and ``kubernetes_version: 1.30`` must stay "1.30", not 1.3.
    Everything else is yaml.safe_load: no Python tags, YAML 1.1 booleans.
    """


_INT_TAG = "tag:yaml.org,2002:int"
_AMBIGUOUS_TAG = "tag:aks-ai-wizard,2026:ambiguous-number"
# YAML 1.1 reads 010 as 8, 0x10 as 16, 1_000 as 1000 and 1:00 as 60: only plain decimals are integers here; the
# other forms are refused with a clear error (quote them to mean the text, or write the decimal)
_DECIMAL = re.compile(r"[-+]?(?:0|[1-9][0-9]*)\Z")
_AMBIGUOUS = re.compile(r"[-+]?(?:0[0-7_]+|0b[01_]+|0x[0-9a-fA-F_]+|[0-9][0-9_]*(?::[0-5]?[0-9])+"
                        r"|[1-9][0-9_]*_[0-9_]*)\Z")

_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"  # no answer is a date: 2026-02-30 stays text, never a traceback
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in (_FLOAT_TAG, _INT_TAG, _TIMESTAMP_TAG)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(_INT_TAG, _DECIMAL, list("-+0123456789"))
_Loader.add_implicit_resolver(_AMBIGUOUS_TAG, _AMBIGUOUS, list("-+0123456789"))


def _ambiguous(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> None:
    raise yaml.constructor.ConstructorError(
        None, None, f"{node.value!r} is read differently by YAML versions (YAML 1.1 takes it as a base-8, base-16 "
        "or base-60 number); write a plain decimal, or quote it to mean the text", node.start_mark)


_Loader.add_constructor(_AMBIGUOUS_TAG, _ambiguous)
MAX_DIGITS = 18  # no answer needs a larger number; Python refuses to read ones beyond 4300 digits
MAX_DEPTH = 32  # the schema nests 5 levels


def _int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    digits = node.value.lstrip("+-")
    if len(digits) > MAX_DIGITS:
        raise yaml.constructor.ConstructorError(
            None, None, f"a number of {len(digits)} digits is far beyond any allowed value", node.start_mark)
    return int(node.value)


_Loader.add_constructor(_INT_TAG, _int)


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # Unicode category Cc


def _control_characters(root: yaml.Node) -> list[FieldError]:
    """Control characters in any key or value, each with its path, line and column (a pasted newline or escape
    sequence reaches Azure otherwise). Iterative, over a tree whose depth _shape_errors bounded."""
    out: list[FieldError] = []
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, tuple[Any, ...]]] = [(root, ())]
    while stack:
        node, path = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            found = _CONTROL.search(node.value)
            if found is not None:
                bad = found.group()
                line, column = line_column(node.start_mark)
                out.append(FieldError(format_path(path), f"{node.value[:40]!r} holds the control character "
                                      f"U+{ord(bad):04X}; no answer contains one (a pasted newline or escape?)",
                                      line, column))
        elif isinstance(node, yaml.MappingNode):
            for key, value in reversed(node.value):
                sub = path + (key.value if isinstance(key, yaml.ScalarNode) else "?",)
                stack += [(value, sub), (key, sub)]
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((n, path + (i,)) for i, n in reversed(list(enumerate(node.value))))
    return out


# ------------------------------------------------------------------ YAML level

class _Parsed(typing.NamedTuple):
    data: Any  # the constructed document (None when malformed)
    root: yaml.Node | None
    errors: list[FieldError]  # YAML-level errors (malformed, not a mapping, duplicate keys)


class _Mark(Protocol):
    """A position in the text (the pure-Python and the libyaml parser each have their own Mark class)."""
    line: int
    column: int


def line_column(mark: _Mark | None) -> tuple[int | None, int | None]:
    if mark is None:
        return None, None
    return mark.line + 1, mark.column + 1


_EXPLICIT_TAGS = {"tag:yaml.org,2002:str", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq", "!"}


def _shape_errors(text: str) -> list[FieldError]:
    """Checked on the flat event stream before any node is built: nesting beyond MAX_DEPTH, and aliases of
    whole lists or mappings (other than merge keys), whose expansion can grow exponentially ("billion laughs")."""
    depth = 0
    collections_: set[str] = set()
    merging: list[bool] = []  # per open collection: is it the value of a merge key
    previous: Any = None
    for event in yaml.parse(text, Loader=_Loader):
        line, column = line_column(event.start_mark)
        tag = getattr(event, "tag", None)
        if tag is not None and tag not in _EXPLICIT_TAGS:
            shown = tag.replace("tag:yaml.org,2002:", "!!")
            return [FieldError("", f"malformed YAML: the tag {shown} is not used in answers files (only !!str, to "
                                   "keep a value as text)", line, column)]
        after_merge = isinstance(previous, yaml.ScalarEvent) and previous.value == "<<"
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                return [FieldError("", f"nested deeper than {MAX_DEPTH} levels; an answers file nests at most 5",
                                   line, column)]
            if event.anchor:
                collections_.add(event.anchor)
            merging.append(after_merge and isinstance(event, yaml.SequenceStartEvent))
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1
            merging.pop()
        elif isinstance(event, yaml.AliasEvent) and event.anchor in collections_ and not (
                after_merge or (merging and merging[-1])):
            return [FieldError("", f"*{event.anchor} repeats a whole list or mapping; write it out (only a merge "
                                   f"key, <<: *{event.anchor}, may use one)", line, column)]
        previous = event
    return []


def parse_yaml(text: str) -> _Parsed:
    loader = _Loader(text)
    try:
        shape = _shape_errors(text)
        if shape:
            return _Parsed(None, None, shape)
        root = loader.get_single_node()
        if root is None:
            return _Parsed(None, None, [FieldError(
                "", "the file is empty; expected a mapping with at least azure, resource_group and cluster"
            )])
        dupes = _duplicate_keys(root) + _control_characters(root)
        data = loader.construct_document(root)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = line_column(mark)
        problem = exc.problem or "malformed YAML"
        if exc.context:
            problem = f"{problem} ({exc.context}"
            if exc.context_mark and exc.problem_mark and exc.context_mark.line != exc.problem_mark.line:
                problem += f" at line {exc.context_mark.line + 1}"
            problem += ")"
        return _Parsed(None, None, [FieldError("", f"malformed YAML: {problem}", line, column)])
    except yaml.YAMLError as exc:  # pragma: no cover - unmarked reader errors
        return _Parsed(None, None, [FieldError("", f"malformed YAML: {exc}")])
    except (ValueError, TypeError, AttributeError, OverflowError) as exc:  # pragma: no cover - a value the
        # constructors cannot make (the tag check above should leave none): still an error, never a traceback
        return _Parsed(None, None, [FieldError("", f"a value cannot be read: {exc}")])
    finally:
        loader.dispose()
    if not isinstance(root, yaml.MappingNode) or not isinstance(data, dict):
        line, column = line_column(root.start_mark)
        kind = describe(data)
        return _Parsed(None, root, [FieldError(
            "", f"the answers file must be a mapping (key: value pairs) at the top level, got {kind}",
            line, column,
        )])
    return _Parsed(data, root, dupes)


def _duplicate_keys(root: yaml.Node) -> list[FieldError]:
    out: list[FieldError] = []
    seen_nodes: set[int] = set()

    def walk(node: yaml.Node, path: tuple[Any, ...]) -> None:
        if id(node) in seen_nodes:
            return
        seen_nodes.add(id(node))
        if isinstance(node, yaml.MappingNode):
            first_line: dict[str, int] = {}
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    if key.value in first_line and key.value != "<<":
                        line, column = line_column(key.start_mark)
                        out.append(FieldError(
                            format_path(path + (key.value,)),
                            f"duplicate key {key.value!r} (first given at line {first_line[key.value]})",
                            line, column,
                        ))
                    else:
                        first_line[key.value] = key.start_mark.line + 1
                    walk(value, path + (key.value,))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, path + (i,))

    walk(root, ())
    return out


# --------------------------------------------------------------- error mapping

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def format_path(path: tuple[Any, ...]) -> str:
    """('gpu_pool', 'taints', 0) -> 'gpu_pool.taints[0]'; odd keys -> labels["nvidia.com/gpu"]."""
    out = ""
    for element in path:
        if isinstance(element, int):
            out += f"[{element}]"
        elif _IDENT.fullmatch(str(element)):
            out += f".{element}" if out else str(element)
        else:
            out += f"[{json.dumps(str(element))}]"
    return out


def describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, int):
        return f"integer {value}"
    if isinstance(value, float):
        return f"number {value}"
    if isinstance(value, str):
        return f"string {value!r}"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__
