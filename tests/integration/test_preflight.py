"""Preflight against the simulated Azure through the real SDK clients: each item failing and passing, reads
only, one resource-SKU and one usage call."""
from __future__ import annotations

import json

import pytest

from tests.support.preflight import create_cluster, make_answers, plan_for, preflight, sim_conn
from wizard.azure.catalog import KubeVersion, MeshRevision


@pytest.fixture
def conn(sim):
    c = sim_conn(sim)
    yield c
    c.close()


def statuses(report):
    return {i.id: i.status for i in report.items}


# ------------------------------------------------------------------------------------------ the happy path
def test_example_answers_pass_with_reads_only_and_one_call_each(sim, conn):
    a = make_answers()
    start = len(sim.request_log)
    report, plan = preflight(conn, a)
    assert report.ok, report.text()
    s = statuses(report)
    for item in ("kubernetes-version", "istio-revision", "gateway-api", "cluster-name", "gpu-pool-name",
                 "sku:system", "sku:gpu", "quota:standardDDSv5Family", "quota:standardNCASv3_T4Family",
                 "quota:regional", "gpu-autoscaler", "provider"):
        assert s[item] == "pass", (item, report.text())
    assert s["feature:ManagedGatewayAPIPreview"] == "warn"  # not registered yet: apply registers it
    log = sim.request_log[start:]
    assert all(r.method in ("GET", "HEAD") for r in log), [(r.method, r.path) for r in log]
    assert sum(1 for r in log if r.path.lower().endswith("/providers/microsoft.compute/skus")) == 1
    assert sum(1 for r in log if r.path.lower().endswith("/usages")) == 1
    json.dumps(report.to_dict())
    text = report.text()
    assert "ready to apply" in text and "[ok]" in text


# ------------------------------------------------------------------------------------------ versions
def test_version_not_offered_fails_and_mesh_is_not_judged(conn):
    report, plan = preflight(conn, make_answers(cluster__kubernetes_version="1.37"))
    item = report.get("kubernetes-version")
    assert item.status == "fail" and "not offered in eastus2" in item.detail
    assert "1.34" in item.fix and item.field == "cluster.kubernetes_version"
    assert report.get("istio-revision").status == "skip" and report.get("gateway-api").status == "skip"
    assert not report.ok
    assert "fix: " in report.text()


def test_minor_resolves_to_newest_patch(conn):
    report, _ = preflight(conn, make_answers(cluster__kubernetes_version="1.35"))
    item = report.get("kubernetes-version")
    assert item.status == "pass" and "1.35.1" in item.detail and item.data["resolved"] == "1.35.1"


def test_lts_only_version_needs_premium_said_plainly(conn):
    a = make_answers()
    plan = plan_for(conn, a)
    # the location now offers 1.34 only with Long-Term Support
    plan.observed.versions = [KubeVersion("1.34", ("1.34.3",), ("AKSLongTermSupport",)),
                              KubeVersion("1.35", ("1.35.1",), ("KubernetesOfficial",))]
    from wizard.plan import build_plan
    from wizard.preflight import run_preflight

    plan = build_plan(a, plan.observed)
    report = run_preflight(conn, a, plan)
    item = report.get("kubernetes-version")
    assert item.status == "fail"
    assert "Long-Term Support" in item.detail and "Premium" in item.detail and "tier Standard" in item.detail
    assert "cluster.tier: Premium" in item.fix

    premium = make_answers(cluster__tier="Premium", cluster__support_plan="AKSLongTermSupport")
    plan = build_plan(premium, plan.observed)
    report = run_preflight(conn, premium, plan)
    item = report.get("kubernetes-version")
    assert item.status == "pass" and "LTS-only" in item.detail


def test_preview_version_warns(conn):
    report, _ = preflight(conn, make_answers(cluster__kubernetes_version="1.36"))
    assert report.get("kubernetes-version").status == "warn"


