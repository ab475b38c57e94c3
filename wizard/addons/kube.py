"""A thin layer over the kubernetes client's ApiClient for the add-ons: raw JSON requests, server-side apply with
one field manager, and bounded waits. Kubernetes errors become AddonError with the API server's message."""
from __future__ import annotations

import json
import time
from typing import Any, Callable

from wizard.addons.errors import AddonError

FIELD_MANAGER = "aks-ai-wizard"
APPLY = "application/apply-patch+yaml"

# kind -> (group, version, plural, namespaced) for the built-in kinds the add-ons apply; custom kinds are found
# from the CRDs being applied or from API discovery.
BUILTIN: dict[str, tuple[str, str, str, bool]] = {
    "Namespace": ("", "v1", "namespaces", False),
    "ServiceAccount": ("", "v1", "serviceaccounts", True),
    "ConfigMap": ("", "v1", "configmaps", True),
    "Secret": ("", "v1", "secrets", True),
    "Service": ("", "v1", "services", True),
    "Deployment": ("apps", "v1", "deployments", True),
    "DaemonSet": ("apps", "v1", "daemonsets", True),
    "StatefulSet": ("apps", "v1", "statefulsets", True),
    "Role": ("rbac.authorization.k8s.io", "v1", "roles", True),
    "RoleBinding": ("rbac.authorization.k8s.io", "v1", "rolebindings", True),
    "ClusterRole": ("rbac.authorization.k8s.io", "v1", "clusterroles", False),
    "ClusterRoleBinding": ("rbac.authorization.k8s.io", "v1", "clusterrolebindings", False),
    "CustomResourceDefinition": ("apiextensions.k8s.io", "v1", "customresourcedefinitions", False),
    "APIService": ("apiregistration.k8s.io", "v1", "apiservices", False),
    "MutatingWebhookConfiguration": ("admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations", False),
    "ValidatingWebhookConfiguration": ("admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations", False),
    "PriorityClass": ("scheduling.k8s.io", "v1", "priorityclasses", False),
    "NetworkPolicy": ("networking.k8s.io", "v1", "networkpolicies", True),
}


class KubeError(AddonError):
    def __init__(self, method: str, path: str, status: int | None, message: str, reason: str = "") -> None:
        what = f"The cluster refused {method} {path}" if status else f"The cluster did not answer {method} {path}"
        why = f"HTTP {status} {reason}: {message}" if status else message
        super().__init__(what + ".", why, "Check the cluster's API server and retry; the step is safe to re-run.",
                         code=reason or "KubernetesError", category="kubernetes", status=status)
        self.status = status
        self.reason = reason


class Kube:
    def __init__(self, api_client: Any, timeout: float = 30.0, field_manager: str = FIELD_MANAGER) -> None:
        self.api = api_client
        self.timeout = timeout
        self.field_manager = field_manager
        self.writes = 0  # PATCH/PUT/POST/DELETE sent
        self._discovered: dict[str, dict[str, tuple[str, bool]]] = {}

    # ------------------------------------------------------------------------------------------ raw
    def request(self, method: str, path: str, body: Any = None, query: dict[str, str] | None = None,
                content_type: str = "application/json") -> Any:
        import urllib3
        from kubernetes.client.exceptions import ApiException

        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type
        if method != "GET":
            self.writes += 1
        try:
            params = self.api.param_serialize(method, path, query_params=list((query or {}).items()),
                                              header_params=headers, body=body, auth_settings=["BearerToken"])
            resp = self.api.call_api(*params, _request_timeout=self.timeout)
            data = resp.read()
            status = resp.status
        except ApiException as exc:
            status, data = exc.status, exc.body
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise KubeError(method, path, None, f"{type(exc).__name__}: {exc}") from None
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else (data or "")
        if status and status >= 400:
            try:
                doc = json.loads(text)
                message, reason = doc.get("message") or text, doc.get("reason") or ""
            except ValueError:
                message, reason = text.strip()[:500] or "no message", ""
            raise KubeError(method, path, status, message, reason)
        return json.loads(text) if text.strip() else {}

    def get(self, path: str, query: dict[str, str] | None = None) -> Any:
        """GET; 404 -> None."""
        try:
            return self.request("GET", path, query=query)
        except KubeError as exc:
            if exc.status == 404:
                return None
            raise

    # ------------------------------------------------------------------------------------------ paths
    def resource_path(self, obj: dict[str, Any], custom: dict[tuple[str, str], tuple[str, bool]] | None = None) -> str:
        """The object's URL: /api/v1/... or /apis/<group>/<version>/... (namespaced when the kind is)."""
        api_version, kind = obj["apiVersion"], obj["kind"]
        group, _, version = api_version.rpartition("/")
        name = obj["metadata"]["name"]
        if kind in BUILTIN and BUILTIN[kind][0] == group:
            _, _, plural, namespaced = BUILTIN[kind]
        elif custom and (group, kind) in custom:
            plural, namespaced = custom[(group, kind)]
        else:
            plural, namespaced = self._discover(api_version, kind)
        base = f"/apis/{group}/{version}" if group else f"/api/{version}"
        if namespaced:
            ns = obj["metadata"].get("namespace") or "default"
            return f"{base}/namespaces/{ns}/{plural}/{name}"
        return f"{base}/{plural}/{name}"

    def _discover(self, api_version: str, kind: str) -> tuple[str, bool]:
        if api_version not in self._discovered:
            group, _, version = api_version.rpartition("/")
            doc = self.get(f"/apis/{group}/{version}" if group else f"/api/{version}") or {}
            self._discovered[api_version] = {r["kind"]: (r["name"], bool(r.get("namespaced")))
                                             for r in doc.get("resources") or [] if "/" not in r["name"]}
        found = self._discovered[api_version].get(kind)
        if found is None:
            raise KubeError("GET", f"/apis/{api_version}", 404, f"the server does not serve kind {kind} in "
                                                               f"{api_version}", "NotFound")
        return found

    # ------------------------------------------------------------------------------------------ apply
    def apply(self, obj: dict[str, Any], custom: dict[tuple[str, str], tuple[str, bool]] | None = None,
              force: bool = False) -> dict[str, Any]:
        """Server-side apply (kubectl apply --server-side --field-manager aks-ai-wizard)."""
        query = {"fieldManager": self.field_manager}
        if force:
            query["force"] = "true"
        applied: dict[str, Any] = self.request("PATCH", self.resource_path(obj, custom), body=obj, query=query,
                                               content_type=APPLY)
        return applied

    # ------------------------------------------------------------------------------------------ waits
    def wait(self, what: str, check: Callable[[], tuple[bool, str]], sleep: Callable[[float], None],
             timeout: float, poll: float, progress: Callable[[str], None] | None = None) -> str:
        """Poll check() until it is true; AddonError after `timeout` seconds with the last state seen."""
        deadline = time.monotonic() + timeout
        last = None
        while True:
            ok, state = check()
            if ok:
                return state
            if progress and state != last:
                progress(f"waiting for {what}: {state}")
                last = state
            if time.monotonic() >= deadline:
                raise AddonError(f"Timed out waiting for {what}.", f"After {timeout:.0f} s: {state}.",
                                 "Look at the objects with kubectl (describe, events, logs), then re-run: the step "
                                 "is idempotent.", code="Timeout")
            sleep(poll)


def condition(obj: dict[str, Any] | None, type_: str) -> str | None:
    for c in ((obj or {}).get("status") or {}).get("conditions") or []:
        if c.get("type") == type_:
            status = c.get("status")
            return None if status is None else str(status)
    return None
