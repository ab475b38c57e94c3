"""Issue 18: the cluster is created while the preview flags it needs register; the gated fields follow in one
update (`preview-fields`), a managed-GPU pool by its own PUT. The plan as a pure function, the flag data against
the SDK models, and applies through the real SDK clients against the simulator (its request log: which writes,
in which order), interrupted and resumed."""
from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from wizard import flags
from wizard.answers import answers_from_dict
from wizard.azure.catalog import KubeVersion, MeshRevision
from wizard.plan_model import Observed
from wizard.plan import build_plan, plan_for
from wizard.plan_model import PREVIEW_FIELDS
from wizard.staging import critical_path

SUB = "3f2c8a9e-5b1d-4c7e-9a60-2d84f1b7c513"
GATEWAY = "Microsoft.ContainerService/ManagedGatewayAPIPreview"
MANAGED = "Microsoft.ContainerService/ManagedGPUExperiencePreview"
BASE: dict[str, Any] = {
    "azure": {"subscription": "Simulated Subscription", "location": "eastus2"},
    "resource_group": {"name": "rg-staged"},
    "cluster": {"name": "aks-staged", "kubernetes_version": "1.34", "istio": {"enabled": True}, "gateway_api": True,
                "addons": {"keda": False, "kaito": False, "managed_prometheus": False}},
    "gpu_pool": {"vm_size": "Standard_NC4as_T4_v3", "count": 1, "autoscale": {"min": 1, "max": 2}},
    "kueue": {"install": False},
    "verify": {"probes": False},
}
POOLS = {**BASE, "gpu_pool": None, "gpu_pools": [
    {"name": "gpua", "vm_size": "Standard_NC4as_T4_v3", "count": 1},
    {"name": "gpub", "vm_size": "Standard_NC4as_T4_v3", "count": 1, "managed_gpu": True},
    {"name": "gpuc", "vm_size": "Standard_NC4as_T4_v3", "count": 1, "managed_gpu": True}]}


def observed(registered: tuple[str, ...] = ()) -> Observed:
    return Observed(SUB, "Simulated Subscription", flag_states={f: "Registered" if f in registered else
                                                                "NotRegistered" for f in (GATEWAY, MANAGED)},
                    versions=[KubeVersion("1.34", ("1.34.3",))], revisions=[MeshRevision("asm-1-27", ("1.34",))])


def answers(data: dict[str, Any]) -> Any:
    return answers_from_dict({k: v for k, v in data.items() if v is not None})


# ------------------------------------------------------------------------------------------ the plan
def test_an_unregistered_flag_sends_the_create_at_once_and_the_gated_field_after_the_provider():
    plan = build_plan(answers(BASE), observed())
    cluster, update = plan.step("cluster"), plan.step(PREVIEW_FIELDS)
    assert cluster.deps == ("resource-group",)  # not after the flag
    props = cluster.payload.body.as_dict()["properties"]
    assert "ingressProfile" not in props and props["serviceMeshProfile"]["mode"] == "Istio"
    assert [p["name"] for p in props["agentPoolProfiles"]] == ["system", "gpunp"]  # the GPU pool needs no flag
    assert cluster.defers == {PREVIEW_FIELDS: ["cluster.gateway_api"]}
    assert "--enable-gateway-api" not in cluster.az and "az aks nodepool add" in cluster.az
    assert set(update.deps) == {"cluster", "provider"} and update.action == "update"
    assert update.az.startswith("az aks update") and "--enable-gateway-api" in update.az
    assert plan.step("kubeconfig").deps == ("cluster", PREVIEW_FIELDS)
    st = plan.staging
    assert st.staged and st.writes == 2 and st.fields == ("Gateway API",) and st.flags == (GATEWAY,)
    assert (st.staged_seconds, st.single_seconds) == (2 + 360 + 90 + 60 + 180, 300 + 60 + 360 + 90 + 60)
    assert critical_path(plan.steps[:5])[0] <= st.staged_seconds
    assert any("2 writes instead of one" in n and "saves 2m58s" in n for n in plan.notes)
    doc = plan.to_dict()["staging"]
    assert doc["staged"] is True and doc["saves_seconds"] == 178 and doc["held_back"] == ["Gateway API"]


