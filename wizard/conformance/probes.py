"""Opt-in probes: short-lived workloads in one throw-away namespace `aicv-<random>` (labelled, deleted in a
`finally` by the runner, even on Ctrl-C), each wait bounded by VerifyOptions.probe_timeout. Cluster-scoped
objects (Kueue ResourceFlavor/ClusterQueue) carry the same label. A later run deletes whatever an interrupted run
left (cleanup_leftovers, by label selector)."""
from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, TypeVar, cast

from .context import Ctx
from .kube import Kube, KubeFailure
from .model import SubCheck

PROBE_LABEL = "aks-ai-wizard.io/conformance-probe"
BUSYBOX = "mcr.microsoft.com/cbl-mariner/busybox:2.0"
AGNHOST = "registry.k8s.io/e2e-test-images/agnhost:2.39"
KUEUE = "kueue.x-k8s.io"

T = TypeVar("T")


class Cancelled(Exception):
    pass


@dataclass
class ProbeResult:
    """ok: True proven, False disproven (the behaviour was seen to be missing), None not run or, with
    inconclusive, run but undecided (a timeout without a decisive observation, an unreadable result, an API
    error): never reported as a failure."""
    ok: bool | None
    message: str = ""
    evidence: list[str] = field(default_factory=list)
    fix: str | None = None
    subchecks: list[SubCheck] = field(default_factory=list)
    inconclusive: bool = False

    @classmethod
    def undecided(cls, message: str, evidence: list[str] | None = None) -> "ProbeResult":
        return cls(None, message, list(evidence or []), inconclusive=True)


def cleanup_leftovers(kube: Kube) -> list[str]:
    """Delete probe namespaces and cluster-scoped probe objects an earlier (interrupted) run left behind."""
    removed = []
    sel = {"labelSelector": PROBE_LABEL}
    try:
        for ns in (kube.request("GET", "/api/v1/namespaces", sel).get("items") or []):
            name = ns["metadata"]["name"]
            if ns.get("status", {}).get("phase") == "Terminating":
                continue
            _delete(kube, f"/api/v1/namespaces/{name}")
            removed.append(f"namespace {name}")
    except KubeFailure:
        pass
    for plural in ("clusterqueues", "resourceflavors"):
        for version in ("v1beta1", "v1beta2"):
            try:
                items = kube.request("GET", f"/apis/{KUEUE}/{version}/{plural}", sel).get("items") or []
            except KubeFailure:
                continue
            for o in items:
                _delete(kube, f"/apis/{KUEUE}/{version}/{plural}/{o['metadata']['name']}")
                removed.append(f"{plural} {o['metadata']['name']}")
            break
    return removed


def _delete(kube: Kube, path: str) -> None:
    try:
        kube.request("DELETE", path, body={"kind": "DeleteOptions", "apiVersion": "v1",
                                           "propagationPolicy": "Background"})
    except KubeFailure:
        pass


