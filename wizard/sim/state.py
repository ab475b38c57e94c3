"""The simulated world: what the simulated subscription holds, persisted as JSON with --sim-state.

Plain JSON-able dicts so that saving is trivial and a reloaded world is the same world. Long-running
operations carry their wall-clock start time and duration, so one that was in flight when saved completes
by time after a reload. Faults and request logs are process state and are not persisted.
"""
from __future__ import annotations

import json
import os
import tempfile
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SUBSCRIPTION_ID = "3f2c8a9e-5b1d-4c7e-9a60-2d84f1b7c513"
TENANT_ID = "8d1e6b2f-4a7c-4e39-b5d0-71c9a3f2e684"
SUBSCRIPTION_NAME = "Simulated Subscription"
STATE_VERSION = 1

# Preview flags the simulated subscription knows (all start NotRegistered).
KNOWN_FEATURES = (
    "Microsoft.ContainerService/ManagedGatewayAPIPreview",
    "Microsoft.ContainerService/ManagedGPUExperiencePreview",
    "Microsoft.ContainerService/AKS-KedaPreview",
    "Microsoft.ContainerService/AIToolchainOperatorPreview",
    "Microsoft.ContainerService/NodeAutoProvisioningPreview",
)

# Resource providers and their initial registration state.
KNOWN_PROVIDERS = {
    "Microsoft.ContainerService": "Registered",
    "Microsoft.Compute": "Registered",
    "Microsoft.Network": "Registered",
    "Microsoft.Storage": "Registered",
    "Microsoft.Resources": "Registered",
    "Microsoft.Features": "Registered",
    "Microsoft.ManagedIdentity": "Registered",
    "Microsoft.OperationalInsights": "NotRegistered",
    "Microsoft.OperationsManagement": "NotRegistered",
    "Microsoft.Insights": "NotRegistered",
    "Microsoft.Monitor": "NotRegistered",
    "Microsoft.AlertsManagement": "NotRegistered",
    "Microsoft.Dashboard": "NotRegistered",
    "Microsoft.KubernetesConfiguration": "NotRegistered",
}


@dataclass
class World:
    subscription_id: str = SUBSCRIPTION_ID
    tenant_id: str = TENANT_ID
    # lower-case name -> {"body": resource group body}
    resource_groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    # "rg/name" lower-case -> {"rg": .., "name": .., "kube_id": .., "body": cluster body without agentPoolProfiles,
    #                          "pools": {pool lower: pool body}, "synced": bool}
    clusters: dict[str, dict[str, Any]] = field(default_factory=dict)
    # "ns/name" lower-case -> {"name": "Ns/Name", "state": .., "ready_at": epoch | None}
    features: dict[str, dict[str, Any]] = field(default_factory=dict)
    # ns lower-case -> {"namespace": "Ns", "state": .., "ready_at": epoch | None}
    providers: dict[str, dict[str, Any]] = field(default_factory=dict)
    # op id -> operation record (see arm/operations.py)
    operations: dict[str, dict[str, Any]] = field(default_factory=dict)
    # lower-case resource id -> {"rg": rg lower, "type": .., "body": .., "ready_at": epoch | None}: Azure Monitor
    # resources (Microsoft.Monitor/accounts, Microsoft.Insights DCE/DCR/DCRA); see sim/monitor.py
    monitor: dict[str, dict[str, Any]] = field(default_factory=dict)
    # lower-case virtual network id -> {"rg", "name", "location", "addressPrefixes", "subnets": [..], "tags"}: see
    # sim/network.py
    networks: dict[str, dict[str, Any]] = field(default_factory=dict)
    # usage name ("cores" or a VM family) -> vCPU limit approved for this subscription (a granted quota request),
    # in place of the catalog's default limit, in every location
    quota_limits: dict[str, int] = field(default_factory=dict)
    role_assignments: dict[str, dict[str, Any]] = field(default_factory=dict)  # see sim/authorization.py
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False, compare=False)
    # process state, not persisted: counts the changes made without a write of the client's (operations and
    # registrations completing by time), so that a read saves only when it saw one the state file lacks
    revision: int = field(default=0, repr=False, compare=False)

    def __post_init__(self) -> None:
        for flag in KNOWN_FEATURES:
            self.features.setdefault(flag.lower(), {"name": flag, "state": "NotRegistered", "ready_at": None})
        for ns, st in KNOWN_PROVIDERS.items():
            self.providers.setdefault(ns.lower(), {"namespace": ns, "state": st, "ready_at": None})

    # -------------------------------------------------------------------------------------- persistence
    def encode(self) -> str:
        """The persisted form as JSON text, encoded once under the lock (a save needs no copy of the world).
        Compact: only then does json use its C encoder (a fleet's world is MBs)."""
        with self.lock:
            return json.dumps({
                "version": STATE_VERSION,
                "subscription_id": self.subscription_id,
                "tenant_id": self.tenant_id,
                "resource_groups": self.resource_groups,
                "clusters": self.clusters,
                "features": self.features,
                "providers": self.providers,
                "operations": self.operations,
                "monitor": self.monitor,
                "networks": self.networks,
                "quota_limits": self.quota_limits,
                "role_assignments": self.role_assignments,
            })

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "World":
        return cls(
            subscription_id=d.get("subscription_id", SUBSCRIPTION_ID),
            tenant_id=d.get("tenant_id", TENANT_ID),
            resource_groups=dict(d.get("resource_groups") or {}),
            clusters=dict(d.get("clusters") or {}),
            features=dict(d.get("features") or {}),
            providers=dict(d.get("providers") or {}),
            operations=dict(d.get("operations") or {}),
            monitor=dict(d.get("monitor") or {}),
            networks=dict(d.get("networks") or {}),
            quota_limits=dict(d.get("quota_limits") or {}),
            role_assignments=dict(d.get("role_assignments") or {}),
        )


def new_id() -> str:
    return str(uuid.uuid4())


def write_text_atomic(path: Path, text: str) -> None:
    """Write text to path atomically (temp file in the same folder, fsync, rename): a reader, or a process
    started after a kill -9, sees the old file or the new one, never a torn one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=str(path.parent))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def read_json(path: Path) -> Any:
    with open(path, encoding="utf-8") as f:
        return json.load(f)
