"""The pools the answers describe and what a run will do to each (new, changed, unchanged), and what preflight
read from Compute: the inputs of every check."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wizard.azure.compute import Usage, VmSku

if TYPE_CHECKING:
    from wizard.answers import Answers
    from wizard.plan_model import Plan


@dataclass
class PoolIntent:
    key: str  # "system" | "gpu" (gpu_pool) | "gpu:NAME" (a pool of gpu_pools)
    label: str
    prefix: str  # answers path of the pool
    vm_size: str
    zones: tuple[str, ...]
    nodes: int
    nodes_source: str
    count_field: str
    state: str  # "new" | "unchanged" | "changed"
    existing_nodes: int = 0
    gpus_wanted: int | None = None
    min_nodes: int | None = None
    spot: bool = False  # Spot VMs count against the low-priority quota, not their family's

    @property
    def is_gpu(self) -> bool:
        return self.key.startswith("gpu")


@dataclass
class Reads:
    """What preflight read from Compute (None: the read failed, with the reason)."""

    skus: dict[str, VmSku] | None
    usages: dict[str, Usage] | None
    skus_error: str = ""
    usages_error: str = ""
    extra_flag_states: dict[str, str] | None = None
    subnet: Any = None  # azure-mgmt-network Subnet of cluster.network.vnet_subnet_id (None: none there, or unread)
    subnet_error: str = ""  # why it could not be read


def plan_step(plan: "Plan", step_id: str) -> Any:
    return next((s for s in plan.steps if s.id == step_id), None)


def existing_pool_props(plan: "Plan", name: str) -> dict[str, Any] | None:
    observed = plan.observed.pools.get(name)
    if observed:
        return observed.get("properties") or {}
    return _existing_profile(plan, name)


def _existing_profile(plan: "Plan", name: str) -> dict[str, Any] | None:
    """The cluster's agentPoolProfile of that name, if the cluster has one."""
    for p in ((plan.observed.cluster or {}).get("properties") or {}).get("agentPoolProfiles") or []:
        if p.get("name") == name:
            found: dict[str, Any] = p
            return found
    return None


def pool_intents(answers: "Answers", plan: "Plan") -> list[PoolIntent]:
    """The pools the answers describe and what the run will do to each (skip what exists unchanged)."""
    out: list[PoolIntent] = []
    sp = answers.cluster.system_pool
    system = PoolIntent("system", f"system pool {sp.name}", "cluster.system_pool", sp.vm_size, tuple(sp.zones),
                        sp.count, "count", "cluster.system_pool.count", "new")
    existing_sp = (_existing_profile(plan, sp.name) if plan.observed.cluster is not None else None)
    if existing_sp is not None:  # matched by its real name: a cluster without such a pool would get a new one
        same_size = (existing_sp.get("vmSize") or "").lower() == sp.vm_size.lower()
        unchanged = same_size and int(existing_sp.get("count") or 0) == sp.count and \
            sorted(existing_sp.get("availabilityZones") or []) == sorted(sp.zones)
        system.state = "unchanged" if unchanged else "changed"
        if same_size:
            system.existing_nodes = int(existing_sp.get("count") or 0)
    out.append(system)
    from wizard.plan_model import gpu_pool_steps, pool_suffix

    for step_id, gp, path in gpu_pool_steps(answers):
        nodes, source, count_field = ((gp.autoscale.max, "autoscale max", f"{path}.autoscale.max") if gp.autoscale
                                      else (gp.count, "count", f"{path}.count"))
        intent = PoolIntent("gpu" + pool_suffix(step_id),
                            f"GPU pool {gp.name}" + (" (Spot)" if gp.priority == "Spot" else ""), path, gp.vm_size,
                            tuple(gp.zones), nodes, source, count_field, "new",
                            min_nodes=gp.autoscale.min if gp.autoscale else gp.count, spot=gp.priority == "Spot")
        existing = existing_pool_props(plan, gp.name) if plan.observed.cluster is not None else None
        if existing is not None:
            step = plan_step(plan, step_id)
            if step is not None:
                changed = step.action != "skip"
            else:  # the plan stopped early (other problems): compare here
                changed = bool(pool_diffs(answers, plan, existing, gp, path))
            intent.state = "changed" if changed else "unchanged"
            if (existing.get("vmSize") or "").lower() == gp.vm_size.lower():
                intent.existing_nodes = int(existing.get("count") or 0)
        out.append(intent)
    return out


def pool_diffs(answers: "Answers", plan: "Plan", existing: dict[str, Any], pool: Any, path: str) -> list[Any]:
    from wizard.spec import desired_pool, pool_differences

    if plan.resolved is None:  # the plan stopped before resolving: nothing to compare with
        return []
    try:
        want = desired_pool(answers, plan.resolved, pool=pool).as_dict().get("properties", {})
        return pool_differences(existing, want, path)
    except Exception:  # noqa: BLE001 - a comparison we can't make is not a preflight failure
        return []


def cluster_diffs(answers: "Answers", plan: "Plan") -> list[Any]:
    from wizard.spec import cluster_differences

    try:
        return cluster_differences(plan.observed.cluster or {}, answers, plan.resolved,  # type: ignore[arg-type]
                                   answers.cluster.kubernetes_version.count(".") == 1)
    except Exception:  # noqa: BLE001
        return []
