"""What AKS allows a GPU node pool while managed GPU is in preview: the one home of the managed-GPU/autoscaler rule,
which preflight, the conformance forecast and fixes, the verification and the TUI's GPU step all quote."""
from __future__ import annotations

# AKS rejects a managed GPU pool with the cluster autoscaler while managed GPU is in preview
NO_AUTOSCALER = "the cluster autoscaler is not supported on managed GPU pools while managed GPU is in preview"


def sentence(text: str) -> str:
    """The rule's words opening a sentence."""
    return text[:1].upper() + text[1:]


def managed_gpu_conflict(managed_gpu: bool, autoscaling: bool) -> bool:
    """A pool AKS refuses: managed GPU together with the cluster autoscaler."""
    return bool(managed_gpu) and bool(autoscaling)


def can_autoscale(managed_gpu: bool, low: int | None, high: int | None) -> bool:
    """A pool the cluster autoscaler can grow: not managed GPU, and a range with min < max."""
    return not managed_gpu and low is not None and high is not None and low < high
