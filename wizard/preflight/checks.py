"""The preflight items, as a pure function of the answers, the plan (which already resolved versions, mesh
revisions and flags, and compared existing resources) and what Compute reported (VM sizes, quota)."""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wizard.azure.compute import LOW_PRIORITY, REGIONAL, Usage, VmSku
from wizard.preflight.features import PROVIDER, register_commands
from wizard.preflight.gpu_models import retired
from wizard.preflight.quota import PoolDemand, QuotaLine, most_nodes
from wizard.preflight.report import CheckResult, PreflightReport
from wizard.preflight.sizing import SKU_REQUEST_URL, gpu_catalog, quota_request_text

if TYPE_CHECKING:
    from wizard.answers import Answers
    from wizard.plan import Plan, Problem

GATEWAY_MIN = (1, 26)
NAP_COMMAND = "az aks update -g {rg} -n {name} --node-provisioning-mode Auto"


@dataclass
class PoolIntent:
    key: str  # "system" | "gpu" (gpu_pool) | "gpu:NAME" (a pool of gpu_pools)
    label: str
    prefix: str  # answers path of the pool
    vm_size: str
    zones: tuple[str, ...]
    nodes: int
    nodes_source: str
    count_field: str
    state: str  # "new" | "unchanged" | "changed"
    existing_nodes: int = 0
    gpus_wanted: int | None = None
    min_nodes: int | None = None
    spot: bool = False  # Spot VMs count against the low-priority quota, not their family's

    @property
    def is_gpu(self) -> bool:
        return self.key.startswith("gpu")


@dataclass
class Reads:
    """What preflight read from Compute (None: the read failed, with the reason)."""

    skus: dict[str, VmSku] | None
    usages: dict[str, Usage] | None
    skus_error: str = ""
    usages_error: str = ""
    extra_flag_states: dict[str, str] | None = None
    subnet: Any = None  # azure-mgmt-network Subnet of cluster.network.vnet_subnet_id (None: none there, or unread)
    subnet_error: str = ""  # why it could not be read


# ------------------------------------------------------------------------------------------------ helpers
def _problems(plan: "Plan", *fields: str) -> list["Problem"]:
    return [p for p in plan.problems if p.field in fields]


def _is_gateway_problem(p: "Problem") -> bool:
    return p.field == "cluster.gateway_api" or (p.field == "cluster.istio.revision" and "Gateway API" in p.message)


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def _step(plan: "Plan", step_id: str) -> Any:
    return next((s for s in plan.steps if s.id == step_id), None)


def _existing_pool_props(plan: "Plan", name: str) -> dict[str, Any] | None:
    observed = plan.observed.pools.get(name)
    if observed:
        return observed.get("properties") or {}
    return _existing_profile(plan, name)


def _existing_profile(plan: "Plan", name: str) -> dict[str, Any] | None:
    """The cluster's agentPoolProfile of that name, if the cluster has one."""
    for p in ((plan.observed.cluster or {}).get("properties") or {}).get("agentPoolProfiles") or []:
        if p.get("name") == name:
            return p
    return None


def pool_intents(answers: "Answers", plan: "Plan") -> list[PoolIntent]:
    """The pools the answers describe and what the run will do to each (skip what exists unchanged)."""
    out: list[PoolIntent] = []
    sp = answers.cluster.system_pool
    system = PoolIntent("system", f"system pool {sp.name}", "cluster.system_pool", sp.vm_size, tuple(sp.zones),
                        sp.count, "count", "cluster.system_pool.count", "new")
    existing_sp = (_existing_profile(plan, sp.name) if plan.observed.cluster is not None else None)
    if existing_sp is not None:  # matched by its real name: a cluster without such a pool would get a new one
        same_size = (existing_sp.get("vmSize") or "").lower() == sp.vm_size.lower()
        unchanged = same_size and int(existing_sp.get("count") or 0) == sp.count and \
            sorted(existing_sp.get("availabilityZones") or []) == sorted(sp.zones)
        system.state = "unchanged" if unchanged else "changed"
        if same_size:
            system.existing_nodes = int(existing_sp.get("count") or 0)
    out.append(system)
    from wizard.plan import gpu_pool_steps, pool_suffix

    for step_id, gp, path in gpu_pool_steps(answers):
        nodes, source, count_field = ((gp.autoscale.max, "autoscale max", f"{path}.autoscale.max") if gp.autoscale
                                      else (gp.count, "count", f"{path}.count"))
        intent = PoolIntent("gpu" + pool_suffix(step_id),
                            f"GPU pool {gp.name}" + (" (Spot)" if gp.priority == "Spot" else ""), path, gp.vm_size,
                            tuple(gp.zones), nodes, source, count_field, "new",
                            min_nodes=gp.autoscale.min if gp.autoscale else gp.count, spot=gp.priority == "Spot")
        existing = _existing_pool_props(plan, gp.name) if plan.observed.cluster is not None else None
        if existing is not None:
            step = _step(plan, step_id)
            if step is not None:
                changed = step.action != "skip"
            else:  # the plan stopped early (other problems): compare here
                changed = bool(_pool_diffs(answers, plan, existing, gp, path))
            intent.state = "changed" if changed else "unchanged"
            if (existing.get("vmSize") or "").lower() == gp.vm_size.lower():
                intent.existing_nodes = int(existing.get("count") or 0)
        out.append(intent)
    return out


