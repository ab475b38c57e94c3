"""The simulated Azure through the REAL SDK clients: resource groups, features, providers, catalog reads,
cluster and pool LROs, credentials, faults, persistence and the wire details (request ids, auth)."""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest
import yaml
from azure.core.exceptions import (
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.core.rest import HttpRequest

from tests.conftest import arm_clients
from wizard.sim import KUBE_TOKEN, Simulator
from wizard.sim.latency import TYPICAL, cluster_put_typical

LOC = "eastus2"
GW = "Microsoft.ContainerService/ManagedGatewayAPIPreview"
GPU = "Microsoft.ContainerService/ManagedGPUExperiencePreview"


def cluster_body(version: str = "1.34", gpu: bool = False, **props):
    pools = [{"name": "system", "mode": "System", "vmSize": "Standard_D4ds_v5", "count": 2}]
    if gpu:
        pools.append({"name": "gpunp", "mode": "User", "vmSize": "Standard_NC4as_T4_v3", "count": 1,
                      "nodeTaints": ["sku=gpu:NoSchedule"]})
    body = {"location": LOC, "sku": {"name": "Base", "tier": "Standard"},
            "identity": {"type": "SystemAssigned"},
            "properties": {"kubernetesVersion": version, "dnsPrefix": "aks-ai", "agentPoolProfiles": pools}}
    body["properties"].update(props)
    return body


def make_group(c, name="rg-ai"):
    return c.resources.resource_groups.create_or_update(name, {"location": LOC})


def register(c, flag):
    ns, name = flag.split("/")
    c.features.features.register(ns, name)
    time.sleep(0.01)
    assert c.features.features.get(ns, name).properties.state == "Registered"


def wait_until(pred, timeout=5.0):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.01)
    return False


# ------------------------------------------------------------------------------------------ subscription
def test_subscriptions_and_locations(sim, clients):
    subs = list(clients.subscriptions.subscriptions.list())
    assert [s.subscription_id for s in subs] == [sim.subscription_id]
    assert subs[0].display_name == "Simulated Subscription" and subs[0].state == "Enabled"
    assert subs[0].tenant_id == sim.tenant_id
    one = clients.subscriptions.subscriptions.get(sim.subscription_id)
    assert one.display_name == "Simulated Subscription"
    locs = {loc.name: loc for loc in clients.subscriptions.subscriptions.list_locations(sim.subscription_id)}
    assert {"eastus", "eastus2", "westus3", "westeurope", "swedencentral", "southcentralus"} <= set(locs)
    assert locs["eastus2"].display_name == "East US 2"
    assert locs["eastus2"].regional_display_name == "(US) East US 2"
    assert locs["eastus2"].metadata.region_type == "Physical"


def test_credential_records_scopes(sim, clients):
    list(clients.subscriptions.subscriptions.list())
    assert ("https://management.azure.com/.default",) in sim.credential.scopes
    info = sim.credential.get_token_info("https://management.azure.com/.default")
    assert info.token and info.expires_on > time.time()


# ------------------------------------------------------------------------------------------ groups
def test_resource_group_create_get_exists(sim, clients):
    rg = clients.resources.resource_groups
    assert rg.check_existence("rg-ai") is False
    with pytest.raises(ResourceNotFoundError) as e:
        rg.get("rg-ai")
    assert e.value.error.code == "ResourceGroupNotFound"
    created = rg.create_or_update("rg-ai", {"location": LOC, "tags": {"owner": "me"}})
    assert created.properties.provisioning_state == "Succeeded" and created.location == LOC
    assert rg.check_existence("rg-ai") is True
    assert rg.check_existence("RG-AI") is True  # ARM names are case-insensitive
    assert rg.get("rg-ai").tags == {"owner": "me"}
    assert "rg-ai" in [g.name for g in rg.list()]
    statuses = [r.status for r in sim.request_log if r.method == "PUT"]
    assert statuses == [201]
    rg.create_or_update("rg-ai", {"location": LOC})
    assert [r.status for r in sim.request_log if r.method == "PUT"] == [201, 200]


def test_resource_group_delete_removes_clusters(sim, clients):
    make_group(clients)
    clients.aks.managed_clusters.begin_create_or_update("rg-ai", "aks-ai", cluster_body()).result()
    assert [r.name for r in clients.resources.resources.list_by_resource_group("rg-ai")] == ["aks-ai"]
    assert clients.resources.resource_groups.check_existence("MC_rg-ai_aks-ai_eastus2")
    clients.resources.resource_groups.begin_delete("rg-ai").result()
    assert clients.resources.resource_groups.check_existence("rg-ai") is False
    assert clients.resources.resource_groups.check_existence("MC_rg-ai_aks-ai_eastus2") is False
    assert list(clients.aks.managed_clusters.list()) == []


# ------------------------------------------------------------------------------------------ features, providers
def test_feature_register_then_registered(sim, clients):
    f = clients.features.features
    ns, name = GW.split("/")
    assert f.get(ns, name).properties.state == "NotRegistered"
    got = f.register(ns, name)
    assert got.properties.state == "Registering"
    assert got.name == GW
    assert wait_until(lambda: f.get(ns, name).properties.state == "Registered")
    listed = {x.name: x.properties.state for x in f.list(ns)}
    assert listed[GW] == "Registered"
    assert listed["Microsoft.ContainerService/AKS-KedaPreview"] == "NotRegistered"
    with pytest.raises(ResourceNotFoundError) as e:
        f.get(ns, "NoSuchPreview")
    assert "The feature 'NoSuchPreview' could not be found." in e.value.message


