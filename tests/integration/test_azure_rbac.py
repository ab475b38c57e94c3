"""Azure RBAC for Kubernetes authorization: the simulated AKS admits only whom AKS admits (admin groups, Kubernetes
data-plane roles once propagated), and the wizard grants itself the role it needs, waits for it, and removes
only that grant. Real SDK clients (azure-mgmt-authorization, azure-mgmt-containerservice) and the real
kubernetes client against the simulator."""
from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from azure.core.exceptions import HttpResponseError, ResourceExistsError
from kubernetes.client import CoreV1Api
from kubernetes.client.exceptions import ApiException

from tests.conftest import _allow_http_policy, arm_clients
from tests.integration.test_production import production, run, writes
from wizard.answers import answers_from_dict
from wizard.sim import Simulator
from wizard.sim.credential import DEVELOPER, PIPELINE, PLATFORM_ADMIN, PRINCIPAL_ENV, USER, SimCredential

ROLE = "Azure Kubernetes Service RBAC Cluster Admin"
ROLE_ID = "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b"
ADMIN_GROUP = "4b8f3c2e-9d1a-4f6b-8e7c-2a5d9f0b1c3e"


def authz(sim: Any, credential: Any = None) -> Any:
    from azure.mgmt.authorization import AuthorizationManagementClient

    return AuthorizationManagementClient(credential or sim.credential, sim.subscription_id, base_url=sim.base_url,
                                         polling_interval=0, per_call_policies=[_allow_http_policy()])


def role_id(sim: Any, guid: str = ROLE_ID) -> str:
    return f"/subscriptions/{sim.subscription_id}/providers/Microsoft.Authorization/roleDefinitions/{guid}"


def grant(sim: Any, scope: str, principal: str, guid: str = ROLE_ID, credential: Any = None) -> Any:
    from azure.mgmt.authorization.v2022_04_01.models import RoleAssignmentCreateParameters

    return authz(sim, credential).role_assignments.create(
        scope, str(uuid.uuid4()), RoleAssignmentCreateParameters(role_definition_id=role_id(sim, guid),
                                                                 principal_id=principal))


def entra_cluster(sim: Any, rg: str = "rg-r", name: str = "r", admin_groups: tuple[str, ...] = ()) -> tuple[str, Any]:
    """An Entra ID cluster with Azure RBAC and no local accounts; (its id, the user's signed-in kube client)."""
    from wizard.azure.entra import signed_in
    from wizard.kubeconfig import api_client
    from wizard.spec import Resolved, desired_cluster

    c = arm_clients(sim)
    c.resources.resource_groups.create_or_update(rg, {"location": "eastus2"})
    answers = answers_from_dict({
        "azure": {"subscription": "Simulated Subscription", "location": "eastus2"}, "resource_group": {"name": rg},
        "cluster": {"name": name, "istio": {"enabled": False}, "gateway_api": False,
                    "access": {"entra_id": True, "local_accounts": False,
                               "admin_group_object_ids": list(admin_groups)}}})
    resolved = Resolved(sim.subscription_id, "Simulated Subscription", "1.34.3", None, ())
    mc = c.aks.managed_clusters.begin_create_or_update(rg, name, desired_cluster(answers, resolved)).result()
    value = c.aks.managed_clusters.list_cluster_user_credentials(rg, name).kubeconfigs[0].value
    return mc.id, api_client(signed_in(bytes(value), sim.credential))


# ------------------------------------------------------------------------------------------ the simulator
def test_tokens_are_jwts_carrying_the_principal_as_entra_issues_them(sim: Any):
    from wizard.azure.roles import signed_in_principal

    p = signed_in_principal(sim.credential)
    assert (p.object_id, p.name, p.kind) == (USER.object_id, USER.name, "User") and ADMIN_GROUP not in p.groups
    sp = signed_in_principal(SimCredential(principal=PIPELINE))
    assert sp.kind == "ServicePrincipal" and sp.object_id == PIPELINE.object_id


