"""Which Istio add-on revision a cluster can run: the one home of the revision rules (compatible with the
Kubernetes minor, and new enough for managed Gateway API) that the plan, preflight, the answers' own check, the
facade and the TUI's mesh step apply. Standard library only: the first screens read it too."""
from __future__ import annotations

import re
from typing import Iterable, Protocol, TypeVar

GATEWAY_MIN_REVISION = "asm-1-26"  # managed Gateway API on 1.34 needs the Istio add-on at this revision or newer
_ASM = re.compile(r"^asm-(\d+)-(\d+)$")


class Revision(Protocol):
    @property
    def revision(self) -> str: ...

    @property
    def compatible(self) -> tuple[str, ...]: ...


R = TypeVar("R", bound=Revision)


def revision_key(revision: str) -> tuple[int, ...]:
    """asm-1-26 -> (1, 26); a name of another shape sorts first."""
    m = _ASM.fullmatch(revision)
    return (int(m.group(1)), int(m.group(2))) if m else ()


def supports_gateway_api(revision: str) -> bool:
    return revision_key(revision) >= revision_key(GATEWAY_MIN_REVISION)


def compatible(revisions: Iterable[R], minor: str) -> list[R]:
    """The revisions that support Kubernetes `minor`, in the order given."""
    return [r for r in revisions if minor in r.compatible]


def usable(revisions: Iterable[R], minor: str, gateway_api: bool) -> list[R]:
    """The revisions a cluster of `minor` can run, with managed Gateway API when asked for."""
    return [r for r in compatible(revisions, minor) if not gateway_api or supports_gateway_api(r.revision)]