def _pool_diffs(answers: "Answers", plan: "Plan", existing: dict[str, Any], pool: Any, path: str) -> list[Any]:
    from wizard.spec import desired_pool, pool_differences

    try:
        want = desired_pool(answers, plan.resolved, pool=pool).as_dict().get("properties", {})
        return pool_differences(existing, want, path)
    except Exception:  # noqa: BLE001 - a comparison we can't make is not a preflight failure
        return []


def _cluster_diffs(answers: "Answers", plan: "Plan") -> list[Any]:
    from wizard.spec import cluster_differences

    try:
        return cluster_differences(plan.observed.cluster or {}, answers, plan.resolved,  # type: ignore[arg-type]
                                   answers.cluster.kubernetes_version.count(".") == 1)
    except Exception:  # noqa: BLE001
        return []


def _gpu_hint(location: str, gpus: int | None, intent: PoolIntent | None) -> str:
    parts = [f"aks-ai-wizard gpu-sizes --location {location}"]
    if gpus:
        parts.append(f"--gpus-per-node {gpus}")
    if intent is not None:
        lo = intent.min_nodes if intent.min_nodes is not None else intent.nodes
        parts.append(f"--min {lo} --max {intent.nodes}")
    return " ".join(parts)


def _alternatives(skus: dict[str, VmSku] | None, usages: dict[str, Usage] | None, location: str,
                  intent: PoolIntent, reserved_regional: int, limit: int = 3) -> str:
    """Up to three GPU sizes here that are offered, have as many GPUs per node, and fit the quota."""
    if not skus:
        return ""
    catalog = gpu_catalog(skus, usages or {}, reserved_regional)
    want = intent.gpus_wanted or 1
    picks = []
    for g in catalog:
        if g.name.lower() == intent.vm_size.lower() or not g.available or g.gpus < want:
            continue
        if intent.zones and not set(intent.zones) <= set(g.zones):
            continue
        if g.max_nodes is not None and g.max_nodes < intent.nodes:
            continue
        picks.append(g)
    picks.sort(key=lambda g: (g.gpus, g.vcpus))
    if not picks:
        return ""
    return ", ".join(f"{g.name} ({g.gpu_model} x{g.gpus}, {g.vcpus} vCPUs"
                     + (f", quota room for {g.max_nodes} nodes" if g.max_nodes is not None else "") + ")"
                     for g in picks[:limit])


# ------------------------------------------------------------------------------------------------ items
def check_version(answers: "Answers", plan: "Plan") -> CheckResult:
    loc = answers.azure.location
    wanted = answers.cluster.kubernetes_version
    probs = _problems(plan, "cluster.kubernetes_version")
    if probs:
        p = probs[0]
        field = "cluster.kubernetes_version"
        if "Long-Term Support" in p.message:
            detail = (p.message + " LTS-only versions need the Premium tier with the AKSLongTermSupport support "
                      f"plan; your answers have tier {answers.cluster.tier} and support_plan "
                      f"{answers.cluster.support_plan}.")
        else:
            detail = p.message
        return CheckResult("kubernetes-version", f"Kubernetes {wanted} offered in {loc}", "fail", detail,
                           p.fix + " (az aks get-versions -l " + loc + " -o table)", field)
    if plan.observed.provider_unreadable:
        return CheckResult("kubernetes-version", f"Kubernetes {wanted} offered in {loc}", "skip",
                           f"Not read yet: {PROVIDER} is not registered (see the provider item).")
    resolved = plan.resolved.kubernetes_version if plan.resolved else wanted
    minor = _minor(resolved)
    kv = next((v for v in plan.observed.versions if v.minor == minor), None)
    how = "newest patch of the minor" if wanted.count(".") == 1 else "the exact patch asked for"
    detail = f"Kubernetes {wanted} resolves to {resolved} ({how}) in {loc}."
    if kv is not None and kv.lts_only:
        detail += " It is LTS-only there: the answers have tier Premium with the AKSLongTermSupport plan, which it needs."
    data = {"requested": wanted, "resolved": resolved}
    if kv is not None and kv.is_preview:
        return CheckResult("kubernetes-version", f"Kubernetes {wanted} offered in {loc}", "warn",
                           detail + f" {minor} is a preview version in {loc}: not for production.",
                           "choose a generally available version in cluster.kubernetes_version if this cluster "
                           "matters.", "cluster.kubernetes_version", data)
    return CheckResult("kubernetes-version", f"Kubernetes {wanted} offered in {loc}", "pass", detail, data=data)


