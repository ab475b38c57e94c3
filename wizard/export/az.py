"""`export --format az`: a runnable bash script of `az` and `kubectl` commands equivalent to the plan.

Each step's commands are the plan's own `az` equivalents (Step.az, one home per rule), with the names turned
into shell variables. What a one-line equivalent only describes is made runnable here: the waits after flag and
provider registration, the rule file of the data collection rule, and the in-cluster objects (written inline
with heredocs from the same objects the engine applies). Skipped steps stay in the script as comments.
"""
from __future__ import annotations

import re
import shlex
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from wizard.plan_model import Plan, Step

SHARED_KINDS = ("feature", "provider")  # once per subscription, before every member
POLL = 10  # seconds between state reads in the waits


def _quote(token: str, variables: list[tuple[str, str]]) -> str:
    """A token for bash: a variable when it is one of the names, a double-quoted string when a path segment is."""
    for var, value in variables:
        if token == value:
            return f'"${{{var}}}"'
    parts = token.split("/")
    hit = False
    for i, part in enumerate(parts):
        for var, value in variables:
            if part == value:
                parts[i], hit = f"${{{var}}}", True
                break
        else:
            parts[i] = re.sub(r'([\\"$`])', r"\\\1", part)
    return '"' + "/".join(parts) + '"' if hit else shlex.quote(token)


def _line(line: str, variables: list[tuple[str, str]]) -> list[str]:
    """One command of a Step.az text, with its trailing comment moved above it."""
    if line.lstrip().startswith("#") or not line.strip():
        return [line]
    command, sep, comment = line.partition("  # ")
    out = [f"# {comment.strip()}"] if sep else []
    out.append(" ".join(_quote(t, variables) for t in shlex.split(command)))
    return out


def _lines(text: str, variables: list[tuple[str, str]]) -> list[str]:
    return [x for line in text.splitlines() for x in _line(line, variables)]


def _heredoc_apply(objs: list[dict[str, Any]], expand: bool = False, field_manager: bool = True) -> list[str]:
    manager = " --field-manager aks-ai-wizard" if field_manager else ""
    marker = "EOF" if expand else "'EOF'"
    return [f"kubectl apply --server-side{manager} --force-conflicts -f - <<{marker}",
            yaml.safe_dump_all(objs, sort_keys=False).rstrip(), "EOF"]


def _wait(what: str, read: str) -> list[str]:
    return [f'until [ "$({read})" = "Registered" ]; do',
            f'  echo "waiting for {what} to be Registered"; sleep {POLL}',
            "done"]


def _feature(step: "Step", variables: list[tuple[str, str]]) -> list[str]:
    ns, _, name = str(step.payload).partition("/")
    return _lines(step.az, variables) + _wait(
        step.payload, f"az feature show --namespace {ns} --name {name} --query properties.state -o tsv")


def provider_lines(ns: str, subscription: str | None = None) -> list[str]:
    """``subscription``: another than the script's (a given Azure Monitor workspace's own)."""
    opt = f" --subscription {subscription}" if subscription else ""
    return [f"az provider register --namespace {ns}{opt}"] + _wait(
        ns, f"az provider show --namespace {ns}{opt} --query registrationState -o tsv")


def _monitor_providers(step: "Step") -> list[str]:
    own = step.payload.registrations[0][0]  # the cluster's subscription, the script's
    return [x for sub, namespaces in step.payload.registrations for ns in namespaces
            for x in provider_lines(ns, None if sub == own else sub)]


def _monitor_rule(step: "Step", variables: list[tuple[str, str]]) -> list[str]:
    """The rule's body as a file (az takes it with --rule-file): what the engine sends."""
    import json

    from wizard.azure import monitor
    from wizard.export.requests import wire

    names = step.payload.names
    rule = wire(monitor.PARTS["dcr"].body(names, dict(step.payload.tags) or None))
    out = ['cat > "${WORKDIR}/prometheus-dcr.json" <<\'EOF\'', json.dumps(rule, indent=2), "EOF"]
    for line in _lines(step.az, variables):
        out.append(line.replace("--rule-file prometheus-dcr.json", '--rule-file "${WORKDIR}/prometheus-dcr.json"'))
    return out


