"""Runs a plan: the one place that sequences work against Azure.

Steps whose dependencies are met run at the same time (preview flags register while the resource group is
created). Every step reports through events; every Azure write is journalled the moment Azure accepts it,
with its continuation token, so an interrupted run can re-attach to the operation instead of sending the
write again. Cancellation is checked between polls and never abandons track of an operation.
"""
from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from azure.core.exceptions import ServiceRequestError, ServiceResponseError

from wizard.events import Event, EventSink, log

if TYPE_CHECKING:
    from wizard.answers import Answers
    from wizard.azure.connection import ArmConnection
    from wizard.azure.errors import AzureFailure
    from wizard.journal import Journal
    from wizard.plan import Plan, Step

HEARTBEAT = 15.0  # seconds between progress events while Azure's reported status stays the same
# Step kinds implemented outside the engine (add-ons, teardown): kind -> runner(engine, step, started) ->
# outputs. A runner reports through engine.emit, waits with engine.sleep (cancel-aware) and reaches the
# cluster through engine.kube_client().
EXTRA_RUNNERS: dict[str, Callable[["Engine", "Step", float], dict[str, Any]]] = {}


class _Progress:
    """Emits a progress event when Azure's reported status changes, and a heartbeat while it does not."""

    def __init__(self, engine: "Engine", step: "Step", started: float) -> None:
        self.engine, self.step, self.started = engine, step, started
        self.last: str | None = None
        self.at = 0.0

    def __call__(self, status: str, message: str) -> None:
        now = time.monotonic()
        if status != self.last or now - self.at >= HEARTBEAT:
            self.engine.emit("progress", self.step, message, status=status, started=self.started)
            self.last, self.at = status, now


class Cancelled(Exception):
    """The user asked to stop; Azure operations already accepted keep running and stay in the journal."""


@dataclass
class RunOptions:
    kubeconfig_out: Path | None = None
    merge_kubeconfig: Path | None = None  # merge into this kubeconfig (with a backup) when asked
    poll_interval: float = 10.0  # our own reads of feature/provider/provisioning state
    tick: float = 0.5  # how often a waiting step checks for cancellation
    max_parallel: int = 4
    typical_scale: float = 1.0  # the simulator runs Azure's typical durations this much faster or slower
    addons: Any = None  # wizard.addons.AddonOptions (download location, timeouts); defaults when None


@dataclass
class RunResult:
    status: str  # done | failed | cancelled
    failed_step: str | None = None
    failure: "AzureFailure | None" = None
    kubeconfig: bytes | None = None
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)


