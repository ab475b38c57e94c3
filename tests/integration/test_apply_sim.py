"""plan and apply end to end: the CLI, the real SDK clients and the real kubernetes client against the
embedded simulator, across processes (state and request log persisted with --sim-state)."""
from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from tests.support.cli import accepted, copy_example, journal, read_requests, run, unregister_provider, writes
from wizard.cli import main
from wizard.sim import Simulator


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    copy_example(tmp_path)
    return tmp_path


def test_plan_writes_nothing_and_shows_az_equivalents(workdir: Path, capsys):
    assert run(workdir, "plan", str(workdir / "answers.yaml")) == 0
    out = capsys.readouterr().out
    assert "az aks create" in out and "--enable-gateway-api" in out and "az feature register" in out
    assert "Kubernetes 1.34 -> 1.34." in out
    assert writes(workdir) == []
    assert not (workdir / "answers.journal.jsonl").exists()


def test_apply_creates_everything_once_and_a_rerun_writes_nothing(workdir: Path, capsys):
    answers_before = (workdir / "answers.yaml").read_bytes()
    kubeconfig = workdir / "out" / "kubeconfig"
    assert run(workdir, "apply", str(workdir / "answers.yaml"), "--kubeconfig-out", str(kubeconfig)) == 0
    out = capsys.readouterr().out
    assert "done      cluster" in out and "Done in" in out
    first = writes(workdir)
    assert len(accepted(first, "/resourcegroups/rg-aks-ai")) == 1
    assert len(accepted(first, "/managedclusters/aks-ai")) == 1  # Istio, Gateway API, add-ons and GPU pool in one PUT
    assert len(accepted(first, "/managedgatewayapipreview/register", "POST")) == 1
    assert (workdir / "answers.yaml").read_bytes() == answers_before  # never rewritten
    assert stat.S_IMODE(os.stat(kubeconfig).st_mode) == 0o600
    assert "/k8s/" in kubeconfig.read_text()

    # the simulated world persisted: serve it again and read the cluster with the real kubernetes client,
    # through the kubeconfig the run wrote (only the loopback port differs in a new process)
    import yaml
    from kubernetes import client, config

    from wizard.sim import Simulator
    cfg = yaml.safe_load(kubeconfig.read_text())
    with Simulator(speed=1e5, state_file=workdir / "sim.json") as again:
        server = cfg["clusters"][0]["cluster"]["server"]
        cfg["clusters"][0]["cluster"]["server"] = again.base_url + server[server.index("/k8s/"):]
        nodes = client.CoreV1Api(config.new_client_from_config_dict(cfg)).list_node().items
    gpu = [n for n in nodes if n.metadata.labels.get("kubernetes.azure.com/agentpool") == "gpunp"]
    assert len(nodes) == 3 and len(gpu) == 1

    done = {r["step"] for r in journal(workdir) if r["event"] == "done"}
    assert {"resource-group", "cluster", "kubeconfig"} <= done
    cluster_done = next(r for r in journal(workdir) if r["step"] == "cluster" and r["event"] == "done")
    assert cluster_done["created"] is True and cluster_done["request_id"]
    assert cluster_done["resource_id"].endswith("/managedClusters/aks-ai")

    mark = len(read_requests(workdir / "sim.json"))
    assert run(workdir, "apply", str(workdir / "answers.yaml")) == 0
    out = capsys.readouterr().out
    assert "skipped   cluster" in out and "skipped   resource-group" in out
    assert writes(workdir, mark) == []


def test_existing_cluster_with_other_settings_is_refused_then_updated_with_consent(workdir: Path, capsys):
    assert run(workdir, "apply", str(workdir / "answers.yaml")) == 0
    text = (workdir / "answers.yaml").read_text().replace("keda: true", "keda: false")
    (workdir / "answers.yaml").write_text(text)
    mark = len(read_requests(workdir / "sim.json"))
    capsys.readouterr()
    assert run(workdir, "apply", str(workdir / "answers.yaml")) == 2
    out = capsys.readouterr().out
    assert "cluster.addons.keda: True -> False" in out and "--allow-update" in out
    assert writes(workdir, mark) == []
    assert run(workdir, "apply", str(workdir / "answers.yaml"), "--allow-update") == 0
    puts = accepted(writes(workdir, mark), "/managedclusters/aks-ai")
    assert len(puts) == 1
    assert [r for r in writes(workdir) if r["method"] == "DELETE"] == []