def _gpu_stack(plan: "Plan", step: "Step", variables: list[tuple[str, str]]) -> list[str]:
    from wizard.addons import gpu_stack as g

    taints = g.pool_taints(plan.answers)  # every unmanaged GPU pool's, and the Spot taint AKS adds
    out = ["# the NVIDIA device plugin and DCGM exporter with the pool's tolerations and GPU-node affinity"]
    out += _heredoc_apply(g.objects(taints))
    out += [f"if kubectl get crd {g.PODMONITOR_CRD} >/dev/null 2>&1; then  # managed Prometheus scrapes DCGM"]
    out += _heredoc_apply([g.podmonitor()])
    out += ["fi"]
    return out + [x for x in _lines(step.az, variables) if x.startswith("kubectl -n")]


def _unless_exists(kind: str, name: str, namespace: str | None, then: list[str], otherwise: str = "") -> list[str]:
    ns = f" -n {namespace}" if namespace else ""
    out = [f"if ! kubectl get {kind.lower()} {name}{ns} >/dev/null 2>&1; then"] + then
    if otherwise:
        out += ["else", f'  echo "{otherwise}" >&2']
    return out + ["fi"]


def _gpu_metrics() -> list[str]:
    from wizard.addons import gpu_metrics as g

    return _unless_exists("configmap", g.NAME, g.NAMESPACE, _heredoc_apply([g.default_configmap()]),
                          f"{g.NAMESPACE}/{g.NAME} exists: set {g.TARGET} = true in its scrape settings yourself "
                          "(kubectl edit), its other settings are left as they are")


def _kueue_queues(plan: "Plan") -> list[str]:
    """The default queues with cluster_quota()'s figures computed from the nodes, as the engine does at run time."""
    from wizard.addons import kueue as kq

    pools = plan.answers.all_gpu_pools
    quota = {"cpu": "${KUEUE_CPU}", "memory": "${KUEUE_MEMORY}"}
    out = ["nodes_field() { kubectl get nodes -o jsonpath=\"{range .items[*]}{.status.allocatable.$1}{'\\n'}{end}\"; }",
           "KUEUE_CPU=\"$(nodes_field cpu | awk '{ if (sub(/m$/, \"\")) s += $0; else s += $0 * 1000 } "
           "END { printf \"%dm\", s }')\"",
           "KUEUE_MEMORY=\"$(nodes_field memory | awk '{ v = $0 + 0; if ($0 ~ /Ki$/) v /= 1024; "
           "else if ($0 ~ /Gi$/) v *= 1024; else if ($0 !~ /Mi$/) v /= 1048576; s += v } END { printf \"%dMi\", s }')\""]
    if pools:
        count = sum(p.autoscale.max if p.autoscale else p.count for p in pools)
        quota[kq.GPU] = "${KUEUE_GPUS}"
        out += ["GPUS_PER_NODE=\"$(nodes_field 'nvidia\\.com/gpu' | awk '$0 + 0 > m { m = $0 + 0 } END { print m + 0 }')\"",
                f"KUEUE_GPUS=\"$((GPUS_PER_NODE * {count}))\"  # GPUs per node x the GPU pools' most nodes"]
    for o in kq.default_queue_objects(quota):  # queues that exist are left as they are
        meta = o["metadata"]
        out += _unless_exists(o["kind"], meta["name"], meta.get("namespace"),
                              _heredoc_apply([o], expand=True, field_manager=False))
    return out + [f"kubectl wait clusterqueue/{kq.DEFAULT_CLUSTER_QUEUE} --for=condition=Active --timeout=300s"]


def step_lines(plan: "Plan", step: "Step", variables: list[tuple[str, str]]) -> list[str]:
    out = [f"# --- {step.id}: {step.title}"]
    if not step.writes and step.action == "skip":
        return out + [f"# skipped by the plan: {step.reason or 'nothing to do'}"]
    for d in step.differences:
        out.append(f"# differs: {d}")
    kind = step.id.split(":")[0]
    if kind == "feature":
        return out + _feature(step, variables)
    if kind == "provider":
        return out + provider_lines(str(step.payload))
    if kind == "monitor-providers":
        return out + _monitor_providers(step)
    if kind == "monitor-dcr":
        return out + _monitor_rule(step, variables)
    if kind == "gpu-stack":
        return out + _gpu_stack(plan, step, variables)
    if kind == "gpu-metrics":
        return out + _gpu_metrics()
    if kind == "kueue-queues":
        return out + _kueue_queues(plan)
    return out + _lines(step.az, variables)