def test_registered_flags_keep_one_put():
    plan = build_plan(answers(BASE), observed(registered=(GATEWAY, MANAGED)))
    assert plan.staging is None and all(s.id != PREVIEW_FIELDS for s in plan.steps)
    assert "ingressProfile" in plan.step("cluster").payload.body.as_dict()["properties"]
    assert "--enable-gateway-api" in plan.step("cluster").az


def test_a_tie_or_a_slower_staged_order_stays_one_put():
    # only a managed GPU pool waits: the staged order (create, then the pool by its own PUT after the flag) takes
    # 2 + 360 + 60 + 240 = 662 against 300 + 60 + 360 + 90 + 60 = 870 for one PUT
    data = {**BASE, "cluster": {**BASE["cluster"], "gateway_api": False},
            "gpu_pool": {"vm_size": "Standard_NC4as_T4_v3", "count": 1, "managed_gpu": True}}
    plan = build_plan(answers(data), observed())
    st = plan.staging
    assert st is not None and (st.staged_seconds, st.single_seconds) == (662, 870) and st.staged
    # forced either way; the note says why when the single PUT is taken
    single = build_plan(answers(data), observed(), staged=False)
    assert single.staging is None and single.step("cluster").deps == ("resource-group", "provider")
    # a slow pool PUT makes the staged order slower: the plan keeps one PUT and says why
    import wizard.durations as d

    old = d.AGENT_POOL
    try:
        d.AGENT_POOL = 900.0
        plan = build_plan(answers(data), observed())
    finally:
        d.AGENT_POOL = old
    assert plan.staging is not None and not plan.staging.staged and all(s.id != "gpu-pool" for s in plan.steps)
    assert "would not be faster" in plan.notes[-1]


def test_every_managed_gpu_pool_of_gpu_pools_is_held_back_and_created_after_the_update():
    plan = build_plan(answers(POOLS), observed())
    create = plan.step("cluster")
    assert [p["name"] for p in create.payload.body.as_dict()["properties"]["agentPoolProfiles"]] == ["system", "gpua"]
    assert create.defers == {PREVIEW_FIELDS: ["cluster.gateway_api"], "gpu-pool:gpub": ["gpu_pool.managed_gpu"],
                             "gpu-pool:gpuc": ["gpu_pool.managed_gpu"]}
    for name in ("gpub", "gpuc"):
        pool = plan.step(f"gpu-pool:{name}")
        assert pool.action == "create" and pool.deps == (PREVIEW_FIELDS,) and "--enable-managed-gpu" in pool.az
        assert pool.payload.body.as_dict()["properties"]["gpuProfile"]["nvidia"]["managementMode"] == "Managed"
    assert "gpu-pool:gpua" not in {s.id for s in plan.steps}  # in the create
    assert plan.staging.pools == ("gpub", "gpuc") and plan.staging.writes == 4


def test_a_rule_deleted_from_the_data_removes_its_phase(monkeypatch):
    kept = [r for r in flags.flag_rules() if r.flag != GATEWAY]
    monkeypatch.setattr(flags, "flag_rules", lambda: kept)
    plan = build_plan(answers(BASE), observed())
    assert plan.staging is None and all(s.id != PREVIEW_FIELDS and "feature:ManagedGatewayAPIPreview" != s.id
                                        for s in plan.steps)
    assert "ingressProfile" in plan.step("cluster").payload.body.as_dict()["properties"]


def test_the_flag_data_names_fields_the_sdk_models_of_the_api_version_have():
    assert flags.model_problems() == []
    rules = {r.flag: r for r in flags.flag_rules()}
    assert rules[GATEWAY].field == "properties.ingressProfile.gatewayAPI" and rules[GATEWAY].resource == "cluster"
    assert rules[MANAGED].after_create == "pool-create" and rules[MANAGED].az_switch == "--enable-managed-gpu"
    from azure.mgmt.containerservice import models as m

    assert flags.model_has(m.ManagedCluster, "properties.ingressProfile.gatewayApi") == "gatewayApi"  # case matters


