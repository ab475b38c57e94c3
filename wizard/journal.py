"""The run journal: JSON lines beside the answers file, never inside it.

Each line records one fact about a run (a step started, an Azure operation was accepted, a step finished or
failed) with the resource id, ARM request and correlation ids and whether this wizard created the resource.
A re-run reads it to re-attach to an operation still in flight; teardown reads it to delete only what the
wizard created. Lines are appended with one write on an O_APPEND descriptor and fsynced, so a crash leaves
at worst a torn last line, which is skipped on read.
"""
from __future__ import annotations

import json
import os
import time
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from wizard.exit_codes import InvalidInput

TERMINAL = {"done", "skipped", "failed", "cancelled"}


class JournalLocked(RuntimeError):
    """Another live process holds the journal lock."""

    def __init__(self, path: Path, holder: dict[str, Any]):
        self.holder = holder
        super().__init__(
            f"another run holds {path} (pid {holder.get('pid')}, started {holder.get('started')}); "
            "wait for it to finish or stop it first"
        )


class JournalUnreadable(InvalidInput):
    """The journal exists but cannot be read as one: nothing can be resumed or torn down from it safely."""

    def __init__(self, path: Path, why: str) -> None:
        super().__init__(f"cannot read the journal {path}: {why}",
                         "restore the file from a backup, or fix its permissions; never delete it while resources "
                         "it records exist (teardown relies on it)")


def journal_path_for(answers_path: Path) -> Path:
    return answers_path.with_name(answers_path.stem + ".journal.jsonl")


class Journal:
    def __init__(self, path: Path):
        self.path = path
        self.run_id = uuid.uuid4().hex[:12]

    @classmethod
    def for_answers(cls, answers_path: Path) -> "Journal":
        return cls(journal_path_for(answers_path))

    def append(self, step: str, event: str, **fields: Any) -> dict[str, Any]:
        record = {
            "ts": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "run": self.run_id,
            "step": step,
            "event": event,
            **{k: v for k, v in fields.items() if v is not None},
        }
        line = (json.dumps(record, sort_keys=False, default=str) + "\n").encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)
        return record

    def records(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        try:
            text = self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise JournalUnreadable(self.path, getattr(exc, "strerror", None) or str(exc)) from None
        out = []
        for raw in text.splitlines():
            try:
                record = json.loads(raw)
            except json.JSONDecodeError:
                continue  # a torn last line from a crash
            if not (isinstance(record, dict) and isinstance(record.get("step"), str) and "event" in record):
                raise JournalUnreadable(self.path, f"a line is not a journal record: {raw[:80]}")
            out.append(record)
        return out

    def in_flight(self, step: str) -> dict[str, Any] | None:
        """The last accepted Azure operation of a step that no later record closed."""
        pending = None
        for rec in self.records():
            if rec["step"] != step:
                continue
            if rec["event"] == "operation":
                pending = rec
            elif rec["event"] in TERMINAL:
                pending = None
        return pending

    def created(self) -> list[dict[str, Any]]:
        """Resources some run of this wizard created (done records with created=true)."""
        return [r for r in self.records() if r["event"] == "done" and r.get("created")]

    @contextmanager
    def lock(self) -> Iterator[None]:
        lock_path = self.path.with_suffix(".lock")
        holder = {"pid": os.getpid(), "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                  "run": self.run_id}
        for _ in range(2):
            try:
                fd = os.open(lock_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                current = _read_lock(lock_path)
                if current and _alive(current.get("pid")):
                    raise JournalLocked(lock_path, current) from None
                # stale: the holder died; take it over by removing and retrying once
                lock_path.unlink(missing_ok=True)
                time.sleep(0.01)
                continue
            with os.fdopen(fd, "w") as f:
                json.dump(holder, f)
            break
        else:
            raise JournalLocked(lock_path, _read_lock(lock_path) or {})
        try:
            yield
        finally:
            if (_read_lock(lock_path) or {}).get("run") == self.run_id:
                lock_path.unlink(missing_ok=True)


def _read_lock(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def _alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
