"""Kubernetes API access for the verifier: one ApiClient (the official kubernetes client) shared by every check,
a single-flight read cache (each object or list is fetched once per run however many checks need it; failures
are cached too, so an unreachable server costs one attempt per read), and failures translated into KubeFailure
(unauthorized, forbidden with the missing RBAC verb, unreachable, timeout) that checks turn into results."""
from __future__ import annotations

import json
import threading
from concurrent.futures import Executor, Future
from typing import TYPE_CHECKING, Any, Callable, Sequence, cast
from urllib.parse import quote

import yaml

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

# path prefix -> (group, resource) for RBAC messages
_CORE_SUB = {"proxy"}


class KubeFailure(Exception):
    def __init__(self, kind: str, message: str, *, status: int = 0, verb: str = "", resource: str = "",
                 namespace: str = "", body: dict[str, Any] | None = None):
        super().__init__(message)
        self.kind = kind  # unauthorized | forbidden | unreachable | timeout | notfound | conflict | invalid | error
        self.status = status
        self.message = message
        self.verb = verb
        self.resource = resource
        self.namespace = namespace
        self.body = body or {}

    def describe(self) -> str:
        if self.kind == "unauthorized":
            return ("401 Unauthorized: the API server rejected the credentials in the kubeconfig (expired token, "
                    "or a kubeconfig for another cluster)")
        if self.kind == "forbidden":
            where = f" in namespace {self.namespace}" if self.namespace else " at cluster scope"
            return (f"403 Forbidden: RBAC does not allow verb '{self.verb}' on '{self.resource}'{where} "
                    f"({self.message})")
        if self.kind == "unreachable":
            return f"API server unreachable: {self.message}"
        if self.kind == "timeout":
            return f"timed out: {self.message}"
        return f"{self.status or ''} {self.message}".strip()

    def fix(self) -> str:
        if self.kind == "unauthorized":
            return ("refresh the credentials: az aks get-credentials -g <resource-group> -n <cluster> --overwrite-existing "
                    "(for Entra ID clusters also: kubelogin convert-kubeconfig -l azurecli)")
        if self.kind == "forbidden":
            return (f"grant the verifier '{self.verb}' on '{self.resource}' (simplest: run as cluster-admin, e.g. "
                    "az aks get-credentials --admin, or bind the 'Azure Kubernetes Service RBAC Cluster Admin' role)")
        if self.kind in ("unreachable", "timeout"):
            return ("check that the API server is reachable from here (private cluster? authorized IP ranges: "
                    "az aks update --api-server-authorized-ip-ranges), and that the kubeconfig points at it")
        return ""


def _resource_of(path: str) -> tuple[str, str, str]:
    """(resource, namespace, subresource) of an API path, for RBAC messages."""
    parts = [p for p in path.split("?")[0].strip("/").split("/") if p]
    if not parts:
        return "", "", ""
    if parts[0] == "api":
        rest, group = parts[2:], ""
    elif parts[0] == "apis" and len(parts) >= 3:
        rest, group = parts[3:], parts[1]
    else:
        return "/" + "/".join(parts), "", ""
    ns = ""
    if len(rest) >= 2 and rest[0] == "namespaces" and len(rest) > 2:
        ns, rest = rest[1], rest[2:]
    if not rest:
        return ("namespaces" if ns else "") + (f".{group}" if group else ""), ns, ""
    res = rest[0]
    sub = rest[2] if len(rest) > 2 else ""
    name = res + (f"/{sub}" if sub else "")
    return name + (f".{group}" if group else ""), ns, sub


def load_kubeconfig(kubeconfig: bytes | str | dict[str, Any], context: str | None = None, timeout: float = 10.0,
                    pool_size: int = 16) -> ApiClient:
    from kubernetes import client, config

    data = kubeconfig if isinstance(kubeconfig, dict) else yaml.safe_load(kubeconfig)
    if not isinstance(data, dict) or not data.get("clusters"):
        raise ValueError("not a kubeconfig (no clusters)")
    cfg = client.Configuration()
    config.load_kube_config_from_dict(data, context=context, client_configuration=cfg, persist_config=False)
    cfg.retries = 0
    cfg.connection_pool_maxsize = pool_size
    return client.ApiClient(cfg)


