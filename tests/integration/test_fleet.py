"""Fleet answers: derived names validated like every other field (Azure's rules, collisions, line and column),
members with their overrides, and the fleet exported as one copy loop."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.cli import copy_example, run, writes
from tests.integration.test_export import member_clusters
from wizard.answers import AnswersError, json_schema, parse_answers
from wizard.fleet import members

REPO = Path(__file__).resolve().parents[2]
MINIMAL = (REPO / "examples" / "minimal.yaml").read_text()
GPU = "gpu_pool:\n  vm_size: Standard_NC4as_T4_v3\n  autoscale: {min: 1, max: 2}\n"


def errors(text: str) -> list[str]:
    with pytest.raises(AnswersError) as exc:
        parse_answers(text, "fleet.yaml")
    return [f"{e.line}:{e.column} {e.path}: {e.message}" for e in exc.value.errors]


def test_members_derive_their_names_and_take_their_overrides():
    a = parse_answers(MINIMAL + GPU + "fleet:\n  count: 12\n  cluster_name: 'aks-ai-{n:02d}'\n  members:\n"
                      "    - {member: 11, location: westus3, gpu_vm_size: Standard_NC24ads_A100_v4}\n")
    ms = members(a)
    assert [m.name for m in ms][:2] == ["aks-ai-01", "aks-ai-02"] and ms[-1].name == "aks-ai-12"
    assert [m.answers.resource_group.name for m in ms][9:] == ["rg-aks-ai-10", "rg-aks-ai-11", "rg-aks-ai-12"]
    assert ms[10].answers.azure.location == "westus3" and ms[10].answers.gpu_pool.vm_size == "Standard_NC24ads_A100_v4"
    assert ms[9].answers.azure.location == "eastus2" and ms[9].answers.gpu_pool.vm_size == "Standard_NC4as_T4_v3"
    assert all(m.answers.fleet is None for m in ms)
    shared = parse_answers(MINIMAL + "fleet: {count: 2, resource_group: shared}\n")
    assert {m.answers.resource_group.name for m in members(shared)} == {"rg-aks-ai"}
    assert [m.name for m in members(parse_answers(MINIMAL))] == ["aks-ai"], "no fleet: one member, the base names"


def test_every_fleet_error_names_field_line_and_what_is_allowed():
    text = MINIMAL + ("fleet:\n"
                      "  count: 3\n"
                      "  cluster_name: 'workshop'\n"
                      "  resource_group_name: 'rg-{team}-{n}'\n"
                      "  members:\n"
                      "    - {member: 4, location: westus3}\n"
                      "    - member: 2\n"
                      "      gpu_vm_size: Standard_NC24ads_A100_v4\n")
    got = errors(text)
    assert "12:17 fleet.cluster_name: members 1 and 2 would both be named 'workshop': put {n} in the pattern, " \
           "e.g. \"workshop-{n:02d}\"" in got
    assert any(e.startswith("13:24 fleet.resource_group_name: unknown field {team}") for e in got)
    assert "15:16 fleet.members[0].member: member 4 is not in the fleet (1-3)" in got
    assert any(e.startswith("17:20 fleet.members[1].gpu_vm_size: there is no gpu_pool") for e in got)


def test_derived_names_are_checked_against_azure_rules_and_case_insensitively():
    long = errors(MINIMAL + "fleet: {count: 2, cluster_name: '{cluster}-" + "x" * 60 + "-{n}'}\n")
    assert len(long) == 1 and "member 1 would be named 'aks-ai-xxx" in long[0] and "1-63 characters" in long[0]
    case = errors(MINIMAL + "fleet: {count: 2, resource_group: shared, cluster_name: '{cluster}'}\n")
    assert "members 1 and 2 would both be named 'aks-ai'" in case[0]
    assert errors(MINIMAL + "fleet: {count: 101}\n")[0].endswith("fleet.count: must be between 1 and 100 (got 101)")
    assert errors(MINIMAL + "fleet: {count: 0}\n")[0].endswith("fleet.count: must be between 1 and 100 (got 0)")
    assert "Unknown format code" in errors(MINIMAL + "fleet: {count: 2, cluster_name: 'a-{n:s}'}\n")[0]


def test_fleet_is_in_the_json_schema_and_the_schema_checks_it():
    jsonschema = pytest.importorskip("jsonschema")
    import yaml

    schema = json_schema()
    fleet = schema["$defs"]["FleetAnswers"]
    assert fleet["required"] == ["count"] and set(fleet["properties"]) >= {"count", "cluster_name", "members"}
    ok = yaml.safe_load(MINIMAL + "fleet: {count: 3, members: [{member: 2, location: westus3}]}\n")
    jsonschema.Draft202012Validator(schema).validate(ok)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema).validate(yaml.safe_load(MINIMAL + "fleet: {count: 3, size: 2}\n"))


FLEET = ("\nfleet:\n  count: 3\n  cluster_name: 'aks-ai-{n:02d}'\n  resource_group: shared\n  members:\n"
         "    - {member: 2, location: westus3, gpu_vm_size: Standard_NC24ads_A100_v4}\n")


def test_fleet_exports_as_one_copy_loop_and_a_script_per_member(tmp_path: Path):
    answers = copy_example(tmp_path)
    answers.write_text(answers.read_text() + FLEET)
    out = tmp_path / "fleet.json"
    script = tmp_path / "fleet.sh"
    assert run(tmp_path, "export", str(answers), "--format", "arm", "-o", str(out)) == 0
    assert run(tmp_path, "export", str(answers), "--format", "az", "-o", str(script)) == 0
    assert writes(tmp_path) == []
    template = json.loads(out.read_text())
    clusters = member_clusters(template)
    assert [c["name"] for _, c, _ in clusters] == ["aks-ai-01", "aks-ai-02", "aks-ai-03"]
    assert [c["location"] for _, c, _ in clusters] == ["eastus2", "westus3", "eastus2"]
    assert [c["properties"]["agentPoolProfiles"][1]["vmSize"] for _, c, _ in clusters] == [
        "Standard_NC4as_T4_v3", "Standard_NC24ads_A100_v4", "Standard_NC4as_T4_v3"]
    groups = template["parameters"]["resourceGroups"]["defaultValue"]
    assert [g["name"] for g in groups] == ["rg-aks-ai", "DefaultResourceGroup-eastus2", "DefaultResourceGroup-westus3"]
    text = script.read_text()
    assert text.count("\naz aks create ") == 3 and text.count("\naz feature register ") == 1, \
        "flags once per subscription, a cluster create per member"
    lint = subprocess.run([shutil.which("shellcheck") or "shellcheck", str(script)], capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout


# ------------------------------------------------------------------------------------------ fleet preflight
SMALL_GPU = "gpu_pool:\n  vm_size: Standard_NC4as_T4_v3\n  autoscale: {min: 1, max: 1}\n"


def granted(tmp_path: Path, **limits: int) -> None:
    """A simulated subscription that was granted these vCPU limits (saved for the CLI runs that follow)."""
    from wizard.sim import Simulator

    sim = Simulator(speed=1e5, state_file=tmp_path / "sim.json").start()
    try:
        for name, limit in limits.items():
            sim.set_quota(name, limit)
    finally:
        sim.stop()


def test_quota_that_fits_19_members_but_not_20_stops_the_fleet_before_any_write(tmp_path: Path, capsys):
    # per member: GPU pool (1 node at autoscale max + 1 surge) x 4 vCPUs = 8; 19 x 8 = 152
    granted(tmp_path, standardNCASv3_T4Family=152, standardDDSv5Family=1000, cores=1000)
    answers = tmp_path / "fleet.yaml"
    answers.write_text(MINIMAL + SMALL_GPU + "fleet: {count: 20, cluster_name: 'aks-ai-{n:02d}'}\n")
    assert run(tmp_path, "apply", str(answers)) == 2
    out = capsys.readouterr()
    assert "nothing was written to Azure: the whole fleet stops on a failed item" in out.err
    assert "[FAIL] vCPU quota of the fleet: standardNCASv3_T4Family in eastus2" in out.out
    text = " ".join(out.out.split())
    assert ("20 members: 20 x GPU pool gpunp (Standard_NC4as_T4_v3): (1 nodes at autoscale max + 1 surge) x 4 vCPUs "
            "= 8 each = 160. Needed 160; in use 0 of limit 152, 152 left: short by 8; 19 of the 20 members in "
            "eastus2 fit.") in text
    assert "to at least 160 vCPUs" in text
    assert writes(tmp_path) == [], "one red item stops the whole fleet before any write"

    answers.write_text(MINIMAL + SMALL_GPU + "fleet: {count: 19, cluster_name: 'aks-ai-{n:02d}'}\n")
    assert run(tmp_path, "plan", str(answers), "--output", "json") == 0
    doc = json.loads(capsys.readouterr().out)
    item = next(i for i in doc["preflight"]["items"] if i["id"] == "fleet-quota:eastus2:standardNCASv3_T4Family")
    assert item["status"] == "pass" and item["data"]["needed"] == 152 and item["data"]["members"] == 19
    assert len(doc["members"]) == 19 and doc["ok"]
    cost = next(i for i in doc["preflight"]["items"] if i["id"] == "fleet-cost")
    assert cost["data"]["hourly_min"] == cost["data"]["hourly_max"] == round(19 * 0.53, 2)
    assert writes(tmp_path) == []


def test_fleet_preflight_checks_each_members_location_and_the_names_derived_for_it(tmp_path: Path, capsys):
    granted(tmp_path, standardNCASv3_T4Family=1000, standardNCADSA100v4Family=1000, standardDDSv5Family=1000, cores=1000)
    answers = tmp_path / "fleet.yaml"
    long = "workshop-cluster-for-the-ai-team-{n:02d}"  # MSProm-eastus2-<name> is cut to 44 characters
    answers.write_text(MINIMAL + SMALL_GPU + f"fleet:\n  count: 3\n  resource_group: shared\n  cluster_name: '{long}'\n"
                       "  members:\n    - {member: 3, location: westus3}\n")
    assert run(tmp_path, "plan", str(answers), "--output", "json") == 2
    doc = json.loads(capsys.readouterr().out)
    names = next(i for i in doc["preflight"]["items"] if i["id"] == "fleet-names")
    assert names["status"] == "fail" and names["field"] == "fleet.cluster_name"
    assert "workshop-cluster-for-the-ai-team-01 and workshop-cluster-for-the-ai-team-02 would share the data " \
           "collection endpoint MSProm-eastus2-workshop-cluster-for-the-ai" in names["detail"]
    third = doc["preflight"]["members"][2]
    assert third["cluster"].endswith("-03") and third["location"] == "westus3"
    sku = next(i for i in third["items"] if i["id"] == "sku:gpu")
    first_sku = next(i for i in doc["preflight"]["members"][0]["items"] if i["id"] == "sku:gpu")
    assert first_sku["status"] == "pass" and "westus3" in sku["title"] + sku["detail"]
    assert {i["id"].split(":")[1] for i in doc["preflight"]["items"] if i["id"].startswith("fleet-quota:")} == {
        "eastus2", "westus3"}, "quota is counted per region"
    assert writes(tmp_path) == []



def test_members_share_one_read_of_the_shared_facts(tmp_path: Path, capsys):
    from wizard.sim import read_requests

    granted(tmp_path, standardNCASv3_T4Family=1000, standardNCADSA100v4Family=1000, cores=1000)
    answers = tmp_path / "fleet.yaml"
    answers.write_text(MINIMAL + SMALL_GPU + "fleet:\n  count: 6\n"
                       "  members: [{member: 6, location: westus3, gpu_vm_size: Standard_NC24ads_A100_v4}]\n")
    assert run(tmp_path, "plan", str(answers)) == 0
    gets = [r["path"].lower() for r in read_requests(tmp_path / "sim.json") if r["method"] == "GET"]
    assert sum(p.endswith("/kubernetesversions") for p in gets) == 2, "versions once per location"
    assert sum(p.endswith("/meshrevisionprofiles") for p in gets) == 2
    assert sum("/microsoft.compute/skus" in p for p in gets) == 2 and sum(p.endswith("/usages") for p in gets) == 2
    assert sum("/features/managedgatewayapipreview" in p for p in gets) == 1, "flags once per subscription"
    assert sum(p.endswith("/providers/microsoft.containerservice") for p in gets) == 1
    assert sum(p.split("?")[0].endswith("/managedclusters/aks-ai-06") for p in gets) == 0, \
        "no cluster is read in a group that does not exist"
