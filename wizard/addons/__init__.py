"""AI add-ons after the cluster exists: Azure Monitor managed Prometheus wiring (workspace, data collection
endpoint/rule/association), the NVIDIA device plugin and DCGM exporter on an unmanaged GPU pool, DCGM exporter
scraping, Kueue and its default queues.

Integration (the engine and plan own sequencing; this package owns the work):

    from wizard.addons import ADDON_RUNNERS, AddonOptions, addon_steps
    plan.steps += addon_steps(answers, plan)          # after "kubeconfig" (and "cluster")
    Engine(..., runners=wizard.runners.runners())      # the table holds ADDON_RUNNERS
    RunOptions(..., addons=AddonOptions(kueue_release_base=...))   # optional; read with getattr

Each runner is idempotent (reads first, writes only what is missing or different; a second run sends no write)
and bounded (every wait has a timeout from AddonOptions).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from wizard.addons.kube import Kube
from wizard.addons.kueue import RELEASE_BASE, SHIPPED_RELEASE, Shipped
from wizard.addons.monitor_steps import MONITOR_RUNNERS, monitor_in_place, monitor_steps
from wizard.azure.roles import run_access

if TYPE_CHECKING:
    from wizard.addons.kueue import HasKueue
    from wizard.answers import Answers, KueueAnswers
    from wizard.engine import Engine
    from wizard.plan_model import Plan, Step

__all__ = ["ADDON_RUNNERS", "AddonOptions", "addon_steps", "in_place", "options_of", "RELEASE_BASE",
           "settle_in_place"]

TYPICAL = {"gpu-stack": 60.0, "gpu-metrics": 3.0, "kueue": 60.0, "kueue-queues": 5.0}


@dataclass
class AddonOptions:
    """Run-time options of the add-on steps (the engine's RunOptions.addons, when the lead adds that field)."""

    kueue_release_base: str = RELEASE_BASE  # real: GitHub release downloads; simulated: the simulator's
    kueue_shipped: Shipped | None = SHIPPED_RELEASE  # the pinned release's manifest (simulated: the simulator's copy)
    download_timeout: float = 60.0  # seconds for the manifest download
    wait_timeout: float = 300.0  # seconds for each Kubernetes wait (CRDs Established, controller Available, ...)
    azure_timeout: float = 600.0  # seconds for each Azure wait (provider registration, workspace Succeeded)
    kube_timeout: float = 30.0  # seconds for one Kubernetes request
    max_poll: float = 5.0  # seconds between polls at most (the engine's poll_interval when smaller)


# What each add-on step's runner needs, put in its Step's payload when the plan builds the step: a runner reads its
# inputs there (visible in the plan), never the answers of the run.
@dataclass(frozen=True)
class GpuStackInputs:
    """gpu-stack: the GPU pools whose software the wizard installs (managed_gpu: false; none: AKS manages it) and
    their taints (and Spot's), which the DaemonSets must tolerate."""

    pools: tuple[str, ...]
    taints: tuple[str, ...]


def gpu_stack_inputs(answers: "Answers") -> GpuStackInputs:
    from wizard.addons import gpu_stack

    return GpuStackInputs(tuple(p.name for p in gpu_stack.unmanaged_pools(answers)),
                          tuple(gpu_stack.pool_taints(answers)))


@dataclass(frozen=True)
class KueueInputs:
    """kueue: the answers' kueue section (version, manifest, sha256); `kueue` named so the kueue module reads it."""

    kueue: "KueueAnswers"
    manifest: str  # where the manifest comes from (shown in the plan)


@dataclass(frozen=True)
class QueueInputs:
    """kueue-queues: the GPU pools' node counts at most (autoscale max, else count), for the ClusterQueue's quota."""

    gpu_nodes: tuple[int, ...]


def options_of(engine: "Engine") -> AddonOptions:
    return (getattr(engine.options, "addons", None) or getattr(engine, "addon_options", None)
            or AddonOptions())


# ------------------------------------------------------------------------------------------ the plan
def _kueue_steps(answers: "Answers", kube_deps: tuple[str, ...], new_cluster: bool) -> list["Step"]:
    """Kueue from its pinned manifest, and its default queues when asked for."""
    from wizard.addons import gpu_stack
    from wizard.plan_model import Step

    k = answers.kueue
    if not k.install:
        return []
    from wizard.addons import kueue as kq
    from wizard.addons.kueue import manifest_location, release_url, shipped_for

    steps: list[Step] = []
    where = manifest_location(answers, RELEASE_BASE)
    packaged = shipped_for(answers, SHIPPED_RELEASE) is not None
    source = ("the release manifest shipped with aks-ai-wizard" if packaged else
              "its release manifest (downloaded)" if not k.manifest else where)
    steps.append(Step(
        "kueue", f"install Kueue {k.version} from {source}"
        + (" (SHA-256 pinned)" if k.sha256 or packaged else ""), "create" if new_cluster else "update",
        f"kubectl apply --server-side -f {release_url(RELEASE_BASE, k.version) if packaged else where}\n"
        "kubectl -n kueue-system wait deployment/kueue-controller-manager --for=condition=Available --timeout=300s",
        deps=kube_deps, typical=TYPICAL["kueue"], payload=KueueInputs(k, where),
        reason="skipped at run time when the cluster already runs this version"))
    if k.default_queues:
        steps.append(Step(
            "kueue-queues", "Kueue default queues: ResourceFlavor default-flavor, ClusterQueue cluster-queue, "
            "LocalQueue default/user-queue", "create" if new_cluster else "update",
            "kubectl apply --server-side -f kueue-default-queues.yaml"
            "  # ResourceFlavor default-flavor, ClusterQueue cluster-queue, LocalQueue user-queue (default)",
            deps=("kueue",) + (("gpu-stack",) if gpu_stack.wanted(answers) else ()),
            typical=TYPICAL["kueue-queues"], payload=QueueInputs(kq.gpu_nodes(answers)),
            reason="existing queues of these names are left as they are"))
    return steps


def addon_steps(answers: "Answers", plan: "Plan") -> list["Step"]:
    from wizard.azure.roles import access_steps
    from wizard.plan_model import Step, is_arm_step

    steps: list[Step] = access_steps(answers, plan)  # Entra ID + Azure RBAC: the role that admits this run
    if not plan.ok:
        return steps
    a = answers.cluster.addons
    ids = {s.id for s in plan.steps}
    arm_deps = tuple(s.id for s in plan.steps if is_arm_step(s.id))
    kube_deps = (("kubeconfig",) if "kubeconfig" in ids else arm_deps) + tuple(s.id for s in steps)
    new_cluster = plan.observed.cluster is None

    if a.managed_prometheus:
        steps += monitor_steps(plan, arm_deps, new_cluster)
    from wizard.addons import gpu_stack

    if gpu_stack.wanted(answers):
        names = [p.name for p in gpu_stack.unmanaged_pools(answers)]
        steps.append(Step(
            "gpu-stack", f"NVIDIA device plugin {gpu_stack.DEVICE_PLUGIN_VERSION} and DCGM exporter "
            f"{gpu_stack.DCGM_VERSION} on GPU pool{'s' if len(names) > 1 else ''} {', '.join(names)} "
            "(managed_gpu: false: AKS installs only the driver)",
            "create" if new_cluster else "update", gpu_stack.kubectl_equivalent(gpu_stack.pool_taints(answers)),
            deps=kube_deps, typical=TYPICAL["gpu-stack"], payload=gpu_stack_inputs(answers),
            reason="skipped at run time when both are already applied and ready"))
    if a.managed_prometheus and answers.all_gpu_pools:
        steps.append(Step(
            "gpu-metrics", "managed Prometheus: scrape the NVIDIA DCGM exporter (ama-metrics-settings-configmap "
            "dcgmexporter = true)", "create" if new_cluster else "update",
            "kubectl apply --server-side --field-manager aks-ai-wizard -f ama-metrics-settings-configmap.yaml"
            "  # kube-system; dcgmexporter = true in default-scrape-settings-enabled (schema v1) or in"
            " cluster-metrics default-targets-scrape-enabled (v2); an existing ConfigMap keeps its other settings",
            deps=kube_deps, typical=TYPICAL["gpu-metrics"]))
    steps += _kueue_steps(answers, kube_deps, new_cluster)
    return steps


def in_place(conn: Any, answers: "Answers", plan: "Plan", kube_client: Any, opts: AddonOptions) -> dict[str, str]:
    """step id -> why it has nothing to do, for the add-on steps whose work is already in place: read with the
    same checks (and options) their runners use before writing, so that `plan` after an apply says "no changes"."""
    from wizard.addons import gpu_metrics, gpu_stack, kueue as kq

    kube = Kube(kube_client, timeout=opts.kube_timeout)
    ids = {s.id: s for s in plan.steps}
    done = monitor_in_place(conn, plan)
    if "gpu-stack" in ids and gpu_stack.wanted(answers):
        ok, state = gpu_stack.status(kube)
        if ok and not gpu_stack.pending(kube, gpu_stack.pool_taints(answers)):
            done["gpu-stack"] = f"applied and ready ({state})"
    if "gpu-metrics" in ids and gpu_metrics.setting(kube.get(gpu_metrics.PATH)):
        done["gpu-metrics"] = f"{gpu_metrics.NAME} has {gpu_metrics.TARGET} = true"
    if "kueue" in ids:
        manifest, wanted = _kueue_wanted(answers, opts, lambda _msg: None)
        if _kueue_current(kq.installed(kube), wanted, manifest):
            done["kueue"] = f"Kueue {wanted} installed and healthy"
    if "kueue-queues" in ids and not _missing_queues(kube, kq.default_queue_objects(
            kq.cluster_quota(kube, kq.gpu_nodes(answers))[0])):
        done["kueue-queues"] = "default queues exist (left as they are)"
    return done


def settle_in_place(conn: Any, plan: "Plan", opts: AddonOptions | None = None) -> None:
    """Mark the add-on steps whose work is in place as skipped, when the cluster and its pools are left as they
    are (after a successful apply: "no changes"). Reads only; a cluster that cannot be read now leaves the steps
    planned (their runners check again before writing) with a note saying why."""
    from wizard.azure.clusters import kubeconfig_for_this_run
    from wizard.kubeconfig import api_client
    from wizard.plan_model import is_arm_step

    from wizard.azure.roles import settle

    settle(conn, plan)  # the role assignment step: skipped when the signed-in principal is already admitted
    addon_ids = set(ADDON_RUNNERS) - {"cluster-access"}
    if (not plan.ok or plan.observed.cluster is None
            or any(s.writes for s in plan.steps if is_arm_step(s.id))
            or not any(s.id in addon_ids for s in plan.steps)):
        return
    a = plan.answers
    try:
        kube_client = api_client(kubeconfig_for_this_run(conn, a.resource_group.name, a.cluster.name))
        try:
            done = in_place(conn, a, plan, kube_client, opts or AddonOptions())
        finally:
            kube_client.close()
    except Exception as exc:  # noqa: BLE001 - a plan still stands without this knowledge
        plan.notes.append(f"the add-ons could not be read now ({type(exc).__name__}: {exc}); their steps check "
                          "again before writing anything")
        return
    for step in plan.steps:
        if step.id in done:
            step.action, step.reason = "skip", done[step.id]


# ------------------------------------------------------------------------------------------ runners
def reporter(engine: "Engine", step: "Step", started: float) -> Callable[[str], None]:
    return lambda msg: engine.emit("progress", step, msg, started=started)


def poll_of(engine: "Engine", opts: AddonOptions) -> float:
    return max(0.01, min(float(getattr(engine.options, "poll_interval", opts.max_poll)), opts.max_poll))


def _kube(engine: "Engine", opts: AddonOptions) -> Any:
    from wizard.addons.kube import Kube

    return Kube(engine.kube_client(), timeout=opts.kube_timeout)


def run_gpu_metrics(engine: "Engine", step: "Step", started: float) -> dict[str, Any]:
    from wizard.addons import gpu_metrics as g

    kube = _kube(engine, options_of(engine))
    existing = kube.get(g.PATH)
    if g.setting(existing):
        return {"message": f"skipped: {g.NAME} already has {g.TARGET} = true", "state": "Unchanged"}
    if existing is None:
        kube.apply(g.default_configmap())
        msg = (f"created {g.NAMESPACE}/{g.NAME} with {g.TARGET} = true, other targets at the collector's defaults "
               "(ama-metrics picks it up within minutes)")
    else:
        # a merge patch of that one key (not an apply of a partial object, which would drop keys this field manager
        # applied before): every other setting stays as its owner left it
        kube.request("PATCH", g.PATH, body=g.patch_for(existing), query={"fieldManager": kube.field_manager},
                     content_type="application/merge-patch+json")
        msg = f"set {g.TARGET} = true in {g.NAMESPACE}/{g.NAME} (other settings kept)"
    return {"message": msg, "state": "Succeeded"}


def _kueue_wanted(answers: "HasKueue", opts: AddonOptions, report: Callable[[str], None]) -> tuple[Any, str]:
    """(the manifest when it is the shipped one or a local file, else None; the version wanted). A local manifest
    is read at once (cheap): its controller image says the version and its digest is compared with the installed one."""
    from wizard.addons import kueue as kq

    if kq.shipped_for(answers, opts.kueue_shipped) is not None or (
            answers.kueue.manifest and not kq.is_url(answers.kueue.manifest)):
        manifest = kq.load(answers, opts.kueue_release_base, opts.download_timeout, report, opts.kueue_shipped)
        return manifest, manifest.version or answers.kueue.version
    return None, answers.kueue.version


def _kueue_current(now: Any, wanted: str, manifest: Any) -> bool:
    return now.version == wanted and now.healthy and not (
        manifest is not None and now.sha256 and now.sha256 != manifest.sha256)


def _missing_queues(kube: Any, objs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from wizard.addons import kueue as kq

    return [o for o in objs if kube.get(kq.queue_path(o)) is None]


def run_gpu_stack(engine: "Engine", step: "Step", started: float) -> dict[str, Any]:
    from wizard.addons import gpu_stack

    inputs: GpuStackInputs = step.payload
    if not inputs.pools:
        return {"message": "skipped: AKS manages the GPU software of this pool", "state": "Unchanged"}
    opts = options_of(engine)
    kube = _kube(engine, opts)
    t0 = time.monotonic()
    res = gpu_stack.install(kube, list(inputs.taints), engine.sleep, reporter(engine, step, started),
                            opts.wait_timeout, poll_of(engine, opts))
    if not res["changed"]:
        return {"message": f"skipped: already applied and ready ({res['state']})", "state": "Unchanged"}
    return {"message": f"applied {len(res['applied'])} object(s); {res['state']} ({time.monotonic() - t0:.0f}s)",
            "state": "Installed", "version": gpu_stack.DEVICE_PLUGIN_VERSION}


def run_kueue(engine: "Engine", step: "Step", started: float) -> dict[str, Any]:
    from wizard.addons import kueue as kq

    opts = options_of(engine)
    report = reporter(engine, step, started)
    answers: KueueInputs = step.payload  # has the `kueue` section the kueue module reads
    kube = _kube(engine, opts)
    manifest, wanted = _kueue_wanted(answers, opts, report)
    now = kq.installed(kube)
    if _kueue_current(now, wanted, manifest):
        return {"message": f"skipped: already at {wanted}", "state": "Unchanged", "version": wanted}
    if now.version:
        report(f"Kueue {now.version} found ({now.detail}); installing {wanted}")
    if manifest is None:
        manifest = kq.load(answers, opts.kueue_release_base, opts.download_timeout, report, opts.kueue_shipped)
        wanted = manifest.version or wanted
    t0 = time.monotonic()
    n = kq.install(kube, manifest, wanted, engine.sleep, report, opts.wait_timeout, poll_of(engine, opts))
    verb = "upgraded to" if now.version and now.version != wanted else "installed"
    return {"message": f"Kueue {verb} {wanted}: {n} objects applied, controller Available, webhooks serving "
                       f"({time.monotonic() - t0:.0f}s)", "state": "Installed", "version": wanted,
            "sha256": manifest.sha256}


def run_kueue_queues(engine: "Engine", step: "Step", started: float) -> dict[str, Any]:
    from wizard.addons import kueue as kq
    from wizard.addons.kube import condition

    opts = options_of(engine)
    kube = _kube(engine, opts)
    report = reporter(engine, step, started)
    quota, note = kq.cluster_quota(kube, step.payload.gpu_nodes)
    objs = kq.default_queue_objects(quota)
    created = []
    for o in _missing_queues(kube, objs):
        kube.apply(o)
        created.append(f"{o['kind']} {o['metadata']['name']}")
    if not created:
        return {"message": "skipped: default queues already exist (left as they are)", "state": "Unchanged"}
    report("created " + ", ".join(created))
    cq_path = kq.queue_path(objs[1])
    kube.wait(f"ClusterQueue {kq.DEFAULT_CLUSTER_QUEUE} to be Active",
              lambda: ((ok := condition(kube.get(cq_path), "Active") == "True"), "Active" if ok else "not Active yet"),
              engine.sleep, opts.wait_timeout, poll_of(engine, opts), report)
    return {"message": f"created {', '.join(created)}; quota {note}", "state": "Succeeded"}


ADDON_RUNNERS: dict[str, Callable[["Engine", "Step", float], dict[str, Any]]] = {
    **MONITOR_RUNNERS,
    "gpu-stack": run_gpu_stack,
    "gpu-metrics": run_gpu_metrics,
    "kueue": run_kueue,
    "kueue-queues": run_kueue_queues,
    "cluster-access": run_access,
}
