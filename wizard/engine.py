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
from datetime import datetime, timedelta, timezone
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

from wizard.azure.clusters import RequestIds
from wizard.events import Event, EventSink, log
from wizard.render import fmt_seconds

if TYPE_CHECKING:
    from wizard.azure.connection import ArmConnection
    from wizard.failure import AzureFailure
    from wizard.journal import Journal
    from wizard.plan_model import ArmWrite, GroupInputs, KubeconfigInputs, Plan, Step

HEARTBEAT = 15.0  # seconds between progress events while Azure's reported status stays the same
# What runs a step, by its kind (the step id before ":"): runner(engine, step, started) -> outputs. A runner
# reports through engine.emit, waits with engine.sleep (cancel-aware) and reaches the cluster through
# engine.kube_client(). The caller hands the engine its whole table (wizard.runners.runners()); the engine
# knows no add-on or teardown module.
Runner = Callable[["Engine", "Step", float], dict[str, Any]]


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


CLOCK_SKEW = timedelta(seconds=60)  # between this machine and Azure, when comparing operation start times


def _our_operation(busy: Any, ids: RequestIds, sent_at: datetime, state: str | None) -> bool:
    """Whether the operation that refused our PUT is the one our own first attempt started. Only possible when
    an attempt lost its response (the SDK then re-sent the PUT); never when AKS dates the operation before our
    send. The resource still busy is enough; once it is done, AKS must date the operation after our send."""
    from wizard.azure.clusters import in_progress

    if not ids.lost_response or state is None:
        return False
    if busy.started is not None:
        return bool(busy.started >= sent_at.replace(microsecond=0) - CLOCK_SKEW)
    return in_progress(state)


