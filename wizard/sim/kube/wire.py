"""The wire of the simulated kube-apiserver: the request as a handler sees it, JSON responses and Status bodies."""

from __future__ import annotations

import copy
import json

from . import errors as E
from .patch import parse_body

Response = tuple[int, dict[str, str], bytes]
JSON = {"Content-Type": "application/json"}

APPLY = "application/apply-patch+yaml"
MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
JSONPATCH = "application/json-patch+json"
EMPTY_WATCH_HEADER = "X-Sim-Empty-Watch"
RETURNS_OBJECT_ON_DELETE = {("", "pods"), ("", "namespaces"), ("apiextensions.k8s.io", "customresourcedefinitions")}


def respond(code: int, body) -> Response:
    return code, dict(JSON), json.dumps(body).encode()


def status_ok(res, name: str, uid: str | None = None) -> dict:
    details = {"name": name, "kind": res.plural}
    if res.group:
        details["group"] = res.group
    if uid:
        details["uid"] = uid
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}


class Request:
    def __init__(self, method: str, query: dict, headers: dict, body: bytes):
        self.method = method.upper()
        self.query = {k: (v if isinstance(v, list) else [v]) for k, v in (query or {}).items()}
        self.headers = {k.lower(): v for k, v in (headers or {}).items()}
        self.body = body or b""

    def q(self, key: str, default: str | None = None) -> str | None:
        v = self.query.get(key)
        return v[0] if v else default

    @property
    def dry_run(self) -> bool:
        return "All" in (self.query.get("dryRun") or [])

    @property
    def content_type(self) -> str:
        return (self.headers.get("content-type") or "application/json").split(";")[0].strip().lower()

    def manager(self) -> str:
        fm = self.q("fieldManager")
        if fm:
            return fm
        ua = self.headers.get("user-agent") or "unknown"
        return ua.split("/")[0]

    def json(self):
        try:
            return parse_body(self.body, self.content_type)
        except Exception as exc:  # noqa: BLE001
            raise E.bad_request(f"the body of the request could not be decoded: {exc}") from None


def out_object(obj: dict, res) -> dict:
    """The stored object as served: a copy with its apiVersion and kind."""
    out = copy.deepcopy(obj)
    out["apiVersion"] = res.api_version
    out["kind"] = res.kind
    return out
