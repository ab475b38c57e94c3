"""Load, check and save answers files, with every error mapped to its YAML line and column."""
from __future__ import annotations

import collections
import copy
import difflib
import functools
import os
import re
import tempfile
import typing
from pathlib import Path
from typing import Any, Mapping

import yaml
from pydantic import BaseModel, ValidationError

from . import cross
from .errors import AnswersError, FieldError
from .model import CROSS_ERROR, RULE_ERROR, Answers, union_member, unwrap
from wizard.answers.yaml_read import SCHEMA_ID, describe, format_path, line_column, parse_yaml


__all__ = [
    "load_answers",
    "parse_answers",
    "answers_from_dict",
    "load_partial",
    "answers_to_yaml",
    "save_answers",
    "json_schema",
    "SCHEMA_ID",
]


_Index = dict[int, dict[str, tuple[yaml.Node, yaml.Node]]]


def _find_node(root: yaml.Node | None, path: tuple[Any, ...], key: bool = False,
               index: _Index | None = None) -> yaml.Node | None:
    """The node at ``path`` (the key node of the last element if ``key``), or the deepest
    node that exists along it. ``index`` caches each mapping's keys, so that locating every one of
    many errors stays linear in the size of the file."""
    node = root
    if node is None:
        return None
    index = {} if index is None else index
    for i, element in enumerate(path):
        last = i == len(path) - 1
        nxt = None
        if isinstance(node, yaml.MappingNode):
            keys = index.get(id(node))
            if keys is None:  # the last of repeated keys wins, as in the constructed mapping
                keys = index[id(node)] = {k.value: (k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode)}
            found = keys.get(str(element))
            if found is not None:
                nxt = found[0] if (last and key) else found[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(element, int):
            if 0 <= element < len(node.value):
                nxt = node.value[element]
        if nxt is None:
            return node
        node = nxt
    return node


MAX_SUGGESTIONS = 20  # unknown keys in one mapping that still get a "did you mean"


@functools.lru_cache(maxsize=4096)
def _resolve(loc: tuple[Any, ...]) -> tuple[tuple[Any, ...], Any]:
    """Drop union tags from a pydantic error location; return it with the type found there."""
    tp: Any = Answers
    clean: list[Any] = []
    for element in loc:
        tp = unwrap(tp) if tp is not None else None
        member = union_member(tp, element) if tp is not None else None
        if member is not None:
            tp = member
            continue
        clean.append(element)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            field = tp.model_fields.get(element) if isinstance(element, str) else None
            tp = field.annotation if field else None
        elif typing.get_origin(tp) is list:
            tp = typing.get_args(tp)[0]
        elif typing.get_origin(tp) is dict:
            tp = typing.get_args(tp)[1]
        else:
            tp = None
    return tuple(clean), (unwrap(tp) if tp is not None else None)


@functools.lru_cache(maxsize=256)
def _model_keys(tp: Any) -> list[str]:
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return list(tp.model_fields)
    # a tagged union with a model member (azure.cloud): the model's keys
    for member in typing.get_args(tp):
        inner = unwrap(member)
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            return list(inner.model_fields)
    return []


def _suggest(value: str, choices: list[str]) -> str | None:
    lowered = {c.lower(): c for c in choices}
    if value.lower() in lowered:
        return lowered[value.lower()]
    close = difflib.get_close_matches(value, choices, n=1, cutoff=0.6)
    return close[0] if close else None


def _message(err: Mapping[str, Any], loc: tuple[Any, ...], tp: Any, parent_tp: Any, suggest: bool = True) -> str:
    kind = err["type"]
    value = err.get("input")
    ctx = err.get("ctx") or {}
    got = describe(value)
    if kind in (RULE_ERROR, CROSS_ERROR):
        return str(ctx["message"])
    if kind == "missing":
        return "required"
    if kind == "extra_forbidden":
        key = str(loc[-1])
        allowed = _model_keys(parent_tp)
        hint = _suggest(key, allowed) if suggest else None
        if hint:
            return f"unknown key {key!r}; did you mean {hint!r}?"
        return f"unknown key {key!r}; allowed keys: {', '.join(allowed)}"
    if loc == ("version",):
        return f"unsupported answers schema version ({got}); this wizard reads version 1"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"expected an integer, got {got}"
    if kind in ("bool_type", "bool_parsing"):
        return f"expected true or false, got {got}"
    if kind in ("string_type", "string_sub_type"):
        extra = "; put it in quotes" if isinstance(value, (int, float, bool)) else ""
        return f"expected a string, got {got}{extra}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind in ("list_type", "tuple_type"):
        return f"expected a list, got {got}"
    if kind in ("dict_type", "model_type", "model_attributes_type", "dataclass_type"):
        keys = _model_keys(tp)
        if keys:
            return f"expected a mapping with keys {', '.join(keys)}, got {got}"
        return f"expected a mapping (key: value pairs), got {got}"
    if kind == "literal_error":
        allowed = [a for a in typing.get_args(tp)] if typing.get_origin(tp) is typing.Literal else []
        if allowed:
            shown = ", ".join(str(a) for a in allowed)
            message = f"must be one of {shown} (got {got})"
            if (
                isinstance(value, str)
                and re.search(r"[A-Za-z]", value)
                and (hint := _suggest(value, [str(a) for a in allowed]))
            ):
                message += f"; did you mean {hint!r}?"
            return message
        return f"{err['msg']} (got {got})"
    return str(err["msg"])


def _convert(exc: ValidationError, root: yaml.Node | None) -> list[FieldError]:
    out: list[FieldError] = []
    index: _Index = {}
    errors = exc.errors(include_url=False)
    # a typo gets a "did you mean"; a mapping with many unknown keys is not a typo (and stays linear)
    unknown = collections.Counter(tuple(e["loc"][:-1]) for e in errors if e["type"] == "extra_forbidden")
    for err in errors:
        raw = tuple(err["loc"])
        is_key = bool(raw) and raw[-1] == "[key]"
        if is_key:
            raw = raw[:-1]
        loc, tp = _resolve(raw)
        _, parent_tp = _resolve(raw[:-1]) if raw else (None, Answers)
        if not raw:
            parent_tp = Answers
        message = _message(err, loc, tp, parent_tp, unknown[raw[:-1]] <= MAX_SUGGESTIONS)
        if err["type"] == CROSS_ERROR and err.get("ctx", {}).get("field"):
            loc = loc + _split(err["ctx"]["field"])
        node = _find_node(root, loc, key=is_key or err["type"] == "extra_forbidden", index=index)
        line, column = line_column(node.start_mark) if node is not None else (None, None)
        out.append(FieldError(format_path(loc), message, line, column))
    return out


def _split(dotted: str) -> tuple[Any, ...]:
    """'fleet.members.0.member' -> ('fleet', 'members', 0, 'member'): list indices as ints."""
    return tuple(int(p) if p.isdigit() else p for p in dotted.split("."))


def _cross_errors(data: Any, root: yaml.Node | None) -> list[FieldError]:
    out = []
    index: _Index = {}
    for path, message in cross.cross_field_errors(data):
        loc = _split(path)
        node = _find_node(root, loc, index=index)
        line, column = line_column(node.start_mark) if node is not None else (None, None)
        out.append(FieldError(format_path(loc), message, line, column))
    return out


def _sort_key(e: FieldError) -> tuple[Any, ...]:
    return (e.line if e.line is not None else 1 << 30, e.column or 0, e.path)


def _check(data: Any, root: yaml.Node | None) -> tuple[Answers | None, list[FieldError]]:
    """Validate a raw mapping; every error, deduplicated, in file order."""
    try:
        answers = Answers.model_validate(data)
        errors: list[FieldError] = []
    except ValidationError as exc:
        answers = None
        errors = _convert(exc, root)
    # a cross-field rule is not reported on a field that already failed its own rule
    failed = {e.path for e in errors}
    errors += [e for e in _cross_errors(data, root) if e.path not in failed]
    unique: dict[tuple[str, str], FieldError] = {}
    for e in errors:
        unique.setdefault((e.path, e.message), e)
    if unique and answers is not None:  # pragma: no cover - a cross rule the model lacks
        answers = None
    return answers, sorted(unique.values(), key=_sort_key)


# ------------------------------------------------------------------ public API

def answers_from_dict(data: dict[str, Any]) -> Answers:
    """Validate a mapping (as yaml.safe_load gives); raises AnswersError listing every problem."""
    if not isinstance(data, dict):
        raise AnswersError([FieldError(
            "", f"the answers must be a mapping (key: value pairs), got {describe(data)}"
        )])
    answers, errors = _check(data, None)
    if errors:
        raise AnswersError(errors)
    assert answers is not None
    return answers


def parse_answers(text: str, source: str = "<answers>") -> Answers:
    """Parse answers from YAML text; errors carry line and column, ``source`` names the file."""
    parsed = parse_yaml(text)
    if parsed.data is None:
        raise AnswersError(parsed.errors, source)
    answers, errors = _check(parsed.data, parsed.root)
    errors = sorted(parsed.errors + errors, key=_sort_key)
    if errors:
        raise AnswersError(errors, source)
    assert answers is not None
    return answers


def _read(path: str | os.PathLike[str]) -> str:
    where = os.fspath(path)
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        why = f"answers file not found: {where}"
    except IsADirectoryError:
        why = f"answers file is a directory: {where}"
    except UnicodeDecodeError as exc:
        why = f"answers file is not UTF-8 text: {exc}"
    except OSError as exc:
        why = f"cannot read answers file: {exc.strerror or exc}"
    raise AnswersError([FieldError("", why)], where)


def load_answers(path: str | os.PathLike[str]) -> Answers:
    """Load and validate an answers file; raises AnswersError listing every problem."""
    return parse_answers(_read(path), os.fspath(path))


def _looks_like_path(value: str | os.PathLike[str]) -> bool:
    if isinstance(value, os.PathLike):
        return True
    if "\n" in value:
        return False
    return value.endswith((".yaml", ".yml", ".json")) or os.path.exists(value)


def load_partial(path_or_text: str | os.PathLike[str]) -> tuple[dict[str, Any], list[FieldError]]:
    """For the TUI prefill: the raw mapping ({} if unusable) and every error, missing keys included.

    A ``Path`` (or a one-line string ending in .yaml/.yml/.json, or naming an existing file)
    is read as a file; any other string is YAML text.  Never raises AnswersError.
    """
    if _looks_like_path(path_or_text):
        try:
            text = _read(path_or_text)
        except AnswersError as exc:
            return {}, exc.errors
    else:
        text = str(path_or_text)
    parsed = parse_yaml(text)
    if parsed.data is None:
        return {}, parsed.errors
    _, errors = _check(parsed.data, parsed.root)
    return parsed.data, sorted(parsed.errors + errors, key=_sort_key)


_HEADER = (
    "# aks-ai-wizard answers file (schema version 1).\n"
    "# Secret-free; replay with: aks-ai-wizard apply <this file>\n"
)


def answers_to_yaml(answers: Answers) -> str:
    """Readable YAML in model key order, defaults included; parse_answers() reads it back equal."""
    data = answers.model_dump(mode="json")
    if data.get("fleet") is None:
        del data["fleet"]  # an optional section that is absent stays absent
    body = yaml.safe_dump(data, sort_keys=False, default_flow_style=False, allow_unicode=True, width=100)
    # a blank line between top-level sections
    lines = body.splitlines()
    out = []
    for i, line in enumerate(lines):
        if i > 0 and line[:1] not in ("", " ", "-"):
            out.append("")
        out.append(line)
    return _HEADER + "\n".join(out) + "\n"


def save_answers(answers: Answers, path: str | os.PathLike[str], data: dict[str, Any] | None = None) -> bool:
    """Write the answers to ``path`` atomically (temp file in the same directory + os.replace); returns whether
    it wrote. A file that already holds equal answers is left untouched; one that differs is edited in place,
    keeping its comments, order and formatting, with ``data`` (the answers as given, without the defaults the
    user never wrote; default: every answer). A new file gets the full readable document."""
    from .roundtrip import updated_text

    target = Path(path)
    existing = _existing(target)
    if existing is not None:
        text, old = existing
        try:
            if answers_from_dict(copy.deepcopy(old)) == answers:
                return False
        except AnswersError:
            pass
        edited = updated_text(text, old, data if data is not None else answers.model_dump(mode="json"))
        if edited is not None:
            _write_atomic(target, edited)
            return True
    _write_atomic(target, answers_to_yaml(answers))
    return True


def save_partial(data: dict[str, Any], path: str | os.PathLike[str]) -> bool:
    """Answers that are not complete yet (the interactive wizard offers this on quit), as YAML that
    `aks-ai-wizard --answers FILE` prefills from and asks only for what is missing. An existing file is edited
    in place as save_answers does (not written when it holds the same)."""
    from .roundtrip import updated_text

    target = Path(path)
    existing = _existing(target)
    if existing is not None:
        text, old = existing
        if old == data:
            return False
        edited = updated_text(text, old, data)
        if edited is not None:
            _write_atomic(target, edited)
            return True
    _write_atomic(target, "# aks-ai-wizard answers file (schema version 1), not complete yet.\n"
                          f"# Finish it with: aks-ai-wizard --answers {target.name}\n"
                          + yaml.safe_dump(data, sort_keys=False, default_flow_style=False, allow_unicode=True))
    return True


def _existing(target: Path) -> tuple[str, dict[str, Any]] | None:
    """The text of an answers file already at ``target`` and the mapping it reads as, when it is one."""
    try:
        text = target.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    parsed = parse_yaml(text)
    return (text, parsed.data) if isinstance(parsed.data, dict) else None


def _write_atomic(target: Path, text: str) -> None:
    directory = target.parent if str(target.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            mode = target.stat().st_mode & 0o777
        except FileNotFoundError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of the answers file."""
    schema = Answers.model_json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "aks-ai-wizard answers file (schema version 1)",
        **{k: v for k, v in schema.items() if k != "title"},
    }
