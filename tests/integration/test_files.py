"""Files the wizard writes or reads beside its work: the kubeconfig (0600, never through a symlink) and a local
Kueue manifest (size-capped, read and checked by plan)."""
from __future__ import annotations

import os
from pathlib import Path

from tests.support.cli import copy_example, run, writes
from wizard.kubeconfig import write_private
from wizard.sim import read_requests


def test_kubeconfig_is_private_from_the_start_and_never_written_through_a_symlink(tmp_path: Path):
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    target = tmp_path / "kubeconfig"
    # the names the old writer used (pid-based) and any fixed name: a planted symlink is never followed
    for name in (f".kubeconfig.{os.getpid()}.tmp", ".kubeconfig.tmp"):
        (tmp_path / name).symlink_to(victim)
    old = os.umask(0)
    try:
        write_private(target, b"apiVersion: v1\n")
        write_private(target, b"apiVersion: v1\nkind: Config\n")
    finally:
        os.umask(old)
    assert victim.read_text() == "keep me"
    assert target.read_bytes() == b"apiVersion: v1\nkind: Config\n"
    assert oct(target.stat().st_mode & 0o777) == "0o600"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp") and not p.is_symlink()) == []


def test_plan_reads_and_refuses_an_endless_or_oversized_kueue_manifest(tmp_path: Path, capsys):
    copy_example(tmp_path)
    big = tmp_path / "big.yaml"
    with open(big, "wb") as f:
        f.truncate(33 * 1024 * 1024)  # sparse: 33 MiB of nothing
    for manifest, said in (("/dev/zero", "is not a regular file"), (str(big), "is too large"),
                           (str(tmp_path / "missing.yaml"), "Could not read the Kueue manifest")):
        capsys.readouterr()
        assert run(tmp_path, "plan", str(tmp_path / "answers.yaml"), "--kueue-manifest", manifest) == 2
        out = capsys.readouterr().out
        assert "kueue.manifest" in out and said in out, out
    assert writes(tmp_path) == [] and read_requests(tmp_path / "sim.json")
