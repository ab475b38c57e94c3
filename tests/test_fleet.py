"""Fleet answers: derived names validated like every other field (Azure's rules, collisions, line and column),
members with their overrides, and the fleet exported as one copy loop."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.test_apply_sim import copy_example, run, writes
from tests.test_export import member_clusters
from wizard.answers import AnswersError, json_schema, parse_answers
from wizard.fleet import members

REPO = Path(__file__).resolve().parents[1]
MINIMAL = (REPO / "examples" / "minimal.yaml").read_text()
GPU = "gpu_pool:\n  vm_size: Standard_NC6s_v3\n  autoscale: {min: 1, max: 2}\n"


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
    assert ms[9].answers.azure.location == "eastus2" and ms[9].answers.gpu_pool.vm_size == "Standard_NC6s_v3"
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
        "Standard_NC6s_v3", "Standard_NC24ads_A100_v4", "Standard_NC6s_v3"]
    groups = template["parameters"]["resourceGroups"]["defaultValue"]
    assert [g["name"] for g in groups] == ["rg-aks-ai", "DefaultResourceGroup-eastus2", "DefaultResourceGroup-westus"]
    text = script.read_text()
    assert text.count("\naz aks create ") == 3 and text.count("\naz feature register ") == 1, \
        "flags once per subscription, a cluster create per member"
    lint = subprocess.run([shutil.which("shellcheck") or "shellcheck", str(script)], capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout


def test_apply_of_a_fleet_is_refused_before_any_request(tmp_path: Path, capsys):
    answers = copy_example(tmp_path)
    answers.write_text(answers.read_text() + FLEET)
    assert run(tmp_path, "apply", str(answers)) == 1
    assert "fleet of 3 clusters" in capsys.readouterr().err
    assert not (tmp_path / "sim.json.requests.jsonl").exists() or writes(tmp_path) == []
