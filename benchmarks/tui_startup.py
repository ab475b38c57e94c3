"""Start-up time and memory of the interactive wizard, beside a bare Textual app started the same way.

    python benchmarks/tui_startup.py [--runs 9] [--json] [--start-only]

* start: wall time from launching a fresh interpreter to the first interactive screen (the sign-in step,
  mounted and idle), headless; the bare app is a Textual App with one Static. The two are started in
  alternation (--runs pairs) and the medians compared, so a busy machine slows both alike. Both start from
  compiled bytecode, as every start after the first does: pip compiles Textual when it installs it, and the
  wizard's own modules are compiled here first (an editable install, and PYTHONDONTWRITEBYTECODE if set,
  would otherwise have them compiled again on every start).
* peak RSS: ru_maxrss of a process that walks the whole simulated flow (sign-in .. run .. verification)
  with the real engine and SDK clients, beside the bare app's.
Targets: start at most 1.5x the bare app's; peak RSS under 150 MB.
"""
from __future__ import annotations

import argparse
import compileall
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

BARE = r"""
import sys, time, resource
t0 = float(sys.argv[1])
from textual.app import App
from textual.widgets import Static
class Bare(App):
    def compose(self):
        yield Static("hello")
async def pilot(p):
    await p.pause()
    print("START", time.time() - t0)
    p.app.exit()
Bare().run(headless=True, size=(100, 32), auto_pilot=pilot)
print("RSS", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
"""

WIZARD_START = r"""
import sys, time, resource
t0 = float(sys.argv[1])
from screens.app import WizardApp
from wizard.session import SimOptions
app = WizardApp(sim=SimOptions(speed=2000.0))
async def pilot(p):
    while type(p.app.screen).__name__ != "WelcomeScreen":
        await p.pause(0.005)
    await p.pause()
    print("START", time.time() - t0)
    p.app.exit()
app.run(headless=True, size=(100, 32), auto_pilot=pilot)
print("RSS", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
"""

WIZARD_FULL = r"""
import asyncio, os, sys, time, resource
os.chdir(sys.argv[2])
from screens.app import WizardApp
from wizard.session import SimOptions

async def until(p, cond, timeout=120):
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise SystemExit(f"stuck on {type(p.app.screen).__name__}")
        await p.pause(0.02)

def on(p, name):
    return lambda: type(p.app.screen).__name__ == name

async def pilot(p):
    app = p.app
    for name, ready in [("WelcomeScreen", None), ("SubscriptionScreen", "subs"), ("LocationScreen", "locations"),
                        ("ClusterScreen", "versions"), ("NetworkScreen", None),
                        ("IdentityScreen", None), ("MeshScreen", "revisions"), ("FeaturesScreen", "provider_state"),
                        ("GpuScreen", None), ("AddonsScreen", None)]:
        await until(p, on(p, name))
        if ready:
            await until(p, lambda: getattr(app.screen, ready, None) is not None)
        if name == "ClusterScreen":
            app.screen.query_one("#name").value = "aks-bench"
        await p.pause()
        await p.press("ctrl+n")
    await until(p, on(p, "ReviewScreen"))
    await until(p, lambda: app.state.plan is not None and not app.screen.query_one("#next").disabled)
    await p.press("ctrl+n")
    await until(p, on(p, "RunScreen"))
    await until(p, lambda: app.screen.status == "done")
    await p.press("ctrl+n")
    await until(p, on(p, "VerifyScreen"))
    await until(p, lambda: app.screen.report is not None or "not part" in str(app.screen.query_one("#verify-status").content))
    print("ROWS", app.screen.query_one("#results").row_count)
    app.exit()

WizardApp(sim=SimOptions(speed=2000.0)).run(headless=True, size=(100, 32), auto_pilot=pilot)
print("RSS", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
"""


def run(code: str, *args: str) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "TEXTUAL_ANIMATIONS": "none"}
    out = subprocess.run([sys.executable, "-c", code, str(time.time()), *args], capture_output=True, text=True,
                         env=env, cwd=REPO, timeout=300)
    values: dict[str, float] = {}
    for line in out.stdout.splitlines() + out.stderr.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] in ("START", "RSS", "ROWS"):
            values[parts[0]] = float(parts[1])
    if "RSS" not in values:
        raise SystemExit(f"benchmark child failed:\n{out.stdout}\n{out.stderr}")
    return values


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--start-only", action="store_true", help="measure start-up only (skip the full run)")
    args = parser.parse_args()

    for package in ("screens", "wizard"):
        compileall.compile_dir(REPO / package, quiet=1)
    run(BARE)  # warm the OS file cache for both
    run(WIZARD_START)
    bare, wiz = [], []
    for _ in range(args.runs):
        bare.append(run(BARE))
        wiz.append(run(WIZARD_START))
    bare_start = statistics.median(r["START"] for r in bare)
    wiz_start = statistics.median(r["START"] for r in wiz)
    if args.start_only:
        print(f"first interactive screen: wizard {wiz_start:.3f}s, bare Textual app {bare_start:.3f}s "
              f"(ratio {wiz_start / bare_start:.2f}, target <= 1.5)")
        return 0 if wiz_start / bare_start <= 1.5 else 1
    with tempfile.TemporaryDirectory() as tmp:
        full = run(WIZARD_FULL, tmp)
    bare_rss = max(r["RSS"] for r in bare)
    result = {
        "bare_start_s": round(bare_start, 3),
        "wizard_start_s": round(wiz_start, 3),
        "start_ratio": round(wiz_start / bare_start, 2),
        "bare_peak_rss_mb": round(bare_rss / 2**20, 1),
        "wizard_full_run_peak_rss_mb": round(full["RSS"] / 2**20, 1),
        "verification_rows": int(full.get("ROWS", 0)),
        "targets": {"start_ratio_max": 1.5, "peak_rss_mb_max": 150},
    }
    result["ok"] = result["start_ratio"] <= 1.5 and result["wizard_full_run_peak_rss_mb"] < 150
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"first interactive screen: wizard {wiz_start:.3f}s, bare Textual app {bare_start:.3f}s "
              f"(ratio {result['start_ratio']}, target <= 1.5)")
        print(f"peak RSS: full simulated run {result['wizard_full_run_peak_rss_mb']} MB (target < 150), "
              f"bare app {result['bare_peak_rss_mb']} MB")
        print(f"verification rows: {result['verification_rows']}; {'OK' if result['ok'] else 'MISSED A TARGET'}")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
