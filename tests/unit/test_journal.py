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


def test_a_torn_line_never_swallows_the_next_record(tmp_path: Path):
    j = Journal(tmp_path / "a.journal.jsonl")
    j.append("resource-group", "done", created=True)
    with open(j.path, "ab") as f:
        f.write(b'{"step": "cluster", "event": "ope')  # killed mid-write
    j.append("cluster", "intent", creates=True)  # the next run's first record
    assert [(r["step"], r["event"]) for r in j.records()] == [("resource-group", "done"), ("cluster", "intent")]
    assert [str(d) for d in j.damaged] == ["line 2: torn or not JSON"]
    assert "1 damaged line(s) skipped (line 2: torn or not JSON)" in j.warnings()[0]


def test_damaged_lines_are_reported_never_a_traceback(tmp_path: Path):
    j = Journal(tmp_path / "a.journal.jsonl")
    j.path.write_bytes(b"hello there\n\xff\xfe{}\n[1, 2]\n{\"step\": \"cluster\"}\n"
                       b'{"step": "cluster", "event": "exploded"}\n' + b"[" * 100000 + b"\n"
                       b'{"ts": "t", "run": "r", "step": "cluster", "event": "done", "created": true}\n')
    assert [r["event"] for r in j.records()] == ["done"]
    assert [d.reason for d in j.damaged] == [
        "not a journal record", "not UTF-8 (byte 1)", "not a journal record (no step and event)",
        "not a journal record (no step and event)",
        "unknown record kind 'exploded' (written by a newer version?)", "not a journal record"]
    assert j.in_flight("cluster") is None and len(j.created()) == 1


def test_records_are_fsynced_lines_and_the_file_is_private(tmp_path: Path):
    j = Journal(tmp_path / "a.journal.jsonl")
    for i in range(3):
        j.append("cluster", "started", n=i)
    raw = j.path.read_bytes()
    assert raw.endswith(b"\n") and raw.count(b"\n") == 3
    assert oct(os.stat(j.path).st_mode & 0o777) == "0o600"


def test_one_journal_per_answers_file(tmp_path: Path):
    names = ["answers.yaml", "answers.yml", "answers.json", "answers", "answers.yml.yaml", "a.b.yaml"]
    assert len({journal_path_for(tmp_path / n) for n in names}) == len(names) - 1  # "answers" ~ "answers.yaml"
    assert journal_path_for(tmp_path / "answers.yml") == tmp_path / "answers.yml.journal.jsonl"
    # the one file name without a suffix shares a path with its .yaml twin: the records say whose they are
    plain, yaml_ = Journal.for_answers(tmp_path / "answers"), Journal.for_answers(tmp_path / "answers.yaml")
    assert plain.path == yaml_.path
    plain.append("cluster", "intent", creates=True)
    yaml_.append("resource-group", "intent", creates=True)
    assert [r["step"] for r in plain.records()] == ["cluster"]
    assert [r["step"] for r in yaml_.records()] == ["resource-group"]
    assert "belongs to answers file 'answers'" in yaml_.warnings()[0]


# ------------------------------------------------------------------------------------------------ the lock
def _dead_pid() -> int:
    return int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True).stdout)


@pytest.mark.parametrize("content", [
    json.dumps({"pid": 1, "started": "long ago", "run": "old"}),  # pid 1 is alive: a reused pid
    "{}", "not json at all", "", json.dumps({"pid": "x"}), "[1, 2]", "\xff"])
def test_a_lock_file_nobody_holds_is_taken_over_whatever_it_says(tmp_path: Path, content: str):
    path = tmp_path / "a.journal.jsonl"
    path.with_suffix(".lock").write_text(content, errors="surrogateescape")
    j = Journal(path)
    with j.lock():
        assert json.loads(path.with_suffix(".lock").read_text())["run"] == j.run_id
    assert not path.with_suffix(".lock").exists()


