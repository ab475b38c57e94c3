"""The run journal: JSON lines beside the answers file, never inside it.

Each line records one fact about a run (a step that creates a resource started or a write is about to be sent
("intent"), a step started, an Azure operation was accepted ("operation"), Azure refused the write because another
operation ran ("refused"), a step finished or failed) with the resource id, ARM request and correlation ids. An
intent that nothing closed means the write may have been accepted without its answer arriving. A re-run reads it
to re-attach to an operation still in flight; teardown reads it to delete only what the wizard created.

Crash safety: a record is one write on an O_APPEND descriptor, flushed and fsynced, under a lock: a process-wide
one (steps run in threads) and a kernel lock on the file (any other process). O_APPEND alone does not keep
concurrent records apart on every filesystem (network and FUSE mounts interleave them, and a writer can see the
size of a record still being written). A crash can leave at worst a torn last line; the next append starts on a
new line first, so the fragment never swallows the next record, and the reader skips the damaged line and
reports it (line number and why) instead of failing.

One run at a time: the lock beside the journal is a kernel lock (flock) on an open file, so it ends with its
holder however that process dies. A lock file left behind, whatever it says (a pid that now belongs to another
process, malformed content), is never mistaken for a live holder, and of two processes taking it over at once
exactly one wins. The holder's pid and start go into the file only to name it in the refusal.
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from wizard.exit_codes import InvalidInput

if TYPE_CHECKING:
    from wizard.answers import Answers

TERMINAL = {"done", "skipped", "failed", "cancelled", "refused"}
# every record kind a run writes; anything else is reported as damaged, never acted on
KINDS = TERMINAL | {"intent", "started", "operation", "interrupted", "deleted"}
_APPENDING = threading.Lock()  # one record at a time from this process, whichever journal it goes to


class JournalLocked(RuntimeError):
    """Another live process holds the journal lock."""

    def __init__(self, path: Path, holder: dict[str, Any]):
        self.holder = holder
        who = (f"pid {holder.get('pid')}, started {holder.get('started')}" if holder.get("pid")
               else "its holder did not say who it is")
        super().__init__(f"another run holds {path} ({who}); wait for it to finish or stop it first")


class JournalUnreadable(InvalidInput):
    """The journal exists but cannot be read as one: nothing can be resumed or torn down from it safely."""

    def __init__(self, path: Path, why: str) -> None:
        super().__init__(f"cannot read the journal {path}: {why}",
                         "restore the file from a backup, or fix its permissions; never delete it while resources "
                         "it records exist (teardown relies on it)")


def journal_path_for(answers_path: Path) -> Path:
    """`team.yaml` -> `team.journal.jsonl`; any other name keeps its suffix (`team.yml` ->
    `team.yml.journal.jsonl`), so two answers files in one folder never share a journal."""
    if answers_path.suffix == ".yaml" and "." not in answers_path.stem:
        return answers_path.with_name(answers_path.stem + ".journal.jsonl")
    return answers_path.with_name(answers_path.name + ".journal.jsonl")


def answers_identity(file_name: str, resource_group: str, cluster: str) -> str:
    """The answers file's identity on Azure (provenance tags): its file name and a digest of the cluster it
    describes, so it survives moving the folder, and two answers files never claim each other's resources."""
    target = f"{resource_group.lower()}/{cluster.lower()}"
    return f"{file_name}:{hashlib.sha256(target.encode()).hexdigest()[:12]}"


@dataclass(frozen=True)
class Damaged:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


