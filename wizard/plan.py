"""Answers plus what Azure already has -> an ordered set of idempotent steps (a small DAG).

`observe` only reads. `build_plan` is a pure function of answers and observations, so every decision it
makes (what is skipped, what differs, what is refused) can be tested without Azure.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypedDict

from wizard import durations, mesh_rules
from wizard.azure.catalog import KubeVersion, MeshRevision, version_key
from wizard.azure.clusters import in_progress
from wizard.azure.features import is_registered
from wizard.flags import needed_flags
from wizard.provenance import with_provenance
from wizard.spec import (
    Difference, Resolved, addon_count, az, az_cluster_create, az_cluster_update, az_pool_add, cluster_differences,
    cluster_update, desired_cluster, desired_pool, fixed, fixed_rule, pool_differences,
)
from wizard.plan_model import (
    PREVIEW_FIELDS, PROVIDER, GroupInputs, KubeconfigInputs, Observed, Plan, Problem, Step, arm_write, check_steps,
    gpu_pool_steps, is_arm_step,
)
from wizard.staging import enable_step, owed_rules, plan_new_cluster

if TYPE_CHECKING:
    from wizard.answers import Answers, GpuPoolAnswers
    from wizard.azure.connection import ArmConnection
    from wizard.journal import Journal

def observe(conn: "ArmConnection", answers: "Answers", subscription: tuple[str, str]) -> Observed:
    from wizard.azure import catalog, clusters, features, groups
    from wizard.azure.monitor import workspace_locations

    rg, name, loc = answers.resource_group.name, answers.cluster.name, answers.azure.location
    flags = [f for f, _ in needed_flags(answers)]

    def as_dict(obj: Any) -> dict[str, Any] | None:
        return obj.as_dict() if obj is not None else None

    with ThreadPoolExecutor(max_workers=8) as pool:
        f_group = pool.submit(groups.get_group, conn, rg)
        f_flags = {f: pool.submit(features.feature_state, conn, f) for f in flags}
        f_provider = pool.submit(features.provider_state, conn, PROVIDER)
        f_versions = pool.submit(catalog.list_versions, conn, loc)
        f_revisions = pool.submit(catalog.list_mesh_revisions, conn, loc) if answers.cluster.istio.enabled else None
        prom, given = answers.cluster.addons.managed_prometheus, answers.cluster.addons.monitor_workspace_id
        f_workspaces = pool.submit(workspace_locations, conn) if prom and not given else None
        f_given = pool.submit(given_workspace, conn, given) if prom and given else None
        group = f_group.result()
        f_cluster = pool.submit(clusters.get_cluster, conn, rg, name) if group is not None else None
        f_pools = {gp.name: pool.submit(clusters.get_pool, conn, rg, name, gp.name)
                   for gp in answers.all_gpu_pools} if group is not None else {}
        f_manifest = pool.submit(kueue_manifest_problem, answers)
        unreadable: list[bool] = []

        def provider_read(future: Any, empty: Any) -> Any:
            """The read's result; ``empty`` when ARM refused it because the provider is not registered."""
            from wizard.azure.errors import error_code

            try:
                return future.result() if future is not None else empty
            except Exception as exc:
                if error_code(exc) != "MissingSubscriptionRegistration":
                    raise
                unreadable.append(True)
                return empty

        cluster = provider_read(f_cluster, None)
        gpu_pools = {n: provider_read(f, None) for n, f in f_pools.items()}  # a 404 (no cluster, no pool): None
        return Observed(
            subscription_id=subscription[0],
            subscription_name=subscription[1],
            group=as_dict(group),
            flag_states={f: fut.result() for f, fut in f_flags.items()},
            provider_state=f_provider.result(),
            versions=provider_read(f_versions, []),
            revisions=provider_read(f_revisions, []),
            cluster=as_dict(cluster),
            pools={n: d for n, p in gpu_pools.items() if (d := as_dict(p)) is not None},
            kueue_manifest=f_manifest.result(),
            provider_unreadable=bool(unreadable),
            workspace_locations=f_workspaces.result() if f_workspaces else [],
            **(f_given.result() if f_given else {}),
        )


