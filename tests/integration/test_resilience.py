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

from tests.support.cli import accepted, copy_example, journal, run, writes
from wizard.journal import Journal
from wizard.sim import Simulator, read_requests

REPO = Path(__file__).resolve().parents[2]


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
        from wizard.sim.network import SEEDED_GROUP  # the simulated subscription's hub network, there before

        groups = sorted(r["body"]["name"] for r in world.resource_groups.values()
                        if not r["body"]["name"].startswith("MC_") and r["body"]["name"] != SEEDED_GROUP)
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


def deletes_since(workdir: Path, mark: int) -> list[str]:
    return ["/".join(r["path"].lower().rsplit("/", 2)[-2:]) for r in writes(workdir, mark) if r["method"] == "DELETE"]


def monitor_names(workdir: Path) -> set[str]:
    with Simulator(speed=1e5, state_file=workdir / "sim.json") as sim:
        return {r["body"]["name"].lower() for r in sim.world.monitor.values()}


LONG_A, LONG_B = "team-alpha-gpu-training-pool-cluster-a", "team-alpha-gpu-training-pool-cluster-b"


def test_two_clusters_in_one_group_never_touch_each_other(workdir: Path, capsys):
    """Names long enough that the two clusters share one data collection endpoint name (Azure's 44-character
    cut): each teardown deletes only its own cluster and rule, and the endpoint goes with its last user."""
    edit(workdir, "name: aks-ai\n", f"name: {LONG_A}\n")
    text = (workdir / "answers.yaml").read_text().replace(LONG_A, LONG_B)
    (workdir / "b.yaml").write_text(text.replace("gpu_pool:", "gpu_pool_off:").split("gpu_pool_off:")[0] +
                                    text[text.index("\nkueue:") + 1:])
    assert run(workdir, "apply", str(workdir / "answers.yaml")) == 0
    assert run(workdir, "apply", str(workdir / "b.yaml")) == 0
    dce = "msprom-eastus2-team-alpha-gpu-training-pool"
    assert dce in monitor_names(workdir)
    capsys.readouterr()
    mark = len(read_requests(workdir / "sim.json"))
    assert run(workdir, "teardown", str(workdir / "answers.yaml"), "--yes") == 0
    out = capsys.readouterr().out
    assert deletes_since(workdir, mark) == [f"managedclusters/{LONG_A}", f"datacollectionrules/msprom-eastus2-{LONG_A}"]
    assert f"data collection endpoint {dce}: data collection rule msprom-eastus2-{LONG_B} sends through it" \
        in out.lower()
    assert "keeps resource group rg-aks-ai: it holds other resources" in out
    assert set(final_state(workdir)["clusters"]) == {LONG_B}
    assert {dce, f"msprom-eastus2-{LONG_B}", f"containerinsightsmetricsextension-eastus2-{LONG_B}"[:64]} <= \
        monitor_names(workdir)

    mark = len(read_requests(workdir / "sim.json"))
    assert run(workdir, "teardown", str(workdir / "b.yaml"), "--yes") == 0
    out = capsys.readouterr().out
    assert deletes_since(workdir, mark) == [f"managedclusters/{LONG_B}", f"datacollectionrules/msprom-eastus2-{LONG_B}"]
    assert "keeps resource group rg-aks-ai: it existed before this wizard" in out
    # the endpoint's last user is gone: the first answers file's teardown, run again, takes the rest
    mark = len(read_requests(workdir / "sim.json"))
    assert run(workdir, "teardown", str(workdir / "answers.yaml"), "--yes") == 0
    assert deletes_since(workdir, mark) == [f"datacollectionendpoints/{dce}", "resourcegroups/rg-aks-ai"]
    assert final_state(workdir) == {"groups": ["DefaultResourceGroup-eastus2"], "clusters": {}}