def check_mesh(answers: "Answers", plan: "Plan") -> list[CheckResult]:
    out: list[CheckResult] = []
    istio = answers.cluster.istio
    version_failed = bool(_problems(plan, "cluster.kubernetes_version"))
    rev = plan.resolved.istio_revision if plan.resolved else None
    minor = _minor(plan.resolved.kubernetes_version if plan.resolved else answers.cluster.kubernetes_version)
    compatible = [r.revision for r in plan.observed.revisions if minor in r.compatible]
    mesh_probs = [p for p in _problems(plan, "cluster.istio.revision", "cluster.gateway_api")]
    gw_probs = [p for p in mesh_probs if _is_gateway_problem(p)]
    rev_probs = [p for p in mesh_probs if not _is_gateway_problem(p)]
    title = f"Istio revision {istio.revision} compatible with Kubernetes {minor}"
    if not istio.enabled:
        out.append(CheckResult("istio-revision", "Istio add-on", "skip", "istio.enabled is false."))
    elif plan.observed.provider_unreadable:
        out.append(CheckResult("istio-revision", title, "skip",
                               f"Not read yet: {PROVIDER} is not registered (see the provider item)."))
    elif version_failed:
        out.append(CheckResult("istio-revision", title, "skip",
                               "Not judged: the Kubernetes version is not offered (see above)."))
    elif rev_probs:
        p = rev_probs[0]
        out.append(CheckResult("istio-revision", title, "fail", p.message, p.fix, p.field,
                               {"compatible": compatible}))
    elif gw_probs and rev is None:
        out.append(CheckResult("istio-revision", title, "skip", "See the Gateway API item.",
                               data={"compatible": compatible}))
    else:
        how = " (newest compatible)" if istio.revision == "auto" else ""
        out.append(CheckResult("istio-revision", title, "pass",
                               f"{rev}{how} supports Kubernetes {minor}; compatible here: "
                               f"{', '.join(compatible) or 'none'}.", data={"revision": rev, "compatible": compatible}))
    if not answers.cluster.gateway_api:
        return out
    gtitle = f"Gateway API on {minor}: Istio add-on at asm-1-26 or newer"
    if not istio.enabled:
        out.append(CheckResult("gateway-api", gtitle, "fail", "Managed Gateway API runs on the Istio add-on.",
                               "set cluster.istio.enabled: true, or cluster.gateway_api: false.", "cluster.gateway_api"))
    elif plan.observed.provider_unreadable:
        out.append(CheckResult("gateway-api", gtitle, "skip",
                               f"Not read yet: {PROVIDER} is not registered (see the provider item)."))
    elif version_failed:
        out.append(CheckResult("gateway-api", gtitle, "skip", "Not judged: the Kubernetes version is not offered."))
    elif gw_probs:
        p = gw_probs[0]
        usable = [r.revision for r in plan.observed.revisions if minor in r.compatible and r.key >= GATEWAY_MIN]
        out.append(CheckResult("gateway-api", gtitle, "fail",
                               p.message + f" Revisions for {minor} at asm-1-26 or newer: {', '.join(usable) or 'none'}.",
                               p.fix, p.field))
    elif rev_probs:
        out.append(CheckResult("gateway-api", gtitle, "skip", "Not judged: the Istio revision is not usable."))
    else:
        out.append(CheckResult("gateway-api", gtitle, "pass",
                               f"{rev} is asm-1-26 or newer, as managed Gateway API on {minor} needs."))
    return out


def _differences(diffs: list[Any]) -> dict[str, Any]:
    return {"differences": [vars(d) for d in diffs]}


def _will_update(check: str, title: str, what: str, diffs: list[Any]) -> CheckResult:
    return CheckResult(check, title, "warn",
                       f"{what} exists; --allow-update will change: {'; '.join(map(str, diffs))}.",
                       "nothing to fix if these changes are intended.", None, _differences(diffs))


def _differs(check: str, title: str, what: str, diffs: list[Any]) -> CheckResult:
    return CheckResult(check, title, "fail", f"{what} exists with different settings: {'; '.join(map(str, diffs))}.",
                       "re-run with --allow-update to apply these changes, or change the answers to match.",
                       diffs[0].field, _differences(diffs))


def check_names(answers: "Answers", plan: "Plan") -> list[CheckResult]:
    out: list[CheckResult] = []
    obs = plan.observed
    rg, name, loc = answers.resource_group.name, answers.cluster.name, answers.azure.location
    title = f"cluster name {name} in resource group {rg}"
    if obs.cluster is None:
        where = "" if obs.group is not None else f" (the group does not exist yet either: it will be created in {loc})"
        out.append(CheckResult("cluster-name", title, "pass", f"No cluster named {name}: it will be created{where}."))
    else:
        props = obs.cluster.get("properties") or {}
        have_loc = (obs.cluster.get("location") or "").replace(" ", "").lower()
        step = _step(plan, "cluster")
        probs = _problems(plan, "cluster")
        diffs = step.differences if step is not None else _cluster_diffs(answers, plan)
        state = props.get("provisioningState") or "Succeeded"
        if have_loc and have_loc != loc.lower():
            out.append(CheckResult("cluster-name", title, "fail",
                                   f"A cluster named {name} already exists in {have_loc}; the answers say {loc} "
                                   "(a cluster can't move).",
                                   f"set azure.location: {have_loc} to manage that cluster, or choose another "
                                   "cluster.name.", "cluster.name"))
        elif probs:
            p = probs[0]
            out.append(CheckResult("cluster-name", title, "fail", p.message,
                                   p.fix + (f" Fields: {', '.join(d.field for d in diffs)}."
                                                                  if diffs else ""),
                                   diffs[0].field if diffs else "cluster.name", _differences(diffs)))
        elif step is not None and step.action == "update":
            out.append(_will_update("cluster-name", title, f"Cluster {name}", diffs))
        elif step is not None and step.action in ("attach", "retry"):
            out.append(CheckResult("cluster-name", title, "warn", f"Cluster {name} exists and is {state}: {step.title}.",
                                   "nothing to fix: apply " + ("waits for that operation first."
                                                               if step.action == "attach" else
                                                               "sends the same request again to reconcile it.")))
        elif diffs and step is None:
            out.append(_differs("cluster-name", title, f"Cluster {name}", diffs))
        else:
            out.append(CheckResult("cluster-name", title, "pass",
                                   f"Cluster {name} exists with the same settings ({state}): nothing to change."))
    from wizard.plan import gpu_pool_steps

    for step_id, gp, path in gpu_pool_steps(answers):
        out.append(_check_pool_name(answers, plan, step_id, gp, path))
    return out


