"""The plan as a pure function of answers and what Azure already has (no Azure involved)."""
from __future__ import annotations

import copy

import pytest

from wizard.answers import answers_from_dict
from wizard.azure.catalog import KubeVersion, MeshRevision
from wizard.flags import needed_flags
from wizard.plan_model import Observed
from wizard.plan import build_plan
from wizard.spec import desired_cluster

SUB = "3f2c8a9e-5b1d-4c7e-9a60-2d84f1b7c513"
VERSIONS = [
    KubeVersion("1.32", ("1.32.7",), ("AKSLongTermSupport",)),
    KubeVersion("1.33", ("1.33.2", "1.33.5")),
    KubeVersion("1.34", ("1.34.1", "1.34.3", "1.34.2"), ("KubernetesOfficial", "AKSLongTermSupport"), is_default=True),
    KubeVersion("1.35", ("1.35.0",)),
]
REVISIONS = [
    MeshRevision("asm-1-25", ("1.31", "1.32", "1.33")),
    MeshRevision("asm-1-26", ("1.32", "1.33", "1.34")),
    MeshRevision("asm-1-27", ("1.33", "1.34", "1.35")),
]


def answers(**overrides):
    data = {
        "azure": {"subscription": "Simulated Subscription", "location": "eastus2"},
        "resource_group": {"name": "rg-ai"},
        "cluster": {"name": "aks-ai"},
        "gpu_pool": {"vm_size": "Standard_NC6s_v3", "autoscale": {"min": 1, "max": 3}, "managed_gpu": True},
    }
    for path, value in overrides.items():
        node = data
        keys = path.split("__")
        for k in keys[:-1]:
            node = node.setdefault(k, {})
        node[keys[-1]] = value
    return answers_from_dict(data)


def observed(**kw) -> Observed:
    base = dict(subscription_id=SUB, subscription_name="Simulated Subscription", versions=VERSIONS,
                revisions=REVISIONS, flag_states={})
    base.update(kw)
    return Observed(**base)


def test_new_cluster_is_one_put_with_everything_and_flags_first():
    a = answers()
    plan = build_plan(a, observed(), staged=False)  # the single-PUT order (staged: test_staged_apply)
    assert plan.ok, plan.problems
    ids = [s.id for s in plan.steps]
    assert ids[:6] == ["resource-group", "feature:ManagedGatewayAPIPreview", "feature:ManagedGPUExperiencePreview",
                       "provider", "cluster", "kubeconfig"]
    assert {"monitor-workspace", "gpu-metrics", "kueue", "kueue-queues"} <= set(ids[6:])  # add-ons follow
    assert plan.resolved.kubernetes_version == "1.34.3"  # newest patch, not the first listed
    assert plan.resolved.istio_revision == "asm-1-27"  # newest compatible with 1.34
    provider = plan.step("provider")
    assert set(provider.deps) == {"feature:ManagedGatewayAPIPreview", "feature:ManagedGPUExperiencePreview"}
    cluster = plan.step("cluster")
    assert set(cluster.deps) == {"resource-group", "provider"}
    assert plan.step("resource-group").deps == ()  # runs while flags register
    body = cluster.payload.body.as_dict()
    props = body["properties"]
    assert [p["name"] for p in props["agentPoolProfiles"]] == ["system", "gpunp"]
    gpu = props["agentPoolProfiles"][1]
    assert gpu["enableAutoScaling"] is True and (gpu["minCount"], gpu["maxCount"]) == (1, 3)
    assert gpu["gpuProfile"]["nvidia"]["managementMode"] == "Managed"
    assert props["serviceMeshProfile"] == {"mode": "Istio", "istio": {"revisions": ["asm-1-27"]}}
    assert props["ingressProfile"]["gatewayAPI"]["installation"] == "Standard"
    assert props["workloadAutoScalerProfile"]["keda"]["enabled"] is True
    assert props["aiToolchainOperatorProfile"]["enabled"] is True and props["oidcIssuerProfile"]["enabled"] is True
    assert props["azureMonitorProfile"]["metrics"]["enabled"] is True
    assert "--enable-gateway-api" in cluster.az and "az aks nodepool add" in cluster.az
    assert cluster.typical == 360 + 90 + 60 + 3 * 30


