"""Running the CLI against the simulator across processes (--sim-state) and reading what it sent: the helpers
of the end-to-end tests."""
from __future__ import annotations

import json
from pathlib import Path

from tests.support.preflight import sim_conn
from wizard.cli import main
from wizard.sim import read_requests

REPO = Path(__file__).resolve().parents[2]  # the repository
FAST = ["--simulate", "--sim-speed", "100000"]


def copy_example(directory: Path) -> Path:
    """The shipped example, with the closing verification read-only: these tests are about applying (the
    probes have tests of their own), and probes would only add time."""
    text = (REPO / "examples" / "answers.yaml").read_text()
    assert "probes: true" in text
    # read-only checks cannot prove conformance (Partially): these runs do not require it (exit 4 otherwise)
    assert "require_conformance: true" in text
    (directory / "answers.yaml").write_text(text.replace("probes: true", "probes: false")
                                            .replace("require_conformance: true", "require_conformance: false"))
    return directory / "answers.yaml"


def run(workdir: Path, *args: str, faults: tuple[str, ...] = ()) -> int:
    argv = [*FAST, "--sim-state", str(workdir / "sim.json")]
    for f in faults:
        argv += ["--sim-fault", f]
    return main([*argv, *args])


def writes(workdir: Path, since: int = 0) -> list[dict]:
    """Requests that change something in Azure: not the cluster's Kubernetes API (add-ons and probes write
    there), and not credential listing (a POST that only reads)."""
    return [r for r in read_requests(workdir / "sim.json")[since:]
            if r["method"] in ("PUT", "POST", "PATCH", "DELETE") and not r["path"].startswith("/k8s/")
            and not r["path"].lower().endswith("credential")]


def accepted(reqs: list[dict], suffix: str, method: str = "PUT") -> list[dict]:
    """Requests Azure accepted whose path ends with suffix (case-insensitive, like ARM)."""
    return [r for r in reqs if r["method"] == method and r["path"].lower().endswith(suffix)
            and 200 <= r["status"] < 300]


def journal(workdir: Path) -> list[dict]:
    return [json.loads(line) for line in (workdir / "answers.journal.jsonl").read_text().splitlines()]


def unregister_provider(workdir: Path, namespace: str) -> None:
    """A subscription where `namespace` is not registered, made through the real SDK client."""
    from wizard.sim import Simulator

    with Simulator(speed=1e5, state_file=workdir / "sim.json") as s:
        conn = sim_conn(s)
        conn.resources.providers.unregister(namespace)
        s.release()
        assert conn.resources.providers.get(namespace).registration_state == "Unregistered"
        s.save()