def test_without_a_role_the_kubernetes_api_answers_403_and_owner_does_not_admit(sim: Any):
    cid, kube = entra_cluster(sim)
    client = authz(sim)
    owner = [r for r in client.role_assignments.list_for_subscription(filter=f"assignedTo('{USER.object_id}')")
             if r.role_definition_id.endswith("8e3af657-a8ff-404c-931c-0bb5da2e4e2d")]
    assert owner and owner[0].scope == f"/subscriptions/{sim.subscription_id}"  # Owner of the subscription ...
    with pytest.raises(ApiException) as err:  # ... yet Owner has no dataActions: refused
        CoreV1Api(kube).list_namespace()
    body = json.loads(err.value.body)
    assert err.value.status == 403 and body["reason"] == "Forbidden" and body["kind"] == "Status"
    assert body["message"] == (f'namespaces is forbidden: User "{USER.name}" cannot list resource "namespaces" in API '
                               'group "" at the cluster scope: User does not have access to the resource in Azure. '
                               'Update role assignment to allow access.')
    from kubernetes.client import VersionApi

    assert VersionApi(kube).get_code().git_version  # discovery stays open to every signed-in caller
    # a reader at the cluster may list but not create; the denial names the namespace
    grant(sim, cid, USER.object_id, "7f6c6a51-bcf8-42ba-9220-52d62157d7db")
    time.sleep(0.01)  # 150 simulated seconds of propagation at speed 1e5
    CoreV1Api(kube).list_namespaced_pod("default")
    with pytest.raises(ApiException) as err:
        CoreV1Api(kube).create_namespaced_config_map("default", {"metadata": {"name": "x"}})
    assert err.value.status == 403 and 'in the namespace "default"' in json.loads(err.value.body)["message"]


def test_a_new_role_assignment_admits_only_after_azure_propagates_it(make_sim: Any):
    sim = make_sim()
    cid, kube = entra_cluster(sim)
    sim.arm.speed = 100.0  # from here on the simulated clock runs slower: 150 s of propagation take 1.5 s
    t0 = time.monotonic()
    grant(sim, cid, USER.object_id)
    with pytest.raises(ApiException) as err:
        CoreV1Api(kube).list_namespace()
    assert err.value.status == 403
    while time.monotonic() - t0 < 5:
        try:
            CoreV1Api(kube).list_namespace()
            break
        except ApiException as exc:
            assert exc.status == 403
            time.sleep(0.1)
    assert 1.2 < time.monotonic() - t0 < 5


def test_an_admin_group_member_is_admitted_without_any_role_assignment(sim: Any):
    from wizard.azure.entra import signed_in
    from wizard.kubeconfig import api_client

    _, kube = entra_cluster(sim, admin_groups=(ADMIN_GROUP,))
    with pytest.raises(ApiException):
        CoreV1Api(kube).list_node()  # the signed-in user is not in the group
    value = arm_clients(sim).aks.managed_clusters.list_cluster_user_credentials("rg-r", "r").kubeconfigs[0].value
    admin = api_client(signed_in(bytes(value), SimCredential(principal=PLATFORM_ADMIN)))
    assert CoreV1Api(admin).list_node().items


def test_role_assignments_and_definitions_are_served_as_arm_serves_them(sim: Any):
    cid, _ = entra_cluster(sim)
    client = authz(sim)
    defs = list(client.role_definitions.list(f"/subscriptions/{sim.subscription_id}", filter=f"roleName eq '{ROLE}'"))
    assert [d.name for d in defs] == [ROLE_ID] and defs[0].permissions[0].data_actions == [
        "Microsoft.ContainerService/managedClusters/*"]
    owner = client.role_definitions.get_by_id(role_id(sim, "8e3af657-a8ff-404c-931c-0bb5da2e4e2d"))
    assert owner.role_name == "Owner" and not owner.permissions[0].data_actions
    made = grant(sim, cid, USER.object_id)
    assert made.scope == cid and made.principal_type == "User" and made.role_definition_id == role_id(sim)
    with pytest.raises(ResourceExistsError) as dup:  # the same grant under another name
        grant(sim, cid, USER.object_id)
    assert dup.value.error.code == "RoleAssignmentExists"
    with pytest.raises(HttpResponseError) as nobody:
        grant(sim, cid, str(uuid.uuid4()))
    assert nobody.value.status_code == 400 and nobody.value.error.code == "PrincipalNotFound"
    with pytest.raises(HttpResponseError) as denied:  # Contributor may not grant roles
        grant(sim, cid, DEVELOPER.object_id, credential=SimCredential(principal=PIPELINE))
    assert denied.value.status_code == 403 and denied.value.error.code == "AuthorizationFailed"
    listed = [r.id for r in client.role_assignments.list_for_scope(cid, filter="atScope()")]
    assert made.id in listed and len(listed) == 3  # ours, the subscription's Owner and Contributor above it
    assert client.role_assignments.delete_by_id(made.id).id == made.id
    assert client.role_assignments.delete_by_id(made.id) is None  # 204: nothing left to delete