# ------------------------------------------------------------------------------------------ mesh
def test_istio_revision_incompatible_with_version_fails(conn):
    report, _ = preflight(conn, make_answers(cluster__kubernetes_version="1.36", cluster__istio={"revision": "asm-1-27"}))
    item = report.get("istio-revision")
    assert item.status == "fail" and "asm-1-27 is not compatible with Kubernetes 1.36" in item.detail
    assert "asm-1-28" in item.fix and item.field == "cluster.istio.revision"
    assert report.get("gateway-api").status == "skip"


def test_gateway_api_needs_asm_1_26_or_newer(conn):
    a = make_answers()
    plan = plan_for(conn, a)
    plan.observed.revisions = [MeshRevision("asm-1-25", ("1.33", "1.34"))]
    from wizard.plan import build_plan
    from wizard.preflight import run_preflight

    plan = build_plan(a, plan.observed)
    report = run_preflight(conn, a, plan)
    item = report.get("gateway-api")
    assert item.status == "fail" and "asm-1-26" in item.detail
    assert report.get("istio-revision").status == "skip"

    no_gw = make_answers(cluster__gateway_api=False)
    report = run_preflight(conn, no_gw, build_plan(no_gw, plan.observed))
    assert report.get("istio-revision").status == "pass" and "asm-1-25" in report.get("istio-revision").detail
    assert not report.find("gateway-api")


def test_istio_disabled_is_skipped(conn):
    report, _ = preflight(conn, make_answers(cluster__istio={"enabled": False}, cluster__gateway_api=False))
    assert report.get("istio-revision").status == "skip"


# ------------------------------------------------------------------------------------------ VM sizes and zones
def test_size_not_available_for_subscription_fails_with_alternatives(conn):
    report, _ = preflight(conn, make_answers(azure__location="westeurope", gpu_pool__vm_size="Standard_NC40ads_H100_v5"))
    item = report.get("sku:gpu")
    assert item.status == "fail" and "NotAvailableForSubscription" in item.detail
    assert item.field == "gpu_pool.vm_size"
    assert "Standard_NC4as_T4_v3" in item.fix and "https://aka.ms/azureskunotavailable" in item.fix
    assert report.get("sku:system").status == "pass"
    assert not report.find("quota:standardNCadsH100v5Family")  # an unavailable size is not counted


def test_unknown_size_fails_with_suggestion(conn):
    report, _ = preflight(conn, make_answers(gpu_pool__vm_size="Standard_NC4as_T4_v4"))
    item = report.get("sku:gpu")
    assert item.status == "fail" and "not a VM size in eastus2" in item.detail
    assert "Standard_NC4as_T4_v3" in item.fix


def test_retired_size_fails_and_says_so(conn):
    report, _ = preflight(conn, make_answers(gpu_pool__vm_size="Standard_NC6s_v3"))
    item = report.get("sku:gpu")
    assert item.status == "fail" and "NCv3 series was retired on 2025-09-30" in item.detail
    assert "Standard_NC4as_T4_v3" in item.fix and item.field == "gpu_pool.vm_size"


def test_restricted_zone_fails_and_offered_zones_pass(conn):
    a = make_answers(azure__location="westeurope", gpu_pool={"vm_size": "Standard_NC24ads_A100_v4", "count": 0,
                                                             "zones": ["1", "3"]})
    report, _ = preflight(conn, a)
    assert report.get("sku:gpu").status == "pass"
    item = report.get("zones:gpu")
    assert item.status == "fail" and "zone 3 restricted" in item.detail
    assert "gpu_pool.zones: [1]" in item.fix and item.field == "gpu_pool.zones"

    ok = make_answers(azure__location="westeurope", gpu_pool={"vm_size": "Standard_NC24ads_A100_v4", "count": 0,
                                                              "zones": ["1", "2"]})
    report, _ = preflight(conn, ok)
    assert report.get("zones:gpu").status == "pass"
    assert report.ok, report.text()


