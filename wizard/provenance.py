"""Provenance tags: every resource the wizard creates says on Azure which tool made it, from which answers file
and in which run. Teardown confirms them before deleting anything, and rebuilds its list from them when the
journal is lost (`teardown --from-tags`). Only resources this wizard creates are tagged: a cluster or group that
existed before is never labelled as ours.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

TOOL_TAG = "created-by"
TOOL = "aks-ai-wizard"
ANSWERS_TAG = "aks-ai-wizard-answers"
RUN_TAG = "aks-ai-wizard-run"
NAMES = (TOOL_TAG, ANSWERS_TAG, RUN_TAG)


def tags(answers: str, run: str) -> dict[str, str]:
    return {TOOL_TAG: TOOL, ANSWERS_TAG: answers, RUN_TAG: run}


def with_provenance(user_tags: dict[str, str] | None, provenance: dict[str, str] | None) -> dict[str, str] | None:
    """The tags to write on a resource this run creates: the user's, then ours (ours win: they are the proof)."""
    out = {**(user_tags or {}), **(provenance or {})}
    return out or None


@dataclass(frozen=True)
class Verdict:
    kind: Literal["ours", "foreign", "untagged"]
    said: str  # why, for the teardown listing

    @property
    def ours(self) -> bool:
        return self.kind == "ours"


def verdict(resource_tags: dict[str, Any] | None, answers: str) -> Verdict:
    """Do a resource's tags prove it was created by this wizard from this answers file?"""
    t = {str(k).lower(): v for k, v in (resource_tags or {}).items()}
    if t.get(TOOL_TAG) != TOOL:
        return Verdict("untagged", f"its tags do not say it was created by {TOOL} ({TOOL_TAG}={TOOL} missing)")
    if t.get(ANSWERS_TAG) != answers:
        return Verdict("foreign", f"its tags say it was created from another answers file "
                                  f"({ANSWERS_TAG}={t.get(ANSWERS_TAG)!r})")
    return Verdict("ours", f"tagged {ANSWERS_TAG}={answers}, run {t.get(RUN_TAG, '?')}")