def test_registered_flags_are_skipped_and_no_provider_step():
    a = answers()
    plan = build_plan(a, observed(flag_states={f: "Registered" for f, _ in needed_flags(a)}))
    assert [s.action for s in plan.steps if s.id.startswith("feature:")] == ["skip", "skip"]
    assert all(s.id != "provider" for s in plan.steps)
    assert plan.step("cluster").deps == ("resource-group",)


def test_flags_follow_options_data():
    a = answers(cluster__gateway_api=False, gpu_pool__managed_gpu=False)
    assert needed_flags(a) == []
    explicit = answers(features=["Microsoft.ContainerService/NodeAutoProvisioningPreview"])
    assert [f for f, _ in needed_flags(explicit)] == ["Microsoft.ContainerService/NodeAutoProvisioningPreview"]


@pytest.mark.parametrize("version,expect", [("1.34.2", "1.34.2"), ("1.35", "1.35.0")])
def test_version_resolution(version, expect):
    plan = build_plan(answers(cluster__kubernetes_version=version), observed())
    assert plan.ok and plan.resolved.kubernetes_version == expect


def test_version_not_offered_is_a_problem_naming_the_field():
    plan = build_plan(answers(cluster__kubernetes_version="1.36"), observed())
    assert not plan.ok
    (p,) = plan.problems
    assert p.field == "cluster.kubernetes_version" and "not offered in eastus2" in p.message and "1.35" in p.fix
    assert all(s.id != "cluster" for s in plan.steps)  # nothing to create on a failing plan


def test_lts_only_needs_premium():
    versions = [KubeVersion("1.34", ("1.34.1",), ("AKSLongTermSupport",))]
    plan = build_plan(answers(), observed(versions=versions))
    assert "Long-Term Support" in plan.problems[0].message and "Premium" in plan.problems[0].fix
    ok = build_plan(answers(cluster__tier="Premium", cluster__support_plan="AKSLongTermSupport"),
                    observed(versions=versions))
    assert ok.ok


def test_gateway_api_needs_asm_1_26():
    old_only = [MeshRevision("asm-1-25", ("1.34",))]
    plan = build_plan(answers(), observed(revisions=old_only))
    assert plan.problems[0].field == "cluster.istio.revision" and "asm-1-26" in plan.problems[0].message
    plan = build_plan(answers(cluster__istio={"enabled": True, "revision": "asm-1-25"}, cluster__gateway_api=False),
                      observed(revisions=REVISIONS))
    (p,) = plan.problems
    assert p.field == "cluster.istio.revision" and "not compatible with Kubernetes 1.34" in p.message
    assert "asm-1-26, asm-1-27" in p.fix


def test_existing_identical_cluster_is_skipped_and_differences_refused():
    a = answers()
    first = build_plan(a, observed(), staged=False)
    existing = copy.deepcopy(first.step("cluster").payload.body.as_dict())
    existing["properties"]["provisioningState"] = "Succeeded"
    existing["properties"]["currentKubernetesVersion"] = "1.34.3"
    obs = observed(group={"location": "eastus2"}, cluster=existing,
                   flag_states={f: "Registered" for f, _ in needed_flags(a)})
    plan = build_plan(a, obs)
    assert plan.ok
    core = {s.id: s.action for s in plan.steps if s.id in (
        "resource-group", "feature:ManagedGatewayAPIPreview", "feature:ManagedGPUExperiencePreview", "provider",
        "cluster", "gpu-pool", "kubeconfig")}
    assert core == {
        "resource-group": "skip", "feature:ManagedGatewayAPIPreview": "skip",
        "feature:ManagedGPUExperiencePreview": "skip", "cluster": "skip", "gpu-pool": "skip", "kubeconfig": "read"}

    changed = answers(cluster__addons={"keda": False}, gpu_pool__autoscale={"min": 1, "max": 5})
    plan = build_plan(changed, obs)
    assert not plan.ok
    fields = {p.field for p in plan.problems}
    assert fields == {"cluster", "gpu_pool"}
    assert "cluster.addons.keda: True -> False" in plan.problems[0].message
    assert "--allow-update" in plan.problems[0].fix
    allowed = build_plan(changed, obs, allow_update=True)
    assert allowed.ok and allowed.step("cluster").action == "update" and allowed.step("gpu-pool").action == "update"