def test_location_restricted_size_for_system_pool(conn):
    a = make_answers(azure__location="westeurope", cluster__system_pool={"vm_size": "Standard_NC40ads_H100_v5"},
                     gpu_pool=None)
    report, _ = preflight(conn, a)
    item = report.get("sku:system")
    assert item.status == "fail" and item.field == "cluster.system_pool.vm_size"


# ------------------------------------------------------------------------------------------ quota
def test_family_quota_with_surge_fails_above_limit_and_passes_at_it(conn):
    report, _ = preflight(conn, make_answers(gpu_pool__autoscale={"min": 1, "max": 4}))
    item = report.get("quota:standardNCASv3_T4Family")
    assert item.status == "fail"
    assert "(4 nodes at autoscale max + 1 surge) x 4 vCPUs = 20" in item.detail
    assert "in use 0 of limit 16" in item.detail and "short by 4" in item.detail
    assert "lower gpu_pool.autoscale.max to 3" in item.fix and item.field == "gpu_pool.autoscale.max"
    assert "to at least 20 vCPUs" in item.fix and "QuotaMenuBlade" in item.fix
    assert item.data["needed"] == 20 and item.data["limit"] == 16

    report, _ = preflight(conn, make_answers(gpu_pool__autoscale={"min": 1, "max": 3}))
    item = report.get("quota:standardNCASv3_T4Family")
    assert item.status == "pass" and "fits (0 to spare)" in item.detail


def test_zero_quota_family_fails_and_points_at_other_sizes(conn):
    report, _ = preflight(conn, make_answers(gpu_pool={"vm_size": "Standard_NC40ads_H100_v5", "count": 1}))
    item = report.get("quota:standardNCadsH100v5Family")
    assert item.status == "fail" and "limit 0" in item.detail
    assert item.field == "gpu_pool.vm_size"
    assert "Standard_NC4as_T4_v3" in item.fix  # a GPU size with free quota here
    assert "gpu-sizes --location eastus2" in item.fix


def test_regional_quota_counts_every_pool(conn):
    a = make_answers(cluster__system_pool={"vm_size": "Standard_D8ds_v5", "count": 10},
                     gpu_pool={"vm_size": "Standard_NC4as_T4_v3", "count": 1, "autoscale": {"min": 1, "max": 3}})
    report, _ = preflight(conn, a)
    assert report.get("quota:standardDDSv5Family").status == "pass"
    assert report.get("quota:standardNCASv3_T4Family").status == "pass"
    item = report.get("quota:regional")
    assert item.status == "fail"
    assert "Needed 88 + 16 = 104" in item.detail and "limit 100" in item.detail
    assert "Total Regional vCPUs" in item.fix and "to at least 104" in item.fix


def test_existing_cluster_is_not_counted_twice(sim, conn):
    a = make_answers(cluster__gateway_api=False)
    create_cluster(conn, a)
    report, plan = preflight(conn, a)
    assert report.ok, report.text()
    q = report.get("quota")
    assert q.status == "pass" and "Nothing new to place" in q.detail and "already in use" in q.detail
    assert report.get("sku:gpu").status == "skip" and report.get("cluster-name").status == "pass"

    # a second cluster in the same location: the first one's GPU node (4 vCPUs) is in use
    b = make_answers(cluster__gateway_api=False, cluster__name="aks-two")
    report, _ = preflight(conn, b)
    item = report.get("quota:standardNCASv3_T4Family")
    assert item.status == "fail" and "in use 4 of limit 16, 12 left" in item.detail
    assert "lower gpu_pool.autoscale.max to 2" in item.fix

    # growing the existing pool: its running node is subtracted from what the new peak needs
    grow = make_answers(cluster__gateway_api=False, gpu_pool__autoscale={"min": 1, "max": 2})
    report, plan = preflight(conn, grow, allow_update=True)
    assert plan.step("gpu-pool").action == "update"
    item = report.get("quota:standardNCASv3_T4Family")
    assert "(2 nodes at autoscale max + 1 surge) x 4 vCPUs = 12 - 1 running x 4 already in use = 8" in item.detail
    assert item.status == "pass"
    assert report.get("gpu-pool-name").status == "warn"


