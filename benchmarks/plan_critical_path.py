"""Benchmark: the plan's critical path against the seed article's sequence of separate commands.

Prints figures; never fails on time. The seed's scope: resource group, a 1.34 cluster, Istio, Gateway API, the
seed's two preview flags (listed, as the seed registers both), a GPU pool with the autoscaler. Cases:

- seed: the article's commands one after the other, each to completion;
- single PUT: today's order before the overlap, the cluster PUT after the flags and the provider refresh;
- overlapped: the plan as built now (the create goes out while the flags register, the Gateway API follows);
- flags Registered: the usual re-run or second cluster of a subscription (one PUT);
- managed GPU pool: a managed-GPU pool (no autoscaler: AKS refuses both in preview) cannot take its GPU profile
  in place, so the staged order adds it by its own PUT; the plan takes the faster of the two orders.

1. Model: the critical path through the wizard's real plan DAG under the fixed latency model of issue 18.
2. Simulated: each case runs through the real SDK clients against the embedded simulator at --speed; wall time,
   the cluster and pool writes, and the polls of each operation (count, smallest spacing in Azure seconds).

    python benchmarks/plan_critical_path.py [--speed 200] [--model-only]
"""
from __future__ import annotations

import argparse
import re
import time
from collections import defaultdict
from typing import Any

from wizard import durations as d

FLAGS = ["Microsoft.ContainerService/ManagedGatewayAPIPreview", "Microsoft.ContainerService/ManagedGPUExperiencePreview"]
SEED_ANSWERS: dict[str, Any] = {
    "azure": {"subscription": "Simulated Subscription", "location": "eastus2"},
    "resource_group": {"name": "rg-bench"},
    "cluster": {"name": "aks-bench", "kubernetes_version": "1.34",
                "istio": {"enabled": True, "revision": "auto"}, "gateway_api": True,
                "addons": {"keda": False, "kaito": False, "managed_prometheus": False}},
    "features": FLAGS,
    "gpu_pool": {"vm_size": "Standard_NC4as_T4_v3", "count": 1, "autoscale": {"min": 1, "max": 3}},
    "kueue": {"install": False},
}
MANAGED_GPU = {**SEED_ANSWERS, "features": "auto", "resource_group": {"name": "rg-managed"},
               "cluster": {**SEED_ANSWERS["cluster"], "name": "aks-managed"},
               "gpu_pool": {"vm_size": "Standard_NC4as_T4_v3", "count": 1, "managed_gpu": True}}

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
TARGET = 0.42


def _observed(registered: bool) -> Any:
    from wizard.azure.catalog import KubeVersion, MeshRevision
    from wizard.plan_model import Observed

    return Observed("00000000-0000-0000-0000-000000000000", "bench",
                    flag_states={f: "Registered" if registered else "NotRegistered" for f in FLAGS},
                    versions=[KubeVersion("1.34", ("1.34.3",))], revisions=[MeshRevision("asm-1-27", ("1.34",))])


def model_plan(data: dict[str, Any], staged: bool | None, registered: bool = False) -> Any:
    from wizard.answers import answers_from_dict
    from wizard.plan import build_plan

    return build_plan(answers_from_dict(data), _observed(registered), staged=staged)


def _writes(plan: Any) -> int:
    from wizard.plan_model import is_arm_step

    return sum(1 for s in plan.steps if is_arm_step(s.id) and s.writes)


def model() -> dict[str, float]:
    from wizard.staging import critical_path

    seed_s = sum(t for _, t in SEED_SEQUENCE)
    cases = {"single PUT (today's order)": model_plan(SEED_ANSWERS, staged=False),
             "overlapped": model_plan(SEED_ANSWERS, staged=None),
             "flags Registered": model_plan(SEED_ANSWERS, staged=None, registered=True),
             "managed GPU, single PUT": model_plan(MANAGED_GPU, staged=False),
             "managed GPU, staged": model_plan(MANAGED_GPU, staged=True),
             "managed GPU, plan's choice": model_plan(MANAGED_GPU, staged=None)}
    print("Model (seconds, fixed latency model of issue 18)")
    for name, t in SEED_SEQUENCE:
        print(f"  seed   {name:<56} {t:>6.0f}")
    print(f"  seed total: {seed_s:.0f} s, 4 cluster and pool writes")
    out = {"seed": seed_s}
    for case, plan in cases.items():
        # to a complete cluster: the add-on steps after the kubeconfig are the same in every order
        ids = [s.id for s in plan.steps]
        steps = plan.steps[:ids.index("kubeconfig")] if "kubeconfig" in ids else plan.steps
        total, path = critical_path(steps)
        out[case] = total
        print(f"\n  {case}: {total:.0f} s (ratio {total / seed_s:.3f}), writes {_writes(plan)}"
              + (f"; plan staged={plan.staging.staged}" if plan.staging else ""))
        for s in steps:
            if s.writes:
                print(f"    {s.id:<36} {s.typical:>6.0f}  after {', '.join(s.deps) or '-'}")
        print(f"    critical path: {' -> '.join(path)}")
    ratio = out["overlapped"] / seed_s
    print(f"\n  overlapped / seed: {ratio:.3f} (target <= {TARGET}: {'met' if ratio <= TARGET else 'NOT met'}); "
          f"single PUT / seed: {out[next(iter(cases))] / seed_s:.3f}")
    return out


_OP = re.compile(r"/operations/([^/]+)$", re.IGNORECASE)
_FEATURE = re.compile(r"/providers/Microsoft\.Features/providers/[^/]+/features/([^/]+)$", re.IGNORECASE)
_PROVIDER = re.compile(r"/providers/(Microsoft\.ContainerService)$", re.IGNORECASE)