def given_workspace(conn: "ArmConnection", workspace_id: str) -> dict[str, Any]:
    """Observed's workspace_location of the given Azure Monitor workspace, or its workspace_problem: the plan
    places the data collection objects in the workspace's region, and a workspace that cannot be read stops the
    plan before anything is written (the run would stop there after creating the cluster)."""
    from azure.core.exceptions import HttpResponseError

    from wizard.azure.monitor import given_workspace_location

    field, fix = "cluster.addons.monitor_workspace_id", "remove monitor_workspace_id to use the region's default workspace"
    try:
        return {"workspace_location": given_workspace_location(conn, workspace_id)}
    except LookupError as exc:
        return {"workspace_problem": Problem(field, f"{exc}.", f"check the resource id, or {fix}.")}
    except HttpResponseError as exc:
        from wizard.azure.errors import translate

        failure = translate(exc)
        rid = f" (request id {failure.request_id})" if failure.request_id else ""
        return {"workspace_problem": Problem(field, f"Azure Monitor workspace {workspace_id} could not be read: "
                                            f"{failure.what}{rid}", f"{failure.action.rstrip('.')}; or {fix}.")}


def kueue_manifest_problem(answers: "Answers") -> "Problem | None":
    from wizard.addons.kueue import local_manifest_problem

    exc = local_manifest_problem(answers)
    return Problem(exc.failure.fix_field or "kueue.manifest", f"{exc.what} {exc.why}", exc.action) if exc else None


def plan_for(conn: "ArmConnection", answers: "Answers", subscription: tuple[str, str], journal: "Journal | None" = None,
             allow_update: bool = False, recreate_failed: bool = False, addon_options: Any = None) -> "Plan":
    """Observe Azure (reads only) and build the plan, re-attaching to operations the journal has in flight.
    addon_options: the session's (wizard.addons.AddonOptions), so add-ons in place are judged as they were applied."""
    from wizard.addons import settle_in_place

    plan = build_plan(answers, observe(conn, answers, subscription), allow_update=allow_update,
                      recreate_failed=recreate_failed, **from_journal(answers, journal))
    settle_in_place(conn, plan, addon_options)  # add-ons already in place are skipped: no changes after an apply
    return plan


# ---------------------------------------------------------------------------------------- resolution
def resolve_version(answers: "Answers", versions: list[KubeVersion], location: str) -> tuple[str | None, Problem | None]:
    wanted = answers.cluster.kubernetes_version
    minor = ".".join(wanted.split(".")[:2])
    offered = {v.minor: v for v in versions}
    listing = ", ".join(v.minor + (" (LTS only)" if v.lts_only else "") + (" (preview)" if v.is_preview else "")
                        for v in versions) or "none"
    kv = offered.get(minor)
    if kv is None:
        newer = [v.minor for v in versions if version_key(v.minor) >= (1, 34) and not v.lts_only]
        return None, Problem("cluster.kubernetes_version", f"Kubernetes {minor} is not offered in {location} "
                             f"(offered: {listing}).", f"choose {' or '.join(newer) or 'another location'}.")
    if kv.lts_only and not (answers.cluster.tier == "Premium" and answers.cluster.support_plan == "AKSLongTermSupport"):
        return None, Problem("cluster.kubernetes_version", f"Kubernetes {minor} is only available with Long-Term "
                             f"Support in {location}.", "set cluster.tier: Premium and cluster.support_plan: "
                             "AKSLongTermSupport, or choose a newer version.")
    if wanted != minor:
        if wanted not in kv.patches:
            return None, Problem("cluster.kubernetes_version", f"patch {wanted} is not offered in {location} "
                                 f"(offered: {', '.join(kv.patches)}).", f"use \"{minor}\" for the newest patch.")
        return wanted, None
    return kv.newest_patch, None