def test_a_managed_gpu_pool_in_gpu_pools_needs_its_flag():
    assert MANAGED in [f for f, _ in flags.needed_flags(answers(POOLS))]


# ------------------------------------------------------------------------------------------ applies
SPEED = 1000.0


@pytest.fixture
def session():
    from wizard.session import SimOptions, open_session

    s = open_session(answers(BASE), SimOptions(speed=SPEED))
    try:
        yield s
    finally:
        s.close()


def cluster_puts(sim: Any, since: int = 0) -> list[Any]:
    return [r for r in sim.request_log[since:] if r.method == "PUT"
            and r.path.lower().endswith("/managedclusters/aks-staged")]


def run(session: Any, plan: Any, journal: Any = None, engine_hook: Any = None) -> Any:
    from wizard.engine import Engine
    from wizard.runners import runners

    engine = Engine(session.conn, plan, lambda e: None, journal, session.run_options(), runners())
    if engine_hook:
        engine_hook(engine)
    return engine.run()


def only(plan: Any, ids: set[str]) -> Any:
    """The plan cut after a step: what a run killed there had done."""
    steps = [dataclasses.replace(s, deps=tuple(d for d in s.deps if d in ids)) for s in plan.steps if s.id in ids]
    return dataclasses.replace(plan, steps=steps)


def test_a_fresh_subscription_creates_before_the_flag_registers_then_updates(session):
    a, sim = answers(BASE), session.simulator
    plan = plan_for(session.conn, a, session.subscription)
    assert plan.staging and plan.staging.staged
    mark = len(sim.request_log)
    assert run(session, plan).status == "done"
    log = sim.request_log[mark:]
    puts = cluster_puts(sim, mark)
    assert [r.status for r in puts] == [201, 200]
    register = next(r for r in log if r.method == "POST" and r.path.lower().endswith("managedgatewayapipreview/register"))
    provider = next(r for r in log if r.method == "POST" and r.path.lower().endswith("microsoft.containerservice/register"))
    registered = next(r for r in log if r.method == "GET" and r.path.endswith("/features/ManagedGatewayAPIPreview"))
    assert puts[0].at < registered.at + 300 / SPEED and puts[0].at < provider.at  # before the flag could register
    assert "ingressProfile" not in puts[0].body["properties"]
    assert puts[1].at > provider.at and puts[1].body["properties"]["ingressProfile"]["gatewayAPI"]["installation"] \
        == "Standard"
    assert register.at < puts[0].at + 1
    # polls never sooner than the interval; registration's first read one interval after the register call
    assert registered.at - register.at >= 10 / SPEED * 0.9
    # a re-run has nothing to do
    again = plan_for(session.conn, a, session.subscription)
    assert again.ok and [s.id for s in again.changes] == []


def test_registered_flags_send_one_put_and_no_provider_registration(session):
    from wizard.azure.features import register_feature

    a, sim, conn = answers(BASE), session.simulator, session.conn
    register_feature(conn, GATEWAY)
    deadline = time.monotonic() + 10
    while conn.features.features.get(*GATEWAY.split("/")).properties.state != "Registered":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    mark = len(sim.request_log)
    plan = plan_for(conn, a, session.subscription)
    assert plan.staging is None
    assert run(session, plan).status == "done"
    assert [r.status for r in cluster_puts(sim, mark)] == [201]
    assert not [r for r in sim.request_log[mark:] if r.method == "POST" and r.path.lower().endswith("/register")]


