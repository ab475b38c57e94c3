"""Preview feature flags and resource provider registration."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wizard.azure.connection import ArmConnection


def split_flag(flag: str) -> tuple[str, str]:
    namespace, _, name = flag.partition("/")
    return namespace, name


def feature_state(conn: "ArmConnection", flag: str) -> str:
    ns, name = split_flag(flag)
    result = conn.features.features.get(ns, name)
    return _state(result)


def register_feature(conn: "ArmConnection", flag: str, **kw: Any) -> str:
    ns, name = split_flag(flag)
    return _state(conn.features.features.register(ns, name, **kw))


def provider_state(conn: "ArmConnection", namespace: str) -> str:
    return conn.resources.providers.get(namespace).registration_state or "Unknown"


def register_provider(conn: "ArmConnection", namespace: str, **kw: Any) -> str:
    return conn.resources.providers.register(namespace, **kw).registration_state or "Unknown"


def is_registered(state: str) -> bool:
    # the official example answers lower-case "registered": compare case-insensitively
    return state.lower() == "registered"


def _state(result: Any) -> str:
    props = getattr(result, "properties", None)
    return (getattr(props, "state", None) or "Unknown") if props else "Unknown"
