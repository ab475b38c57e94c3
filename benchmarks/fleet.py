"""Benchmark: a simulated fleet against one cluster. Prints figures; never fails on time.

Applies the same answers (GPU pool, managed Prometheus, KEDA, KAITO, Istio, Gateway API; Kueue off so the
figures are Azure's) once as a single cluster and once as a fleet of --count members with --parallel members at
a time, each in a fresh simulated subscription at --speed, and prints both wall times and the ARM requests per
member (the Kubernetes API of the clusters not counted).

    python benchmarks/fleet.py [--count 20] [--parallel 20] [--speed N]

The speed defaults to --simulate's own (the demo a workshop instructor runs). At a much higher speed the waits
shrink to nothing and the figure measures the simulator's CPU instead: twenty simulated clusters and the
wizard share one interpreter (one core's worth under the GIL), so the fleet's wall time grows with its CPU.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import tempfile
import time
from pathlib import Path

from wizard.session import SIM_SPEED

ANSWERS = """\
azure: {subscription: Simulated Subscription, location: eastus2}
resource_group: {name: rg-bench}
cluster: {name: aks-bench}
gpu_pool: {vm_size: Standard_NC4as_T4_v3, autoscale: {min: 1, max: 1}}
kueue: {install: false}
verify: {probes: false}
"""


def arm_requests(state: Path) -> int:
    from wizard.sim import read_requests

    return sum(1 for r in read_requests(state) if not r["path"].startswith("/k8s/"))


def apply(directory: Path, text: str, speed: float, extra: list[str]) -> tuple[float, int]:
    from wizard.cli import main
    from wizard.sim import Simulator

    state = directory / "sim.json"
    sim = Simulator(speed=speed, state_file=state).start()
    sim.set_quota("standardNCASv3_T4Family", 10_000)
    sim.set_quota("standardDDSv5Family", 10_000)
    sim.set_quota("cores", 20_000)
    sim.stop()
    answers = directory / "answers.yaml"
    answers.write_text(text)
    started = time.monotonic()
    with contextlib.redirect_stdout(io.StringIO()):
        code = main(["--simulate", "--sim-speed", str(speed), "--sim-state", str(state), "apply", str(answers),
                     "--conformance-not-required", *extra])  # no Kueue, read-only: conformance is not the point
    took = time.monotonic() - started
    if code != 0:
        raise SystemExit(f"apply exited {code} in {directory}")
    return took, arm_requests(state)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=20)
    ap.add_argument("--parallel", type=int, default=20)
    ap.add_argument("--speed", type=float, default=SIM_SPEED)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        one_dir, fleet_dir = Path(tmp, "one"), Path(tmp, "fleet")
        one_dir.mkdir()
        fleet_dir.mkdir()
        one_time, one_reqs = apply(one_dir, ANSWERS, args.speed, [])
        fleet_text = ANSWERS + f"fleet: {{count: {args.count}, cluster_name: 'aks-bench-{{n:02d}}'}}\n"
        fleet_time, fleet_reqs = apply(fleet_dir, fleet_text, args.speed, ["--parallel", str(args.parallel)])
    per_member = fleet_reqs / args.count
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())  # wall times on a shared machine depend on it
    print(f"simulated at {args.speed:g}x Azure's typical durations; load average {load} on {os.cpu_count()} CPUs")
    print(f"one cluster:            {one_time:6.1f} s wall, {one_reqs} ARM requests (its closing verification "
          "included)")
    print(f"fleet of {args.count} (parallel {args.parallel}): {fleet_time:6.1f} s wall = "
          f"{fleet_time / one_time:.2f}x one cluster (target 1.5x), {fleet_reqs} ARM requests = "
          f"{per_member:.1f} per member = {per_member / one_reqs:.2f}x a single apply's (target: at most 1.10x; "
          "the shared reads are made once for the fleet)")


if __name__ == "__main__":
    main()
