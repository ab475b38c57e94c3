"""The real-Azure path, end to end, with nothing simulated on the client side: `aks-ai-wizard apply` without
--simulate, configured only through azure-identity's environment variables, REQUESTS_CA_BUNDLE and a custom
cloud in the answers file. The far side is an HTTPS token authority (tests/support/tls_fake.py) and the simulator
serving ARM over TLS, both signed by a private CA."""
from __future__ import annotations

import json
import os
import ssl
import stat
from pathlib import Path

import pytest
import yaml

trustme = pytest.importorskip("trustme")

from tests.integration.test_azure_layer import _env  # noqa: E402 - the same environment the TLS layer test uses
from tests.support.tls_fake import TlsFakeCloud  # noqa: E402
from wizard.cli import main  # noqa: E402
from wizard.sim import Simulator  # noqa: E402


@pytest.fixture
def tls_world(tmp_path: Path):
    ca = trustme.CA()
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(ctx)
    pem = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(pem))
    with TlsFakeCloud(ctx) as authority, Simulator(speed=1e5, tls=ctx, ca_pem=ca.cert_pem.bytes()) as arm:
        yield authority, arm, str(pem)


def answers_for(example: str, authority: TlsFakeCloud, arm: Simulator, tmp_path: Path) -> Path:
    """The example answers file with the custom cloud setting pointing at the two TLS endpoints."""
    answers = yaml.safe_load((Path(__file__).resolve().parents[2] / "examples" / example).read_text())
    # read-only closing verification (which cannot prove conformance, so it is not required): this test is about
    # the path
    answers.setdefault("verify", {}).update(probes=False, require_conformance=False)
    answers["azure"]["cloud"] = {"name": "AzureStackHub", "resource_manager": arm.base_url + "/",
                                 "authority_host": f"https://127.0.0.1:{authority.port}",
                                 "audience": "https://management.contoso.local/"}
    path = tmp_path / "answers.yaml"
    path.write_text(yaml.safe_dump(answers, sort_keys=False))
    return path


def test_apply_through_env_credentials_custom_cloud_and_ca_bundle(tls_world, tmp_path: Path, monkeypatch, capsys):
    authority, arm, pem = tls_world
    _env(monkeypatch, authority, pem)
    path = answers_for("answers.yaml", authority, arm, tmp_path)
    kubeconfig = tmp_path / "kubeconfig"
    # the simulator's copy of the pinned release (the shipped one has full CRD schemas: slower to apply here)
    from wizard.sim.releases import kueue_manifest_path
    manifest = str(kueue_manifest_path("v0.17.8"))
    code = main(["apply", str(path), "--kubeconfig-out", str(kubeconfig), "--kueue-manifest", manifest])
    out = capsys.readouterr()
    assert code == 0, out.out + out.err
    # the token was asked of the custom authority for the custom audience, and ARM was reached over TLS
    assert authority.token_scopes == ["https://management.contoso.local/.default"]
    assert any(r.method == "PUT" and r.path.lower().endswith("/managedclusters/aks-ai") and r.status == 201
               for r in arm.request_log)
    assert "Done in" in out.out and "Kueue installed v0.17.8" in out.out
    # nothing left the custom cloud: no list prices (the Retail Prices API is public Azure's), said once
    assert out.out.count("No list prices: the Azure Retail Prices API covers the public AzureCloud only") == 1
    assert "PASS    dra_support" in out.out  # the closing verification read the cluster over TLS too
    assert stat.S_IMODE(os.stat(kubeconfig).st_mode) == 0o600


def test_without_the_ca_bundle_the_run_stops_before_any_write(tls_world, tmp_path: Path, monkeypatch, capsys):
    authority, arm, _pem = tls_world
    _env(monkeypatch, authority, None)
    path = answers_for("minimal.yaml", authority, arm, tmp_path)
    assert main(["apply", str(path)]) == 3
    err = capsys.readouterr().err
    assert "REQUESTS_CA_BUNDLE" in err
    assert not [r for r in arm.request_log if r.method in ("PUT", "POST")]


def _arm_since(arm: Simulator, start: int) -> list:
    return [r for r in arm.request_log[start:] if not r.path.startswith("/k8s/")]


