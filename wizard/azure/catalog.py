"""What a location offers: Kubernetes versions and Istio mesh revisions (reads only)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wizard.azure.connection import ArmConnection

LTS_PLAN = "AKSLongTermSupport"


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split(".") if p.isdigit())


@dataclass(frozen=True)
class KubeVersion:
    minor: str
    patches: tuple[str, ...]
    support_plans: tuple[str, ...] = ()
    is_default: bool = False
    is_preview: bool = False

    @property
    def lts_only(self) -> bool:
        return bool(self.support_plans) and all(p == LTS_PLAN for p in self.support_plans)

    @property
    def newest_patch(self) -> str:
        return max(self.patches, key=version_key) if self.patches else self.minor


@dataclass(frozen=True)
class MeshRevision:
    revision: str
    compatible: tuple[str, ...] = field(default_factory=tuple)
    upgrades: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[int, ...]:
        return version_key(self.revision.removeprefix("asm-").replace("-", "."))


def list_versions(conn: "ArmConnection", location: str) -> list[KubeVersion]:
    result = conn.aks.managed_clusters.list_kubernetes_versions(location)
    out = []
    for v in result.values_property or []:
        if not v.version:
            continue  # an entry without its minor names nothing to offer
        caps = v.capabilities.support_plan if v.capabilities and v.capabilities.support_plan else []
        out.append(KubeVersion(
            minor=v.version,
            patches=tuple(sorted((v.patch_versions or {}).keys(), key=version_key)),
            support_plans=tuple(str(p) for p in caps),
            is_default=bool(v.is_default),
            is_preview=bool(v.is_preview),
        ))
    return sorted(out, key=lambda k: version_key(k.minor))


def list_mesh_revisions(conn: "ArmConnection", location: str) -> list[MeshRevision]:
    out: list[MeshRevision] = []
    for profile in conn.aks.managed_clusters.list_mesh_revision_profiles(location):
        for rev in (profile.properties.mesh_revisions if profile.properties else None) or []:
            if not rev.revision:
                continue
            compatible: list[str] = []
            for c in rev.compatible_with or []:
                if (c.name or "").lower() == "kubernetes":
                    compatible.extend(c.versions or [])
            out.append(MeshRevision(rev.revision, tuple(compatible), tuple(rev.upgrades or ())))
    return sorted(out, key=lambda r: r.key)