def resolve_revision(answers: "Answers", revisions: list[MeshRevision], minor: str,
                     existing: str | None) -> tuple[str | None, Problem | None]:
    istio = answers.cluster.istio
    if not istio.enabled:
        return None, None
    need_gateway = answers.cluster.gateway_api
    compatible = mesh_rules.compatible(revisions, minor)
    usable = mesh_rules.usable(revisions, minor, need_gateway)
    names = ", ".join(r.revision for r in compatible) or "none"
    if istio.revision == "auto":
        if existing and any(r.revision == existing for r in usable):
            return existing, None  # keep what the cluster runs: auto never upgrades a mesh behind your back
        if not usable:
            why = f" at {mesh_rules.GATEWAY_MIN_REVISION} or newer (needed by Gateway API)" if need_gateway else ""
            return None, Problem("cluster.istio.revision", f"no Istio revision compatible with Kubernetes {minor}"
                                 f"{why} is offered (compatible: {names}).",
                                 "choose another Kubernetes version, or turn Gateway API off.")
        return usable[-1].revision, None
    match = next((r for r in revisions if r.revision == istio.revision), None)
    if match is None:
        return None, Problem("cluster.istio.revision", f"revision {istio.revision} is not offered "
                             f"(offered: {', '.join(r.revision for r in revisions) or 'none'}).",
                             f"use auto or one of: {names}.")
    if minor not in match.compatible:
        return None, Problem("cluster.istio.revision", f"{istio.revision} is not compatible with Kubernetes {minor} "
                             f"(it supports {', '.join(match.compatible)}).", f"use auto or one of: {names}.")
    if need_gateway and not mesh_rules.supports_gateway_api(match.revision):
        return None, Problem("cluster.gateway_api", f"managed Gateway API needs Istio "
                             f"{mesh_rules.GATEWAY_MIN_REVISION} or newer; "
                             f"{istio.revision} is older.", f"use auto or one of: {names}.")
    return istio.revision, None


class JournalState(TypedDict, total=False):
    in_flight: dict[str, dict[str, Any]]
    provenance: dict[str, str]
    deferred: dict[str, list[str]]


def from_journal(answers: "Answers", journal: "Journal | None") -> JournalState:
    """What a plan takes from the journal of its answers: the operations it has in flight (re-attached, not sent
    again), the provenance tags, what a staged create deferred."""
    if journal is None:
        return {}
    ids = ["cluster", PREVIEW_FIELDS] + [sid for sid, _, _ in gpu_pool_steps(answers)]
    return {"in_flight": {s: r for s in ids if (r := journal.in_flight(s))},
            "provenance": journal.provenance(answers), "deferred": journal.deferred()}


# ---------------------------------------------------------------------------------------- the plan
def build_plan(answers: "Answers", obs: Observed, allow_update: bool = False,
               in_flight: dict[str, dict[str, Any]] | None = None, recreate_failed: bool = False,
               provenance: dict[str, str] | None = None, staged: bool | None = None,
               deferred: dict[str, list[str]] | None = None) -> Plan:
    """in_flight: step id -> journal record of an Azure operation accepted but not seen to finish.
    recreate_failed: consent to delete a cluster whose creation ended Failed and create it again.
    provenance: the tags every resource this plan creates carries (wizard.provenance).
    staged: a new cluster's order while flags register (None: the faster; False: one PUT after the flags).
    deferred: step id -> options an earlier staged create left for that step (Journal.deferred())."""
    plan = Plan(answers, obs, None, provenance=dict(provenance or {}))
    resolved = _resolve(plan, answers, obs)
    _plan_group(plan, answers, obs)
    _plan_flags(plan, obs, needed_flags(answers))
    cluster_deps = ("resource-group",) + (("provider",) if any(s.id == "provider" for s in plan.steps) else ())
    if obs.provider_unreadable:
        plan.notes.append(f"{PROVIDER} is not registered in this subscription, so the Kubernetes versions and Istio "
                          "revisions offered, and whether the cluster exists, cannot be read yet: apply registers it "
                          "first, then reads them and plans the cluster and add-on steps.")
    if plan.problems or obs.provider_unreadable:
        return plan
    if obs.cluster is None:  # 3. a new cluster: one PUT with everything, or staged while flags register
        plan_new_cluster(plan, answers, resolved, ("resource-group",), staged)
    else:
        _plan_existing_cluster(plan, answers, obs, resolved, allow_update, cluster_deps, in_flight or {},
                               recreate_failed, set((deferred or {}).get(PREVIEW_FIELDS) or []))
    # 4. kubeconfig (read): later steps and verification talk to the cluster with it
    plan.steps.append(Step("kubeconfig", f"fetch the user kubeconfig of {answers.cluster.name}", "read",
                           az("aks", "get-credentials", "-g", answers.resource_group.name, "-n", answers.cluster.name),
                           deps=tuple(s.id for s in plan.steps if is_arm_step(s.id)),
                           typical=durations.CREDENTIALS, payload=KubeconfigInputs(
                               answers.resource_group.name, answers.cluster.name,
                               answers.cluster.network.api_server.private)))
    # 5. what the checklist needs beyond the cluster PUT: metrics pipeline, GPU scraping, Kueue
    from wizard.addons import addon_steps

    plan.steps += addon_steps(answers, plan)
    check_steps(plan.steps)
    return plan


