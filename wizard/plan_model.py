"""What a plan is: the observations it was built from, its steps (a small DAG) and its problems, with the checks
every plan passes before it runs. wizard.plan builds plans; the engine, the step kinds (add-ons, access,
teardown, the staged create), preflight and export read them through this module, so none of them imports the
planner and the planner can import them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Literal

if TYPE_CHECKING:
    from wizard.answers import Answers, GpuPoolAnswers
    from wizard.azure.catalog import KubeVersion, MeshRevision
    from wizard.spec import Difference, Resolved
    from wizard.staging import Staging

PROVIDER = "Microsoft.ContainerService"  # the resource provider of AKS, which a plan registers when it must
PREVIEW_FIELDS = "preview-fields"  # the one cluster update that sends the fields a staged create left for the flags

Action = Literal["create", "update", "register", "retry", "recreate", "attach", "read", "skip"]


@dataclass
class Observed:
    """Everything the plan reads from Azure, gathered concurrently before anything is written."""

    subscription_id: str
    subscription_name: str
    group: dict[str, Any] | None = None
    flag_states: dict[str, str] = field(default_factory=dict)
    provider_state: str = "Registered"
    versions: list[KubeVersion] = field(default_factory=list)
    revisions: list[MeshRevision] = field(default_factory=list)
    cluster: dict[str, Any] | None = None  # ARM JSON (camelCase)
    pools: dict[str, dict[str, Any]] = field(default_factory=dict)  # ARM JSON of each GPU agent pool, by name
    kueue_manifest: Problem | None = None  # what is wrong with a local kueue.manifest (read and checked)
    # Microsoft.ContainerService is not registered: ARM refused its reads (versions, revisions, cluster) with
    # MissingSubscriptionRegistration; they are read once apply has registered it
    provider_unreadable: bool = False
    workspace_locations: list[str] = field(default_factory=list)  # where Azure Monitor workspaces can go
    workspace_location: str | None = None  # the region of the given workspace (cluster.addons.monitor_workspace_id)
    workspace_problem: Problem | None = None  # the given workspace was not found, or its read was refused


# What the engine's own step kinds need, put in the step's payload by the plan (a runner never reads the answers).
@dataclass(frozen=True)
class GroupInputs:
    """resource-group: the group to create, with the tags it carries (the plan's provenance among them)."""

    name: str
    location: str
    tags: dict[str, str]


@dataclass(frozen=True)
class ArmWrite:
    """cluster, preview-fields and gpu-pool: where the step writes and what it sends. A create (and a pool's update
    or retry) sends `body`; the cluster's update or retry starts from what Azure has then and applies `update`,
    so nothing another client set is dropped; an attach follows the operation of `in_flight` (the journal's
    record of it), or the resource's provisioning state when there is none."""

    resource_group: str
    cluster: str
    pool: str | None = None
    body: Any = None  # ManagedCluster or AgentPool (SDK model)
    update: Callable[[Any], Any] | None = None  # the cluster as Azure has it -> the body to send
    in_flight: dict[str, Any] | None = None

    @property
    def what(self) -> str:
        return f"pool {self.pool} of cluster {self.cluster}" if self.pool else f"cluster {self.cluster}"


def arm_write(answers: "Answers", pool: str | None = None, **fields: Any) -> ArmWrite:
    """The ArmWrite of the answers' cluster (or one of its pools)."""
    return ArmWrite(answers.resource_group.name, answers.cluster.name, pool, **fields)


@dataclass(frozen=True)
class KubeconfigInputs:
    """kubeconfig: the cluster whose user kubeconfig to fetch; a private API server is checked for reachability."""

    resource_group: str
    cluster: str
    private: bool = False


@dataclass(frozen=True)
class Deletion:
    """A teardown step (delete-cluster, -pool, -group, -monitor, -access): what it deletes, the apply step whose
    record it closes in the journal, and the provenance tags the runner confirms just before the DELETE."""

    created_by: str = ""
    identity: str = ""
    resource_group: str = ""
    cluster: str = ""
    pool: str = ""
    resource_id: str = ""
    kind: str = ""  # a managed Prometheus object: rule, endpoint or association
    resource_uri: str = ""  # an association: the resource it belongs to, and its name
    name: str = ""
    besides: tuple[str, ...] = ()  # a group: the clusters deleted before it (a listing may still show them)


@dataclass
class Step:
    id: str
    title: str
    action: Action
    az: str
    deps: tuple[str, ...] = ()
    typical: float = 0.0
    reason: str = ""  # why skipped / why this action
    differences: list[Difference] = field(default_factory=list)
    payload: Any = None
    created: bool = False  # this step creates the resource (recorded in the journal for teardown)
    # a staged create: step id -> options it leaves for that step (the journal's `started` record carries it)
    defers: dict[str, list[str]] | None = None

    @property
    def writes(self) -> bool:
        return self.action not in ("read", "skip")

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "action": self.action, "az": self.az,
                "deps": list(self.deps), "typical_seconds": self.typical, "reason": self.reason,
                "differences": [vars(d) for d in self.differences]}


