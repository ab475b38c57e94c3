"""Translate Azure SDK exceptions into what happened, why, what to do, and the request id for a support ticket.

The table of known situations is data (``RULES``, error_rules.py): each rule says which error codes / message text / HTTP status /
exception class it recognises, which details to parse out of the message, and the words to show. ``translate``
gathers the facts from the exception once (error_facts.py) and returns the first rule that matches (``../shared/arm/README.md`` §3).
"""

from __future__ import annotations

from typing import Any, Optional

from wizard.azure.error_facts import Facts, error_code, gather, header_value
from wizard.azure.error_rules import QUOTA_PORTAL_URL, RULES, Rule
from wizard.failure import AzureFailure, AzureLayerError, one_line

__all__ = ["AzureFailure", "AzureLayerError", "Facts", "Rule", "RULES", "translate", "error_code", "gather",
           "QUOTA_PORTAL_URL"]


def _unknown(f: Facts, fields: dict[str, Any]) -> tuple[str, str, str]:
    if f.code:
        what = f"Azure returned {f.code}" + (f" (HTTP {f.status})." if f.status else ".")
    elif f.status:
        what = f"Azure returned HTTP {f.status}."
    else:
        what = f"{type(f.exc).__name__}: the operation failed."
    return (
        what,
        one_line(f.message, 800),
        "Read Azure's message; fix what it names and run again. If it persists, open a support ticket with the request id.",
    )


def _fill(value: Any, fields: dict[str, Any]) -> Any:
    if callable(value):
        return value(fields)
    if isinstance(value, str):
        return value
    return value


def translate(exc: BaseException, *, context: Optional[dict[str, Any]] = None) -> AzureFailure:
    """Explain an exception raised by the Azure SDKs (or by this package)."""
    if isinstance(exc, AzureLayerError):
        return exc.failure
    f = gather(exc, context)
    for rule in RULES:
        if rule.matches(f):
            break
    else:
        rule = None

    fields: dict[str, Any] = {}
    for k, v in f.context.items():
        fields.setdefault(k, v)
    if rule is not None:
        for rx in rule.extract:
            m = rx.search(f.text)
            if m:
                for k, v in m.groupdict().items():
                    if v is not None and not fields.get(k):
                        fields[k] = v
    fields.update(
        _code=f.code,
        _message=f.message,
        _status=f.status,
        _text=f.text,
        _url=f.url,
        _lro_status=f.lro_status,
        _target=getattr(getattr(exc, "error", None), "target", None),
    )
    retry_after = header_value(f.headers, "retry-after")
    if retry_after and not fields.get("retry_after"):
        fields["retry_after"] = retry_after

    if rule is None:
        what, why, action = _unknown(f, fields)
        category, fix_field = "unknown", None
    else:
        if rule.enrich:
            rule.enrich(fields)
        what, why, action = (_fill(rule.what, fields), _fill(rule.why, fields), _fill(rule.action, fields))
        category = rule.category
        fix_field = rule.fix_field(fields) if callable(rule.fix_field) else rule.fix_field
        if f.lro and category != "operation_failed":
            what = f"The Azure operation ended {f.lro_status}: {what}"
    operation = f.context.get("operation")
    if operation:
        what = f"{operation}: {what}"
    return AzureFailure(
        category=category,
        code=f.code,
        what=what,
        why=why,
        action=action,
        request_id=f.request_id,
        correlation_id=f.correlation_id,
        status=f.status,
        message=one_line(f.message, 2000),
        fix_field=fix_field,
        operation_request_id=getattr(getattr(exc, "operation_ids", None), "first_request_id", None),
        operation_id=getattr(getattr(exc, "operation_ids", None), "operation_id", None),
    )