def test_in_flight_and_failed_clusters():
    a = answers()
    body = build_plan(a, observed(), staged=False).step("cluster").payload.body.as_dict()
    body["properties"]["provisioningState"] = "Creating"
    record = {"continuation_token": "tok", "creates": True}
    plan = build_plan(a, observed(group={}, cluster=body), in_flight={"cluster": record})
    step = plan.step("cluster")
    assert step.action == "attach" and step.payload.in_flight == record and step.created
    body["properties"]["provisioningState"] = "Failed"
    assert build_plan(a, observed(group={}, cluster=body)).step("cluster").action == "retry"


def test_desired_cluster_without_gpu_pool_or_istio():
    a = answers(gpu_pool=None, cluster__istio={"enabled": False}, cluster__gateway_api=False)
    plan = build_plan(a, observed())
    props = plan.step("cluster").payload.body.as_dict()["properties"]
    assert len(props["agentPoolProfiles"]) == 1 and "serviceMeshProfile" not in props
    assert plan.resolved.istio_revision is None
    assert desired_cluster(a, plan.resolved).dns_prefix.startswith("aks-ai-rg-ai-3f2c8a")


def test_a_rerun_after_a_lost_put_response_waits_for_the_cluster_instead_of_calling_it_identical(tmp_path):
    from wizard.journal import Journal

    a = answers()
    body = build_plan(a, observed(), staged=False).step("cluster").payload.body.as_dict()
    journal = Journal(tmp_path / "answers.journal.jsonl")
    journal.append("cluster", "started", action="create")
    journal.append("cluster", "intent", creates=True)  # the PUT was sent; its answer never came
    record = journal.in_flight("cluster")
    assert record is not None and record["event"] == "intent"
    # ARM: every state but Succeeded, Failed and Canceled means an operation still runs (RP-specific ones too)
    for state in ("Creating", "Accepted", "ProvisionNetworkResources"):
        body["properties"]["provisioningState"] = state
        step = build_plan(a, observed(group={}, cluster=body), in_flight={"cluster": record}).step("cluster")
        assert (step.action, step.created) == ("attach", True), state
    journal.append("cluster", "refused", code="OperationNotAllowed")  # Azure refused it: nothing of ours runs
    assert journal.in_flight("cluster") is None


def _existing(a, **props):
    """An existing cluster as Azure would show it, built from what a plan would have created."""
    body = copy.deepcopy(build_plan(a, observed(), staged=False).step("cluster").payload.body.as_dict())
    body["properties"].update(provisioningState="Succeeded", currentKubernetesVersion="1.34.3", **props)
    body["properties"]["agentPoolProfiles"] = [p for p in body["properties"]["agentPoolProfiles"]
                                               if p["mode"] == "System"]
    return body


def _registered(a):
    return {f: "Registered" for f, _ in needed_flags(a)}


def test_every_field_the_answers_set_is_compared_with_the_existing_cluster():
    a = answers(gpu_pool=None)
    existing = _existing(a)
    obs = observed(group={"location": "eastus2"}, cluster=existing, flag_states=_registered(a))
    assert build_plan(a, obs).step("cluster").action == "skip"
    edited = answers(gpu_pool=None, cluster__system_pool={"count": 3}, cluster__tags={"env": "prod"},
                     cluster__support_plan="AKSLongTermSupport", cluster__tier="Premium")
    existing["tags"] = {"env": "dev", "added-by-policy": "x"}  # tags Azure or a policy added are no difference
    plan = build_plan(edited, obs)
    diffs = {d.field: (d.current, d.desired) for d in plan.step("cluster").differences}
    assert diffs == {"cluster.system_pool.count": (2, 3), "cluster.tags": ({"env": "dev"}, {"env": "prod"}),
                     "cluster.support_plan": ("KubernetesOfficial", "AKSLongTermSupport"),
                     "cluster.tier": ("Standard", "Premium")}
    assert not plan.ok and "--allow-update" in plan.problems[0].fix
    allowed = build_plan(edited, obs, allow_update=True)
    assert allowed.ok and allowed.step("cluster").action == "update"