def _timed_out(what: str, why: str, action: str, code: str | None = None, request_id: str | None = None) -> Exception:
    from wizard.failure import AzureFailure, AzureLayerError

    return AzureLayerError(AzureFailure("timeout", code, what, why, action, request_id, None, None, "", None))


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
    # longest waits, in seconds of wall time: a preview flag can take an hour to register; another client's
    # cluster operation (an upgrade) can take as long
    registration_timeout: float = 5400.0
    conflict_timeout: float = 3600.0
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
                 options: RunOptions | None = None, runners: Mapping[str, Runner] | None = None):
        self.conn = conn
        self.runners: Mapping[str, Runner] = BUILTIN_RUNNERS if runners is None else runners
        self.plan = plan
        self.sink = sink
        self.journal = journal
        self.options = options or RunOptions()
        self.cancel_event = threading.Event()
        # while this plan's provider (re-)registration runs, ARM refuses every request of the namespace
        # (MissingSubscriptionRegistration); a write or poll that meets it waits for the provider step to end
        self.provider_ended = threading.Event()
        if not any(s.id == "provider" and s.writes for s in plan.steps):
            self.provider_ended.set()
        self._refusals_after_provider: set[str] = set()
        self.kubeconfig: bytes | None = None
        self._kube_client: Any = None

    def cancel(self) -> None:
        self.cancel_event.set()

    # ------------------------------------------------------------------------------------------ scheduling
    def run(self) -> RunResult:
        from wizard.plan_model import check_steps

        check_steps(self.plan.steps)
        self._check_runners()
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
        if result.status == "done" and len(finished) < len(steps):  # done means every step ended
            result.status = "failed"
            result.failed_step = next(s for s in steps if s not in finished)
        result.kubeconfig = self.kubeconfig
        return result

    def _check_runners(self) -> None:
        """Every step to run has a runner in the table, checked before anything runs (not halfway through)."""
        from wizard.plan_model import PlanError

        missing = sorted({s.id.split(":")[0] for s in self.plan.steps if s.action != "skip"} - set(self.runners))
        if missing:
            raise PlanError(f"no runner for step kind(s) {', '.join(missing)}: pass wizard.runners.runners()")

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
        if step.created:  # ownership follows this intent, whatever becomes of the write (teardown honours it)
            self._journal(step, "intent", creates=True, action=step.action)
        self._journal(step, "started", action=step.action, defers=step.defers)
        self.emit("started", step, step.title, started=started, az=step.az)
        kind = step.id.split(":")[0]
        try:
            out = self.runners[kind](self, step, started)
        finally:
            if kind == "provider":
                self.provider_ended.set()
        self._journal(step, "done", created=True if step.created else None,
                      **{k: v for k, v in out.items() if k in ("resource_id", "request_id", "correlation_id",
                                                               "state", "flag", "registered", "created_ids")})
        self.emit("done", step, out.get("message", step.title), status=out.get("state"), started=started)
        return out

    def _resource_group(self, step: "Step", started: float) -> dict[str, Any]:
        from wizard.azure.groups import create_group

        ids = RequestIds()
        g: GroupInputs = step.payload
        group = create_group(self.conn, g.name, g.location, g.tags, raw_response_hook=ids)
        return {"resource_id": group.id, "request_id": ids.first_request_id, "correlation_id": ids.correlation_id,
                "state": group.properties.provisioning_state if group.properties else "Succeeded",
                "message": f"resource group {group.name} created"}

    @staticmethod
    def _deadline(seconds: float) -> float:
        """A monotonic deadline: the user's patience is wall time, also when the simulator runs Azure faster."""
        return time.monotonic() + seconds

    def _wait_state(self, step: "Step", started: float, read: Callable[[], str], what: str, later: str,
                    state: str) -> str:
        """Poll a registration until Registered, up to the registration deadline; past it, stop with what to
        run later (the registration itself goes on in Azure). `state`: what the register call answered; the
        first read comes one poll interval after it (reading at once only costs a request)."""
        from wizard.azure.features import wait_registered

        progress = _Progress(self, step, started)

        def timed_out(state: str) -> Exception:
            return _timed_out(
                f"{what} was still {state} after {fmt_seconds(time.monotonic() - started)} "
                f"(typically {fmt_seconds((step.typical or 0) * self.options.typical_scale)}).",
                "Azure registers preview flags and providers in the background; some take an hour or more. "
                "The registration goes on in Azure without this run.",
                f"Check it later with `{later}`; once it says Registered, run the same command again "
                "(finished steps are not repeated). A longer wait: --registration-timeout MINUTES.")

        return wait_registered(state, read, self.sleep, self.options.poll_interval,
                               self._deadline(self.options.registration_timeout),
                               lambda s: progress(s, f"Azure reports {what} {s}"), timed_out)

    def _feature(self, step: "Step", started: float) -> dict[str, Any]:
        from wizard.azure.features import feature_state, register_feature, split_flag

        flag = step.payload
        state = register_feature(self.conn, flag)
        self._journal(step, "operation", flag=flag, state=state)
        ns, name = split_flag(flag)
        state = self._wait_state(step, started, lambda: feature_state(self.conn, flag), flag,
                                 f"az feature show --namespace {ns} --name {name} --query properties.state", state)
        return {"flag": flag, "state": state, "registered": True, "message": f"{flag} is {state}"}

    def _provider(self, step: "Step", started: float) -> dict[str, Any]:
        from wizard.azure.features import provider_state, register_provider

        ns = step.payload
        state = register_provider(self.conn, ns)
        state = self._wait_state(step, started, lambda: provider_state(self.conn, ns), ns,
                                 f"az provider show --namespace {ns} --query registrationState", state)
        return {"state": state, "message": f"{ns} is {state}"}

    def _cluster(self, step: "Step", started: float) -> dict[str, Any]:
        from wizard.azure import clusters

        w: ArmWrite = step.payload
        rg, name = w.resource_group, w.cluster
        if step.action == "attach":
            token = (w.in_flight or {}).get("continuation_token")
            if token:
                return self._follow(step, started, lambda **kw: clusters.begin_cluster(
                    self.conn, rg, name, **{"continuation_token": token, **kw}), "re-attached to")
            return self._follow_state(step, started, lambda: clusters.get_cluster(self.conn, rg, name))
        if step.action == "recreate":  # consent was given (--recreate-failed): the failed cluster goes first
            self.emit("log", step, f"deleting the failed cluster {name}", started=started)
            poller = self.conn.aks.managed_clusters.begin_delete(rg, name)
            while not poller.done():
                self.sleep(self.options.tick)
            poller.result()
            self._journal(step, "deleted", created_by="cluster")
        body = w.body
        if w.update is not None:  # update or retry: start from what Azure has so nothing is dropped
            body = w.update(self._read(step, started, lambda: clusters.get_cluster(self.conn, rg, name)))
        return self._write(step, started, lambda **kw: clusters.begin_cluster(self.conn, rg, name, body, **kw),
                           lambda: clusters.get_cluster(self.conn, rg, name), w)

    def _gpu_pool(self, step: "Step", started: float) -> dict[str, Any]:
        from wizard.azure import clusters

        w: ArmWrite = step.payload
        rg, name, pool = w.resource_group, w.cluster, str(w.pool)
        if step.action == "attach":
            token = (w.in_flight or {}).get("continuation_token")
            if token:
                return self._follow(step, started, lambda **kw: clusters.begin_pool(
                    self.conn, rg, name, pool, **{"continuation_token": token, **kw}), "re-attached to")
            return self._follow_state(step, started, lambda: clusters.get_pool(self.conn, rg, name, pool))
        return self._write(step, started, lambda **kw: clusters.begin_pool(
            self.conn, rg, name, pool, w.body, **kw), lambda: clusters.get_pool(self.conn, rg, name, pool), w)

    def _write(self, step: "Step", started: float, begin: Callable[..., Any], read: Callable[[], Any],
               target: "ArmWrite") -> dict[str, Any]:
        """Send a cluster or pool PUT and follow it. AKS refuses a write with 409 while another operation runs
        on the cluster or pool: that operation is shown and waited out (bounded), then the PUT is sent once
        more. When the SDK had to re-send our PUT after a dropped connection, the 409 comes from the operation
        our first attempt started: that one is followed to the end instead of writing again."""
        from wizard.azure.clusters import busy_of, state_of

        deadline = self._deadline(self.options.conflict_timeout)
        while True:
            sent_at = datetime.now(timezone.utc)
            self._journal(step, "intent", creates=step.created or None)
            ids = RequestIds()
            try:
                return self._follow(step, started, begin, "accepted", ids)
            except HttpResponseError as exc:
                if self._provider_refused(step, started, exc):
                    self._journal(step, "refused", code="MissingSubscriptionRegistration",
                                  request_id=ids.first_request_id)
                    continue  # the provider step has ended: send the PUT again
                busy = busy_of(exc)
                if busy is None:
                    raise
                state = state_of(read())
                if _our_operation(busy, ids, sent_at, state):
                    self._journal(step, "operation", request_id=busy.request_id, operation_id=busy.operation_id,
                                  creates=step.created or None, reattached="lost response")
                    self.emit("log", step, f"the connection dropped after Azure accepted the request; following "
                              f"that operation ({target.what} is {state})", started=started)
                    return self._follow_state(step, started, read)
                self._journal(step, "refused", code=busy.code, request_id=busy.request_id,
                              operation_id=busy.operation_id)
                self._wait_out(step, started, busy, read, target, deadline)

    def _wait_out(self, step: "Step", started: float, busy: Any, read: Callable[[], Any], target: "ArmWrite",
                  deadline: float) -> None:
        """Wait, showing what runs, until the other operation on the cluster or pool has ended; past the deadline
        stop with a clear message (our PUT is then not sent)."""
        from wizard.azure.clusters import in_progress, latest_operation, state_of

        rg, cluster, what = target.resource_group, target.cluster, target.what
        progress = _Progress(self, step, started)
        waited_from = deadline - self.options.conflict_timeout  # when this step's first PUT was about to go
        op = f"operation {busy.operation_id}" if busy.operation_id else "another operation"
        since = f", started {busy.started:%Y-%m-%d %H:%M:%S} UTC" if busy.started else ""
        self.emit("log", step, f"Azure refused the request ({busy.code}): {op}{since} is running on {what}; "
                  "waiting for it to end, then sending ours", started=started, request_id=busy.request_id)
        while True:  # also bounds repeated refusals when the resource reads as idle while AKS still refuses
            if time.monotonic() >= deadline:
                raise _timed_out(
                    f"Another operation on {what} was still running after "
                    f"{fmt_seconds(time.monotonic() - waited_from)} of waiting ({op}{since}); Azure accepted no "
                    "request of this run.",
                    "AKS runs one operation at a time on a cluster or pool and refuses others with 409.",
                    f"Wait for it (`az aks show -g {rg} -n {cluster} --query provisioningState`; "
                    f"`az aks operation show-latest -g {rg} -n {cluster}`) and run the same command again, or stop "
                    f"it with `az aks operation-abort -g {rg} -n {cluster}`. A longer wait: --conflict-timeout "
                    "MINUTES.", code=busy.code, request_id=busy.request_id)
            # Retry-After when Azure names it, else our own polling pace; always at least one pause before re-sending
            self.sleep(max(self.options.poll_interval, (busy.retry_after or 0) * self.options.typical_scale))
            state = state_of(read())
            latest = latest_operation(self.conn, rg, cluster, target.pool)
            said = f"{what} is {state or 'not there'}"
            if latest:
                pct = latest.get("percentComplete")
                said += (f"; latest operation {latest.get('name')} {latest.get('status')}"
                         + (f" ({pct:.0f}%)" if isinstance(pct, (int, float)) else ""))
            progress(state or "absent", f"waiting for another operation: {said}")
            if not in_progress(state):
                return

    def _follow(self, step: "Step", started: float, begin: Callable[..., Any], verb: str,
                ids: "RequestIds | None" = None) -> dict[str, Any]:
        """Start (or re-attach to) a long-running operation and follow it to the end, reporting Azure's status."""
        ids = ids or RequestIds()
        poller = begin(raw_response_hook=ids)
        token = poller.continuation_token()
        self._journal(step, "operation", continuation_token=token, request_id=ids.first_request_id,
                      correlation_id=ids.correlation_id, creates=step.created or None)
        self.emit("log", step, f"Azure {verb} the request" +
                  (f" (request id {ids.first_request_id})" if ids.first_request_id else ""), started=started,
                  request_id=ids.first_request_id)
        try:
            while True:
                try:
                    resource = self._wait_poller(step, started, poller, token)
                    break
                except HttpResponseError as exc:
                    if not token or not self._provider_refused(step, started, exc):
                        raise
                    poller = begin(continuation_token=token)  # the operation went on: follow it again
        except HttpResponseError as exc:
            exc.operation_ids = ids  # type: ignore[attr-defined] # the PUT's request id and AKS's operation id
            raise
        except (ServiceRequestError, ServiceResponseError) as exc:
            # Azure accepted the operation and it goes on there; only our view of it was lost. Keep it open in
            # the journal so the next run re-attaches with the continuation token instead of writing again.
            exc.operation_in_flight = True  # type: ignore[union-attr]
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
        """Wait on a resource whose operation has no continuation token here (started by an earlier run, or by
        an attempt whose response was lost): poll its provisioning state to the end."""
        from wizard.azure.clusters import in_progress, state_of

        progress = _Progress(self, step, started)
        while True:
            resource = self._read(step, started, read)
            state = state_of(resource)
            if state is None:
                raise RuntimeError(f"{step.id}: the resource is gone while its operation was followed")
            progress(state, f"Azure reports provisioning state {state}")
            if not in_progress(state):
                if state.lower() != "succeeded":
                    raise RuntimeError(f"{step.id} ended {state}")
                return {"resource_id": resource.id, "state": state, "message": f"{step.id} {state}"}
            self.sleep(self.options.poll_interval)

    def _provider_refused(self, step: "Step", started: float, exc: BaseException) -> bool:
        """Whether ARM refused a request because this plan's provider registration runs (the staged create goes on
        meanwhile): then wait until that step has ended and say so (True: send, poll or read again). Once the
        provider step has ended, one such refusal per step is still waited out (Azure's view settles); any
        other, or one with no provider step in the plan, is a failure as before."""
        from wizard.azure.errors import error_code

        if error_code(exc) != "MissingSubscriptionRegistration":
            return False
        if self.provider_ended.is_set():
            if step.id in self._refusals_after_provider or not any(s.id == "provider" for s in self.plan.steps):
                return False
            self._refusals_after_provider.add(step.id)
        else:
            self.emit("log", step, "Azure refuses requests to the resource provider while it re-registers; "
                      "waiting for the registration to end", started=started)
        while not self.provider_ended.wait(self.options.tick):
            if self.cancel_event.is_set():
                raise Cancelled()
        self.sleep(min(self.options.poll_interval, 1.0))
        return True

    def _read(self, step: "Step", started: float, read: Callable[[], Any]) -> Any:
        """A read of the cluster or a pool; one refused while the provider re-registers is read again after it."""
        while True:
            try:
                return read()
            except HttpResponseError as exc:
                if not self._provider_refused(step, started, exc):
                    raise

    def _kubeconfig(self, step: "Step", started: float) -> dict[str, Any]:
        from wizard.azure.clusters import user_kubeconfig
        from wizard.kubeconfig import merge, write_private

        from wizard.azure.entra import signed_in, uses_entra

        k: KubeconfigInputs = step.payload
        raw = user_kubeconfig(self.conn, k.resource_group, k.cluster)
        self.kubeconfig = signed_in(raw, self.conn.credential)  # with Entra ID: a token, in memory only
        said = ["kubeconfig fetched (kept in memory)"]
        if uses_entra(raw):
            said.append("signed in through Microsoft Entra ID (the kubeconfig Azure returned uses kubelogin)")
        if k.private:
            from wizard.azure.private import check_reachable

            check_reachable(self.kube_client(), k.resource_group, k.cluster)
            said.append("the private API server answers from here")
        if self.options.kubeconfig_out:
            write_private(self.options.kubeconfig_out, raw)
            said[0] = f"kubeconfig written to {self.options.kubeconfig_out} (mode 0600)"
        if self.options.merge_kubeconfig:
            backup = merge(raw, self.options.merge_kubeconfig)
            said.append(f"merged into {self.options.merge_kubeconfig}" +
                        (f" (previous version kept as {backup})" if backup else ""))
        return {"message": "; ".join(said)}


# The kinds the engine runs itself (Azure Resource Manager writes and the kubeconfig); wizard.runners adds the rest.
BUILTIN_RUNNERS: dict[str, Runner] = {
    "resource-group": Engine._resource_group,
    "feature": Engine._feature,
    "provider": Engine._provider,
    "cluster": Engine._cluster,
    "preview-fields": Engine._cluster,  # the update that sends what a staged create deferred
    "gpu-pool": Engine._gpu_pool,
    "kubeconfig": Engine._kubeconfig,
}
