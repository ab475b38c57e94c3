"""A simulated download location for release artifacts (the simulator has no internet).

Serves the Kueue release manifests shipped as package data under wizard/sim/data/kueue/<tag>/manifests.yaml at
the same path shape as GitHub's release downloads:

    {sim.base_url}/_releases/github.com/kubernetes-sigs/kueue/releases/download/<tag>/manifests.yaml

(no bearer token needed, as GitHub needs none). The add-on
code only ever sees a base URL (`kueue_release_base(sim.base_url)` here, the GitHub releases base for real), so
it has no "if simulated" branch. Unknown tags and files answer 404 like GitHub.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wizard.addons.kueue import Shipped

PREFIX = "/_releases"  # the simulator serves this module's files under this path
DATA = Path(__file__).resolve().parent / "data"
_KUEUE = "/github.com/kubernetes-sigs/kueue/releases/download/"


# The simulator's stand-in for the Kueue manifest shipped with the package: the same release, CRD schemas trimmed
# (data/kueue/build_manifest.py); the digest is of that file.
KUEUE_SHIPPED_SHA256 = "26a5f6f9ffb1875e48e3d5941b0a08ce160d05dd1bff4edaad4f83b8bf490d2e"


def kueue_shipped() -> "Shipped":
    from wizard.addons.kueue import PINNED_VERSION, Shipped

    return Shipped(PINNED_VERSION, DATA / "kueue" / PINNED_VERSION / "manifests.yaml", KUEUE_SHIPPED_SHA256)


def kueue_release_base(base_url: str) -> str:
    """The simulator's stand-in for https://github.com/kubernetes-sigs/kueue/releases/download."""
    return f"{base_url.rstrip('/')}{PREFIX}{_KUEUE.rstrip('/')}"


def kueue_manifest_path(tag: str) -> Path | None:
    path = DATA / "kueue" / tag / "manifests.yaml"
    return path if path.is_file() else None


def handle(method: str, path: str) -> tuple[int, dict[str, str], bytes]:
    """path: what follows PREFIX (starting with /)."""
    if method not in ("GET", "HEAD"):
        return 405, {"Content-Type": "text/plain", "Allow": "GET, HEAD"}, b"Method Not Allowed"
    if path.startswith(_KUEUE):
        tag, _, name = path[len(_KUEUE):].partition("/")
        if name == "manifests.yaml" and "/" not in tag and tag:
            found = kueue_manifest_path(tag)
            if found is not None:
                data = found.read_bytes()
                return 200, {"Content-Type": "application/octet-stream",
                             "Content-Disposition": f"attachment; filename={name}"}, data
    return 404, {"Content-Type": "text/plain; charset=utf-8"}, b"Not Found"