def test_pools_are_matched_by_their_real_names_and_fixed_settings_are_refused_even_with_allow_update():
    a = answers(gpu_pool=None)
    existing = _existing(a)
    existing["properties"]["agentPoolProfiles"][0]["name"] = "nodepool1"  # made by az aks create
    existing["properties"]["agentPoolProfiles"].append({"name": "batch", "mode": "User", "vmSize": "Standard_D8ds_v5"})
    obs = observed(group={"location": "eastus2"}, cluster=existing, flag_states=_registered(a))
    plan = build_plan(a, obs, allow_update=True)
    diffs = {d.field: (d.current, d.desired) for d in plan.step("cluster").differences}
    assert diffs == {"cluster.system_pool.name": ("nodepool1 (no pool named system)", "system")}
    assert not plan.ok
    problem = plan.problems[0]
    assert "cannot be changed in place" in problem.message and "cluster.system_pool.name" in problem.fix
    assert any("batch (User, Standard_D8ds_v5)" in n and "kept as they are" in n for n in plan.notes)

    existing["properties"]["agentPoolProfiles"][0]["name"] = "system"
    existing["properties"]["networkProfile"]["networkPluginMode"] = None  # Azure CNI without overlay
    existing["properties"]["agentPoolProfiles"][0]["vmSize"] = "Standard_D2ds_v5"
    plan = build_plan(a, obs, allow_update=True)
    fields = {d.field for d in plan.step("cluster").differences}
    assert fields == {"cluster.network.plugin_mode", "cluster.system_pool.vm_size"}
    assert not plan.ok and "cluster.system_pool.vm_size" in plan.problems[0].fix


def test_preflight_never_calls_a_missing_system_pool_existing_and_unchanged():
    from wizard.preflight.checks import pool_intents

    a = answers(gpu_pool=None)
    existing = _existing(a)
    obs = observed(group={"location": "eastus2"}, cluster=existing, flag_states=_registered(a))
    assert pool_intents(a, build_plan(a, obs))[0].state == "unchanged"
    existing["properties"]["agentPoolProfiles"][0]["name"] = "nodepool1"
    intent = pool_intents(a, build_plan(a, obs))[0]
    assert intent.state == "new"  # no pool named system: its size, zones and quota are checked as for a new pool
    existing["properties"]["agentPoolProfiles"][0].update(name="system", count=1)
    intent = pool_intents(a, build_plan(a, obs))[0]
    assert (intent.state, intent.existing_nodes) == ("changed", 1)


PROVENANCE = {"created-by": "aks-ai-wizard", "aks-ai-wizard-answers": "answers.yaml:0123456789ab",
              "aks-ai-wizard-run": "r1"}


def test_provenance_tags_go_on_what_the_plan_creates_and_never_count_as_a_difference():
    from wizard.spec import updated_cluster

    a = answers(cluster__tags={"team": "ml"}, resource_group__tags={"cost": "ai"})
    plan = build_plan(a, observed(), provenance=PROVENANCE, staged=False)
    body = plan.step("cluster").payload.body.as_dict()
    assert body["tags"] == {"team": "ml", **PROVENANCE}
    assert body["properties"]["agentPoolProfiles"][1]["tags"] == PROVENANCE  # the GPU pool
    assert plan.step("resource-group").payload.tags == {"cost": "ai", **PROVENANCE}
    assert "created-by=aks-ai-wizard" in plan.step("resource-group").az

    # the cluster the wizard created, read back later by another run (a new run id): identical, nothing to do
    existing = copy.deepcopy(body)
    existing["properties"]["provisioningState"] = "Succeeded"
    existing["properties"]["currentKubernetesVersion"] = "1.34.3"
    obs = observed(group={"location": "eastus2"}, cluster=existing,
                   flag_states={f: "Registered" for f, _ in needed_flags(a)})
    again = build_plan(a, obs, provenance={**PROVENANCE, "aks-ai-wizard-run": "r2"})
    assert again.ok and again.step("cluster").action == "skip"

    # a cluster someone else made: an update never labels it as ours, and no tag change is shown
    foreign = copy.deepcopy(existing)
    foreign["tags"] = {"owner": "platform"}
    changed = answers(cluster__addons={"keda": False})
    upd = build_plan(changed, observed(group={"location": "eastus2"}, cluster=foreign,
                                       flag_states={f: "Registered" for f, _ in needed_flags(a)}),
                     allow_update=True, provenance=PROVENANCE)
    step = upd.step("cluster")
    assert step.action == "update" and [d.field for d in step.differences] == ["cluster.addons.keda"]
    from azure.mgmt.containerservice import models as m

    put = updated_cluster(m.ManagedCluster(foreign), changed, upd.resolved)
    assert put.tags == {"owner": "platform"}