def test_feature_registration_takes_the_latency_model_time(make_sim):
    s = make_sim(speed=TYPICAL.feature_registration / 0.3)  # 0.3 s
    c = arm_clients(s)
    ns, name = GW.split("/")
    assert c.features.features.register(ns, name).properties.state == "Registering"
    assert c.features.features.get(ns, name).properties.state == "Registering"
    assert wait_until(lambda: c.features.features.get(ns, name).properties.state == "Registered", 3)


def test_provider_register(sim, clients):
    p = clients.resources.providers
    assert p.get("Microsoft.ContainerService").registration_state == "Registered"
    assert p.get("Microsoft.Compute").registration_state == "Registered"
    assert p.get("Microsoft.Monitor").registration_state == "NotRegistered"
    assert p.register("Microsoft.Monitor").registration_state == "Registering"
    assert wait_until(lambda: p.get("Microsoft.Monitor").registration_state == "Registered")
    with pytest.raises(ResourceNotFoundError):
        p.get("Contoso.Nothing")


# ------------------------------------------------------------------------------------------ catalog
def test_kubernetes_versions(sim, clients):
    res = clients.aks.managed_clusters.list_kubernetes_versions(LOC)
    by = {v.version: v for v in res.values_property}
    assert list(by) == ["1.32", "1.33", "1.34", "1.35", "1.36"]
    assert by["1.32"].capabilities.support_plan == ["AKSLongTermSupport"]
    assert by["1.34"].is_default and sorted(by["1.34"].patch_versions) == ["1.34.1", "1.34.2", "1.34.3"]
    assert sorted(by["1.35"].patch_versions) == ["1.35.0", "1.35.1"]
    assert by["1.36"].is_preview
    assert "1.35.1" in by["1.34"].patch_versions["1.34.3"].upgrades


def test_mesh_revision_profiles(sim, clients):
    profiles = list(clients.aks.managed_clusters.list_mesh_revision_profiles(LOC))
    revs = {r.revision: r for r in profiles[0].properties.mesh_revisions}
    assert list(revs) == ["asm-1-25", "asm-1-26", "asm-1-27", "asm-1-28"]
    assert revs["asm-1-27"].compatible_with[0].name == "kubernetes"
    assert revs["asm-1-27"].compatible_with[0].versions == ["1.33", "1.34", "1.35"]


def test_compute_skus_and_usages(sim, clients):
    skus = list(clients.compute.resource_skus.list(filter=f"location eq '{LOC}'"))
    names = {s.name: s for s in skus}
    for n in ("Standard_D4ds_v5", "Standard_D8ds_v5", "Standard_NC4as_T4_v3",
              "Standard_NC24ads_A100_v4", "Standard_NC40ads_H100_v5", "Standard_NV36ads_A10_v5"):
        assert n in names
    assert "Standard_NC6s_v3" not in names  # NCv3 was retired on 2025-09-30: gone from the resource SKUs
    assert all(s.locations == [LOC] for s in skus)
    t4 = names["Standard_NC4as_T4_v3"]
    caps = {c.name: c.value for c in t4.capabilities}
    assert (t4.family, caps["vCPUs"], caps["GPUs"]) == ("standardNCASv3_T4Family", "4", "1")
    assert t4.location_info[0].zones == ["1", "2", "3"]
    west3 = {s.name: s for s in clients.compute.resource_skus.list(filter="location eq 'westus3'")}
    r = west3["Standard_ND96asr_v4"].restrictions[0]
    assert (r.type, r.reason_code, r.values_property) == ("Location", "NotAvailableForSubscription", ["westus3"])
    assert not west3["Standard_NC4as_T4_v3"].restrictions
    # every region Azure offers is there; those without detail offer no GPU size to this subscription
    brazil = {s.name: s for s in clients.compute.resource_skus.list(filter="location eq 'brazilsouth'")}
    assert brazil["Standard_D4ds_v5"].restrictions == []
    assert brazil["Standard_NC4as_T4_v3"].restrictions[0].reason_code == "NotAvailableForSubscription"
    usages = {u.name.value: u for u in clients.compute.usage.list(LOC)}
    assert usages["cores"].limit == 100 and usages["cores"].current_value == 0
    assert usages["standardNCASv3_T4Family"].limit == 16
    assert usages["standardNCadsH100v5Family"].limit == 0
    assert usages["standardDDSv5Family"].name.localized_value == "Standard DDSv5 Family vCPUs"


def test_usages_follow_clusters(sim, clients):
    make_group(clients)
    clients.aks.managed_clusters.begin_create_or_update("rg-ai", "aks-ai", cluster_body(gpu=True)).result()
    usages = {u.name.value: u.current_value for u in clients.compute.usage.list(LOC)}
    assert usages["standardDDSv5Family"] == 8 and usages["standardNCASv3_T4Family"] == 4 and usages["cores"] == 12


