"""A fleet: several clusters from one answers file (`fleet:`), each member an ordinary Answers of its own.

The members' names derive from the base names by the fleet's patterns (validated in wizard/answers); a member's
overrides (location, GPU size) replace the base values. Everything downstream (plan, preflight, export, engine)
works on the member Answers, so a fleet of one cluster and a single cluster go through the same code.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from wizard.answers import Answers
    from wizard.plan import Plan


@dataclass(frozen=True)
class Member:
    n: int  # 1-based, as {n} in the name patterns
    answers: "Answers"

    @property
    def name(self) -> str:
        return self.answers.cluster.name


def members(answers: "Answers") -> list[Member]:
    """The fleet's members in order; a file without `fleet` is a fleet of one (the base names as they are)."""
    import copy

    from wizard.answers import answers_from_dict
    from wizard.answers.rules import fleet_name

    fleet = answers.fleet
    if fleet is None:
        return [Member(1, answers)]
    base = answers.model_dump(mode="json")
    del base["fleet"]
    overrides = {m.member: m for m in fleet.members}
    out = []
    for n in range(1, fleet.count + 1):
        data = copy.deepcopy(base)
        fields = (n, answers.cluster.name, answers.resource_group.name)
        data["cluster"]["name"] = fleet_name(fleet.cluster_name, *fields)
        if fleet.resource_group == "per_cluster":
            data["resource_group"]["name"] = fleet_name(fleet.resource_group_name, *fields)
        if (o := overrides.get(n)) is not None:
            if o.location:
                data["azure"]["location"] = o.location
            if o.gpu_vm_size and data.get("gpu_pool"):
                data["gpu_pool"]["vm_size"] = o.gpu_vm_size
        out.append(Member(n, answers_from_dict(data)))
    return out


def plan_members(conn: Any, answers: "Answers", subscription: tuple[str, str], allow_update: bool = False,
                 parallel: int = 4, journal: Callable[[str], Any] | None = None) -> list["Plan"]:
    """Each member's plan (observe + build; reads only), a few members at a time. journal: cluster name -> that
    member's Journal, so a plan re-attaches to the operations an interrupted run left in flight."""
    from concurrent.futures import ThreadPoolExecutor

    from wizard.plan import plan_for

    def plan(m: Member) -> "Plan":
        return plan_for(conn, m.answers, subscription, journal(m.name) if journal else None,
                        allow_update=allow_update)

    with ThreadPoolExecutor(max_workers=max(1, parallel), thread_name_prefix="member-plan") as pool:
        return list(pool.map(plan, members(answers)))
