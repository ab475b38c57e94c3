"""`export`: the az script (shellcheck-clean, every option of the plan), the ARM template whose cluster is the body
the wizard PUTs (compared with what the simulator received in a simulated apply), the JSON plan with the exact
request bodies; and export itself writes nothing to Azure."""
from __future__ import annotations

import copy

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import copy_example, run, writes
from wizard.sim import read_requests


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    copy_example(tmp_path)
    return tmp_path


def export(workdir: Path, fmt: str, *extra: str) -> Path:
    out = workdir / f"export.{fmt}"
    assert run(workdir, "export", str(workdir / "answers.yaml"), "--format", fmt, "-o", str(out), *extra) == 0
    return out


def received_puts(workdir: Path) -> list[dict]:
    """The accepted PUTs of an apply, their bodies without the provenance tags: those name the wizard run that
    created a resource, which an exported template or plan is not (a deployment of it has no journal)."""
    from wizard.provenance import NAMES

    puts = [r for r in read_requests(workdir / "sim.json") if r["method"] == "PUT" and r["body"] is not None
            and 200 <= r["status"] < 300]
    def strip(value: Any) -> None:
        if isinstance(value, list):
            for item in value:
                strip(item)
        elif isinstance(value, dict):
            tags = value.get("tags")
            if isinstance(tags, dict):
                kept = {k: v for k, v in tags.items() if k not in NAMES}
                if kept:
                    value["tags"] = kept
                else:
                    del value["tags"]
            for item in value.values():
                strip(item)

    for r in puts:
        strip(r["body"])
    return puts


def test_az_script_is_runnable_bash_with_every_option_and_export_writes_nothing(workdir: Path):
    script = export(workdir, "az")
    export(workdir, "arm")
    export(workdir, "json")
    assert writes(workdir) == [], "export must only read Azure"
    assert read_requests(workdir / "sim.json"), "export reads Azure like plan"
    text = script.read_text()
    assert text.startswith("#!/usr/bin/env bash\n") and "\nset -euo pipefail\n" in text
    assert script.stat().st_mode & 0o111, "the script is executable"
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0
    checker = shutil.which("shellcheck")
    assert checker, "shellcheck is needed (Debian package shellcheck; .ci/run installs it)"
    lint = subprocess.run([checker, "--severity=style", str(script)], capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout
    # flag registration with its wait, then the provider re-registration with its own
    flag = text.index("az feature register --namespace Microsoft.ContainerService --name ManagedGatewayAPIPreview")
    wait = text.index("until [ \"$(az feature show --namespace Microsoft.ContainerService --name "
                      "ManagedGatewayAPIPreview --query properties.state -o tsv)\" = \"Registered\" ]")
    provider = text.index("az provider register --namespace Microsoft.ContainerService")
    group = text.index('az group create -n "${RESOURCE_GROUP}" -l "${LOCATION}"')
    creates = [line for line in text.splitlines() if line.startswith("az aks create ")]
    assert text.index("az extension add --name aks-preview --upgrade --yes") < flag < wait < provider < group \
        < text.index(creates[0]), "aks-preview carries --enable-gateway-api"
    assert len(creates) == 1
    for option in ("-g \"${RESOURCE_GROUP}\"", "-n \"${CLUSTER_NAME}\"", "--kubernetes-version \"${KUBERNETES_VERSION}\"",
                   "--dns-name-prefix \"${DNS_PREFIX}\"", "--tier standard", "--k8s-support-plan KubernetesOfficial",
                   "--network-plugin azure", "--network-plugin-mode overlay", "--enable-azure-service-mesh",
                   "--revision \"${ISTIO_REVISION}\"", "--enable-keda",
                   "--enable-ai-toolchain-operator", "--enable-oidc-issuer", "--enable-azure-monitor-metrics"):
        assert option in creates[0], option
    # the staged plan (a fresh subscription, issue 18): the Gateway API follows the create in one update
    assert "--enable-gateway-api" not in creates[0]
    update = text.index('az aks update -g "${RESOURCE_GROUP}" -n "${CLUSTER_NAME}" --enable-gateway-api')
    assert text.index(creates[0]) < update and provider < update
    assert re.search(r'^RESOURCE_GROUP=rg-aks-ai$', text, re.M) and re.search(r"^KUBERNETES_VERSION=1\.34\.\d+$",
                                                                               text, re.M)
    assert "az aks nodepool add" in text and "--enable-cluster-autoscaler --min-count 1 --max-count 3" in text
    # managed Prometheus wiring, with its rule file written by the script itself
    assert 'cat > "${WORKDIR}/prometheus-dcr.json"' in text and "az monitor data-collection rule association create" in text
    # the in-cluster part: Kueue by server-side apply of its release, the queues, the GPU stack
    assert ("kubectl apply --server-side -f https://github.com/kubernetes-sigs/kueue/releases/download/v0.17.8/"
            "manifests.yaml") in text
    assert "kind: ClusterQueue" in text and "kind: DaemonSet" in text


def _resolve(value: Any, params: dict[str, str]) -> Any:
    """The template's `[parameters('x')]` expressions (the only ones in a cluster body) resolved."""
    if isinstance(value, dict):
        return {k: _resolve(v, params) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, params) for v in value]
    if isinstance(value, str) and (m := re.fullmatch(r"\[parameters\('(\w+)'\)\]", value)):
        return params[m[1]]
    return value


