"""Azure layer: clouds, credentials, ArmConnection, error translation — against real SDK clients.

No SDK method is mocked: error tests serve real ARM/AKS error bodies from a loopback ThreadingHTTPServer and call the
real clients built by ArmConnection; the TLS test runs DefaultAzureCredential (environment variables only) and the
clients against an HTTPS fake of a custom cloud signed by a trustme CA.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Optional

import pytest
from azure.core.credentials import AccessToken

from wizard.azure.auth import build_credential
from wizard.azure.clouds import Cloud, CloudError, resolve_cloud
from wizard.azure.connection import ArmConnection, resolve_subscription
from wizard.azure.errors import QUOTA_PORTAL_URL, AzureFailure, AzureLayerError, translate

SUB = "00000000-0000-0000-0000-000000000000"


# ----------------------------------------------------------------------------------------------------------------
# helpers


class DummyCredential:
    """Any object with get_token(*scopes) is a TokenCredential; records the scopes asked for."""

    def __init__(self) -> None:
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken("fake-token", int(time.time()) + 3600)


class Reply:
    def __init__(self, status: int, body: Any = None, headers: Optional[dict] = None, drop: bool = False) -> None:
        self.status, self.body, self.headers, self.drop = status, body, headers or {}, drop


class ScriptedArm:
    """Loopback ARM that answers requests in order from a script (last reply repeats)."""

    def __init__(self) -> None:
        self.script: list[Reply] = []
        self.seen: list[tuple[str, str, dict]] = []
        self.request_ids: list[str] = []
        fake = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a: Any) -> None:
                pass

            def handle_one(self) -> None:
                n = int(self.headers.get("Content-Length") or 0)
                if n:
                    self.rfile.read(n)
                fake.seen.append((self.command, self.path, {k.lower(): v for k, v in self.headers.items()}))
                reply = fake.script.pop(0) if len(fake.script) > 1 else fake.script[0]
                if reply.drop:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                body = reply.body
                if isinstance(body, str):
                    body = body.replace("{base}", fake.base)
                data = b"" if body is None else (body.encode() if isinstance(body, str) else json.dumps(body).encode())
                rid = str(uuid.uuid4())
                fake.request_ids.append(rid)
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("x-ms-request-id", rid)
                self.send_header("x-ms-correlation-request-id", "corr-" + rid)
                for k, v in reply.headers.items():
                    self.send_header(k, v.replace("{base}", fake.base))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = handle_one

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def arm():
    fake = ScriptedArm()
    yield fake
    fake.stop()


@pytest.fixture
def conn(arm):
    arm.script = []
    arm.seen.clear()
    arm.request_ids.clear()
    return ArmConnection(DummyCredential(), SUB, resolve_cloud("AzureCloud"), base_url=arm.base, allow_http=True,
                         polling_interval=0, retry_total=0)


def arm_error(code: str, message: str, **extra: Any) -> dict:
    return {"error": {"code": code, "message": message, **extra}}


def aks_error(code: str, message: str) -> dict:  # AKS RP's top-level shape
    return {"code": code, "details": None, "message": message, "subcode": ""}


def create_pool(conn: ArmConnection) -> None:
    conn.aks.agent_pools.begin_create_or_update(
        "rg-ai", "aks-ai", "gpunp", {"properties": {"vmSize": "Standard_NC6s_v3", "count": 1}}
    ).result()


def create_cluster(conn: ArmConnection) -> None:
    conn.aks.managed_clusters.begin_create_or_update(
        "rg-ai", "aks-ai", {"location": "eastus", "properties": {"kubernetesVersion": "1.29.15"}}
    ).result()


def get_group(conn: ArmConnection) -> None:
    conn.resources.resource_groups.get("rg-ai")


def raised(fn, conn: ArmConnection) -> BaseException:
    with pytest.raises(Exception) as info:
        fn(conn)
    return info.value


# ----------------------------------------------------------------------------------------------------------------
# clouds


@pytest.mark.parametrize(
    "name, base, scope, authority",
    [
        ("AzureCloud", "https://management.azure.com/", "https://management.azure.com/.default", "https://login.microsoftonline.com"),
        ("azurechinacloud", "https://management.chinacloudapi.cn/", "https://management.chinacloudapi.cn/.default", "https://login.chinacloudapi.cn"),
        ("AZUREUSGOVERNMENT", "https://management.usgovcloudapi.net/", "https://management.core.usgovcloudapi.net/.default", "https://login.microsoftonline.us"),
    ],
)
def test_known_clouds(name, base, scope, authority):
    c = resolve_cloud(name)
    assert c.resource_manager == base
    assert c.scope == scope
    assert c.authority_host == authority
    assert not c.is_custom
    assert c.authority_is_known


def test_usgov_audience_has_core():
    assert resolve_cloud("AzureUSGovernment").audience == "https://management.core.usgovcloudapi.net/"
    assert resolve_cloud(None).name == "AzureCloud"


def test_custom_cloud_mapping():
    c = resolve_cloud({"name": "AzureStackHub", "resource_manager": "https://management.local.azurestack.external",
                       "authority_host": "adfs.local.azurestack.external",
                       "audience": "https://management.adfs.azurestack.local/4de154de-f8a8-4017-af41-df619da68155"})
    assert c.is_custom and not c.authority_is_known
    assert c.resource_manager == "https://management.local.azurestack.external/"
    assert c.authority_host == "https://adfs.local.azurestack.external"
    assert c.scope == "https://management.adfs.azurestack.local/4de154de-f8a8-4017-af41-df619da68155/.default"
    assert resolve_cloud(c) is c
    # az-cloud-register style keys are accepted too
    c2 = resolve_cloud({"name": "X", "endpoint_resource_manager": "https://arm.x/", "endpoint_active_directory": "https://login.x",
                        "endpoint_active_directory_resource_id": "https://arm.x/"})
    assert c2.scope == "https://arm.x/.default"
    # A custom cloud that uses Entra ID's public authority (Azure Stack Hub with Azure AD) is custom, authority known
    c3 = Cloud("StackAAD", "https://management.stack.local/", "https://login.microsoftonline.com", "https://management.contoso.onmicrosoft.com/abc")
    assert c3.is_custom and c3.authority_is_known


@pytest.mark.parametrize(
    "spec, words",
    [
        ("AzureGermanCloud", "unknown cloud"),
        ("", "unknown cloud"),
        ({"name": "x", "resource_manager": "https://a/"}, "missing authority_host"),
        ({"name": "x", "resource_manager": "https://a/", "authority_host": "http://login.a", "audience": "https://a/"}, "https"),
        ({"name": "x", "resource_manager": "https://a/", "authority_host": "https://l", "audince": "https://a/"}, "unknown key"),
        (42, "name or a mapping"),
    ],
)
def test_cloud_errors(spec, words):
    with pytest.raises(CloudError, match=words):
        resolve_cloud(spec)


# ----------------------------------------------------------------------------------------------------------------
# credentials


def test_build_credential_default_and_device_code():
    from azure.identity import DefaultAzureCredential, DeviceCodeCredential

    custom = Cloud("AzureStackHub", "https://127.0.0.1:1/", "https://127.0.0.1:1", "https://management.contoso.local/")
    cred = build_credential(custom, tenant_id="t1")
    assert isinstance(cred, DefaultAzureCredential)
    names = [type(c).__name__ for c in cred.credentials]
    assert "InteractiveBrowserCredential" not in names and "EnvironmentCredential" in names
    shown: list[tuple] = []
    dc = build_credential(resolve_cloud("AzureChinaCloud"), "device_code", prompt=lambda u, c, e: shown.append((u, c, e)))
    assert isinstance(dc, DeviceCodeCredential)
    with pytest.raises(ValueError):
        build_credential(custom, "browser")  # type: ignore[arg-type]


def test_stderr_prompt(capsys):
    from wizard.azure.auth import stderr_device_code_prompt

    stderr_device_code_prompt("https://microsoft.com/devicelogin", "ABCD-EFGH", datetime(2030, 1, 1, 12, 0, 0))
    out = capsys.readouterr()
    assert out.out == "" and "ABCD-EFGH" in out.err and "devicelogin" in out.err


# ----------------------------------------------------------------------------------------------------------------
# ArmConnection


@pytest.mark.parametrize("cloud_name", ["AzureCloud", "AzureChinaCloud", "AzureUSGovernment"])
def test_connection_uses_cloud_scope_base_url_and_user_agent(arm, cloud_name):
    arm.script = [Reply(200, {"id": f"/subscriptions/{SUB}/resourceGroups/rg1", "name": "rg1", "location": "eastus"})]
    arm.seen.clear()
    cred = DummyCredential()
    cloud = resolve_cloud(cloud_name)
    c = ArmConnection(cred, SUB, cloud, base_url=arm.base, allow_http=True, polling_interval=0)
    assert c.resources is c.resources  # cached
    rg = c.resources.resource_groups.get("rg1")
    assert rg.name == "rg1"
    assert cred.scopes == [(cloud.scope,)]
    method, path, headers = arm.seen[-1]
    assert (method, path.split("?")[0]) == ("GET", f"/subscriptions/{SUB}/resourcegroups/rg1")
    assert headers["authorization"] == "Bearer fake-token"
    assert headers["user-agent"].startswith("aks-ai-wizard")
    c2 = c.with_subscription("11111111-1111-1111-1111-111111111111")
    assert c2.subscription_id != c.subscription_id and c2.cloud == cloud and c2.base_url == arm.base


def test_connection_default_base_url_and_clients():
    c = ArmConnection(DummyCredential(), SUB, resolve_cloud("AzureChinaCloud"))
    assert c.base_url == "https://management.chinacloudapi.cn/"
    for name in ("resources", "features", "subscriptions", "aks", "compute"):
        assert getattr(c, name) is getattr(c, name)
    assert c.aks._config.credential_scopes == ["https://management.chinacloudapi.cn/.default"]
    assert c.aks._config.polling_interval == 10.0
    with pytest.raises(ValueError):
        _ = ArmConnection(DummyCredential(), None, resolve_cloud("AzureCloud")).aks
    assert ArmConnection(DummyCredential(), None, resolve_cloud("AzureCloud")).subscriptions is not None  # no sub id


def test_without_allow_http_bearer_over_http_refused(arm):
    arm.script = [Reply(200, {"value": []})]
    c = ArmConnection(DummyCredential(), SUB, resolve_cloud("AzureCloud"), base_url=arm.base, retry_total=0)
    exc = raised(lambda c: list(c.subscriptions.subscriptions.list()), c)
    assert "non-TLS" in str(exc)


def _subs(*rows: tuple[str, str, str]) -> dict:
    return {"value": [{"id": f"/subscriptions/{i}", "subscriptionId": i, "displayName": n, "state": s} for i, n, s in rows]}


A, B, C = ("aaaaaaaa-0000-0000-0000-000000000001", "bbbbbbbb-0000-0000-0000-000000000002", "cccccccc-0000-0000-0000-000000000003")


def test_resolve_subscription_by_name_and_id(arm, conn):
    arm.script = [Reply(200, _subs((A, "Contoso Dev", "Enabled"), (B, "Contoso Prod", "Enabled")))]
    assert resolve_subscription(conn, "contoso prod") == (B, "Contoso Prod")
    assert resolve_subscription(conn, A.upper()) == (A, "Contoso Dev")


def test_resolve_subscription_not_found_lists_names(arm, conn):
    arm.script = [Reply(200, _subs((A, "Contoso Dev", "Enabled"), (B, "Contoso Prod", "Enabled")))]
    with pytest.raises(AzureLayerError) as info:
        resolve_subscription(conn, "Fabrikam")
    f = translate(info.value)
    assert f.category == "subscription" and f.fix_field == "azure.subscription"
    assert "'Contoso Dev'" in f.render() and "'Contoso Prod'" in f.render()


def test_resolve_subscription_duplicate_name_asks_for_id(arm, conn):
    arm.script = [Reply(200, _subs((A, "Shared", "Enabled"), (C, "Shared", "Enabled"), (B, "Other", "Enabled")))]
    with pytest.raises(AzureLayerError) as info:
        resolve_subscription(conn, "shared")
    text = info.value.failure.render()
    assert A in text and C in text and "id" in info.value.failure.action


# ----------------------------------------------------------------------------------------------------------------
# error translation with real SDK exceptions

Q_OPNA = ("Operation could not be completed as it results in exceeding approved standardNCASv3_T4Family Cores quota. "
          "Additional details - Deployment Model: Resource Manager, Location: eastus, Current Limit: 100, Current Usage: 96, "
          "Additional Required: 64, (Minimum) New Limit Required: 160. Submit a request for Quota increase at "
          "https://aka.ms/ProdportalCRP/#blade/Microsoft_Azure_Capacity/UsageAndQuota.ReactView")
Q_OPNA_ZERO = Q_OPNA.replace("Current Limit: 100, Current Usage: 96", "Current Limit: 0, Current Usage: 0").replace("160", "64")
Q_EXCEEDED = ("Operation results in exceeding quota limits of Core. Maximum allowed: 10, Current in use: 10, Additional requested: 2. "
              "Please read more about quota increase at https://aka.ms/corequotaincrease.")
Q_INSUFF = ("Insufficient vcpu quota requested 2, remaining 0 for family StandardDasv7Family for region eastus. "
            "Surge nodes would also consume vcpu quota.")
LTS = ("Managed cluster kf-19-AKSCluster is on version 1.29.15, which is only available for Long-Term Support (LTS). If you "
       "intend to onboard to LTS, please ensure the cluster is in Premium tier and LTS support plan (see "
       "https://aka.ms/aks/enable-lts). Otherwise, use [az aks get-versions] command to get the supported version list in "
       "this region. For more information, please check https://aka.ms/supported-version-list")
AUTHZ = ("The client 'user@contoso.com' with object id '0f1e2d3c-0000-0000-0000-000000000000' does not have authorization to "
         "perform action 'Microsoft.ContainerService/managedClusters/write' over scope "
         f"'/subscriptions/{SUB}/resourceGroups/rg-ai/providers/Microsoft.ContainerService/managedClusters/aks-ai' or the "
         "scope is invalid. If access was recently granted, please refresh your credentials.")
IN_PROGRESS = ("Operation is not allowed because there's an in progress update managed cluster operation (operation ID: "
               "1c2b3a4d-5e6f-4a1b-9c8d-7e6f5a4b3c2d) on the managed cluster started on UTC 2026-05-22T07:19:23Z. Please wait "
               "for it to finish before starting a new operation. You can also use 'az aks operation-abort ...' to abort "
               "the ongoing operation.")

CASES = [
    # id, call, replies, category, fix_field, words in render
    ("quota-opna", create_pool, [Reply(409, arm_error("OperationNotAllowed", Q_OPNA))], "quota", "gpu_pool.autoscale.max",
     [QUOTA_PORTAL_URL, "standardNCASv3_T4Family", "at least 160", "limit 100"]),
    ("quota-opna-zero", create_pool, [Reply(409, arm_error("OperationNotAllowed", Q_OPNA_ZERO))], "quota", "gpu_pool.vm_size",
     [QUOTA_PORTAL_URL, "limit 0"]),
    ("quota-exceeded-nested", create_cluster,
     [Reply(400, arm_error("InvalidTemplateDeployment", "The template deployment failed.",
                           details=[{"code": "QuotaExceeded", "message": Q_EXCEEDED}]))],
     "quota", "gpu_pool.autoscale.max", [QUOTA_PORTAL_URL, "limit 10", "2 more"]),
    ("quota-exceeded-top", create_pool, [Reply(400, aks_error("QuotaExceeded", Q_EXCEEDED))], "quota", "gpu_pool.autoscale.max",
     [QUOTA_PORTAL_URL]),
    ("quota-insufficient", create_pool, [Reply(400, aks_error("ErrCode_InsufficientVCPUQuota", Q_INSUFF))], "quota", "gpu_pool.vm_size",
     [QUOTA_PORTAL_URL, "StandardDasv7Family", "eastus", "remaining 0"]),
    ("sku-not-allowed", create_pool,
     [Reply(400, aks_error("BadRequest", "The VM size of Standard_NC6s_v3 is not allowed in your subscription in location "
                                         "'westus'. The available VM sizes are 'standard_d2s_v5,standard_nc24ads_a100_v4'. "
                                         "For more details, please visit https://aka.ms/aks/quotas-skus-regions"))],
     "sku", "gpu_pool.vm_size", ["Standard_NC6s_v3", "westus", "standard_nc24ads_a100_v4"]),
    ("sku-not-available", create_pool,
     [Reply(409, arm_error("SkuNotAvailable", "The requested size for resource '/subscriptions/x/virtualMachineScaleSets/"
                                              "aks-gpunp-1-vmss' is currently not available in location 'eastus' zones '' "
                                              "for subscription 'x'. Please try another size or deploy to a different "
                                              "location or zones. See https://aka.ms/azureskunotavailable for details."))],
     "sku", "gpu_pool.vm_size", ["another VM size"]),
    ("sku-wrapped-long", create_pool,
     # AKS wraps Compute's error in a long message: the location comes after the long VMSS resource id
     [Reply(400, aks_error("ReconcileVMSSAgentPoolFailed", "Unable to create agent pool 'gpunp' of managed cluster "
                           "'aks-ai' in resource group 'rg-ai': Category: ClientError; SubCode: SkuNotAvailable; "
                           "Dependency: Microsoft.Compute/VirtualMachineScaleSet; OrginalError: Code=\"SkuNotAvailable\" "
                           "Message=\"The requested size for resource '/subscriptions/6f2a4f6e-0b8a-4d5e-9b62-3c1f2d8e7a10/"
                           "resourceGroups/MC_rg-ai-with-a-long-name_aks-ai-with-a-long-name_westus3/providers/"
                           "Microsoft.Compute/virtualMachineScaleSets/aks-gpunp-18098008-vmss' is currently not "
                           "available in location 'westus3' zones '' for subscription '6f2a4f6e-0b8a-4d5e-9b62-"
                           "3c1f2d8e7a10'. Please try another size or deploy to a different location or zones. See "
                           "https://aka.ms/azureskunotavailable for details.\"; AKSTeam: NodeProvisioning"))],
     "sku", "gpu_pool.vm_size", ["not available in westus3", "in location 'westus3' zones ''", "AKSTeam"]),
    ("namespace-invalid", get_group,
     [Reply(404, arm_error("InvalidResourceNamespace", "The resource namespace 'Microsoft.ContainerService' is invalid."))],
     "provider", "azure.cloud", ["resource provider Microsoft.ContainerService", "provider problem",
                                 "az provider show --namespace Microsoft.ContainerService"]),
    ("sku-zonal", create_pool,
     [Reply(409, arm_error("OverconstrainedZonalAllocationRequest", "Allocation failed. VM(s) with the following constraints "
                                                                    "cannot be allocated, because the condition is too restrictive."))],
     "sku", "gpu_pool.zones", ["zones"]),
    ("sku-allocation", create_pool, [Reply(409, arm_error("AllocationFailed", "Allocation failed. We do not have sufficient capacity."))],
     "sku", "gpu_pool.vm_size", ["another VM size"]),
    ("version-lts", create_cluster, [Reply(400, aks_error("K8sVersionNotSupported", LTS))], "version", "cluster.kubernetes_version",
     ["Premium", "AKSLongTermSupport", "1.29.15"]),
    ("version-pool", create_pool,
     [Reply(400, arm_error("AgentPoolK8sVersionNotSupported", "Version 1.20.7 is not supported in this region. Please use "
                                                             "[az aks get-versions] command to get the supported version list "
                                                             "in this region."))],
     "version", "cluster.kubernetes_version", ["1.20.7", "az aks get-versions"]),
    ("authz-403", create_cluster, [Reply(403, arm_error("AuthorizationFailed", AUTHZ), {"x-ms-failure-cause": "gateway"})],
     "permissions", None, ["Microsoft.ContainerService/managedClusters/write", "/resourceGroups/rg-ai/", "Contributor",
                           "az role assignment create"]),
    ("feature-preview", create_pool,
     [Reply(400, aks_error("PreviewFeatureNotRegistered", "Preview feature Microsoft.ContainerService/CustomNodeConfigPreview not registered."))],
     "feature", "features", ["az feature register --namespace Microsoft.ContainerService --name CustomNodeConfigPreview"]),
    ("feature-not-enabled", create_cluster,
     [Reply(400, arm_error("BadRequest", "Feature Microsoft.ContainerService/AutoUpgradePreview is not enabled. Please see "
                                         "https://aka.ms/aks/previews for how to enable features."))],
     "feature", "features", ["az feature register --namespace Microsoft.ContainerService --name AutoUpgradePreview"]),
    ("provider-missing", get_group,
     # 409 MissingSubscriptionRegistration: our clients have no auto-registration policy, so no POST /register
     [Reply(409, arm_error("MissingSubscriptionRegistration", "The subscription is not registered to use namespace "
                                                              "'Microsoft.ContainerService'. See https://aka.ms/rps-not-found "
                                                              "for how to register subscriptions."))],
     "provider", None, ["az provider register --namespace Microsoft.ContainerService"]),
    ("conflict-409", create_pool, [Reply(409, arm_error("OperationNotAllowed", IN_PROGRESS))], "conflict", None,
     ["az aks operation-abort --resource-group rg-ai --name aks-ai", "1c2b3a4d-5e6f-4a1b-9c8d-7e6f5a4b3c2d", "Wait"]),
    ("conflict-older", create_pool,
     [Reply(409, arm_error("OperationNotAllowed", "Operation is not allowed: Another agentpool operation (nodepool1 - Creating) "
                                                  "is in progress, please wait for it to finish before starting a new operation."))],
     "conflict", None, ["Wait"]),
    ("throttle-aks", create_cluster,
     [Reply(429, arm_error("Throttled", "The PutManagedClusterHandler.PUT request limit has been exceeded for SubID='x', please "
                                        "retry again in 7 seconds. For more information, please visit aka.ms/aks/throttling"),
            {"Retry-After": "7"})],
     "throttle", None, ["Wait 7 seconds"]),
    ("throttle-arm", get_group,
     [Reply(429, arm_error("SubscriptionRequestsThrottled", "Number of 'read' requests for subscription 'x' actor 'y' exceeded. "
                                                            "Please try again after '1' seconds after additional tokens are available."))],
     "throttle", None, ["Wait 1 second "]),
    ("throttle-bare-429", get_group, [Reply(429, None, {"Retry-After": "3"})], "throttle", None, ["Wait 3 seconds"]),
    ("rg-not-found", get_group, [Reply(404, arm_error("ResourceGroupNotFound", "Resource group 'rg-ai' could not be found."))],
     "not_found", "resource_group.name", ["'rg-ai'"]),
    ("resource-not-found", lambda c: c.aks.managed_clusters.get("rg-ai", "aks-ai"),
     [Reply(404, arm_error("ResourceNotFound", "The Resource 'Microsoft.ContainerService/managedClusters/aks-ai' under resource "
                                               "group 'rg-ai' was not found. For more details please go to "
                                               "https://aka.ms/ARMResourceNotFoundFix"))],
     "not_found", None, ["Microsoft.ContainerService/managedClusters/aks-ai"]),
    ("capacity", create_cluster,
     [Reply(400, aks_error("AKSCapacityHeavyUsage", "API Server VNet Integration is currently unavailable in region centralus "
                                                    "due to high demand and limited capacity."))],
     "capacity", "azure.location", ["another region", "centralus"]),
    ("auth-401", get_group, [Reply(401, arm_error("ExpiredAuthenticationToken", "The access token expiry UTC time is earlier than current UTC time."))],
     "auth", None, ["az login", "AZURE_CLIENT_ID", "device-code"]),
    ("unknown-code", create_cluster, [Reply(400, aks_error("SomethingBrandNew", "A thing nobody has seen before happened."))],
     "unknown", None, ["SomethingBrandNew", "A thing nobody has seen before happened."]),
    ("invalid-parameter", create_cluster,
     [Reply(400, arm_error("InvalidParameter", "The value of parameter agentPoolProfile.count is invalid.", target="agentPoolProfile.count"))],
     "invalid", None, ["agentPoolProfile.count"]),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_translate_real_sdk_errors(arm, conn, case):
    _id, call, replies, category, fix_field, words = case
    arm.script = list(replies)
    exc = raised(call, conn)
    assert len(arm.seen) == len(replies)  # nothing sent behind the caller's back (e.g. a provider registration)
    from azure.core.exceptions import AzureError

    assert isinstance(exc, AzureError), repr(exc)
    f = translate(exc, context={"resource_group": "rg-ai", "cluster": "aks-ai", "pool": "gpu"})
    assert isinstance(f, AzureFailure)
    assert f.category == category, (f.category, f.render())
    assert f.fix_field == fix_field, f.render()
    text = f.render()
    for w in words:
        assert w in text, (w, text)
    assert f.request_id and f.request_id in arm.request_ids and f.request_id in text
    assert f.correlation_id == "corr-" + f.request_id
    assert "What to do:" in text and "support ticket" in text
    d = f.to_dict()
    assert d["category"] == category and d["request_id"] == f.request_id
    json.dumps(d)


def test_quota_system_pool_context(arm, conn):
    arm.script = [Reply(409, arm_error("OperationNotAllowed", Q_OPNA.replace("standardNCASv3_T4Family", "standardDDSv5Family")))]
    exc = raised(create_cluster, conn)
    f = translate(exc, context={"pool": "system", "operation": "Create cluster aks-ai"})
    assert f.category == "quota" and f.fix_field == "cluster.system_pool.count"
    assert f.what.startswith("Create cluster aks-ai: ")


def test_quota_regional_cores(arm, conn):
    msg = Q_OPNA.replace("standardNCASv3_T4Family Cores", "Total Regional Cores").replace("Current Limit: 100", "Current Limit: 10")
    arm.script = [Reply(409, arm_error("OperationNotAllowed", msg))]
    f = translate(raised(create_pool, conn), context={"autoscale": False})
    assert f.category == "quota" and f.fix_field == "gpu_pool.count"


def _lro(arm, final: dict) -> None:
    arm.script = [
        Reply(201, {"id": "x", "name": "gpunp", "properties": {"provisioningState": "Creating"}},
              {"Azure-AsyncOperation": "{base}/subscriptions/%s/providers/Microsoft.ContainerService/locations/eastus/"
                                       "operations/op1?api-version=2026-08-01" % SUB}),
        Reply(200, {"name": "op1", "status": "InProgress"}),
        Reply(200, final),
    ]


def test_lro_failed_with_known_code(arm, conn):
    _lro(arm, {"name": "op1", "status": "Failed", "error": {"code": "ErrCode_InsufficientVCPUQuota", "message": Q_INSUFF}})
    exc = raised(create_pool, conn)
    assert getattr(exc, "status_code", None) == 200
    f = translate(exc)
    assert f.category == "quota" and f.fix_field == "gpu_pool.vm_size"
    assert f.what.startswith("The Azure operation ended Failed")
    assert f.request_id == arm.request_ids[-1]  # the poll response that reported Failed


def test_lro_failed_unknown_code_and_canceled(arm, conn):
    _lro(arm, {"name": "op1", "status": "Failed", "error": {"code": "VMExtensionProvisioningError",
                                                           "message": "VM has reported a failure when processing extension 'vmssCSE'."}})
    f = translate(raised(create_pool, conn))
    assert f.category == "operation_failed" and f.code == "VMExtensionProvisioningError"
    assert "vmssCSE" in f.render() and "ended Failed" in f.what
    _lro(arm, {"name": "op1", "status": "Canceled", "error": {"code": "OperationCanceled", "message": "The operation was canceled."}})
    f = translate(raised(create_pool, conn))
    assert f.category == "operation_failed" and "Canceled" in f.what


def test_dropped_connection_is_network(arm, conn):
    arm.script = [Reply(0, drop=True)]
    exc = raised(get_group, conn)
    f = translate(exc)
    assert f.category == "network", (type(exc), f.render())
    assert "REQUESTS_CA_BUNDLE" in f.action and f.request_id is None


def test_connection_refused_is_network():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    c = ArmConnection(DummyCredential(), SUB, resolve_cloud("AzureCloud"), base_url=f"http://127.0.0.1:{port}",
                      allow_http=True, retry_total=0)
    f = translate(raised(get_group, c))
    assert f.category == "network" and "127.0.0.1" in f.what


def test_credential_unavailable_is_auth(monkeypatch):
    from azure.identity import CredentialUnavailableError

    f = translate(CredentialUnavailableError("EnvironmentCredential authentication unavailable."))
    assert f.category == "auth" and "az login" in f.action and "AZURE_CLIENT_ID" in f.action


# ----------------------------------------------------------------------------------------------------------------
# TLS + custom cloud end to end (environment variables only)

trustme = pytest.importorskip("trustme")


def _tls_fake():
    from tests.support import tls_fake

    return tls_fake


@pytest.fixture(scope="module")
def tls_cloud(tmp_path_factory):
    TlsFakeCloud = _tls_fake().TlsFakeCloud

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    import ssl

    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    pem = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(pem))
    with TlsFakeCloud(ctx) as fake:
        yield fake, str(pem)


def _custom_cloud(fake) -> Cloud:
    return Cloud(name="AzureStackHub", resource_manager=f"https://127.0.0.1:{fake.port}/",
                 authority_host=f"https://127.0.0.1:{fake.port}", audience="https://management.contoso.local/")


def _env(monkeypatch, fake, ca_pem: Optional[str]) -> None:
    for k in ("AZURE_AUTHORITY_HOST", "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_USERNAME", "AZURE_FEDERATED_TOKEN_FILE",
              "IDENTITY_ENDPOINT", "MSI_ENDPOINT", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "AZURE_SDK_CLOUD_CONF",
              "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("AZURE_CLIENT_ID", fake.client_id)
    monkeypatch.setenv("AZURE_CLIENT_SECRET", fake.client_secret)
    monkeypatch.setenv("AZURE_TENANT_ID", fake.tenant)
    if ca_pem:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", ca_pem)
    else:
        monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)


def test_custom_cloud_over_tls_with_env_credentials(monkeypatch, tls_cloud):
    fake, ca_pem = tls_cloud
    _env(monkeypatch, fake, ca_pem)
    fake.log.clear()
    fake.token_scopes.clear()
    cloud = _custom_cloud(fake)
    cred = build_credential(cloud)
    conn = ArmConnection(cred, None, cloud, polling_interval=0)
    sub_id, name = resolve_subscription(conn, "contoso stack")
    SUBSCRIPTION_ID = _tls_fake().SUBSCRIPTION_ID

    assert (sub_id, name) == (SUBSCRIPTION_ID, "Contoso Stack")
    assert fake.token_scopes == ["https://management.contoso.local/.default"]
    paths = [(s.method, s.path) for s in fake.log]
    assert ("GET", f"/{fake.tenant}/v2.0/.well-known/openid-configuration") in paths
    assert not any("instance" in p.lower() or "discovery/instance" in p.lower() for _m, p in paths)
    arm_calls = [s for s in fake.log if s.path.startswith("/subscriptions")]
    assert arm_calls and all(s.headers.get("authorization") == f"Bearer {fake.token}" for s in arm_calls)

    # resource group PUT / HEAD / GET on the resolved subscription, token reused
    sconn = conn.with_subscription(sub_id)
    rg = sconn.resources.resource_groups.create_or_update("rg-ai", {"location": "local", "tags": {"by": "wizard"}})
    assert rg.name == "rg-ai" and rg.properties.provisioning_state == "Succeeded"
    assert sconn.resources.resource_groups.check_existence("rg-ai") is True
    assert sconn.resources.resource_groups.get("rg-ai").location == "local"
    assert [s.status for s in fake.log if "resourcegroups" in s.path.lower()] == [201, 204, 200]
    assert len(fake.token_scopes) == 1  # cached by MSAL


def test_custom_cloud_without_ca_bundle_is_network_failure(monkeypatch, tls_cloud):
    fake, _ca = tls_cloud
    _env(monkeypatch, fake, None)
    cloud = _custom_cloud(fake)
    conn = ArmConnection(build_credential(cloud), None, cloud, retry_total=0)
    with pytest.raises(Exception) as info:
        resolve_subscription(conn, "Contoso Stack")
    f = translate(info.value)
    assert f.category == "network", f.render()
    assert "REQUESTS_CA_BUNDLE" in f.action and "CA bundle" in f.action


def test_custom_cloud_wrong_secret_is_auth(monkeypatch, tls_cloud):
    fake, ca_pem = tls_cloud
    _env(monkeypatch, fake, ca_pem)
    monkeypatch.setenv("AZURE_CLIENT_SECRET", "wrong")
    cloud = _custom_cloud(fake)
    conn = ArmConnection(build_credential(cloud), None, cloud, retry_total=0)
    with pytest.raises(Exception) as info:
        resolve_subscription(conn, "Contoso Stack")
    f = translate(info.value)
    assert f.category == "auth", f.render()
    assert "AADSTS7000215" in f.why or "AADSTS7000215" in f.message


def test_arm_tls_failure_without_ca_bundle_is_network(monkeypatch, tls_cloud):
    fake, _ca = tls_cloud
    _env(monkeypatch, fake, None)
    cloud = _custom_cloud(fake)
    conn = ArmConnection(DummyCredential(), None, cloud, retry_total=0)
    f = translate(raised(lambda c: list(c.subscriptions.subscriptions.list()), conn))
    assert f.category == "network" and "REQUESTS_CA_BUNDLE" in f.action, f.render()
    assert "127.0.0.1" in f.what


def test_unreachable_authority_is_network(monkeypatch, tls_cloud):
    fake, ca_pem = tls_cloud
    _env(monkeypatch, fake, ca_pem)
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    cloud = Cloud("AzureStackHub", f"https://127.0.0.1:{port}/", f"https://127.0.0.1:{port}", "https://management.contoso.local/")
    cred = build_credential(cloud)
    with pytest.raises(Exception) as info:
        cred.get_token(cloud.scope)
    f = translate(info.value)
    assert f.category == "network" and f"127.0.0.1:{port}" in f.what, f.render()


def test_custom_cloud_device_code_over_tls(monkeypatch, tls_cloud):
    fake, ca_pem = tls_cloud
    _env(monkeypatch, fake, ca_pem)
    fake.log.clear()
    shown: list[tuple] = []
    cloud = _custom_cloud(fake)
    cred = build_credential(cloud, "device_code", tenant_id=fake.tenant, prompt=lambda uri, code, exp: shown.append((uri, code, exp)))
    conn = ArmConnection(cred, None, cloud)
    from_tls = _tls_fake()
    assert resolve_subscription(conn, from_tls.SUBSCRIPTION_ID) == (from_tls.SUBSCRIPTION_ID, "Contoso Stack")
    assert shown and shown[0][:2] == (f"{fake.base}/devicelogin", "FAKE-CODE") and isinstance(shown[0][2], datetime)
    asked = [s.form.get("scope", [""])[0] for s in fake.log if s.path.endswith("/oauth2/v2.0/devicecode")]
    assert asked and "https://management.contoso.local/.default" in asked[-1].split()
    arm_calls = [s for s in fake.log if s.path.startswith("/subscriptions")]
    assert arm_calls[-1].headers["authorization"] == f"Bearer {fake.token}"


def test_cloud_error_translates_and_none_values_are_absent():
    with pytest.raises(CloudError) as info:
        resolve_cloud("AzureGermanCloud")
    f = translate(info.value)
    assert f.category == "config" and f.fix_field == "azure.cloud" and "AzureGermanCloud" in f.why
    c = resolve_cloud({"name": "S", "resource_manager": "https://arm.s/", "authority_host": "https://login.s", "audience": None})
    assert c.audience == "https://arm.s/"


def test_cloud_setting_reads_az_registered_clouds_and_cloud_files(tmp_path, monkeypatch):
    """--cloud: a well-known name, a cloud `az cloud register` recorded (azure-cli's clouds.config: an INI section
    per cloud with endpoint_* keys), or a JSON/YAML file; anything else is refused naming where it looked."""
    from wizard.azure.clouds import CloudError, cloud_setting, resolve_cloud

    monkeypatch.setenv("AZURE_CONFIG_DIR", str(tmp_path))
    (tmp_path / "clouds.config").write_text(
        "[AzureCloud]\nprofile = latest\n\n"
        "[MyStack]\n"
        "endpoint_resource_manager = https://management.local.azurestack.external\n"
        "endpoint_active_directory = https://adfs.local.azurestack.external/adfs\n"
        "endpoint_active_directory_resource_id = https://management.adfs.azurestack.local/abc\n"
        "endpoint_active_directory_graph_resource_id = https://graph.local.azurestack.external/\n"
        "suffix_storage_endpoint = local.azurestack.external\n"
        "profile = 2020-09-01-hybrid\n")
    assert cloud_setting("azureusgovernment") == "AzureUSGovernment"
    assert cloud_setting("AzureCloud") == "AzureCloud"  # a known cloud az also lists stays the known one
    stack = cloud_setting("mystack")
    assert stack == {"name": "MyStack", "resource_manager": "https://management.local.azurestack.external/",
                     "authority_host": "https://adfs.local.azurestack.external/adfs",
                     "audience": "https://management.adfs.azurestack.local/abc"}
    cloud = resolve_cloud(stack)
    assert cloud.is_custom and not cloud.authority_is_known and cloud.scope == "https://management.adfs.azurestack.local/abc/.default"
    f = tmp_path / "cloud.yaml"
    f.write_text("name: Lab\nresource_manager: https://arm.lab.example/\nauthority_host: https://login.lab.example\n"
                 "audience: https://arm.lab.example/\n")
    assert cloud_setting(str(f))["authority_host"] == "https://login.lab.example"
    with pytest.raises(CloudError) as e:
        cloud_setting("Nope")
    assert "registered: AzureCloud, MyStack" in str(e.value) and str(tmp_path / "clouds.config") in str(e.value)
    bad = tmp_path / "bad.json"
    bad.write_text('{"name": "x", "resource_manager": "https://arm/"}')
    with pytest.raises(CloudError, match="missing authority_host"):
        cloud_setting(str(bad))
