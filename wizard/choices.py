"""What the facade's live lists hold (wizard.interactive returns them to the screens): locations, resource
groups, Kubernetes versions, Istio revisions and preview flags, each with what the screens show of it."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LocationInfo:
    name: str
    display_name: str

    @property
    def label(self) -> str:
        return f"{self.display_name} ({self.name})" if self.display_name else self.name


@dataclass(frozen=True)
class GroupInfo:
    name: str
    location: str


@dataclass(frozen=True)
class VersionChoice:
    minor: str
    newest_patch: str
    selectable: bool
    label: str
    reason: str = ""  # why it is not selectable, or what it needs
    is_default: bool = False
    lts_only: bool = False
    is_preview: bool = False


@dataclass(frozen=True)
class RevisionChoice:
    revision: str  # "auto" or asm-x-y
    selectable: bool
    label: str
    reason: str = ""
    compatible: bool = True  # supports the chosen Kubernetes version


@dataclass(frozen=True)
class FlagInfo:
    flag: str
    why: str
    option: str  # answers path whose value needs the flag ("" when listed explicitly)
    needed: bool  # the options chosen so far need it
    state: str = "Unknown"

    @property
    def registered(self) -> bool:
        return self.state.lower() == "registered"