def member_clusters(template: dict) -> list[tuple[str, dict, dict]]:
    """(api version, resolved cluster resource, member) for each member of the copy loop."""
    deployment = next(r for r in template["resources"] if r.get("copy", {}).get("name") == "members")
    inner = deployment["properties"]["template"]
    cluster = next(r for r in inner["resources"] if r["type"] == "Microsoft.ContainerService/managedClusters")
    out = []
    for member in template["parameters"]["members"]["defaultValue"]:
        # the outer expressions hand each member's entry to the inner parameters of the same name
        assert all(v["value"] == f"[parameters('members')[copyIndex()].{k}]"
                   for k, v in deployment["properties"]["parameters"].items())
        resolved = _resolve(cluster, member)
        out.append((resolved.pop("apiVersion"), resolved, member))
    return out


def test_arm_template_cluster_is_the_body_the_wizard_puts(workdir: Path):
    from azure.mgmt.containerservice import models as m

    template = json.loads(export(workdir, "arm").read_text())
    assert template["$schema"].endswith("subscriptionDeploymentTemplate.json#")
    follow = template["metadata"]["followUp"]
    assert any("az feature register" in c for c in follow["before"])
    assert any("kueue" in c and "kubectl apply --server-side" in c for c in follow["after"]), "Kueue is not dropped"
    assert run(workdir, "apply", str(workdir / "answers.yaml")) == 0
    create, enable = [r for r in received_puts(workdir)
                      if r["path"].lower().rsplit("/", 2)[-2:-1] == ["managedclusters"]]
    # the template deploys after the registrations, in one resource: the create the wizard sent while the Gateway
    # API flag registered, with the field its preview-fields update sent once the flag was Registered
    put = copy.deepcopy(create)
    put["body"]["properties"]["ingressProfile"] = enable["body"]["properties"]["ingressProfile"]
    [(api, resource, member)] = member_clusters(template)
    assert api == put["query"]["api-version"][0], "the template's apiVersion is the one the SDK sent"
    assert resource.pop("type") == "Microsoft.ContainerService/managedClusters"
    assert resource.pop("name") == put["path"].rsplit("/", 1)[1] == member["clusterName"]
    from_template = m.ManagedCluster(resource)  # deserialised with the SDK
    assert from_template.as_dict() == m.ManagedCluster(put["body"]).as_dict()
    assert from_template.properties.agent_pool_profiles[1].vm_size == "Standard_NC4as_T4_v3"
    assert from_template.properties.ingress_profile.gateway_api.installation == "Standard"


def test_json_plan_carries_the_exact_request_bodies_sent(workdir: Path):
    doc = json.loads(export(workdir, "json").read_text())
    [member] = doc["members"]
    assert member["plan"]["ok"] and {s["id"] for s in member["plan"]["steps"]} >= {"cluster", "kueue"}
    exported = [r for r in member["requests"] if r["method"] == "PUT"]
    # a fresh subscription: the create goes out while the Gateway API flag registers, preview-fields follows
    assert {r["step"] for r in exported} == {"resource-group", "cluster", "preview-fields", "monitor-workspace",
                                             "monitor-dce", "monitor-dcr", "monitor-dcra"}
    assert run(workdir, "apply", str(workdir / "answers.yaml")) == 0
    sent: dict[tuple[str, str], list] = {}
    for r in received_puts(workdir):  # in the order sent; the cluster's path gets two PUTs
        sent.setdefault((r["path"].lower(), r["query"]["api-version"][0]), []).append(r["body"])
    seen: dict[tuple[str, str], int] = {}
    for r in exported:
        key = (r["path"].lower(), r["api_version"])
        assert key in sent, f"{r['step']}: {r['path']} was not sent"
        n = seen[key] = seen.get(key, -1) + 1
        assert n < len(sent[key]), f"{r['step']}: only {len(sent[key])} PUT(s) of {r['path']} were sent"
        if r["step"] == "preview-fields":
            # the engine sends the cluster as Azure returned it with the options applied: what Azure filled in
            # differs, the fields the create deferred and everything the answers set are as exported
            body = sent[key][n]
            assert body["properties"]["ingressProfile"] == r["body"]["properties"]["ingressProfile"]
            assert {k: body["properties"].get(k) for k in r["body"]["properties"]
                    if k not in ("agentPoolProfiles", "networkProfile", "identityProfile", "nodeResourceGroup")} == \
                {k: v for k, v in r["body"]["properties"].items()
                 if k not in ("agentPoolProfiles", "networkProfile", "identityProfile", "nodeResourceGroup")}
        else:
            assert sent[key][n] == r["body"], r["path"]
    posts = {r["path"].lower() for r in read_requests(workdir / "sim.json") if r["method"] == "POST"}
    assert all(r["path"].lower() in posts for r in member["requests"] if r["method"] == "POST")


def test_export_of_a_plan_that_cannot_be_applied_exports_nothing(workdir: Path, capsys):
    answers = workdir / "answers.yaml"
    answers.write_text(answers.read_text().replace('kubernetes_version: "1.34"', 'kubernetes_version: "1.34.99"'))
    out = workdir / "never.json"
    assert run(workdir, "export", str(answers), "--format", "arm", "-o", str(out)) == 2
    assert not out.exists()
    assert "1.34.99 is not offered" in capsys.readouterr().err
