"""Simulated Kubernetes API of each simulated AKS cluster (served under /k8s/{kube_id} by the simulator).

    from wizard.sim.kube import KubeWorld, KUBE_TOKEN
    world = KubeWorld()
    world.sync_cluster(kube_id, cluster_body, pool_bodies)   # after every cluster/pool operation
    code, headers, body = world.handle(kube_id, "GET", "/api/v1/nodes", {}, {"Authorization": f"Bearer {KUBE_TOKEN}"}, b"")

Object names the verifier can rely on are in wizard.sim.kube.names.
"""

from .world import KUBE_TOKEN, KubeWorld

__all__ = ["KUBE_TOKEN", "KubeWorld"]