# ------------------------------------------------------------------------------------------ clusters
def test_cluster_lro_create(sim, clients):
    make_group(clients)
    body = cluster_body(
        oidcIssuerProfile={"enabled": True},
        serviceMeshProfile={"mode": "Istio", "istio": {"revisions": ["asm-1-27"]}},
        workloadAutoScalerProfile={"keda": {"enabled": True}},
        aiToolchainOperatorProfile={"enabled": True},
        azureMonitorProfile={"metrics": {"enabled": True}},
    )
    poller = clients.aks.managed_clusters.begin_create_or_update("rg-ai", "aks-ai", body)
    mc = poller.result()
    p = mc.properties
    assert poller.status() == "Succeeded"
    assert p.provisioning_state == "Succeeded"
    assert p.kubernetes_version == "1.34" and p.current_kubernetes_version == "1.34.3"
    assert p.node_resource_group == "MC_rg-ai_aks-ai_eastus2"
    assert p.fqdn.endswith(".hcp.eastus2.azmk8s.io") and p.fqdn.startswith("aks-ai-")
    assert p.power_state.code == "Running" and p.max_agent_pools == 100
    assert mc.identity.type == "SystemAssigned" and mc.identity.principal_id and mc.identity.tenant_id == sim.tenant_id
    assert p.oidc_issuer_profile.issuer_url.startswith("https://eastus2.oic.prod-aks.azure.com/")
    assert p.service_mesh_profile.istio.revisions == ["asm-1-27"]
    assert p.workload_auto_scaler_profile.keda.enabled
    assert p.ai_toolchain_operator_profile.enabled
    assert p.azure_monitor_profile.metrics.enabled
    pool = p.agent_pool_profiles[0]
    assert (pool.name, pool.provisioning_state, pool.current_orchestrator_version) == ("system", "Succeeded", "1.34.3")
    assert pool.node_image_version
    # the wire sequence: PUT 201 + Azure-AsyncOperation, status GETs, final GET of the resource
    kinds = [(r.method, r.status, r.path.rsplit("/", 2)[-2]) for r in sim.request_log if "managedClusters" in r.path
             or "/operations/" in r.path]
    assert kinds[0] == ("PUT", 201, "managedClusters")
    assert kinds[-1] == ("GET", 200, "managedClusters")
    assert any(k[2] == "operations" for k in kinds)
    # reads
    assert clients.aks.managed_clusters.get("rg-ai", "aks-ai").properties.provisioning_state == "Succeeded"
    assert [c.name for c in clients.aks.managed_clusters.list_by_resource_group("rg-ai")] == ["aks-ai"]
    assert [c.name for c in clients.aks.managed_clusters.list()] == ["aks-ai"]


def test_cluster_in_progress_then_conflict(make_sim):
    s = make_sim(speed=TYPICAL.cluster_create / 0.5)  # about half a second
    c = arm_clients(s, retry_total=0)
    make_group(c)
    poller = c.aks.managed_clusters.begin_create_or_update("rg-ai", "aks-ai", cluster_body(), polling_interval=0.05)
    mc = c.aks.managed_clusters.get("rg-ai", "aks-ai")
    assert mc.properties.provisioning_state == "Creating"
    assert mc.properties.agent_pool_profiles[0].provisioning_state == "Creating"
    with pytest.raises(ResourceExistsError) as e:
        c.aks.managed_clusters.begin_create_or_update("rg-ai", "aks-ai", cluster_body())
    assert e.value.error.code == "OperationNotAllowed"
    assert "in progress create managed cluster operation" in e.value.error.message
    with pytest.raises(ResourceExistsError):
        c.aks.agent_pools.begin_create_or_update("rg-ai", "aks-ai", "user2", {"properties": {"count": 1}})
    assert poller.result().properties.provisioning_state == "Succeeded"
    ops = [r for r in s.request_log if "/operations/" in r.path]
    assert len(ops) >= 2  # polled while in progress


def test_hold_keeps_operations_in_progress_until_release(sim, clients):
    """A held simulator completes nothing, whatever its speed; release completes what is pending at once."""
    make_group(clients)
    sim.hold()
    assert sim.held
    poller = clients.aks.managed_clusters.begin_create_or_update("rg-ai", "aks-ai", cluster_body(),
                                                                 polling_interval=0.01)
    ns, name = GW.split("/")
    clients.features.features.register(ns, name)
    time.sleep(0.05)  # far longer than the create takes at this speed
    assert not poller.done() and poller.status() == "InProgress"
    assert clients.aks.managed_clusters.get("rg-ai", "aks-ai").properties.provisioning_state == "Creating"
    assert clients.features.features.get(ns, name).properties.state == "Registering"
    statuses = [r for r in sim.request_log if "/operations/" in r.path]
    assert len(statuses) >= 2  # the SDK kept polling and kept hearing InProgress
    sim.release()
    assert not sim.held
    assert poller.result(timeout=5).properties.provisioning_state == "Succeeded"
    assert clients.features.features.get(ns, name).properties.state == "Registered"


def test_release_without_completing_keeps_simulated_durations(make_sim):
    s = make_sim(speed=TYPICAL.cluster_create / 30)  # half a minute: never within this test
    c = arm_clients(s, retry_total=0)
    make_group(c)
    s.hold()
    c.aks.managed_clusters.begin_create_or_update("rg-ai", "aks-ai", cluster_body(), polling=False)
    s.release(complete=False)
    assert c.aks.managed_clusters.get("rg-ai", "aks-ai").properties.provisioning_state == "Creating"
    s.hold()
    s.release()  # completes at once
    assert c.aks.managed_clusters.get("rg-ai", "aks-ai").properties.provisioning_state == "Succeeded"


def test_cluster_update_returns_200_and_keeps_server_fields(sim, clients):
    make_group(clients)
    first = clients.aks.managed_clusters.begin_create_or_update("rg-ai", "aks-ai", cluster_body()).result()
    body = cluster_body(ingressProfile={"gatewayAPI": {"installation": "Standard"}},
                        serviceMeshProfile={"mode": "Istio"})
    register(clients, GW)
    second = clients.aks.managed_clusters.begin_create_or_update("rg-ai", "aks-ai", body).result()
    assert [r.status for r in sim.request_log if r.method == "PUT" and "managedClusters" in r.path] == [201, 200]
    assert second.properties.fqdn == first.properties.fqdn
    assert second.identity.principal_id == first.identity.principal_id
    assert second.properties.ingress_profile.gateway_api.installation == "Standard"
    # no revision given: the newest revision compatible with 1.34
    assert second.properties.service_mesh_profile.istio.revisions == ["asm-1-28"]


