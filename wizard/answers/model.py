"""Typed answers model, schema version 1 (a public contract: see DESIGN.md, "Answers file").

Every model forbids unknown keys and is strict about types (a string is not an integer,
1 is not true).  Single-field rules live in ``rules.py`` and are attached here with
``_rule``; cross-field rules run in ``model_validator(mode="after")`` and name the field
they blame through the error context (``field``), which the loader appends to the path.
"""

from __future__ import annotations

import re
import types
import typing
from typing import Annotated, Any, Callable, Iterable, Literal, TypeVar, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    field_validator,
    Discriminator,
    Field,
    Tag,
    model_validator,
)
from pydantic_core import PydanticCustomError

from wizard.gpu_rules import NO_AUTOSCALER

from . import cross, fleet_rules, k8s_rules, rules

__all__ = [
    "Answers", "AzureAnswers", "CustomCloud", "ResourceGroupAnswers", "ClusterAnswers", "SystemPool", "Network",
    "ApiServer", "Access", "Istio", "Addons", "GpuPoolAnswers", "Autoscale", "KueueAnswers", "VerifyAnswers",
    "FleetAnswers", "FleetMember", "RULE_ERROR", "CROSS_ERROR",
]

RULE_ERROR = "answers_rule"
CROSS_ERROR = "answers_cross"
M = TypeVar("M", bound="_Model")


def _fail(message: str, field: str | None = None) -> PydanticCustomError:
    ctx: dict[str, Any] = {"message": message}
    if field is None:
        return PydanticCustomError(RULE_ERROR, "{message}", ctx)
    ctx["field"] = field
    return PydanticCustomError(CROSS_ERROR, "{message}", ctx)


def _first_cross(model: M, errors: Callable[[dict[str, Any]], Iterable[tuple[str, str]]]) -> M:
    """Run a cross-field rule set of cross.py over the model's values (the same code that checks a raw file):
    the first violation fails the model, on the field it names."""
    for field, message in errors(model.model_dump()):
        raise _fail(message, field)
    return model


def _rule(check: Callable[..., str | None], *args: Any) -> AfterValidator:
    """AfterValidator that runs a rules.check_* function."""

    def validate(value: Any) -> Any:
        message = check(value, *args)
        if message:
            raise _fail(message)
        return value

    return AfterValidator(validate)


def _zone_int_to_str(value: Any) -> Any:
    # `zones: [1, 2, 3]` is how most people write it; zones are strings in the API.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _price(value: Any) -> Any:
    # the loader reads no float (`1.30` stays text, see yaml_read._Loader): a price is `-1` (an integer) or a decimal
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str) and re.fullmatch(r"-?\d+(?:\.\d+)?", value.strip()):
        return float(value)
    return value


# ----------------------------------------------------------------- field types

Zone = Annotated[str, BeforeValidator(_zone_int_to_str), _rule(rules.check_zone)]
Zones = Annotated[list[Zone], _rule(rules.check_zones)]
TagKey = Annotated[str, _rule(rules.check_azure_tag_key)]
TagValue = Annotated[str, _rule(rules.check_azure_tag_value)]
AzureTags = Annotated[dict[TagKey, TagValue], _rule(rules.check_azure_tags)]
LabelKey = Annotated[str, _rule(k8s_rules.check_label_key)]
LabelValue = Annotated[str, _rule(k8s_rules.check_label_value)]
Taint = Annotated[str, _rule(k8s_rules.check_taint)]
FeatureName = Annotated[str, _rule(rules.check_feature_name)]
PoolName = Annotated[str, _rule(rules.check_pool_name)]
VmSize = Annotated[str, _rule(rules.check_vm_size)]
Guid = Annotated[str, _rule(rules.check_guid)]
Cidr = Annotated[str, _rule(rules.check_cidr)]
# a public cloud, or one registered with `az cloud register` (rules.check_cloud_name): not a closed list
CloudName = Annotated[str, Field(examples=["AzureCloud", "AzureChinaCloud", "AzureUSGovernment"])]


