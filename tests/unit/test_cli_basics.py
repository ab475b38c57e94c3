"""CLI behaviour that needs no Azure: lazy imports, schema, invalid answers exit 1 with no request."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "wizard", *args], capture_output=True, text=True,
                          cwd=cwd or REPO, env=env, timeout=timeout, stdin=subprocess.DEVNULL)


def test_help_imports_neither_azure_nor_textual():
    code = ("import sys\nfrom wizard.cli import build_parser\n"
            "try:\n    build_parser().parse_args(['--help'])\nexcept SystemExit:\n    pass\n"
            "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('azure', 'textual', 'kubernetes', 'pydantic'))\n"
            "print('HEAVY', heavy)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert "usage: aks-ai-wizard" in out.stdout
    assert "HEAVY []" in out.stdout, out.stdout


def test_schema_command_prints_json_schema():
    out = run_cli("schema")
    assert out.returncode == 0
    schema = json.loads(out.stdout)
    assert schema["additionalProperties"] is False
    assert {"azure", "resource_group", "cluster", "gpu_pool"} <= set(schema["properties"])


def test_invalid_answers_exit_1_listing_every_error_and_send_nothing(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(textwrap.dedent("""\
        version: 1
        azure: {subscription: Simulated Subscription, location: eastus2}
        resource_group: {name: "rg."}
        cluster:
          name: -aks
          kubernetes_version: "1.33"
          gateway_api: true
          istio: {enabled: false}
        gpu_pool: {name: GPU-Pool, vm_size: Standard_NC4as_T4_v3, count: 5, autoscale: {min: 1, max: 3}, taints: ["nope"]}
        kueu: {install: true}
        """))
    state = tmp_path / "sim.json"
    out = run_cli("--simulate", "--sim-state", str(state), "apply", str(bad))
    assert out.returncode == 1, out.stderr
    for fragment in ("resource_group.name", "cluster.name", "cluster.kubernetes_version", "cluster.gateway_api",
                     "gpu_pool.name", "gpu_pool.count", "gpu_pool.taints[0]", "did you mean 'kueue'",
                     "nothing was sent to Azure"):
        assert fragment in out.stderr, (fragment, out.stderr)
    assert not state.exists()  # the simulator was never even started
    assert not (tmp_path / "bad.journal.jsonl").exists()


def test_malformed_yaml_reports_line_and_column(tmp_path: Path):
    bad = tmp_path / "broken.yaml"
    bad.write_text("version: 1\nazure: {subscription: x, location: eastus2\ncluster: {name: a}\n")
    out = run_cli("plan", str(bad))
    assert out.returncode == 1
    assert "broken.yaml:3:" in out.stderr or "broken.yaml:2:" in out.stderr, out.stderr


@pytest.mark.parametrize("argv", [["apply", "--simulate", "missing.yaml"], ["--simulate", "apply", "missing.yaml"]])
def test_global_options_before_or_after_command(argv: list[str], tmp_path: Path):
    out = run_cli(*argv, cwd=tmp_path)
    assert out.returncode == 1 and "not found" in out.stderr


def test_a_skip_fails_the_run_in_ci_and_stays_a_skip_elsewhere(tmp_path: Path):
    """tests/conftest.py: with CI=true a missing prerequisite (../shared, tmux) fails the run instead of skipping."""
    (tmp_path / "test_needs_shared.py").write_text(
        "import pytest\n\npytestmark = pytest.mark.skipif(True, reason='no ../shared')\n\n"
        "def test_contract():\n    pass\n\n"
        "def test_inline():\n    pytest.skip('no tmux')\n")
    for ci, code, says in (("true", 1, "skipped in CI"), ("", 0, "2 skipped")):
        env = {**os.environ, "PYTHONPATH": str(REPO), "CI": ci}
        out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "tests.conftest", "-p", "no:cacheprovider",
                              "test_needs_shared.py"], capture_output=True, text=True, cwd=tmp_path, env=env)
        assert out.returncode == code and says in out.stdout, out.stdout[-500:]
