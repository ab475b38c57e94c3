"""The real-Azure path, end to end, with nothing simulated on the client side: `aks-ai-wizard apply` without
--simulate, configured only through azure-identity's environment variables, REQUESTS_CA_BUNDLE and a custom
cloud in the answers file. The far side is an HTTPS token authority (tests/tls_fake.py) and the simulator
serving ARM over TLS, both signed by a private CA."""
from __future__ import annotations

import os
import ssl
import stat
from pathlib import Path

import pytest
import yaml

trustme = pytest.importorskip("trustme")

from tests.test_azure_layer import _env  # noqa: E402 - the same environment the TLS layer test uses
from tests.tls_fake import TlsFakeCloud  # noqa: E402
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
    answers = yaml.safe_load((Path(__file__).resolve().parents[1] / "examples" / example).read_text())
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
    # no internet here: Kueue comes from a local copy of its release manifest, as an air-gapped user would do
    from wizard.sim.releases import kueue_manifest_path
    manifest = str(kueue_manifest_path("v0.14.4"))
    code = main(["apply", str(path), "--kubeconfig-out", str(kubeconfig), "--kueue-manifest", manifest])
    out = capsys.readouterr()
    assert code == 0, out.out + out.err
    # the token was asked of the custom authority for the custom audience, and ARM was reached over TLS
    assert authority.token_scopes == ["https://management.contoso.local/.default"]
    assert any(r.method == "PUT" and r.path.lower().endswith("/managedclusters/aks-ai") and r.status == 201
               for r in arm.request_log)
    assert "Done in" in out.out and "Kueue installed v0.14.4" in out.out
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