def test_the_journal_sees_the_managed_prometheus_wiring_step_by_step(workdir: Path, capsys):
    """Five steps, each done with its own object's id (and what it created, for teardown); a rule deleted behind
    the wizard's back is the only thing the next apply writes for the wiring."""
    assert run(workdir, "apply", str(workdir / "answers.yaml")) == 0
    j = Journal.for_answers(workdir / "answers.yaml")
    done = [r for r in j.records() if r["event"] == "done" and r["step"].startswith("monitor-")]
    assert [r["step"] for r in done] == ["monitor-providers", "monitor-workspace", "monitor-dce", "monitor-dcr",
                                         "monitor-dcra"]
    by_step = {r["step"]: r for r in done}
    assert by_step["monitor-dce"]["resource_id"].endswith("/dataCollectionEndpoints/MSProm-eastus2-aks-ai")
    assert by_step["monitor-dcr"]["created_ids"] == [by_step["monitor-dcr"]["resource_id"]]
    assert by_step["monitor-workspace"]["created_ids"] == [by_step["monitor-workspace"]["resource_id"]]
    intents = [r["resource_id"] for r in j.records() if r["event"] == "intent" and r["step"] == "monitor-dcr"]
    assert intents == by_step["monitor-dcr"]["created_ids"]  # recorded before the create was sent
    with Simulator(speed=1e5, state_file=workdir / "sim.json") as sim:
        sim.world.monitor.pop(by_step["monitor-dcr"]["resource_id"].lower())
    mark = len(read_requests(workdir / "sim.json"))
    assert run(workdir, "apply", str(workdir / "answers.yaml")) == 0
    monitor_writes = [(w["method"], w["path"].rsplit("/", 2)[-2]) for w in writes(workdir, mark)
                      if "/Microsoft.Insights/" in w["path"] or "/Microsoft.Monitor/" in w["path"]]
    assert monitor_writes == [("PUT", "dataCollectionRules")]


def test_two_rules_of_ours_are_two_steps_and_both_run(workdir: Path, capsys):
    """A later run made a second data collection rule (the workspace moved region): teardown has one step per
    rule, each with its own id, and every one of them runs before it says done."""
    from azure.mgmt.monitor import MonitorManagementClient
    from azure.mgmt.monitor import models as mm

    from tests.conftest import _allow_http_policy

    assert run(workdir, "apply", str(workdir / "answers.yaml")) == 0
    j = Journal.for_answers(workdir / "answers.yaml")
    with Simulator(speed=1e5, state_file=workdir / "sim.json") as sim:
        mon = MonitorManagementClient(sim.credential, sim.subscription_id, base_url=sim.base_url,
                                      per_call_policies=[_allow_http_policy()])
        first = mon.data_collection_rules.get("rg-aks-ai", "MSProm-eastus2-aks-ai")
        second = mm.DataCollectionRuleResource(
            location="eastus2", kind="Linux", tags=dict(first.tags), description=first.description,
            data_collection_endpoint_id=first.data_collection_endpoint_id, data_sources=first.data_sources,
            destinations=first.destinations, data_flows=first.data_flows)
        made = mon.data_collection_rules.create("rg-aks-ai", "MSProm-westus2-aks-ai", body=second)
        j.append("monitor-workspace", "intent", creates=True, resource_id=made.id)
    capsys.readouterr()
    mark = len(read_requests(workdir / "sim.json"))
    assert run(workdir, "teardown", str(workdir / "answers.yaml"), "--yes") == 0
    out = capsys.readouterr().out
    assert "Teardown done." in out
    assert sorted(d for d in deletes_since(workdir, mark) if d.startswith("datacollectionrules/")) == [
        "datacollectionrules/msprom-eastus2-aks-ai", "datacollectionrules/msprom-westus2-aks-ai"]
    assert final_state(workdir) == {"groups": ["DefaultResourceGroup-eastus2"], "clusters": {}}