# ------------------------------------------------------------------------------------------ the wizard
def _sim_at(directory: Path) -> Simulator:
    return Simulator(speed=1e5, state_file=directory / "sim.json").start()


def _assignment_requests(directory: Path) -> list[dict]:
    return [r for r in writes(directory) if "/roleassignments/" in r["path"].lower()]


def test_production_applies_with_the_role_step_and_teardown_removes_only_that_grant(tmp_path: Path, capsys):
    answers = production(tmp_path)
    assert run(tmp_path, "plan", str(answers)) == 0
    out = capsys.readouterr().out
    assert "+ cluster-access" in out and f"az role assignment create --role '{ROLE}' --assignee-object-id " \
           f"{USER.object_id} --assignee-principal-type User --scope" in out
    assert run(tmp_path, "apply", str(answers)) == 0
    out = capsys.readouterr().out
    assert f"granted {USER.name} {ROLE} on cluster aks-prod" in out
    puts = [r for r in _assignment_requests(tmp_path) if r["method"] == "PUT"]
    assert len(puts) == 1 and puts[0]["body"]["properties"]["principalId"] == USER.object_id
    assert "aks-ai-wizard-answers=" in puts[0]["body"]["properties"]["description"]  # provenance
    ours = puts[0]["path"]
    journal = [json.loads(line) for line in (tmp_path / "production.journal.jsonl").read_text().splitlines()]
    assert [r["event"] for r in journal if r.get("step") == "cluster-access"][:3] == ["started", "intent", "done"]
    # a colleague's grant on the same cluster, made after the apply: never the wizard's to delete
    sim = _sim_at(tmp_path)
    cid = ours.split("/providers/Microsoft.Authorization/")[0]
    theirs = grant(sim, cid, DEVELOPER.object_id)
    sim.stop()
    assert run(tmp_path, "plan", str(answers), "--detailed-exitcode") == 0  # in place: nothing to do
    assert run(tmp_path, "teardown", str(answers), "--yes") == 0
    out = capsys.readouterr().out
    assert "delete the role assignment" in out and theirs.name not in out
    deletes = [r for r in _assignment_requests(tmp_path) if r["method"] == "DELETE"]
    assert [d["path"] for d in deletes] == [ours]
    order = [r["path"].lower() for r in writes(tmp_path) if r["method"] == "DELETE"]
    assert order.index(ours.lower()) < order.index(cid.lower())  # the grant goes before the cluster


def test_a_principal_already_holding_a_data_role_gets_no_grant_and_teardown_keeps_it(tmp_path: Path, capsys):
    sim = _sim_at(tmp_path)
    pre = grant(sim, f"/subscriptions/{sim.subscription_id}", USER.object_id)  # before any run: not ours
    sim.stop()
    before = len(_assignment_requests(tmp_path))  # the grant above
    answers = production(tmp_path)
    assert run(tmp_path, "apply", str(answers)) == 0
    out = capsys.readouterr().out
    assert "already admitted" in out and f"holds {ROLE} on /subscriptions/" in out
    assert len(_assignment_requests(tmp_path)) == before == 1
    assert run(tmp_path, "teardown", str(answers), "--yes") == 0
    assert not [r for r in _assignment_requests(tmp_path) if r["method"] == "DELETE"]
    sim = _sim_at(tmp_path)
    assert authz(sim).role_assignments.get_by_id(pre.id).id == pre.id
    sim.stop()


