"""Resource groups."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from azure.core.exceptions import ResourceNotFoundError

if TYPE_CHECKING:
    from wizard.azure.connection import ArmConnection


def get_group(conn: "ArmConnection", name: str) -> Any | None:
    try:
        return conn.resources.resource_groups.get(name)
    except ResourceNotFoundError:
        return None


def create_group(conn: "ArmConnection", name: str, location: str, tags: dict[str, str], **kw: Any) -> Any:
    return conn.resources.resource_groups.create_or_update(name, {"location": location, "tags": tags}, **kw)