def _is_model_or_dict(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin is dict:
        return True
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, validate_assignment=False)

    @model_validator(mode="before")
    @classmethod
    def _empty_section_means_default(cls, data: Any) -> Any:
        # `kueue:` or `tags:` left empty in YAML is null: take the section's default.
        if isinstance(data, dict):
            drop = [
                k
                for k, v in data.items()
                if v is None
                and k in cls.model_fields
                and not cls.model_fields[k].is_required()
                and _is_model_or_dict(cls.model_fields[k].annotation)
            ]
            if drop:
                data = {k: v for k, v in data.items() if k not in drop}
        return data


# ---------------------------------------------------------------------- azure

class CustomCloud(_Model):
    """A cloud that is not one of the public Azure clouds (Azure Stack Hub style)."""

    name: Annotated[str, Field(min_length=1, description="A name for this cloud, shown in messages.")]
    resource_manager: Annotated[
        str,
        _rule(rules.check_https_url),
        Field(description="Azure Resource Manager endpoint, e.g. https://management.local.azurestack.external/"),
    ]
    authority_host: Annotated[
        str,
        _rule(rules.check_https_url),
        Field(description="Microsoft Entra ID (or AD FS) authority, e.g. https://login.microsoftonline.com/"),
    ]
    audience: Annotated[
        str,
        _rule(rules.check_absolute_url),
        Field(description="Token audience for Resource Manager, e.g. https://management.core.windows.net/"),
    ]


def _cloud_tag(value: Any) -> str:
    return "custom" if isinstance(value, dict) or isinstance(value, CustomCloud) else "named"


def _check_cloud_shape(value: Any) -> Any:
    if isinstance(value, str):
        if message := rules.check_cloud_name(value):
            raise _fail(message)
    elif not isinstance(value, (dict, CustomCloud)):
        raise _fail(
            "must be AzureCloud, AzureChinaCloud, AzureUSGovernment, or a mapping "
            "{name, resource_manager, authority_host, audience} for a custom cloud"
        )
    return value


Cloud = Annotated[
    Union[Annotated[CloudName, Tag("named")], Annotated[CustomCloud, Tag("custom")]],
    Discriminator(_cloud_tag),
    BeforeValidator(_check_cloud_shape),
]


class AzureAnswers(_Model):
    """Where the cluster goes and how to sign in."""

    cloud: Cloud = Field(
        default="AzureCloud",
        description="AzureCloud, AzureChinaCloud, AzureUSGovernment, a cloud registered with `az cloud register`, "
        "or a custom cloud mapping.",
    )
    subscription: Annotated[str, _rule(rules.check_subscription)] = Field(
        description="Subscription id (GUID) or display name."
    )
    location: Annotated[str, _rule(rules.check_location)] = Field(
        description="Azure region name in lowercase, e.g. eastus2."
    )
    auth: Literal["default", "device_code"] = Field(
        default="default",
        description="default: DefaultAzureCredential (az login, environment, managed identity); "
        "device_code: sign in with a code in a browser.",
    )
    tenant: Annotated[str, _rule(rules.check_tenant)] | None = Field(
        default=None, description="Tenant id or domain; default: the credential's home tenant."
    )


# ------------------------------------------------------------- resource group

class ResourceGroupAnswers(_Model):
    """The resource group that holds the cluster (created if missing, reused if present)."""

    name: Annotated[str, _rule(rules.check_resource_group_name)] = Field(
        description="1-90 letters, digits, '.', '_', '-', '(' or ')'; not ending in '.'."
    )
    tags: AzureTags = Field(default_factory=dict, description="Azure tags on the resource group.")


# -------------------------------------------------------------------- cluster

class SystemPool(_Model):
    """The system node pool (runs cluster add-ons)."""

    name: PoolName = Field(default="system", description="1-12 lowercase letters and digits, starting with a letter.")
    vm_size: VmSize = Field(default="Standard_D4ds_v5", description="VM size of the system nodes.")
    count: Annotated[int, _rule(rules.check_count, 1, 1000)] = Field(
        default=2, description="Number of system nodes (1-1000)."
    )
    zones: Zones = Field(default_factory=list, description='Availability zones ("1", "2", "3"); empty: none.')


