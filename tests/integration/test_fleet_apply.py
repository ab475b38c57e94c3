"""Fleet apply through the same engine: subscription-wide steps once, members concurrently (bounded), each with
its own journal and lock; a fleet interrupted by lost connections resumes without sending any write twice."""
from __future__ import annotations

import json
import stat
from collections import Counter
from pathlib import Path

from tests.support.cli import run, writes
from tests.integration.test_fleet import MINIMAL, SMALL_GPU, granted
from tests.integration.test_resilience import final_state, spawn, wait_for


def test_fleet_of_3_applies_resumes_after_lost_connections_and_writes_each_thing_once(tmp_path: Path, capsys):
    granted(tmp_path, standardNCASv3_T4Family=1000)
    answers = tmp_path / "fleet.yaml"
    answers.write_text(MINIMAL + SMALL_GPU + "kueue: {install: false}\n"
                       "fleet: {count: 3, cluster_name: 'aks-ai-{n:02d}', resource_group: shared}\n")
    kdir = tmp_path / "kubeconfigs"
    # every member's cluster PUT is accepted, then the status reads drop: the operations go on in Azure
    assert run(tmp_path, "apply", str(answers), "--parallel", "2", "--output", "json",
               faults=("status-drop",)) == 3
    first = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    result = first[-1]
    assert result["kind"] == "result" and {m["status"] for m in result["members"]} == {"failed"}
    assert {m["failed_step"] for m in result["members"]} == {"cluster"}
    events = [e for e in first if e["kind"] == "event"]
    assert events and all(e["member"] for e in events), "every JSON event carries its member"
    assert {e["member"] for e in events} == {"subscription", "aks-ai-01", "aks-ai-02", "aks-ai-03"}
    for n in (1, 2, 3):
        journal = tmp_path / f"fleet.aks-ai-0{n}.journal.jsonl"
        assert any(r["event"] == "operation" and r["step"] == "cluster"
                   for r in map(json.loads, journal.read_text().splitlines())), "each member journals its own PUT"

    reports = tmp_path / "reports"
    # no Kueue: gang scheduling cannot pass, so conformance is declared not required for this fleet
    assert run(tmp_path, "apply", str(answers), "--kubeconfig-dir", str(kdir), "--report", str(reports),
               "--conformance-not-required") == 0
    out = capsys.readouterr().out  # the fault cleared: resumed, then every member verified
    header = next(line for line in out.splitlines() if line.startswith("member ") and "dra_support" in line)
    assert header.split()[-1] == "MUST" and "gang_scheduling" in header
    for n in (1, 2, 3):
        assert f"aks-ai-0{n}  done" in out
        row = next(line for line in out.splitlines() if line.startswith(f"aks-ai-0{n} ") and "pass" in line)
        assert row.split()[1] == "pass", "DRA support is proven on every member"
        assert "FAIL" in row.split()[3], "no Kueue in these answers: gang scheduling cannot pass"
        assert json.loads((reports / f"aks-ai-0{n}" / "report.json").read_text())["must_ok"] is False
        config = kdir / f"aks-ai-0{n}.kubeconfig"
        assert stat.S_IMODE(config.stat().st_mode) == 0o600 and "clusters:" in config.read_text()
    assert stat.S_IMODE(kdir.stat().st_mode) == 0o700

    sent = writes(tmp_path)
    puts = Counter(r["path"].rsplit("/", 1)[1] for r in sent if r["method"] == "PUT" and 200 <= r["status"] < 300
                   and r["path"].lower().split("/")[-2] == "managedclusters")
    assert puts == {"aks-ai-01": 1, "aks-ai-02": 1, "aks-ai-03": 1}, "re-attached, never sent twice"
    flags = [r for r in sent if r["method"] == "POST" and "/features/" in r["path"]]
    assert len(flags) == 1, "preview flags once per subscription, not per member"

    before = len(writes(tmp_path))
    assert run(tmp_path, "apply", str(answers)) == 4, "conformance is required by default: a MUST failed"
    assert len(writes(tmp_path)) == before, "a re-run of a finished fleet writes nothing"


