"""Contract: the simulator answers Microsoft's official example requests (../shared/arm/examples) with bodies
that have every key path the example responses have, and the real SDK deserializes them.

Examples are read at test time from the shared folder beside the repository (skipped when absent). Example
requests are normalised only where the simulated subscription must differ from the spec's placeholders:
location "location1" -> a real region, versions the simulated region does not offer -> "" (the default),
and a VM size whose quota the simulated subscription lacks -> an offered one.
"""
from __future__ import annotations

import copy
import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import arm_clients

EXAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "arm" / "examples"
pytestmark = pytest.mark.skipif(not EXAMPLES.is_dir(), reason=f"no example payloads at {EXAMPLES}")

LOC = "eastus2"
CS_API = "2026-08-01"
# keys whose children are data (map keys), not schema: compare their values' shapes only
MAP_KEYS = {"patchVersions", "userAssignedIdentities", "tags", "nodeLabels", "config", "sysctls"}
# top-level keys never compared: paging links of examples are placeholders (arm/README.md section 1)
IGNORED = {"/nextLink"}
# Where an example's response shows what its own request never sent (the spec examples are hand-written), the
# simulator echoes the request instead; each such gap is listed with the reason.
EXAMPLE_GAPS: dict[str, set[str]] = {
    # response has diskEncryptionSetID and a windowsProfile that the request does not set
    "ManagedClustersCreate_IngressProfile_WebAppRouting.json": {"/properties/diskEncryptionSetID",
                                                                "/properties/windowsProfile"},
    # the 201 shows kubeletConfig.podMaxPids, which neither the request nor the 200 have
    "AgentPoolsCreate_GPUMIG.json": {"/properties/kubeletConfig/podMaxPids"},
}
# the simulated subscription has no ND A100 quota and 24 A100 vCPUs in NC: one NC24ads node plus its surge node
# (48 vCPUs) would not fit either, so the MIG pool starts empty (a User pool may have 0 nodes)
OFFERED_SIZES = {"Standard_ND96asr_v4": ("Standard_NC24ads_A100_v4", 0)}


def example(rel: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / rel).read_text(encoding="utf-8"))


def key_paths(obj: Any, prefix: str = "", parent: str = "") -> set[str]:
    out: set[str] = set()
    if isinstance(obj, dict):
        for k, v in obj.items():
            name = "*" if parent in MAP_KEYS else k
            p = f"{prefix}/{name}"
            out.add(p)
            out |= key_paths(v, p, k)
    elif isinstance(obj, list):
        for v in obj:
            out |= key_paths(v, prefix + "[]", parent)
    return out


def missing(expected: Any, actual: Any, ignore: set[str] = frozenset()) -> list[str]:
    gaps = key_paths(expected) - key_paths(actual)
    return sorted(p for p in gaps if p not in IGNORED and not any(p == i or p.startswith(i + "/") or
                                                                    p.startswith(i + "[]") for i in ignore))


def raw(sim: Any, method: str, path: str, body: Any = None, api: str = CS_API) -> tuple[int, Any]:
    sep = "&" if "?" in path else "?"
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"{sim.base_url}{path}{sep}api-version={api}", data=data, method=method,
                                 headers={"Authorization": "Bearer contract", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req) as r:
            text = r.read()
            return r.status, (json.loads(text) if text else None)
    except urllib.error.HTTPError as e:
        text = e.read()
        return e.code, (json.loads(text) if text else None)


def offered(version: str) -> bool:
    return version.startswith(("1.32", "1.33", "1.34", "1.35", "1.36"))


def normalise_pool(props: dict[str, Any]) -> dict[str, Any]:
    props = copy.deepcopy(props)
    if props.get("orchestratorVersion") and not offered(props["orchestratorVersion"]):
        props["orchestratorVersion"] = ""
    if props.get("vmSize") in OFFERED_SIZES:
        props["vmSize"], props["count"] = OFFERED_SIZES[props["vmSize"]]
    return props