class ApiServer(_Model):
    """Who can reach the Kubernetes API server."""

    private: bool = Field(
        default=False,
        description="Private API server (private endpoint in the cluster's VNet, no public address): apply, its "
        "Kubernetes steps and verify must then run from a machine that reaches the VNet.",
    )
    authorized_ip_ranges: Annotated[list[Cidr], _rule(rules.check_cidrs)] = Field(
        default_factory=list,
        description="IPv4 ranges allowed to reach a public API server (at most 200); empty: any address.",
    )

    @model_validator(mode="after")
    def _cross(self) -> "ApiServer":
        return _first_cross(self, cross.api_server_errors)


class Network(_Model):
    """Cluster networking."""

    plugin: Literal["azure", "kubenet", "none"] = Field(default="azure", description="Network plugin.")
    plugin_mode: Literal["overlay"] | None = Field(
        default="overlay", description="overlay (Azure CNI Overlay), or null; needs plugin azure."
    )
    dataplane: Literal["azure", "cilium"] | None = Field(
        default=None, description="Network dataplane; null: the AKS default."
    )
    vnet_subnet_id: Annotated[str, _rule(rules.check_subnet_id)] | None = Field(
        default=None,
        description="Resource id of your own VNet subnet for the nodes (checked to exist, be big enough for every "
        "pool at its peak plus surge, and not be delegated); null: AKS creates the VNet.",
    )
    outbound_type: Literal["loadBalancer", "managedNATGateway", "userAssignedNATGateway", "userDefinedRouting"] = Field(
        default="loadBalancer",
        description="Egress: loadBalancer, managedNATGateway, or with your own subnet userAssignedNATGateway or "
        "userDefinedRouting (its route table must send 0.0.0.0/0 to your firewall).",
    )
    api_server: ApiServer = Field(default_factory=ApiServer, description="Private API server, authorized IP ranges.")

    @model_validator(mode="after")
    def _cross(self) -> "Network":
        return _first_cross(self, cross.network_errors)


class Access(_Model):
    """Sign-in and authorization: Microsoft Entra ID, Azure RBAC, local accounts."""

    entra_id: bool = Field(default=False, description="AKS-managed Microsoft Entra ID integration (aadProfile.managed).")
    azure_rbac: bool = Field(
        default=True, description="With entra_id: Azure RBAC for Kubernetes authorization (enableAzureRBAC)."
    )
    admin_group_object_ids: Annotated[list[Guid], _rule(rules.check_guids)] = Field(
        default_factory=list, description="With entra_id: object ids (GUIDs) of Entra groups that are cluster admins."
    )
    tenant_id: Guid | None = Field(default=None, description="With entra_id: tenant of the groups; null: the subscription's.")
    local_accounts: bool = Field(
        default=True,
        description="false: disable local accounts (disableLocalAccounts; needs entra_id): every sign-in, the "
        "wizard's too, goes through Entra ID.",
    )

    @model_validator(mode="after")
    def _cross(self) -> "Access":
        return _first_cross(self, cross.access_errors)


class Istio(_Model):
    """The Istio service mesh add-on."""

    enabled: bool = Field(default=True, description="Install the Istio service mesh add-on.")
    revision: Annotated[str, _rule(rules.check_istio_revision)] = Field(
        default="auto",
        description='"auto" (newest revision compatible with the version) or a revision like asm-1-26.',
    )


class Addons(_Model):
    """AKS add-ons the AI conformance checklist relies on."""

    keda: bool = Field(default=True, description="KEDA event-driven autoscaling.")
    kaito: bool = Field(default=True, description="KAITO AI toolchain operator.")
    managed_prometheus: bool = Field(default=True, description="Azure Monitor managed Prometheus metrics.")
    monitor_workspace_id: Annotated[str, _rule(rules.check_monitor_workspace_id)] | None = Field(
        default=None,
        description="Resource id of an Azure Monitor workspace to link; null: the default workspace.",
    )

    @model_validator(mode="after")
    def _cross(self) -> "Addons":
        return _first_cross(self, cross.addons_errors)