def test_json_output_is_one_object_per_line(workdir: Path, capsys):
    assert run(workdir, "apply", str(workdir / "answers.yaml"), "--output", "json") == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines[0]["kind"] == "plan" and lines[0]["preflight"]["ok"] is True
    result = lines[-1]
    assert result["kind"] == "result" and result["status"] == "done" and result["exit_code"] == 0
    verification = lines[-2]
    assert verification["kind"] == "verification"
    assert {r["id"] for r in verification["results"]} >= {"dra_support", "gang_scheduling", "ai_inference"}
    kinds = {(e["step"], e["event"]) for e in lines if e["kind"] == "event"}
    assert ("cluster", "started") in kinds and ("cluster", "done") in kinds


# fault -> (what the translated error names, cluster PUTs Azure accepted across both runs)
FAULTS = {
    "gpu-quota": ("quota", 1),
    "throttle": ("throttl", 1),
    "lro-failed": ("VMExtensionProvisioningError", 2),  # the failed cluster is reconciled by the same PUT
    "sku-unavailable": ("SkuNotAvailable", 2),
    "status-drop": ("connection", 1),  # re-attached: the PUT is never sent again
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_each_fault_stops_with_a_translated_error_and_a_rerun_completes(workdir: Path, capsys, fault: str):
    marker, cluster_puts = FAULTS[fault]
    # the gpu-quota fault shows in the usage reads too, so preflight refuses (its own test); forced through,
    # the PUT is refused as well
    forced = ("--skip-preflight",) if fault == "gpu-quota" else ()
    assert run(workdir, "apply", str(workdir / "answers.yaml"), *forced, faults=(fault,)) == 3
    out = capsys.readouterr()
    text = out.out + out.err
    assert "failed    cluster" in text
    assert marker.lower() in text.lower(), text
    assert "What to do" in text or "what to do" in text.lower()
    if fault != "status-drop":  # a dropped connection has no response, hence no request id
        assert "request id" in text.lower()
    else:
        assert "re-attaches" in text
    cluster_records = [r for r in journal(workdir) if r["step"] == "cluster"]
    assert cluster_records[-1]["event"] in ("failed", "interrupted")
    assert cluster_records[-1].get("error", {}).get("what")

    assert run(workdir, "apply", str(workdir / "answers.yaml")) == 0  # the fault cleared
    capsys.readouterr()
    all_writes = writes(workdir)
    assert len(accepted(all_writes, "/managedclusters/aks-ai")) == cluster_puts
    assert len(accepted(all_writes, "/resourcegroups/rg-aks-ai")) == 1
    assert len(accepted(all_writes, "/managedgatewayapipreview/register", "POST")) == 1
    assert [r for r in all_writes if r["method"] == "DELETE"] == []
    last_run = [r for r in journal(workdir) if r["run"] == journal(workdir)[-1]["run"]]
    assert {r["step"] for r in last_run if r["event"] == "done"} >= {"kubeconfig", "kueue"}
    assert not [r for r in last_run if r["event"] in ("failed", "interrupted")]


# fault -> what the run says while it waits or re-attaches, and the journal event that shows it
SAME_RUN = {
    "conflict": ("Azure refused the request (OperationNotAllowed)", "refused"),
    "connection-drop": ("the connection dropped after Azure accepted the request", "operation"),
}


@pytest.mark.parametrize("fault", sorted(SAME_RUN))
def test_a_conflict_or_a_dropped_put_finishes_in_the_same_run_with_one_cluster_put(workdir: Path, capsys,
                                                                                  fault: str):
    said, event = SAME_RUN[fault]
    # slow enough that the operation a dropped PUT started still runs when the SDK re-sends it, as in Azure
    assert run(workdir, "-v", "--sim-speed", "300", "apply", str(workdir / "answers.yaml"), faults=(fault,)) == 0
    text = "".join(capsys.readouterr())
    assert said in text, text
    if fault == "conflict":  # what runs is shown while it is waited out: the state and AKS's latest operation
        assert "waiting for another operation: cluster aks-ai is Deleting; latest operation" in text
    all_writes = writes(workdir)
    cluster_puts = [r for r in all_writes if r["method"] == "PUT" and r["path"].lower().endswith("/managedclusters/aks-ai")]
    assert len(accepted(all_writes, "/managedclusters/aks-ai")) == 1, cluster_puts
    assert [r["status"] for r in cluster_puts] == ([409, 201] if fault == "conflict" else [201, 409])
    assert [r for r in all_writes if r["method"] == "DELETE"] == []
    records = [r for r in journal(workdir) if r["step"] == "cluster"]
    assert event in [r["event"] for r in records] and records[-1]["event"] == "done" and records[-1].get("created")
    mark = len(writes(workdir))
    assert run(workdir, "apply", str(workdir / "answers.yaml")) == 0  # a re-run writes nothing to the cluster
    assert accepted(writes(workdir)[mark:], "/managedclusters/aks-ai") == []


def test_a_conflict_that_outlasts_the_wait_stops_without_a_second_write(workdir: Path, capsys):
    # the delete of an earlier cluster of that name runs 205 of Azure's seconds more (0.7 s here); this run waits 0.3 s
    assert run(workdir, "--sim-speed", "300", "apply", str(workdir / "answers.yaml"), "--conflict-timeout", "0.005",
               faults=("conflict",)) == 3
    text = "".join(capsys.readouterr())
    assert "was still running after" in text and "Azure accepted no request of this run" in text
    assert "az aks operation-abort" in text and "--conflict-timeout" in text
    puts = [r for r in writes(workdir) if r["method"] == "PUT" and r["path"].lower().endswith("/managedclusters/aks-ai")]
    assert [r["status"] for r in puts] == [409]
def test_gpu_quota_fault_is_seen_by_preflight_before_any_write(workdir: Path, capsys):
    assert run(workdir, "plan", str(workdir / "answers.yaml"), faults=("gpu-quota",)) == 2
    out = capsys.readouterr().out
    assert "[FAIL] vCPU quota: standardNCASv3_T4Family in eastus2" in out and "0 left" in out
    assert writes(workdir) == []


def test_failing_preflight_plan_exits_2_and_apply_refuses_unless_skipped(workdir: Path, capsys):
    text = (workdir / "answers.yaml").read_text().replace("Standard_NC4as_T4_v3", "Standard_NC40ads_H100_v5")
    (workdir / "answers.yaml").write_text(text)
    assert run(workdir, "plan", str(workdir / "answers.yaml")) == 2
    out = capsys.readouterr().out
    assert "[FAIL]" in out.upper() and "standardNCadsH100v5Family" in out
    assert run(workdir, "apply", str(workdir / "answers.yaml")) == 2
    err = capsys.readouterr().err
    assert "--skip-preflight" in err
    assert writes(workdir) == []
    # forced through, Azure itself refuses the quota at the cluster PUT: a translated error, nothing created
    assert run(workdir, "apply", str(workdir / "answers.yaml"), "--skip-preflight") == 3
    out = capsys.readouterr()
    assert "quota" in (out.out + out.err).lower()
    assert accepted(writes(workdir), "/managedclusters/aks-ai") == []


def test_verify_checks_the_cluster_an_earlier_apply_made(workdir: Path, capsys):
    assert run(workdir, "apply", str(workdir / "answers.yaml"), "--output", "json") == 0
    capsys.readouterr()
    code = run(workdir, "verify", "-g", "rg-aks-ai", "-n", "aks-ai", "--report", str(workdir / "report"))
    out = capsys.readouterr().out
    assert code == 4  # read-only: MUST requirements are Partially, so not proven conformant
    assert "dra_support" in out and (workdir / "report" / "PRODUCT.yaml").exists()


def test_verify_a_kubeconfig_in_the_simulated_world_an_apply_kept(workdir: Path, capsys):
    kubeconfig = workdir / "kubeconfig"
    assert run(workdir, "apply", str(workdir / "answers.yaml"), "--kubeconfig-out", str(kubeconfig), "-q") == 0
    capsys.readouterr()
    assert run(workdir, "verify", "--kubeconfig", str(kubeconfig), "--output", "json") == 4
    doc = json.loads(capsys.readouterr().out)
    status = {r["id"]: r["status"] for r in doc["results"]}
    assert doc["kind"] == "verification" and status["dra_support"] == "pass"
    # without the simulated world the kubeconfig's cluster lives in: refused, saying what is missing
    assert main(["--simulate", "verify", "--kubeconfig", str(kubeconfig), "--output", "json"]) == 1
    out = capsys.readouterr()
    error = json.loads(out.out)
    assert error["kind"] == "error" and "--sim-state" in error["what"] and "--sim-state" in out.err


def test_merge_kubeconfig_keeps_other_contexts_and_a_backup(workdir: Path, monkeypatch, capsys):
    import yaml

    target = workdir / "home-kube" / "config"
    target.parent.mkdir()
    target.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Config", "current-context": "dev",
                                      "clusters": [{"name": "dev", "cluster": {"server": "https://dev"}}],
                                      "contexts": [{"name": "dev", "context": {"cluster": "dev", "user": "me"}}],
                                      "users": [{"name": "me", "user": {"token": "t"}}]}))
    monkeypatch.setenv("KUBECONFIG", str(target))
    assert run(workdir, "apply", str(workdir / "answers.yaml"), "--merge-kubeconfig") == 0
    merged = yaml.safe_load(target.read_text())
    assert [c["name"] for c in merged["contexts"]] == ["dev", "aks-ai"] and merged["current-context"] == "aks-ai"
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    backups = list(target.parent.glob("config.bak-*"))
    assert len(backups) == 1 and yaml.safe_load(backups[0].read_text())["current-context"] == "dev"
    assert "merged into" in capsys.readouterr().out
    assert run(workdir, "apply", str(workdir / "answers.yaml"), "--merge-kubeconfig") == 0  # same again:
    assert len(list(target.parent.glob("config.bak-*"))) == 1  # unchanged, so no second backup


