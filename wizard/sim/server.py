"""The embedded simulated Azure: an HTTP server on 127.0.0.1 that the real SDK clients talk to.

`Simulator` owns the ThreadingHTTPServer (daemon threads: the SDK polls from a daemon thread), the request
log, the faults, persistence (--sim-state) and the Kubernetes side (`/k8s/{kube_id}/...` goes to KubeWorld).
ARM semantics live in the arm package.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import socket
import ssl
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import parse_qs, unquote, urlsplit

from wizard.sim.arm import Arm, Request, Response, arm_error
from wizard.sim.credential import SimCredential
from wizard.sim.faults import FaultSet, validate
from wizard.sim.state import World, read_json, write_text_atomic

log = logging.getLogger("wizard.sim")

STATE_FORMAT = "aks-ai-wizard/sim-state"


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    status: int                      # what was answered (or applied, when dropped); 0: dropped before any answer
    request_id: str
    at: float = field(default_factory=time.time)
    dropped: bool = False            # the connection closed on purpose without a response
    body: Any = None  # the JSON body of an ARM write as received (never a Kubernetes request's: Secrets go there)


def _arm_write_body(method: str, path: str, body: bytes) -> Any:
    if method not in ("PUT", "PATCH", "POST") or not body or path.lower().startswith("/k8s/"):
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


class Headers(dict):
    """Request headers with case-insensitive lookup (keys stored lower-case)."""

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        super().__init__((k.lower(), v) for k, v in items)

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        return super().get(key.lower(), default)


_QUIET_ERRORS = (ConnectionResetError, BrokenPipeError, ConnectionAbortedError, ssl.SSLError, TimeoutError)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    tls: ssl.SSLContext | None = None

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, addr = self.socket.accept()
        if self.tls is not None:
            # the handshake happens on first read, in the handler thread
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], _QUIET_ERRORS):
            super().handle_error(request, client_address)


def requests_path(state_file: Path) -> Path:
    return state_file.with_name(state_file.name + ".requests.jsonl")


def read_requests(state_file: Path) -> list[dict[str, Any]]:
    """Every request the simulators on this state file served, across processes, oldest first."""
    path = requests_path(Path(state_file))
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a line torn by kill -9
    return out


class Simulator:
    """Simulated Azure Resource Manager (+ the Kubernetes API of its clusters) on 127.0.0.1.

    sim = Simulator(speed=60.0, faults=["gpu-quota"], state_file=None, tls=None).start()
    """

    def __init__(self, speed: float = 60.0, faults: Iterable[str] = (), state_file: Path | str | None = None,
                 tls: ssl.SSLContext | None = None, host: str = "127.0.0.1", port: int = 0,
                 ca_pem: bytes | None = None, degrade: Iterable[str] = ()) -> None:
        if not speed or speed <= 0:
            raise ValueError(f"simulator speed must be > 0, got {speed!r}")
        self.speed = float(speed)
        self.faults = FaultSet(faults)
        self.state_file = Path(state_file) if state_file else None
        self.tls = tls
        self.host = host
        self.port = port
        self.credential = SimCredential()
        self.request_log: list[LoggedRequest] = []
        self._log_lock = threading.Lock()
        self._save_lock = threading.Lock()
        # group commit: saves asked for, and the last ask a written file covers (save() returns at once when a
        # write that began after its ask holds its change: twenty pollers wait for one write, not twenty)
        self._ask_lock, self._save_asked, self._save_covered = threading.Lock(), 0, 0
        self._saved_revision = 0  # the world's revision (its changes by time) the state file holds
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._kube: Any = None
        self.degrade = tuple(degrade)  # simulated clusters fall short in these ways (wizard.sim.kube.degrade)
        self._saved_port: int | None = None
        self._save_timer: threading.Timer | None = None
        self.world = World()
        self.arm = Arm(self.world, self.faults, self.speed, lambda: self.base_url, lambda: self._kube)
        self.arm.ca_pem = ca_pem

    # ------------------------------------------------------------------------------------ lifecycle
    def start(self) -> "Simulator":
        if self._server is not None:
            return self
        self._load()
        server = self._bind()
        server.tls = self.tls
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="sim-arm", daemon=True)
        self._thread.start()
        return self

    def _bind(self) -> _Server:
        """With a state file, serve on the port the world was last served on when it is free: operation URLs,
        continuation tokens and kubeconfigs handed out by an earlier process stay valid, as Azure's do."""
        port = self.port or (self._saved_port or 0)
        try:
            return _Server((self.host, port), self._handler_class())
        except OSError:
            if port == self.port and self.port:
                raise
            return _Server((self.host, 0), self._handler_class())

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._save_lock:
            timer, self._save_timer = self._save_timer, None
        if timer is not None:
            timer.cancel()
        if self.state_file is not None:
            self.save()

    def __enter__(self) -> "Simulator":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # ------------------------------------------------------------------------------------ public surface
    @property
    def base_url(self) -> str:
        scheme = "https" if self.tls is not None else "http"
        return f"{scheme}://{self.host}:{self.port}"

    @property
    def subscription_id(self) -> str:
        return self.world.subscription_id

    @property
    def tenant_id(self) -> str:
        return self.world.tenant_id

    @property
    def kube(self) -> Any:
        if self._kube is None:
            self._kube = _new_kube_world(self.degrade)
        return self._kube

    def set_faults(self, names: Iterable[str]) -> None:
        self.faults.set(names)

    def clear_faults(self) -> None:
        self.faults.clear()

    def hold(self) -> None:
        """For tests: accepted long-running operations stay InProgress (feature and provider registrations
        Registering) whatever the speed, until release(). Requests are still served."""
        with self.world.lock:
            self.arm.held = True

    def release(self, complete: bool = True) -> None:
        """End hold(): what is pending completes at once (complete=False: by its simulated time instead)."""
        with self.world.lock:
            changed = self.arm.release(complete)
        if changed:
            self._autosave()

    def complete_pending(self) -> None:
        """While held: complete what is pending now, and keep holding what is accepted next (one step)."""
        with self.world.lock:
            changed = self.arm.release(True)
            self.arm.held = True
        if changed:
            self._autosave()

    @property
    def held(self) -> bool:
        return self.arm.held

    def advance(self) -> None:
        """Complete whatever is due now (normally done at the start of every request)."""
        with self.world.lock:
            changed = self.arm.advance()
        if changed:
            self._autosave()

    def save(self) -> None:
        """Write the state file atomically (ARM world + Kubernetes world). No-op without a state file."""
        if self.state_file is None:
            return
        with self._ask_lock:
            self._save_asked += 1
            ask = self._save_asked
        with self._save_lock:
            if self._save_covered >= ask:
                return
            with self._ask_lock:
                covers = self._save_asked  # every ask up to here changed the world before asking
            with self.world.lock:
                revision, arm = self.world.revision, self.world.encode()
            kube = self._kube.to_json() if self._kube is not None else "null"
            head = json.dumps({"format": STATE_FORMAT, "version": 1, "saved_at": time.time(), "port": self.port})
            # the parts are JSON text already (each encoded under its own lock): joined, not decoded and re-encoded
            write_text_atomic(self.state_file, f'{head[:-1]}, "arm": {arm}, "kube": {kube}}}')
            self._saved_revision = revision
            self._save_covered = covers

    # ------------------------------------------------------------------------------------ internals
    def _load(self) -> None:
        if self.state_file is None or not self.state_file.exists():
            if self._kube is None:
                self._kube = _new_kube_world(self.degrade)
            return
        try:
            data = read_json(self.state_file)
        except (OSError, ValueError) as e:
            raise ValueError(f"cannot read simulator state {self.state_file}: {e}") from e
        if not isinstance(data, dict) or data.get("format") != STATE_FORMAT:
            raise ValueError(f"{self.state_file} is not a simulator state file")
        self._saved_port = data.get("port") if isinstance(data.get("port"), int) else None
        world = World.from_dict(data.get("arm") or {})
        self.world = world
        self.arm.world = world
        kube_data = data.get("kube")
        cls = _kube_class()
        if cls is None:
            self._kube = None
        elif kube_data:
            self._kube = cls.from_dict(kube_data)
            self._kube.degraded |= set(self.degrade)
        else:
            self._kube = cls(self.degrade)

    def set_quota(self, name: str, limit: int) -> None:
        """Grant the subscription a vCPU limit ("cores" or a VM family, e.g. standardNCSv3Family), as an approved
        quota request would; persisted with the world."""
        with self.world.lock:
            self.world.quota_limits[name] = int(limit)
        self._autosave()

    def _autosave(self) -> None:
        if self.state_file is None:
            return
        try:
            self.save()
        except OSError as e:  # never fail a request because the state file could not be written
            log.warning("simulator: could not save state to %s: %s", self.state_file, e)

    def _record(self, entry: LoggedRequest) -> None:
        with self._log_lock:
            self.request_log.append(entry)
            if self.state_file is not None:
                # Beside the state file, one line per request, appended as it happens: a later process (a
                # re-run, a test after kill -9) can check which writes were sent across every run.
                with open(requests_path(self.state_file), "a", encoding="utf-8") as f:
                    f.write(json.dumps(dataclasses.asdict(entry), default=str) + "\n")

    def _dispatch(self, method: str, raw_path: str, headers: Headers, body: bytes) -> Response:
        split = urlsplit(raw_path)
        path = unquote(split.path)
        query = parse_qs(split.query, keep_blank_values=True)
        if path.lower().startswith("/k8s/"):
            return self._dispatch_kube(method, path, query, headers, body)
        if path.startswith("/_releases/"):  # release downloads (GitHub needs no token either)
            from wizard.sim import releases

            status, hdrs, data = releases.handle(method, path[len(releases.PREFIX):])
            return Response(status, data, hdrs)
        if path.startswith("/_dataplane/") and method == "GET":  # data-plane hosts (the workspace's Prometheus API)
            from wizard.sim import prometheus

            host, _, rest = path[len("/_dataplane/"):].partition("/")
            with self.world.lock:
                status, doc = prometheus.handle(self.arm, self._kube, host, "/" + rest, query, headers)
            return Response(status, doc, {"Content-Type": "application/json"})
        if path.lower().startswith("/api/retail/prices") and method == "GET":
            # the public, unauthenticated Azure Retail Prices API, with a small bundled price table
            from wizard.sim.prices import handle_prices

            status, hdrs, data = handle_prices(path, query)
            return Response(status, json.loads(data) if data else None, hdrs)
        auth = headers.get("authorization") or ""
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return arm_error(401, "InvalidAuthenticationToken",
                             "The access token is invalid: the request has no 'Authorization: Bearer' header.")
        try:
            resp = self.arm.handle(Request(method, path, query, headers, body))
        except Exception as e:  # a bug in the simulator must look like a server error, not a hang
            log.exception("simulator: %s %s failed", method, path)
            resp = arm_error(500, "InternalServerError", f"The simulated Azure failed: {type(e).__name__}: {e}")
        if resp.changed or method in ("PUT", "POST", "DELETE", "PATCH") or self._unsaved_progress():
            self._autosave()
        return resp

    def _unsaved_progress(self) -> bool:
        """Something completed by time (an operation, a registration) that the state file does not hold yet: a
        read that saw it saves before it answers, so a later process sees what that answer reported. A read that
        only looked costs no save (a fleet's pollers read hundreds of times)."""
        return self.state_file is not None and self.world.revision != self._saved_revision

    def _dispatch_kube(self, method: str, path: str, query: dict[str, list[str]], headers: Headers,
                       body: bytes) -> Response:
        rest = path[len("/k8s/"):]
        kube_id, _, sub = rest.partition("/")
        if "outside-vnet" in self.faults and self._private(kube_id):
            return Response(0, drop=True)  # a private endpoint is not reachable from outside its VNet
        self.advance()
        kube = self._kube
        if kube is None:
            return Response(503, {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                  "message": "the simulated Kubernetes API is not available", "code": 503})
        try:
            status, hdrs, data = kube.handle(kube_id, method, "/" + sub, query, headers, body)
        except Exception as e:
            log.exception("simulator: kube %s %s failed", method, path)
            return Response(500, {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                  "message": f"{type(e).__name__}: {e}", "reason": "InternalError", "code": 500})
        if method not in ("GET", "HEAD"):
            self._save_soon()
        return Response(status, data if data else None, dict(hdrs or {}))

    def _private(self, kube_id: str) -> bool:
        with self.world.lock:
            rec = next((c for c in self.world.clusters.values() if c.get("kube_id") == kube_id), None)
        access = ((rec or {}).get("body", {}).get("properties") or {}).get("apiServerAccessProfile") or {}
        return bool(access.get("enablePrivateCluster"))

    def _save_soon(self) -> None:
        """Kubernetes writes come in bursts (an install applies dozens of objects): coalesce their saves into one
        a moment later instead of rewriting the whole state file per object. ARM writes still save at once."""
        if self.state_file is None:
            return
        with self._save_lock:
            if self._save_timer is not None:
                return
            self._save_timer = threading.Timer(0.2, self._flush_soon)
            self._save_timer.daemon = True
            self._save_timer.start()

    def _flush_soon(self) -> None:
        with self._save_lock:
            self._save_timer = None
        self._autosave()

    def _handler_class(sim) -> type[BaseHTTPRequestHandler]:  # noqa: N805 (closure over the Simulator)
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else every keep-alive response waits ~40 ms for a delayed ACK
            server_version = "SimulatedAzure/1.0"
            sys_version = ""

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = Headers(self.headers.items())
                request_id = str(uuid.uuid4())
                correlation = headers.get("x-ms-correlation-request-id") or str(uuid.uuid4())
                resp = sim._dispatch(self.command, self.path, headers, body)
                path = urlsplit(self.path)
                sim._record(LoggedRequest(self.command, unquote(path.path), parse_qs(path.query, keep_blank_values=True),
                                          resp.status, request_id, dropped=resp.drop,
                                          body=_arm_write_body(self.command, path.path, body)))
                if resp.drop:
                    self.close_connection = True
                    try:
                        self.wfile.flush()
                        self.connection.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    return
                if isinstance(resp.body, (bytes, bytearray)):
                    data = bytes(resp.body)
                elif resp.body is None or resp.status in (204, 304) or self.command == "HEAD":
                    data = b""
                else:
                    data = json.dumps(resp.body).encode("utf-8")
                self.send_response(resp.status)
                hdrs = {k.lower(): (k, v) for k, v in resp.headers.items()}
                if data and "content-type" not in hdrs:
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("x-ms-request-id", request_id)
                self.send_header("x-ms-correlation-request-id", correlation)
                for k, v in hdrs.values():
                    if k.lower() not in ("content-length", "x-ms-request-id", "x-ms-correlation-request-id"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if data and self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _serve

        return Handler


def _kube_class() -> Any:
    try:
        from wizard.sim.kube import KubeWorld
    except ImportError as e:
        log.warning("simulator: the simulated Kubernetes API is not available (%s)", e)
        return None
    return KubeWorld


def _new_kube_world(degrade: tuple[str, ...] = ()) -> Any:
    cls = _kube_class()
    return cls(degrade) if cls is not None else None


def validate_faults(names: Iterable[str]) -> list[str]:
    return validate(names)
