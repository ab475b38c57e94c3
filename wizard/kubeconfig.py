"""Kubeconfig files: written 0600, and merged into an existing one only when asked, with a backup first."""
from __future__ import annotations

import os
import secrets
import shutil
import time
from pathlib import Path
from typing import Any

import yaml

SECTIONS = ("clusters", "contexts", "users")


def write_private(path: Path, data: bytes) -> None:
    """Write a secret file with mode 0600 from the first byte (never world-readable, even briefly): a temporary
    file of random name beside it, created exclusively without following a symlink, then renamed over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, flags, 0o600)
    try:
        try:
            os.fchmod(fd, 0o600)  # whatever the umask
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def default_kubeconfig() -> Path:
    """Where kubectl looks first: the first entry of KUBECONFIG, else ~/.kube/config."""
    first = (os.environ.get("KUBECONFIG") or "").split(os.pathsep)[0]
    return Path(first).expanduser() if first else Path.home() / ".kube" / "config"


def merge(new: bytes, target: Path) -> Path | None:
    """Merge a kubeconfig into target (entries of the same name replaced, others kept, current-context set
    to the new one), as `az aks get-credentials` does. Returns the backup made of the old file, if any."""
    incoming: dict[str, Any] = yaml.safe_load(new) or {}
    backup = None
    if target.exists():
        current: dict[str, Any] = yaml.safe_load(target.read_text()) or {}
        if current == incoming or _merged(current, incoming) == current:
            return None  # already there: nothing to change, no backup needed
        backup = target.with_name(f"{target.name}.bak-{time.strftime('%Y%m%d-%H%M%S')}")
        shutil.copy2(target, backup)
        os.chmod(backup, 0o600)
        merged = _merged(current, incoming)
    else:
        merged = incoming
    write_private(target, yaml.safe_dump(merged, sort_keys=False).encode())
    return backup


def _merged(current: dict[str, Any], incoming: dict[str, Any]) -> dict[str, Any]:
    out = {**current, "apiVersion": current.get("apiVersion", "v1"), "kind": current.get("kind", "Config")}
    for section in SECTIONS:
        names = {e.get("name") for e in incoming.get(section) or []}
        out[section] = [e for e in current.get(section) or [] if e.get("name") not in names] + \
            list(incoming.get(section) or [])
    if incoming.get("current-context"):
        out["current-context"] = incoming["current-context"]
    return out


def api_client(kubeconfig: bytes) -> Any:
    """A kubernetes ApiClient from kubeconfig bytes held in memory (never written to disk for this)."""
    from kubernetes import config

    return config.new_client_from_config_dict(yaml.safe_load(kubeconfig))