def test_cluster_version_validation(sim, clients):
    make_group(clients)
    mc = clients.aks.managed_clusters
    with pytest.raises(HttpResponseError) as e:
        mc.begin_create_or_update("rg-ai", "aks-ai", cluster_body(version="1.29"))
    assert e.value.status_code == 400 and e.value.error.code == "K8sVersionNotSupported"
    assert "Version 1.29 is not supported in this region" in e.value.error.message
    with pytest.raises(HttpResponseError) as e:
        mc.begin_create_or_update("rg-ai", "aks-ai", cluster_body(version="1.32"))
    assert e.value.error.code == "K8sVersionNotSupported" and "Long-Term Support (LTS)" in e.value.error.message
    lts = cluster_body(version="1.32", supportPlan="AKSLongTermSupport")
    lts["sku"]["tier"] = "Premium"
    assert mc.begin_create_or_update("rg-ai", "aks-lts", lts).result().properties.current_kubernetes_version == "1.32.9"
    got = mc.begin_create_or_update("rg-ai", "aks-patch", cluster_body(version="1.35.0")).result()
    assert got.properties.current_kubernetes_version == "1.35.0"
    got = mc.begin_create_or_update("rg-ai", "aks-default", cluster_body(version="")).result()
    assert got.properties.current_kubernetes_version == "1.34.3"


def test_cluster_put_validation_errors(sim, clients):
    mc = clients.aks.managed_clusters
    with pytest.raises(ResourceNotFoundError) as e:
        mc.begin_create_or_update("nope", "aks-ai", cluster_body())
    assert e.value.error.code == "ResourceGroupNotFound"
    make_group(clients)
    with pytest.raises(HttpResponseError) as e:
        mc.begin_create_or_update("rg-ai", "aks-ai", cluster_body(
            version="1.35", serviceMeshProfile={"mode": "Istio", "istio": {"revisions": ["asm-1-26"]}}))
    assert e.value.status_code == 400
    assert "Service mesh revision asm-1-26 is not compatible with cluster version 1.35.1" in e.value.error.message
    with pytest.raises(HttpResponseError) as e:
        mc.begin_create_or_update("rg-ai", "aks-ai", cluster_body(ingressProfile={"gatewayAPI": {"installation": "Standard"}}))
    assert e.value.error.code == "PreviewFeatureNotRegistered" and GW in e.value.error.message
    register(clients, GW)
    with pytest.raises(HttpResponseError) as e:
        mc.begin_create_or_update("rg-ai", "aks-ai", cluster_body(ingressProfile={"gatewayAPI": {"installation": "Standard"}}))
    assert e.value.status_code == 400 and "Istio" in e.value.error.message
    managed = cluster_body(gpu=True)
    managed["properties"]["agentPoolProfiles"][1]["gpuProfile"] = {"nvidia": {"managementMode": "Managed"}}
    with pytest.raises(HttpResponseError) as e:
        mc.begin_create_or_update("rg-ai", "aks-ai", managed)
    assert e.value.error.code == "PreviewFeatureNotRegistered" and GPU in e.value.error.message
    nd = cluster_body()
    nd["properties"]["agentPoolProfiles"].append({"name": "nd", "vmSize": "Standard_ND96asr_v4", "count": 1})
    with pytest.raises(HttpResponseError) as e:
        mc.begin_create_or_update("rg-ai", "aks-ai", dict(nd, location="westus3"))
    assert "Standard_ND96asr_v4 is not allowed in your subscription in location 'westus3'" in e.value.error.message
    retired = cluster_body()
    retired["properties"]["agentPoolProfiles"].append({"name": "v100", "vmSize": "Standard_NC6s_v3", "count": 1})
    with pytest.raises(HttpResponseError) as e:  # a retired size is refused everywhere
        mc.begin_create_or_update("rg-ai", "aks-ai", retired)
    assert e.value.error.code == "BadRequest" and "Standard_NC6s_v3 is not allowed" in e.value.error.message
    h100 = cluster_body()
    h100["properties"]["agentPoolProfiles"].append({"name": "h100", "vmSize": "Standard_NC40ads_H100_v5", "count": 1})
    with pytest.raises(HttpResponseError) as e:
        mc.begin_create_or_update("rg-ai", "aks-ai", h100)
    assert e.value.error.code == "ErrCode_InsufficientVCPUQuota"
    # one node plus its surge node (10%, rounded up), as AKS counts at PUT
    assert "requested 80, remaining 0 for family standardNCadsH100v5Family" in e.value.error.message
    assert list(mc.list()) == []  # nothing was created


