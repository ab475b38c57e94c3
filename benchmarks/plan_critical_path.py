"""Benchmark: the plan's critical path against the seed article's sequence of separate commands.

Prints figures; never fails on time. Two measurements of the seed's scope (resource group, a 1.34 cluster,
Istio, Gateway API, two preview flags, a GPU pool with the autoscaler):

1. Model: the critical path through the wizard's real plan DAG (built by wizard.plan from an empty
   subscription) under the fixed latency model of the issue, against the seed's commands run one after
   the other, each to completion, as its script does.
2. Simulated: both run for real through the SDK clients against the embedded simulator at --speed, wall
   time measured, and the ARM writes on the cluster counted from the simulator's request log.

    python benchmarks/plan_critical_path.py [--speed 200]
"""
from __future__ import annotations

import argparse
import time

from wizard import durations as d

SEED_ANSWERS = {
    "azure": {"subscription": "Simulated Subscription", "location": "eastus2"},
    "resource_group": {"name": "rg-bench"},
    "cluster": {"name": "aks-bench", "kubernetes_version": "1.34",
                "istio": {"enabled": True, "revision": "auto"}, "gateway_api": True,
                "addons": {"keda": False, "kaito": False, "managed_prometheus": False}},
    "gpu_pool": {"vm_size": "Standard_NC4as_T4_v3", "count": 1, "autoscale": {"min": 1, "max": 3}, "managed_gpu": True},
    "kueue": {"install": False},
}

# The seed article's commands, in order; each waits for the previous one to finish.
SEED_SEQUENCE = [
    ("az group create", d.RESOURCE_GROUP),
    ("az feature register ManagedGatewayAPIPreview (+ wait)", d.FEATURE_REGISTRATION),
    ("az feature register ManagedGPUExperiencePreview (+ wait)", d.FEATURE_REGISTRATION),
    ("az provider register Microsoft.ContainerService", d.PROVIDER_REGISTRATION),
    ("az aks create", d.CLUSTER_CREATE),
    ("az aks mesh enable", d.MESH_ENABLE),
    ("az aks update --enable-gateway-api", d.GATEWAY_API_UPDATE),
    ("az aks nodepool add (GPU, autoscaler)", d.AGENT_POOL),
]


def critical_path(steps) -> tuple[float, list[str]]:
    finish: dict[str, tuple[float, list[str]]] = {}
    for s in steps:  # plan steps are in dependency order
        start, path = max((finish[x] for x in s.deps), default=(0.0, []), key=lambda t: t[0])
        cost = s.typical if s.writes else 0.0
        finish[s.id] = (start + cost, path + [s.id])
    return max(finish.values(), key=lambda t: t[0])


def model() -> tuple[float, float]:
    from wizard.answers import answers_from_dict
    from wizard.azure.catalog import KubeVersion, MeshRevision
    from wizard.plan import Observed, build_plan

    answers = answers_from_dict(SEED_ANSWERS)
    obs = Observed("00000000-0000-0000-0000-000000000000", "bench",
                   versions=[KubeVersion("1.34", ("1.34.3",))],
                   revisions=[MeshRevision("asm-1-27", ("1.34",))])
    plan = build_plan(answers, obs)
    wizard_s, path = critical_path(plan.steps)
    seed_s = sum(t for _, t in SEED_SEQUENCE)
    print("Model (seconds, fixed latency model)")
    for s in plan.steps:
        print(f"  wizard step {s.id:<36} {s.typical if s.writes else 0:>6.0f}  after {', '.join(s.deps) or '-'}")
    print(f"  wizard critical path: {' -> '.join(path)} = {wizard_s:.0f} s")
    for name, t in SEED_SEQUENCE:
        print(f"  seed   {name:<48} {t:>6.0f}")
    print(f"  seed total: {seed_s:.0f} s")
    print(f"  ratio wizard/seed: {wizard_s / seed_s:.3f} (target <= 0.55)")
    return wizard_s, seed_s


def _cluster_writes(sim, since: int) -> int:
    return sum(1 for r in sim.request_log[since:]
               if r.method == "PUT" and "/managedclusters/" in r.path.lower() and 200 <= r.status < 300)