def test_a_resource_whose_tags_say_it_is_not_ours_is_never_deleted(workdir: Path, capsys):
    from tests.conftest import arm_clients

    assert run(workdir, "apply", str(workdir / "answers.yaml")) == 0
    with Simulator(speed=1e5, state_file=workdir / "sim.json") as sim:  # someone re-tags the cluster as theirs
        aks = arm_clients(sim).aks.managed_clusters
        cluster = aks.get("rg-aks-ai", "aks-ai")
        assert cluster.tags["created-by"] == "aks-ai-wizard" and cluster.tags["aks-ai-wizard-answers"].startswith(
            "answers.yaml:") and cluster.tags["aks-ai-wizard-run"]
        cluster.tags = {"created-by": "aks-ai-wizard", "aks-ai-wizard-answers": "other.yaml:0123456789ab"}
        aks.begin_create_or_update("rg-aks-ai", "aks-ai", cluster).result()
    capsys.readouterr()
    mark = len(read_requests(workdir / "sim.json"))
    assert run(workdir, "teardown", str(workdir / "answers.yaml"), "--yes") == 0
    out = capsys.readouterr().out
    assert "cluster aks-ai: the journal says this wizard created it, but its tags say it was created from another " \
           "answers file (aks-ai-wizard-answers='other.yaml:0123456789ab'); not deleted" in out
    assert "managedclusters/aks-ai" not in deletes_since(workdir, mark)
    assert "resourcegroups/rg-aks-ai" not in deletes_since(workdir, mark)
    assert set(final_state(workdir)["clusters"]) == {"aks-ai"}


def test_lost_journal_teardown_from_tags(workdir: Path, capsys):
    assert run(workdir, "apply", str(workdir / "answers.yaml")) == 0
    (workdir / "answers.journal.jsonl").unlink()
    capsys.readouterr()
    assert run(workdir, "teardown", str(workdir / "answers.yaml"), "--yes") == 0
    assert "--from-tags" in capsys.readouterr().out
    mark = len(read_requests(workdir / "sim.json"))
    assert run(workdir, "teardown", str(workdir / "answers.yaml"), "--from-tags") == 1  # typed confirmation
    out, err = capsys.readouterr()
    assert "Teardown deletes:" in out and "delete cluster aks-ai (tagged as created by this wizard" in out
    assert "--yes" in err and writes(workdir, mark) == []
    assert run(workdir, "teardown", str(workdir / "answers.yaml"), "--from-tags", "--yes") == 0
    assert deletes_since(workdir, mark) == ["managedclusters/aks-ai", "datacollectionrules/msprom-eastus2-aks-ai",
                                            "datacollectionendpoints/msprom-eastus2-aks-ai", "resourcegroups/rg-aks-ai"]
    assert final_state(workdir) == {"groups": ["DefaultResourceGroup-eastus2"], "clusters": {}}


# ------------------------------------------------------------------------------------------------ ownership
def _interrupt_the_cluster_put(workdir: Path) -> int:
    proc = spawn(workdir, "apply", "answers.yaml", speed="30")
    wait_for(lambda: operation_recorded(workdir, "cluster"), timeout=90)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)
    time.sleep(0.5)  # the operation Azure accepted finishes there meanwhile (30x: a cluster create takes ~10 s)
    return proc.returncode


@pytest.mark.parametrize("first", ["lro-failed", "connection-drop", "ctrl-c"])
def test_teardown_never_forgets_a_cluster_a_rerun_completed(first: str, workdir: Path, capsys):
    """The first create failed, lost its connection or was interrupted; a re-run completed (retried, re-attached
    or found it finished). The cluster is still ours: teardown deletes it and the group, nothing is orphaned."""
    if first == "ctrl-c":
        assert _interrupt_the_cluster_put(workdir) == 130
    else:
        # a dropped connection is re-attached in the same run (issue 11); a failed operation stops the run
        assert run(workdir, "apply", str(workdir / "answers.yaml"), faults=(first,)) == \
            (0 if first == "connection-drop" else 3)
    assert run(workdir, "apply", str(workdir / "answers.yaml")) == 0
    claims = [r for r in journal(workdir) if r["step"] == "cluster" and r["event"] == "intent"]
    assert claims[0]["action"] == "create"  # written before the first PUT (an attach re-states it)
    capsys.readouterr()
    mark = len(read_requests(workdir / "sim.json"))
    assert run(workdir, "teardown", str(workdir / "answers.yaml"), "--yes") == 0
    assert "managedclusters/aks-ai" in deletes_since(workdir, mark)
    assert "resourcegroups/rg-aks-ai" in deletes_since(workdir, mark)
    assert final_state(workdir) == {"groups": ["DefaultResourceGroup-eastus2"], "clusters": {}}


