"""`verify` command: argument handling, exit codes (0 every MUST passed, 2 not, 1 bad arguments), reports, the
Azure view through the real SDK against the simulator (--simulate --sim-state), JSON output."""
from __future__ import annotations

import argparse
import functools
import json

import pytest
import yaml

from tests.support.conformance import (cluster_body, create_via_arm, install_kueue, kube, kubeconfig,
                                            wire_managed_prometheus)
from wizard.verify_cli import add_verify_parser, run_verify


def parse(argv, **global_defaults):
    parser = argparse.ArgumentParser(prog="aks-ai-wizard")
    sub = parser.add_subparsers(dest="command")

    def add_globals(p):
        p.add_argument("--simulate", action="store_true")
        p.add_argument("--sim-state", type=str, default=None)
        p.add_argument("--sim-speed", type=float, default=1e5)
        p.add_argument("--sim-fault", action="append", default=None)
        p.add_argument("--cloud", default=None)
        p.add_argument("--subscription", default=None)

    add_verify_parser(sub, add_globals)
    args = parser.parse_args(["verify", *argv])
    for k, v in global_defaults.items():
        setattr(args, k, v)
    return args


@pytest.fixture
def cluster_kc(sim, tmp_path):
    body = cluster_body()
    sim.kube.sync_cluster("cli1", body, [])
    kc = kubeconfig(f"{sim.base_url}/k8s/cli1")
    install_kueue(kube(kc))
    path = tmp_path / "kubeconfig"
    path.write_bytes(kc)
    return path, kc


def test_parser_options():
    a = parse(["-g", "rg", "-n", "c", "--probes", "--report", "out", "--output", "json", "--checklist", "1.36",
               "--context", "x"])
    assert (a.resource_group, a.name, a.probes, str(a.report), a.output, a.checklist, a.context) == \
        ("rg", "c", True, "out", "json", "1.36", "x")
    assert a.handler is run_verify
    with pytest.raises(SystemExit):
        parse(["--checklist", "1.33"])
    b = parse(["-g", "rg", "-n", "c", "--checklist", "1.37", "--only", "workload_sandboxing", "--only",
               "pod_autoscaling", "--probe-timeout", "600", "--billable-probe", "cluster_autoscaling",
               "--contact-email", "ops@example.com", "--platform-version", "v1.37"])
    assert (b.checklist, b.only, b.probe_timeout, b.billable_probe) == \
        ("1.37", ["workload_sandboxing", "pod_autoscaling"], 600.0, ["cluster_autoscaling"])
    assert (b.product_contactEmailAddress, b.product_platformVersion) == ("ops@example.com", "v1.37")
    for bad in (["--only", "no_such_requirement"], ["--billable-probe", "pod_autoscaling"]):
        with pytest.raises(SystemExit):
            parse(bad)


def test_only_retries_one_requirement(cluster_kc, capsys):
    path, _ = cluster_kc
    run_verify(parse(["--kubeconfig", str(path), "--checklist", "1.37", "--only", "gang_scheduling"]))
    out = capsys.readouterr().out
    assert "v1.37" in out and "gang_scheduling" in out and "dra_support" not in out and "ai_inference" not in out


@pytest.mark.parametrize("argv", [[], ["-g", "rg"], ["-n", "c"], ["--kubeconfig", "/nonexistent/kubeconfig"]])
def test_bad_arguments_exit_1(argv, capsys):
    assert run_verify(parse(argv)) == 1
    assert "verify:" in capsys.readouterr().err


def test_read_only_exit_4_with_reports(cluster_kc, tmp_path, capsys):
    path, _ = cluster_kc
    rc = run_verify(parse(["--kubeconfig", str(path), "--report", str(tmp_path / "r")]))
    assert rc == 4  # not conformant: the read-only checks leave MUST requirements Partially
    out = capsys.readouterr().out
    assert "PASS    dra_support" in out and "PARTIAL gang_scheduling" in out and "fix:" in out
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == ["PRODUCT.yaml", "report.json", "report.md",
                                                                  "results"]
    assert sorted(p.name for p in (tmp_path / "r" / "results").iterdir()) == ["junit.xml", "results.json"]


def test_json_output(cluster_kc, capsys):
    path, _ = cluster_kc
    assert run_verify(parse(["--kubeconfig", str(path), "--output", "json", "--checklist", "1.35"])) == 4
    doc = json.loads(capsys.readouterr().out)
    assert doc["checklist_version"] == "1.35" and doc["must_ok"] is False
    assert "gpu_sharing" in [r["id"] for r in doc["results"]]