class ClusterAnswers(_Model):
    """The AKS managed cluster."""

    name: Annotated[str, _rule(rules.check_cluster_name)] = Field(
        description="1-63 letters, digits, '-' or '_', starting and ending with a letter or digit."
    )
    dns_prefix: Annotated[str, _rule(rules.check_dns_prefix)] | None = Field(
        default=None, description="DNS prefix of the API server; null: derived from the cluster name."
    )
    kubernetes_version: Annotated[str, _rule(rules.check_kubernetes_version)] = Field(
        default="1.34",
        description='A minor version ("1.34": newest patch) or an exact patch ("1.34.2"); 1.34 or newer.',
    )
    tier: Literal["Free", "Standard", "Premium"] = Field(default="Standard", description="Pricing tier.")
    support_plan: Literal["KubernetesOfficial", "AKSLongTermSupport"] = Field(
        default="KubernetesOfficial", description="Support plan; AKSLongTermSupport needs tier Premium."
    )
    system_pool: SystemPool = Field(default_factory=SystemPool, description="The system node pool.")
    network: Network = Field(default_factory=Network, description="Cluster networking.")
    istio: Istio = Field(default_factory=Istio, description="Istio service mesh add-on.")
    gateway_api: bool = Field(
        default=True, description="Managed Gateway API (runs on the Istio add-on, so needs istio.enabled)."
    )
    addons: Addons = Field(default_factory=Addons, description="KEDA, KAITO, managed Prometheus.")
    tags: AzureTags = Field(default_factory=dict, description="Azure tags on the cluster.")
    access: Access = Field(default_factory=Access, description="Entra ID, Azure RBAC, local accounts.")
    oidc_issuer: bool = Field(
        default=False, description="The cluster's OIDC issuer (once on, AKS cannot turn it off; KAITO turns it on)."
    )
    workload_identity: bool = Field(default=False, description="Microsoft Entra Workload ID (needs oidc_issuer).")

    @model_validator(mode="after")
    def _cross(self) -> "ClusterAnswers":
        return _first_cross(self, cross.cluster_errors)


# ------------------------------------------------------------------- GPU pool

class Autoscale(_Model):
    """Cluster autoscaler bounds for the GPU pool."""

    min: Annotated[int, _rule(rules.check_count, 0, 1000)] = Field(description="Fewest nodes (0-1000).")
    max: Annotated[int, _rule(rules.check_count, 0, 1000)] = Field(description="Most nodes (min-1000).")

    @model_validator(mode="after")
    def _cross(self) -> "Autoscale":
        return _first_cross(self, cross.autoscale_errors)


class GpuPoolAnswers(_Model):
    """A user node pool of GPU VMs."""

    name: PoolName = Field(default="gpunp", description="1-12 lowercase letters and digits, starting with a letter.")
    vm_size: VmSize = Field(description="GPU VM size, e.g. Standard_NC4as_T4_v3.")
    count: Annotated[int, _rule(rules.check_count, 0, 1000)] = Field(
        default=1, description="Node count (0-1000); with autoscale, the starting count."
    )
    autoscale: Autoscale | None = Field(
        default=None, description="Cluster autoscaler bounds; null: fixed count, no autoscaler."
    )
    taints: Annotated[list[Taint], _rule(k8s_rules.check_taints)] = Field(
        default_factory=lambda: ["sku=gpu:NoSchedule"],
        description="Node taints, key=value:Effect (NoSchedule, PreferNoSchedule, NoExecute).",
    )
    labels: dict[LabelKey, LabelValue] = Field(default_factory=dict, description="Kubernetes node labels.")
    managed_gpu: bool = Field(
        default=False,
        description=f"AKS-managed GPU driver, device plugin and DCGM exporter (preview; {NO_AUTOSCALER}: preflight "
        "reports it).",
    )
    zones: Zones = Field(default_factory=list, description='Availability zones ("1", "2", "3"); empty: none.')
    priority: Literal["Regular", "Spot"] = Field(
        default="Regular", description="Regular (on-demand) or Spot (spare capacity at a discount, evicted at any "
        "time; counted against the low-priority vCPU quota; AKS taints and labels its nodes)."
    )
    eviction_policy: Literal["Delete", "Deallocate"] | None = Field(
        default=None, description="With priority Spot (required): Delete or Deallocate evicted nodes."
    )
    spot_max_price: Annotated[float, BeforeValidator(_price), _rule(rules.check_spot_max_price)] = Field(
        default=-1.0, description="With priority Spot: most US dollars per node-hour; -1: up to the on-demand price."
    )

    @model_validator(mode="after")
    def _cross(self) -> "GpuPoolAnswers":
        return _first_cross(self, cross.pool_errors)


