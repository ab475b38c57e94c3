"""Room for the pools: the VM sizes and zones offered, the vCPU quota (with surge), the addresses of your own
subnet."""
from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

from wizard.azure.compute import LOW_PRIORITY, REGIONAL, Usage, VmSku
from wizard.preflight.gpu_models import retired
from wizard.preflight.intents import PoolIntent, Reads
from wizard.preflight.quota import PoolDemand, QuotaLine, most_nodes
from wizard.preflight.report import CheckResult
from wizard.preflight.sizing import SKU_REQUEST_URL, gpu_catalog, quota_request_text

if TYPE_CHECKING:
    from wizard.answers import Answers


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


def check_skus(answers: "Answers", intents: list[PoolIntent], reads: Reads,
               reserved_regional: int) -> list[CheckResult]:
    loc = answers.azure.location
    out: list[CheckResult] = []
    for it in intents:
        sku_id = f"sku:{it.key}"
        title = f"{it.vm_size} ({it.label}) offered in {loc}"
        if it.state == "unchanged":
            out.append(CheckResult(sku_id, title, "skip", f"The {it.label} exists and is not changed."))
            continue
        if reads.skus is None:
            out.append(CheckResult(sku_id, title, "warn", f"Could not read the VM sizes of {loc}: {reads.skus_error}",
                                   f"check it yourself: az vm list-skus -l {loc} --size {it.vm_size} -o table"))
            continue
        sku = reads.skus.get(it.vm_size.lower())
        if sku is None:
            out.append(_unknown_size(it, reads, loc, reserved_regional, sku_id, title))
        elif sku.location_restricted is not None:
            out.append(_restricted_size(it, sku, reads, loc, reserved_regional, sku_id, title))
        else:
            out += _offered_size(it, sku, loc, sku_id, title)
    return out


def _unknown_size(it: PoolIntent, reads: Reads, loc: str, reserved_regional: int, sku_id: str,
                  title: str) -> CheckResult:
    """A size the region does not list: retired, a region with no sizes, or a typo (with the close names)."""
    field = f"{it.prefix}.vm_size"
    skus = reads.skus or {}  # read: the caller checks the size only when Compute answered
    close = difflib.get_close_matches(it.vm_size.lower(), list(skus), n=3, cutoff=0.75)
    names = [skus[c].name for c in close]
    gone = retired(it.vm_size)
    if gone:
        detail = (f"{it.vm_size} is no longer offered: the {gone[0]} series was retired on {gone[1]} "
                  "(https://aka.ms/azure-gpu-retirement); AKS refuses it.")
        names = []
    elif not skus:
        detail = f"{loc} lists no VM sizes at all for this subscription (is it a region name?)."
    else:
        detail = f"{it.vm_size} is not a VM size in {loc}."
    alt = _alternatives(reads.skus, reads.usages, loc, it, reserved_regional) if it.is_gpu else ""
    fix = f"set {field} to a size {loc} offers" + (f" (did you mean {', '.join(names)}?)" if names else "")
    if alt:
        fix += f"; GPU sizes that fit here: {alt}"
    fix += f"; list them with `az vm list-skus -l {loc} -o table`" + (
        f" or `{_gpu_hint(loc, None, it)}`" if it.is_gpu else "") + "; or choose another azure.location."
    return CheckResult(sku_id, title, "fail", detail, fix, field)


def _restricted_size(it: PoolIntent, sku: VmSku, reads: Reads, loc: str, reserved_regional: int, sku_id: str,
                     title: str) -> CheckResult:
    field = f"{it.prefix}.vm_size"
    lr = sku.location_restricted
    assert lr is not None  # the caller found the size restricted here
    alt = _alternatives(reads.skus, reads.usages, loc, it, reserved_regional) if it.is_gpu else ""
    why = ("not available to this subscription" if lr.reason == "NotAvailableForSubscription"
           else f"restricted for this subscription's offer ({lr.reason})" if lr.reason else "restricted")
    fix = f"set {field} to another size" + (f" (these fit here: {alt})" if alt else "")
    fix += ", or choose another azure.location"
    if lr.reason == "NotAvailableForSubscription":
        fix += f", or ask Azure for access to {sku.name} in {loc} ({SKU_REQUEST_URL})"
    fix += "."
    return CheckResult(sku_id, title, "fail",
                       f"{sku.name} exists in {loc} but is {why} (resource SKU restriction: "
                       f"{lr.type}, {lr.reason}).", fix, field,
                       {"restriction": {"type": lr.type, "reason": lr.reason}})