def test_agent_pool_lro_and_consistency(sim, clients):
    make_group(clients)
    clients.aks.managed_clusters.begin_create_or_update("rg-ai", "aks-ai", cluster_body()).result()
    register(clients, GPU)
    ap = clients.aks.agent_pools
    managed = {"vmSize": "Standard_NC4as_T4_v3", "count": 1, "nodeTaints": ["sku=gpu:NoSchedule"],
               "gpuProfile": {"nvidia": {"managementMode": "Managed"}}}
    # AKS refuses the cluster autoscaler on a managed GPU pool while managed GPU is in preview
    with pytest.raises(HttpResponseError) as e:
        ap.begin_create_or_update("rg-ai", "aks-ai", "gpunp", {"properties": dict(
            managed, enableAutoScaling=True, minCount=1, maxCount=3)})
    assert e.value.status_code == 400 and "cluster autoscaler is not supported on managed GPU" in e.value.error.message
    assert [p.name for p in ap.list("rg-ai", "aks-ai")] == ["system"]
    pool = ap.begin_create_or_update("rg-ai", "aks-ai", "gpunp", {"properties": managed}).result()
    assert pool.provisioning_state == "Succeeded" and pool.mode == "User"
    assert pool.current_orchestrator_version == "1.34.3" and pool.gpu_profile.nvidia.management_mode == "Managed"
    assert sorted(p.name for p in ap.list("rg-ai", "aks-ai")) == ["gpunp", "system"]
    mc = clients.aks.managed_clusters.get("rg-ai", "aks-ai")
    assert sorted(p.name for p in mc.properties.agent_pool_profiles) == ["gpunp", "system"]
    # and the other way: a cluster PUT changes a pool
    body = cluster_body()
    body["properties"]["agentPoolProfiles"][0]["count"] = 3
    clients.aks.managed_clusters.begin_create_or_update("rg-ai", "aks-ai", body).result()
    assert ap.get("rg-ai", "aks-ai", "system").count == 3
    assert ap.get("rg-ai", "aks-ai", "gpunp").vm_size == "Standard_NC4as_T4_v3"
    with pytest.raises(ResourceNotFoundError):
        ap.get("rg-ai", "aks-ai", "nope")
    with pytest.raises(ResourceNotFoundError):
        ap.begin_create_or_update("rg-ai", "nocluster", "gpunp", {"properties": {"count": 1}})
    ap.begin_delete("rg-ai", "aks-ai", "gpunp").result()
    assert [p.name for p in ap.list("rg-ai", "aks-ai")] == ["system"]


def test_credentials_kubeconfig(sim, clients):
    make_group(clients)
    clients.aks.managed_clusters.begin_create_or_update("rg-ai", "aks-ai", cluster_body()).result()
    for call in (clients.aks.managed_clusters.list_cluster_user_credentials,
                 clients.aks.managed_clusters.list_cluster_admin_credentials):
        res = call("rg-ai", "aks-ai")
        value = res.kubeconfigs[0].value
        assert isinstance(value, (bytes, bytearray))
        kc = yaml.safe_load(value)
        server = kc["clusters"][0]["cluster"]["server"]
        assert server.startswith(sim.base_url + "/k8s/") and len(server.rsplit("/", 1)[-1]) >= 6
        assert kc["current-context"] == "aks-ai"
        assert kc["users"][0]["user"]["token"] == KUBE_TOKEN
    with pytest.raises(ResourceNotFoundError):
        clients.aks.managed_clusters.list_cluster_user_credentials("rg-ai", "nope")


def test_cluster_delete(sim, clients):
    make_group(clients)
    clients.aks.managed_clusters.begin_create_or_update("rg-ai", "aks-ai", cluster_body()).result()
    clients.aks.managed_clusters.begin_delete("rg-ai", "aks-ai").result()
    with pytest.raises(ResourceNotFoundError):
        clients.aks.managed_clusters.get("rg-ai", "aks-ai")


# ------------------------------------------------------------------------------------------ faults
def test_unknown_fault_name_is_rejected():
    with pytest.raises(ValueError, match="known faults"):
        Simulator(faults=["gpu-qouta"])


def test_fault_gpu_quota(make_sim):
    s = make_sim(faults=["gpu-quota"])
    c = arm_clients(s, retry_total=0)
    make_group(c)
    with pytest.raises(HttpResponseError) as e:
        c.aks.managed_clusters.begin_create_or_update("rg-ai", "aks-ai", cluster_body(gpu=True))
    assert e.value.status_code == 400 and e.value.error.code == "ErrCode_InsufficientVCPUQuota"
    # one GPU node and its surge node
    assert e.value.error.message == ("Insufficient vcpu quota requested 8, remaining 0 for family "
                                     "standardNCASv3_T4Family for region eastus2. Surge nodes would also consume vcpu "
                                     "quota.")
    # the usage read says the same as the PUT: no vCPUs of the GPU family left
    t4 = next(u for u in c.compute.usage.list(LOC) if u.name.value == "standardNCASv3_T4Family")
    assert t4.limit - t4.current_value == 0
    assert list(c.aks.managed_clusters.list()) == []
    # a cluster without GPU nodes is fine; the GPU pool PUT then fails the same way
    c.aks.managed_clusters.begin_create_or_update("rg-ai", "aks-ai", cluster_body()).result()
    with pytest.raises(HttpResponseError) as e:
        c.aks.agent_pools.begin_create_or_update("rg-ai", "aks-ai", "gpunp",
                                                 {"properties": {"vmSize": "Standard_NC4as_T4_v3", "count": 3}})
    assert e.value.error.code == "ErrCode_InsufficientVCPUQuota" and "requested 16" in e.value.error.message
    s.clear_faults()
    c.aks.agent_pools.begin_create_or_update("rg-ai", "aks-ai", "gpunp",
                                             {"properties": {"vmSize": "Standard_NC4as_T4_v3", "count": 1}}).result()


