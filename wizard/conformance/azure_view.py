"""The Azure (ARM) view of a managed cluster: what AKS holds the truth about (autoscaler bounds per pool, the
managed GPU + autoscaler conflict, Gateway API installation, mesh mode and revisions, add-on profiles).
Accepts the REST shape (camelCase, under "properties") and the SDK's as_dict() shape (snake_case, flat)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_GPU_SIZE = re.compile(r"^standard_n[a-z]*\d", re.I)  # NC, ND, NV, NCads, NDv5 ... (N-series = GPU)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def g(d: Any, *path: str) -> Any:
    """d.path[0].path[1]... trying camelCase then snake_case keys; None when absent."""
    cur = d
    for key in path:
        if not isinstance(cur, dict):
            return None
        if key in cur:
            cur = cur[key]
        elif _snake(key) in cur:
            cur = cur[_snake(key)]
        else:
            return None
    return cur


def props(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        return {}
    inner = body.get("properties")
    return inner if isinstance(inner, dict) else body


def is_gpu_size(vm_size: str | None) -> bool:
    return bool(vm_size and _GPU_SIZE.match(vm_size))


@dataclass
class Pool:
    name: str
    vm_size: str
    mode: str
    count: int | None
    autoscaling: bool
    min_count: int | None
    max_count: int | None
    gpu_profile: dict[str, Any]
    taints: list[str] = field(default_factory=list)

    @property
    def gpu(self) -> bool:
        return is_gpu_size(self.vm_size) or bool(self.gpu_profile)

    @property
    def managed_gpu(self) -> bool:
        return str(g(self.gpu_profile, "nvidia", "managementMode") or "").lower() == "managed"

    @property
    def driver(self) -> str:
        return str(g(self.gpu_profile, "driver") or "Install")


@dataclass
class AzureView:
    cluster: dict[str, Any]
    pools: list[Pool]
    name: str = ""
    resource_group: str = ""
    location: str = ""
    kubernetes_version: str = ""

    @classmethod
    def from_arm(cls, cluster: dict[str, Any] | None, pools: list[dict[str, Any]] | None = None) -> "AzureView | None":
        if not cluster:
            return None
        p = props(cluster)
        merged: dict[str, dict[str, Any]] = {}
        for prof in g(p, "agentPoolProfiles") or []:
            if isinstance(prof, dict) and prof.get("name"):
                merged[prof["name"]] = dict(prof)
        for body in pools or []:
            name = (body or {}).get("name") or props(body).get("name")
            if name:
                merged.setdefault(name, {}).update({k: v for k, v in props(body).items() if v is not None})
                merged[name]["name"] = name
        out = []
        for name, d in merged.items():
            out.append(Pool(name=name, vm_size=str(g(d, "vmSize") or ""), mode=str(g(d, "mode") or "User"),
                            count=g(d, "count"), autoscaling=bool(g(d, "enableAutoScaling")),
                            min_count=g(d, "minCount"), max_count=g(d, "maxCount"),
                            gpu_profile=g(d, "gpuProfile") or {}, taints=list(g(d, "nodeTaints") or [])))
        rid = str(cluster.get("id") or "")
        parts = rid.split("/")
        rg = parts[4] if len(parts) > 4 and parts[3].lower() == "resourcegroups" else ""
        return cls(cluster=p, pools=out, name=str(cluster.get("name") or (parts[-1] if rid else "")),
                   resource_group=rg, location=str(cluster.get("location") or ""),
                   kubernetes_version=str(g(p, "currentKubernetesVersion") or g(p, "kubernetesVersion") or ""))

    # -------------------------------------------------------------- facts
    def gpu_pools(self) -> list[Pool]:
        return [pl for pl in self.pools if pl.gpu]

    @property
    def node_auto_provisioning(self) -> bool:
        return str(g(self.cluster, "nodeProvisioningProfile", "mode") or "").lower() == "auto"

    @property
    def gateway_api_installation(self) -> str:
        return str(g(self.cluster, "ingressProfile", "gatewayAPI", "installation") or "")

    @property
    def mesh_mode(self) -> str:
        return str(g(self.cluster, "serviceMeshProfile", "mode") or "Disabled")

    @property
    def mesh_revisions(self) -> list[str]:
        return list(g(self.cluster, "serviceMeshProfile", "istio", "revisions") or [])

    @property
    def keda(self) -> bool:
        return bool(g(self.cluster, "workloadAutoScalerProfile", "keda", "enabled"))

    @property
    def kaito(self) -> bool:
        return bool(g(self.cluster, "aiToolchainOperatorProfile", "enabled"))

    @property
    def managed_prometheus(self) -> bool:
        return bool(g(self.cluster, "azureMonitorProfile", "metrics", "enabled"))

    @property
    def oidc_issuer(self) -> bool:
        return bool(g(self.cluster, "oidcIssuerProfile", "enabled"))
