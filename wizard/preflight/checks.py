"""The preflight items, as a pure function of the answers, the plan (which already resolved versions, mesh
revisions and flags, and compared existing resources) and what Compute reported (VM sizes, quota)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wizard import mesh_rules
from wizard.arm_ids import cluster_id
from wizard.azure.roles import ROLE
from wizard.gpu_rules import NO_AUTOSCALER, managed_gpu_conflict, sentence
from wizard.preflight.capacity import check_quota, check_skus, check_subnet, demands, quota_lines
from wizard.plan_model import PROVIDER
from wizard.preflight.features import register_commands
from wizard.preflight.intents import (PoolIntent, Reads, cluster_diffs, existing_pool_props, plan_step, pool_diffs,
                                      pool_intents)
from wizard.preflight.report import CheckResult, PreflightReport

if TYPE_CHECKING:
    from wizard.answers import Answers
    from wizard.plan_model import Plan, Problem

# the inputs and the capacity checks live beside this module (intents.py, capacity.py); these names stay here too
__all__ = ["PoolIntent", "Reads", "check_roles_needed", "check_private", "check_subnet", "demands", "evaluate",
           "pool_intents", "quota_lines"]

NAP_COMMAND = "az aks update -g {rg} -n {name} --node-provisioning-mode Auto"


# ------------------------------------------------------------------------------------------------ helpers
def _problems(plan: "Plan", *fields: str) -> list["Problem"]:
    return [p for p in plan.problems if p.field in fields]


def _is_gateway_problem(p: "Problem") -> bool:
    return p.field == "cluster.gateway_api" or (p.field == "cluster.istio.revision" and "Gateway API" in p.message)


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


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
    compatible = [r.revision for r in mesh_rules.compatible(plan.observed.revisions, minor)]
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
    gtitle = f"Gateway API on {minor}: Istio add-on at {mesh_rules.GATEWAY_MIN_REVISION} or newer"
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
        usable = [r.revision for r in mesh_rules.usable(plan.observed.revisions, minor, True)]
        out.append(CheckResult("gateway-api", gtitle, "fail",
                               p.message + f" Revisions for {minor} at {mesh_rules.GATEWAY_MIN_REVISION} or newer: "
                               f"{', '.join(usable) or 'none'}.",
                               p.fix, p.field))
    elif rev_probs:
        out.append(CheckResult("gateway-api", gtitle, "skip", "Not judged: the Istio revision is not usable."))
    else:
        out.append(CheckResult("gateway-api", gtitle, "pass",
                               f"{rev} is {mesh_rules.GATEWAY_MIN_REVISION} or newer, as managed Gateway API on "
                               f"{minor} needs."))
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
        step = plan_step(plan, "cluster")
        probs = _problems(plan, "cluster")
        diffs = step.differences if step is not None else cluster_diffs(answers, plan)
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
    from wizard.plan_model import gpu_pool_steps

    for step_id, gp, path in gpu_pool_steps(answers):
        out.append(_check_pool_name(answers, plan, step_id, gp, path))
    return out


def _check_pool_name(answers: "Answers", plan: "Plan", step_id: str, gp: Any, path: str) -> CheckResult:
    from wizard.plan_model import pool_suffix

    name, obs = answers.cluster.name, plan.observed
    cid = "gpu-pool-name" + pool_suffix(step_id)
    ptitle = f"GPU pool name {gp.name} in cluster {name}"
    existing = existing_pool_props(plan, gp.name) if obs.cluster is not None else None
    if existing is None:
        return CheckResult(cid, ptitle, "pass", f"No pool named {gp.name}: it will be created.")
    step = plan_step(plan, step_id)
    cluster_step = plan_step(plan, "cluster")
    if (existing.get("provisioningState") or "") == "Failed" and step is None and cluster_step is not None \
            and cluster_step.action in ("retry", "recreate"):
        return CheckResult(cid, ptitle, "pass", f"Pool {gp.name} failed to provision (it never "
                           "came up): the cluster's PUT sends it again with the answers' settings.")
    probs = _problems(plan, path)
    diffs = step.differences if step is not None else pool_diffs(answers, plan, existing, gp, path)
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


def check_gpu_autoscaler(answers: "Answers") -> list[CheckResult]:
    from wizard.plan_model import gpu_pool_steps

    return [_gpu_autoscaler(answers, step_id, gp, path) for step_id, gp, path in gpu_pool_steps(answers)]


def _gpu_autoscaler(answers: "Answers", step_id: str, gp: Any, path: str) -> CheckResult:
    from wizard.plan_model import pool_suffix

    cid = "gpu-autoscaler" + pool_suffix(step_id)
    title = "managed GPU and the cluster autoscaler" + (f" ({gp.name})" if path != "gpu_pool" else "")
    if managed_gpu_conflict(gp.managed_gpu, gp.autoscale is not None):
        nap = NAP_COMMAND.format(rg=answers.resource_group.name, name=answers.cluster.name)
        return CheckResult(
            cid, title, "fail",
            f"{sentence(NO_AUTOSCALER)}; AKS rejects {path} {gp.name} with managed_gpu: true and autoscale {gp.autoscale.min}-{gp.autoscale.max}.",
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


AKS_USER_ROLE = "Azure Kubernetes Service Cluster User Role"


def check_roles_needed(answers: "Answers", subscription_id: str | None) -> list[CheckResult]:
    """With Entra ID the wizard signs in to Kubernetes as you: say which role assignments that needs."""
    access, c = answers.cluster.access, answers.cluster
    if not access.entra_id:
        return []
    scope = cluster_id(subscription_id or "<subscription id>", answers.resource_group.name, c.name)
    grant = (f"az role assignment create --assignee <your object id> --role \"{ROLE}\" --scope {scope}"
             if access.azure_rbac else "add yourself to one of cluster.access.admin_group_object_ids")
    how = (f"the role {ROLE} on the cluster (Azure RBAC decides; an Owner of the subscription has no "
           "Kubernetes rights by that alone)" if access.azure_rbac else
           "membership of one of the admin groups (Kubernetes RBAC decides)")
    local = ("Local accounts are disabled, so there is no other way in. " if not access.local_accounts else "")
    detail = (f"The kubeconfig and the verification sign in through Microsoft Entra ID with this run's own "
              f"credential (no kubelogin needed). {local}Fetching the kubeconfig needs {AKS_USER_ROLE}; installing "
              f"the GPU stack and Kueue and running the verification's probes need {how}.")
    return [CheckResult("entra-access", "sign-in to Kubernetes through Microsoft Entra ID",
                        "warn" if not access.local_accounts else "pass", detail,
                        f"before apply's Kubernetes steps: {grant} (or be a member of an admin group)", None,
                        {"roles": [AKS_USER_ROLE, ROLE if access.azure_rbac else "admin group member"],
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
    from wizard.flags import flag_rules, needed_flags, option_on

    out: list[CheckResult] = []
    states = dict(plan.observed.flag_states)
    states.update(reads.extra_flag_states or {})
    listed = needed_flags(answers)
    listed_flags = {f.lower() for f, _ in listed}
    required = [(r.flag, r.why) for r in flag_rules() if option_on(answers, r.option)]
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
    report.items.extend(check_roles_needed(answers, subscription_id))
    report.items.extend(check_private(answers))
    report.items.extend(check_features(answers, plan, reads))
    report.items.extend(check_other_problems(plan, HANDLED_FIELDS))
    return report