def _offered_size(it: PoolIntent, sku: VmSku, loc: str, sku_id: str, title: str) -> list[CheckResult]:
    """The size is offered: it has GPUs when the pool is a GPU pool, and the zones the pool pins."""
    field = f"{it.prefix}.vm_size"
    detail = (f"{sku.name}: {sku.vcpus} vCPUs, {sku.memory_gb:g} GB" + (f", {sku.gpus} GPU" if sku.gpus else "")
              + f" ({sku.family}); zones here: {', '.join(sku.zones) or 'none'}.")
    if it.is_gpu and sku.gpus <= 0:
        out = [CheckResult(sku_id, title, "warn", detail + " It has no GPUs.",
                           f"set {field} to a GPU size (`{_gpu_hint(loc, None, it)}`).", field)]
    else:
        out = [CheckResult(sku_id, title, "pass", detail, data={"family": sku.family, "vcpus": sku.vcpus,
                                                                "gpus": sku.gpus, "zones": list(sku.zones)})]
    if it.zones:
        out.append(_zones_item(it, sku, loc))
    return out


def _zones_item(it: PoolIntent, sku: VmSku, loc: str) -> CheckResult:
    zones_id, zfield = f"zones:{it.key}", f"{it.prefix}.zones"
    ztitle = f"zones {', '.join(it.zones)} offered for {sku.name} in {loc}"
    missing = [z for z in it.zones if z not in sku.zones]
    if not missing:
        return CheckResult(zones_id, ztitle, "pass", f"Zones for {sku.name} here: {', '.join(sku.zones)}.")
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
    return CheckResult(zones_id, ztitle, "fail",
                       f"{sku.name} in {loc}: {'; '.join(why)}. Offered zones: "
                       f"{', '.join(sku.zones) or 'none'}.", fix, zfield,
                       {"requested": list(it.zones), "offered": list(sku.zones),
                        "restricted": list(sku.restricted_zones)})


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
    pd = demands(intents, reads.skus)
    note, unsized = _uncounted(intents, reads)
    if not pd:
        if unsized:
            return [CheckResult("quota", f"vCPU quota in {loc}", "skip", "Nothing to count." + note)]
        return [CheckResult("quota", f"vCPU quota in {loc}", "pass", "Nothing new to place." + note)]
    if reads.usages is None:
        return [CheckResult("quota", f"vCPU quota in {loc}", "warn",
                            f"Not checked: compute usage could not be read ({reads.usages_error}).",
                            f"check it yourself: az vm list-usage -l {loc} -o table")]
    lines = quota_lines(pd, reads.usages)
    return [_quota_item(line, lines[-1], intents, reads, loc, note, subscription_id) for line in lines]


def _uncounted(intents: list[PoolIntent], reads: Reads) -> tuple[str, list[PoolIntent]]:
    """What the quota sum leaves out (pools that exist unchanged, sizes not offered), said in a note."""
    skipped = [it for it in intents if it.state == "unchanged"]
    note = ""
    if skipped:
        note = (" Not counted again: " + ", ".join(f"the {it.label} (exists unchanged)" for it in skipped)
                + "; its nodes are already in use.")
    skus = reads.skus or {}
    unsized = [it for it in intents if it.state != "unchanged"
               and ((sku := skus.get(it.vm_size.lower())) is None or not sku.available)]
    if unsized:
        note += (" Not counted: " + ", ".join(f"the {it.label} ({it.vm_size} is not offered here; see above)"
                                              for it in unsized) + ".")
    return note, unsized


def _quota_item(line: QuotaLine, regional: QuotaLine, intents: list[PoolIntent], reads: Reads, loc: str, note: str,
                subscription_id: str | None) -> CheckResult:
    is_regional = line is regional
    qid = "quota:regional" if is_regional else f"quota:{line.name}"
    title = (f"vCPU quota: total regional in {loc}" if is_regional
             else f"vCPU quota: {line.name} in {loc}")
    detail = line.arithmetic() + (note if is_regional else "")
    data = line.to_dict()
    if line.fits is None:
        return CheckResult(qid, title, "warn", detail,
                           f"check the quota: az vm list-usage -l {loc} -o table; if {line.name} is missing "
                           f"there, {quota_request_text(line.name, line.display, loc, line.needed, subscription_id)}.",
                           None, data)
    if line.fits:
        return CheckResult(qid, title, "pass", detail, data=data)
    fixes = [quota_request_text(line.name, line.display, loc, line.new_limit, subscription_id)]
    field = _quota_fixes(line, regional, intents, reads, loc, fixes)
    return CheckResult(qid, title, "fail", detail, "; or ".join(fixes[:3]) + "".join(
        f"; {f}" for f in fixes[3:]) + ".", field or (line.pools[0].field if line.pools else None), data)


def _quota_fixes(line: QuotaLine, regional: QuotaLine, intents: list[PoolIntent], reads: Reads, loc: str,
                 fixes: list[str]) -> str | None:
    """Add the ways to fit to `fixes` (fewer nodes, a size with free quota); the answer to point at."""
    is_regional = line is regional
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
    return field


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