def member_variables(plan: "Plan") -> list[tuple[str, str]]:
    """(variable, value) for the names of one member, most specific first (a value that two share goes to the first
    that the command could mean: the monitor region before the cluster's location)."""
    from wizard.addons.monitor_steps import plan_monitor_names
    from wizard.spec import dns_prefix

    a, r = plan.answers, plan.resolved
    sub = plan.observed.subscription_id
    out = [("SUBSCRIPTION_ID", sub), ("RESOURCE_GROUP", a.resource_group.name), ("CLUSTER_NAME", a.cluster.name),
           ("LOCATION", a.azure.location), ("DNS_PREFIX", dns_prefix(a, sub))]
    if r is not None:
        out.append(("KUBERNETES_VERSION", r.kubernetes_version))
        if r.istio_revision:
            out.append(("ISTIO_REVISION", r.istio_revision))
    if a.gpu_pool is not None:
        out.append(("GPU_VM_SIZE", a.gpu_pool.vm_size))
    if a.cluster.addons.managed_prometheus:
        n = plan_monitor_names(plan)
        # the endpoint's and the rule's names follow two rules that mostly give the same name: one variable then
        out += ([("DATA_COLLECTION_NAME", n.dce_name)] if n.dce_name == n.dcr_name else
                [("DCE_NAME", n.dce_name), ("DCR_NAME", n.dcr_name)]) + [("DCRA_NAME", n.dcra_name)]
        if not n.workspace_given:
            out += [("MONITOR_GROUP", n.workspace_rg), ("MONITOR_WORKSPACE", n.workspace_name)]
    return out


def _monitor_first(variables: list[tuple[str, str]], plan: "Plan") -> list[tuple[str, str]]:
    from wizard.addons.monitor_steps import plan_monitor_names

    if not plan.answers.cluster.addons.managed_prometheus:
        return variables
    return [("MONITOR_REGION", plan_monitor_names(plan).region)] + variables


def script(plans: list["Plan"], source: str, version: str) -> str:
    """The whole script: shared steps once, then each member's steps with its own variables."""
    head = ["#!/usr/bin/env bash",
            f"# Generated by aks-ai-wizard {version} from {source}: the az/kubectl equivalent of",
            f"# `aks-ai-wizard apply {source}` as planned against the subscription's current state.",
            "# The variables name what is created; derived names follow the wizard's rules (change them together).",
            "set -euo pipefail", "",
            'WORKDIR="$(mktemp -d)"', "trap 'rm -rf \"${WORKDIR}\"' EXIT", ""]
    first = plans[0]
    shared = first.observed.subscription_id
    body: list[str] = ["az account set --subscription \"${SUBSCRIPTION_ID}\""]
    if any(pl.answers.cluster.gateway_api or (pl.answers.gpu_pool and pl.answers.gpu_pool.managed_gpu) for pl in plans):
        # --enable-gateway-api (and --enable-managed-gpu) are options of the aks-preview extension (19.0.0b4 or newer)
        body.append("az extension add --name aks-preview --upgrade --yes")
    body.append("")
    for step in first.steps:
        if step.id.split(":")[0] in SHARED_KINDS:
            body += step_lines(first, step, []) + [""]
    members: list[str] = []
    for i, plan in enumerate(plans):
        variables = member_variables(plan)
        lines: list[str] = []
        for step in plan.steps:
            if step.id.split(":")[0] in SHARED_KINDS:
                continue
            vs = _monitor_first(variables, plan) if step.id.startswith("monitor-") else variables
            lines += step_lines(plan, step, vs) + [""]
        text = "\n".join(lines)
        used = [(v, val) for v, val in _monitor_first(variables, plan)
                if v != "SUBSCRIPTION_ID" and f"${{{v}}}" in text]
        title = f"# ===== member {i + 1} of {len(plans)}: {plan.answers.cluster.name}" if len(plans) > 1 else \
            f"# ===== cluster {plan.answers.cluster.name}"
        members += [title] + [f"{v}={shlex.quote(val)}" for v, val in used] + [""] + lines
    return "\n".join(head + [f"SUBSCRIPTION_ID={shlex.quote(shared)}"] + body + members).rstrip() + "\n"