def test_an_admin_group_member_applies_without_a_role_assignment(tmp_path: Path, capsys, monkeypatch):
    monkeypatch.setenv(PRINCIPAL_ENV, PLATFORM_ADMIN.name)
    answers = production(tmp_path)
    assert run(tmp_path, "apply", str(answers)) == 0
    out = capsys.readouterr().out
    assert f"is a member of admin group {ADMIN_GROUP}" in out and not _assignment_requests(tmp_path)
    assert "installed" in out.lower() and "kueue" in out.lower()  # the Kubernetes steps ran as this member


def test_apply_waits_out_the_propagation_lag_instead_of_failing(tmp_path: Path, capsys, monkeypatch):
    answers = production(tmp_path)
    monkeypatch.setenv(PRINCIPAL_ENV, PLATFORM_ADMIN.name)  # the platform team made the cluster
    assert run(tmp_path, "apply", str(answers)) == 0
    monkeypatch.delenv(PRINCIPAL_ENV)
    capsys.readouterr()
    t0 = time.monotonic()  # the user runs it again: the grant takes 150 simulated seconds (1.5 s at speed 100)
    assert main_at(tmp_path, "100", "apply", str(answers)) == 0
    out = capsys.readouterr().out
    assert "waiting for Azure RBAC to reach the API server (403 Forbidden until it does" in out
    assert "the API server admits it (after" in out and time.monotonic() - t0 > 1.4


def main_at(directory: Path, speed: str, *args: str) -> int:
    from wizard.cli import main

    return main(["--simulate", "--sim-speed", speed, "--sim-state", str(directory / "sim.json"), *args])


def test_verify_says_which_role_is_needed_when_the_user_is_not_admitted(tmp_path: Path, capsys, monkeypatch):
    answers = production(tmp_path)
    assert run(tmp_path, "apply", str(answers)) == 0
    capsys.readouterr()
    monkeypatch.setenv(PRINCIPAL_ENV, DEVELOPER.name)
    assert run(tmp_path, "verify", "-g", "rg-aks-prod", "-n", "aks-prod") == 3
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert f"Forbidden: the Kubernetes API of aks-prod refuses {DEVELOPER.name}: it needs the role {ROLE}" in text
    assert f"--assignee-object-id {DEVELOPER.object_id}" in text and "Traceback" not in text
    assert "UNSURE" not in text


def test_preflight_fails_a_new_cluster_whose_user_no_role_can_admit(tmp_path: Path, capsys):
    answers = production(tmp_path, **{"azure_rbac: true": "azure_rbac: false"})
    assert run(tmp_path, "plan", str(answers)) == 2
    out = capsys.readouterr().out
    assert "[FAIL] the signed-in principal on the Kubernetes API" in out and "Azure RBAC is off" in out
    assert "cluster-access" not in out and not writes(tmp_path)


def test_the_kubeconfig_the_wizard_signs_in_with_carries_the_principal(sim: Any):
    from wizard.azure.entra import signed_in

    _, kube = entra_cluster(sim)
    value = arm_clients(sim).aks.managed_clusters.list_cluster_user_credentials("rg-r", "r").kubeconfigs[0].value
    token = yaml.safe_load(signed_in(bytes(value), sim.credential))["users"][0]["user"]["token"]
    from wizard.azure.roles import token_claims

    claims = token_claims(token)
    assert claims["aud"] == "6dae42f8-4368-4678-94ff-3960e28e3630" and claims["oid"] == USER.object_id


def test_a_principal_that_may_not_grant_roles_stops_at_the_step_with_what_to_do(tmp_path: Path, capsys, monkeypatch):
    monkeypatch.setenv(PRINCIPAL_ENV, PIPELINE.name)  # Contributor: creates the cluster, may not grant roles
    answers = production(tmp_path)
    assert run(tmp_path, "apply", str(answers)) == 3
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert "failed    cluster-access" in text and "AuthorizationFailed" in text and "Traceback" not in text
    assert "Microsoft.Authorization/roleAssignments/write" in text and "User Access Administrator" in text
    assert not [r for r in _assignment_requests(tmp_path) if r["status"] < 300]