def polls(log: list[Any], speed: float) -> dict[str, tuple[int, float | None, int]]:
    """Per operation: (polls, smallest spacing in Azure seconds, refused) from the simulator's request log."""
    at: dict[str, list[tuple[float, int]]] = defaultdict(list)
    for r in log:
        if r.method != "GET":
            continue
        for pattern, kind in ((_OP, "operation"), (_FEATURE, "flag"), (_PROVIDER, "provider")):
            m = pattern.search(r.path)
            if m:
                at[f"{kind} {m.group(1)[:18]}"].append((r.at, r.status))
    out = {}
    for key, seen in at.items():
        times = [t for t, _ in seen]
        gaps = [(b - a) * speed for a, b in zip(times, times[1:])]
        out[key] = (len(seen), min(gaps) if gaps else None, sum(1 for _, s in seen if s == 409))
    return out


def _writes_logged(log: list[Any]) -> int:
    return sum(1 for r in log if r.method == "PUT" and "/managedclusters/" in r.path.lower() and 200 <= r.status < 300)


def _applied(data: dict[str, Any], speed: float, staged: bool | None, register_first: bool = False) -> tuple[float, int, Any]:
    """Apply the answers in a fresh simulated subscription; (wall seconds of the run, writes, polls)."""
    from wizard.answers import answers_from_dict
    from wizard.azure.features import register_feature
    from wizard.engine import Engine, RunOptions
    from wizard.plan import build_plan, observe
    from wizard.runners import runners
    from wizard.session import SimOptions, open_session

    answers = answers_from_dict(data)
    session = open_session(answers, SimOptions(speed=speed))
    sim, conn = session.simulator, session.conn
    try:
        if register_first:
            for f in FLAGS:
                register_feature(conn, f)
            while not all(conn.features.features.get(*f.split("/")).properties.state == "Registered" for f in FLAGS):
                time.sleep(session.poll_interval)
        plan = build_plan(answers, observe(conn, answers, session.subscription), staged=staged)
        mark = len(sim.request_log)
        t0 = time.monotonic()
        result = Engine(conn, plan, lambda e: None, None,
                        RunOptions(poll_interval=session.poll_interval, tick=0.01), runners()).run()
        wall = time.monotonic() - t0
        assert result.status == "done", result.failure and result.failure.render()
        log = sim.request_log[mark:]
        return wall, _writes_logged(log), polls(log, speed)
    finally:
        session.close()


def _seed_applied(speed: float) -> tuple[float, int]:
    from azure.mgmt.containerservice import models as m

    from wizard.answers import answers_from_dict
    from wizard.azure.clusters import begin_cluster, begin_pool
    from wizard.azure.features import feature_state, provider_state, register_feature, register_provider
    from wizard.azure.groups import create_group
    from wizard.session import SimOptions, open_session
    from wizard.spec import Resolved, desired_cluster, desired_pool

    answers = answers_from_dict(SEED_ANSWERS)
    session = open_session(answers, SimOptions(speed=speed))
    sim, conn = session.simulator, session.conn
    try:
        mark = len(sim.request_log)
        rg, name = "rg-seed", "aks-seed"
        resolved = Resolved(session.subscription[0], "", "1.34.3", None, ())
        t0 = time.monotonic()
        create_group(conn, rg, "eastus2", {})
        for flag in FLAGS:
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
        mesh.service_mesh_profile = m.ServiceMeshProfile(mode="Istio", istio=m.IstioServiceMesh(revisions=["asm-1-27"]))
        begin_cluster(conn, rg, name, mesh).result()
        gw = conn.aks.managed_clusters.get(rg, name)
        gw.ingress_profile = m.ManagedClusterIngressProfile(
            gateway_api=m.ManagedClusterIngressProfileGatewayConfiguration(installation="Standard"))
        begin_cluster(conn, rg, name, gw).result()
        begin_pool(conn, rg, name, "gpunp", desired_pool(seed, resolved)).result()
        return time.monotonic() - t0, _writes_logged(sim.request_log[mark:])
    finally:
        session.close()


def simulated(speed: float) -> None:
    print(f"\nSimulated at speed {speed:g} (real SDK clients, embedded simulator; Azure seconds = wall x speed)")
    seed_wall, seed_writes = _seed_applied(speed)
    print(f"  seed                        {seed_wall:6.2f} s wall (~{seed_wall * speed:5.0f} s), writes {seed_writes}")
    cases = [("single PUT (today's order)", SEED_ANSWERS, False, False), ("overlapped", SEED_ANSWERS, None, False),
             ("flags Registered", SEED_ANSWERS, None, True), ("managed GPU, plan's choice", MANAGED_GPU, None, False)]
    smallest: list[float] = []
    for name, data, staged, registered in cases:
        wall, writes, seen = _applied(data, speed, staged, registered)
        print(f"  {name:<27} {wall:6.2f} s wall (~{wall * speed:5.0f} s, {wall / seed_wall:.3f} of the seed), "
              f"writes {writes}")
        for op, (n, gap, refused) in sorted(seen.items()):
            print(f"      polls of {op:<28} {n:>3}" + (f", smallest spacing {gap:5.1f} s" if gap is not None else "")
                  + (f", {refused} refused (provider re-registering)" if refused else ""))
            if gap is not None:
                smallest.append(gap)
    print(f"  smallest spacing between two polls of one operation: {min(smallest, default=0):.1f} Azure seconds "
          "(no Retry-After in the simulator: the 10 s interval applies)")


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
