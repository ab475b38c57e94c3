"""The exact ARM requests a plan's writing steps send: method, path, api-version and body, built from the same
SDK models the engine sends and serialised the way the SDK serialises them. Shared by the JSON plan and the
ARM template, so an exported body can never drift from the wizard's PUT."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from wizard.arm_ids import cluster_id
if TYPE_CHECKING:
    from wizard.plan_model import Plan, Step


@dataclass(frozen=True)
class ArmRequest:
    step: str
    method: str
    path: str
    api_version: str
    body: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"step": self.step, "method": self.method, "path": self.path,
                               "api_version": self.api_version}
        if self.body is not None:
            out["body"] = self.body
        return out


def wire(model: Any) -> dict[str, Any]:
    """A model as the SDK puts it on the wire: read-only properties left out. containerservice 41 models are
    typespec models (`as_dict(exclude_readonly=True)` = what its SdkJSONEncoder sends); monitor models are msrest
    models (`serialize()`)."""
    body: dict[str, Any] = model.serialize() if hasattr(model, "serialize") else model.as_dict(exclude_readonly=True)
    return body


class _NoCredential:
    """Only to read an SDK client's configuration; never asked for a token (no request is made)."""

    def get_token(self, *scopes: str, **kw: Any) -> Any:  # pragma: no cover - never called
        raise RuntimeError("no requests are sent while exporting")


@cache
def api_version(client: str) -> str:
    """The api-version the SDK client sends by default (what the wizard's own requests carry)."""
    from wizard.azure.monitor import DC_API, WORKSPACE_API

    if client == "monitor-workspace":
        return WORKSPACE_API
    if client == "monitor-dc":
        return DC_API
    from azure.mgmt.containerservice import ContainerServiceClient
    from azure.mgmt.resource.features import FeatureClient
    from azure.mgmt.resource.resources import ResourceManagementClient

    classes: dict[str, Any] = {"aks": ContainerServiceClient, "resources": ResourceManagementClient,
                               "features": FeatureClient}
    version: str = classes[client](_NoCredential(), "00000000-0000-0000-0000-000000000000")._config.api_version
    return version


def group_path(sub: str, rg: str) -> str:
    return f"/subscriptions/{sub}/resourcegroups/{rg}"  # the SDK's own spelling for resource groups


def step_requests(plan: "Plan", step: "Step") -> list[ArmRequest]:
    """The ARM writes of one step, in the order the engine sends them (empty for reads, skips, in-cluster steps)."""
    from wizard.plan_model import PROVIDER

    a, sub = plan.answers, plan.observed.subscription_id
    rg, name = a.resource_group.name, a.cluster.name
    kind = step.id.split(":")[0]
    if not step.writes:
        return []
    if kind == "resource-group":
        return [ArmRequest(step.id, "PUT", group_path(sub, rg), api_version("resources"),
                           {"location": a.azure.location, "tags": dict(a.resource_group.tags)})]
    if kind == "feature":
        ns, _, flag = str(step.payload).partition("/")
        return [ArmRequest(step.id, "POST", f"/subscriptions/{sub}/providers/Microsoft.Features/providers/{ns}/"
                                            f"features/{flag}/register", api_version("features"))]
    if kind == "provider":
        return [ArmRequest(step.id, "POST", f"/subscriptions/{sub}/providers/{PROVIDER}/register",
                           api_version("resources"))]
    if kind == "cluster" and step.action in ("create", "recreate"):
        return [ArmRequest(step.id, "PUT", cluster_id(sub, rg, name), api_version("aks"), wire(step.payload.body))]
    if kind == "cluster" and step.action in ("update", "retry") and plan.observed.cluster:
        from azure.mgmt.containerservice import models as m

        body = step.payload.update(m.ManagedCluster(plan.observed.cluster))  # as the engine builds it
        return [ArmRequest(step.id, "PUT", cluster_id(sub, rg, name), api_version("aks"), wire(body))]
    if kind == "preview-fields":
        return [ArmRequest(step.id, "PUT", cluster_id(sub, rg, name), api_version("aks"),
                           wire(_enabled_body(plan, step)))]
    if kind == "gpu-pool" and step.payload.body is not None:
        return [ArmRequest(step.id, "PUT", cluster_id(sub, rg, name) + f"/agentPools/{step.payload.pool}",
                           api_version("aks"), wire(step.payload.body))]
    if kind.startswith("monitor-") and kind != "monitor-providers":
        return _monitor_requests(step)
    return []


def _monitor_requests(step: "Step") -> list[ArmRequest]:
    """The workspace step's group and workspace PUTs (none for a given workspace), or the PUT of its part."""
    from wizard.addons.monitor_steps import PART_STEPS, WORKSPACE
    from wizard.azure import monitor

    names, tags = step.payload.names, dict(step.payload.tags) or None
    if step.id == WORKSPACE:
        return [] if names.workspace_given else [
            ArmRequest(step.id, "PUT", group_path(names.subscription_id, names.workspace_rg), api_version("resources"),
                       {"location": names.region}),
            ArmRequest(step.id, "PUT", names.workspace_id, api_version("monitor-workspace"),
                       wire(monitor.workspace_body(names.region, tags)))]
    part = monitor.PARTS[PART_STEPS[step.id]]
    return [ArmRequest(step.id, "PUT", part.rid(names), api_version("monitor-dc"), wire(part.body(names, tags)))]


def _enabled_body(plan: "Plan", step: "Step") -> Any:
    """The body of the update that sends what a staged create deferred, as the engine builds it: the cluster as it
    is (here: as the create leaves it, or as observed) with the answers' options applied."""
    from azure.mgmt.containerservice import models as m

    create = next((s for s in plan.steps if s.id == "cluster" and s.action == "create"), None)
    base = create.payload.body.as_dict() if create is not None else dict(plan.observed.cluster or {})
    return step.payload.update(m.ManagedCluster(base))


def plan_requests(plan: "Plan") -> list[ArmRequest]:
    return [r for s in plan.steps for r in step_requests(plan, s)]