def _resolve(plan: Plan, answers: "Answers", obs: Observed) -> Resolved:
    """The exact version and Istio revision the answers mean here (problems when none is offered)."""
    version, problem = resolve_version(answers, obs.versions, answers.azure.location)
    if problem and not obs.provider_unreadable:
        plan.problems.append(problem)
    minor = ".".join((version or answers.cluster.kubernetes_version).split(".")[:2])
    existing_rev = None
    if obs.cluster:
        existing_rev = (((obs.cluster.get("properties") or {}).get("serviceMeshProfile") or {})
                        .get("istio") or {}).get("revisions", [None])[-1]
    revision, problem = (resolve_revision(answers, obs.revisions, minor, existing_rev) if version
                         else (None, None))  # no revision can be judged against a version that isn't offered
    if problem:
        plan.problems.append(problem)
    plan.problems += [p for p in (obs.kueue_manifest, obs.workspace_problem) if p is not None]
    plan.resolved = Resolved(obs.subscription_id, obs.subscription_name,
                             version or answers.cluster.kubernetes_version, revision,
                             tuple(f for f, _ in needed_flags(answers)))
    return plan.resolved


def _plan_group(plan: Plan, answers: "Answers", obs: Observed) -> None:
    """1. the resource group."""
    rg, loc = answers.resource_group.name, answers.azure.location
    if obs.group is None:
        group_tags = with_provenance(answers.resource_group.tags, plan.provenance) or {}
        plan.steps.append(Step("resource-group", f"create resource group {rg} in {loc}", "create",
                               az("group", "create", "-n", rg, "-l", loc,
                                  *(["--tags", *[f"{k}={v}" for k, v in group_tags.items()]] if group_tags else [])),
                               typical=durations.RESOURCE_GROUP, created=True, payload=GroupInputs(rg, loc, group_tags)))
    else:
        plan.steps.append(Step("resource-group", f"resource group {rg} exists ({obs.group.get('location')})",
                               "skip", az("group", "show", "-n", rg), reason="already exists"))


def _plan_flags(plan: Plan, obs: Observed, flags: list[tuple[str, str]]) -> None:
    """2. preview flags (in parallel with the group), then one provider re-registration."""
    flag_steps = []
    for flag, why in flags:
        state = obs.flag_states.get(flag, "Unknown")
        sid = "feature:" + flag.split("/")[-1]
        ns, fname = flag.split("/", 1)
        if state.lower() == "registered":
            plan.steps.append(Step(sid, f"preview feature {flag} is Registered", "skip",
                                   az("feature", "show", "--namespace", ns, "--name", fname), reason="registered"))
            continue
        flag_steps.append(sid)
        plan.steps.append(Step(sid, f"register preview feature {flag} ({why}; now {state})", "register",
                               az("feature", "register", "--namespace", ns, "--name", fname),
                               typical=durations.FEATURE_REGISTRATION, payload=flag, reason=f"state {state}"))
    if flag_steps or obs.provider_state.lower() != "registered":
        title = (f"re-register resource provider {PROVIDER} so new flags take effect" if is_registered(obs.provider_state)
                 else f"register resource provider {PROVIDER} (now {obs.provider_state})")
        plan.steps.append(Step("provider", title,
                               "register", az("provider", "register", "--namespace", PROVIDER),
                               deps=tuple(flag_steps), typical=durations.PROVIDER_REGISTRATION, payload=PROVIDER))


