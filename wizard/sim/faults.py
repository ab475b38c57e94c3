"""Named faults of the simulated Azure (`--sim-fault NAME`).

Each fault is data: which requests it targets and what ARM/AKS answers, with the real error codes and
message shapes (../shared/arm/README.md section 3.2). A fault stays active for the life of the process; a
later run without the flag is "the fault cleared". The ARM handlers (the `arm` package) consult `FaultSet`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable


@dataclass(frozen=True)
class Fault:
    name: str
    targets: str          # what it hits, for --help and docs
    effect: str           # "sync-error" | "lro-failed" | "busy" | "drop"
    http_status: int | None
    code: str
    message: str          # str.format template; fields documented per fault
    retry_after: int | None = None
    top_level: bool = True  # AKS RP answers {"code","details","message","subcode"} at top level


FAULTS: dict[str, Fault] = {f.name: f for f in (
    Fault(
        name="gpu-quota",
        targets="cluster PUT with an N-series pool, or agentPool PUT of an N-series size (new on-demand GPU "
                "nodes); the compute usage reads show no GPU family vCPUs left, as Azure's would. Spot nodes count "
                "against the regional low-priority quota instead, which this fault leaves as it is (as in Azure)",
        effect="sync-error", http_status=400, code="ErrCode_InsufficientVCPUQuota",
        message=("Insufficient vcpu quota requested {requested}, remaining {remaining} for family {family} "
                 "for region {location}. Surge nodes would also consume vcpu quota."),
    ),
    Fault(
        name="sku-unavailable",
        targets="cluster PUT with an N-series pool, or agentPool PUT of an N-series size: the LRO fails",
        effect="lro-failed", http_status=None, code="SkuNotAvailable",
        message=("The requested size for resource '{vmss_id}' is currently not available in location "
                 "'{location}' zones '{zones}' for subscription '{subscription}'. Please try another size or "
                 "deploy to a different location or zones. See https://aka.ms/azureskunotavailable for details."),
    ),
    Fault(
        name="throttle",
        targets="cluster and agentPool PUTs answer 429 every time",
        effect="sync-error", http_status=429, code="Throttled", retry_after=1,
        message=("The {handler}.PUT request limit has been exceeded for SubID='{subscription}', please retry "
                 "again in 1 seconds. For more information, please visit aka.ms/aks/throttling"),
    ),
    Fault(
        name="lro-failed",
        targets="cluster PUT: the LRO ends Failed, the cluster provisioningState Failed",
        effect="lro-failed", http_status=None, code="VMExtensionProvisioningError",
        message=("Unable to establish outbound connection from agents, please see "
                 "https://learn.microsoft.com/en-us/troubleshoot/azure/azure-kubernetes/error-code-outboundconnfailvmextensionerror "
                 "and https://aka.ms/aks-required-ports-and-addresses for more information. Details: instance "
                 "aks-{pool}-{vmss_suffix}-vmss_0 has extension error details : {{vmssCSE error messages : "
                 "{{vmssCSE exit status=50, output=pt/apt.conf.d/99periodic}}}}"),
    ),
    Fault(
        name="conflict",
        targets=("cluster and agentPool writes: another client's operation is already running on the cluster "
                 "(an update of an existing cluster; the delete of an earlier cluster of that name when there is "
                 "none), so AKS answers 409 OperationNotAllowed until it ends; once per cluster"),
        effect="busy", http_status=409, code="OperationNotAllowed",
        message="",  # the 409 is the simulator's ordinary busy answer (arm.Arm._conflict), with the real op id
    ),
    Fault(
        name="connection-drop",
        targets=("cluster and agentPool PUT: ARM accepts it and starts the operation, then the connection closes "
                 "without a response (the SDK re-sends it and meets its own operation); once per resource"),
        effect="drop", http_status=None, code="", message="",
    ),
    Fault(
        name="status-drop",
        targets="GET of a long-running operation's status URL: the socket closes without a response, every time",
        effect="drop", http_status=None, code="", message="",
    ),
    Fault(
        name="outside-vnet",
        targets="the Kubernetes API of a cluster with a private API server: this machine is outside the cluster's "
                "VNet, so its connections are never answered (ARM still is)",
        effect="drop", http_status=None, code="", message="",
    ),
)}

NAMES: tuple[str, ...] = tuple(FAULTS)


def validate(names: Iterable[str]) -> list[str]:
    """The fault names, checked; raises ValueError naming the unknown ones and the known ones."""
    out: list[str] = []
    for n in names:
        n = str(n).strip()
        if not n:
            continue
        if n not in FAULTS:
            raise ValueError(f"unknown simulator fault {n!r}; known faults: {', '.join(NAMES)}")
        if n not in out:
            out.append(n)
    return out


class FaultSet:
    """The active faults (thread-safe enough: replaced as a whole)."""

    def __init__(self, names: Iterable[str] = ()) -> None:
        self._active: frozenset[str] = frozenset(validate(names))

    def set(self, names: Iterable[str]) -> None:
        self._active = frozenset(validate(names))

    def clear(self) -> None:
        self._active = frozenset()

    def __contains__(self, name: object) -> bool:
        return name in self._active

    def active(self) -> list[str]:
        return sorted(self._active)

    def get(self, name: str) -> Fault | None:
        return FAULTS[name] if name in self._active else None