def test_log_file_records_the_requests_without_secrets(workdir: Path, capsys):
    from wizard.sim import ARM_TOKEN, KUBE_TOKEN

    log = workdir / "run.log"
    assert run(workdir, "apply", str(workdir / "answers.yaml"), "--log-file", str(log)) == 0
    text = log.read_text()
    assert "managedClusters/aks-ai" in text and "x-ms-request-id" in text.lower()
    assert ARM_TOKEN not in text and KUBE_TOKEN not in text


def test_a_registration_that_outlasts_its_deadline_stops_with_what_to_run_later(workdir: Path, capsys):
    # the preview flag takes 1 s here (5 minutes of Azure's time at speed 300); the run waits 0.3 s
    assert run(workdir, "--sim-speed", "300", "apply", str(workdir / "answers.yaml"),
               "--registration-timeout", "0.005", "--output", "json") == 3
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    failed = next(e for e in lines if e.get("kind") == "event" and e["event"] == "failed")
    assert failed["step"] == "feature:ManagedGatewayAPIPreview"
    rendered = failed["data"]["failure"]["rendered"]
    assert "Microsoft.ContainerService/ManagedGatewayAPIPreview was still Registering after" in rendered
    assert "(typically" in rendered and "--registration-timeout" in rendered
    assert "az feature show --namespace Microsoft.ContainerService --name ManagedGatewayAPIPreview" in rendered
    assert accepted(writes(workdir), "/managedclusters/aks-ai") == []  # nothing after it was started


