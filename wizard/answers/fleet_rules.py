"""The rules of a fleet (several clusters from one answers file): name patterns and the names they derive,
checked against Azure's rules and against each other."""
from __future__ import annotations

import string
from typing import Any, TypeGuard

from wizard.answers.rules import (FLEET_FIELDS, check_cluster_name, check_resource_group_name, fleet_name,
                                  got)


def is_int(v: Any) -> TypeGuard[int]:
    return isinstance(v, int) and not isinstance(v, bool)


def check_fleet_pattern(value: str) -> str | None:
    """A name pattern of a fleet member: Python format fields {n} (the member's number, 1-based, with an integer
    format such as {n:02d}), {cluster} and {resource_group} (the base names)."""
    allowed = "{n} (the member's number, e.g. {n:02d}), {cluster} and {resource_group}"
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(value) if f is not None]
        if any(f not in FLEET_FIELDS for f in fields):
            bad = next(f for f in fields if f not in FLEET_FIELDS)
            return f"unknown field {{{bad}}} in the pattern; allowed: {allowed} {got(value)}"
        fleet_name(value, 1, "c", "g")
    except (ValueError, IndexError, KeyError) as exc:
        return f"is not a valid name pattern ({exc}); allowed fields: {allowed} {got(value)}"
    return None


def fleet_errors(count: int, cluster_pattern: str, group_mode: str, group_pattern: str, cluster: str,
                 resource_group: str, overrides: list[Any], has_gpu_pool: bool) -> list[tuple[str, str]]:
    """Every derived name checked against Azure's rules and against the other members' (names are case-insensitive
    in Azure); overrides naming a member the fleet does not have, or a GPU size without a GPU pool. Paths relative
    to `fleet`."""
    out: list[tuple[str, str]] = []
    checks = [("cluster_name", cluster_pattern, check_cluster_name)]
    if group_mode == "per_cluster":
        checks.append(("resource_group_name", group_pattern, check_resource_group_name))
    for field, pattern, check in checks:
        if check_fleet_pattern(pattern):
            continue  # the pattern's own rule reports it
        seen: dict[str, int] = {}
        for n in range(1, count + 1):
            name = fleet_name(pattern, n, cluster, resource_group)
            if msg := check(name):
                out.append((field, f"member {n} would be named {name!r}, which {msg}"))
                break
            if (first := seen.setdefault(name.lower(), n)) != n:
                out.append((field, f"members {first} and {n} would both be named {name!r}: put {{n}} in the "
                                   f"pattern, e.g. \"{pattern}-{{n:02d}}\""))
                break
    given: dict[int, int] = {}
    for i, o in enumerate(overrides):
        member = o.get("member") if isinstance(o, dict) else getattr(o, "member", None)
        if not is_int(member):
            continue
        if not 1 <= member <= count:
            out.append((f"members.{i}.member", f"member {member} is not in the fleet (1-{count})"))
        elif member in given:
            out.append((f"members.{i}.member", f"member {member} is already overridden at fleet.members.{given[member]}"))
        given.setdefault(member, i)
    for i, o in enumerate(overrides):
        size = o.get("gpu_vm_size") if isinstance(o, dict) else getattr(o, "gpu_vm_size", None)
        if size is not None and not has_gpu_pool:
            out.append((f"members.{i}.gpu_vm_size", "there is no gpu_pool to size: add a gpu_pool section or remove "
                                                     "gpu_vm_size"))
    return out