def simulated(speed: float) -> None:
    from wizard.answers import answers_from_dict
    from wizard.azure.clusters import begin_cluster, begin_pool
    from wizard.azure.features import feature_state, register_feature, register_provider, provider_state
    from wizard.azure.groups import create_group
    from wizard.engine import Engine, RunOptions
    from wizard.plan import build_plan, observe
    from wizard.session import SimOptions, open_session
    from wizard.spec import Resolved, desired_cluster, desired_pool

    answers = answers_from_dict(SEED_ANSWERS)
    session = open_session(answers, SimOptions(speed=speed))
    sim, conn = session.simulator, session.conn
    try:
        mark = len(sim.request_log)
        t0 = time.monotonic()
        plan = build_plan(answers, observe(conn, answers, session.subscription))
        result = Engine(conn, plan, lambda e: None, None,
                        RunOptions(poll_interval=session.poll_interval, tick=0.01)).run()
        wizard_wall = time.monotonic() - t0
        wizard_writes = _cluster_writes(sim, mark)
        assert result.status == "done", result.failure
    finally:
        session.close()
    # the seed's sequence, one command after the other, in a fresh simulated subscription
    session = open_session(answers, SimOptions(speed=speed))
    sim, conn = session.simulator, session.conn
    try:
        mark = len(sim.request_log)
        rg, name = "rg-seed", "aks-seed"
        resolved = Resolved(session.subscription[0], "", plan.resolved.kubernetes_version, None, ())
        t0 = time.monotonic()
        create_group(conn, rg, "eastus2", {})
        for flag in ("Microsoft.ContainerService/ManagedGatewayAPIPreview",
                     "Microsoft.ContainerService/ManagedGPUExperiencePreview"):
            register_feature(conn, flag)
            while feature_state(conn, flag).lower() != "registered":
                time.sleep(session.poll_interval)
        register_provider(conn, "Microsoft.ContainerService")
        while provider_state(conn, "Microsoft.ContainerService").lower() != "registered":
            time.sleep(session.poll_interval)
        seed = answers_from_dict({**SEED_ANSWERS, "resource_group": {"name": rg},
                                  "cluster": {**SEED_ANSWERS["cluster"], "name": name,
                                              "istio": {"enabled": False}, "gateway_api": False}})
        begin_cluster(conn, rg, name, desired_cluster(seed, resolved, include_gpu_pool=False)).result()
        mesh = conn.aks.managed_clusters.get(rg, name)
        from azure.mgmt.containerservice import models as m
        mesh.service_mesh_profile = m.ServiceMeshProfile(
            mode="Istio", istio=m.IstioServiceMesh(revisions=[plan.resolved.istio_revision]))
        begin_cluster(conn, rg, name, mesh).result()
        gw = conn.aks.managed_clusters.get(rg, name)
        gw.ingress_profile = m.ManagedClusterIngressProfile(
            gateway_api=m.ManagedClusterIngressProfileGatewayConfiguration(installation="Standard"))
        begin_cluster(conn, rg, name, gw).result()
        begin_pool(conn, rg, name, "gpunp", desired_pool(seed, resolved)).result()
        seed_wall = time.monotonic() - t0
        seed_writes = _cluster_writes(sim, mark)
    finally:
        session.close()
    print(f"\nSimulated at speed {speed:g} (real SDK clients, embedded simulator)")
    print(f"  wizard wall time: {wizard_wall:.2f} s  (~{wizard_wall * speed:.0f} s at Azure speed); "
          f"cluster and pool writes: {wizard_writes}")
    print(f"  seed wall time:   {seed_wall:.2f} s  (~{seed_wall * speed:.0f} s at Azure speed); "
          f"cluster writes: {seed_writes}")
    print(f"  ratio wizard/seed: {wizard_wall / seed_wall:.3f} (target <= 0.55); "
          f"cluster and pool writes {wizard_writes} vs {seed_writes} (target: one instead of four)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speed", type=float, default=200.0, help="simulator speed for the simulated part")
    parser.add_argument("--model-only", action="store_true")
    args = parser.parse_args()
    model()
    if not args.model_only:
        simulated(args.speed)


if __name__ == "__main__":
    main()
