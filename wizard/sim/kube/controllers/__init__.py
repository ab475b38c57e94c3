"""Small, synchronous controllers: run after every write until nothing changes.

They make objects look the way the real controllers leave them a moment later: Deployments -> ReplicaSets ->
Pods, DaemonSets, StatefulSets and Jobs -> Pods, a scheduler (selectors, affinity, taints, cpu/memory/GPU
fit), a kubelet (phase, conditions), Services -> Endpoints/EndpointSlices, CRD and APIService conditions,
the Istio Gateway API controller, the device plugin (nvidia.com/gpu on GPU nodes), and garbage collection;
Kueue (kueue.py, kueue_admission.py) and KEDA with the HPA controller (keda.py) once their controllers run.

The controllers live in rooms: common.py (helpers), system.py, workloads.py, scheduling.py, networking.py; the
add-on controllers in the modules beside this package.
"""

from __future__ import annotations

from ..store import Cluster
from .common import (cond, delete_pod, deployment_running, list_pods, owned_by, owner_ref, pod_ready, set_status,
                     terminal)
from .networking import gateway_api, services
from .scheduling import (SERVER_IMAGES, fits, is_dcgm_pod, kubelet, node_eligible, node_free, node_gpus, node_ready,
                         node_usage, qos_class, release_gpus, scheduler)
from .system import SIM_CA_PEM, apiservice_autoregistration, apiservices, crds, garbage_collect, namespaces
from .workloads import daemonsets, deployments, jobs, pod_defaults, replicasets, statefulsets

# the add-on controllers, after the rooms: they use the helpers above
from .. import autoscaler as _autoscaler  # noqa: E402
from .. import dra as _dra  # noqa: E402
from .. import kaito as _kaito  # noqa: E402
from .. import keda as _keda  # noqa: E402
from .. import kueue as _kueue  # noqa: E402
from .. import kueue_admission as _kueue_admission  # noqa: E402

MAX_ROUNDS = 12

# In the order they run each round: the built-in controllers, the NVIDIA DRA driver with the resource claim
# controller and the scheduler's DRA plugin (dra.py) just before the scheduler, then Kueue's controller manager
# (kueue.py), its batch/job admission (kueue_admission.py), KEDA's ScaledObject -> HPA (keda.py), the cluster
# autoscaler of the autoscaled pools (autoscaler.py) and KAITO's workspace controller (kaito.py).
CONTROLLERS = [namespaces, crds, apiservice_autoregistration, deployments, replicasets, daemonsets, statefulsets,
               jobs, node_gpus, _dra.controller, scheduler, kubelet, release_gpus, services, apiservices, gateway_api,
               garbage_collect, _kueue.controller, _kueue_admission.controller, _keda.controller,
               _autoscaler.controller, _kaito.controller]


def reconcile(c: Cluster) -> None:
    for _ in range(MAX_ROUNDS):
        before = c.rv
        for fn in CONTROLLERS:
            fn(c)
        if c.rv == before:
            return


__all__ = ["CONTROLLERS", "MAX_ROUNDS", "SERVER_IMAGES", "SIM_CA_PEM", "cond", "delete_pod", "deployment_running",
           "fits", "is_dcgm_pod", "list_pods", "node_eligible", "node_free", "node_ready", "node_usage", "owned_by",
           "owner_ref", "pod_defaults", "pod_ready", "qos_class", "reconcile", "set_status", "terminal"]
