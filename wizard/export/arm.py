"""`export --format arm`: a subscription-scope ARM deployment template (`az deployment sub create`).

The cluster resource is the body the wizard PUTs (the same SDK model, serialised as the SDK sends it) with the
per-member values turned into parameters; the members of a fleet are one `copy` loop over the `members`
parameter. Resource groups and the default Azure Monitor workspaces are copy loops of their own (deduplicated, a
group or workspace shared by members is declared once). What a template cannot express (preview flag and provider
registration, everything inside the cluster) is listed in `metadata.followUp` and printed by the command.
"""
from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wizard.plan_model import Plan

SCHEMA = "https://schema.management.azure.com/schemas/2018-05-01/subscriptionDeploymentTemplate.json#"
GROUP_SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
# expressed by the template (its cluster is the whole body: deployed after the registrations, it needs no
# preview-fields update of a staged create)
TEMPLATE_KINDS = ("resource-group", "cluster", "preview-fields", "gpu-pool", "monitor-workspace", "monitor-dce",
                  "monitor-dcr", "monitor-dcra")
BEFORE_KINDS = ("feature", "provider", "monitor-providers")
CLUSTER_TYPE = "Microsoft.ContainerService/managedClusters"


class ExportError(Exception):
    """The plan cannot be written as one template (the message says why and what to do)."""


def p(name: str) -> str:
    return f"[parameters('{name}')]"


def member_parameters(plan: "Plan") -> dict[str, str]:
    """The values that differ between members: the inner template's parameters."""
    from wizard.addons.monitor_steps import plan_monitor_names
    from wizard.spec import dns_prefix

    a, r = plan.answers, plan.resolved
    assert r is not None
    sub = plan.observed.subscription_id
    out = {"resourceGroup": a.resource_group.name, "clusterName": a.cluster.name, "location": a.azure.location,
           "dnsPrefix": dns_prefix(a, sub), "kubernetesVersion": r.kubernetes_version}
    if r.istio_revision:
        out["istioRevision"] = r.istio_revision
    if a.gpu_pool is not None:
        out["gpuVmSize"] = a.gpu_pool.vm_size
    if a.cluster.addons.managed_prometheus:
        n = plan_monitor_names(plan)
        out |= {"monitorRegion": n.region, "workspaceId": n.workspace_id, "dceName": n.dce_name,
                "dcrName": n.dcr_name, "dcraName": n.dcra_name}
    return out


def cluster_body(plan: "Plan") -> dict[str, Any]:
    """What the wizard PUTs for this member's cluster (desired_cluster(), serialised as the SDK does)."""
    from wizard.export.requests import wire
    from wizard.spec import desired_cluster

    assert plan.resolved is not None
    return wire(desired_cluster(plan.answers, plan.resolved))


def _templated_cluster(plan: "Plan") -> dict[str, Any]:
    body = copy.deepcopy(cluster_body(plan))
    props = body["properties"]
    body["location"] = p("location")
    props["dnsPrefix"] = p("dnsPrefix")
    props["kubernetesVersion"] = p("kubernetesVersion")
    istio = (props.get("serviceMeshProfile") or {}).get("istio")
    if istio:
        istio["revisions"] = [p("istioRevision")]
    gpu = plan.answers.gpu_pool
    for pool in props["agentPoolProfiles"]:
        if gpu is not None and pool["name"] == gpu.name:
            pool["vmSize"] = p("gpuVmSize")
    return body


def _monitor_resources(plan: "Plan") -> list[dict[str, Any]]:
    from wizard.azure import monitor
    from wizard.export.requests import api_version, wire

    tags = dict(plan.answers.cluster.tags) or None
    dc = api_version("monitor-dc")
    dce_id = "[resourceId('Microsoft.Insights/dataCollectionEndpoints', parameters('dceName'))]"
    dcr_id = "[resourceId('Microsoft.Insights/dataCollectionRules', parameters('dcrName'))]"
    cluster_id = f"[resourceId('{CLUSTER_TYPE}', parameters('clusterName'))]"
    return [
        {"type": "Microsoft.Insights/dataCollectionEndpoints", "apiVersion": dc, "name": p("dceName"),
         **wire(monitor.dce_body(p("monitorRegion"), tags))},
        {"type": "Microsoft.Insights/dataCollectionRules", "apiVersion": dc, "name": p("dcrName"),
         "dependsOn": [dce_id], **wire(monitor.dcr_body(p("monitorRegion"), dce_id, p("workspaceId"), tags))},
        {"type": "Microsoft.Insights/dataCollectionRuleAssociations", "apiVersion": dc, "name": p("dcraName"),
         "scope": cluster_id, "dependsOn": [cluster_id, dcr_id], **wire(monitor.dcra_body(dcr_id))},
    ]


def member_template(plan: "Plan") -> dict[str, Any]:
    """The resource-group-scope template of one member (the same for every member of a fleet)."""
    from wizard.export.requests import api_version

    params = member_parameters(plan)
    resources = [{"type": CLUSTER_TYPE, "apiVersion": api_version("aks"), "name": p("clusterName"),
                  **_templated_cluster(plan)}]
    if plan.answers.cluster.addons.managed_prometheus:
        resources += _monitor_resources(plan)
    return {"$schema": GROUP_SCHEMA, "contentVersion": "1.0.0.0",
            "parameters": {k: {"type": "string"} for k in params if k != "resourceGroup"},
            "resources": resources}