def test_an_edited_system_pool_count_is_planned_as_a_change_and_applied_with_consent(workdir: Path, capsys):
    answers = workdir / "answers.yaml"
    assert run(workdir, "apply", str(answers)) == 0
    answers.write_text(answers.read_text().replace("    count: 2\n", "    count: 3\n", 1))
    capsys.readouterr()
    mark = len(writes(workdir))
    assert run(workdir, "plan", str(answers)) == 2
    out = capsys.readouterr().out
    assert "differs: cluster.system_pool.count: 2 -> 3" in out and "--allow-update" in out
    assert writes(workdir)[mark:] == []
    assert run(workdir, "apply", str(answers), "--allow-update") == 0
    assert len(accepted(writes(workdir)[mark:], "/managedclusters/aks-ai")) == 1
    with Simulator(speed=1e5, state_file=workdir / "sim.json") as sim:
        pools = next(iter(sim.world.clusters.values()))["pools"]
        assert pools["system"]["properties"]["count"] == 3
        assert pools["gpunp"]["properties"]["vmSize"] == "Standard_NC4as_T4_v3"  # the other pool is kept
    capsys.readouterr()
    assert run(workdir, "plan", str(answers)) == 0
    assert "cluster aks-ai exists with these settings" in capsys.readouterr().out