def _check_pool_name(answers: "Answers", plan: "Plan", step_id: str, gp: Any, path: str) -> CheckResult:
    from wizard.plan import pool_suffix

    name, obs = answers.cluster.name, plan.observed
    cid = "gpu-pool-name" + pool_suffix(step_id)
    ptitle = f"GPU pool name {gp.name} in cluster {name}"
    existing = _existing_pool_props(plan, gp.name) if obs.cluster is not None else None
    if existing is None:
        return CheckResult(cid, ptitle, "pass", f"No pool named {gp.name}: it will be created.")
    step = _step(plan, step_id)
    cluster_step = _step(plan, "cluster")
    if (existing.get("provisioningState") or "") == "Failed" and step is None and cluster_step is not None \
            and cluster_step.action in ("retry", "recreate"):
        return CheckResult(cid, ptitle, "pass", f"Pool {gp.name} failed to provision (it never "
                           "came up): the cluster's PUT sends it again with the answers' settings.")
    probs = _problems(plan, path)
    diffs = step.differences if step is not None else _pool_diffs(answers, plan, existing, gp, path)
    if probs:
        p = probs[0]
        return CheckResult(cid, ptitle, "fail", p.message, p.fix,
                           diffs[0].field if diffs else f"{path}.name", _differences(diffs))
    if step is not None and step.action == "update":
        return _will_update(cid, ptitle, f"Pool {gp.name}", diffs)
    if step is not None and step.action in ("attach", "retry"):
        return CheckResult(cid, ptitle, "warn", f"{step.title}.",
                           "nothing to fix: apply " + ("waits for that operation first." if step.action == "attach"
                                                       else "sends the same request again."))
    if diffs and step is None:
        return _differs(cid, ptitle, f"Pool {gp.name}", diffs)
    return CheckResult(cid, ptitle, "pass", f"Pool {gp.name} exists with the same settings: nothing to change.")


def check_skus(answers: "Answers", intents: list[PoolIntent], reads: Reads,
               reserved_regional: int) -> list[CheckResult]:
    loc = answers.azure.location
    out: list[CheckResult] = []
    for it in intents:
        sku_id, zones_id = f"sku:{it.key}", f"zones:{it.key}"
        title = f"{it.vm_size} ({it.label}) offered in {loc}"
        field = f"{it.prefix}.vm_size"
        if it.state == "unchanged":
            out.append(CheckResult(sku_id, title, "skip", f"The {it.label} exists and is not changed."))
            continue
        if reads.skus is None:
            out.append(CheckResult(sku_id, title, "warn", f"Could not read the VM sizes of {loc}: {reads.skus_error}",
                                   f"check it yourself: az vm list-skus -l {loc} --size {it.vm_size} -o table"))
            continue
        sku = reads.skus.get(it.vm_size.lower())
        if sku is None:
            close = difflib.get_close_matches(it.vm_size.lower(), list(reads.skus), n=3, cutoff=0.75)
            names = [reads.skus[c].name for c in close]
            gone = retired(it.vm_size)
            if gone:
                detail = (f"{it.vm_size} is no longer offered: the {gone[0]} series was retired on {gone[1]} "
                          "(https://aka.ms/azure-gpu-retirement); AKS refuses it.")
                names = []
            elif not reads.skus:
                detail = f"{loc} lists no VM sizes at all for this subscription (is it a region name?)."
            else:
                detail = f"{it.vm_size} is not a VM size in {loc}."
            alt = _alternatives(reads.skus, reads.usages, loc, it, reserved_regional) if it.is_gpu else ""
            fix = f"set {field} to a size {loc} offers" + (f" (did you mean {', '.join(names)}?)" if names else "")
            if alt:
                fix += f"; GPU sizes that fit here: {alt}"
            fix += f"; list them with `az vm list-skus -l {loc} -o table`" + (
                f" or `{_gpu_hint(loc, None, it)}`" if it.is_gpu else "") + "; or choose another azure.location."
            out.append(CheckResult(sku_id, title, "fail", detail, fix, field))
            continue
        lr = sku.location_restricted
        if lr is not None:
            alt = _alternatives(reads.skus, reads.usages, loc, it, reserved_regional) if it.is_gpu else ""
            why = ("not available to this subscription" if lr.reason == "NotAvailableForSubscription"
                   else f"restricted for this subscription's offer ({lr.reason})" if lr.reason else "restricted")
            fix = f"set {field} to another size" + (f" (these fit here: {alt})" if alt else "")
            fix += ", or choose another azure.location"
            if lr.reason == "NotAvailableForSubscription":
                fix += f", or ask Azure for access to {sku.name} in {loc} ({SKU_REQUEST_URL})"
            fix += "."
            out.append(CheckResult(sku_id, title, "fail",
                                   f"{sku.name} exists in {loc} but is {why} (resource SKU restriction: "
                                   f"{lr.type}, {lr.reason}).", fix, field,
                                   {"restriction": {"type": lr.type, "reason": lr.reason}}))
            continue
        detail = (f"{sku.name}: {sku.vcpus} vCPUs, {sku.memory_gb:g} GB" + (f", {sku.gpus} GPU" if sku.gpus else "")
                  + f" ({sku.family}); zones here: {', '.join(sku.zones) or 'none'}.")
        if it.is_gpu and sku.gpus <= 0:
            out.append(CheckResult(sku_id, title, "warn", detail + " It has no GPUs.",
                                   f"set {field} to a GPU size (`{_gpu_hint(loc, None, it)}`).", field))
        else:
            out.append(CheckResult(sku_id, title, "pass", detail, data={"family": sku.family, "vcpus": sku.vcpus,
                                                                        "gpus": sku.gpus, "zones": list(sku.zones)}))
        if it.zones:
            zfield = f"{it.prefix}.zones"
            ztitle = f"zones {', '.join(it.zones)} offered for {sku.name} in {loc}"
            missing = [z for z in it.zones if z not in sku.zones]
            if not missing:
                out.append(CheckResult(zones_id, ztitle, "pass", f"Zones for {sku.name} here: {', '.join(sku.zones)}."))
            else:
                closed = [z for z in missing if z in sku.restricted_zones]
                why = []
                if closed:
                    why.append(f"zone{'s' if len(closed) > 1 else ''} {', '.join(closed)} restricted for this "
                               "subscription (NotAvailableForSubscription)")
                absent = [z for z in missing if z not in closed]
                if absent:
                    why.append(f"{loc} has no zone {', '.join(absent)} for this size")
                offered = [z for z in it.zones if z in sku.zones] or list(sku.zones)
                fix = (f"set {zfield}: [{', '.join(offered)}]" if offered else "") + \
                      (" or " if offered else "set ") + f"{zfield}: [] (no zone pinning)" + \
                      (f", or ask for zonal access ({SKU_REQUEST_URL})" if closed else "") + "."
                out.append(CheckResult(zones_id, ztitle, "fail",
                                       f"{sku.name} in {loc}: {'; '.join(why)}. Offered zones: "
                                       f"{', '.join(sku.zones) or 'none'}.", fix, zfield,
                                       {"requested": list(it.zones), "offered": list(sku.zones),
                                        "restricted": list(sku.restricted_zones)}))
    return out


