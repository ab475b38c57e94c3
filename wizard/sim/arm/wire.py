"""The wire types and shared vocabulary of the simulated ARM: requests, responses, ARM and AKS error
bodies, the catalog file."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

CATALOG_FILE = Path(__file__).resolve().parent.parent / "data" / "catalog.json"
LTS_PLAN = "AKSLongTermSupport"
CS = "Microsoft.ContainerService"
NOT_FOUND_FIX = "For more details please go to https://aka.ms/ARMResourceNotFoundFix"


def load_catalog(path: Path = CATALOG_FILE) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


# ------------------------------------------------------------------------------------------ wire types
@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]          # lower-case keys
    body: bytes = b""

    def q(self, name: str, default: str | None = None) -> str | None:
        for k, v in self.query.items():
            if k.lower() == name.lower() and v:
                return v[0]
        return default

    def json(self) -> Any:
        if not self.body:
            return {}
        return json.loads(self.body.decode("utf-8"))


@dataclass
class Response:
    status: int
    body: Any = None                 # JSON-able, or None for no body
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False               # close the connection without answering
    changed: bool = False            # state changed (save when persisting)


def arm_error(status: int, code: str, message: str, headers: dict[str, str] | None = None,
              target: str | None = None) -> Response:
    """ARM's wrapped error body {"error": {"code", "message"}}."""
    err: dict[str, Any] = {"code": code, "message": message}
    if target:
        err["target"] = target
    return Response(status, {"error": err}, dict(headers or {}))


def aks_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    """AKS RP's top-level error body {"code", "details": null, "message", "subcode": ""}."""
    return Response(status, {"code": code, "details": None, "message": message, "subcode": ""}, dict(headers or {}))


class _Reject(Exception):
    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def _get(d: Any, *path: str) -> Any:
    for p in path:
        if not isinstance(d, dict):
            return None
        d = d.get(p)
    return d


def version_key(v: str) -> tuple[int, ...]:
    return tuple(int(p) for p in v.split(".") if p.isdigit())


def is_gpu_size(size: str | None) -> bool:
    return bool(size) and bool(re.match(r"(?i)^standard_n", size or ""))