FRAGMENTS = {kind: json.dumps({"ts": "2026-01-01T00:00:00+00:00", "run": "crashed", "step": "cluster",
                               "event": kind, "continuation_token": "x" * 40})[:38 + len(kind)]
             for kind in ("intent", "started", "operation", "interrupted", "done", "skipped", "failed", "deleted")}


@pytest.mark.parametrize("kind", list(FRAGMENTS))
def test_a_torn_record_of_each_kind_loses_nothing_after_it(kind: str, workdir: Path, capsys):
    """A run was killed while writing a record of this kind: the next run's records (the first of them the
    resource group's ownership) are read back whole, and teardown deletes everything."""
    (workdir / "answers.journal.jsonl").write_text(FRAGMENTS[kind])
    assert run(workdir, "apply", str(workdir / "answers.yaml")) == 0
    records = {(r["step"], r["event"]) for r in Journal.for_answers(workdir / "answers.yaml").records()}
    assert ("resource-group", "intent") in records and ("cluster", "intent") in records
    assert all((step, "started") in records for step, event in records if event == "done")  # none swallowed
    capsys.readouterr()
    assert run(workdir, "teardown", str(workdir / "answers.yaml"), "--yes") == 0
    err = capsys.readouterr().err
    assert "1 damaged line(s) skipped (line 1: torn or not JSON)" in err and "Traceback" not in err
    assert final_state(workdir) == {"groups": ["DefaultResourceGroup-eastus2"], "clusters": {}}


def test_kill_9_during_teardown_then_teardown_again(workdir: Path, capsys):
    assert run(workdir, "apply", str(workdir / "answers.yaml")) == 0
    proc = spawn(workdir, "teardown", "answers.yaml", "--yes", speed="20")
    wait_for(lambda: any(r["step"] == "delete-cluster" and r["event"] == "started" for r in journal(workdir)),
             timeout=90)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert run(workdir, "teardown", str(workdir / "answers.yaml"), "--yes") == 0  # the stale lock is no holder
    assert final_state(workdir) == {"groups": ["DefaultResourceGroup-eastus2"], "clusters": {}}
    capsys.readouterr()
    assert run(workdir, "teardown", str(workdir / "answers.yaml"), "--yes") == 0
    assert "Nothing to delete" in capsys.readouterr().out


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


@pytest.mark.parametrize("fault,step", [(f, s) for f in ("sku-unavailable", "gpu-quota")
                                        for s in ("cluster", "gpu-pool")])
def test_following_the_vm_size_advice_applies(fault: str, step: str, workdir: Path, capsys):
    """The failure says: change gpu_pool.vm_size. Doing just that applies (the pool never came up: not an update,
    no --allow-update, no --recreate-failed, no --skip-preflight)."""
    if step == "gpu-pool":  # the pool is added to a cluster that exists
        _without_gpu_pool(workdir)
        shutil.copy(workdir / "answers-nogpu.yaml", workdir / "first.yaml")
        assert run(workdir, "apply", str(workdir / "first.yaml")) == 0
        shutil.copy(workdir / "first.journal.jsonl", workdir / "answers.journal.jsonl")
    capsys.readouterr()
    # the gpu-quota fault also shows in the usage reads, so preflight would stop first: force it through
    forced = ("--skip-preflight",) if fault == "gpu-quota" else ()
    assert run(workdir, "apply", str(workdir / "answers.yaml"), *forced, faults=(fault,)) == 3
    out = "".join(capsys.readouterr())
    assert f"failed    {step}" in out and "Answer to change: gpu_pool.vm_size" in out
    with Simulator(speed=1e5, state_file=workdir / "sim.json") as sim:  # a family with free quota for 3 + surge
        sim.set_quota("standardNCADSA100v4Family", 96)
        sim.set_quota("cores", 200)
    edit(workdir, "vm_size: Standard_NC4as_T4_v3", "vm_size: Standard_NC24ads_A100_v4")
    assert run(workdir, "plan", str(workdir / "answers.yaml")) == 0
    assert run(workdir, "apply", str(workdir / "answers.yaml")) == 0
    pools = final_state(workdir)["clusters"]["aks-ai"][4]
    assert pools["gpunp"][0] == "Standard_NC24ads_A100_v4" and pools["gpunp"][-1] == "Succeeded"
    RESULTS.append(f"{fault}@{step}: followed its advice (gpu_pool.vm_size changed), applied with no flag")


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
CLUSTER_FAULTS = ["gpu-quota", "sku-unavailable", "throttle", "lro-failed", "conflict", "connection-drop",
                  "status-drop"]