def demands(intents: list[PoolIntent], skus: dict[str, VmSku]) -> list[PoolDemand]:
    out = []
    for it in intents:
        if it.state == "unchanged":
            continue
        sku = skus.get(it.vm_size.lower())
        if sku is None or not sku.available:
            continue
        out.append(PoolDemand(it.label, it.count_field, sku.name, LOW_PRIORITY if it.spot else sku.family,
                              sku.vcpus, it.nodes, it.nodes_source, it.existing_nodes if it.state == "changed" else 0))
    return out


def quota_lines(pool_demands: list[PoolDemand], usages: dict[str, Usage] | None) -> list[QuotaLine]:
    usages = usages or {}
    lines: dict[str, QuotaLine] = {}
    for d in pool_demands:
        line = lines.get(d.family.lower())
        if line is None:
            u = usages.get(d.family.lower())
            line = lines[d.family.lower()] = QuotaLine(d.family, u.display if u else d.family, [],
                                                       u.current if u else None, u.limit if u else None)
        line.pools.append(d)
    u = usages.get(REGIONAL)
    # Spot VMs count against the low-priority quota only, not their family's nor the regional total
    regional = QuotaLine(REGIONAL, "Total Regional vCPUs", [d for d in pool_demands if d.family != LOW_PRIORITY],
                         u.current if u else None, u.limit if u else None)
    return [*lines.values(), regional]


def check_quota(answers: "Answers", intents: list[PoolIntent], reads: Reads, subscription_id: str | None
                ) -> list[CheckResult]:
    loc = answers.azure.location
    if reads.skus is None:
        return [CheckResult("quota", f"vCPU quota in {loc}", "warn",
                            f"Not computed: the VM sizes could not be read ({reads.skus_error}).",
                            f"check it yourself: az vm list-usage -l {loc} -o table")]
    skipped = [it for it in intents if it.state == "unchanged"]
    pd = demands(intents, reads.skus)
    note = ""
    if skipped:
        note = (" Not counted again: " + ", ".join(f"the {it.label} (exists unchanged)" for it in skipped)
                + "; its nodes are already in use.")
    unsized = [it for it in intents if it.state != "unchanged"
               and (reads.skus.get(it.vm_size.lower()) is None or not reads.skus[it.vm_size.lower()].available)]
    if unsized:
        note += (" Not counted: " + ", ".join(f"the {it.label} ({it.vm_size} is not offered here; see above)"
                                              for it in unsized) + ".")
    if not pd:
        if unsized:
            return [CheckResult("quota", f"vCPU quota in {loc}", "skip", "Nothing to count." + note)]
        return [CheckResult("quota", f"vCPU quota in {loc}", "pass", "Nothing new to place." + note)]
    if reads.usages is None:
        return [CheckResult("quota", f"vCPU quota in {loc}", "warn",
                            f"Not checked: compute usage could not be read ({reads.usages_error}).",
                            f"check it yourself: az vm list-usage -l {loc} -o table")]
    lines = quota_lines(pd, reads.usages)
    regional = lines[-1]
    out = []
    for line in lines:
        is_regional = line is regional
        qid = "quota:regional" if is_regional else f"quota:{line.name}"
        title = (f"vCPU quota: total regional in {loc}" if is_regional
                 else f"vCPU quota: {line.name} in {loc}")
        detail = line.arithmetic() + (note if is_regional else "")
        data = line.to_dict()
        if line.fits is None:
            out.append(CheckResult(qid, title, "warn", detail,
                                   f"check the quota: az vm list-usage -l {loc} -o table; if {line.name} is missing "
                                   f"there, {quota_request_text(line.name, line.display, loc, line.needed, subscription_id)}.",
                                   None, data))
            continue
        if line.fits:
            out.append(CheckResult(qid, title, "pass", detail, data=data))
            continue
        fixes = [quota_request_text(line.name, line.display, loc, line.new_limit, subscription_id)]
        field = None
        for d in sorted(line.pools, key=lambda p: p.label.startswith("system")):  # the GPU pool first
            room = line.room_for(d)
            other = regional.room_for(d) if not is_regional and regional.fits is not None else None
            rooms = [r for r in (room, other) if r is not None]
            can = most_nodes(min(rooms), d.vcpus_per_node) if rooms else 0
            if can >= d.nodes:
                continue
            it = next(i for i in intents if i.count_field == d.field)
            floor = (it.min_nodes or 0) if it.is_gpu else 1
            if can >= max(1, floor):
                fixes.append(f"lower {d.field} to {can} (the most that fits with surge)")
                field = field or d.field
            elif it.is_gpu:
                field = field or f"{it.prefix}.vm_size"
            if it.is_gpu:
                reserved = sum(p.needed for p in regional.pools if p is not d)
                alt = _alternatives(reads.skus, reads.usages, loc, it, reserved)
                if alt:
                    fixes.append(f"set {it.prefix}.vm_size to a size with free quota: {alt}")
                fixes.append(f"compare sizes: {_gpu_hint(loc, it.gpus_wanted, it)}")
        out.append(CheckResult(qid, title, "fail", detail, "; or ".join(fixes[:3]) + "".join(
            f"; {f}" for f in fixes[3:]) + ".", field or (line.pools[0].field if line.pools else None), data))
    return out


