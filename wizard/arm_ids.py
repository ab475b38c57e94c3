"""The ARM resource ids the wizard writes itself, one spelling each (what Azure returns is read, never rebuilt)."""
from __future__ import annotations

MANAGED_CLUSTERS = "Microsoft.ContainerService/managedClusters"


def cluster_id(subscription_id: str | None, rg: str, name: str) -> str:
    return f"/subscriptions/{subscription_id}/resourceGroups/{rg}/providers/{MANAGED_CLUSTERS}/{name}"
