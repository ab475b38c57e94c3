"""Which request field needs which preview flag: the rules of wizard/data/features.yaml.

The plan reads them twice: to know which flags the options need (register them), and, while a flag is not yet
Registered, which fields the cluster create must leave out and send once it is (the staged create of
wizard/staging.py). Deleting a rule from the data therefore removes both its registration and its phase.
`model_problems()` checks every rule's field against the installed SDK models, so a rule naming a field the
API version does not have fails a test instead of a request.
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Literal

import yaml

if TYPE_CHECKING:
    from wizard.answers import Answers, GpuPoolAnswers

AfterCreate = Literal["cluster-update", "pool-create"]
POOL_PREFIX = "gpu_pool."  # a pool rule's option names an attribute of each GPU pool


@dataclass(frozen=True)
class FlagRule:
    option: str
    flag: str
    why: str
    resource: Literal["cluster", "pool"] = "cluster"
    field: str = ""  # REST path in the resource's body
    after_create: AfterCreate = "cluster-update"
    label: str = ""
    az_switch: str = ""

    @property
    def pool_attribute(self) -> str:
        return self.option.removeprefix(POOL_PREFIX)

    def on_pool(self, pool: "GpuPoolAnswers") -> bool:
        return self.resource == "pool" and bool(getattr(pool, self.pool_attribute, False))


@cache
def flag_rules() -> tuple[FlagRule, ...]:
    """The rules of features.yaml (package data: read once per process)."""
    text = resources.files("wizard.data").joinpath("features.yaml").read_text(encoding="utf-8")
    return tuple(FlagRule(**item) for item in yaml.safe_load(text) or [])


def option_on(answers: "Answers", dotted: str) -> bool:
    """Whether an answers option is on; `gpu_pool.X` is on when any GPU pool (gpu_pool or gpu_pools) sets X."""
    if dotted.startswith(POOL_PREFIX):
        attr = dotted.removeprefix(POOL_PREFIX)
        return any(bool(getattr(p, attr, False)) for p in answers.all_gpu_pools)
    node: Any = answers
    for part in dotted.split("."):
        node = getattr(node, part, None)
        if node is None:
            return False
    return bool(node)


def needed_flags(answers: "Answers") -> list[tuple[str, str]]:
    """(flag, why) for each preview flag the chosen options need; an explicit list is taken as given."""
    if answers.features != "auto":
        return [(f, "listed in the answers file") for f in answers.features]
    return list(dict.fromkeys((r.flag, r.why) for r in flag_rules() if option_on(answers, r.option)))


def gated_rules(answers: "Answers", unregistered: set[str]) -> list[FlagRule]:
    """The rules whose option is on and whose flag is not Registered yet: their fields wait for the flag."""
    low = {f.lower() for f in unregistered}
    return [r for r in flag_rules() if r.flag.lower() in low and option_on(answers, r.option)]


def held_pools(answers: "Answers", rules: list[FlagRule]) -> list["GpuPoolAnswers"]:
    """The GPU pools a pool-create rule gates: each is created on its own once the flag is Registered."""
    return [p for p in answers.all_gpu_pools
            if any(r.after_create == "pool-create" and r.on_pool(p) for r in rules)]


def without_fields(body: dict[str, Any], rules: list[FlagRule]) -> dict[str, Any]:
    """A cluster body (REST JSON) without the fields of the cluster-update rules (the create's first phase)."""
    out = copy.deepcopy(body)
    for r in rules:
        if r.resource != "cluster" or r.after_create != "cluster-update":
            continue
        *parents, leaf = r.field.split(".")
        node: Any = out
        for key in parents:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(leaf, None)
            if not node and parents:  # an emptied profile goes too (ingressProfile: {} says nothing)
                _drop_empty(out, parents)
    return out


def _drop_empty(body: dict[str, Any], path: list[str]) -> None:
    node: Any = body
    for key in path[:-1]:
        node = node[key]
    if node.get(path[-1]) == {}:
        del node[path[-1]]


def _annotation(cls: type, attr: str) -> str:
    for c in cls.__mro__:
        ann = getattr(c, "__annotations__", {}).get(attr)
        if ann is not None:
            return str(ann)
    return ""


def model_has(model: type, rest_path: str) -> str | None:
    """None when the SDK model has the REST path, else the first segment it lacks."""
    from azure.mgmt.containerservice import models as m

    cls: Any = model
    for segment in rest_path.split("."):
        if cls is None:
            return segment
        try:
            fields = cls()._attr_to_rest_field
        except TypeError:
            return segment
        attr = next((a for a, f in fields.items() if f._rest_name == segment), None)
        if attr is None:
            return segment
        named = re.findall(r"_models\.(\w+)", _annotation(cls, attr))
        cls = getattr(m, named[0], None) if named else None
    return None


def model_problems() -> list[str]:
    """Each rule whose field the installed SDK models (their API version) do not know, or that is malformed."""
    from azure.mgmt.containerservice import models as m

    out = []
    for r in flag_rules():
        if r.resource not in ("cluster", "pool") or r.after_create not in ("cluster-update", "pool-create"):
            out.append(f"{r.flag}: resource {r.resource!r} / after_create {r.after_create!r} not known")
            continue
        model = m.ManagedCluster if r.resource == "cluster" else m.AgentPool
        missing = model_has(model, r.field)
        if missing is not None:
            out.append(f"{r.flag}: {model.__name__} has no {r.field} (no {missing!r})")
        if r.resource == "pool" and not r.option.startswith(POOL_PREFIX):
            out.append(f"{r.flag}: a pool rule's option must be gpu_pool.<attribute>, not {r.option}")
    return out