POOL_FAULTS = ["gpu-quota", "sku-unavailable", "throttle", "conflict", "connection-drop", "status-drop"]
SAME_RUN = {"conflict", "connection-drop"}  # waited out / re-attached by the run that meets them
MATRIX = [(f, "cluster") for f in CLUSTER_FAULTS] + [(f, "gpu-pool") for f in POOL_FAULTS] + \
         [("kill-9", "cluster"), ("kill-9", "gpu-pool")]
RESULTS: list[str] = []
ADVICE = {  # what each named fault tells the user to do (following it: the re-run below, or the vm_size test)
    "gpu-quota": "Request a quota increase for the standardNCASv3_T4Family vCPU family",
    "sku-unavailable": "Pick another VM size (change gpu_pool.vm_size",
    "throttle": "Wait 1 second and run again (a run resumes where it stopped)",
    "lro-failed": "Read Azure's message above; fix what it names and run again",
    "conflict": "Wait for it to finish (`az aks",
    "connection-drop": "the next run re-attaches to it instead of sending it again",
    "status-drop": "the next run re-attaches to it instead of sending it again",
}


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
    elif fault in SAME_RUN:
        # slow enough that the operation a dropped PUT started still runs when the SDK re-sends it, as in Azure
        assert run(workdir, "--sim-speed", "300", "apply", answers, faults=(fault,)) == 0
    else:
        # the gpu-quota fault also shows in the usage reads, so preflight would stop first: force it through
        forced = ("--skip-preflight",) if fault == "gpu-quota" else ()
        assert run(workdir, "apply", answers, *forced, faults=(fault,)) == 3
        text = "".join(capsys.readouterr())
        assert f"failed    {step}" in text and "What happened" in text
        assert ADVICE[fault] in text, text  # each fault is followed by its own advice
    records = journal(workdir)
    step_records = [r for r in records if r["step"] == step]
    assert [r["event"] for r in step_records[:2]] == ["intent", "started"]  # ownership before the first write
    assert all(r.get("run") and r.get("ts") for r in records)  # no torn or foreign lines

    capsys.readouterr()
    assert run(workdir, "apply", answers) == 0  # the fault cleared (after a same-run recovery: nothing to do)
    capsys.readouterr()
    reqs = writes(workdir, mark)
    target = "/managedclusters/aks-ai" if step == "cluster" else "/agentpools/gpunp"
    puts = accepted(reqs, target)
    # a write that Azure accepted and that succeeded is never sent again; a failed operation is retried once
    expected = 2 if fault in ("lro-failed", "sku-unavailable") else 1
    if step == "cluster" and fault in ("conflict", "connection-drop", "status-drop", "kill-9"):
        expected += 1  # the create went on in Azure; the Gateway API update it deferred for its flag follows (issue 18)
    assert len(puts) == expected, [(r["method"], r["path"], r["status"]) for r in reqs]
    assert [r for r in reqs if r["method"] == "DELETE"] == []
    state = final_state(workdir)
    assert state == clean_state
    how = "finished in the same run" if fault in SAME_RUN else "stopped, journal consistent, resumed"
    RESULTS.append(f"{fault}@{step}: {how} to the clean state with {len(puts)} accepted PUT(s), no DELETE")


def test_fault_matrix_summary(capsys):
    with capsys.disabled():
        print(f"\nfault matrix: {len(MATRIX)} cases ({len(CLUSTER_FAULTS)} faults at the cluster, "
              f"{len(POOL_FAULTS)} at the GPU pool, kill -9 at both) and 4 advice-followed cases, {len(RESULTS)} "
              "passed; teardown and "
              f"journal cases: {len(FRAGMENTS)} torn record kinds, 3 interrupted first creates, kill -9 during "
              "teardown, two clusters in one group, lost-journal teardown from tags, foreign tags")
        for line in RESULTS:
            print("  " + line)
    assert len(RESULTS) == len(MATRIX) + 4