def check_gpu_autoscaler(answers: "Answers") -> list[CheckResult]:
    from wizard.plan import gpu_pool_steps

    return [_gpu_autoscaler(answers, step_id, gp, path) for step_id, gp, path in gpu_pool_steps(answers)]


def _gpu_autoscaler(answers: "Answers", step_id: str, gp: Any, path: str) -> CheckResult:
    from wizard.plan import pool_suffix

    cid = "gpu-autoscaler" + pool_suffix(step_id)
    title = "managed GPU and the cluster autoscaler" + (f" ({gp.name})" if path != "gpu_pool" else "")
    if gp.managed_gpu and gp.autoscale:
        nap = NAP_COMMAND.format(rg=answers.resource_group.name, name=answers.cluster.name)
        return CheckResult(
            cid, title, "fail",
            "The cluster autoscaler is not supported on managed GPU node pools while managed GPU is in preview; "
            f"AKS rejects {path} {gp.name} with managed_gpu: true and autoscale {gp.autoscale.min}-{gp.autoscale.max}.",
            f"either (1) an unmanaged GPU pool with the autoscaler: set {path}.managed_gpu: false (AKS still "
            "installs the GPU driver; run the NVIDIA device plugin and DCGM exporter yourself, e.g. the NVIDIA GPU "
            f"Operator), or (2) keep managed GPU without the autoscaler: remove {path}.autoscale, set "
            f"{path}.count, and let node auto-provisioning add GPU nodes ({nap}).",
            f"{path}.managed_gpu")
    if gp.managed_gpu:
        return CheckResult(cid, title, "pass", f"Managed GPU with a fixed count of {gp.count} (no cluster autoscaler).")
    if gp.autoscale:
        zero = " (scales to zero when idle)" if gp.autoscale.min == 0 else ""
        return CheckResult(cid, title, "pass", f"Unmanaged GPU pool with the cluster autoscaler "
                           f"({gp.autoscale.min}-{gp.autoscale.max}){zero}.")
    return CheckResult(cid, title, "pass", f"Unmanaged GPU pool with a fixed count of {gp.count}.")


def check_subnet(answers: "Answers", intents: list[PoolIntent], reads: Reads) -> list[CheckResult]:
    """Your own subnet: it exists, is not delegated to another service, and has a free address for every node at
    every pool's peak (autoscaler max plus surge), and with Azure CNI without overlay for every pod too."""
    from wizard.answers.rules import AZURE_SUBNET_RESERVED, subnet_ips_needed
    from wizard.preflight.quota import surge_nodes

    net = answers.cluster.network
    sid = net.vnet_subnet_id
    if not sid:
        return []
    field, name = "cluster.network.vnet_subnet_id", sid.rsplit("/", 1)[-1]
    title = f"subnet {name} for the nodes"
    create = (f"az network vnet subnet create -g {sid.split('/')[4]} --vnet-name {sid.split('/')[8]} -n {name} "
              "--address-prefixes <a free range>")
    if reads.subnet_error:
        return [CheckResult("subnet", title, "warn", f"Could not read the subnet: {reads.subnet_error}",
                            f"check it yourself: az network vnet subnet show --ids {sid}", field)]
    sub = reads.subnet
    if sub is None:
        return [CheckResult("subnet", title, "fail", f"Subnet {sid} does not exist (or this identity cannot see it); "
                            "AKS refuses a pool whose subnet is missing.",
                            f"give the id of an existing subnet, or create it: {create}.", field)]
    foreign = [d.service_name for d in sub.delegations or []
               if (d.service_name or "").lower() != "microsoft.containerservice/managedclusters"]
    if foreign:
        return [CheckResult("subnet", title, "fail", f"Subnet {name} is delegated to {', '.join(foreign)}: AKS cannot "
                            "put nodes in a subnet delegated to another service.",
                            "use a subnet without delegations (or remove the delegation: az network vnet subnet "
                            f"update --ids {sid} --remove delegations).", field)]
    egress = {"userDefinedRouting": ("route_table", "a route table (its 0.0.0.0/0 route to your firewall)",
                                     f"az network vnet subnet update --ids {sid} --route-table <route table>"),
              "userAssignedNATGateway": ("nat_gateway", "a NAT gateway",
                                         f"az network vnet subnet update --ids {sid} --nat-gateway <NAT gateway>")}
    if net.outbound_type in egress and getattr(sub, egress[net.outbound_type][0], None) is None:
        _, what, cmd = egress[net.outbound_type]
        return [CheckResult("subnet", title, "fail", f"outbound_type {net.outbound_type} sends the nodes' egress "
                            f"through {what} on subnet {name}, and it has none: AKS refuses the cluster.",
                            f"associate one ({cmd}), or set cluster.network.outbound_type: loadBalancer.",
                            "cluster.network.outbound_type")]
    import ipaddress

    prefix = sub.address_prefix or (sub.address_prefixes or [""])[0]
    usable = ipaddress.ip_network(prefix).num_addresses - AZURE_SUBNET_RESERVED
    overlay = net.plugin != "azure" or net.plugin_mode == "overlay"
    peak = sum(it.nodes + surge_nodes(it.nodes) for it in intents)
    ours = sum(it.existing_nodes for it in intents if it.state != "new")  # already among the addresses in use
    need = subnet_ips_needed(peak, overlay, net.plugin)
    in_use = max(0, len(sub.ip_configurations or []) - subnet_ips_needed(ours, overlay, net.plugin))
    per = "1 per node" if overlay else "1 per node + 30 per node for its pods (Azure CNI without overlay)"
    detail = (f"{prefix}: {usable} usable addresses (Azure keeps 5), {in_use} in use by others; the pools need "
              f"{need} at their peak ({peak} nodes at autoscale max or count, plus surge; {per}).")
    data = {"prefix": prefix, "usable": usable, "in_use": in_use, "needed": need, "peak_nodes": peak}
    if need > usable - in_use:
        bits = next(b for b in range(32, 0, -1) if 2 ** (32 - b) - AZURE_SUBNET_RESERVED >= need + in_use)
        return [CheckResult("subnet", title, "fail", detail + f" Short by {need - (usable - in_use)}.",
                            f"use a bigger subnet (at least a /{bits}), lower the pools' autoscale max, or use Azure "
                            "CNI Overlay (plugin_mode: overlay), where pods do not take subnet addresses.", field, data)]
    return [CheckResult("subnet", title, "pass", detail + f" Fits ({usable - in_use - need} to spare).", data=data)]