def normalise_cluster(body: dict[str, Any]) -> dict[str, Any]:
    body = copy.deepcopy(body)
    body["location"] = LOC
    props = body.setdefault("properties", {})
    if props.get("kubernetesVersion") and not offered(props["kubernetesVersion"]):
        props["kubernetesVersion"] = ""
    props["agentPoolProfiles"] = [normalise_pool(p) for p in props.get("agentPoolProfiles") or []]
    return body


def cluster_path(sim: Any, rg: str, name: str) -> str:
    return f"/subscriptions/{sim.subscription_id}/resourceGroups/{rg}/providers/Microsoft.ContainerService/managedClusters/{name}"


def wait_succeeded(sim: Any, path: str, timeout: float = 5.0) -> dict[str, Any]:
    end = time.time() + timeout
    while True:
        status, body = raw(sim, "GET", path)
        assert status == 200, body
        if body["properties"]["provisioningState"] in ("Succeeded", "Failed") or time.time() > end:
            return body
        time.sleep(0.01)


def make_cluster(sim: Any, clients: Any, rg: str = "rg1", name: str = "clustername1") -> dict[str, Any]:
    clients.resources.resource_groups.create_or_update(rg, {"location": LOC})
    ex = example("containerservice/ManagedClustersCreate_Update.json")
    status, _ = raw(sim, "PUT", cluster_path(sim, rg, name), normalise_cluster(ex["parameters"]["parameters"]))
    assert status == 201
    return wait_succeeded(sim, cluster_path(sim, rg, name))


def register(clients: Any, flag: str) -> None:
    ns, name = flag.split("/")
    clients.features.features.register(ns, name)
    end = time.time() + 5
    while clients.features.features.get(ns, name).properties.state != "Registered":
        assert time.time() < end
        time.sleep(0.01)


CLUSTER_PUTS = ["ManagedClustersCreate_Update.json", "ManagedClustersCreate_AzureServiceMesh.json",
                "ManagedClustersCreate_IngressProfile_WebAppRouting.json"]
POOL_PUTS = ["AgentPoolsCreate_Update.json", "AgentPools_Update.json", "AgentPoolsCreate_ManagedGPU.json",
             "AgentPoolsCreate_GPUMIG.json", "AgentPoolsCreate_TypeVirtualMachines_Autoscale.json"]


@pytest.mark.parametrize("name", CLUSTER_PUTS)
def test_cluster_put_example(sim: Any, name: str) -> None:
    c = arm_clients(sim, retry_total=0)
    ex = example(f"containerservice/{name}")
    params = ex["parameters"]
    rg, cname = params["resourceGroupName"], params["resourceName"]
    c.resources.resource_groups.create_or_update(rg, {"location": LOC})
    body = normalise_cluster(params["parameters"])
    status, created = raw(sim, "PUT", cluster_path(sim, rg, cname), body)
    assert status == 201, created
    assert created["properties"]["provisioningState"] == "Creating"
    gaps = EXAMPLE_GAPS.get(name, set())
    assert missing(ex["responses"]["201"]["body"], created, gaps) == []
    final = wait_succeeded(sim, cluster_path(sim, rg, cname))
    assert final["properties"]["provisioningState"] == "Succeeded"
    assert missing(ex["responses"]["200"]["body"], final, gaps) == []
    # secrets are never echoed
    assert "secret" not in final["properties"].get("servicePrincipalProfile", {})
    assert "adminPassword" not in (final["properties"].get("windowsProfile") or {})
    # the real SDK: an update PUT of the same example through the LRO, and a GET, deserialize
    mc = c.aks.managed_clusters.begin_create_or_update(rg, cname, body).result()
    assert mc.name == cname and mc.properties.provisioning_state == "Succeeded"
    assert mc.properties.agent_pool_profiles[0].name == body["properties"]["agentPoolProfiles"][0]["name"]
    got = c.aks.managed_clusters.get(rg, cname)
    assert got.properties.fqdn == final["properties"]["fqdn"]