def test_plan_with_the_provider_unregistered_writes_nothing_and_names_it(workdir: Path, capsys):
    unregister_provider(workdir, "Microsoft.ContainerService")
    since = len(read_requests(workdir / "sim.json"))
    assert run(workdir, "plan", str(workdir / "answers.yaml")) == 0
    out = capsys.readouterr().out
    assert writes(workdir, since) == []  # no POST .../register behind the user's back, no sleeps
    refused = [r for r in read_requests(workdir / "sim.json")[since:] if r["status"] == 409]
    assert refused and all("/providers/microsoft.containerservice/" in r["path"].lower() for r in refused)
    assert "[warn] resource provider Microsoft.ContainerService" in out and "Unregistered in this subscription" in out
    assert "az provider register --namespace Microsoft.ContainerService" in out


def test_apply_registers_the_provider_as_a_step_then_plans_the_rest(workdir: Path, capsys):
    unregister_provider(workdir, "Microsoft.ContainerService")
    since = len(read_requests(workdir / "sim.json"))
    assert run(workdir, "apply", str(workdir / "answers.yaml")) == 0
    out = capsys.readouterr().out
    first = writes(workdir, since)
    assert len(accepted(first, "/providers/microsoft.containerservice/register", "POST")) == 1
    assert len(accepted(first, "/managedclusters/aks-ai")) == 1 and "Done in" in out
    assert any(r["step"] == "provider" and r["event"] == "done" for r in journal(workdir))


def test_no_prices_looks_up_no_price(workdir: Path, capsys):
    assert run(workdir, "plan", str(workdir / "answers.yaml"), "--no-prices") == 0
    out = capsys.readouterr().out
    assert "note: No list prices: --no-prices." in out and "USD/h" not in out
    assert not [r for r in read_requests(workdir / "sim.json") if "/api/retail/prices" in r["path"].lower()]
    assert run(workdir, "plan", str(workdir / "answers.yaml")) == 0  # without it, the estimate is there
    assert "USD/h" in capsys.readouterr().out


def test_seed_shaped_answers_apply_in_westus3(tmp_path: Path, capsys):
    """Managed GPU on a fixed-size pool, Istio with Gateway API, managed Prometheus, in westus3: the Azure Monitor
    workspace goes where Microsoft.Monitor offers it (westus3 itself), as azure-cli places it."""
    import yaml

    answers = {
        "azure": {"subscription": "Simulated Subscription", "location": "westus3"},
        "resource_group": {"name": "rg-seed"},
        "cluster": {"name": "aks-seed", "istio": {"enabled": True}, "gateway_api": True},
        "gpu_pool": {"vm_size": "Standard_NC4as_T4_v3", "count": 1, "managed_gpu": True},
        "verify": {"probes": False, "require_conformance": False},  # placement is the point, not the proof
    }
    (tmp_path / "answers.yaml").write_text(yaml.safe_dump(answers))
    assert run(tmp_path, "apply", str(tmp_path / "answers.yaml")) == 0, capsys.readouterr()
    out = capsys.readouterr().out
    assert "Done in" in out
    reqs = writes(tmp_path)
    assert len(accepted(reqs, "/managedclusters/aks-seed")) == 1
    ws = accepted(reqs, "/providers/microsoft.monitor/accounts/defaultazuremonitorworkspace-westus3")
    assert len(ws) == 1 and "/resourcegroups/defaultresourcegroup-westus3/" in ws[0]["path"].lower()


def test_a_failed_operation_names_the_put_request_id_and_the_aks_operation_id(workdir: Path, capsys):
    assert run(workdir, "apply", str(workdir / "answers.yaml"), faults=("sku-unavailable",)) == 3
    text = capsys.readouterr().out
    reqs = read_requests(workdir / "sim.json")
    put = next(r for r in reqs if r["method"] == "PUT" and r["path"].lower().endswith("/managedclusters/aks-ai"))
    poll = [r for r in reqs if "/operations/" in r["path"].lower() and r["method"] == "GET"][-1]
    operation_id = poll["path"].rsplit("/", 1)[-1]
    assert f"request id {put['request_id']} (the request that started the operation)" in text
    assert f"AKS operation id {operation_id}" in text
    assert "in location 'eastus2'" in text  # Azure's SkuNotAvailable message whole, location included
    failed = next(r for r in journal(workdir) if r["step"] == "cluster" and r["event"] == "failed")
    assert failed["error"]["operation_request_id"] == put["request_id"]