AKS_RBAC_ADMIN = "Azure Kubernetes Service RBAC Cluster Admin"
AKS_USER_ROLE = "Azure Kubernetes Service Cluster User Role"


def check_access(answers: "Answers", subscription_id: str | None) -> list[CheckResult]:
    """With Entra ID the wizard signs in to Kubernetes as you: say which role assignments that needs."""
    access, c = answers.cluster.access, answers.cluster
    if not access.entra_id:
        return []
    scope = (f"/subscriptions/{subscription_id or '<subscription id>'}/resourceGroups/{answers.resource_group.name}"
             f"/providers/Microsoft.ContainerService/managedClusters/{c.name}")
    grant = (f"az role assignment create --assignee <your object id> --role \"{AKS_RBAC_ADMIN}\" --scope {scope}"
             if access.azure_rbac else "add yourself to one of cluster.access.admin_group_object_ids")
    how = (f"the role {AKS_RBAC_ADMIN} on the cluster (Azure RBAC decides; an Owner of the subscription has no "
           "Kubernetes rights by that alone)" if access.azure_rbac else
           "membership of one of the admin groups (Kubernetes RBAC decides)")
    local = ("Local accounts are disabled, so there is no other way in. " if not access.local_accounts else "")
    detail = (f"The kubeconfig and the verification sign in through Microsoft Entra ID with this run's own "
              f"credential (no kubelogin needed). {local}Fetching the kubeconfig needs {AKS_USER_ROLE}; installing "
              f"the GPU stack and Kueue and running the verification's probes need {how}.")
    return [CheckResult("entra-access", "sign-in to Kubernetes through Microsoft Entra ID",
                        "warn" if not access.local_accounts else "pass", detail,
                        f"before apply's Kubernetes steps: {grant} (or be a member of an admin group)", None,
                        {"roles": [AKS_USER_ROLE, AKS_RBAC_ADMIN if access.azure_rbac else "admin group member"],
                         "scope": scope})]


def check_private(answers: "Answers") -> list[CheckResult]:
    """A private API server is reached only from its VNet, one with authorized ranges only from them: say what
    that means for apply and verify."""
    api = answers.cluster.network.api_server
    if api.authorized_ip_ranges:
        return [CheckResult(
            "authorized-ip-ranges", "API server authorized IP ranges", "warn",
            f"The API server answers only {', '.join(api.authorized_ip_ranges)}: apply's Kubernetes steps and verify "
            "must run from an address in them (this wizard cannot see its own public address).",
            "add this machine's public IPv4 address to cluster.network.api_server.authorized_ip_ranges if it is "
            "not in them.", "cluster.network.api_server.authorized_ip_ranges")]
    if not api.private:
        return []
    rg, name = answers.resource_group.name, answers.cluster.name
    return [CheckResult(
        "private-api-server", "private API server", "warn",
        "The API server has no public endpoint. The cluster PUT goes through Azure Resource Manager and works from "
        "anywhere; apply's Kubernetes steps (GPU stack, DCGM scraping, Kueue) and verify reach the API server only "
        "from a machine that reaches the VNet (peered network, VPN, ExpressRoute, a jump box or self-hosted agent). "
        "From elsewhere they stop with a clear error after the cluster is created; re-running apply from inside is "
        "safe and does only what is left.",
        f"run apply and verify from inside the VNet; from outside, run single commands through Azure with `az aks "
        f"command invoke -g {rg} -n {name} --command \"kubectl get nodes\"`.", "cluster.network.api_server.private")]


