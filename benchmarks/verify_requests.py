"""Benchmark: requests and wall time of a read-only conformance verification against the simulator.

A simulated AKS cluster with every option the checklist relies on (managed GPU pool, an autoscaled GPU pool,
Istio + managed Gateway API, KEDA, KAITO, managed Prometheus, plus Kueue applied through the Kubernetes API) is
verified read-only through the real kubernetes client; requests are counted server-side from the simulator's
request log. Targets: at most 60 requests, under 2 s. Prints figures; exits 1 when a target is missed.

    python benchmarks/verify_requests.py [--runs 3] [--checklist 1.34]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

MAX_REQUESTS, MAX_SECONDS = 60, 2.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--checklist", default="1.34", choices=("1.34", "1.35", "1.36"))
    args = ap.parse_args()

    from tests.support.conformance import cluster_body, install_kueue, kube, kubeconfig
    from wizard.conformance import VerifyOptions, VerifyTarget, run_verification
    from wizard.sim import Simulator

    with Simulator(speed=1e5) as sim:
        body = cluster_body()
        sim.kube.sync_cluster("bench", body, [])
        kc = kubeconfig(f"{sim.base_url}/k8s/bench")
        install_kueue(kube(kc))
        walls, counts = [], []
        for i in range(args.runs):
            before = len(sim.request_log)
            t0 = time.perf_counter()
            report = run_verification(VerifyTarget(kc, cluster=body), VerifyOptions(checklist=args.checklist))
            walls.append(time.perf_counter() - t0)
            reqs = [r for r in sim.request_log[before:] if r.path.startswith("/k8s/bench")]
            counts.append(len(reqs))
            if i == 0:
                by_path: dict[str, int] = {}
                for r in reqs:
                    by_path[f"{r.method} {r.path[len('/k8s/bench'):]}"] = by_path.get(
                        f"{r.method} {r.path[len('/k8s/bench'):]}", 0) + 1
                for p, n in sorted(by_path.items()):
                    print(f"  {n:>2}  {p}")
                c = report.counts()
                print(f"results: {c['pass']} pass, {c['partial']} partial, {c['fail']} fail, {c['skipped']} n/a")
    worst_req, worst_wall = max(counts), max(walls)
    print(f"read-only verification (checklist {args.checklist}), {args.runs} run(s):")
    print(f"  requests (server-side): {counts}  target <= {MAX_REQUESTS}")
    print(f"  wall time: median {statistics.median(walls):.3f} s, max {worst_wall:.3f} s  target < {MAX_SECONDS} s")
    ok = worst_req <= MAX_REQUESTS and worst_wall < MAX_SECONDS
    print("targets met" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
