"""`aks-ai-wizard verify FLEET_FILE`: every member of a fleet verified through the real SDK and kubernetes clients
against the simulator (--sim-state), one members x requirements table, each member's reports, exit 4 when one
member falls short; a member that does not exist is a row that says so, never a traceback."""
from __future__ import annotations

import json
from pathlib import Path

from tests.support.cli import run, writes
from tests.integration.test_fleet import MINIMAL, SMALL_GPU, granted

# what probes prove on a one-GPU member in seconds; pod and cluster autoscaling need a second GPU node (billable)
ONLY = [arg for r in ("dra_support", "ai_inference", "gang_scheduling", "accelerator_metrics", "ai_service_metrics",
                      "secure_accelerator_access", "robust_controller") for arg in ("--only", r)]
FLEET = MINIMAL + SMALL_GPU + "verify: {probes: false}\nfleet: {count: COUNT, cluster_name: 'aks-ai-{n:02d}'}\n"


def degrade(workdir: Path, cluster: str, *names: str) -> None:
    """Make one member's simulated cluster fall short (wizard.sim.kube.degrade), saved in the world file."""
    from wizard.sim import Simulator

    sim = Simulator(speed=1e5, state_file=workdir / "sim.json").start()
    try:
        rec = next(c for c in sim.world.clusters.values() if c["name"] == cluster)
        sim.kube.degrade(rec["kube_id"], *names)
        sim.save()
    finally:
        sim.stop()


def rows(text: str) -> dict[str, list[str]]:
    """The members x requirements table: member -> cells (the header row under 'member')."""
    return {line.split()[0]: line.split()[1:] for line in text.splitlines()
            if line.startswith(("member ", "aks-ai-")) and len(line.split()) > 5}


def test_verify_of_a_fleet_file_gives_the_members_table_and_exit_4_when_one_member_falls_short(
        tmp_path: Path, capsys):
    granted(tmp_path, standardNCASv3_T4Family=1000)
    answers = tmp_path / "fleet.yaml"
    answers.write_text(FLEET.replace("COUNT", "3"))
    assert run(tmp_path, "apply", str(answers), "--parallel", "3", "--conformance-not-required") == 0
    capsys.readouterr()
    before = len(writes(tmp_path))

    reports = tmp_path / "reports"
    assert run(tmp_path, "verify", str(answers), "--probes", "--report", str(reports), "--parallel", "2",
               "--output", "json", *ONLY) == 0
    docs = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    fv = next(d for d in docs if d["kind"] == "fleet-verification")
    assert [m["member"] for m in fv["members"]] == ["aks-ai-01", "aks-ai-02", "aks-ai-03"]
    assert all(m["error"] is None and m["report"]["must_ok"] for m in fv["members"])
    for n in (1, 2, 3):
        report = json.loads((reports / f"aks-ai-0{n}" / "report.json").read_text())
        assert report["must_ok"] and report["metadata"]["cluster_name"] == f"aks-ai-0{n}"
        assert (reports / f"aks-ai-0{n}" / "PRODUCT.yaml").exists()
    assert len(writes(tmp_path)) == before, "verify writes nothing to Azure"

    degrade(tmp_path, "aks-ai-02", "no-gpus")
    assert run(tmp_path, "verify", str(answers), "--probes", *ONLY) == 4
    table = rows(capsys.readouterr().out)
    header = table["member"]
    assert header[-1] == "MUST" and "dra_support" in header
    assert table["aks-ai-01"][-2:] == ["all", "pass"] and table["aks-ai-03"][-2:] == ["all", "pass"]
    assert table["aks-ai-02"][-3:] == ["NOT", "all", "pass"]
    assert table["aks-ai-02"][header.index("secure_accelerator_access")] == "FAIL", "no GPU on member 2"
    assert table["aks-ai-01"][header.index("secure_accelerator_access")] == "pass"

    # a member the fleet file names that was never created: its row says so, the others are verified
    bigger = tmp_path / "bigger.yaml"
    bigger.write_text(FLEET.replace("COUNT", "4"))
    assert run(tmp_path, "verify", str(bigger), "--probes", "--only", "dra_support") == 4
    out = capsys.readouterr()
    assert "Traceback" not in out.err
    row = next(line for line in out.out.splitlines() if line.startswith("aks-ai-04 "))
    assert "not verified: cluster aks-ai-04 not found in resource group rg-aks-ai-04" in row
    assert next(line for line in out.out.splitlines() if line.startswith("aks-ai-01 ")).endswith("all pass")
    assert "Not conformant: aks-ai-04 (1 of 4 members)" in out.out, "DRA is served on the degraded member too"

    # a single-cluster answers file: that cluster, as -g/-n would, its report where asked
    single = tmp_path / "single.yaml"
    single.write_text(MINIMAL.replace("rg-aks-ai", "rg-aks-ai-03").replace("name: aks-ai", "name: aks-ai-03")
                      + SMALL_GPU)
    assert run(tmp_path, "verify", str(single), "--probes", "--only", "secure_accelerator_access",
               "--report", str(tmp_path / "single")) == 0
    out = capsys.readouterr()
    assert "Verifying aks-ai-03 (rg-aks-ai-03)" in out.out and "Every MUST requirement passed" in out.out
    assert json.loads((tmp_path / "single" / "report.json").read_text())["metadata"]["cluster_name"] == "aks-ai-03"


def test_verify_takes_an_answers_file_or_a_cluster_not_both(tmp_path: Path, capsys):
    answers = tmp_path / "fleet.yaml"
    answers.write_text(FLEET.replace("COUNT", "2"))
    assert run(tmp_path, "verify", str(answers), "-g", "rg", "-n", "x") == 1
    assert "give an answers file, or --resource-group/--name, or --kubeconfig: one of them" in capsys.readouterr().err
    answers.write_text(FLEET.replace("COUNT", "0"))
    assert run(tmp_path, "verify", str(answers)) == 1
    err = capsys.readouterr().err
    assert "invalid answers; nothing was sent to Azure" in err and "fleet.count" in err and "Traceback" not in err
