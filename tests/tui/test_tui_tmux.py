"""Drive the installed command in a real terminal (tmux): start `aks-ai-wizard --simulate`, answer by keys,
reach the verification screen and find the conformance table in the captured pane."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.timeout(180),
              pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")]


def command() -> str:
    """The installed console script when there is one, else the same entry point (wizard.cli:main)."""
    exe = shutil.which("aks-ai-wizard") or (str(Path(sys.executable).with_name("aks-ai-wizard"))
                                            if Path(sys.executable).with_name("aks-ai-wizard").exists() else None)
    return exe if exe else f"{sys.executable} -m wizard"


class Pane:
    def __init__(self, session: str) -> None:
        self.session = session

    def capture(self) -> str:
        return subprocess.run(["tmux", "capture-pane", "-p", "-t", self.session], capture_output=True,
                              text=True).stdout

    def keys(self, *keys: str, literal: bool = False) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.session, *(["-l", "--"] if literal else []), *keys],
                       check=True)

    def wait(self, *texts: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            pane = self.capture()
            if all(t in pane for t in texts):
                return pane
            if time.monotonic() > deadline:
                raise AssertionError(f"{texts} not on screen after {timeout}s:\n{pane}")
            time.sleep(0.1)


def test_simulated_run_by_keys_reaches_the_conformance_table(tmp_path: Path) -> None:
    session = f"aks-tui-{uuid.uuid4().hex[:8]}"
    home = tmp_path / "home"
    env_prefix = f"cd {tmp_path} && PYTHONPATH={REPO} TEXTUAL_ANIMATIONS=none AKS_AI_WIZARD_HOME={home}"
    shell = f"{env_prefix} {command()} --simulate --sim-speed 2000; echo EXIT=$?; sleep 30"
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "80", "-y", "24", shell], check=True,
                   env={**os.environ, "TERM": "xterm-256color"})
    pane = Pane(session)
    try:
        pane.wait("1/13", "Sign in", "SIMULATED")
        pane.keys("C-n")
        pane.wait("2/13", "Simulated Subscription")
        pane.keys("C-n")
        pane.wait("3/13", "East US 2 (eastus2)")
        pane.keys("C-n")
        pane.wait("4/13", "1.34  (newest")
        pane.keys("C-u")  # the name field starts with the default, aks-ai
        pane.wait("4/13", "Cluster name\n\n")  # cleared
        pane.keys("aks-tmux", literal=True)
        pane.wait("aks-tmux")
        pane.keys("C-n")
        pane.wait("5/13", "Network plugin", "Private API server")
        pane.keys("C-n")
        pane.wait("6/13", "Microsoft Entra ID integration", "OIDC issuer")
        pane.keys("C-n")
        pane.wait("7/13", "auto  (newest compatible")
        pane.keys("C-n")
        pane.wait("8/13", "ManagedGatewayAPIPreview", "Resource provider")
        pane.keys("C-n")
        pane.wait("9/13", "GPU node pools")
        pane.keys("C-n")
        pane.wait("10/13", "KEDA")
        pane.keys("C-n")
        pane.wait("11/13", "Ready.", timeout=60)
        pane.keys("C-n")
        pane.wait("12/13", "Done in", timeout=90)
        pane.keys("C-n")
        screen = pane.wait("13/13", "Checklist 1.34", timeout=90)
        assert "Requirement" in screen and "Status" in screen and "Evidence" in screen
        for rid in ("dra_support", "ai_inference"):
            assert rid in screen, screen
        saved = list(home.glob("runs/*/aks-ai-wizard.yaml"))  # saved at review, in this session's own folder
        assert len(saved) == 1 and not list(tmp_path.glob("*.yaml")) and not list(tmp_path.glob("*.jsonl"))
        pane.keys("C-n")  # Finish
        out = pane.wait("EXIT=0", timeout=30)
        assert "aks-ai-wizard wrote:" in out and "answers:" in out and "journal:" in out, out
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
