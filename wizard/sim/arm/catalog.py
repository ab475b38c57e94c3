"""What the catalog offers: Kubernetes versions, mesh revisions, VM sizes, and the vCPU quota and usages."""
from __future__ import annotations

import re
from typing import AbstractSet, Any


from .rooms import Base
from .wire import (CS, Request, Response, _get, _Reject, aks_error, arm_error, is_gpu_size,
                   version_key)


LOW_PRIORITY = "lowPriorityCores"  # the regional quota Spot VMs count against, instead of their family's


def is_spot(props: dict[str, Any]) -> bool:
    return str(props.get("scaleSetPriority") or "").lower() == "spot"


def _quotas_of(props: dict[str, Any], sku: dict[str, Any]) -> tuple[str, ...]:
    """The vCPU quotas a pool's nodes count against: Spot VMs the low-priority quota only; others their family's
    and the regional total."""
    return (LOW_PRIORITY,) if is_spot(props) else (sku["family"], "cores")


def _surge(props: dict[str, Any], nodes: int) -> int:
    """Surge nodes AKS reserves quota for at PUT: upgradeSettings.maxSurge (default 10%, rounded up; or a node
    count). The autoscaler's maxCount is not counted at PUT."""
    import math

    raw = str(_get(props, "upgradeSettings", "maxSurge") or "10%").strip()
    if raw.endswith("%"):
        return math.ceil(nodes * float(raw[:-1] or 0) / 100)
    return int(raw) if raw.isdigit() else 0



def _family_display(fam: str) -> str:
    core = fam[len("standard"):] if fam.startswith("standard") else fam
    core = core[:-len("Family")] if core.endswith("Family") else core
    return f"Standard {core} Family vCPUs"


def _vmss_suffix(cluster_id: str, pool: str) -> str:
    """AKS names a pool's scale set aks-<pool>-<8 digits>-vmss; stable per cluster and pool."""
    import zlib
    return f"{zlib.crc32((cluster_id.lower() + '/' + pool).encode()) % 100000000:08d}"


