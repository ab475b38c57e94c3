"""The facade the screens call stays UI-neutral; the screens never call the SDK themselves."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_interactive_facade_imports_no_textual() -> None:
    code = "import sys, wizard.interactive; print(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_screens_never_import_azure() -> None:
    for path in (REPO / "screens").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"^\s*(from|import)\s+azure\b", text, re.M), path
        assert "wizard.azure." not in text, path