def test_fault_sku_unavailable(make_sim):
    s = make_sim(faults=["sku-unavailable"])
    c = arm_clients(s, retry_total=0)
    make_group(c)
    poller = c.aks.managed_clusters.begin_create_or_update("rg-ai", "aks-ai", cluster_body(gpu=True))
    with pytest.raises(HttpResponseError) as e:
        poller.result()
    assert type(e.value) is HttpResponseError and e.value.error.code == "SkuNotAvailable"
    assert "is currently not available in location 'eastus2'" in e.value.error.message
    mc = c.aks.managed_clusters.get("rg-ai", "aks-ai")
    assert mc.properties.provisioning_state == "Failed"
    states = {p.name: p.provisioning_state for p in mc.properties.agent_pool_profiles}
    assert states == {"system": "Succeeded", "gpunp": "Failed"}
    # a pool PUT on an existing cluster fails the same way
    s.clear_faults()
    c.aks.managed_clusters.begin_create_or_update("rg-ai", "aks-ok", cluster_body()).result()
    s.set_faults(["sku-unavailable"])
    with pytest.raises(HttpResponseError) as e:
        c.aks.agent_pools.begin_create_or_update("rg-ai", "aks-ok", "gpunp", {"properties": {
            "vmSize": "Standard_NC4as_T4_v3", "count": 1}}).result()
    assert e.value.error.code == "SkuNotAvailable"
    assert c.aks.agent_pools.get("rg-ai", "aks-ok", "gpunp").provisioning_state == "Failed"


def test_fault_throttle_survives_sdk_retries(make_sim):
    s = make_sim(faults=["throttle"])
    c = arm_clients(s)  # default retry policy: honours Retry-After 1 s, 3 status retries
    make_group(c)
    t0 = time.time()
    with pytest.raises(HttpResponseError) as e:
        c.aks.managed_clusters.begin_create_or_update("rg-ai", "aks-ai", cluster_body())
    assert e.value.status_code == 429 and e.value.error.code == "Throttled"
    assert e.value.response.headers["Retry-After"] == "1"
    puts = [r for r in s.request_log if r.method == "PUT" and "managedClusters" in r.path]
    assert len(puts) == 4 and all(r.status == 429 for r in puts)
    assert time.time() - t0 >= 2.5


def test_fault_lro_failed(make_sim):
    s = make_sim(faults=["lro-failed"])
    c = arm_clients(s, retry_total=0)
    make_group(c)
    poller = c.aks.managed_clusters.begin_create_or_update("rg-ai", "aks-ai", cluster_body())
    with pytest.raises(HttpResponseError) as e:
        poller.result()
    assert e.value.status_code == 200 and e.value.error.code == "VMExtensionProvisioningError"
    assert c.aks.managed_clusters.get("rg-ai", "aks-ai").properties.provisioning_state == "Failed"


def test_fault_conflict(make_sim):
    s = make_sim(faults=["conflict"])
    c = arm_clients(s, retry_total=0)
    make_group(c)
    with pytest.raises(ResourceExistsError) as e:
        c.aks.managed_clusters.begin_create_or_update("rg-ai", "aks-ai", cluster_body())
    assert e.value.status_code == 409 and e.value.error.code == "OperationNotAllowed"
    assert e.value.error.message.startswith("Operation is not allowed because there's an in progress")


def test_fault_status_drop(make_sim):
    s = make_sim(faults=["status-drop"])
    c = arm_clients(s, retry_total=0)
    make_group(c)
    poller = c.aks.managed_clusters.begin_create_or_update("rg-ai", "aks-ai", cluster_body())
    with pytest.raises((ServiceRequestError, ServiceResponseError)):
        poller.result()
    assert any(r.status == 0 and r.dropped and "/operations/" in r.path for r in s.request_log)


def test_fault_connection_drop_applies_the_put_and_the_sdk_resend_meets_its_own_operation(make_sim):
    s = make_sim(faults=["connection-drop"], speed=10)  # the cluster stays Creating while we look
    c = arm_clients(s)  # default retries: the SDK re-sends a PUT whose connection dropped
    make_group(c)
    with pytest.raises(ResourceExistsError) as e:
        c.aks.managed_clusters.begin_create_or_update("rg-ai", "aks-ai", cluster_body())
    assert e.value.error.code == "OperationNotAllowed"
    assert "in progress create managed cluster operation" in e.value.error.message
    puts = [r for r in s.request_log if r.method == "PUT" and r.path.lower().endswith("/managedclusters/aks-ai")]
    assert [(r.status, r.dropped) for r in puts] == [(201, True), (409, False)]
    assert c.aks.managed_clusters.get("rg-ai", "aks-ai").provisioning_state == "Creating"
    s.release()  # the operation our dropped PUT started ends
    assert c.aks.managed_clusters.get("rg-ai", "aks-ai").provisioning_state == "Succeeded"
    # once per resource: the next PUT is answered
    poller = c.aks.managed_clusters.begin_create_or_update("rg-ai", "aks-ai", cluster_body())
    s.release()
    assert poller.result().provisioning_state == "Succeeded"


