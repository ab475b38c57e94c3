"""The layers hold because a test says so: the import contracts in pyproject.toml ([tool.importlinter]), lint and
types at zero, and a fresh interpreter that imports every core module without loading the UI toolkit."""
from __future__ import annotations

import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import wizard

ROOT = Path(__file__).resolve().parents[2]


def test_import_contracts_are_kept():
    tool = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(tool), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_lint_is_at_zero():
    done = subprocess.run([sys.executable, "-m", "ruff", "check", "wizard", "screens", "tests", "benchmarks"],
                          cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr


def test_types_are_at_zero():
    """mypy with the configuration in pyproject.toml ([tool.mypy]: wizard/ and screens/)."""
    done = subprocess.run([sys.executable, "-m", "mypy", "--no-incremental"], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr
    assert "Success: no issues found" in done.stdout


def test_every_core_module_imports_without_textual_or_rich():
    modules = sorted(m.name for m in pkgutil.walk_packages(wizard.__path__, "wizard.")
                     if not m.name.endswith("__main__"))
    assert len(modules) > 60, modules  # the walk found the packages, not an empty tree
    code = ("import importlib, sys\n"
            f"for name in {modules!r}:\n"
            "    importlib.import_module(name)\n"
            "ui = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich', 'screens'))\n"
            "print(','.join(ui))\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=240,
                          env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "", f"the core loaded the UI toolkit: {done.stdout.strip()}"