class Engine:
    def __init__(self, conn: "ArmConnection", plan: "Plan", sink: EventSink, journal: "Journal | None" = None,
                 options: RunOptions | None = None):
        self.conn = conn
        self.plan = plan
        self.answers: "Answers" = plan.answers
        self.sink = sink
        self.journal = journal
        self.options = options or RunOptions()
        self.cancel_event = threading.Event()
        self.kubeconfig: bytes | None = None
        self._kube_client: Any = None

    def cancel(self) -> None:
        self.cancel_event.set()

    # ------------------------------------------------------------------------------------------ scheduling
    def run(self) -> RunResult:
        steps = {s.id: s for s in self.plan.steps}
        finished: set[str] = set()
        running: dict[Future[dict[str, Any]], "Step"] = {}
        result = RunResult("done")
        with ThreadPoolExecutor(max_workers=self.options.max_parallel, thread_name_prefix="step") as pool:
            while len(finished) < len(steps):
                if result.status == "done" and not self.cancel_event.is_set():
                    for step in steps.values():
                        if step.id in finished or step in running.values():
                            continue
                        if all(d in finished for d in step.deps):
                            if step.action == "skip":
                                self._skip(step)
                                finished.add(step.id)
                                continue
                            running[pool.submit(self._run_step, step)] = step
                if not running:
                    break
                done, _ = wait(list(running), timeout=self.options.tick, return_when=FIRST_COMPLETED)
                for fut in done:
                    step = running.pop(fut)
                    try:
                        result.outputs[step.id] = fut.result()
                        finished.add(step.id)
                    except Cancelled:
                        result.status = "cancelled"
                    except Exception as exc:  # noqa: BLE001 - every failure becomes a translated result
                        failure = self._fail(step, exc)
                        if result.status == "done":
                            result.status, result.failed_step, result.failure = "failed", step.id, failure
                if self.cancel_event.is_set() and result.status == "done":
                    result.status = "cancelled"
        result.kubeconfig = self.kubeconfig
        return result

    # ------------------------------------------------------------------------------------------ events
    def emit(self, kind: str, step: "Step", message: str = "", status: str | None = None,
             started: float | None = None, **data: Any) -> None:
        elapsed = time.monotonic() - started if started is not None else 0.0
        typical = step.typical * self.options.typical_scale if step.typical else None
        event = Event(kind, step.id, message, status, round(elapsed, 1), typical, data)  # type: ignore[arg-type]
        failure = data.get("failure") or {}
        log.log(logging.ERROR if kind == "failed" else logging.DEBUG if kind in ("progress", "log") else logging.INFO,
                "%s %s: %s%s%s", kind, step.id, message, f" [{status}]" if status else "",
                f"\n{failure['rendered']}" if failure.get("rendered") else "")
        self.sink(event)

    def sleep(self, seconds: float) -> None:
        """Wait, or raise Cancelled as soon as the user cancels."""
        if self.cancel_event.wait(seconds):
            raise Cancelled()

    def kube_client(self) -> Any:
        """A kubernetes ApiClient for the cluster, from the kubeconfig step's in-memory kubeconfig."""
        if self.kubeconfig is None:
            raise RuntimeError("no kubeconfig yet: the kubeconfig step must run first")
        if self._kube_client is None:
            from wizard.kubeconfig import api_client

            self._kube_client = api_client(self.kubeconfig)
        return self._kube_client

    def _journal(self, step: "Step", event: str, **fields: Any) -> None:
        if self.journal is not None:
            self.journal.append(step.id, event, **fields)

    def _skip(self, step: "Step") -> None:
        self._journal(step, "skipped", reason=step.reason)
        self.emit("skipped", step, f"{step.title} ({step.reason})" if step.reason else step.title)

    def _fail(self, step: "Step", exc: BaseException) -> "AzureFailure":
        from wizard.azure.errors import translate

        failure = translate(exc)
        # an operation still running in Azure stays open in the journal ("interrupted" is not terminal)
        event = "interrupted" if getattr(exc, "operation_in_flight", False) else "failed"
        self._journal(step, event, error=failure.to_dict(), request_id=failure.request_id,
                      correlation_id=failure.correlation_id)
        self.emit("failed", step, failure.what, status=failure.code,
                   failure=failure.to_dict() | {"rendered": failure.render()})
        return failure

    # ------------------------------------------------------------------------------------------ steps
    def _run_step(self, step: "Step") -> dict[str, Any]:
        if self.cancel_event.is_set():
            raise Cancelled()
        started = time.monotonic()
        self._journal(step, "started", action=step.action)
        self.emit("started", step, step.title, started=started, az=step.az)
        kind = step.id.split(":")[0]
        builtin: dict[str, Callable[["Step", float], dict[str, Any]]] = {
            "resource-group": self._resource_group,
            "feature": self._feature,
            "provider": self._provider,
            "cluster": self._cluster,
            "gpu-pool": self._gpu_pool,
            "kubeconfig": self._kubeconfig,
        }
        if kind in builtin:
            out = builtin[kind](step, started)
        else:
            out = EXTRA_RUNNERS[kind](self, step, started)
        self._journal(step, "done", created=True if step.created else None,
                      **{k: v for k, v in out.items() if k in ("resource_id", "request_id", "correlation_id",
                                                               "state", "flag", "registered", "created_ids")})
        self.emit("done", step, out.get("message", step.title), status=out.get("state"), started=started)
        return out

    def _resource_group(self, step: "Step", started: float) -> dict[str, Any]:
        from wizard.azure.clusters import RequestIds
        from wizard.azure.groups import create_group

        ids = RequestIds()
        a = self.answers
        group = create_group(self.conn, a.resource_group.name, a.azure.location, dict(a.resource_group.tags),
                             raw_response_hook=ids)
        return {"resource_id": group.id, "request_id": ids.first_request_id, "correlation_id": ids.correlation_id,
                "state": group.properties.provisioning_state if group.properties else "Succeeded",
                "message": f"resource group {group.name} created"}

    def _wait_state(self, step: "Step", started: float, read: Callable[[], str], what: str) -> str:
        progress = _Progress(self, step, started)
        while True:
            state = read()
            progress(state, f"Azure reports {what} {state}")
            if state.lower() == "registered":
                return state
            self.sleep(self.options.poll_interval)

    def _feature(self, step: "Step", started: float) -> dict[str, Any]:
        from wizard.azure.features import feature_state, register_feature

        flag = step.payload
        state = register_feature(self.conn, flag)
        self._journal(step, "operation", flag=flag, state=state)
        state = self._wait_state(step, started, lambda: feature_state(self.conn, flag), flag)
        return {"flag": flag, "state": state, "registered": True, "message": f"{flag} is {state}"}

    def _provider(self, step: "Step", started: float) -> dict[str, Any]:
        from wizard.azure.features import provider_state, register_provider

        ns = step.payload
        register_provider(self.conn, ns)
        state = self._wait_state(step, started, lambda: provider_state(self.conn, ns), ns)
        return {"state": state, "message": f"{ns} is {state}"}

    def _cluster(self, step: "Step", started: float) -> dict[str, Any]:
        from wizard.azure import clusters
        from wizard.spec import updated_cluster

        a = self.answers
        rg, name = a.resource_group.name, a.cluster.name
        if step.action == "attach":
            token = (step.payload or {}).get("continuation_token") if isinstance(step.payload, dict) else None
            if token:
                return self._follow(step, started, lambda **kw: clusters.begin_cluster(
                    self.conn, rg, name, continuation_token=token, **kw), "re-attached to")
            return self._follow_state(step, started, lambda: clusters.get_cluster(self.conn, rg, name))
        if step.action == "recreate":  # consent was given (--recreate-failed): the failed cluster goes first
            self.emit("log", step, f"deleting the failed cluster {name}", started=started)
            poller = self.conn.aks.managed_clusters.begin_delete(rg, name)
            while not poller.done():
                self.sleep(self.options.tick)
            poller.result()
            self._journal(step, "deleted", created_by="cluster")
        if step.action in ("create", "recreate"):
            body = step.payload
        else:  # update or retry: start from what Azure has so nothing is dropped
            existing = clusters.get_cluster(self.conn, rg, name)
            body = updated_cluster(existing, a, self.plan.resolved)  # type: ignore[arg-type]
        return self._follow(step, started, lambda **kw: clusters.begin_cluster(self.conn, rg, name, body, **kw),
                            "accepted")

    def _gpu_pool(self, step: "Step", started: float) -> dict[str, Any]:
        from wizard.azure import clusters

        a = self.answers
        assert a.gpu_pool is not None
        rg, name, pool = a.resource_group.name, a.cluster.name, a.gpu_pool.name
        if step.action == "attach":
            token = (step.payload or {}).get("continuation_token") if isinstance(step.payload, dict) else None
            if token:
                return self._follow(step, started, lambda **kw: clusters.begin_pool(
                    self.conn, rg, name, pool, continuation_token=token, **kw), "re-attached to")
            return self._follow_state(step, started, lambda: clusters.get_pool(self.conn, rg, name, pool))
        return self._follow(step, started, lambda **kw: clusters.begin_pool(
            self.conn, rg, name, pool, step.payload, **kw), "accepted")

    def _follow(self, step: "Step", started: float, begin: Callable[..., Any], verb: str) -> dict[str, Any]:
        """Start (or re-attach to) a long-running operation and follow it to the end, reporting Azure's status."""
        from wizard.azure.clusters import RequestIds

        ids = RequestIds()
        poller = begin(raw_response_hook=ids)
        token = poller.continuation_token()
        self._journal(step, "operation", continuation_token=token, request_id=ids.first_request_id,
                      correlation_id=ids.correlation_id, creates=step.created or None)
        self.emit("log", step, f"Azure {verb} the request" +
                  (f" (request id {ids.first_request_id})" if ids.first_request_id else ""), started=started,
                  request_id=ids.first_request_id)
        try:
            resource = self._wait_poller(step, started, poller, token)
        except (ServiceRequestError, ServiceResponseError) as exc:
            # Azure accepted the operation and it goes on there; only our view of it was lost. Keep it open in
            # the journal so the next run re-attaches with the continuation token instead of writing again.
            exc.operation_in_flight = True  # type: ignore[attr-defined]
            raise
        state = getattr(resource, "provisioning_state", None) or "Succeeded"
        return {"resource_id": resource.id, "request_id": ids.first_request_id,
                "correlation_id": ids.correlation_id, "state": state,
                "message": f"{step.id} {state} ({resource.name})"}

    def _wait_poller(self, step: "Step", started: float, poller: Any, token: str) -> Any:
        progress = _Progress(self, step, started)
        while not poller.done():
            if self.cancel_event.is_set():
                self._journal(step, "interrupted", continuation_token=token)
                raise Cancelled()
            status = poller.status()
            progress(status, f"Azure reports the operation {status}")
            poller.wait(self.options.tick)
        return poller.result()

    def _follow_state(self, step: "Step", started: float, read: Callable[[], Any]) -> dict[str, Any]:
        """Wait on a resource whose operation was started elsewhere (no continuation token): poll its state."""
        from wizard.plan import NON_TERMINAL

        progress = _Progress(self, step, started)
        while True:
            resource = read()
            state = getattr(resource, "provisioning_state", None) or "Succeeded"
            progress(state, f"Azure reports provisioning state {state}")
            if state.lower() not in NON_TERMINAL:
                if state.lower() != "succeeded":
                    raise RuntimeError(f"{step.id} ended {state}")
                return {"resource_id": resource.id, "state": state, "message": f"{step.id} {state}"}
            self.sleep(self.options.poll_interval)

    def _kubeconfig(self, step: "Step", started: float) -> dict[str, Any]:
        from wizard.azure.clusters import user_kubeconfig
        from wizard.kubeconfig import merge, write_private

        a = self.answers
        self.kubeconfig = user_kubeconfig(self.conn, a.resource_group.name, a.cluster.name)
        said = ["kubeconfig fetched (kept in memory)"]
        if self.options.kubeconfig_out:
            write_private(self.options.kubeconfig_out, self.kubeconfig)
            said = [f"kubeconfig written to {self.options.kubeconfig_out} (mode 0600)"]
        if self.options.merge_kubeconfig:
            backup = merge(self.kubeconfig, self.options.merge_kubeconfig)
            said.append(f"merged into {self.options.merge_kubeconfig}" +
                        (f" (previous version kept as {backup})" if backup else ""))
        return {"message": "; ".join(said)}


from wizard.addons import ADDON_RUNNERS  # noqa: E402 - registered once the engine exists (no import cycle)

EXTRA_RUNNERS.update(ADDON_RUNNERS)