# ------------------------------------------------------------- kueue, verify

class KueueAnswers(_Model):
    """Kueue job queueing, installed from its release manifest."""

    install: bool = Field(default=True, description="Install Kueue.")
    version: Annotated[str, _rule(rules.check_kueue_version)] = Field(
        default="v0.17.8", description="Kueue release tag (v0.17.8 is shipped with the package; another is downloaded)."
    )
    manifest: Annotated[str, _rule(rules.check_kueue_manifest)] | None = Field(
        default=None, description="Local path or https URL of the manifest; null: the release manifest of version."
    )
    sha256: Annotated[str, _rule(rules.check_sha256)] | None = Field(
        default=None, description="Expected SHA-256 of the manifest (64 hex characters)."
    )
    default_queues: bool = Field(default=True, description="Create a default ClusterQueue and LocalQueue.")


class ProductAnswers(_Model):
    """PRODUCT.yaml metadata of the CNCF submission (the rest is AKS's public product facts)."""

    contact_email: str | None = Field(default=None, description="contactEmailAddress of the submitter.")
    vendor: str | None = Field(default=None, description="vendorName (default Microsoft).")
    name: str | None = Field(default=None, description="platformName (default Azure Kubernetes Service (AKS)).")
    version: str | None = Field(default=None, description="platformVersion: the product's version (default the "
                                                          "AKS version line, e.g. v1.34).")

    def overrides(self) -> dict[str, str]:
        return {k: v for k, v in (("contactEmailAddress", self.contact_email), ("vendorName", self.vendor),
                                  ("platformName", self.name), ("platformVersion", self.version)) if v}


class VerifyAnswers(_Model):
    """Conformance verification after the run."""

    probes: bool = Field(
        default=False, description="Also run probes that create workloads (not only read-only checks)."
    )
    checklist: Literal["1.34", "1.35", "1.36", "1.37"] = Field(
        default="1.34", description="Kubernetes AI Conformance checklist version to verify against."
    )
    require_conformance: bool = Field(
        default=True, description="apply exits 4 when its closing verification finds a MUST requirement that did "
        "not pass; false: it reports them and exits 0 (also --conformance-not-required)."
    )
    billable_probes: list[Literal["cluster_autoscaling"]] = Field(
        default_factory=list, description="Probes that create billable cloud resources, run only when listed "
        "(cluster_autoscaling: a GPU node for 10-30 minutes)."
    )
    product: ProductAnswers = Field(default_factory=ProductAnswers, description="PRODUCT.yaml metadata.")


# ---------------------------------------------------------------------- fleet

FleetPattern = Annotated[str, _rule(fleet_rules.check_fleet_pattern)]


class FleetMember(_Model):
    """Overrides for one member of the fleet (to spread a workshop over regions or GPU sizes)."""

    member: Annotated[int, _rule(rules.check_count, 1, rules.FLEET_MAX)] = Field(
        description="The member's number (1-based, as {n} in the name patterns).")
    location: Annotated[str, _rule(rules.check_location)] | None = Field(
        default=None, description="Azure region of this member; null: azure.location.")
    gpu_vm_size: VmSize | None = Field(default=None, description="GPU VM size of this member; null: gpu_pool.vm_size.")


class FleetAnswers(_Model):
    """Several identical clusters from this one file (a workshop): the names derive from the base names."""

    count: Annotated[int, _rule(rules.check_count, 1, rules.FLEET_MAX)] = Field(
        description=f"Number of clusters (1-{rules.FLEET_MAX}).")
    cluster_name: FleetPattern = Field(
        default="{cluster}-{n:02d}", description="Name pattern of each cluster: {n} the member's number (e.g. "
        "{n:02d}), {cluster} cluster.name, {resource_group} resource_group.name.")
    resource_group: Literal["per_cluster", "shared"] = Field(
        default="per_cluster", description="per_cluster: a resource group per member (resource_group_name); "
        "shared: every member in resource_group.name.")
    resource_group_name: FleetPattern = Field(
        default="{resource_group}-{n:02d}", description="Name pattern of each member's resource group "
        "(per_cluster); the same fields as cluster_name.")
    members: list[FleetMember] = Field(default_factory=list, description="Per-member overrides.")