class Journal:
    def __init__(self, path: Path, answers_file: str | None = None):
        self.path = path
        self.run_id = uuid.uuid4().hex[:12]
        # the answers file this journal belongs to: every record names it, and a record naming another file
        # (two odd file names mapped to one journal) is never read as ours
        self.answers_file = answers_file
        self.damaged: list[Damaged] = []  # what the last read skipped

    @classmethod
    def for_answers(cls, answers_path: Path) -> "Journal":
        return cls(journal_path_for(answers_path), answers_path.name)

    def identity(self, answers: "Answers") -> str:
        name = self.answers_file or self.path.name.removesuffix(".journal.jsonl")
        return answers_identity(name, answers.resource_group.name, answers.cluster.name)

    def provenance(self, answers: "Answers") -> dict[str, str]:
        """Tags every resource this run creates carries (teardown confirms them before deleting)."""
        from wizard.provenance import tags

        return tags(self.identity(answers), self.run_id)

    def append(self, step: str, event: str, **fields: Any) -> dict[str, Any]:
        record = {
            "ts": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "run": self.run_id,
            "step": step,
            "event": event,
            **({"file": self.answers_file} if self.answers_file else {}),
            **{k: v for k, v in fields.items() if v is not None},
        }
        line = (json.dumps(record, sort_keys=False, default=str) + "\n").encode()
        with _APPENDING:
            created = not self.path.exists()
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
            try:
                import fcntl

                fcntl.flock(fd, fcntl.LOCK_EX)  # released by close
                size = os.fstat(fd).st_size
                if size and os.pread(fd, 1, size - 1) != b"\n":
                    line = b"\n" + line  # a torn last line stays a line of its own
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)
            if created:
                _fsync_dir(self.path.parent)
        return record

    def records(self) -> list[dict[str, Any]]:
        """Every well-formed record; what is not (torn, not JSON, not UTF-8, not a record, an unknown kind) is
        skipped and listed in `damaged`."""
        self.damaged = []
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise JournalUnreadable(self.path, exc.strerror or str(exc)) from None
        out = []
        for n, line in enumerate(raw.split(b"\n"), 1):
            if not line.strip():
                continue
            rec, reason = _parse(line)
            if rec is not None and self.answers_file and rec.get("file", self.answers_file) != self.answers_file:
                reason = f"belongs to answers file {rec['file']!r}, not {self.answers_file!r}"
                rec = None
            if rec is None:
                self.damaged.append(Damaged(n, reason))
            else:
                out.append(rec)
        return out

    def warnings(self) -> list[str]:
        """What a reader should tell the user about this journal (read it first)."""
        self.records()
        if not self.damaged:
            return []
        return [f"journal {self.path}: {len(self.damaged)} damaged line(s) skipped (" +
                "; ".join(map(str, self.damaged[:5])) + (" ..." if len(self.damaged) > 5 else "") + ")"]

    def in_flight(self, step: str) -> dict[str, Any] | None:
        """The last Azure operation of a step that was accepted, or may have been (an intent whose answer never
        came), and that no later record closed."""
        pending = None
        for rec in self.records():
            if rec["step"] != step:
                continue
            if rec["event"] in ("intent", "operation"):
                pending = rec
            elif rec["event"] in TERMINAL:
                pending = None
        return pending

    def deferred(self) -> dict[str, list[str]]:
        """What a staged create left for later and no later step has done yet: step id (`preview-fields`, a GPU
        pool's) -> the options it owes. The create's `started` record says what it defers; a cluster write that
        sends everything (a single PUT, an update) owes nothing; re-attaching to the create keeps what it owes."""
        owed: dict[str, list[str]] = {}
        for rec in self.records():
            if rec["step"] == "cluster" and rec["event"] == "started" and rec.get("action") != "attach":
                defers = rec.get("defers")
                owed = {str(k): [str(o) for o in v] for k, v in defers.items()
                        if isinstance(v, list)} if isinstance(defers, dict) else {}
            elif rec["event"] == "done" and rec["step"] in owed:
                del owed[rec["step"]]
        return owed

    def created(self) -> list[dict[str, Any]]:
        """Resources some run of this wizard created (done records with created=true)."""
        return [r for r in self.records() if r["event"] == "done" and r.get("created")]

    @contextmanager
    def lock(self) -> Iterator[None]:
        lock_path = self.path.with_suffix(".lock")
        fd = _take(lock_path)
        try:
            holder = {"pid": os.getpid(), "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                      "run": self.run_id}
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(holder).encode(), 0)
            yield
        finally:
            lock_path.unlink(missing_ok=True)  # still held: nobody can be between open and lock on this inode
            os.close(fd)


def _parse(line: bytes) -> tuple[dict[str, Any] | None, str]:
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, f"not UTF-8 (byte {exc.start + 1})"
    try:
        rec = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return None, "torn or not JSON" if text.lstrip().startswith("{") else "not a journal record"
    if not isinstance(rec, dict) or not isinstance(rec.get("step"), str) or not isinstance(rec.get("event"), str):
        return None, "not a journal record (no step and event)"
    if rec["event"] not in KINDS:
        return None, f"unknown record kind {rec['event']!r} (written by a newer version?)"
    return rec, ""


def _take(lock_path: Path) -> int:
    """Open and lock `lock_path` without waiting; raise JournalLocked naming the holder when it is held."""
    import fcntl

    while True:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_lock(fd)
            if not holder:  # it was taken an instant ago: give the holder a moment to write who it is
                time.sleep(0.1)
                holder = _read_lock(fd)
            os.close(fd)
            raise JournalLocked(lock_path, holder) from None
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(lock_path, follow_symlinks=False))
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)  # the holder released and removed it between our open and our lock: take the new one


def _read_lock(fd: int) -> dict[str, Any]:
    try:
        holder = json.loads(os.pread(fd, 4096, 0).decode("utf-8"))
    except (OSError, ValueError):
        return {}
    return holder if isinstance(holder, dict) else {}


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
