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


# ------------------------------------------------------------------------------------------------ size limits
MAX_COMPLEXITY = 30  # radon's cyclomatic complexity of any function or method
MAX_LINES = 600  # lines of any module

def _sources() -> list[Path]:
    return sorted(p for d in ("wizard", "screens") for p in (ROOT / d).rglob("*.py"))


def _functions(blocks) -> list[tuple[str, int]]:
    """(qualified name, complexity) of every function and method radon sees, inner classes' methods included."""
    from radon.visitors import Class

    out = []
    for b in blocks:
        if isinstance(b, Class):
            out += [(f"{b.name}.{c.name}.{m.name}", m.complexity) for c in b.inner_classes for m in c.methods]
        else:
            out.append((b.fullname, b.complexity))
    return out


def test_no_module_above_600_lines_and_no_function_above_complexity_30():
    from radon.complexity import cc_visit

    long_modules, complex_functions = set(), {}
    for path in _sources():
        rel = path.relative_to(ROOT).as_posix()
        text = path.read_text(encoding="utf-8")
        if len(text.splitlines()) > MAX_LINES:
            long_modules.add(rel)
        for name, cc in _functions(cc_visit(text)):
            if cc > MAX_COMPLEXITY:
                complex_functions[f"{rel}::{name}"] = cc
    assert len(_sources()) > 100  # the walk found the tree
    assert long_modules == set(), f"modules above {MAX_LINES} lines"
    assert complex_functions == {}, f"functions above complexity {MAX_COMPLEXITY}"