def check_features(answers: "Answers", plan: "Plan", reads: Reads) -> list[CheckResult]:
    from wizard.plan import _option_on, flag_rules, needed_flags

    out: list[CheckResult] = []
    states = dict(plan.observed.flag_states)
    states.update(reads.extra_flag_states or {})
    listed = needed_flags(answers)
    listed_flags = {f.lower() for f, _ in listed}
    required = [(r.flag, r.why) for r in flag_rules() if _option_on(answers, r.option)]
    for flag, why in listed:
        state = states.get(flag, "Unknown")
        out.append(_flag_item(flag, why, state, listed=True))
    for flag, why in required:
        if flag.lower() in listed_flags:
            continue
        state = states.get(flag, "Unknown")
        out.append(_flag_item(flag, why, state, listed=False))
    pstate = plan.observed.provider_state
    if pstate.lower() != "registered":
        unread = (" Until it is, ARM refuses its reads (MissingSubscriptionRegistration): the versions, Istio "
                  "revisions and an existing cluster are read, and the cluster planned, right after apply "
                  "registers it." if plan.observed.provider_unreadable else "")
        out.append(CheckResult("provider", f"resource provider {PROVIDER}", "warn",
                               f"{pstate} in this subscription: apply registers it as its own step (needs "
                               f"Contributor on the subscription); plan does not.{unread}",
                               f"if your role can't: ask someone with Contributor on the subscription to run "
                               f"az provider register --namespace {PROVIDER} --wait.", None,
                               {"namespace": PROVIDER, "state": pstate}))
    elif listed:
        out.append(CheckResult("provider", f"resource provider {PROVIDER}", "pass",
                               "Registered" + ("; apply re-registers it after registering flags so they take "
                                               "effect." if any(i.status != "pass" for i in out) else ".")))
    return out


def _flag_item(flag: str, why: str, state: str, listed: bool) -> CheckResult:
    name = flag.split("/")[-1]
    title = f"preview feature {flag}"
    cmd = register_commands(flag)
    s = state.lower()
    data = {"flag": flag, "state": state, "why": why}
    if s == "registered":
        return CheckResult(f"feature:{name}", title, "pass", f"Registered ({why}).", data=data)
    if not listed:
        return CheckResult(f"feature:{name}", title, "fail",
                           f"{why} needs {flag}, which is {state} and not in `features` (an explicit list), so the "
                           "run would not register it and AKS would refuse the request (PreviewFeatureNotRegistered).",
                           f"add {flag} to features (or set features: auto); or have it registered first: {cmd}.",
                           "features", data)
    if s == "registering":
        return CheckResult(f"feature:{name}", title, "warn", f"Registering ({why}): apply waits until it is Registered.",
                           "nothing to fix; registration usually takes 5-15 minutes.", None, data)
    if s == "pending":
        return CheckResult(f"feature:{name}", title, "warn",
                           f"Pending ({why}): the registration waits for approval by Microsoft.",
                           f"wait for approval (az feature show --namespace {flag.split('/')[0]} --name {name}), "
                           "or open a support request.", "features", data)
    if s == "unknown":
        return CheckResult(f"feature:{name}", title, "warn", f"State unknown ({why}): it could not be read.",
                           f"check: az feature show --namespace {flag.split('/')[0]} --name {name}; register: {cmd}.",
                           "features", data)
    return CheckResult(f"feature:{name}", title, "warn",
                       f"{state} ({why}): apply registers it (typically 5-15 minutes) and then re-registers "
                       f"{PROVIDER}. Registering needs Contributor (or Owner) on the subscription; whether your role "
                       "may is only known by trying.",
                       f"if your role can't register features, ask someone with Contributor on the subscription to "
                       f"run: {cmd}.", "features", data)


def check_other_problems(plan: "Plan", handled: set[str]) -> list[CheckResult]:
    out = []
    for i, p in enumerate(plan.problems):
        if p.field in handled or p.field.startswith("gpu_pools["):
            continue
        out.append(CheckResult(f"plan:{p.field or i}", p.field or "plan", "fail", p.message,
                               p.fix, p.field))
    return out


HANDLED_FIELDS = {"cluster.kubernetes_version", "cluster.istio.revision", "cluster.gateway_api", "cluster", "gpu_pool"}



def evaluate(answers: "Answers", plan: "Plan", reads: Reads, subscription_id: str | None = None) -> PreflightReport:
    """All preflight items from what was read; no I/O."""
    report = PreflightReport(location=answers.azure.location)
    intents = pool_intents(answers, plan)
    report.items.append(check_version(answers, plan))
    report.items.extend(check_mesh(answers, plan))
    report.items.extend(check_names(answers, plan))
    sys_reserved = 0
    for it in intents:
        sku = (reads.skus or {}).get(it.vm_size.lower())
        if it.is_gpu and sku is not None:
            it.gpus_wanted = sku.gpus or None
    if reads.skus:
        sys_reserved = sum(d.needed for d in demands([i for i in intents if i.key == "system"], reads.skus))
    report.items.extend(check_skus(answers, intents, reads, sys_reserved))
    report.items.extend(check_quota(answers, intents, reads, subscription_id))
    report.items.extend(check_subnet(answers, intents, reads))
    report.items.extend(check_gpu_autoscaler(answers))
    report.items.extend(check_access(answers, subscription_id))
    report.items.extend(check_private(answers))
    report.items.extend(check_features(answers, plan, reads))
    report.items.extend(check_other_problems(plan, HANDLED_FIELDS))
    return report