# ------------------------------------------------------------------------------------------ collisions
def test_existing_cluster_with_different_settings_reports_the_difference(conn):
    a = make_answers(cluster__gateway_api=False)
    create_cluster(conn, a)
    changed = make_answers(cluster__gateway_api=False, cluster__addons={"keda": False},
                           gpu_pool__taints=["nvidia.com/gpu=present:NoSchedule"])
    report, _ = preflight(conn, changed)
    item = report.get("cluster-name")
    assert item.status == "fail" and "cluster.addons.keda" in item.detail and "--allow-update" in item.fix
    assert item.field == "cluster.addons.keda"
    pool = report.get("gpu-pool-name")
    assert pool.status == "fail" and "gpu_pool.taints" in pool.detail

    elsewhere = make_answers(cluster__gateway_api=False, azure__location="westeurope")
    report, _ = preflight(conn, elsewhere)
    item = report.get("cluster-name")
    assert item.status == "fail" and "already exists in eastus2" in item.detail and "azure.location" in item.fix


# ------------------------------------------------------------------------------------------ managed GPU + autoscaler
def test_managed_gpu_with_autoscaler_fails_with_two_ways_out(conn):
    report, _ = preflight(conn, make_answers(gpu_pool__managed_gpu=True))
    item = report.get("gpu-autoscaler")
    assert item.status == "fail" and item.field == "gpu_pool.managed_gpu"
    assert "gpu_pool.managed_gpu: false" in item.fix and "--node-provisioning-mode Auto" in item.fix
    assert "az aks update -g rg-pre -n aks-pre" in item.fix

    report, _ = preflight(conn, make_answers(gpu_pool={"vm_size": "Standard_NC4as_T4_v3", "count": 2,
                                                       "managed_gpu": True}))
    assert report.get("gpu-autoscaler").status == "pass"
    assert report.get("feature:ManagedGPUExperiencePreview").status == "warn"


# ------------------------------------------------------------------------------------------ feature flags
def test_flag_left_out_of_an_explicit_list_fails_and_registered_passes(conn):
    a = make_answers(features=[])
    report, _ = preflight(conn, a)
    item = report.get("feature:ManagedGatewayAPIPreview")
    assert item.status == "fail" and "not in `features`" in item.detail
    assert "az feature register --namespace Microsoft.ContainerService --name ManagedGatewayAPIPreview" in item.fix

    import time

    conn.features.features.register("Microsoft.ContainerService", "ManagedGatewayAPIPreview")
    for _ in range(200):
        if conn.features.features.get("Microsoft.ContainerService",
                                      "ManagedGatewayAPIPreview").properties.state == "Registered":
            break
        time.sleep(0.01)
    report, _ = preflight(conn, a)
    assert report.get("feature:ManagedGatewayAPIPreview").status == "pass"
    report, _ = preflight(conn, make_answers())
    assert report.get("feature:ManagedGatewayAPIPreview").status == "pass"


def test_unreadable_compute_makes_items_warn_not_crash(sim, conn):
    from wizard.plan import build_plan
    from wizard.preflight import run_preflight

    a = make_answers(azure__location="eastus2")
    plan = plan_for(conn, a)
    moved = make_answers(azure__location="nowhere1")  # the simulator does not know it: usage read fails
    report = run_preflight(conn, moved, build_plan(moved, plan.observed))
    assert report.get("sku:gpu").status == "fail"  # no VM sizes listed for that location
    assert "no VM sizes" in report.get("sku:gpu").detail