class PlanError(ValueError):
    """A plan that cannot run as built (a programming error, never the user's)."""


def check_steps(steps: list[Step]) -> None:
    """Every step id once, every dependency a step of the plan and no cycle: otherwise a step would wait on
    itself and never run while the run looked finished."""
    ids = [s.id for s in steps]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise PlanError(f"duplicate step ids: {', '.join(dupes)}")
    known = set(ids)
    for s in steps:
        missing = [d for d in s.deps if d not in known]
        if missing:
            raise PlanError(f"step {s.id} depends on unknown step(s) {', '.join(missing)}")
    deps = {s.id: set(s.deps) for s in steps}
    while deps:
        ready = [i for i, d in deps.items() if not d]
        if not ready:
            raise PlanError(f"steps depend on each other in a cycle: {', '.join(sorted(deps))}")
        for i in ready:
            del deps[i]
        for d in deps.values():
            d.difference_update(ready)


@dataclass(frozen=True)
class Problem:
    field: str
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message} Fix: {self.fix}"


@dataclass
class Plan:
    answers: "Answers"
    observed: Observed
    resolved: Resolved | None
    steps: list[Step] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    provenance: dict[str, str] = field(default_factory=dict)  # tags on what this plan creates (never on updates)
    staging: Staging | None = None  # a new cluster while flags register: the two orders and the one taken

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def awaits_provider(self) -> bool:
        """Only the steps up to the provider registration are planned: the rest is planned after it."""
        return self.observed.provider_unreadable

    @property
    def changes(self) -> list[Step]:
        """The steps that write; none after a successful apply of the same answers ("no changes")."""
        return [s for s in self.steps if s.writes]

    def step(self, step_id: str) -> Step:
        return next(s for s in self.steps if s.id == step_id)

    def to_dict(self) -> dict[str, Any]:
        r = self.resolved
        return {
            "ok": self.ok,
            "resolved": vars(r) | {"flags": list(r.flags)} if r else None,
            "steps": [s.to_dict() for s in self.steps],
            "problems": [vars(p) for p in self.problems],
            "notes": self.notes,
            "staging": self.staging.to_dict() if self.staging else None,
        }


def gpu_pool_steps(answers: "Answers") -> list[tuple[str, "GpuPoolAnswers", str]]:
    """(step id, pool, answers path) of each GPU pool: `gpu-pool` for the gpu_pool key, as ever;
    `gpu-pool:NAME` for each pool of gpu_pools (stable when the list is reordered, as the journal needs)."""
    if answers.gpu_pool is not None:
        return [("gpu-pool", answers.gpu_pool, "gpu_pool")]
    return [(f"gpu-pool:{p.name}", p, f"gpu_pools[{i}]") for i, p in enumerate(answers.gpu_pools)]


def pool_suffix(step_id: str) -> str:
    """":NAME" of a gpu_pools pool's step id, "" for the gpu_pool key's: ids of what belongs to that pool."""
    return step_id[len("gpu-pool"):]


def is_arm_step(step_id: str) -> bool:
    """The cluster, its deferred-fields update and GPU pool steps: the writes of the cluster and pools via ARM."""
    return step_id in ("cluster", PREVIEW_FIELDS) or step_id.split(":")[0] == "gpu-pool"