def test_killed_after_the_create_the_rerun_sends_only_the_update_without_allow_update(session, tmp_path: Path):
    from wizard.journal import Journal

    a, sim = answers(BASE), session.simulator
    journal = Journal(tmp_path / "answers.journal.jsonl", "answers.yaml")
    plan = plan_for(session.conn, a, session.subscription, journal=journal)
    assert run(session, only(plan, {"resource-group", "cluster"}), journal).status == "done"
    assert journal.deferred() == {PREVIEW_FIELDS: ["cluster.gateway_api"]}
    started = next(r for r in journal.records() if r["step"] == "cluster" and r["event"] == "started")
    assert started["defers"] == {PREVIEW_FIELDS: ["cluster.gateway_api"]}

    mark = len(sim.request_log)
    again = plan_for(session.conn, a, session.subscription, journal=journal)  # no allow_update
    assert again.ok, again.problems
    assert again.step("cluster").action == "skip" and again.step(PREVIEW_FIELDS).action == "update"
    assert [d.field for d in again.step(PREVIEW_FIELDS).differences] == ["cluster.gateway_api"]
    assert run(session, again, journal).status == "done"
    assert [r.status for r in cluster_puts(sim, mark)] == [200]
    assert journal.deferred() == {}
    # without the journal's word the same difference is an update to consent to, as ever
    other = plan_for(session.conn, a, session.subscription)
    assert other.ok and other.step("cluster").action == "skip"  # done now: nothing differs


def test_killed_while_the_update_runs_the_rerun_reattaches_and_sends_no_put(session, tmp_path: Path):
    from wizard.journal import Journal

    a, sim = answers(BASE), session.simulator
    journal = Journal(tmp_path / "answers.journal.jsonl", "answers.yaml")
    plan = plan_for(session.conn, a, session.subscription, journal=journal)
    first = {s.id for s in plan.steps if s.id in ("resource-group", "cluster", "provider") or s.id.startswith("feature:")}
    assert run(session, only(plan, first), journal).status == "done"
    sim.hold()
    engines: list[Any] = []
    update = only(plan_for(session.conn, a, session.subscription, journal=journal), {"cluster", PREVIEW_FIELDS})
    worker = threading.Thread(target=lambda: engines.append(run(session, update, journal,
                                                                 engine_hook=lambda e: engines.append(e))))
    worker.start()
    deadline = time.monotonic() + 10
    while not (journal.in_flight(PREVIEW_FIELDS) or {}).get("continuation_token"):
        assert time.monotonic() < deadline, "the update was never accepted"
        time.sleep(0.02)
    engines[0].cancel()
    worker.join(10)
    assert engines[1].status == "cancelled"
    mark = len(sim.request_log)
    again = plan_for(session.conn, a, session.subscription, journal=journal)
    assert again.ok, again.problems
    assert again.step("cluster").action == "skip" and again.step(PREVIEW_FIELDS).action == "attach"
    sim.release()
    assert run(session, again, journal).status == "done"
    assert cluster_puts(sim, mark) == []  # re-attached by its continuation token
    props = session.conn.aks.managed_clusters.get("rg-staged", "aks-staged").ingress_profile
    assert props.gateway_api.installation == "Standard"


def test_a_registration_refusal_with_no_provider_step_of_this_plan_still_fails(session):
    from wizard.azure.features import register_feature

    a, conn = answers({**BASE, "cluster": {**BASE["cluster"], "gateway_api": False}}), session.conn
    register_feature(conn, GATEWAY)
    plan = plan_for(conn, a, session.subscription)
    assert all(s.id != "provider" for s in plan.steps)
    conn.resources.providers.unregister("Microsoft.ContainerService")  # someone else, behind this plan's back
    deadline = time.monotonic() + 10
    while conn.resources.providers.get("Microsoft.ContainerService").registration_state != "Unregistered":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    result = run(session, plan)
    assert result.status == "failed" and result.failed_step == "cluster"
    assert result.failure.code == "MissingSubscriptionRegistration"