def test_what_members_share_is_created_once_and_claimed_once(tmp_path: Path, capsys):
    granted(tmp_path, standardNCASv3_T4Family=1000)
    answers = tmp_path / "fleet.yaml"
    answers.write_text(MINIMAL + SMALL_GPU + "kueue: {install: false}\n"
                       "fleet: {count: 3, cluster_name: 'aks-ai-{n:02d}', resource_group: shared}\n")
    assert run(tmp_path, "apply", str(answers), "--parallel", "3", "--conformance-not-required") == 0  # no Kueue
    sent = writes(tmp_path)
    groups = [r for r in sent if r["method"] == "PUT" and r["path"].lower().endswith("/resourcegroups/rg-aks-ai")]
    workspaces = [r for r in sent if r["method"] == "PUT" and "/microsoft.monitor/accounts/" in r["path"].lower()]
    assert len(groups) == 1 and len(workspaces) == 1, "the shared group and the region's workspace: one PUT each"
    claims = Counter()
    for path in tmp_path.glob("fleet.*.journal.jsonl"):
        for r in map(json.loads, path.read_text().splitlines()):
            if r["event"] == "done" and r.get("created"):
                claims[r["step"]] += 1
            for rid in r.get("created_ids") or []:
                claims[rid.rsplit("/", 1)[1]] += 1
    assert claims["resource-group"] == 1 and claims["DefaultAzureMonitorWorkspace-eastus2"] == 1
    assert claims["cluster"] == 3


def test_on_a_terminal_progress_is_one_row_per_member_redrawn_in_place():
    import io

    from wizard.events import Event
    from wizard.fleet_apply import FleetPrinter
    from wizard.output import Output

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Terminal()
    printer = FleetPrinter(Output(stdout=out), verbose=False)
    printer(Event("started", "cluster", "create", data={"member": "aks-ai-01"}))
    printer(Event("progress", "cluster", "Azure reports", "InProgress", 95.0, 360.0, {"member": "aks-ai-02"}))
    printer(Event("progress", "cluster", "Azure reports", "Succeeded", 300.0, 360.0, {"member": "aks-ai-01"}))
    last = out.getvalue().split("\x1b[3F")[-1]  # the table drawn last, after moving up over the previous one
    rows = [line.replace("\x1b[2K", "") for line in last.splitlines()]
    assert rows[0].split() == ["member", "step", "Azure", "reports", "elapsed"]
    assert rows[1].split()[:3] == ["aks-ai-01", "cluster", "Succeeded"] and "5m00s of typ. 6m00s" in rows[1]
    assert rows[2].split()[:3] == ["aks-ai-02", "cluster", "InProgress"] and len(rows) == 3


def test_throttling_on_one_request_holds_every_other_request_of_the_connection(make_sim):
    import pytest
    from azure.core.exceptions import HttpResponseError
    from azure.mgmt.containerservice import models as m

    from wizard.azure import clusters, groups
    from wizard.azure.clouds import resolve_cloud
    from wizard.azure.connection import ArmConnection

    sim = make_sim(faults=["throttle"])
    conn = ArmConnection(sim.credential, sim.subscription_id, resolve_cloud("AzureCloud"), base_url=sim.base_url,
                         allow_http=True, polling_interval=0, retry_total=0)
    held: list[float] = []
    conn.budget.sleep = held.append  # record the waits instead of sleeping them
    groups.create_group(conn, "rg-one", "eastus2", {})
    assert held == [] and conn.budget.throttled == 0
    with pytest.raises(HttpResponseError) as exc:  # one member's cluster PUT: 429, Retry-After 1
        clusters.begin_cluster(conn, "rg-one", "aks-one", m.ManagedCluster(location="eastus2"))
    assert exc.value.status_code == 429 and conn.budget.throttled == 1
    assert groups.get_group(conn, "rg-two") is None  # another member's read, through another client
    assert len(held) == 1 and 0 < held[0] <= 1.0, "held back for what is left of the Retry-After"
    conn.close()