def test_all_must_pass_exit_0(sim, monkeypatch, capsys, tmp_path):
    """-g/-n: Azure view + user kubeconfig from the (simulated) ARM, probes on; every MUST passes -> 0."""
    import wizard.conformance as conformance
    from wizard.azure.clusters import user_kubeconfig

    conn = create_via_arm(sim)
    wire_managed_prometheus(conn, sim)
    kc = user_kubeconfig(conn, "rg-ai", "aks-ai")
    install_kueue(kube(kc))
    fast = functools.partial(conformance.VerifyOptions, probe_timeout=8.0, gang_negative_seconds=0.5,
                             poll_interval=0.05, metadata={"contactEmailAddress": "ops@example.com"})
    monkeypatch.setattr(conformance, "VerifyOptions", fast)
    import wizard.session as session

    monkeypatch.setattr(session, "open_for_args", lambda args: session.Session(conn, (sim.subscription_id, "s"), 0.05))
    rc = run_verify(parse(["-g", "rg-ai", "-n", "aks-ai", "--probes", "--billable-probe", "cluster_autoscaling",
                           "--probe-timeout", "8", "--contact-email", "ops@example.com", "--report",
                           str(tmp_path / "r")], simulate=True))
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "Every MUST requirement passed: 9 pass" in out
    # the collected value came from the workspace's query endpoint, with a token for the Prometheus audience
    assert ("https://prometheus.monitor.azure.com/.default",) in sim.credential.scopes
    assert any(r.path.startswith("/_dataplane/defaultazuremonitorworkspace-eastus2") for r in sim.request_log)
    from wizard.conformance import validate_product
    product = (tmp_path / "r" / "PRODUCT.yaml").read_text()
    assert validate_product(product, "1.34", base_dir=tmp_path / "r", strict=True) == []
    # a simulated run says so in every report file
    assert product.startswith("# SIMULATED") and "[SIMULATED" in yaml.safe_load(product)["metadata"]["description"]
    assert "SIMULATED" in (tmp_path / "r" / "report.md").read_text().split("\n")[2]
    assert json.loads((tmp_path / "r" / "report.json").read_text())["simulated"] is True
    assert 'name="SIMULATED' in (tmp_path / "r" / "results" / "junit.xml").read_text()
    assert all("[SIMULATED]" in json.loads(x)["Package"]
               for x in (tmp_path / "r" / "results" / "results.json").read_text().splitlines())


def test_kubeconfig_only_cluster_autoscaling_partial(cluster_kc, capsys):
    path, _ = cluster_kc
    run_verify(parse(["--kubeconfig", str(path)]))
    out = capsys.readouterr().out
    assert "PARTIAL cluster_autoscaling" in out and "Azure view N/A" in out and "-g <resource-group>" in out


def test_simulated_cluster_from_azure(tmp_path, capsys):
    """A cluster created through the real SDK in a simulator persisted with --sim-state, verified by -g/-n."""
    from wizard.azure.clouds import resolve_cloud
    from wizard.azure.connection import ArmConnection
    from wizard.sim import Simulator

    state = tmp_path / "sim.json"
    with Simulator(speed=1e5, state_file=state) as s:
        conn = ArmConnection(s.credential, s.subscription_id, resolve_cloud("AzureCloud"), base_url=s.base_url,
                             allow_http=True, polling_interval=0.01)
        conn.resources.resource_groups.create_or_update("rg-ai", {"location": "eastus2"})
        body = cluster_body(managed_gpu=False, gateway_api=False, istio=False)
        body.pop("id"), body.pop("name")
        body["properties"]["dnsPrefix"] = "aks-ai"
        body["properties"]["agentPoolProfiles"] = [p for p in body["properties"]["agentPoolProfiles"]
                                                   if p["name"] != "gpunp"]
        for p in body["properties"]["agentPoolProfiles"]:
            p.pop("gpuProfile", None)
            p["osType"] = "Linux"
        body["identity"] = {"type": "SystemAssigned"}
        conn.aks.managed_clusters.begin_create_or_update("rg-ai", "aks-ai", body).result()
        s.save()
        conn.close()
    report_dir = tmp_path / "out"
    args = parse(["-g", "rg-ai", "-n", "aks-ai", "--report", str(report_dir)], simulate=True, sim_state=state,
                 sim_speed=1e5)
    rc = run_verify(args)
    out = capsys.readouterr()
    assert rc == 4, out.err
    doc = json.loads((report_dir / "report.json").read_text())
    res = {r["id"]: r for r in doc["results"]}
    assert doc["metadata"]["cluster_name"] == "aks-ai" and doc["metadata"]["resource_group"] == "rg-ai"
    assert any("Azure: GPU pool gpuas" in e for e in res["cluster_autoscaling"]["evidence"])
    # configuration read from Azure and the autoscaler's status: Partially, until the billable probe has run
    assert res["cluster_autoscaling"]["status"] == "partial"
    assert "--billable-probe cluster_autoscaling" in res["cluster_autoscaling"]["fix"]
    assert res["ai_inference"]["status"] == "fail" and "cluster.gateway_api: true" in res["ai_inference"]["fix"]
    assert "-g rg-ai -n aks-ai" in res["ai_inference"]["fix"]


def test_unknown_cluster_exit_1(tmp_path, capsys):
    args = parse(["-g", "rg-x", "-n", "nope"], simulate=True, sim_state=None, sim_speed=1e5)
    assert run_verify(args) == 1
    assert "nope" in capsys.readouterr().err