class Catalog(Base):
    # ------------------------------------------------------------------------------------ catalog reads
    def kubernetes_versions(self, req: Request, loc: str) -> Response:
        self._check_location(loc, f"{CS}/locations/kubernetesVersions")
        values = []
        versions = self.catalog["kubernetes_versions"]
        all_patches = sorted((p for v in versions for p in v["patches"]), key=version_key)
        for v in versions:
            entry: dict[str, Any] = {"version": v["version"], "capabilities": {"supportPlan": list(v["supportPlan"])}}
            if v.get("isDefault"):
                entry["isDefault"] = True
            if v.get("isPreview"):
                entry["isPreview"] = True
            patches = {}
            minor_key = version_key(v["version"])
            for p in v["patches"]:
                ups = [q for q in all_patches if version_key(q) > version_key(p)
                       and version_key(q)[:2] <= (minor_key[0], minor_key[1] + 1)]
                patches[p] = {"upgrades": ups}
            entry["patchVersions"] = patches
            values.append(entry)
        return Response(200, {"values": values})

    def _mesh_profile(self, loc: str) -> dict[str, Any]:
        return {
            "id": f"/subscriptions/{self.world.subscription_id}/providers/{CS}/locations/{loc}/meshRevisionProfiles/istio",
            "name": "istio", "type": f"{CS}/locations/meshRevisionProfiles",
            "properties": {"meshRevisions": [
                {"revision": r["revision"], "upgrades": list(r["upgrades"]),
                 "compatibleWith": [{"name": "kubernetes", "versions": list(r["compatible"])}]}
                for r in self.catalog["mesh_revisions"]]},
        }

    def mesh_revision_profiles(self, req: Request, loc: str) -> Response:
        loc = self._check_location(loc, f"{CS}/locations/meshRevisionProfiles")
        return Response(200, {"value": [self._mesh_profile(loc)]})

    def mesh_revision_profile(self, req: Request, loc: str, mode: str) -> Response:
        loc = self._check_location(loc, f"{CS}/locations/meshRevisionProfiles")
        if mode.lower() != "istio":
            return arm_error(404, "NotFound", f"Mesh revision profile '{mode}' was not found.")
        return Response(200, self._mesh_profile(loc))

    # ------------------------------------------------------------------------------------ compute
    def _unavailable(self, s: dict[str, Any], loc: str) -> str | None:
        """Why a size is not offered in a location: "location", "zone:1,2" or None. The regions the catalog has
        no detail for offer no GPU sizes to the simulated subscription."""
        if is_gpu_size(s["name"]) and self.locations[loc].get("gpu_sizes", True) is False:
            return "location"
        return (s.get("unavailable") or {}).get(loc)

    def _sku_entry(self, s: dict[str, Any], loc: str) -> dict[str, Any]:
        zones = list(self.locations[loc].get("zones", []))
        restrictions = []
        why = self._unavailable(s, loc)
        if why == "location":
            restrictions.append({"type": "Location", "values": [loc],
                                 "restrictionInfo": {"locations": [loc]},
                                 "reasonCode": "NotAvailableForSubscription"})
        elif why and why.startswith("zone:"):
            bad = why.split(":", 1)[1].split(",")
            restrictions.append({"type": "Zone", "values": [loc],
                                 "restrictionInfo": {"locations": [loc], "zones": bad},
                                 "reasonCode": "NotAvailableForSubscription"})
        caps = [
            {"name": "vCPUs", "value": str(s["vCPUs"])},
            {"name": "vCPUsAvailable", "value": str(s["vCPUs"])},
            {"name": "MemoryGB", "value": str(s["MemoryGB"])},
            {"name": "GPUs", "value": str(s.get("GPUs", 0))},
            {"name": "HyperVGenerations", "value": "V1,V2" if not s.get("GPUs") else "V2"},
            {"name": "PremiumIO", "value": "True"},
            {"name": "AcceleratedNetworkingEnabled", "value": "True"},
            {"name": "EphemeralOSDiskSupported", "value": "True"},
            {"name": "vCPUsPerCore", "value": "2" if not s.get("GPUs") else "1"},
        ]
        return {"resourceType": "virtualMachines", "name": s["name"], "tier": "Standard", "size": s["size"],
                "family": s["family"], "locations": [loc],
                "locationInfo": [{"location": loc, "zones": zones, "zoneDetails": [
                    {"name": zones, "capabilities": [{"name": "UltraSSDAvailable", "value": "True"}]}] if zones else []}],
                "capabilities": caps, "restrictions": restrictions}

    def list_skus(self, req: Request) -> Response:
        flt = req.q("$filter") or ""
        m = re.search(r"location\s+eq\s+'([^']*)'", flt, re.IGNORECASE)
        locs = list(self.locations)
        if m:
            want = m.group(1).replace(" ", "").lower()
            locs = [want] if want in self.locations else []
        # a retired size (NCv3 since 2025-09-30) is gone from Azure's resource SKU list
        return Response(200, {"value": [self._sku_entry(s, loc) for loc in locs for s in self.catalog["skus"]
                                        if not s.get("retired")]})

    def _pool_nodes(self, props: dict[str, Any]) -> list[tuple[str, int]]:
        """(vmSize, node count) of a pool's properties, for quota."""
        if str(props.get("type") or "").lower() == "virtualmachines" and props.get("virtualMachinesProfile"):
            scale = _get(props, "virtualMachinesProfile", "scale") or {}
            out = [(m.get("size") or "", int(m.get("count") or 0)) for m in scale.get("manual") or []]
            out += [(a.get("size") or "", int(a.get("minCount") or 0)) for a in scale.get("autoscale") or []]
            return out
        count = props.get("count")
        if count is None:
            count = props.get("minCount") or 0
        return [(props.get("vmSize") or "", int(count or 0))]

    def _usage(self, loc: str, exclude: AbstractSet[tuple[str, str]] = frozenset()) -> dict[str, int]:
        """vCPUs in use per family (and 'cores') in a location. exclude: (cluster key, pool key) pairs."""
        used: dict[str, int] = {"cores": 0}
        vms = 0
        for ckey, c in self.world.clusters.items():
            if c["body"].get("location") != loc:
                continue
            for pkey, p in c["pools"].items():
                if (ckey, pkey) in exclude or _get(p, "properties", "provisioningState") == "Failed":
                    continue
                for size, n in self._pool_nodes(p["properties"]):
                    sku = self.skus.get(size.lower())
                    if not sku:
                        continue
                    for quota in _quotas_of(p["properties"], sku):
                        used[quota] = used.get(quota, 0) + sku["vCPUs"] * n
                    vms += n
        used["virtualMachines"] = vms
        used["virtualMachineScaleSets"] = sum(len(c["pools"]) for c in self.world.clusters.values()
                                              if c["body"].get("location") == loc)
        return used

    def quota(self) -> dict[str, Any]:
        """The subscription's vCPU limits: the catalog's defaults, with the limits granted to it (World.quota_limits)."""
        q = self.catalog["quota"]
        granted = self.world.quota_limits
        return {**q, "cores": granted.get("cores", q["cores"]),
                "families": {**q["families"], **{k: v for k, v in granted.items() if k != "cores"}}}

    def list_usages(self, req: Request, loc: str) -> Response:
        loc = self._check_location(loc, "Microsoft.Compute/locations/usages")
        q = self.quota()
        used = self._usage(loc)
        items = [
            {"unit": "Count", "currentValue": used["cores"], "limit": q["cores"],
             "name": {"value": "cores", "localizedValue": "Total Regional vCPUs"}},
            {"unit": "Count", "currentValue": used["virtualMachines"], "limit": q["virtualMachines"],
             "name": {"value": "virtualMachines", "localizedValue": "Virtual Machines"}},
            {"unit": "Count", "currentValue": used["virtualMachineScaleSets"], "limit": q["virtualMachineScaleSets"],
             "name": {"value": "virtualMachineScaleSets", "localizedValue": "Virtual Machine Scale Sets"}},
        ]
        items.append({"unit": "Count", "currentValue": used.get(LOW_PRIORITY, 0),
                      "limit": self._family_limit(LOW_PRIORITY, used),
                      "name": {"value": LOW_PRIORITY, "localizedValue": "Total Regional Low-priority vCPUs"}})
        for fam in q["families"]:
            items.append({"unit": "Count", "currentValue": used.get(fam, 0), "limit": self._family_limit(fam, used),
                          "name": {"value": fam, "localizedValue": _family_display(fam)}})
        return Response(200, {"value": items})

    def _family_limit(self, fam: str, used: dict[str, int]) -> int:
        """A vCPU family's quota (or the low-priority quota of Spot VMs); with the gpu-quota fault a GPU family has
        none left beyond what is used, for the usage reads and the PUTs alike."""
        if fam == LOW_PRIORITY:
            return self.catalog["quota"].get(LOW_PRIORITY, 0)
        if "gpu-quota" in self.faults and fam in self._gpu_families:
            return used.get(fam, 0)
        return self.quota()["families"].get(fam, 0)

    # ------------------------------------------------------------------------------------ clusters: reads
    # ------------------------------------------------------------------------------------ validation helpers
    def resolve_version(self, requested: str | None, fallback: str | None, pool: bool = False) -> tuple[str, dict[str, Any]]:
        """(patch, catalog entry) for a requested version: minor -> newest patch, patch -> itself,
        empty -> fallback or the default. Raises _Reject with the AKS error when not offered."""
        versions = self.catalog["kubernetes_versions"]
        req = (requested or "").strip()
        if not req:
            req = fallback or next(v["version"] for v in versions if v.get("isDefault"))
        for v in versions:
            if req == v["version"]:
                return max(v["patches"], key=version_key), v
            if req in v["patches"]:
                return req, v
        code = "AgentPoolK8sVersionNotSupported" if pool else "K8sVersionNotSupported"
        raise _Reject(aks_error(400, code,
                                f"Version {req} is not supported in this region. Please use [az aks get-versions] "
                                "command to get the supported version list in this region. For more information, "
                                "please check https://aka.ms/supported-version-list"))