class ProbeRunner:
    def __init__(self, ctx: Ctx):
        self.ctx = ctx
        self.kube: Kube = ctx.k()
        self.opts = ctx.opts
        self.suffix = secrets.token_hex(3)
        self.ns = f"aicv-{self.suffix}"
        self._ns_lock = threading.Lock()
        self._ns_ready = False
        self._closed = False
        self._cluster_objects: list[str] = []
        self._lock = threading.Lock()
        self.gpu_lock = threading.Lock()  # GPU-using probes run one after the other
        self.left_over: list[str] = []
        self._evidence = threading.local()
        self.log: list[str] = []

    # ----------------------------------------------------------------- plumbing
    def start(self) -> None:
        self.left_over = cleanup_leftovers(self.kube)

    def namespace(self) -> str:
        with self._ns_lock:
            if self._closed:
                raise Cancelled("verification finished or interrupted")
            if not self._ns_ready:
                self.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {
                    "name": self.ns, "labels": {PROBE_LABEL: "true", "app.kubernetes.io/managed-by": "aks-ai-wizard"}}})
                self._ns_ready = True
        return self.ns

    def cleanup(self) -> list[str]:
        """Delete what the probes created; afterwards no probe creates anything (a worker thread still running
        after Ctrl-C gets Cancelled)."""
        done = []
        with self._ns_lock, self._lock:
            self._closed = True
            objs = list(self._cluster_objects)
        for path in reversed(objs):
            _delete(self.kube, path)
            done.append(path)
        if self._ns_ready:  # creation finished under _ns_lock before _closed was set
            _delete(self.kube, f"/api/v1/namespaces/{self.ns}")
            done.append(f"namespace {self.ns}")
        return done

    def post(self, path: str, body: dict[str, Any], dry_run: bool = False, cluster_scoped: bool = False) -> dict[str, Any]:
        body.setdefault("metadata", {}).setdefault("labels", {})[PROBE_LABEL] = "true"
        if self._closed or self.ctx.cancel.is_set():
            raise Cancelled("verification finished or interrupted")
        if cluster_scoped and not dry_run:
            with self._lock:  # registered before cleanup can run, or not created at all
                if self._closed:
                    raise Cancelled("verification finished or interrupted")
                res: dict[str, Any] = self.kube.request("POST", path, None, body)
                self._cluster_objects.append(f"{path}/{body['metadata']['name']}")
            return res
        return cast(dict[str, Any], self.kube.request("POST", path, {"dryRun": "All"} if dry_run else None, body))

    def delete(self, path: str) -> None:
        _delete(self.kube, path)

    def get(self, path: str, query: dict[str, Any] | None = None) -> Any:
        return self.kube.request("GET", path, query)

    def wait(self, what: str, fn: Callable[[], T | None], timeout: float | None = None) -> T:
        """Poll fn until it returns a truthy value; bounded; stops on cancel."""
        deadline = time.monotonic() + (timeout if timeout is not None else self.opts.probe_timeout)
        last_exc: Exception | None = None
        while True:
            if self.ctx.cancel.is_set():
                raise Cancelled("cancelled")
            try:
                v = fn()
                if v:
                    return v
            except KubeFailure as exc:
                if exc.kind not in ("notfound",):
                    raise
                last_exc = exc
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{what}: not within {timeout if timeout is not None else self.opts.probe_timeout:g} s"
                                   + (f" ({last_exc})" if last_exc else ""))
            self.ctx.cancel.wait(self.opts.poll_interval)

    def run(self, name: str) -> ProbeResult:
        from .requirements import REGISTRY

        spec = REGISTRY.get(name)
        if spec is None or spec.probe is None:
            return ProbeResult(None, f"no probe for {name}")
        if spec.billable and name not in self.opts.billable:
            return ProbeResult(None, f"billable probe not asked for (it creates cloud resources): add "
                                     f"--billable-probe {name}")
        ev: list[str] = []
        subs: list[SubCheck] = []
        self._evidence.ev = ev
        self._evidence.subs = subs
        try:
            res = spec.probe(self)
        except Cancelled:
            res = ProbeResult(None, "cancelled")
        except TimeoutError as exc:
            res = ProbeResult.undecided(str(exc))
        except KubeFailure as exc:
            if exc.kind in ("notfound", "invalid", "denied", "conflict") and exc.status:
                res = ProbeResult(False, exc.describe())
            else:  # unreachable, timeout, 401/403, 5xx, unreadable answers: the probe could not decide
                res = ProbeResult.undecided(exc.describe())
                res.fix = exc.fix() or None
        res.evidence = ev + [e for e in res.evidence if e not in ev]
        res.subchecks = subs + [x for x in res.subchecks if x not in subs]
        return res

    @property
    def trail(self) -> list[str]:
        """The evidence list of the probe running on this thread."""
        return getattr(self._evidence, "ev", [])

    def sub(self, name: str, ok: bool | None, message: str = "") -> bool | None:
        """Record a sub-check (named as the official suite's subtest) of the probe running on this thread."""
        getattr(self._evidence, "subs", []).append(
            SubCheck(name, "pass" if ok else ("skip" if ok is None else "fail"), message))
        return ok

    def ev(self, line: str) -> None:
        """Evidence of the probe running on this thread (kept when the probe fails midway)."""
        self.trail.append(line)
