"""The command line as CI uses it: with --output json every stdout line is a JSON object with a kind that its
shipped JSON Schema accepts (errors included); exit codes follow the one table (wizard/exit_codes.py, the README);
plan says "no changes" after an apply; local problems are invalid input; Ctrl-C is exit 130 without a traceback."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from tests.support.cli import REPO, copy_example, run
from tests.integration.test_resilience import operation_recorded, spawn, wait_for
from wizard import exit_codes
from wizard.output import KINDS, schema_for

VALIDATORS = {kind: jsonschema.Draft202012Validator(schema_for(kind)) for kind in KINDS}


def docs(stdout: str) -> list[dict]:
    """Every stdout line parsed, each checked against the schema of its kind."""
    out = []
    for line in stdout.splitlines():
        doc = json.loads(line)
        assert doc.get("kind") in KINDS, line
        errors = sorted(VALIDATORS[doc["kind"]].iter_errors(doc), key=str)
        assert not errors, (doc["kind"], [f"{list(e.path)}: {e.message}" for e in errors[:3]])
        out.append(doc)
    return out


def json_run(workdir: Path, capsys, *args: str, faults: tuple[str, ...] = ()) -> tuple[int, list[dict], str]:
    code = run(workdir, *args, "--output", "json", faults=faults)
    captured = capsys.readouterr()
    return code, docs(captured.out), captured.err


@pytest.fixture
def applied(tmp_path: Path, capsys) -> Path:
    copy_example(tmp_path)
    assert run(tmp_path, "apply", str(tmp_path / "answers.yaml"), "-q") == exit_codes.OK
    capsys.readouterr()
    return tmp_path


def test_schemas_are_valid_and_shipped_for_every_kind():
    for kind in KINDS:
        jsonschema.Draft202012Validator.check_schema(schema_for(kind))
        assert schema_for(kind)["properties"]["kind"] == {"const": kind}


def test_readme_exit_code_table_is_the_one_the_code_uses():
    readme = (REPO / "README.md").read_text()
    assert exit_codes.markdown_table() in readme


def test_every_command_speaks_json_after_an_apply(applied: Path, capsys):
    answers = str(applied / "answers.yaml")
    code, out, _ = json_run(applied, capsys, "plan", answers, "--detailed-exitcode")
    assert code == exit_codes.OK and [d["kind"] for d in out] == ["plan"]
    plan = out[0]
    assert plan["changes"] == 0, [s for s in plan["steps"] if s["action"] not in ("read", "skip")]
    assert {s["id"]: s["action"] for s in plan["steps"]}["kueue"] == "skip"

    code, out, _ = json_run(applied, capsys, "verify", "-g", "rg-aks-ai", "-n", "aks-ai")
    assert code == exit_codes.NOT_CONFORMANT and [d["kind"] for d in out] == ["verification"]

    code, out, _ = json_run(applied, capsys, "gpu-sizes", "--location", "eastus2", "--no-prices")
    assert code == exit_codes.OK and out[0]["kind"] == "gpu-sizes" and out[0]["sizes"]

    code, out, err = json_run(applied, capsys, "teardown", answers, "--yes")
    kinds = [d["kind"] for d in out]
    assert code == exit_codes.OK and kinds[0] == "teardown-plan" and kinds[-1] == "result", err
    assert {d["event"] for d in out if d["kind"] == "event"} >= {"started", "done"}
    assert "Teardown done" in err  # the words for people go to stderr


def test_plan_detailed_exitcode_for_changes_and_for_a_plan_that_cannot_apply(applied: Path, capsys):
    path = applied / "answers.yaml"
    path.write_text(path.read_text().replace("keda: true", "keda: false"))
    code, out, _ = json_run(applied, capsys, "plan", str(path), "--detailed-exitcode")
    assert code == exit_codes.PLAN and out[0]["ok"] is False
    code, out, _ = json_run(applied, capsys, "plan", str(path), "--detailed-exitcode", "--allow-update")
    assert code == exit_codes.CHANGES and out[0]["changes"] >= 1
    # without --detailed-exitcode an applicable plan with changes is still 0
    assert json_run(applied, capsys, "plan", str(path), "--allow-update")[0] == exit_codes.OK


def test_failures_are_json_with_what_to_do_and_request_ids(tmp_path: Path, capsys):
    answers = copy_example(tmp_path)
    text = answers.read_text()
    answers.write_text(text.replace("autoscale: {min: 1, max: 3}", "autoscale: {min: 1, max: 100}"))
    code, out, err = json_run(tmp_path, capsys, "plan", str(answers), "--detailed-exitcode")
    assert code == exit_codes.PLAN and out[0]["preflight"]["ok"] is False  # the GPU family quota
    code, out, err = json_run(tmp_path, capsys, "apply", str(answers))
    assert code == exit_codes.PLAN and [d["kind"] for d in out] == ["plan", "error"]
    assert out[-1]["exit_code"] == exit_codes.PLAN and "--skip-preflight" in out[-1]["action"]
    answers.write_text(text)

    log = tmp_path / "wizard.log"
    code, out, err = json_run(tmp_path, capsys, "--log-file", str(log), "apply", str(answers), faults=("lro-failed",))
    result = out[-1]
    assert code == exit_codes.AZURE and result["kind"] == "result" and result["status"] == "failed"
    failure = result["failure"]
    assert failure["what"] and failure["action"] and failure["request_id"] and failure["correlation_id"]
    failed = [d for d in out if d["kind"] == "event" and d["event"] == "failed"]
    assert failed and failed[0]["data"]["failure"]["request_id"]
    assert "What to do" in err
    logged = log.read_text()  # the support ticket's copy: the step failed, in words, with its ids
    assert re.search(r"ERROR .*wizard\.events: failed cluster: ", logged) and "What to do" in logged
    assert failure["request_id"] in logged


@pytest.mark.parametrize("argv, says", [
    (["plan"], "required: file"),
    (["apply", "a.yaml", "--bogus"], "unrecognized arguments"),
    (["verify", "--checklist", "1.33"], "invalid choice"),
    (["verify", "-g", "rg"], "go together"),
    (["gpu-sizes", "-l", "eastus2", "--min", "3", "--max", "1"], "--min"),
    (["--simulate", "--sim-speed", "0", "plan", "a.yaml"], "--sim-speed must be a number above 0"),
    (["--simulate", "--sim-speed", "nan", "plan", "a.yaml"], "--sim-speed must be a number above 0"),
    (["--simulate", "--sim-state", "/nonexistent/dir/sim.json", "plan", "a.yaml"], "does not exist"),
    (["--log-file", "/nonexistent/dir/log.txt", "plan", "a.yaml"], "does not exist"),
    (["--log-file", ".", "plan", "a.yaml"], "cannot write the log file"),
])
def test_usage_and_local_problems_are_invalid_input(argv: list[str], says: str, tmp_path: Path, capsys):
    from wizard.cli import main

    copy_example(tmp_path).rename(tmp_path / "a.yaml")
    os.chdir(tmp_path)
    assert main([*argv, "--output", "json"]) == exit_codes.INVALID
    captured = capsys.readouterr()
    (error,) = docs(captured.out)
    assert error["kind"] == "error" and error["exit_code"] == exit_codes.INVALID and says in error["what"]
    assert says in captured.err and "Traceback" not in captured.err and "support" not in captured.err
    assert main(argv) == exit_codes.INVALID  # text output: the same code
    assert capsys.readouterr().out == ""


def test_corrupt_sim_state_and_unreadable_journal_are_invalid_input(tmp_path: Path, capsys):
    answers = copy_example(tmp_path)
    (tmp_path / "sim.json").write_text("{not json")
    code, out, err = json_run(tmp_path, capsys, "plan", str(answers))
    assert code == exit_codes.INVALID and "cannot read simulator state" in out[0]["what"]
    assert "Azure operation failed" not in err
    (tmp_path / "sim.json").unlink()
    (tmp_path / "answers.journal.jsonl").mkdir()  # a journal that cannot be read at all (damaged lines are skipped)
    code, out, err = json_run(tmp_path, capsys, "teardown", str(answers), "--yes")
    assert code == exit_codes.INVALID and "cannot read the journal" in out[0]["what"]


def test_log_file_holds_step_events_and_request_ids_but_no_token(applied: Path, capsys):
    log = applied / "wizard.log"
    path = applied / "answers.yaml"
    path.write_text(path.read_text().replace("keda: true", "keda: false"))
    assert run(applied, "--log-file", str(log), "apply", str(path), "--allow-update", "-q") == exit_codes.OK
    text = log.read_text()
    assert re.search(r"wizard\.events: started cluster: update cluster aks-ai", text)
    assert re.search(r"wizard\.events: done cluster:", text)
    assert re.search(r"'x-ms-correlation-request-id': '[0-9a-f-]{36}'", text)
    assert re.search(r"'x-ms-request-id': '[0-9a-f-]{36}'", text)
    assert "'Authorization': 'REDACTED'" in text and "Bearer" not in text


def test_quiet_keeps_results_and_drops_progress(applied: Path, capsys):
    assert run(applied, "plan", str(applied / "answers.yaml"), "-q") == exit_codes.OK
    out = capsys.readouterr().out
    assert out.startswith("No changes") and "az aks" not in out


def test_ctrl_c_during_apply_is_130_and_one_line(tmp_path: Path):
    answers = copy_example(tmp_path)
    proc = spawn(tmp_path, "apply", str(answers), "--output", "json", speed="30")
    try:
        wait_for(lambda: operation_recorded(tmp_path, "cluster"))
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == exit_codes.INTERRUPTED, err
    assert "Traceback" not in err and len([ln for ln in err.splitlines() if "interrupt" in ln]) == 2
    result = docs(out)[-1]
    assert result["kind"] == "result" and result["status"] == "cancelled" and result["exit_code"] == 130


def test_ctrl_c_twice_during_teardown_quits_at_once_without_traceback(applied: Path):
    proc = spawn(applied, "teardown", str(applied / "answers.yaml"), "--yes", speed="2")
    try:
        wait_for(lambda: any(r.get("step") == "delete-cluster" and r.get("event") == "started"
                             for r in map(json.loads, (applied / "answers.journal.jsonl").read_text().splitlines())))
        proc.send_signal(signal.SIGINT)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == exit_codes.INTERRUPTED, err
    assert "Traceback" not in err and err.strip().splitlines()[-1].startswith("interrupted:")


def test_help_has_examples_and_completion_scripts_for_three_shells():
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for command in ("plan", "apply", "teardown", "verify", "gpu-sizes", "schema", "completion"):
        out = subprocess.run([sys.executable, "-m", "wizard", command, "--help"], capture_output=True, text=True,
                             env=env, cwd=REPO)
        assert out.returncode == 0 and "examples:\n  aks-ai-wizard" in out.stdout and "exit codes:" in out.stdout
    for shell, marker in (("bash", "_python_argcomplete"), ("zsh", "#compdef aks-ai-wizard"), ("fish", "complete --command aks-ai-wizard")):
        out = subprocess.run([sys.executable, "-m", "wizard", "completion", shell], capture_output=True, text=True,
                             env=env, cwd=REPO)
        assert out.returncode == 0 and marker in out.stdout, (shell, out.stdout[:300])


def test_completion_answers_a_shell_asking(tmp_path: Path):
    """What a shell does on <TAB>: argcomplete's protocol, answered by the real parser."""
    line, answer = "aks-ai-wizard pl", tmp_path / "completions"
    env = {**os.environ, "PYTHONPATH": str(REPO), "_ARGCOMPLETE": "1", "COMP_LINE": line,
           "COMP_POINT": str(len(line)), "_ARGCOMPLETE_STDOUT_FILENAME": str(answer)}
    out = subprocess.run([sys.executable, "-m", "wizard"], capture_output=True, text=True, env=env, cwd=REPO,
                         stdin=subprocess.DEVNULL)
    assert out.returncode == 0 and answer.read_text().split() == ["plan"], out.stderr[-300:]


def test_ctrl_c_during_the_preflight_is_130_and_one_line(tmp_path: Path, capsys, monkeypatch):
    """SIGINT arrives while the preflight runs (sent from inside it, so the moment is certain)."""
    import wizard.preflight as preflight

    real = preflight.run_preflight

    def interrupted(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)  # the default handler raises KeyboardInterrupt right here
        return real(*args, **kwargs)

    monkeypatch.setattr(preflight, "run_preflight", interrupted)
    answers = copy_example(tmp_path)
    code, out, err = json_run(tmp_path, capsys, "plan", str(answers))
    assert code == exit_codes.INTERRUPTED and [d["category"] for d in out] == ["interrupted"]
    assert err.strip().splitlines() == [err.strip()] and err.startswith("interrupted:")
