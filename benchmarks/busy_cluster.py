"""Benchmark: a busy simulated cluster (hundreds of nodes, over a thousand running pods) and a verification with
probes against it, through the real kubernetes client (issue 12 item 6).

Prints the time to create the load (the nodes from the ARM view, then a Deployment of that many replicas applied
through the Kubernetes API: the simulator's controllers create, schedule and start every pod in that request) and
the wall time of `verify` with probes, with each requirement's status. Figures, not a pass/fail target.

    python benchmarks/busy_cluster.py [--nodes 300] [--pods 1200] [--no-probes] [--billable]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=300)
    ap.add_argument("--pods", type=int, default=1200)
    ap.add_argument("--no-probes", action="store_true", help="only create the load")
    ap.add_argument("--billable", action="store_true", help="run the cluster autoscaling probe too (as the test does)")
    args = ap.parse_args()

    from tests.integration.test_busy_cluster import FAST, add_load, busy_body
    from tests.support.conformance import install_kueue, kube, kubeconfig
    from wizard.conformance import VerifyOptions, VerifyTarget, run_verification
    from wizard.sim import Simulator

    with Simulator(speed=1e5) as sim:
        arm = busy_body(args.nodes)
        t0 = time.perf_counter()
        sim.kube.sync_cluster("busy", arm, [])
        t_nodes = time.perf_counter() - t0
        kc = kubeconfig(f"{sim.base_url}/k8s/busy")
        k = kube(kc)
        install_kueue(k)
        t0 = time.perf_counter()
        add_load(k, args.pods)
        t_pods = time.perf_counter() - t0
        pods = len(k.request("GET", "/api/v1/pods", timeout=120)["items"])
        nodes = len(k.request("GET", "/api/v1/nodes")["items"])
        print(f"cluster: {nodes} nodes, {pods} pods")
        print(f"create nodes (ARM sync): {t_nodes:.2f} s")
        print(f"create {args.pods} pods (one Deployment): {t_pods:.2f} s")
        if args.no_probes:
            return 0
        before = len(sim.request_log)
        t0 = time.perf_counter()
        report = run_verification(VerifyTarget(kubeconfig=kc, cluster=arm), VerifyOptions(
            **FAST, billable=("cluster_autoscaling",) if args.billable else ()))
        t_verify = time.perf_counter() - t0
        print(f"verify with probes: {t_verify:.2f} s, {len(sim.request_log) - before} requests")
        for r in report.results:
            print(f"  {r.id:28} {r.status}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