def test_fault_conflict_is_an_operation_in_progress_that_ends(make_sim):
    s = make_sim(faults=["conflict"], speed=10)
    c = arm_clients(s)
    make_group(c)
    # no cluster yet: an earlier cluster of that name is still being deleted
    with pytest.raises(ResourceExistsError) as e:
        c.aks.managed_clusters.begin_create_or_update("rg-ai", "aks-ai", cluster_body())
    assert "in progress delete managed cluster operation" in e.value.error.message
    assert c.aks.managed_clusters.get("rg-ai", "aks-ai").provisioning_state == "Deleting"
    latest = c.aks.send_request(HttpRequest("GET", f"/subscriptions/{s.subscription_id}/resourceGroups/rg-ai/providers/"
                                            "Microsoft.ContainerService/managedClusters/aks-ai/operations/latest"
                                            "?api-version=2025-10-02-preview")).json()
    assert latest["status"] == "InProgress" and latest["name"] in e.value.error.message
    s.release()  # it ends: the cluster is gone and the PUT is accepted
    with pytest.raises(ResourceNotFoundError):
        c.aks.managed_clusters.get("rg-ai", "aks-ai")
    poller = c.aks.managed_clusters.begin_create_or_update("rg-ai", "aks-ai", cluster_body())
    s.release()
    poller.result()
    # an existing cluster: another client's update runs on it, and a pool write meets it too
    s.clear_faults()
    poller = c.aks.managed_clusters.begin_create_or_update("rg-ai", "aks-two", cluster_body())
    s.release()
    poller.result()
    s.set_faults(["conflict"])
    with pytest.raises(ResourceExistsError) as e:
        c.aks.agent_pools.begin_create_or_update("rg-ai", "aks-two", "extra", {"properties": {"count": 1}})
    assert "in progress update managed cluster operation" in e.value.error.message
    assert c.aks.managed_clusters.get("rg-ai", "aks-two").provisioning_state == "Updating"
    s.release()
    poller = c.aks.agent_pools.begin_create_or_update("rg-ai", "aks-two", "extra", {"properties": {"count": 1}})
    s.release()
    assert poller.result().provisioning_state == "Succeeded"


# ------------------------------------------------------------------------------------------ persistence, wire
def test_state_file_persistence(make_sim, tmp_path):
    path = tmp_path / "sim-state.json"
    s1 = make_sim(state_file=path)
    c1 = arm_clients(s1)
    make_group(c1)
    register(c1, GW)
    c1.aks.managed_clusters.begin_create_or_update("rg-ai", "aks-ai", cluster_body()).result()
    kubeconfig1 = c1.aks.managed_clusters.list_cluster_user_credentials("rg-ai", "aks-ai").kubeconfigs[0].value
    assert path.exists() and json.loads(path.read_text())["arm"]["clusters"]
    s1.stop()
    s2 = make_sim(state_file=path)
    c2 = arm_clients(s2)
    mc = c2.aks.managed_clusters.get("rg-ai", "aks-ai")
    assert mc.properties.provisioning_state == "Succeeded"
    assert c2.features.features.get(*GW.split("/")).properties.state == "Registered"
    kc2 = yaml.safe_load(c2.aks.managed_clusters.list_cluster_user_credentials("rg-ai", "aks-ai").kubeconfigs[0].value)
    kid1 = yaml.safe_load(kubeconfig1)["clusters"][0]["cluster"]["server"].rsplit("/", 1)[-1]
    assert kc2["clusters"][0]["cluster"]["server"] == f"{s2.base_url}/k8s/{kid1}"


def test_in_flight_operation_completes_after_reload(make_sim, tmp_path):
    path = tmp_path / "sim-state.json"
    s1 = make_sim(state_file=path, speed=TYPICAL.cluster_create / 0.4)
    c1 = arm_clients(s1)
    make_group(c1)
    c1.aks.managed_clusters.begin_create_or_update("rg-ai", "aks-ai", cluster_body())
    s1.stop()
    s2 = make_sim(state_file=path, speed=TYPICAL.cluster_create / 0.4)
    c2 = arm_clients(s2)
    assert c2.aks.managed_clusters.get("rg-ai", "aks-ai").properties.provisioning_state == "Creating"
    assert wait_until(lambda: c2.aks.managed_clusters.get("rg-ai", "aks-ai").properties.provisioning_state
                      == "Succeeded", 3)


def test_request_ids_and_correlation(sim, clients):
    make_group(clients)
    seen = []
    clients.resources.resource_groups.get(
        "rg-ai", raw_response_hook=lambda r: seen.append(dict(r.http_response.headers)),
        headers={"x-ms-correlation-request-id": "0f0e0d0c-0000-4000-8000-000000000001"})
    assert seen[0]["x-ms-request-id"] and seen[0]["x-ms-correlation-request-id"] == "0f0e0d0c-0000-4000-8000-000000000001"
    assert all(r.request_id for r in sim.request_log)
    assert len({r.request_id for r in sim.request_log}) == len(sim.request_log)
    last = sim.request_log[-1]
    assert (last.method, last.path, last.status) == ("GET", f"/subscriptions/{sim.subscription_id}/resourcegroups/rg-ai", 200)
    assert last.query["api-version"]


def test_requests_without_bearer_token_are_401(sim):
    url = f"{sim.base_url}/subscriptions?api-version=2022-12-01"
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(url)
    assert e.value.code == 401
    assert json.loads(e.value.read())["error"]["code"] == "InvalidAuthenticationToken"
    assert e.value.headers["x-ms-request-id"]


def test_head_has_no_body(sim, clients):
    make_group(clients)
    req = urllib.request.Request(f"{sim.base_url}/subscriptions/{sim.subscription_id}/resourcegroups/rg-ai"
                                 "?api-version=2025-04-01", method="HEAD", headers={"Authorization": "Bearer x"})
    with urllib.request.urlopen(req) as r:
        assert r.status == 204 and r.headers["Content-Length"] == "0" and r.read() == b""


