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
    with TlsFakeCloud(ctx) as authority, Simulator(speed=1e5, tls=ctx) as arm:
        yield authority, arm, str(pem)


def test_apply_through_env_credentials_custom_cloud_and_ca_bundle(tls_world, tmp_path: Path, monkeypatch, capsys):
    authority, arm, pem = tls_world
    _env(monkeypatch, authority, pem)
    answers = yaml.safe_load((Path(__file__).resolve().parents[1] / "examples" / "answers.yaml").read_text())
    answers["azure"]["cloud"] = {"name": "AzureStackHub", "resource_manager": arm.base_url + "/",
                                 "authority_host": f"https://127.0.0.1:{authority.port}",
                                 "audience": "https://management.contoso.local/"}
    path = tmp_path / "answers.yaml"
    path.write_text(yaml.safe_dump(answers, sort_keys=False))
    kubeconfig = tmp_path / "kubeconfig"
    code = main(["apply", str(path), "--kubeconfig-out", str(kubeconfig)])
    out = capsys.readouterr()
    assert code == 0, out.out + out.err
    # the token was asked of the custom authority for the custom audience, and ARM was reached over TLS
    assert authority.token_scopes == ["https://management.contoso.local/.default"]
    assert any(r.method == "PUT" and r.path.lower().endswith("/managedclusters/aks-ai") and r.status == 201
               for r in arm.request_log)
    assert "Done in" in out.out
    assert stat.S_IMODE(os.stat(kubeconfig).st_mode) == 0o600


def test_without_the_ca_bundle_the_run_stops_before_any_write(tls_world, tmp_path: Path, monkeypatch, capsys):
    authority, arm, _pem = tls_world
    _env(monkeypatch, authority, None)
    answers = yaml.safe_load((Path(__file__).resolve().parents[1] / "examples" / "minimal.yaml").read_text())
    answers["azure"]["cloud"] = {"name": "AzureStackHub", "resource_manager": arm.base_url + "/",
                                 "authority_host": f"https://127.0.0.1:{authority.port}",
                                 "audience": "https://management.contoso.local/"}
    path = tmp_path / "answers.yaml"
    path.write_text(yaml.safe_dump(answers, sort_keys=False))
    assert main(["apply", str(path)]) == 3
    err = capsys.readouterr().err
    assert "REQUESTS_CA_BUNDLE" in err
    assert not [r for r in arm.request_log if r.method in ("PUT", "POST")]