def follow_up(plan: "Plan") -> dict[str, list[str]]:
    """Shell snippets for what the template cannot express (the az script's own, so each runs as it stands):
    before the deployment (subscription-wide registrations) and after it (inside the cluster)."""
    from wizard.export.az import step_lines

    out: dict[str, list[str]] = {"before": [], "after": []}
    for step in plan.steps:
        kind = step.id.split(":")[0]
        if kind in TEMPLATE_KINDS or step.action == "skip":
            continue
        out["before" if kind in BEFORE_KINDS else "after"].append("\n".join(step_lines(plan, step, [])))
    return out


def fleet_follow_up(plans: list["Plan"]) -> dict[str, list[str]]:
    """Subscription-wide commands once; each member's in-cluster commands under its name."""
    out = {"before": follow_up(plans[0])["before"], "after": []}
    for pl in plans:
        after = follow_up(pl)["after"]
        out["after"] += ([f"# cluster {pl.answers.cluster.name}"] if len(plans) > 1 and after else []) + after
    return out


def template(plans: list["Plan"], source: str, version: str) -> dict[str, Any]:
    from wizard.addons.monitor_steps import plan_monitor_names
    from wizard.export.requests import api_version

    inner = member_template(plans[0])
    for other in plans[1:]:
        if member_template(other) != inner:
            raise ExportError(f"member {other.answers.cluster.name} differs from {plans[0].answers.cluster.name} in "
                              "more than names, location, version and GPU size; one copy loop cannot express it. "
                              "Export the members separately.")
    members = [member_parameters(pl) for pl in plans]
    groups: dict[str, dict[str, Any]] = {}
    workspaces: dict[str, dict[str, Any]] = {}
    for pl in plans:
        a = pl.answers
        groups.setdefault(a.resource_group.name.lower(), {"name": a.resource_group.name, "location": a.azure.location,
                                                          "tags": dict(a.resource_group.tags)})
        if a.cluster.addons.managed_prometheus:
            n = plan_monitor_names(pl)
            if not n.workspace_given:
                groups.setdefault(n.workspace_rg.lower(), {"name": n.workspace_rg, "location": n.region, "tags": {}})
                workspaces.setdefault(n.workspace_id.lower(), {"resourceGroup": n.workspace_rg,
                                                               "name": n.workspace_name, "location": n.region})
    rg_api = api_version("resources")
    member = "parameters('members')[copyIndex()]"
    resources: list[dict[str, Any]] = [{
        "type": "Microsoft.Resources/resourceGroups", "apiVersion": rg_api,
        "name": "[parameters('resourceGroups')[copyIndex()].name]",
        "location": "[parameters('resourceGroups')[copyIndex()].location]",
        "tags": "[parameters('resourceGroups')[copyIndex()].tags]",
        "copy": {"name": "resourceGroups", "count": "[length(parameters('resourceGroups'))]"}}]
    member_deps = ["resourceGroups"]
    if workspaces:
        from wizard.azure.monitor import workspace_body
        from wizard.export.requests import wire

        ws = "parameters('monitorWorkspaces')[copyIndex()]"
        resources.append({
            "type": "Microsoft.Resources/deployments", "apiVersion": rg_api,
            "name": f"[format('aks-ai-wizard-workspace-{{0}}', {ws}.location)]",
            "resourceGroup": f"[{ws}.resourceGroup]", "dependsOn": ["resourceGroups"],
            "copy": {"name": "monitorWorkspaces", "count": "[length(parameters('monitorWorkspaces'))]"},
            "properties": {"mode": "Incremental", "expressionEvaluationOptions": {"scope": "inner"},
                           "parameters": {"name": {"value": f"[{ws}.name]"}, "location": {"value": f"[{ws}.location]"}},
                           "template": {"$schema": GROUP_SCHEMA, "contentVersion": "1.0.0.0",
                                        "parameters": {"name": {"type": "string"}, "location": {"type": "string"}},
                                        "resources": [{"type": "Microsoft.Monitor/accounts",
                                                       "apiVersion": api_version("monitor-workspace"),
                                                       "name": p("name"),
                                                       **wire(workspace_body(p("location"),
                                                                             dict(plans[0].answers.cluster.tags)
                                                                             or None))}]}}})
        member_deps.append("monitorWorkspaces")
    resources.append({
        "type": "Microsoft.Resources/deployments", "apiVersion": rg_api,
        "name": f"[format('aks-ai-wizard-{{0}}', {member}.clusterName)]",
        "resourceGroup": f"[{member}.resourceGroup]", "dependsOn": member_deps,
        "copy": {"name": "members", "count": "[length(parameters('members'))]"},
        "properties": {"mode": "Incremental", "expressionEvaluationOptions": {"scope": "inner"},
                       "parameters": {k: {"value": f"[{member}.{k}]"} for k in inner["parameters"]},
                       "template": inner}})
    params: dict[str, Any] = {
        "members": {"type": "array", "defaultValue": members,
                    "metadata": {"description": "one entry per cluster: its resource group, names, location and "
                                                "the values the plan resolved for it"}},
        "resourceGroups": {"type": "array", "defaultValue": list(groups.values()),
                           "metadata": {"description": "resource groups to create or keep (name, location, tags)"}}}
    if workspaces:
        params["monitorWorkspaces"] = {"type": "array", "defaultValue": list(workspaces.values()),
                                       "metadata": {"description": "default Azure Monitor workspaces"}}
    return {"$schema": SCHEMA, "contentVersion": "1.0.0.0",
            "metadata": {"generator": f"aks-ai-wizard {version}", "source": source,
                         "deploy": "az deployment sub create --location LOCATION --template-file FILE",
                         "followUp": fleet_follow_up(plans)},
            "parameters": params, "resources": resources}