def _plan_existing_cluster(plan: Plan, answers: "Answers", obs: Observed, resolved: Resolved, allow_update: bool,
                           deps: tuple[str, ...], in_flight: dict[str, dict[str, Any]],
                           recreate_failed: bool = False, owed: set[str] | None = None) -> None:
    """owed: options a staged create of this wizard left for `preview-fields` (sent without --allow-update)."""
    name = answers.cluster.name
    cluster = obs.cluster or {}
    state = ((cluster.get("properties") or {}).get("provisioningState") or "Succeeded")
    minor_only = answers.cluster.kubernetes_version.count(".") == 1
    diffs = cluster_differences(cluster, answers, resolved, minor_only)
    owed_diffs = [d for d in diffs if d.field in (owed or set())]
    others = [d for d in diffs if d not in owed_diffs]
    _note_other_pools(plan, answers, cluster)
    preview_deps = ("cluster",) + (("provider",) if "provider" in deps else ())
    if in_progress(state):
        _plan_cluster_busy(plan, answers, resolved, state, deps, diffs, in_flight, owed or set(), preview_deps)
    elif state.lower() == "failed":
        _plan_failed_cluster(plan, answers, resolved, cluster, deps, diffs, recreate_failed)
    elif others:
        if fixed(others):
            plan.problems.append(_fixed_problem("cluster", f"cluster {name}", others))
        elif not allow_update:
            plan.problems.append(Problem(
                "cluster", f"cluster {name} exists with different settings: " + "; ".join(map(str, others)) + ".",
                "re-run with --allow-update to apply these changes, or change the answers to match."))
        typical_update = durations.CLUSTER_UPDATE
        if any(d.field == "cluster.istio.enabled" for d in diffs):
            typical_update = durations.MESH_ENABLE
        elif any(d.field == "cluster.gateway_api" for d in diffs):
            typical_update = durations.GATEWAY_API_UPDATE
        plan.steps.append(Step("cluster", f"update cluster {name}: " + "; ".join(map(str, diffs)), "update",
                               az_cluster_update(answers, diffs),
                               deps=deps, typical=typical_update, differences=diffs,
                               payload=arm_write(answers, update=cluster_update(answers, resolved))))
    elif owed_diffs:  # created by a staged create: what it deferred follows now, with no --allow-update
        plan.steps.append(Step("cluster", f"cluster {name} exists (created without what waits for the preview "
                               "flags)", "skip", az("aks", "show", "-g", answers.resource_group.name, "-n", name),
                               deps=deps, reason="created; deferred fields follow"))
        plan.steps.append(enable_step(answers, resolved, owed_rules(d.field for d in owed_diffs), preview_deps,
                                      differences=owed_diffs))
    else:
        plan.steps.append(Step("cluster", f"cluster {name} exists with these settings", "skip",
                               az("aks", "show", "-g", answers.resource_group.name, "-n", name), reason="identical"))

    for step_id, pool, path in gpu_pool_steps(answers):
        _plan_existing_pool(plan, answers, obs, resolved, allow_update, in_flight, step_id, pool, path)


