"""Safe re-runs, teardown of exactly what was created, one run at a time, kill -9, and the fault matrix.

Everything goes through the real CLI, the real SDK clients and the embedded simulator; the simulated world
and its request log persist in a state file, so several processes act on one Azure, as they would for real.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.test_apply_sim import accepted, copy_example, journal, run, writes
from wizard.sim import Simulator, read_requests

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    copy_example(tmp_path)
    return tmp_path


def edit(workdir: Path, old: str, new: str) -> None:
    path = workdir / "answers.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def spawn(workdir: Path, *args: str, speed: str = "30") -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-m", "wizard", "--simulate", "--sim-speed", speed, "--sim-state",
                             str(workdir / "sim.json"), *args], cwd=workdir, env=env, text=True,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_for(predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


def operation_recorded(workdir: Path, step: str) -> bool:
    path = workdir / "answers.journal.jsonl"
    return path.exists() and any(r["step"] == step and r["event"] == "operation" for r in journal(workdir))


def final_state(workdir: Path) -> dict:
    """The facts a run is meant to produce, read back from the simulated Azure and cluster."""
    with Simulator(speed=1e5, state_file=workdir / "sim.json") as sim:
        world = sim.world
        clusters = {}
        for rec in world.clusters.values():
            props = rec["body"]["properties"]
            pools = {p["name"]: (p["properties"].get("vmSize"), p["properties"].get("enableAutoScaling"),
                                 p["properties"].get("minCount"), p["properties"].get("maxCount"),
                                 p["properties"].get("provisioningState"))
                     for p in rec["pools"].values()}
            kube = sim.kube.cluster(rec["kube_id"]) if rec.get("kube_id") else None
            nodes = sorted(o["metadata"]["labels"].get("agentpool", "") for o in kube.of_kind("Node")) if kube else []
            clusters[rec["body"]["name"]] = (props.get("provisioningState"), props.get("currentKubernetesVersion"),
                                             json.dumps(props.get("serviceMeshProfile"), sort_keys=True),
                                             json.dumps(props.get("ingressProfile"), sort_keys=True), pools, nodes)
        groups = sorted(r["body"]["name"] for r in world.resource_groups.values()
                        if not r["body"]["name"].startswith("MC_"))
        return {"groups": groups, "clusters": clusters}


# ------------------------------------------------------------------------------------------------ teardown
def test_teardown_deletes_only_what_was_created_and_keeps_flags(workdir: Path, capsys):
    assert run(workdir, "apply", str(workdir / "answers.yaml")) == 0
    capsys.readouterr()
    mark = len(read_requests(workdir / "sim.json"))
    assert run(workdir, "teardown", str(workdir / "answers.yaml")) == 1  # no terminal to confirm on
    assert "--yes" in capsys.readouterr().err
    assert writes(workdir, mark) == []
    assert run(workdir, "teardown", str(workdir / "answers.yaml"), "--yes") == 0
    out = capsys.readouterr().out
    assert "ManagedGatewayAPIPreview" in out and "stay registered" in out
    deletes = [r for r in writes(workdir, mark) if r["method"] == "DELETE"]
    assert [r["path"].lower().rsplit("/", 2)[-2:] for r in deletes] == [
        ["managedclusters", "aks-ai"], ["datacollectionrules", "msprom-eastus2-aks-ai"],
        ["datacollectionendpoints", "msprom-eastus2-aks-ai"], ["resourcegroups", "rg-aks-ai"]]
    assert not [r for r in writes(workdir, mark) if "unregister" in r["path"].lower()]
    # the default Azure Monitor workspace is shared by the region's clusters: kept, and said so
    assert "keeps Azure Monitor workspace DefaultAzureMonitorWorkspace-eastus2" in out
    assert final_state(workdir) == {"groups": ["DefaultResourceGroup-eastus2"], "clusters": {}}
    assert run(workdir, "teardown", str(workdir / "answers.yaml"), "--yes") == 0  # nothing left: a no-op
    assert "Nothing to delete" in capsys.readouterr().out


def test_teardown_keeps_a_group_that_existed_before_and_a_group_with_other_resources(workdir: Path, capsys):
    from tests.conftest import arm_clients

    with Simulator(speed=1e5, state_file=workdir / "sim.json") as sim:  # someone made the group first
        arm_clients(sim).resources.resource_groups.create_or_update("rg-aks-ai", {"location": "eastus2"})
    assert run(workdir, "apply", str(workdir / "answers.yaml")) == 0
    assert run(workdir, "teardown", str(workdir / "answers.yaml"), "--yes") == 0
    out = capsys.readouterr().out
    assert "keeps resource group rg-aks-ai: it existed before this wizard" in out
    assert final_state(workdir)["groups"] == ["DefaultResourceGroup-eastus2", "rg-aks-ai"]

    other = workdir / "other"
    other.mkdir()
    copy_example(other)
    shutil.copy(workdir / "sim.json", other / "sim.json")
    edit(other, "rg-aks-ai", "rg-shared")
    assert run(other, "apply", str(other / "answers.yaml")) == 0
    with Simulator(speed=1e5, state_file=other / "sim.json") as sim:  # a second cluster lands in the group
        from wizard.answers import load_answers
        from wizard.spec import Resolved, desired_cluster
        a = load_answers(other / "answers.yaml")
        body = desired_cluster(a, Resolved(sim.subscription_id, "", "1.34.3", None, ()), include_gpu_pool=False)
        body.service_mesh_profile = body.ingress_profile = None
        arm_clients(sim).aks.managed_clusters.begin_create_or_update("rg-shared", "not-ours", body).result()
    capsys.readouterr()
    assert run(other, "teardown", str(other / "answers.yaml"), "--yes") == 0
    out = capsys.readouterr().out
    assert "keeps resource group rg-shared: it holds other resources" in out and "not-ours" in out
    assert set(final_state(other)["clusters"]) == {"not-ours"}


# ------------------------------------------------------------------------------------------------ failed create
def test_failed_first_create_is_explained_and_recreated_only_with_consent(workdir: Path, capsys):
    assert run(workdir, "apply", str(workdir / "answers.yaml"), faults=("lro-failed",)) == 3
    capsys.readouterr()
    assert run(workdir, "plan", str(workdir / "answers.yaml")) == 0
    out = capsys.readouterr().out
    assert "is Failed (Azure: VMExtensionProvisioningError" in out and "--recreate-failed" in out
    mark = len(read_requests(workdir / "sim.json"))
    assert run(workdir, "apply", str(workdir / "answers.yaml"), "--recreate-failed") == 0
    later = writes(workdir, mark)
    assert [r["method"] for r in later if r["path"].lower().endswith("/managedclusters/aks-ai")
            and r["method"] in ("DELETE", "PUT")] == ["DELETE", "PUT"]
    assert final_state(workdir)["clusters"]["aks-ai"][0] == "Succeeded"


# ------------------------------------------------------------------------------------------------ one at a time
def test_a_second_run_sees_the_lock_with_the_holders_pid(workdir: Path):
    first = spawn(workdir, "apply", "answers.yaml", speed="60")
    try:
        wait_for(lambda: (workdir / "answers.journal.lock").exists())
        second = spawn(workdir, "apply", "answers.yaml", speed="60")
        out, err = second.communicate(timeout=60)
        assert second.returncode == 1
        assert f"pid {first.pid}" in err and "started" in err
    finally:
        first.wait(timeout=120)
    assert first.returncode == 0


# ------------------------------------------------------------------------------------------------ fault matrix
CLUSTER_FAULTS = ["gpu-quota", "sku-unavailable", "throttle", "lro-failed", "conflict", "connection-drop"]
POOL_FAULTS = ["gpu-quota", "sku-unavailable", "throttle", "connection-drop"]  # faults the pool PUT can meet
MATRIX = [(f, "cluster") for f in CLUSTER_FAULTS] + [(f, "gpu-pool") for f in POOL_FAULTS] + \
         [("kill-9", "cluster"), ("kill-9", "gpu-pool")]
RESULTS: list[str] = []


@pytest.fixture(scope="module")
def clean_state(tmp_path_factory) -> dict:
    """What a clean run produces, for the matrix to compare against."""
    d = tmp_path_factory.mktemp("clean")
    copy_example(d)
    assert run(d, "apply", str(d / "answers.yaml")) == 0
    return final_state(d)


def _without_gpu_pool(workdir: Path) -> None:
    text = (workdir / "answers.yaml").read_text()
    head, _, tail = text.partition("gpu_pool:")
    rest = tail[tail.index("\nkueue:"):]
    (workdir / "answers-nogpu.yaml").write_text(head + rest.lstrip("\n"))


@pytest.mark.parametrize("fault,step", MATRIX, ids=[f"{f}@{s}" for f, s in MATRIX])
def test_fault_matrix(fault: str, step: str, workdir: Path, clean_state: dict, capsys):
    answers = str(workdir / "answers.yaml")
    if step == "gpu-pool":  # the pool step exists when the cluster already does: add the GPU pool later
        _without_gpu_pool(workdir)
        shutil.copy(workdir / "answers-nogpu.yaml", workdir / "first.yaml")
        assert run(workdir, "apply", str(workdir / "first.yaml")) == 0
        shutil.copy(workdir / "first.journal.jsonl", workdir / "answers.journal.jsonl")
    mark = len(read_requests(workdir / "sim.json"))
    if fault == "kill-9":
        proc = spawn(workdir, "apply", "answers.yaml", speed="20")
        wait_for(lambda: operation_recorded(workdir, step), timeout=90)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    else:
        # the gpu-quota fault also shows in the usage reads, so preflight would stop first: force it through
        forced = ("--skip-preflight",) if fault == "gpu-quota" else ()
        assert run(workdir, "apply", answers, *forced, faults=(fault,)) == 3
        text = "".join(capsys.readouterr())
        assert f"failed    {step}" in text and "What happened" in text
    records = journal(workdir)
    step_records = [r for r in records if r["step"] == step]
    assert step_records and step_records[0]["event"] == "started"
    assert all(r.get("run") and r.get("ts") for r in records)  # no torn or foreign lines

    capsys.readouterr()
    assert run(workdir, "apply", answers) == 0  # the fault cleared
    capsys.readouterr()
    reqs = writes(workdir, mark)
    target = "/managedclusters/aks-ai" if step == "cluster" else "/agentpools/gpunp"
    puts = accepted(reqs, target)
    # a write that Azure accepted and that succeeded is never sent again; a failed operation is retried once
    expected = 2 if fault in ("lro-failed", "sku-unavailable") else 1
    assert len(puts) == expected, [(r["method"], r["path"], r["status"]) for r in reqs]
    assert [r for r in reqs if r["method"] == "DELETE"] == []
    state = final_state(workdir)
    assert state == clean_state
    RESULTS.append(f"{fault}@{step}: stopped, journal consistent, resumed to the clean state with "
                   f"{len(puts)} accepted PUT(s), no DELETE")


def test_fault_matrix_summary(capsys):
    with capsys.disabled():
        print(f"\nfault matrix: {len(RESULTS)} of {len(MATRIX)} cases passed")
        for line in RESULTS:
            print("  " + line)
    assert len(RESULTS) == len(MATRIX)