@pytest.mark.parametrize("name", POOL_PUTS)
def test_agent_pool_put_example(sim: Any, name: str) -> None:
    c = arm_clients(sim, retry_total=0)
    register(c, "Microsoft.ContainerService/ManagedGPUExperiencePreview")
    ex = example(f"containerservice/{name}")
    params = ex["parameters"]
    rg, cname, pool = params["resourceGroupName"], params["resourceName"], params["agentPoolName"]
    make_cluster(sim, c, rg, cname)
    body = copy.deepcopy(params["parameters"])
    body["properties"] = normalise_pool(body.get("properties") or {})
    path = cluster_path(sim, rg, cname) + f"/agentPools/{pool}"
    status, created = raw(sim, "PUT", path, body)
    assert status == 201, created
    assert created["properties"]["provisioningState"] == "Creating"
    gaps = EXAMPLE_GAPS.get(name, set())
    assert missing(ex["responses"]["201"]["body"], created, gaps) == []
    final = wait_succeeded(sim, path)
    assert final["properties"]["provisioningState"] == "Succeeded"
    assert missing(ex["responses"]["200"]["body"], final, gaps) == []
    ap = c.aks.agent_pools.begin_create_or_update(rg, cname, pool, body).result()
    assert ap.name == pool and ap.provisioning_state == "Succeeded"
    assert c.aks.agent_pools.get(rg, cname, pool).current_orchestrator_version
    # the cluster's view of the pool matches
    names = [p.name for p in c.aks.managed_clusters.get(rg, cname).properties.agent_pool_profiles]
    assert pool in names


def test_get_examples(sim: Any) -> None:
    c = arm_clients(sim, retry_total=0)
    final = make_cluster(sim, c)
    ex = example("containerservice/ManagedClustersGet.json")
    # outboundIPs: that example's cluster was created with customer-owned outbound IPs, Create_Update's was not
    assert missing(ex["responses"]["200"]["body"], final,
                   ignore={"/properties/networkProfile/loadBalancerProfile/outboundIPs"}) == []
    ex_pool = example("containerservice/AgentPoolsGet.json")
    status, pool = raw(sim, "GET", cluster_path(sim, "rg1", "clustername1") + "/agentPools/nodepool1")
    assert status == 200
    assert missing(ex_pool["responses"]["200"]["body"], pool) == []
    assert c.aks.agent_pools.get("rg1", "clustername1", "nodepool1").max_pods


@pytest.mark.parametrize("name,method", [("ManagedClustersListClusterUserCredentials.json", "user"),
                                         ("ManagedClustersListClusterAdminCredentials.json", "admin")])
def test_credentials_examples(sim: Any, name: str, method: str) -> None:
    c = arm_clients(sim, retry_total=0)
    make_cluster(sim, c)
    ex = example(f"containerservice/{name}")
    action = "listClusterUserCredential" if method == "user" else "listClusterAdminCredential"
    status, body = raw(sim, "POST", cluster_path(sim, "rg1", "clustername1") + f"/{action}")
    assert status == 200
    assert missing(ex["responses"]["200"]["body"], body) == []
    call = (c.aks.managed_clusters.list_cluster_user_credentials if method == "user"
            else c.aks.managed_clusters.list_cluster_admin_credentials)
    assert b"/k8s/" in call("rg1", "clustername1").kubeconfigs[0].value


def test_versions_and_mesh_examples(sim: Any) -> None:
    c = arm_clients(sim, retry_total=0)
    base = f"/subscriptions/{sim.subscription_id}/providers/Microsoft.ContainerService/locations/{LOC}"
    ex = example("containerservice/KubernetesVersions_List.json")
    status, body = raw(sim, "GET", base + "/kubernetesVersions")
    assert status == 200 and missing(ex["responses"]["200"]["body"], body) == []
    assert c.aks.managed_clusters.list_kubernetes_versions(LOC).values_property[0].version
    ex = example("containerservice/ManagedClustersList_MeshRevisionProfiles.json")
    status, body = raw(sim, "GET", base + "/meshRevisionProfiles")
    assert status == 200 and missing(ex["responses"]["200"]["body"], body) == []
    assert list(c.aks.managed_clusters.list_mesh_revision_profiles(LOC))[0].properties.mesh_revisions


