"""Preview feature flags and resource provider registration."""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Callable

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


def wait_registered(state: str, read: Callable[[], str], sleep: Callable[[float], None], poll: float,
                    deadline: float, seen: Callable[[str], None], timed_out: Callable[[str], Exception]) -> str:
    """The one wait for a registration (a resource provider's, a preview flag's): poll until Registered, up to a
    monotonic deadline; past it raise ``timed_out(state)`` (the registration itself goes on in Azure). ``state``:
    what the register call (or a first read) answered; ``seen`` hears every state read, the first one too."""
    while True:
        seen(state)
        if is_registered(state):
            return state
        if time.monotonic() >= deadline:
            raise timed_out(state)
        sleep(poll)
        state = read()


def is_registered(state: str) -> bool:
    # the official example answers lower-case "registered": compare case-insensitively
    return state.lower() == "registered"


def _state(result: Any) -> str:
    props = getattr(result, "properties", None)
    return (getattr(props, "state", None) or "Unknown") if props else "Unknown"