# ----------------------------------------------------------------- top level

def _check_features_shape(value: Any) -> Any:
    if not (value == "auto" or isinstance(value, list)):
        raise _fail(
            "must be auto or a list of Namespace/FeatureName, like "
            "[Microsoft.ContainerService/ManagedGatewayAPIPreview]"
        )
    return value


Features = Annotated[
    Union[Annotated[Literal["auto"], Tag("auto")], Annotated[list[FeatureName], Tag("list")]],
    Discriminator(lambda v: "list" if isinstance(v, list) else "auto"),
    BeforeValidator(_check_features_shape),
]


class Answers(_Model):
    """aks-ai-wizard answers file, schema version 1."""

    version: Literal[1] = Field(default=1, description="Answers schema version; always 1.")

    @field_validator("version", mode="before")
    @classmethod
    def _version_is_a_number(cls, value: Any) -> Any:
        if isinstance(value, bool):  # YAML's true is 1 to Python: never a schema version
            raise PydanticCustomError("literal_error", "a boolean is not a schema version")
        return value
    azure: AzureAnswers = Field(description="Cloud, subscription, region and sign-in.")
    resource_group: ResourceGroupAnswers = Field(description="The resource group of the cluster.")
    cluster: ClusterAnswers = Field(description="The AKS cluster.")
    features: Features = Field(
        default="auto",
        description="Preview feature flags to register: auto (what the chosen options need) or an "
        "explicit list of Namespace/FeatureName.",
    )
    gpu_pool: GpuPoolAnswers | None = Field(default=None, description="GPU node pool; null: none.")
    gpu_pools: list[GpuPoolAnswers] = Field(
        default_factory=list,
        description="Several GPU node pools (e.g. a T4 pool for inference and an A100 Spot pool for training), "
        "instead of gpu_pool.",
    )
    kueue: KueueAnswers = Field(default_factory=KueueAnswers, description="Kueue job queueing.")
    verify: VerifyAnswers = Field(default_factory=VerifyAnswers, description="Conformance verification.")
    fleet: FleetAnswers | None = Field(
        default=None, description="Several clusters from this file; null: one cluster with the names above.")

    @model_validator(mode="after")
    def _cross(self) -> "Answers":
        return _first_cross(self, cross.answers_errors)

    @property
    def all_gpu_pools(self) -> list[GpuPoolAnswers]:
        """Every GPU pool the answers describe, whichever key holds them (gpu_pool or gpu_pools)."""
        return [self.gpu_pool] if self.gpu_pool is not None else list(self.gpu_pools)

    def gpu_pool_path(self, name: str) -> str:
        """The answers path of the GPU pool of that name (gpu_pool, or gpu_pools[i])."""
        if self.gpu_pool is not None:
            return "gpu_pool"
        return next((f"gpu_pools[{i}]" for i, p in enumerate(self.gpu_pools) if p.name == name), "gpu_pools")


# ------------------------------------------------- helpers for the error mapper

def unwrap(tp: Any) -> Any:
    """Strip Annotated and Optional wrappers (keeps real unions)."""
    while True:
        origin = typing.get_origin(tp)
        if origin is Annotated:
            tp = typing.get_args(tp)[0]
            continue
        if origin in (Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) == 1:
                tp = args[0]
                continue
        return tp


def union_member(tp: Any, tag: Any) -> Any | None:
    """The member of a tagged union whose Tag is ``tag``, else None."""
    if typing.get_origin(tp) not in (Union, types.UnionType):
        return None
    for member in typing.get_args(tp):
        if typing.get_origin(member) is Annotated:
            for meta in member.__metadata__:
                if isinstance(meta, Tag) and meta.tag == tag:
                    return member
    return None
