"""Answers file: model, rules, YAML load/save with line numbers, JSON Schema."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from wizard.answers import (
    Answers,
    AnswersError,
    FieldError,
    answers_from_dict,
    answers_to_yaml,
    json_schema,
    load_answers,
    load_partial,
    parse_answers,
    rules,
    save_answers,
)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "answers.yaml"
MINIMAL = ROOT / "examples" / "minimal.yaml"

BASE = {
    "azure": {"subscription": "sub", "location": "eastus2"},
    "resource_group": {"name": "rg-ai"},
    "cluster": {"name": "aks-ai"},
}


def doc(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def with_(**sections) -> dict:
    """BASE with sections merged one level deep."""
    data = json.loads(json.dumps(BASE))
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key].update(value)
        else:
            data[key] = value
    return data


def errors_of(data) -> list[FieldError]:
    with pytest.raises(AnswersError) as info:
        answers_from_dict(data)
    return info.value.errors


def only_error(data) -> FieldError:
    errors = errors_of(data)
    assert len(errors) == 1, errors
    return errors[0]


def parse_errors(text: str, source: str = "answers.yaml") -> AnswersError:
    with pytest.raises(AnswersError) as info:
        parse_answers(doc(text), source)
    return info.value


# ------------------------------------------------------------- round trips

def test_example_loads_with_seed_choices():
    a = load_answers(EXAMPLE)
    assert a.azure.subscription == "Simulated Subscription"
    assert a.azure.location == "eastus2"
    assert a.cluster.kubernetes_version == "1.34"
    assert a.cluster.istio.enabled and a.cluster.istio.revision == "auto"
    assert a.cluster.gateway_api is True
    assert (a.cluster.addons.keda, a.cluster.addons.kaito, a.cluster.addons.managed_prometheus) == (True, True, True)
    assert a.gpu_pool is not None
    assert a.gpu_pool.vm_size == "Standard_NC4as_T4_v3"
    assert a.gpu_pool.count == 1
    assert (a.gpu_pool.autoscale.min, a.gpu_pool.autoscale.max) == (1, 3)
    assert a.gpu_pool.taints == ["sku=gpu:NoSchedule"]
    assert a.gpu_pool.managed_gpu is False
    assert a.kueue.install is True
    assert a.verify.probes is True  # the demo proves every requirement; the model default stays False


def test_save_then_load_is_equal(tmp_path):
    a = load_answers(EXAMPLE)
    out = tmp_path / "saved.yaml"
    save_answers(a, out)
    assert load_answers(out) == a
    assert [p.name for p in tmp_path.iterdir()] == ["saved.yaml"]  # no temp file left behind
    # overwriting goes through a temp file + os.replace as well
    save_answers(a.model_copy(update={"features": ["Microsoft.ContainerService/ManagedGatewayAPIPreview"]}), out)
    assert load_answers(out).features == ["Microsoft.ContainerService/ManagedGatewayAPIPreview"]


def test_yaml_is_readable_in_model_order_with_defaults():
    text = answers_to_yaml(load_answers(MINIMAL))
    top = [line.split(":")[0] for line in text.splitlines() if line and line[0].isalpha()]
    assert top == ["version", "azure", "resource_group", "cluster", "features", "gpu_pool", "gpu_pools", "kueue",
                   "verify"]
    assert "kubernetes_version: '1.34'" in text  # quoted, so it stays a string everywhere
    assert "  system_pool:\n    name: system\n    vm_size: Standard_D4ds_v5\n    count: 2\n" in text
    assert parse_answers(text) == load_answers(MINIMAL)


def test_minimal_gets_all_defaults():
    a = load_answers(MINIMAL)
    assert a == Answers(
        azure={"subscription": "Simulated Subscription", "location": "eastus2"},
        resource_group={"name": "rg-aks-ai"},
        cluster={"name": "aks-ai"},
    )
    assert a.version == 1
    assert a.azure.cloud == "AzureCloud" and a.azure.auth == "default" and a.azure.tenant is None
    c = a.cluster
    assert (c.kubernetes_version, c.tier, c.support_plan, c.dns_prefix) == ("1.34", "Standard", "KubernetesOfficial", None)
    assert (c.system_pool.name, c.system_pool.vm_size, c.system_pool.count, c.system_pool.zones) == (
        "system", "Standard_D4ds_v5", 2, [])
    assert (c.network.plugin, c.network.plugin_mode, c.network.dataplane) == ("azure", "overlay", None)
    assert (c.istio.enabled, c.istio.revision, c.gateway_api) == (True, "auto", True)
    assert (c.addons.keda, c.addons.kaito, c.addons.managed_prometheus) == (True, True, True)
    assert a.features == "auto" and a.gpu_pool is None
    assert (a.kueue.install, a.kueue.version, a.kueue.default_queues) == (True, "v0.17.8", True)
    assert (a.verify.probes, a.verify.checklist) == (False, "1.34")


def test_gpu_pool_defaults_when_present():
    a = answers_from_dict(with_(gpu_pool={"vm_size": "Standard_NC6s_v3"}))
    g = a.gpu_pool
    assert (g.name, g.count, g.autoscale, g.taints, g.labels, g.managed_gpu, g.zones) == (
        "gpunp", 1, None, ["sku=gpu:NoSchedule"], {}, False, [])


def test_gpu_pool_vm_size_required():
    e = only_error(with_(gpu_pool={"name": "gpu"}))
    assert (e.path, e.message) == ("gpu_pool.vm_size", "required")


def test_empty_section_means_default():
    a = parse_answers(doc("""
        azure: {subscription: s, location: eastus2}
        resource_group:
          name: rg
          tags:
        cluster: {name: c}
        kueue:
        gpu_pool:
    """))
    assert a.kueue.install is True and a.resource_group.tags == {} and a.gpu_pool is None


def test_unquoted_version_stays_a_string():
    a = parse_answers(doc("""
        azure: {subscription: s, location: eastus2}
        resource_group: {name: rg}
        cluster: {name: c, kubernetes_version: 1.40}
        verify: {checklist: 1.35}
    """))
    assert a.cluster.kubernetes_version == "1.40"  # not 1.4
    assert a.verify.checklist == "1.35"


def test_custom_cloud_and_zones_as_integers():
    a = answers_from_dict(with_(
        azure={"cloud": {"name": "stack", "resource_manager": "https://management.local.azurestack.external/",
                         "authority_host": "https://adfs.local.azurestack.external/adfs/",
                         "audience": "https://management.adfs.azurestack.external/"}},
        cluster={"system_pool": {"zones": [1, 2, 3]}},
    ))
    assert a.azure.cloud.name == "stack"
    assert a.cluster.system_pool.zones == ["1", "2", "3"]
    assert parse_answers(answers_to_yaml(a)) == a


def test_custom_cloud_errors():
    errors = errors_of(with_(azure={"cloud": {"name": "x", "resource_manager": "http://example.com",
                                              "authority_host": "https://login.example"}}))
    got = {(e.path, e.message.split(" (")[0]) for e in errors}
    assert got == {
        ("azure.cloud.resource_manager", "must be an https:// URL with a host"),
        ("azure.cloud.audience", "required"),
    }


def test_cloud_name_did_you_mean():
    e = only_error(with_(azure={"cloud": "azurecloud"}))
    assert e.path == "azure.cloud"
    assert "AzureCloud, AzureChinaCloud, AzureUSGovernment" in e.message
    assert e.message.endswith("did you mean 'AzureCloud'?")


# ------------------------------------------------------------ naming rules

NAMING = [
    # (rule, value, ok)
    (rules.check_resource_group_name, "r" * 90, True),
    (rules.check_resource_group_name, "r" * 91, False),
    (rules.check_resource_group_name, "", False),
    (rules.check_resource_group_name, "rg_(ai).prod-1", True),
    (rules.check_resource_group_name, "rg.", False),
    (rules.check_resource_group_name, "rg ai", False),
    (rules.check_resource_group_name, "rg/ai", False),
    (rules.check_resource_group_name, "grupo-produção", True),  # Unicode letters, as Azure allows
    (rules.check_cluster_name, "a" * 63, True),
    (rules.check_cluster_name, "a" * 64, False),
    (rules.check_cluster_name, "a", True),
    (rules.check_cluster_name, "aks_AI-1", True),
    (rules.check_cluster_name, "-aks", False),
    (rules.check_cluster_name, "aks_", False),
    (rules.check_cluster_name, "aks.ai", False),
    (rules.check_pool_name, "a" * 12, True),
    (rules.check_pool_name, "a" * 13, False),
    (rules.check_pool_name, "gpunp", True),
    (rules.check_pool_name, "gpu1", True),
    (rules.check_pool_name, "1gpu", False),
    (rules.check_pool_name, "GPU-Pool", False),
    (rules.check_pool_name, "gpu_pool", False),
    (rules.check_pool_name, "", False),
    (rules.check_dns_prefix, "d" * 54, True),
    (rules.check_dns_prefix, "d" * 55, False),
    (rules.check_dns_prefix, "aks-ai-dns", True),
    (rules.check_dns_prefix, "aks_ai", False),
    (rules.check_dns_prefix, "aks-", False),
    (rules.check_location, "eastus2", True),
    (rules.check_location, "East US 2", False),
    (rules.check_location, "east-us", False),
]


@pytest.mark.parametrize("rule,value,ok", NAMING, ids=[f"{r.__name__}-{v[:15]!r}-{len(v)}" for r, v, _ in NAMING])
def test_naming_rules(rule, value, ok):
    message = rule(value)
    if ok:
        assert message is None
    else:
        assert message and repr(value) in message


@pytest.mark.parametrize("path,data,expected", [
    ("resource_group.name", with_(resource_group={"name": "r" * 91}),
     "must be 1-90 characters of letters, digits, '.', '_', '-', '(' and ')', not ending in '.'"),
    ("cluster.name", with_(cluster={"name": "a" * 64}),
     "must be 1-63 characters of letters, digits, '-' and '_', starting and ending with a letter or digit"),
    ("cluster.dns_prefix", with_(cluster={"dns_prefix": "d" * 55}),
     "must be 1-54 characters of letters, digits and '-', starting and ending with a letter or digit"),
    ("cluster.system_pool.name", with_(cluster={"system_pool": {"name": "a" * 13}}),
     "must be 1-12 lowercase letters and digits, starting with a letter"),
    ("gpu_pool.name", with_(gpu_pool={"name": "GPU-Pool", "vm_size": "Standard_NC6s_v3"}),
     "must be 1-12 lowercase letters and digits, starting with a letter (got 'GPU-Pool')"),
])
def test_naming_rules_through_the_model(path, data, expected):
    e = only_error(data)
    assert e.path == path
    assert e.message.startswith(expected)


def test_location_suggests_region_name():
    e = only_error(with_(azure={"location": "East US 2"}))
    assert e.path == "azure.location"
    assert e.message.endswith("did you mean 'eastus2'?")


def test_pool_names_must_differ():
    e = only_error(with_(gpu_pool={"name": "system", "vm_size": "Standard_NC6s_v3"}))
    assert e.path == "gpu_pool.name"
    assert "different from the system pool's ('system')" in e.message


# ------------------------------------------------------ kubernetes version

@pytest.mark.parametrize("version", ["1.34", "1.34.2", "1.35", "1.36.0", "2.0"])
def test_version_accepted(version):
    assert answers_from_dict(with_(cluster={"kubernetes_version": version})).cluster.kubernetes_version == version


@pytest.mark.parametrize("version,message", [
    ("1.33", "Kubernetes 1.33 is below 1.34, the version the AI conformance checklist targets; use 1.34 or newer"),
    ("1.33.9", "Kubernetes 1.33.9 is below 1.34, the version the AI conformance checklist targets; use 1.34 or newer"),
    ("1.9", "Kubernetes 1.9 is below 1.34, the version the AI conformance checklist targets; use 1.34 or newer"),
    ("v1.34", 'must be a minor version like "1.34" or an exact patch like "1.34.2" (got \'v1.34\')'),
    ("1.34.2.1", 'must be a minor version like "1.34" or an exact patch like "1.34.2" (got \'1.34.2.1\')'),
    ("latest", 'must be a minor version like "1.34" or an exact patch like "1.34.2" (got \'latest\')'),
])
def test_version_refused(version, message):
    e = only_error(with_(cluster={"kubernetes_version": version}))
    assert (e.path, e.message) == ("cluster.kubernetes_version", message)


def test_version_below_minimum_has_line_number():
    err = parse_errors("""
        azure: {subscription: s, location: eastus2}
        resource_group: {name: rg}
        cluster:
          name: c
          kubernetes_version: "1.33"
    """)
    assert str(err) == (
        "answers.yaml:5:23: cluster.kubernetes_version: Kubernetes 1.33 is below 1.34, the version "
        "the AI conformance checklist targets; use 1.34 or newer"
    )


# ---------------------------------------------------------------- autoscale

def gpu(**kw):
    return with_(gpu_pool={"vm_size": "Standard_NC6s_v3", **kw})


@pytest.mark.parametrize("count,lo,hi", [(1, 1, 3), (0, 0, 0), (3, 1, 3), (1000, 0, 1000), (1, 1, 1)])
def test_autoscale_ok(count, lo, hi):
    a = answers_from_dict(gpu(count=count, autoscale={"min": lo, "max": hi}))
    assert (a.gpu_pool.autoscale.min, a.gpu_pool.autoscale.max) == (lo, hi)


@pytest.mark.parametrize("count,lo,hi,path,message", [
    (1, -1, 3, "gpu_pool.autoscale.min", "must be between 0 and 1000 (got -1)"),
    (1, 1, 1001, "gpu_pool.autoscale.max", "must be between 0 and 1000 (got 1001)"),
    (2, 3, 1, "gpu_pool.autoscale.min", "autoscale min (3) must not be greater than max (1)"),
    (0, 1, 3, "gpu_pool.count", "count (0) must not be below autoscale min (1)"),
    (4, 1, 3, "gpu_pool.count", "count (4) must not be above autoscale max (3)"),
    (1001, 1, 3, "gpu_pool.count", "must be between 0 and 1000 (got 1001)"),
])
def test_autoscale_bounds(count, lo, hi, path, message):
    e = only_error(gpu(count=count, autoscale={"min": lo, "max": hi}))
    assert (e.path, e.message) == (path, message)


def test_count_without_autoscale():
    assert answers_from_dict(gpu(count=0)).gpu_pool.count == 0
    e = only_error(gpu(count=-1))
    assert (e.path, e.message) == ("gpu_pool.count", "must be between 0 and 1000 (got -1)")
    e = only_error(with_(cluster={"system_pool": {"count": 0}}))
    assert (e.path, e.message) == ("cluster.system_pool.count", "must be between 1 and 1000 (got 0)")


def test_managed_gpu_with_autoscaler_loads():
    # DESIGN.md's own example combines them; the conflict is a preflight finding with its two ways out,
    # not a syntax error, so the file must load.
    a = answers_from_dict(gpu(managed_gpu=True, autoscale={"min": 1, "max": 3}))
    assert a.gpu_pool.managed_gpu is True and a.gpu_pool.autoscale.max == 3


# ------------------------------------------------------------ taints, labels

@pytest.mark.parametrize("taint", [
    "sku=gpu:NoSchedule", "nvidia.com/gpu=present:NoExecute", "nvidia.com/gpu=:NoSchedule",
    "nvidia.com/gpu:PreferNoSchedule", "dedicated=ai-team_1:NoSchedule",
])
def test_taint_ok(taint):
    assert rules.check_taint(taint) is None
    assert answers_from_dict(gpu(taints=[taint])).gpu_pool.taints == [taint]


@pytest.mark.parametrize("taint,fragment", [
    ("sku=gpu", "must be key=value:Effect"),
    ("sku=gpu:NoSchedul", "must be key=value:Effect"),
    ("sku=gpu:noschedule", "must be key=value:Effect"),
    (":NoSchedule", "must be key=value:Effect"),
    ("=gpu:NoSchedule", "the taint key must be"),
    ("bad key=gpu:NoSchedule", "the taint key must be"),
    ("a/b/c=gpu:NoSchedule", "the taint key must be"),
    ("sku=gpu!:NoSchedule", "the taint value must be"),
    ("sku=" + "v" * 64 + ":NoSchedule", "the taint value must be"),
])
def test_taint_bad(taint, fragment):
    e = only_error(gpu(taints=["sku=gpu:NoSchedule", taint]))
    assert e.path == "gpu_pool.taints[1]"
    assert e.message.startswith(fragment)
    assert "NoSchedule, PreferNoSchedule, NoExecute" in e.message or fragment != "must be key=value:Effect"


def test_labels():
    ok = {"nvidia.com/gpu.present": "true", "team": "", "a" * 63: "b" * 63}
    assert answers_from_dict(gpu(labels=ok)).gpu_pool.labels == ok
    errors = errors_of(gpu(labels={"bad key": "x", "good": "bad value!", "x/": "y"}))
    got = {(e.path, e.message.split(" must")[0]) for e in errors}
    assert got == {
        ('gpu_pool.labels["bad key"]', "a label key"),
        ("gpu_pool.labels.good", "a label value"),
        ('gpu_pool.labels["x/"]', "a label key"),
    }


def test_label_key_error_points_at_the_key():
    err = parse_errors("""
        azure: {subscription: s, location: eastus2}
        resource_group: {name: rg}
        cluster: {name: c}
        gpu_pool:
          vm_size: Standard_NC6s_v3
          labels:
            ok: "yes"
            "Bad Key": v
    """)
    (e,) = err.errors
    assert (e.path, e.line, e.column) == ('gpu_pool.labels["Bad Key"]', 8, 5)


# ------------------------------------------------------------- cross-field

def test_gateway_api_without_istio():
    e = only_error(with_(cluster={"istio": {"enabled": False}}))  # gateway_api defaults to true
    assert e.path == "cluster.gateway_api"
    assert "needs cluster.istio.enabled: true" in e.message
    assert "managed Gateway API runs on the Istio service mesh add-on" in e.message
    assert answers_from_dict(with_(cluster={"istio": {"enabled": False}, "gateway_api": False}))


def test_gateway_api_without_istio_line():
    err = parse_errors("""
        azure: {subscription: s, location: eastus2}
        resource_group: {name: rg}
        cluster:
          name: c
          istio: {enabled: false}
          gateway_api: true
    """)
    (e,) = err.errors
    assert (e.path, e.line, e.column) == ("cluster.gateway_api", 6, 16)


def test_gateway_api_needs_recent_revision():
    e = only_error(with_(cluster={"istio": {"revision": "asm-1-25"}}))
    assert e.path == "cluster.istio.revision" and "asm-1-26 or newer" in e.message
    assert answers_from_dict(with_(cluster={"istio": {"revision": "asm-1-26"}}))
    e = only_error(with_(cluster={"istio": {"revision": "1.26"}}))
    assert e.message == 'must be "auto" or an Istio add-on revision like asm-1-26 (got \'1.26\')'


def test_long_term_support_needs_premium():
    e = only_error(with_(cluster={"support_plan": "AKSLongTermSupport"}))
    assert e.path == "cluster.support_plan"
    assert e.message.startswith("support_plan AKSLongTermSupport needs tier: Premium (got tier 'Standard')")
    assert answers_from_dict(with_(cluster={"support_plan": "AKSLongTermSupport", "tier": "Premium"}))


def test_network_overlay_needs_azure_plugin():
    e = only_error(with_(cluster={"network": {"plugin": "kubenet"}}))
    assert e.path == "cluster.network.plugin_mode" and "set plugin_mode: null" in e.message
    assert answers_from_dict(with_(cluster={"network": {"plugin": "kubenet", "plugin_mode": None}}))


def test_sha256_and_manifest():
    good = "ab" * 32
    assert answers_from_dict(with_(kueue={"manifest": "./kueue.yaml", "sha256": good})).kueue.sha256 == good
    errors = errors_of(with_(kueue={"sha256": "abc", "manifest": "http://example.com/k.yaml", "version": "0.14"}))
    got = {e.path: e.message for e in errors}
    assert got["kueue.sha256"] == "must be a SHA-256 digest of 64 hexadecimal characters (got 3 characters: 'abc')"
    assert got["kueue.manifest"].startswith("must be a local file path or an https:// URL")
    assert got["kueue.version"].startswith("must be a Kueue release tag like v0.17.8")
    assert rules.check_sha256("g" * 64) and rules.check_sha256("a" * 65) and not rules.check_sha256("A" * 64)


def test_features_list():
    a = answers_from_dict(with_(features=["Microsoft.ContainerService/ManagedGatewayAPIPreview"]))
    assert a.features == ["Microsoft.ContainerService/ManagedGatewayAPIPreview"]
    errors = errors_of(with_(features=["ManagedGatewayAPIPreview"]))
    assert [(e.path, e.message.split(",")[0]) for e in errors] == [("features[0]", "must be Namespace/FeatureName")]
    e = only_error(with_(features="manual"))
    assert e.path == "features" and e.message.startswith("must be auto or a list of Namespace/FeatureName")


def test_monitor_workspace_id():
    ws = ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Monitor/"
          "accounts/amw")
    assert answers_from_dict(with_(cluster={"addons": {"monitor_workspace_id": ws}}))
    e = only_error(with_(cluster={"addons": {"monitor_workspace_id": "amw"}}))
    assert e.path == "cluster.addons.monitor_workspace_id" and "Azure Monitor workspace" in e.message


# ------------------------------------------------------------ error reports

def test_unknown_key_did_you_mean_with_line():
    err = parse_errors("""
        version: 1
        azure:
          subscription: s
          location: eastus2
        resource_group:
          name: rg
        clustr:
          name: aks
    """)
    assert [(e.path, e.message, e.line, e.column) for e in err.errors] == [
        ("cluster", "required", 1, 1),
        ("clustr", "unknown key 'clustr'; did you mean 'cluster'?", 7, 1),
    ]
    assert "answers.yaml:7:1: clustr: unknown key 'clustr'; did you mean 'cluster'?" in str(err).splitlines()


def test_unknown_key_lists_allowed_keys_when_nothing_is_close():
    err = parse_errors("""
        azure: {subscription: s, location: eastus2}
        resource_group: {name: rg}
        cluster: {name: c}
        verify:
          probes: false
          zzz: 1
    """)
    (e,) = err.errors
    assert (e.path, e.line, e.column) == ("verify.zzz", 6, 3)
    assert e.message == ("unknown key 'zzz'; allowed keys: probes, checklist, require_conformance, billable_probes, "
                         "product")


def test_wrong_type_message():
    err = parse_errors("""
        azure: {subscription: s, location: eastus2}
        resource_group: {name: rg}
        cluster:
          name: c
          system_pool:
            count: three
          gateway_api: maybe
    """)
    assert [(str(e)) for e in err.errors] == [
        "6:12: cluster.system_pool.count: expected an integer, got string 'three'",
        "7:16: cluster.gateway_api: expected true or false, got string 'maybe'",
    ]


def test_strict_types():
    e = only_error(with_(cluster={"system_pool": {"count": "3"}}))
    assert e.message == "expected an integer, got string '3'"
    e = only_error(with_(cluster={"name": 123}))
    assert e.message == "expected a string, got integer 123; put it in quotes"
    e = only_error(with_(cluster={"tier": "standard"}))
    assert e.message == "must be one of Free, Standard, Premium (got string 'standard'); did you mean 'Standard'?"
    e = only_error(with_(gpu_pool="yes"))
    assert e.path == "gpu_pool" and e.message.startswith("expected a mapping with keys name, vm_size, count")
    e = only_error(with_(version=2))
    assert (e.path, e.message) == ("version", "unsupported answers schema version (integer 2); this wizard reads version 1")


def test_malformed_yaml_line_and_column():
    err = parse_errors("""
        azure:
          subscription: s
          location: [eastus2
        cluster: {name: c}
    """)
    (e,) = err.errors
    assert e.path == ""
    assert (e.line, e.column) == (4, 8)
    assert e.message.startswith("malformed YAML: ") and "expected ',' or ']'" in e.message  # libyaml or PyYAML
    assert str(err).startswith("answers.yaml:4:8: malformed YAML:")


def test_malformed_yaml_bad_indent():
    err = parse_errors("azure:\n  subscription: s\n location: eastus2\n")
    (e,) = err.errors
    assert (e.line, e.column) == (3, 2)
    assert "malformed YAML" in e.message


def test_unsafe_tags_are_refused():
    err = parse_errors("azure: !!python/object/apply:os.system ['true']\n")
    (e,) = err.errors
    assert e.line == 1 and "malformed YAML" in e.message and "python/object/apply" in e.message


@pytest.mark.parametrize("text,message", [
    ("- a\n- b\n", "the answers file must be a mapping (key: value pairs) at the top level, got a list"),
    ("just a string\n", "the answers file must be a mapping (key: value pairs) at the top level, got string 'just a string'"),
    ("", "the file is empty; expected a mapping with at least azure, resource_group and cluster"),
])
def test_top_level_must_be_a_mapping(text, message):
    err = parse_errors(text)
    assert [e.message for e in err.errors] == [message]


def test_duplicate_key():
    err = parse_errors("""
        azure: {subscription: s, location: eastus2}
        resource_group: {name: rg}
        cluster:
          name: a
          name: b
    """)
    (e,) = err.errors
    assert (e.path, e.message, e.line, e.column) == ("cluster.name", "duplicate key 'name' (first given at line 4)", 5, 3)


def test_every_error_at_once():
    err = parse_errors("""
        version: 1
        azure:
          subscription: s
          location: East US
        resource_group:
          name: rg.
        cluster:
          name: -aks
          kubernetes_version: "1.33"
          istio: {enabled: false}
          tier: Gold
        gpu_pool:
          name: GPU-Pool
          vm_size: Standard_NC6s_v3
          count: three
          taints: [sku=gpu, "nvidia.com/gpu=:NoSchedule"]
          autoscale: {min: 3, max: 1}
        kueue:
          sha256: abc
          instal: true
    """)
    lines = str(err).splitlines()
    assert len(lines) == len(err.errors) == 12
    assert [(e.path, e.line, e.column) for e in err.errors] == [
        ("azure.location", 4, 13),
        ("resource_group.name", 6, 9),
        ("cluster.gateway_api", 8, 3),  # not written (default true): blamed on the cluster mapping
        ("cluster.name", 8, 9),
        ("cluster.kubernetes_version", 9, 23),
        ("cluster.tier", 11, 9),
        ("gpu_pool.name", 13, 9),
        ("gpu_pool.count", 15, 10),
        ("gpu_pool.taints[0]", 16, 12),
        ("gpu_pool.autoscale.min", 17, 20),
        ("kueue.sha256", 19, 11),
        ("kueue.instal", 20, 3),
    ]
    assert lines[0] == (
        "answers.yaml:4:13: azure.location: must be an Azure region name in lowercase letters and "
        "digits, like eastus2 (got 'East US'); did you mean 'eastus'?"
    )
    assert "answers.yaml:11:9: cluster.tier: must be one of Free, Standard, Premium (got string 'Gold')" in lines
    assert "answers.yaml:15:10: gpu_pool.count: expected an integer, got string 'three'" in lines
    assert "answers.yaml:20:3: kueue.instal: unknown key 'instal'; did you mean 'install'?" in lines


def test_answers_error_str_without_lines():
    err = AnswersError([FieldError("cluster.name", "required"), FieldError("", "boom", 3, 4)], "a.yaml")
    assert str(err) == "a.yaml: cluster.name: required\na.yaml:3:4: boom"
    assert str(AnswersError([FieldError("x", "y")])) == "x: y"


# ------------------------------------------------------- files and partial

def test_missing_file(tmp_path):
    with pytest.raises(AnswersError) as info:
        load_answers(tmp_path / "nope.yaml")
    (e,) = info.value.errors
    assert e.path == "" and e.message.startswith("answers file not found:")


def test_load_partial_from_text_and_path(tmp_path):
    data, errors = load_partial("cluster:\n  name: a\n  tier: Gold\n")
    assert data == {"cluster": {"name": "a", "tier": "Gold"}}
    assert [(e.path, e.message.split(" (")[0]) for e in errors] == [
        ("azure", "required"), ("resource_group", "required"), ("cluster.tier", "must be one of Free, Standard, Premium"),
    ]
    assert errors[2].line == 3
    data, errors = load_partial(MINIMAL)
    assert errors == [] and data["cluster"] == {"name": "aks-ai"}
    data, errors = load_partial(str(tmp_path / "missing.yaml"))
    assert data == {} and errors[0].message.startswith("answers file not found")
    data, errors = load_partial("a: [")
    assert data == {} and errors[0].message.startswith("malformed YAML")


def test_save_is_atomic_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "a.yaml"
    target.write_text("original\n")
    a = load_answers(MINIMAL)

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        save_answers(a, target)
    assert target.read_text() == "original\n"
    assert [p.name for p in tmp_path.iterdir()] == ["a.yaml"]


# ------------------------------------------------------------------ schema

def test_json_schema():
    schema = json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] and schema["title"].startswith("aks-ai-wizard answers")
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == {
        "version", "azure", "resource_group", "cluster", "features", "gpu_pool", "gpu_pools", "kueue", "verify",
        "fleet"}
    assert set(schema["required"]) == {"azure", "resource_group", "cluster"}
    for name, sub in schema["$defs"].items():
        assert sub.get("additionalProperties") is False, name
        for prop, spec in sub["properties"].items():
            ref = spec.get("$ref", "").rpartition("/")[2]
            described = spec.get("description") or schema["$defs"].get(ref, {}).get("description")
            assert described, f"{name}.{prop} has no description"
    json.dumps(schema)


def test_json_schema_validates_example():
    jsonschema = pytest.importorskip("jsonschema")
    import yaml

    data = yaml.safe_load(EXAMPLE.read_text())
    jsonschema.Draft202012Validator(json_schema()).validate(data)


def test_import_is_light():
    code = "import sys, wizard.answers; print([m for m in sys.modules if m.split('.')[0] in ('azure', 'textual')])"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ------------------------------------------------------------------ nothing slips through
def test_a_trailing_newline_never_passes_a_name_rule():
    from wizard.answers import AnswersError, parse_answers

    base = (Path(__file__).parents[2] / "examples" / "minimal.yaml").read_text()
    for old, new in (("name: aks-ai", 'name: "aks-ai\\n"'), ("name: rg-aks-ai", 'name: "rg-aks-ai\\n"')):
        assert old in base
        with pytest.raises(AnswersError) as info:
            parse_answers(base.replace(old, new, 1))
        assert "\\n'" in str(info.value) and ":" in str(info.value).split(" ")[0]


@pytest.mark.parametrize("written", ["010", "0o10", "0x10", "1:00", "1_000", "0b11"])
def test_yaml_1_1_numbers_are_refused_with_line_and_column(written: str):
    from wizard.answers import AnswersError, parse_answers

    text = (Path(__file__).parents[2] / "examples" / "minimal.yaml").read_text() + \
        f"gpu_pool:\n  vm_size: Standard_NC6s_v3\n  count: {written}\n"
    if written == "0o10":  # YAML 1.1 has no 0o: a plain string, refused by the integer field
        with pytest.raises(AnswersError, match="expected an integer"):
            parse_answers(text)
        return
    with pytest.raises(AnswersError) as info:
        parse_answers(text)
    line = text.count("\n")
    assert f":{line}:10:" in str(info.value) and "read differently by YAML versions" in str(info.value)


def test_version_true_is_not_version_1():
    from wizard.answers import AnswersError, parse_answers

    with pytest.raises(AnswersError, match="unsupported answers schema version \\(boolean true\\)"):
        parse_answers("version: true\n" + (Path(__file__).parents[2] / "examples" / "minimal.yaml").read_text())


MINIMAL_TEXT = (Path(__file__).parents[2] / "examples" / "minimal.yaml").read_text()
GPU = "gpu_pool:\n  vm_size: Standard_NC6s_v3\n"


def _refusal(text: str) -> str:
    from wizard.answers import AnswersError, parse_answers

    with pytest.raises(AnswersError) as info:
        parse_answers(text)
    return str(info.value)


@pytest.mark.parametrize("extra,said", [
    ("  tags: {" + ", ".join(f"t{i}: v" for i in range(48)) + "}\n", "cluster.tags: at most 47 tags"),
    ("  tags: {created-by: me}\n", "this wizard writes these tags itself"),
    ("  tags: {Aks-Ai-Wizard-Run: forged}\n", "this wizard writes these tags itself"),
    ("  tags: {Env: a, env: b}\n", "tag names are case-insensitive on Azure"),
    ("  tags: {microsoftThing: a}\n", "reserved by Azure"),
    ("  tags: {k: " + "v" * 257 + "}\n", "at most 256 characters"),
    ("  tags: {" + "k" * 513 + ": v}\n", "1-512 characters"),
])
def test_azure_tag_limits_before_any_request(extra: str, said: str):
    text = MINIMAL_TEXT.replace("  name: aks-ai\n", "  name: aks-ai\n" + extra)
    assert said in _refusal(text)


@pytest.mark.parametrize("pool,said", [
    ("  labels: {kubernetes.azure.com/mode: x}\n", "kubernetes.azure.com/ prefix is reserved"),
    ("  labels: {kubernetes.io/role: x}\n", "kubernetes.io/ prefix is reserved"),
    ("  taints: [kubernetes.azure.com/x=y:NoSchedule]\n", "prefix is reserved"),
    ("  taints: [a=b:NoSchedule, a=b:NoSchedule]\n", "is given twice"),
    ("  taints: [a=b:NoSchedule, a=c:NoSchedule]\n", "two values for effect NoSchedule"),
])
def test_kubernetes_label_and_taint_limits(pool: str, said: str):
    assert said in _refusal(MINIMAL_TEXT + GPU + pool)


def test_allowed_label_namespaces_and_distinct_taints_pass():
    from wizard.answers import parse_answers

    a = parse_answers(MINIMAL_TEXT + GPU + "  labels: {node.kubernetes.io/pool: gpu, example.com/team: ml}\n"
                      "  taints: [a=b:NoSchedule, a=b:NoExecute]\n")
    assert a.gpu_pool.taints == ["a=b:NoSchedule", "a=b:NoExecute"]


@pytest.mark.parametrize("ws", [
    "/subscriptions/not-a-guid/resourceGroups/rg/providers/Microsoft.Monitor/accounts/ws1",
    "/subscriptions/3f2c8a9e-5b1d-4c7e-9a60-2d84f1b7c513/resourceGroups/rg/providers/Microsoft.Monitor/accounts/-x",
    "/subscriptions/3f2c8a9e-5b1d-4c7e-9a60-2d84f1b7c513/resourceGroups/rg/providers/Microsoft.Monitor/accounts/ws1/",
    "/subscriptions/3f2c8a9e-5b1d-4c7e-9a60-2d84f1b7c513/resourceGroups/rg/providers/Microsoft.Monitor/accounts/ws1\n",
])
def test_a_malformed_monitor_workspace_id_is_refused(ws: str):
    text = MINIMAL_TEXT.replace("  name: aks-ai\n", "  name: aks-ai\n  addons:\n    monitor_workspace_id: " +
                           json.dumps(ws) + "\n")
    assert "cluster.addons.monitor_workspace_id" in _refusal(text)


@pytest.mark.parametrize("text,said", [
    (MINIMAL_TEXT.replace("name: aks-ai", 'name: "aks\\x1bai"'), "control character U+001B"),
    (MINIMAL_TEXT + "verify:\n  checklist: 2026-02-30\n", "verify.checklist: must be one of"),
    (MINIMAL_TEXT + GPU + "  count: " + "9" * 5000 + "\n", "5000 digits is far beyond"),
    (MINIMAL_TEXT + "x: " + "[" * 100000 + "]" * 100000 + "\n", "malformed YAML"),
    (MINIMAL_TEXT + "x:\n" + "".join("  " * i + f"a{i}:\n" for i in range(1, 60)), "nested deeper than 32 levels"),
    ("a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b]\n",
     "*a repeats a whole list or mapping"),
])
def test_pathological_input_is_a_clear_error_with_line_and_column(text: str, said: str):
    message = _refusal(text)
    assert said in message and "Traceback" not in message
    assert message.split(":")[1].isdigit() and message.split(":")[2].isdigit()  # <answers>:LINE:COLUMN


def test_a_merge_key_may_use_an_alias():
    from wizard.answers import parse_answers

    a = parse_answers(MINIMAL_TEXT.replace("azure:\n", "azure: &az\n") + "# merged:\n")
    assert a.azure.location == "eastus2"
    text = "base: &b {location: eastus2}\n"
    assert "unknown key 'base'" in _refusal(text + MINIMAL_TEXT.replace("  location: eastus2\n", "  <<: *b\n"))


def test_ten_thousand_unknown_keys_are_reported_linearly():
    import time

    def seconds(n: int) -> float:
        text = MINIMAL_TEXT.replace("cluster:\n", "cluster:\n" + "".join(f"  k{i}: 1\n" for i in range(n)))
        t0 = time.process_time()  # this process's CPU time: other work on the machine does not count
        assert f"cluster.k{n - 1}: unknown key" in _refusal(text)
        return time.process_time() - t0

    small, large = seconds(1000), seconds(10000)
    print(f"\n1,000 unknown keys: {small:.2f} s; 10,000: {large:.2f} s")
    assert large < 25 * small + 0.5  # linear (a quadratic report takes ~100x), whatever the machine's load


@pytest.mark.parametrize("tagged", ["!!float true", "!!timestamp someday", "!!int 0x1f", "!!binary aGk=",
                                    "!!python/object:os.system x", "!!set {a, b}"])
def test_explicit_yaml_tags_are_refused_with_line_and_column(tagged: str):
    message = _refusal(MINIMAL_TEXT + f"verify:\n  checklist: {tagged}\n")
    assert "is not used in answers files" in message and message.startswith("<answers>:11:14:")


def test_mutated_answers_files_give_errors_never_tracebacks():
    """A small deterministic mutation fuzzer over the full example: every outcome is answers or an AnswersError."""
    import random

    from wizard.answers import AnswersError, parse_answers

    rng = random.Random(14)
    base = (Path(__file__).parents[2] / "examples" / "answers.yaml").read_text()
    pieces = ["\x00", "\x1b", "\t", "\n", ": ", "- ", "[", "]", "{", "}", "&a ", "*a", "<<: ", "!!float ",
              "!!timestamp ", "010", "1:00", "0x1f", "true", "~", "'", '"', "\\", "\u2028", "? ", "---\n", "9" * 30,
              "2026-02-30", "!!set ", "|", ">", "#"]
    outcomes = {"ok": 0, "refused": 0}
    for _ in range(400):
        text = base
        for _ in range(rng.randint(1, 5)):
            pos = rng.randint(0, len(text))
            if rng.random() < 0.6:
                text = text[:pos] + rng.choice(pieces) + text[pos:]
            else:
                text = text[:pos] + text[pos + rng.randint(1, 20):]
        try:
            parse_answers(text)
            outcomes["ok"] += 1
        except AnswersError as exc:
            assert exc.errors and all(e.message for e in exc.errors)
            outcomes["refused"] += 1
    assert outcomes["refused"] > 100
