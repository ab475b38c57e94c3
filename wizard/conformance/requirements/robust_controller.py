"""robust_controller: an AI operator with CRDs (KAITO, KubeRay, Kubeflow Trainer) installed and working, as the
official TestRobustCRDControllerOperation checks it: OperatorPodsRunning, CRDRegistered, WebhookOperational
(read-only), then the probe: WebhookRejectsInvalidCR (an admission denial, not any 400: a webhook that "does not
support dry run" is retried with a real create) and ControllerReconcilesCR (a valid custom resource whose status
the controller moves on as the operator defines)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

from ..context import KS, Ctx, Out, Outcome
from ..kube import KubeFailure
from ..probes import ProbeResult, ProbeRunner
from .base import Spec, fail_fast, probed, run_probe


@dataclass(frozen=True)
class Operator:
    name: str
    crds: tuple[str, ...]
    deployments: tuple[str, ...]
    webhooks: tuple[str, ...]
    group: str
    plural: str
    kind: str
    invalid: Callable[[str, str], dict[str, Any]]  # (version, name) -> a body the webhook must deny
    valid: Callable[["ProbeRunner", str, str], dict[str, Any]]  # (runner, version, name) -> a body the controller reconciles
    progressed: Callable[[dict[str, Any]], str | None]  # the CR -> what shows it was reconciled, or None
    failed: Callable[[dict[str, Any]], str | None] = lambda cr: None  # the CR -> a terminal failure, or None


def _conditions(cr: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c.get("type"): c for c in (cr.get("status") or {}).get("conditions") or []}


def _kaito_valid(r: "ProbeRunner", version: str, name: str) -> dict[str, Any]:
    """A Workspace for the smallest preset on the GPU nodes already there (labelSelector + preferredNodes), so
    that KAITO provisions no node."""
    nodes = r.ctx.gpu_vm_nodes()
    labels = (nodes[0]["metadata"].get("labels") or {}) if nodes else {}
    pool = labels.get("kubernetes.azure.com/agentpool", "gpu")
    size = labels.get("node.kubernetes.io/instance-type", "Standard_NC24ads_A100_v4")
    return {"apiVersion": f"kaito.sh/{version}", "kind": "Workspace",
            "metadata": {"name": name, "namespace": r.ns},
            "resource": {"instanceType": size, "count": 1,
                         "labelSelector": {"matchLabels": {"kubernetes.azure.com/agentpool": pool}},
                         "preferredNodes": [n["metadata"]["name"] for n in nodes[:1]]},
            "inference": {"preset": {"name": "phi-4-mini-instruct"}}}


def _kaito_progressed(cr: dict[str, Any]) -> str | None:
    conds = _conditions(cr)
    for t in ("ResourceReady", "InferenceReady", "WorkspaceSucceeded"):
        c = conds.get(t)
        if c and c.get("reason"):
            return f"condition {t}={c.get('status')} ({c.get('reason')})"
    return None


def _trainer_progressed(cr: dict[str, Any]) -> str | None:
    c = _conditions(cr).get("Complete")
    return "condition Complete=True" if c and c.get("status") == "True" else None


def _failed(cr: dict[str, Any]) -> str | None:
    c = _conditions(cr).get("Failed")
    return f"Failed=True: {c.get('message', '')}" if c and c.get("status") == "True" else None


def _ray_progressed(cr: dict[str, Any]) -> str | None:
    state = (cr.get("status") or {}).get("state")
    return f"status.state {state}" if state else None


OPERATORS = (
    Operator("KAITO", ("workspaces.kaito.sh",), ("kaito-workspace",), ("validation.workspace.kaito.sh",),
             "kaito.sh", "workspaces", "Workspace",
             lambda v, n: {"apiVersion": f"kaito.sh/{v}", "kind": "Workspace", "metadata": {"name": n},
                           "resource": {"instanceType": "Standard_NC24ads_A100_v4",
                                        "labelSelector": {"matchLabels": {"apps": "aicv"}}},
                           "inference": {"preset": {"name": "aicv-no-such-model"}}},
             _kaito_valid, _kaito_progressed),
    Operator("KubeRay", ("rayclusters.ray.io", "rayjobs.ray.io"), ("kuberay-operator",), (),
             "ray.io", "rayclusters", "RayCluster",
             lambda v, n: {"apiVersion": f"ray.io/{v}", "kind": "RayCluster", "metadata": {"name": n}, "spec": {}},
             lambda r, v, n: {"apiVersion": f"ray.io/{v}", "kind": "RayCluster", "metadata": {"name": n},
                              "spec": {"headGroupSpec": {"rayStartParams": {}, "template": {"spec": {"containers": [{
                                  "name": "ray-head", "image": "rayproject/ray:2.46.0",
                                  "resources": {"requests": {"cpu": "200m", "memory": "512Mi"}}}]}}}}},
             _ray_progressed),
    Operator("Kubeflow Trainer", ("trainjobs.trainer.kubeflow.org",), ("kubeflow-trainer-controller-manager",),
             ("validator.trainer.kubeflow.org",), "trainer.kubeflow.org", "trainjobs", "TrainJob",
             lambda v, n: {"apiVersion": f"trainer.kubeflow.org/{v}", "kind": "TrainJob", "metadata": {"name": n},
                           "spec": {"runtimeRef": {"name": "does-not-exist-runtime", "apiGroup": "trainer.kubeflow.org",
                                                   "kind": "ClusterTrainingRuntime"}}},
             lambda r, v, n: {"apiVersion": f"trainer.kubeflow.org/{v}", "kind": "TrainJob", "metadata": {"name": n},
                              "spec": {"runtimeRef": {"name": "torch-distributed", "apiGroup": "trainer.kubeflow.org",
                                                      "kind": "ClusterTrainingRuntime"}}},
             _trainer_progressed, _failed),
)


def check(ctx: Ctx) -> Outcome:
    out = Out()
    az = ctx.az
    if az is not None:
        (out.ev if az.kaito else out.note)(f"Azure: aiToolchainOperatorProfile.enabled = {str(az.kaito).lower()}")
    crds = ctx.crds()
    found = [op for op in OPERATORS if any(c in crds for c in op.crds)]
    if not found:
        return fail_fast(out, "no AI operator with CRDs installed (KAITO, KubeRay, Kubeflow Trainer)",
                         ctx.fix.kaito())
    op = found[0]
    name, op_crds, deps, hooks = op.name, op.crds, op.deployments, op.webhooks
    fix = ctx.fix.kaito() if name == "KAITO" else None
    for c in op_crds:
        if c in crds:
            ok, line = ctx.crd_ok(c)
            (out.ev if ok else lambda s: out.problem(s, fix))(line)
    dep = ctx.find_deployment(deps)
    if dep is None:
        out.problem(f"{name} controller Deployment ({', '.join(deps)}) not found", fix)
    else:
        ok, line = ctx.deployment_ok(dep)
        (out.ev if ok else lambda s: out.problem(s, fix))(line)
    for hook in hooks:
        ok, line = ctx.webhook_ok(hook)
        if not ok:
            out.problem(line, fix)
            continue
        out.ev(line)
        cfg = ctx.webhook_configs()[hook]
        svc = ((cfg["webhooks"][0].get("clientConfig") or {}).get("service") or {})
        if svc:
            try:
                n = ctx.endpoints_ready(svc.get("namespace", KS), svc.get("name", ""))
                if n:
                    out.ev(f"webhook Service {svc.get('namespace')}/{svc.get('name')}: {n} ready endpoint(s)")
                else:
                    out.problem(f"webhook Service {svc.get('namespace')}/{svc.get('name')} has no ready endpoints", fix)
            except KubeFailure as exc:
                out.note(f"webhook endpoints not read: {exc.describe()}")
    proven = None
    if not out.problems:
        proven = run_probe(ctx, "robust_controller", out)
    return probed(out, proven, f"{name}: its webhook denied an invalid {op.kind} and its controller reconciled a "
                               f"valid one",
                  f"{name}: CRDs Established, controller Available, webhook configured (not exercised)")


def _served_version(r: ProbeRunner, op: Operator) -> str:
    crd = r.ctx.crds().get(op.crds[0]) or {}
    versions = (crd.get("spec") or {}).get("versions") or []
    return next((v["name"] for v in versions if v.get("storage")),
                next((v["name"] for v in versions if v.get("served")), "v1"))


def _denied(exc: KubeFailure) -> bool:
    """An admission webhook's denial, as the official isAdmissionDenied reads it."""
    msg = exc.message.lower()
    return "denied the request" in msg or (exc.kind == "denied" and "does not support dry run" not in msg)