def test_feature_examples(sim: Any) -> None:
    c = arm_clients(sim, retry_total=0)
    base = (f"/subscriptions/{sim.subscription_id}/providers/Microsoft.Features/providers/Microsoft.ContainerService"
            "/features/AKS-KedaPreview")
    status, body = raw(sim, "GET", base, api="2021-07-01")
    assert status == 200 and missing(example("features/getFeature.json")["responses"]["200"]["body"], body) == []
    status, body = raw(sim, "POST", base + "/register", api="2021-07-01")
    assert status == 200 and missing(example("features/registerFeature.json")["responses"]["200"]["body"], body) == []
    assert c.features.features.get("Microsoft.ContainerService", "AKS-KedaPreview").properties.state


def test_resource_examples(sim: Any) -> None:
    c = arm_clients(sim, retry_total=0)
    ex = example("resources/CreateResourceGroup.json")
    path = f"/subscriptions/{sim.subscription_id}/resourcegroups/{ex['parameters']['resourceGroupName']}"
    status, body = raw(sim, "PUT", path, ex["parameters"]["parameters"], api="2025-04-01")
    assert status == 201 and missing(ex["responses"]["201"]["body"], body) == []
    status, body = raw(sim, "PUT", path, ex["parameters"]["parameters"], api="2025-04-01")
    assert status == 200 and missing(ex["responses"]["200"]["body"], body) == []
    status, body = raw(sim, "GET", path, api="2025-04-01")
    assert status == 200 and missing(example("resources/ResourceGroups_Get.json")["responses"]["200"]["body"], body) == []
    assert c.resources.resource_groups.get(ex["parameters"]["resourceGroupName"]).location == "eastus"
    status, body = raw(sim, "GET", f"/subscriptions/{sim.subscription_id}/providers/Microsoft.ContainerService",
                       api="2025-04-01")
    # locationMappings describe edge zones, which the simulated regions do not have
    assert status == 200 and missing(example("resources/GetProvider.json")["responses"]["200"]["body"], body,
                                     ignore={"/resourceTypes[]/locationMappings"}) == []
    assert c.resources.providers.get("Microsoft.ContainerService").resource_types[0].locations


def test_subscription_examples(sim: Any) -> None:
    c = arm_clients(sim, retry_total=0)
    status, body = raw(sim, "GET", "/subscriptions", api="2022-12-01")
    # managedByTenants and tags: the simulated subscription has neither (empty list, empty map)
    assert status == 200 and missing(example("subscriptions/GetSubscriptions.json")["responses"]["200"]["body"], body,
                                     ignore={"/value[]/managedByTenants", "/value[]/tags"}) == []
    status, body = raw(sim, "GET", f"/subscriptions/{sim.subscription_id}/locations", api="2022-12-01")
    assert status == 200 and missing(example("subscriptions/GetLocations.json")["responses"]["200"]["body"], body) == []
    assert [s.display_name for s in c.subscriptions.subscriptions.list()] == ["Simulated Subscription"]


@pytest.mark.parametrize("name", ["ListAvailableResourceSkus.json", "ListAvailableResourceSkusForARegion.json"])
def test_sku_examples(sim: Any, name: str) -> None:
    c = arm_clients(sim, retry_total=0)
    status, body = raw(sim, "GET", f"/subscriptions/{sim.subscription_id}/providers/Microsoft.Compute/skus"
                                   f"?$filter=location%20eq%20'{LOC}'", api="2021-07-01")
    assert status == 200 and missing(example(f"compute/{name}")["responses"]["200"]["body"], body) == []
    assert list(c.compute.resource_skus.list(filter=f"location eq '{LOC}'"))[0].family


@pytest.mark.parametrize("name", ["Usage_List_MaximumSet_Gen.json", "Usage_List_MinimumSet_Gen.json"])
def test_usage_examples(sim: Any, name: str) -> None:
    c = arm_clients(sim, retry_total=0)
    status, body = raw(sim, "GET", f"/subscriptions/{sim.subscription_id}/providers/Microsoft.Compute/locations/"
                                   f"{LOC}/usages", api="2026-04-01")
    assert status == 200 and missing(example(f"compute/{name}")["responses"]["200"]["body"], body) == []
    assert next(iter(c.compute.usage.list(LOC))).name.value == "cores"