def test_verify_and_gpu_sizes_use_the_custom_cloud_given_to_cloud(tls_world, tmp_path: Path, monkeypatch, capsys):
    """`verify -g/-n` and `gpu-sizes` sign in at the custom cloud's authority and read its ARM: the cloud comes
    from --cloud as a file, and as a cloud registered with `az cloud register` (the Azure CLI's clouds.config)."""
    authority, arm, pem = tls_world
    _env(monkeypatch, authority, pem)
    path = answers_for("minimal.yaml", authority, arm, tmp_path)
    from wizard.sim.releases import kueue_manifest_path
    assert main(["apply", str(path), "--kueue-manifest", str(kueue_manifest_path("v0.17.8"))]) == 0
    cloud = yaml.safe_load(path.read_text())["azure"]["cloud"]
    cloud_file = tmp_path / "stack.json"
    cloud_file.write_text(json.dumps(cloud))
    az_dir = _az_cloud_register(tmp_path, monkeypatch, "AzureStackHub", cloud)
    capsys.readouterr()

    for how in (str(cloud_file), "AzureStackHub"):
        start, tokens = len(arm.request_log), len(authority.token_scopes)
        code = main(["verify", "-g", "rg-aks-ai", "-n", "aks-ai", "--cloud", how])
        out = capsys.readouterr()
        assert code == 4, out.out + out.err  # read and judged: minimal.yaml has no GPU pool, so GPU MUSTs fail
        assert authority.token_scopes[tokens:] == ["https://management.contoso.local/.default"]
        reads = _arm_since(arm, start)
        assert any(r.method == "GET" and r.path.lower().endswith("/managedclusters/aks-ai") and r.status == 200
                   for r in reads)
        assert "PASS    dra_support" in out.out  # the Kubernetes view came through the kubeconfig ARM gave

        start, tokens = len(arm.request_log), len(authority.token_scopes)
        code = main(["gpu-sizes", "--location", "eastus2", "--cloud", how])
        out = capsys.readouterr()
        assert code == 0, out.out + out.err
        assert "No list prices: the Azure Retail Prices API covers the public AzureCloud only" in out.out
        assert authority.token_scopes[tokens:] == ["https://management.contoso.local/.default"]
        assert any(r.path.lower().endswith("/providers/microsoft.compute/skus") for r in _arm_since(arm, start))
        assert "Standard_NC" in out.out

    assert main(["gpu-sizes", "--location", "eastus2", "--cloud", "NoSuchCloud"]) == 1
    assert "not a cloud registered in " + str(az_dir / "clouds.config") in capsys.readouterr().err


def _az_cloud_register(tmp_path: Path, monkeypatch, name: str, cloud: dict) -> Path:
    """What `az cloud register --name NAME ...` records: a section of the Azure CLI's clouds.config."""
    az_dir = tmp_path / "azure-cli"
    az_dir.mkdir()
    (az_dir / "clouds.config").write_text(
        f"[{name}]\n"
        f"endpoint_resource_manager = {cloud['resource_manager']}\n"
        f"endpoint_active_directory = {cloud['authority_host']}\n"
        f"endpoint_active_directory_resource_id = {cloud['audience']}\n"
        "profile = 2020-09-01-hybrid\n")
    monkeypatch.setenv("AZURE_CONFIG_DIR", str(az_dir))
    return az_dir


def test_a_registered_cloud_named_in_the_answers_file(tls_world, tmp_path: Path, monkeypatch, capsys):
    """`azure.cloud: AzureStackHub` in the answers file means the cloud `az cloud register` recorded under that
    name, as `--cloud AzureStackHub` does; a name nobody registered is refused with its line, before any request."""
    authority, arm, pem = tls_world
    _env(monkeypatch, authority, pem)
    path = answers_for("minimal.yaml", authority, arm, tmp_path)
    data = yaml.safe_load(path.read_text())
    _az_cloud_register(tmp_path, monkeypatch, "AzureStackHub", data["azure"]["cloud"])
    data["azure"]["cloud"] = "AzureStackHub"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    start, tokens = len(arm.request_log), len(authority.token_scopes)
    code = main(["plan", str(path)])
    out = capsys.readouterr()
    assert code == 0, out.out + out.err
    assert authority.token_scopes[tokens:] == ["https://management.contoso.local/.default"]
    assert any(r.method == "GET" and "/resourcegroups/" in r.path.lower() for r in _arm_since(arm, start))
    assert "az aks create" in out.out

    path.write_text(path.read_text().replace("cloud: AzureStackHub", "cloud: AzureStackHUB"))
    start = len(arm.request_log)
    assert main(["plan", str(path)]) == 1
    err = capsys.readouterr().err
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if "AzureStackHUB" in text)
    assert f"answers.yaml:{line}:" in err and "azure.cloud" in err and "registered: AzureStackHub" in err, err
    assert "did you mean 'AzureStackHub'?" in err
    assert arm.request_log[start:] == []


def test_the_same_sign_in_failure_gives_the_same_exit_code_from_every_command(tls_world, tmp_path: Path,
                                                                             monkeypatch, capsys):
    """A wrong client secret: plan, apply, verify -g/-n and gpu-sizes all end with exit 3 and the translated
    message, with none of the SDK's own WARNING lines on the terminal before it."""
    authority, arm, pem = tls_world
    _env(monkeypatch, authority, pem)
    monkeypatch.setenv("AZURE_CLIENT_SECRET", "wrong")
    path = answers_for("minimal.yaml", authority, arm, tmp_path)
    cloud_file = tmp_path / "stack.yaml"
    cloud_file.write_text(yaml.safe_dump(yaml.safe_load(path.read_text())["azure"]["cloud"]))
    log = tmp_path / "wizard.log"
    for argv in (["plan", str(path)], ["apply", str(path)],
                 ["verify", "-g", "rg-aks-ai", "-n", "aks-ai", "--cloud", str(cloud_file)],
                 ["gpu-sizes", "--location", "eastus2", "--cloud", str(cloud_file)]):
        code = main([*argv, "--log-file", str(log)])
        err = capsys.readouterr().err
        assert code == 3, (argv, err)
        assert "Signing in to Azure failed" in err and "WARNING" not in err, (argv, err)
    assert "WARNING" in log.read_text()  # the SDK's warnings went to the log file
    assert not [r for r in arm.request_log if r.method in ("PUT", "POST", "PATCH", "DELETE")]