class Kube:
    def __init__(self, api_client: Any, timeout: float = 10.0):
        self.api = api_client
        self.timeout = timeout
        self._lock = threading.Lock()
        self._cache: dict[tuple[Any, ...], Future[Any]] = {}
        self.request_count = 0

    @classmethod
    def from_kubeconfig(cls, kubeconfig: bytes | str | dict[str, Any], context: str | None = None, timeout: float = 10.0,
                        pool_size: int = 16) -> "Kube":
        return cls(load_kubeconfig(kubeconfig, context, timeout, pool_size), timeout)

    @property
    def host(self) -> str:
        return cast(str, self.api.configuration.host)

    def close(self) -> None:
        try:
            self.api.close()
        except Exception:  # noqa: BLE001
            pass

    # ------------------------------------------------------------------ raw
    def request(self, method: str, path: str, query: dict[str, Any] | None = None, body: Any = None, *,
                raw: bool = False, timeout: float | None = None, content_type: str = "application/json") -> Any:
        from kubernetes.client.exceptions import ApiException
        import urllib3

        verb = {"GET": "get", "POST": "create", "DELETE": "delete", "PATCH": "patch",
                "PUT": "update"}.get(method, method.lower())
        if method == "GET" and not raw and _is_collection(path):
            verb = "list"
        resource, ns, sub = _resource_of(path)
        with self._lock:
            self.request_count += 1
        to = timeout or self.timeout
        try:
            headers = {"Accept": "text/plain, */*" if raw else "application/json"}
            if body is not None:
                headers["Content-Type"] = content_type
            params = self.api.param_serialize(
                method, path, query_params=list((query or {}).items()), header_params=headers,
                body=body, auth_settings=["BearerToken"])
            resp = self.api.call_api(*params, _request_timeout=to)
            data = resp.read()
            status = resp.status
        except ApiException as exc:
            raise _translate(exc, verb, resource, ns) from None
        except urllib3.exceptions.NewConnectionError as exc:  # (a ConnectTimeoutError subclass in urllib3 2)
            raise KubeFailure("unreachable", f"{self.host}: {_short(exc)}", verb=verb, resource=resource) from None
        except (urllib3.exceptions.ReadTimeoutError, urllib3.exceptions.ConnectTimeoutError,
                urllib3.exceptions.TimeoutError):
            raise KubeFailure("timeout", f"{method} {path}: no answer within {to:g} s",
                              verb=verb, resource=resource) from None
        except urllib3.exceptions.MaxRetryError as exc:
            reason = exc.reason
            if isinstance(reason, (urllib3.exceptions.ReadTimeoutError, urllib3.exceptions.ConnectTimeoutError)) and \
                    not isinstance(reason, urllib3.exceptions.NewConnectionError):
                raise KubeFailure("timeout", f"{method} {path}: no answer within {to:g} s",
                                  verb=verb, resource=resource) from None
            raise KubeFailure("unreachable", f"{self.host}: {_short(reason)}", verb=verb, resource=resource) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise KubeFailure("unreachable", f"{self.host}: {_short(exc)}", verb=verb, resource=resource) from None
        if status >= 400:
            raise _translate(ApiException(status=status, reason=resp.reason, body=data.decode("utf-8", "replace")
                                          if isinstance(data, bytes) else data), verb, resource, ns)
        if raw:
            return data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data)
        if not data:
            return {}
        try:
            return json.loads(data)
        except ValueError:
            raise KubeFailure("error", f"{method} {path}: the answer is not JSON") from None

    # ------------------------------------------------------------------ cached reads
    def _cached(self, key: tuple[Any, ...], fn: Callable[[], Any]) -> Any:
        with self._lock:
            cached = self._cache.get(key)
            owner = cached is None
            fut: Future[Any] = Future() if cached is None else cached
            if owner:
                self._cache[key] = fut
        if owner:
            try:
                fut.set_result(fn())
            except BaseException as exc:  # noqa: BLE001 - cached and re-raised to every reader
                fut.set_exception(exc)
        return fut.result()

    def get(self, path: str, query: dict[str, Any] | None = None, *, missing_ok: bool = False) -> Any:
        """GET (cached). missing_ok: 404 -> None."""
        key = ("json", path, tuple(sorted((query or {}).items())))
        try:
            return self._cached(key, lambda: self.request("GET", path, query))
        except KubeFailure as exc:
            if missing_ok and exc.kind == "notfound":
                return None
            raise

    def text(self, path: str, query: dict[str, Any] | None = None) -> str:
        key = ("text", path, tuple(sorted((query or {}).items())))
        return cast(str, self._cached(key, lambda: self.request("GET", path, query, raw=True)))

    def prefetch(self, executor: Executor, paths: Sequence[tuple[str, dict[str, Any] | None]]) -> None:
        for path, query in paths:
            executor.submit(self._swallow, path, query)

    def _swallow(self, path: str, query: dict[str, Any] | None) -> None:
        try:
            self.get(path, query, missing_ok=True)
        except Exception:  # noqa: BLE001 - the reader that needs it reports it
            pass

    # ------------------------------------------------------------------ helpers
    def items(self, path: str, query: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        doc = self.get(path, query, missing_ok=True)
        return list((doc or {}).get("items") or [])

    def by_name(self, path: str, query: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
        return {o["metadata"]["name"]: o for o in self.items(path, query)}

    def by_ns_name(self, path: str, query: dict[str, Any] | None = None) -> dict[tuple[str, str], dict[str, Any]]:
        return {(o["metadata"].get("namespace", ""), o["metadata"]["name"]): o for o in self.items(path, query)}


def _is_collection(path: str) -> bool:
    parts = [p for p in path.split("?")[0].strip("/").split("/") if p]
    core = parts[:1] == ["api"]
    rest = parts[2:] if core else parts[3:]
    if len(rest) >= 2 and rest[0] == "namespaces" and len(rest) > 2:
        rest = rest[2:]
    return len(rest) == 1


def _short(exc: Any) -> str:
    text = str(exc)
    for marker in ("Failed to establish a new connection: ", "Connection refused", "Name or service not known"):
        if marker in text:
            i = text.find(marker)
            return text[i:].split("'))")[0].rstrip(")'\"")
    return text[:200]


def _translate(exc: Any, verb: str, resource: str, ns: str) -> KubeFailure:
    status = int(getattr(exc, "status", 0) or 0)
    body: dict[str, Any] = {}
    try:
        body = json.loads(exc.body) if exc.body else {}
    except (ValueError, TypeError):
        body = {}
    message = (body.get("message") if isinstance(body, dict) else None) or getattr(exc, "reason", "") or str(exc)
    kind = {401: "unauthorized", 403: "forbidden", 404: "notfound", 409: "conflict", 422: "invalid",
            408: "timeout", 504: "timeout"}.get(status, "error")
    if status == 403 and isinstance(body, dict) and "admission webhook" in message:
        kind = "denied"
    if status == 400 and "admission webhook" in message:
        kind = "denied"
    if kind == "forbidden" and isinstance(body, dict):
        # 'pods is forbidden: User "x" cannot list resource "pods" in API group "" at the cluster scope'
        import re
        m = re.search(r'cannot (\w+) resource "([^"]+)"(?: in API group "([^"]*)")?', message)
        if m:
            verb = m.group(1)
            resource = m.group(2) + (f".{m.group(3)}" if m.group(3) else "")
    return KubeFailure(kind, message, status=status, verb=verb, resource=resource, namespace=ns,
                       body=body if isinstance(body, dict) else {})


def quote_label_selector(sel: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sel.items())


def path_join(*parts: str) -> str:
    return "/" + "/".join(quote(p.strip("/"), safe="/:") for p in parts if p)