def test_every_held_back_pool_is_created_after_the_update_and_teardown_owns_both_phases(tmp_path: Path):
    from wizard.journal import Journal
    from wizard.session import SimOptions, open_session
    from wizard.teardown import owned_from_journal, plan_teardown

    a = answers(POOLS)
    session = open_session(a, SimOptions(speed=SPEED))
    try:
        sim, conn = session.simulator, session.conn
        journal = Journal(tmp_path / "answers.journal.jsonl", "answers.yaml")
        plan = plan_for(conn, a, session.subscription, journal=journal)
        assert plan.staging.staged and plan.staging.pools == ("gpub", "gpuc")
        mark = len(sim.request_log)
        result = run(session, plan, journal)
        assert result.status == "done", result.failure and result.failure.render()
        log = sim.request_log[mark:]
        update = next(r for r in cluster_puts(sim, mark) if r.status == 200)
        pools = [r for r in log if r.method == "PUT" and "/agentpools/" in r.path.lower() and r.status < 300]
        assert sorted(r.path.rsplit("/", 1)[1] for r in pools) == ["gpub", "gpuc"]
        assert all(r.at > update.at for r in pools)  # after the update (one operation at a time on a cluster)
        assert all(r.body["properties"]["gpuProfile"]["nvidia"]["managementMode"] == "Managed" for r in pools)
        assert journal.deferred() == {}
        assert plan_for(conn, a, session.subscription, journal=journal).changes == []
        owned = owned_from_journal(journal)
        assert {"cluster", "gpu-pool:gpub", "gpu-pool:gpuc"} <= set(owned.steps) and PREVIEW_FIELDS not in owned.steps
        td = plan_teardown(conn, a, journal, session.subscription)
        assert run(session, td.plan, journal).status == "done"
        from wizard.azure.clusters import get_cluster

        assert get_cluster(conn, "rg-staged", "aks-staged") is None
    finally:
        session.close()


def _existing(state: str, gateway: bool) -> dict[str, Any]:
    body = build_plan(answers(BASE), observed(registered=(GATEWAY, MANAGED))).step("cluster").payload.body.as_dict()
    body["properties"]["provisioningState"] = state
    body["properties"]["currentKubernetesVersion"] = "1.34.3"
    if not gateway:
        body["properties"].pop("ingressProfile")
    return body


def test_a_create_still_running_is_followed_and_the_deferred_update_comes_after_it():
    obs = dataclasses.replace(observed(registered=(GATEWAY,)), group={"location": "eastus2"},
                              cluster=_existing("Creating", gateway=False))
    plan = build_plan(answers(BASE), obs, in_flight={"cluster": {"continuation_token": "t", "creates": True}},
                      deferred={PREVIEW_FIELDS: ["cluster.gateway_api"]})
    assert plan.ok, plan.problems
    assert plan.step("cluster").action == "attach" and plan.step("cluster").payload.in_flight["continuation_token"] == "t"
    assert plan.step(PREVIEW_FIELDS).action == "update" and plan.step(PREVIEW_FIELDS).deps == ("cluster",)


def test_an_update_of_the_deferred_fields_still_running_is_reattached():
    obs = dataclasses.replace(observed(registered=(GATEWAY,)), group={"location": "eastus2"},
                              cluster=_existing("Updating", gateway=True))
    plan = build_plan(answers(BASE), obs, in_flight={PREVIEW_FIELDS: {"continuation_token": "u"}},
                      deferred={PREVIEW_FIELDS: ["cluster.gateway_api"]})
    assert plan.ok, plan.problems
    assert plan.step("cluster").action == "skip"
    assert plan.step(PREVIEW_FIELDS).action == "attach" and plan.step(PREVIEW_FIELDS).payload.in_flight == {"continuation_token": "u"}


def test_without_the_journal_the_same_difference_still_needs_consent():
    obs = dataclasses.replace(observed(registered=(GATEWAY,)), group={"location": "eastus2"},
                              cluster=_existing("Succeeded", gateway=False))
    plan = build_plan(answers(BASE), obs)
    assert not plan.ok and "--allow-update" in plan.problems[0].fix
    owed = build_plan(answers(BASE), obs, deferred={PREVIEW_FIELDS: ["cluster.gateway_api"]})
    assert owed.ok and owed.step("cluster").action == "skip" and owed.step(PREVIEW_FIELDS).action == "update"
