"""The run journal: appends, torn lines, in-flight operations, the one-run-at-a-time lock."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from wizard.journal import Journal, JournalLocked, journal_path_for


def test_path_is_beside_the_answers_file(tmp_path: Path):
    assert journal_path_for(tmp_path / "team.yaml") == tmp_path / "team.journal.jsonl"


def test_records_in_flight_and_created(tmp_path: Path):
    j = Journal(tmp_path / "a.journal.jsonl")
    j.append("cluster", "started", action="create")
    j.append("cluster", "operation", continuation_token="tok1", creates=True)
    assert j.in_flight("cluster")["continuation_token"] == "tok1"
    j.append("cluster", "interrupted", continuation_token="tok1")
    assert j.in_flight("cluster")["continuation_token"] == "tok1"  # an interruption does not close it
    j.append("cluster", "done", created=True, resource_id="/subscriptions/x/rg/c")
    assert j.in_flight("cluster") is None
    assert [r["resource_id"] for r in j.created()] == ["/subscriptions/x/rg/c"]
    assert oct(os.stat(j.path).st_mode & 0o777) == "0o600"


def test_torn_last_line_is_skipped(tmp_path: Path):
    j = Journal(tmp_path / "a.journal.jsonl")
    j.append("resource-group", "done", created=True)
    with open(j.path, "a") as f:
        f.write('{"step": "cluster", "ev')  # a crash mid-write
    assert [r["step"] for r in j.records()] == ["resource-group"]


def test_lock_refuses_a_live_holder_and_takes_over_a_dead_one(tmp_path: Path):
    path = tmp_path / "a.journal.jsonl"
    first, second = Journal(path), Journal(path)
    with first.lock():
        with pytest.raises(JournalLocked) as info:
            with second.lock():
                pass
        assert info.value.holder["pid"] == os.getpid() and "started" in info.value.holder
    # a lock left by a process that no longer exists is stale
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    path.with_suffix(".lock").write_text(json.dumps({"pid": int(dead.stdout), "started": "earlier", "run": "old"}))
    with second.lock():
        assert json.loads(path.with_suffix(".lock").read_text())["run"] == second.run_id
    assert not path.with_suffix(".lock").exists()
