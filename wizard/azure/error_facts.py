"""The facts an Azure SDK exception carries, gathered once: codes, message text, HTTP status, headers, request
ids, the long-running operation's status (what the rules of error_rules.py match on)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional



def error_code(exc: BaseException) -> Optional[str]:
    """The ARM/AKS error code an SDK exception carries (``exc.error.code``), if any."""
    return getattr(getattr(exc, "error", None), "code", None)


# --------------------------------------------------------------------------------------------------------------
# Facts gathered from the exception


@dataclass
class Facts:
    exc: BaseException
    status: Optional[int]
    code: Optional[str]
    codes: set[str]  # lower-case codes: top level and nested details
    message: str  # the top-level message (or the exception text)
    text: str  # every message, nested detail and chained exception text, for pattern matching
    class_names: set[str]  # class names in the MRO of the exception and of its chained causes
    headers: Mapping[str, str]
    request_id: Optional[str]
    correlation_id: Optional[str]
    lro_status: Optional[str]  # "Failed"/"Canceled" when an LRO ended that way
    url: Optional[str] = None  # the request URL, when an exception in the chain carries it
    context: dict[str, Any] = field(default_factory=dict)

    @property
    def lro(self) -> bool:
        return self.lro_status is not None


def _chain(exc: BaseException, limit: int = 8) -> list[BaseException]:
    out: list[BaseException] = []
    cur: Optional[BaseException] = exc
    while cur is not None and cur not in out and len(out) < limit:
        out.append(cur)
        inner = getattr(cur, "inner_exception", None)
        cur = cur.__cause__ or inner or cur.__context__
    return out


def _walk_error(err: Any, codes: set[str], texts: list[str], depth: int = 0) -> None:
    if err is None or depth > 5:
        return
    code = getattr(err, "code", None)
    msg = getattr(err, "message", None)
    if code:
        codes.add(str(code).lower())
    if msg:
        texts.append(str(msg))
    for d in getattr(err, "details", None) or []:
        _walk_error(d, codes, texts, depth + 1)


def header_value(headers: Mapping[str, str], name: str) -> Optional[str]:
    try:
        value = headers.get(name)
        if value is None:  # plain dicts are case-sensitive
            for k, v in headers.items():
                if k.lower() == name:
                    return v
        return value
    except Exception:
        return None


def gather(exc: BaseException, context: Optional[dict[str, Any]] = None) -> Facts:
    chain = _chain(exc)
    class_names = {cls.__name__ for e in chain for cls in type(e).__mro__}
    response = getattr(exc, "response", None)
    headers: Mapping[str, str] = {}
    if response is not None:
        try:
            headers = response.headers or {}
        except Exception:
            headers = {}
    status = getattr(exc, "status_code", None)
    if status is None and response is not None:
        status = getattr(response, "status_code", None)
    error = getattr(exc, "error", None)
    codes: set[str] = set()
    texts: list[str] = []
    _walk_error(error, codes, texts)
    code = getattr(error, "code", None) if error is not None else None
    message = getattr(error, "message", None) if error is not None else None
    if not message:
        message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    for e in chain:
        texts.append(str(e))
    # Codes quoted inside messages (AKS wraps compute errors: 'Code="SkuNotAvailable"').
    for m in re.finditer(r"""[Cc]ode[=:]\s*\\?["']?([A-Za-z_][A-Za-z0-9_]+)""", "\n".join(texts)):
        codes.add(m.group(1).lower())
    url = None
    for e in chain:
        req = getattr(e, "request", None) or getattr(getattr(e, "response", None), "request", None)
        url = getattr(req, "url", None) if req is not None else None
        if isinstance(url, str) and url:
            break
        url = None
    lro_status = None
    if status == 200 and error is not None:
        lro_status = "Failed"
        try:
            body = json.loads(response.text()) if response is not None else {}
            if isinstance(body, dict) and body.get("status"):
                lro_status = str(body["status"])
        except Exception:
            pass
    return Facts(
        exc=exc,
        status=status,
        code=code,
        codes=codes,
        message=str(message),
        text="\n".join(texts),
        class_names=class_names,
        headers=headers,
        request_id=header_value(headers, "x-ms-request-id"),
        correlation_id=header_value(headers, "x-ms-correlation-request-id"),
        lro_status=lro_status,
        url=url,
        context=dict(context or {}),
    )