def test_fleet_teardown_removes_exactly_what_the_fleet_created_member_by_member(tmp_path: Path, capsys):
    granted(tmp_path, standardNCASv3_T4Family=1000)
    answers = tmp_path / "fleet.yaml"
    answers.write_text(MINIMAL + SMALL_GPU + "kueue: {install: false}\n"
                       "fleet: {count: 3, cluster_name: 'aks-ai-{n:02d}', resource_group: shared}\n")
    assert run(tmp_path, "teardown", str(answers), "--yes") == 0, "no journals yet"
    assert "nothing to delete" in capsys.readouterr().out
    assert run(tmp_path, "apply", str(answers), "--parallel", "3", "--conformance-not-required") == 0
    foreign = tmp_path / "other.yaml"  # another answers file's cluster in the fleet's shared group
    foreign.write_text(MINIMAL.replace("name: aks-ai\n", "name: aks-other\n", 1) + "kueue: {install: false}\n")
    assert "name: aks-other" in foreign.read_text()
    assert run(tmp_path, "apply", str(foreign), "--conformance-not-required") == 0
    capsys.readouterr()

    before = len(writes(tmp_path))
    assert run(tmp_path, "teardown", str(answers)) == 1, "no terminal to type the base cluster name on"
    refused = capsys.readouterr()
    assert "aks-ai-01" in refused.out and "aks-ai-03" in refused.out and "--yes" in refused.err
    assert len(writes(tmp_path)) == before, "nothing deleted without confirmation"
    assert run(tmp_path, "teardown", str(answers), "--yes", "--output", "json") == 0
    docs = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    listing = next(d for d in docs if d["kind"] == "teardown-plan")
    assert [m["member"] for m in listing["members"]] == ["aks-ai-01", "aks-ai-02", "aks-ai-03"]
    for m in listing["members"]:
        assert [d["id"] for d in m["deletes"]][0] == "delete-cluster" and m["member"] in m["deletes"][0]["title"]
    assert listing["shared"]["deletes"] == [], "the shared group holds the foreign cluster"
    assert any("rg-aks-ai" in k and "aks-other" in k for k in listing["shared"]["kept"])
    events = [d for d in docs if d["kind"] == "event"]
    assert events and {e["member"] for e in events} == {"aks-ai-01", "aks-ai-02", "aks-ai-03"}
    assert docs[-1]["status"] == "done" and {m["status"] for m in docs[-1]["members"]} == {"done"}

    deleted = [r["path"] for r in writes(tmp_path, before) if r["method"] == "DELETE"]
    clusters = sorted(p.rsplit("/", 1)[1] for p in deleted if p.lower().split("/")[-2] == "managedclusters")
    assert clusters == ["aks-ai-01", "aks-ai-02", "aks-ai-03"], "each member's cluster once, never aks-other"
    assert not any(p.lower().split("/")[-2] == "resourcegroups" or "/microsoft.monitor/" in p.lower()
                   for p in deleted), "the shared group and the region's workspace stay"
    assert not any("aks-other" in p.lower() for p in deleted)
    world = final_state(tmp_path)
    assert set(world["clusters"]) == {"aks-other"} and "rg-aks-ai" in world["groups"]

    assert run(tmp_path, "teardown", str(answers), "--yes") == 0
    assert "Nothing to delete" in capsys.readouterr().out
    since = len(writes(tmp_path))
    assert run(tmp_path, "teardown", str(foreign), "--yes") == 0  # the foreign cluster survived until now
    assert "delete cluster aks-other" in capsys.readouterr().out
    assert any(r["method"] == "DELETE" and r["path"].endswith("/managedClusters/aks-other")
               for r in writes(tmp_path, since))
    assert run(tmp_path, "teardown", str(answers), "--yes", "--output", "json") == 0
    docs = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    shared = next(d for d in docs if d["kind"] == "teardown-plan")["shared"]
    assert [d["id"] for d in shared["deletes"]] == ["delete-group"], "the last one out deletes the shared group"
    assert docs[-1]["status"] == "done"
    assert any(r["method"] == "DELETE" and r["path"].lower().endswith("/resourcegroups/rg-aks-ai")
               for r in writes(tmp_path))


def test_fleet_teardown_interrupted_by_ctrl_c_deletes_the_rest_when_run_again(tmp_path: Path, capsys):
    import signal

    answers = tmp_path / "fleet.yaml"
    answers.write_text(MINIMAL + "kueue: {install: false}\n"
                       "fleet: {count: 2, cluster_name: 'aks-ai-{n:02d}', resource_group: per_cluster}\n")
    assert run(tmp_path, "apply", str(answers), "--conformance-not-required") == 0
    capsys.readouterr()
    proc = spawn(tmp_path, "teardown", str(answers), "--yes", "--output", "json", speed="30")
    try:
        wait_for(lambda: any(r["step"] == "delete-cluster" and r["event"] == "started" for n in (1, 2) for r in
                             map(json.loads, (tmp_path / f"fleet.aks-ai-0{n}.journal.jsonl").read_text().splitlines())))
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=90)
    finally:
        proc.kill()
    assert proc.returncode == 130 and "Traceback" not in err, err
    assert json.loads(out.splitlines()[-1])["status"] == "cancelled"
    assert run(tmp_path, "teardown", str(answers), "--yes") == 0
    assert final_state(tmp_path)["clusters"] == {}
    assert not {"rg-aks-ai-01", "rg-aks-ai-02"} & set(final_state(tmp_path)["groups"])
    capsys.readouterr()
    assert run(tmp_path, "teardown", str(answers), "--yes") == 0
    assert "Nothing to delete" in capsys.readouterr().out