def probe(r: ProbeRunner) -> ProbeResult:
    crds = r.ctx.crds()
    op = next(o for o in OPERATORS if any(c in crds for c in o.crds))
    ns = r.namespace()
    for sub in ("OperatorPodsRunning", "CRDRegistered", "WebhookOperational"):
        r.sub(sub, True, "read-only check passed")
    version = _served_version(r, op)
    base = f"/apis/{op.group}/{version}/namespaces/{ns}/{op.plural}"
    bad = op.invalid(version, f"aicv-invalid-{r.suffix}")
    bad["metadata"]["namespace"] = ns
    accepted = False
    try:
        r.post(base, bad, dry_run=True)
        accepted = True
    except KubeFailure as exc:
        if not _denied(exc) and "does not support dry run" in exc.message:
            r.ev(f"server-side dry run refused ({exc.message[:100]}): not a denial; creating it for real")
            try:
                r.post(base, bad)
                accepted = True
                r.delete(f"{base}/{bad['metadata']['name']}")
            except KubeFailure as exc2:
                exc = exc2
        if not accepted and not _denied(exc):
            r.sub("WebhookRejectsInvalidCR", None, exc.describe())
            return ProbeResult.undecided(f"the invalid {op.kind} failed for another reason than an admission denial: "
                                         f"{exc.describe()}")
        if not accepted:
            m = re.search(r'admission webhook "([^"]+)"', exc.message)
            r.sub("WebhookRejectsInvalidCR", True, exc.message[:200])
            r.ev(f"an invalid {op.kind} was denied by webhook {m.group(1) if m else '?'}: {exc.message[:160]}")
    if accepted:
        r.sub("WebhookRejectsInvalidCR", False, f"an invalid {op.kind} was accepted")
        return ProbeResult(False, f"an invalid {op.kind} was accepted: {op.name}'s validating webhook did not run",
                           fix=f"kubectl get validatingwebhookconfiguration {' '.join(op.webhooks) or '-A'} -o yaml; "
                               f"check the {', '.join(op.deployments)} pods")
    name = f"aicv-valid-{r.suffix}"
    r.post(base, op.valid(r, version, name))
    r.ev(f"valid {op.kind} {name} created")
    try:
        def reconciled() -> dict[str, Any] | None:
            cr = r.get(f"{base}/{name}")
            failure = op.failed(cr)
            return {"failed": failure} if failure else ({"ok": op.progressed(cr)} if op.progressed(cr) else None)

        got = r.wait(f"{op.name} reconciles {op.kind} {name}", reconciled)
    except TimeoutError as exc:
        r.sub("ControllerReconcilesCR", False, str(exc))
        return ProbeResult(False, f"{op.name}'s controller did not reconcile a valid {op.kind}: {exc}",
                           fix=f"kubectl logs -n {KS} deploy/{op.deployments[0]}")
    finally:
        r.delete(f"{base}/{name}")
    if "failed" in got:
        r.sub("ControllerReconcilesCR", False, got["failed"])
        return ProbeResult(False, f"the valid {op.kind} failed: {got['failed']}")
    r.sub("ControllerReconcilesCR", True, got["ok"])
    r.ev(f"{op.name} reconciled {op.kind} {name}: {got['ok']} (deleted again)")
    return ProbeResult(True, "invalid CR denied, valid CR reconciled")


SPEC = Spec("robust_controller", check, probe, test="TestRobustCRDControllerOperation")