def test_a_reused_pid_of_a_live_process_is_not_a_holder(tmp_path: Path):
    """A lock left by a run that was killed, whose pid now belongs to another live process (here: this one)."""
    path = tmp_path / "a.journal.jsonl"
    path.with_suffix(".lock").write_text(json.dumps({"pid": os.getpid(), "started": "yesterday", "run": "old"}))
    with Journal(path).lock():
        pass


RACER = """
import sys, time
from pathlib import Path
from wizard.journal import Journal, JournalLocked
path, go = Path(sys.argv[1]), float(sys.argv[2])
time.sleep(max(0.0, go - time.time()))
try:
    with Journal(path).lock():
        print("won", flush=True)
        time.sleep(0.5)
except JournalLocked as exc:
    print("lost", exc, flush=True)
"""


def test_racing_takeovers_of_a_stale_lock_have_exactly_one_winner(tmp_path: Path):
    import time

    path = tmp_path / "a.journal.jsonl"
    for _ in range(3):
        path.with_suffix(".lock").write_text(json.dumps({"pid": _dead_pid(), "started": "earlier", "run": "old"}))
        go = time.time() + 0.4
        procs = [subprocess.Popen([sys.executable, "-c", RACER, str(path), str(go)], stdout=subprocess.PIPE,
                                  text=True, env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])})
                 for _ in range(4)]
        outs = [p.communicate(timeout=30)[0] for p in procs]
        assert sorted(o.split()[0] for o in outs) == ["lost", "lost", "lost", "won"], outs
        assert all("pid" in o for o in outs if o.startswith("lost"))


def test_deferred_is_what_a_staged_create_left_and_no_later_step_did(tmp_path):
    j = Journal(tmp_path / "a.journal.jsonl", "a.yaml")
    assert j.deferred() == {}
    j.append("cluster", "started", action="create",
             defers={"preview-fields": ["cluster.gateway_api"], "gpu-pool:gpub": ["gpu_pool.managed_gpu"]})
    j.append("cluster", "done", created=True)
    assert j.deferred() == {"preview-fields": ["cluster.gateway_api"], "gpu-pool:gpub": ["gpu_pool.managed_gpu"]}
    j.append("cluster", "started", action="attach")  # re-attaching to the create keeps what it owes
    j.append("preview-fields", "started", action="update")
    j.append("preview-fields", "failed", error={"what": "x"})
    assert set(j.deferred()) == {"preview-fields", "gpu-pool:gpub"}
    j.append("preview-fields", "done")
    assert j.deferred() == {"gpu-pool:gpub": ["gpu_pool.managed_gpu"]}
    j.append("cluster", "started", action="create")  # a later create in one PUT owes nothing
    assert j.deferred() == {}


def test_records_written_at_once_by_threads_and_another_process_stay_whole_lines(tmp_path: Path):
    """Steps run in threads and each appends; a record that straddles a page can show its size before its last
    byte, and some filesystems do not keep O_APPEND writers apart. Every record must come back whole, once."""
    from concurrent.futures import ThreadPoolExecutor

    path = tmp_path / "a.journal.jsonl"
    pad = "x" * 3000  # records of ~3 KB cross page boundaries often
    other = subprocess.Popen([sys.executable, "-c", (
        "import sys; from pathlib import Path; from wizard.journal import Journal\n"
        f"j = Journal(Path({str(path)!r}))\n"
        f"[j.append('proc', 'done', n=n, pad={pad!r}) for n in range(150)]")])

    def write(t: int) -> None:
        j = Journal(path)
        for n in range(60):
            j.append(f"thread-{t}", "done", n=n, pad=pad)

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(write, range(6)))
    assert other.wait(timeout=120) == 0
    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b"" and all(lines[:-1]), "no empty or missing line"
    reader = Journal(path)
    got = sorted((r["step"], r["n"]) for r in reader.records())
    assert reader.damaged == []
    assert got == sorted([("proc", n) for n in range(150)] + [(f"thread-{t}", n) for t in range(6) for n in range(60)])
