"""What the wizard knows so far: the answers draft, which step owns which answers, and the session.

Plain Python (no Textual): the App keeps one WizardState; every step screen reads its fields from it when
built and writes them back on Next *and* on Back, so going back never loses what was typed.
Validation is the answers model's own (`answers_from_dict`), filtered to the fields a step owns.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wizard.answers import Answers, FieldError
    from wizard.interactive import Link
    from wizard.plan_model import Plan
    from wizard.session import Session, SimOptions

_MISSING = object()


@dataclass(frozen=True)
class StepInfo:
    key: str
    title: str
    owns: tuple[str, ...]  # answers paths (prefixes) this step asks for
    skippable: bool = True  # may be skipped when a prefilled file already answers it
    # every answer of the step has a default: a prefilled file that names this section answers it (a file that
    # describes its cluster and says nothing of identity takes the defaults; Back shows them)
    implied_by: str = ""


STEPS: tuple[StepInfo, ...] = (
    StepInfo("welcome", "Sign in", ("azure.cloud", "azure.auth", "azure.tenant"), skippable=False),
    StepInfo("subscription", "Subscription", ("azure.subscription",)),
    StepInfo("location", "Location and resource group", ("azure.location", "resource_group")),
    StepInfo("cluster", "Cluster", ("cluster.name", "cluster.dns_prefix", "cluster.kubernetes_version",
                                    "cluster.tier", "cluster.support_plan", "cluster.system_pool",
                                    "cluster.tags", "cluster")),
    StepInfo("network", "Network", ("cluster.network",), implied_by="cluster"),
    StepInfo("identity", "Identity and access", ("cluster.access", "cluster.oidc_issuer", "cluster.workload_identity"),
             implied_by="cluster"),
    StepInfo("mesh", "Istio and Gateway API", ("cluster.istio", "cluster.gateway_api")),
    StepInfo("features", "Preview features", ("features",)),
    StepInfo("gpu", "GPU node pools", ("gpu_pool", "gpu_pools")),
    StepInfo("addons", "AI add-ons", ("cluster.addons", "kueue")),
    StepInfo("review", "Review", ("", "version", "verify"), skippable=False),
    StepInfo("run", "Run", (), skippable=False),
    StepInfo("verify", "Verification", (), skippable=False),
)
STEP_KEYS = tuple(s.key for s in STEPS)
FORM_STEPS = STEP_KEYS[: STEP_KEYS.index("review") + 1]


def step_info(key: str) -> StepInfo:
    return STEPS[STEP_KEYS.index(key)]


def _owned_by(path: str, prefix: str) -> bool:
    if prefix == "":
        return path == ""
    return path == prefix or path.startswith(prefix + ".") or path.startswith(prefix + "[")


def step_for_path(path: str | None) -> str:
    """The step that asks for an answers path (longest owning prefix); review when nobody does."""
    if not path:
        return "review"
    best, best_len = "review", -1
    for s in STEPS:
        for prefix in s.owns:
            if prefix and _owned_by(path, prefix) and len(prefix) > best_len:
                best, best_len = s.key, len(prefix)
    return best


class Draft:
    """A nested mapping of answers as typed so far, addressed by dotted paths."""

    def __init__(self, data: dict[str, Any] | None = None) -> None:
        self.data: dict[str, Any] = copy.deepcopy(data) if isinstance(data, dict) else {}
        self.data.setdefault("version", 1)

    def get(self, path: str, default: Any = None) -> Any:
        node: Any = self.data
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        return node

    def has(self, path: str) -> bool:
        return self.get(path, _MISSING) is not _MISSING

    def set(self, path: str, value: Any) -> None:
        parts = path.split(".")
        node = self.data
        for part in parts[:-1]:
            nxt = node.get(part)
            if not isinstance(nxt, dict):
                nxt = {}
                node[part] = nxt
            node = nxt
        node[parts[-1]] = value

    def delete(self, path: str) -> None:
        parts = path.split(".")
        node: Any = self.data
        for part in parts[:-1]:
            node = node.get(part) if isinstance(node, dict) else None
            if node is None:
                return
        if isinstance(node, dict):
            node.pop(parts[-1], None)

    def copy(self) -> dict[str, Any]:
        return copy.deepcopy(self.data)

    def errors(self) -> list["FieldError"]:
        from wizard.answers import AnswersError, answers_from_dict

        try:
            answers_from_dict(self.copy())
        except AnswersError as exc:
            return exc.errors
        return []

    def errors_for(self, step: str) -> list["FieldError"]:
        """The model's errors on the fields `step` owns (a missing later answer is not this step's problem)."""
        return [e for e in self.errors() if step_for_path(e.path) == step]

    def answered(self, step: str) -> bool:
        """The draft names something this step asks for and the model finds nothing wrong with it."""
        info = step_info(step)
        named = any(self.has(p) for p in (*info.owns, info.implied_by) if p)
        return named and not self.errors_for(step)

    def to_answers(self) -> "Answers":
        from wizard.answers import answers_from_dict

        return answers_from_dict(self.copy())


@dataclass
class WizardState:
    draft: Draft = field(default_factory=Draft)
    answers_path: Path | None = None  # where answers are saved (and the journal lives beside)
    prefill_errors: list[Any] = field(default_factory=list)
    skip: set[str] = field(default_factory=set)  # steps answered by the prefilled file, not asked again
    sim: "SimOptions | None" = None
    link: "Link | None" = None
    session: "Session | None" = None
    link_key: tuple[Any, ...] | None = None  # (cloud, auth, tenant) the link was opened with
    saved_snapshot: dict[str, Any] | None = None  # the draft as last saved
    plan: "Plan | None" = None
    run_result: Any = None
    kubeconfig: bytes | None = None
    allow_update: bool = False
    recreate_consent: tuple[str, str] | None = None  # (group, cluster) the user agreed may be deleted and recreated
    run_in_flight: bool = False
    skip_preflight: bool = False  # the review's "start even though preflight items fail" (also for the rest of a run)
    gpu_stash: dict[str, Any] | None = None  # {gpu_pool, gpu_pools} as they were when GPU pools were switched off
    no_prices: bool = False  # --no-prices: no list-price look-ups
    outputs: dict[str, Path] = field(default_factory=dict)  # what this session wrote, listed on exit
    note: str = ""  # said once by the next step screen (e.g. which steps a prefilled file answered)

    @property
    def simulated(self) -> bool:
        return self.sim is not None

    run_folder: Path | None = None  # this session's own folder when no answers file was given

    @property
    def save_path(self) -> Path:
        """The answers file; without --answers, one in this session's own folder (never the current directory)."""
        if self.answers_path is not None:
            return self.answers_path
        from wizard.interactive import ANSWERS_NAME, new_run_folder

        if self.run_folder is None:
            self.run_folder = new_run_folder()
        return self.run_folder / ANSWERS_NAME

    def beside(self, suffix: str) -> Path:
        """A file or folder next to the answers file: <stem><suffix> (report folder, screenshots, az script)."""
        path = self.save_path
        return path.with_name(path.stem + suffix)

    def written(self, what: str, path: Path) -> None:
        """Remember a file the session wrote, to be listed on exit."""
        self.outputs[what] = path.resolve()

    @property
    def dirty(self) -> bool:
        return self.saved_snapshot != self.draft.data
