"""The review's summary of the production options (network, identity, GPU pools) in words, from the answers."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wizard.answers import Answers


def network_line(answers: "Answers") -> str:
    net = answers.cluster.network
    cni = {"kubenet": "kubenet", "none": "no CNI (bring your own)"}.get(
        net.plugin, "Azure CNI Overlay" if net.plugin_mode == "overlay" else "Azure CNI (pods on the subnet)")
    if net.vnet_subnet_id:
        parts = net.vnet_subnet_id.split("/")
        where = f"in your subnet {parts[-1]} ({parts[4]}/{parts[8]})" if len(parts) > 8 else "in your subnet"
    else:
        where = "in a VNet AKS creates"
    api = net.api_server
    reach = ("private API server (no public endpoint)" if api.private else
             f"public API server for {', '.join(api.authorized_ip_ranges)} only" if api.authorized_ip_ranges else
             "public API server")
    return f"Network: {cni} {where}; outbound {net.outbound_type}; {reach}"


def identity_line(answers: "Answers") -> str:
    c = answers.cluster
    a = c.access
    if a.entra_id:
        groups = len(a.admin_group_object_ids)
        who = ["Entra ID" + (" + Azure RBAC" if a.azure_rbac else " + Kubernetes RBAC"),
               f"{groups} admin group{'s' if groups != 1 else ''}",
               "local accounts disabled" if not a.local_accounts else "local accounts kept"]
    else:
        who = ["local accounts (no Entra ID)"]
    if c.workload_identity:
        who.append("workload identity with the OIDC issuer")
    elif c.oidc_issuer:
        who.append("OIDC issuer")
    return "Identity: " + ", ".join(who)


def pool_lines(answers: "Answers") -> list[str]:
    out = []
    for p in answers.all_gpu_pools:
        nodes = f"{p.autoscale.min}-{p.autoscale.max} nodes (autoscaled)" if p.autoscale else f"{p.count} node(s)"
        spot = ""
        if p.priority == "Spot":
            price = "up to the on-demand price" if p.spot_max_price == -1 else f"at most ${p.spot_max_price:g}/h"
            spot = f", Spot ({p.eviction_policy} on eviction, {price})"
        taints = f", taints {', '.join(p.taints)}" if p.taints else ""
        out.append(f"GPU pool {p.name}: {p.vm_size.removeprefix('Standard_')}, {nodes}{spot}{taints}")
    return out or ["GPU pools: none"]


def settings_lines(answers: "Answers") -> list[str]:
    return [network_line(answers), identity_line(answers), *pool_lines(answers)]