def test_a_plan_with_repeated_or_dangling_steps_is_a_programming_error():
    from wizard.plan_model import PlanError, Step, check_steps

    def step(sid: str, *deps: str) -> Step:
        return Step(sid, sid, "update", "az", deps=deps)

    check_steps([step("a"), step("b", "a")])
    for steps, said in (([step("a"), step("a")], "duplicate step ids: a"),
                        ([step("a", "z")], "depends on unknown step(s) z"),
                        ([step("a", "b"), step("b", "a")], "in a cycle: a, b"),
                        ([step("a", "a")], "in a cycle: a")):
        with pytest.raises(PlanError, match=said.replace("(", r"\(").replace(")", r"\)")):
            check_steps(steps)


def test_the_engine_refuses_to_run_a_plan_whose_steps_could_never_all_run():
    from wizard.engine import Engine
    from wizard.plan_model import Plan, PlanError, Step

    plan = Plan(answers(), observed(), None, steps=[Step("delete-monitor:rule", "x", "update", "az"),
                                                    Step("delete-monitor:rule", "y", "update", "az")])
    with pytest.raises(PlanError):
        Engine(None, plan, lambda e: None).run()  # type: ignore[arg-type]


def test_the_engine_refuses_a_step_kind_it_has_no_runner_for_before_anything_runs():
    from wizard.engine import Engine
    from wizard.plan_model import Plan, PlanError, Step

    sent: list = []
    plan = Plan(answers(), observed(), None, steps=[Step("resource-group", "rg", "create", "az"),
                                                    Step("kueue", "k", "create", "az", deps=("resource-group",))])
    with pytest.raises(PlanError, match="no runner for step kind.s. kueue"):
        Engine(None, plan, sent.append).run()  # type: ignore[arg-type] - the built-in table only
    assert sent == []  # not even the resource group started


def test_one_runner_table_holds_every_kind_of_apply_and_teardown():
    from wizard.addons import ADDON_RUNNERS
    from wizard.engine import BUILTIN_RUNNERS
    from wizard.runners import runners
    from wizard.teardown import TEARDOWN_RUNNERS

    table = runners()
    assert set(table) == set(BUILTIN_RUNNERS) | set(ADDON_RUNNERS) | set(TEARDOWN_RUNNERS)
    assert {"cluster", "kubeconfig", "kueue", "cluster-access", "delete-cluster", "delete-access"} <= set(table)


def test_add_on_steps_carry_their_inputs_in_a_frozen_payload():
    import dataclasses

    from wizard.addons import GpuStackInputs, KueueInputs, QueueInputs

    a = answers(gpu_pool={"vm_size": "Standard_NC6s_v3", "autoscale": {"min": 1, "max": 3}, "managed_gpu": False,
                          "taints": ["sku=gpu:NoSchedule"]})
    plan = build_plan(a, observed(group={"location": "eastus2"}))
    stack, kueue, queues = (plan.step(i).payload for i in ("gpu-stack", "kueue", "kueue-queues"))
    assert stack == GpuStackInputs((a.all_gpu_pools[0].name,), ("sku=gpu:NoSchedule",))
    assert isinstance(kueue, KueueInputs) and kueue.kueue.version == a.kueue.version
    assert queues == QueueInputs((3,))  # the autoscaler's maximum, not today's count
    with pytest.raises(dataclasses.FrozenInstanceError):
        stack.taints = ()  # type: ignore[misc]


def test_one_registration_wait_polls_until_registered_and_stops_at_its_deadline():
    import time

    from wizard.azure.features import wait_registered

    states, seen, slept = iter(["Registering", "Registered"]), [], []
    got = wait_registered("Registering", lambda: next(states), slept.append, 0.5, time.monotonic() + 60,
                          seen.append, lambda s: AssertionError(s))
    assert got == "Registered" and seen == ["Registering", "Registering", "Registered"] and slept == [0.5, 0.5]
    with pytest.raises(TimeoutError, match="still Registering"):
        wait_registered("Registering", lambda: "Registering", lambda _s: None, 0.0, time.monotonic() - 1,
                        lambda _s: None, lambda s: TimeoutError(f"still {s}"))