def _plan_cluster_busy(plan: Plan, answers: "Answers", resolved: Resolved, state: str, deps: tuple[str, ...],
                       diffs: list[Difference], in_flight: dict[str, dict[str, Any]], owed: set[str],
                       preview_deps: tuple[str, ...]) -> None:
    """An operation runs on the cluster: follow it. The update of a staged create's deferred fields re-attaches
    as `preview-fields`; a create still running is followed, and the deferred fields come after it."""
    name, rg = answers.cluster.name, answers.resource_group.name
    wait = az("aks", "wait", "-g", rg, "-n", name, "--updated")
    if in_flight.get(PREVIEW_FIELDS) and not in_flight.get("cluster"):
        plan.steps.append(Step("cluster", f"cluster {name} exists; the update of its deferred fields runs", "skip",
                               az("aks", "show", "-g", rg, "-n", name), deps=deps, reason="created"))
        plan.steps.append(enable_step(answers, resolved, owed_rules(owed), ("cluster",), action="attach",
                                      in_flight=in_flight[PREVIEW_FIELDS]))
        return
    plan.steps.append(Step("cluster", f"cluster {name} is {state}: wait for that operation", "attach", wait,
                           deps=deps, typical=durations.CLUSTER_UPDATE, differences=diffs,
                           payload=arm_write(answers, in_flight=in_flight.get("cluster")),
                           reason=f"provisioningState {state}",
                           created=bool((in_flight.get("cluster") or {}).get("creates"))))
    if owed:
        plan.steps.append(enable_step(answers, resolved, owed_rules(owed), preview_deps))


def _plan_failed_cluster(plan: Plan, answers: "Answers", resolved: Resolved, cluster: dict[str, Any],
                         deps: tuple[str, ...], diffs: list[Difference], recreate_failed: bool) -> None:
    name, rg = answers.cluster.name, answers.resource_group.name
    error = ((cluster.get("properties") or {}).get("status") or {}).get("provisioningError") or {}
    said = f" (Azure: {error.get('code')}: {error.get('message')})" if error.get("code") else ""
    if recreate_failed:
        plan.steps.append(Step(
            "cluster", f"cluster {name} is Failed{said}: delete it and create it again (--recreate-failed)",
            "recreate", az("aks", "delete", "-g", rg, "-n", name, "--yes") + "\n" +
            az_cluster_create(answers, resolved), deps=deps,
            typical=durations.cluster_create(len(answers.all_gpu_pools), answers.cluster.istio.enabled,
                                             addon_count(answers)) * 2,
            payload=arm_write(answers, body=desired_cluster(answers, resolved, provenance=plan.provenance)),
            created=True, reason="consent given"))
        return
    plan.steps.append(Step("cluster", f"cluster {name} is Failed{said}: send the same PUT again to "
                           "reconcile it", "retry", az("aks", "update", "-g", rg, "-n", name),
                           deps=deps, typical=durations.CLUSTER_UPDATE, differences=diffs,
                           payload=arm_write(answers, update=cluster_update(answers, resolved)),
                           reason="provisioningState Failed"))
    plan.notes.append(f"cluster {name} is Failed{said}. This run sends the same PUT again, which "
                      "reconciles most failures; if it fails again, re-run with --recreate-failed to delete "
                      "the failed cluster and create it anew.")