def test_latency_model():
    base = cluster_body()
    assert cluster_put_typical(base) == TYPICAL.cluster_create
    full = cluster_body(gpu=True, serviceMeshProfile={"mode": "Istio"},
                        workloadAutoScalerProfile={"keda": {"enabled": True}},
                        aiToolchainOperatorProfile={"enabled": True},
                        azureMonitorProfile={"metrics": {"enabled": True}})
    assert cluster_put_typical(full) == 360 + 90 + 60 + 3 * 30
    mesh = cluster_body(serviceMeshProfile={"mode": "Istio"})
    assert cluster_put_typical(mesh, existed=True, previous=base) == TYPICAL.mesh_enable
    gw = dict(mesh, properties=dict(mesh["properties"], ingressProfile={"gatewayAPI": {"installation": "Standard"}}))
    assert cluster_put_typical(gw, existed=True, previous=mesh) == TYPICAL.gateway_api_update
    assert cluster_put_typical(base, existed=True, previous=base) == TYPICAL.cluster_update


# ------------------------------------------------------------------------------------------ ARM -> Kubernetes
def test_kubeconfig_reaches_the_simulated_kubernetes_api(sim, clients):
    kube_mod = pytest.importorskip("wizard.sim.kube")
    kubernetes = pytest.importorskip("kubernetes")
    assert kube_mod.KUBE_TOKEN == KUBE_TOKEN
    make_group(clients)
    register(clients, GW)
    body = cluster_body(gpu=True, serviceMeshProfile={"mode": "Istio"},
                        ingressProfile={"gatewayAPI": {"installation": "Standard"}})
    clients.aks.managed_clusters.begin_create_or_update("rg-ai", "aks-ai", body).result()
    kc = yaml.safe_load(clients.aks.managed_clusters.list_cluster_user_credentials("rg-ai", "aks-ai")
                        .kubeconfigs[0].value)
    kube_id = kc["clusters"][0]["cluster"]["server"].rsplit("/", 1)[-1]
    assert kube_id in sim.kube.cluster_ids()
    api_client = kubernetes.config.new_client_from_config_dict(kc)
    nodes = kubernetes.client.CoreV1Api(api_client).list_node().items
    assert len(nodes) == 3  # two system nodes and one GPU node, as PUT
    sizes = sorted(n.metadata.labels.get("node.kubernetes.io/instance-type") for n in nodes)
    assert sizes == ["Standard_D4ds_v5", "Standard_D4ds_v5", "Standard_NC4as_T4_v3"]
    namespaces = {n.metadata.name for n in kubernetes.client.CoreV1Api(api_client).list_namespace().items}
    assert "aks-istio-system" in namespaces
    # deleting the cluster removes its Kubernetes API
    clients.aks.managed_clusters.begin_delete("rg-ai", "aks-ai").result()
    assert kube_id not in sim.kube.cluster_ids()


def test_kube_paths_need_no_arm_token(sim, clients):
    pytest.importorskip("wizard.sim.kube")
    make_group(clients)
    clients.aks.managed_clusters.begin_create_or_update("rg-ai", "aks-ai", cluster_body()).result()
    kc = yaml.safe_load(clients.aks.managed_clusters.list_cluster_user_credentials("rg-ai", "aks-ai")
                        .kubeconfigs[0].value)
    server = kc["clusters"][0]["cluster"]["server"]
    with pytest.raises(urllib.error.HTTPError) as e:  # the kube side checks its own token
        urllib.request.urlopen(server + "/api/v1/nodes")
    assert e.value.code == 401
    req = urllib.request.Request(server + "/api/v1/nodes", headers={"Authorization": f"Bearer {KUBE_TOKEN}"})
    with urllib.request.urlopen(req) as r:
        assert json.loads(r.read())["kind"] == "NodeList"


def test_kube_state_persists_with_the_state_file(make_sim, tmp_path):
    pytest.importorskip("wizard.sim.kube")
    path = tmp_path / "state.json"
    s1 = make_sim(state_file=path)
    c1 = arm_clients(s1)
    make_group(c1)
    c1.aks.managed_clusters.begin_create_or_update("rg-ai", "aks-ai", cluster_body()).result()
    ids = s1.kube.cluster_ids()
    s1.stop()
    s2 = make_sim(state_file=path)
    assert s2.kube.cluster_ids() == ids


def _self_signed(tmp_path):
    import datetime
    import ipaddress
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert_file, key_file)
    return ctx, str(cert_file)


def test_tls(make_sim, tmp_path):
    pytest.importorskip("cryptography")
    from azure.mgmt.resource.resources import ResourceManagementClient

    ctx, ca = _self_signed(tmp_path)
    s = make_sim(tls=ctx)
    assert s.base_url.startswith("https://127.0.0.1:")
    rm = ResourceManagementClient(s.credential, s.subscription_id, base_url=s.base_url, connection_verify=ca)
    assert rm.resource_groups.create_or_update("rg-tls", {"location": LOC}).name == "rg-tls"
    assert rm.resource_groups.check_existence("rg-tls") is True


def test_unreadable_state_file_is_an_error(tmp_path):
    bad = tmp_path / "state.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="cannot read simulator state"):
        Simulator(state_file=bad).start()
    other = tmp_path / "other.json"
    other.write_text('{"hello": 1}')
    with pytest.raises(ValueError, match="not a simulator state file"):
        Simulator(state_file=other).start()


def test_save_is_atomic_and_reloadable(make_sim, tmp_path):
    path = tmp_path / "nested" / "state.json"
    s = make_sim(state_file=path)
    make_group(arm_clients(s))
    s.save()
    data = json.loads(path.read_text())
    assert data["format"] == "aks-ai-wizard/sim-state" and "rg-ai" in data["arm"]["resource_groups"]
    assert sorted(p.name for p in path.parent.iterdir()) == ["state.json", "state.json.requests.jsonl"]  # no temp files