def _plan_existing_pool(plan: Plan, answers: "Answers", obs: Observed, resolved: Resolved, allow_update: bool,
                        in_flight: dict[str, dict[str, Any]], step_id: str, gp: "GpuPoolAnswers", path: str) -> None:
    name = answers.cluster.name
    cluster = obs.cluster or {}
    pool_name = gp.name
    cluster_put = plan.step("cluster").action
    if cluster_put == "recreate":
        return  # the new cluster's PUT carries the GPU pool
    if cluster_put == "retry" and any(p.get("name") == pool_name for p in
                                      (cluster.get("properties") or {}).get("agentPoolProfiles") or []):
        return  # the reconciling cluster PUT carries the pool as it is
    want = desired_pool(answers, resolved, pool=gp).as_dict().get("properties", {})
    existing_pool = obs.pools.get(pool_name)
    if existing_pool is None:
        existing_pool = next(({"properties": p} for p in (cluster.get("properties") or {}).get("agentPoolProfiles") or []
                              if p.get("name") == pool_name), None)
    az_add = az_pool_add(answers, gp)
    # AKS runs one operation at a time on a cluster: a pool waits for the deferred fields' update
    pool_deps = ("cluster",) + ((PREVIEW_FIELDS,) if any(s.id == PREVIEW_FIELDS for s in plan.steps) else ())
    if existing_pool is None:
        plan.steps.append(Step(step_id, f"add GPU pool {pool_name} ({gp.vm_size}{', Spot' if gp.priority == 'Spot' else ''})",
                               "create", az_add, deps=pool_deps,
                               typical=durations.AGENT_POOL, created=True,
                               payload=arm_write(answers, pool_name, body=desired_pool(
                                   answers, resolved, provenance=plan.provenance, pool=gp))))
        return
    pool_state = ((existing_pool.get("properties") or {}).get("provisioningState") or "Succeeded").lower()
    kept_tags = (existing_pool.get("properties") or {}).get("tags")  # a PUT keeps the pool's tags (provenance too)
    pdiffs = pool_differences(existing_pool.get("properties") or {}, want, path)
    if in_progress(pool_state):
        plan.steps.append(Step(step_id, f"GPU pool {pool_name} is {pool_state}: wait for it", "attach",
                               az("aks", "nodepool", "wait", "--cluster-name", name, "-n", pool_name),
                               deps=pool_deps, typical=durations.AGENT_POOL,
                               payload=arm_write(answers, pool_name, in_flight=in_flight.get(step_id)),
                               created=bool((in_flight.get(step_id) or {}).get("creates"))))
    elif pool_state == "failed":
        plan.steps.append(Step(step_id, f"GPU pool {pool_name} is Failed: send the same PUT again", "retry",
                               az_add, deps=pool_deps, typical=durations.AGENT_POOL,
                               payload=arm_write(answers, pool_name, body=desired_pool(answers, resolved, kept_tags,
                                                                                       pool=gp)),
                               differences=pdiffs))
    elif pdiffs:
        if fixed(pdiffs):
            plan.problems.append(_fixed_problem(path, f"GPU pool {pool_name}", pdiffs))
        elif not allow_update:
            plan.problems.append(Problem(
                path, f"GPU pool {pool_name} exists with different settings: " + "; ".join(map(str, pdiffs)) + ".",
                "re-run with --allow-update to apply these changes, or change the answers to match."))
        plan.steps.append(Step(step_id, f"update GPU pool {pool_name}: " + "; ".join(map(str, pdiffs)), "update",
                               az("aks", "nodepool", "update", "--cluster-name", name, "-n", pool_name),
                               deps=pool_deps, typical=durations.AGENT_POOL, differences=pdiffs,
                               payload=arm_write(answers, pool_name, body=desired_pool(answers, resolved, kept_tags,
                                                                                       pool=gp))))
    else:
        plan.steps.append(Step(step_id, f"GPU pool {pool_name} exists with these settings", "skip",
                               az("aks", "nodepool", "show", "--cluster-name", name, "-n", pool_name),
                               reason="identical"))


def _fixed_problem(field: str, what: str, diffs: list[Difference]) -> Problem:
    """Differences no update can apply: refused with or without --allow-update, each with its way out."""
    cannot = fixed(diffs)
    return Problem(field, f"{what} exists with settings that cannot be changed in place: "
                   + "; ".join(map(str, cannot)) + "."
                   + (" Other differences: " + "; ".join(str(d) for d in diffs if d not in cannot) + "."
                      if len(cannot) < len(diffs) else ""),
                   "; ".join(dict.fromkeys(str(fixed_rule(d.field)) for d in cannot)) + ".")


def _note_other_pools(plan: Plan, answers: "Answers", cluster: dict[str, Any]) -> None:
    """Pools of the cluster the answers do not describe are kept as they are: say so."""
    described = {answers.cluster.system_pool.name} | {p.name for p in answers.all_gpu_pools}
    others = [f"{p.get('name')} ({p.get('mode') or 'User'}, {p.get('vmSize')})"
              for p in (cluster.get("properties") or {}).get("agentPoolProfiles") or []
              if p.get("name") not in described]
    if others:
        plan.notes.append(f"cluster {answers.cluster.name} also has pools the answers do not describe, kept as they "
                          f"are: {', '.join(others)}.")
