"""Ways a simulated cluster can fall short, so that every conformance check has a failing case that the
simulator produces by behaving like the broken real component (never by answering a check directly):

- no-gpus: the GPU pools' nodes come up without GPUs (no device plugin resource, no DCGM exporter samples);
- gpu-leak: the container runtime honours NVIDIA_VISIBLE_DEVICES=all for unprivileged containers (every device
  of the node visible to a container that requested none);
- autoscaler-stuck: the cluster autoscaler cannot add nodes (the VM scale set refuses: quota), it reports
  FailedScaleUp on the pending pod;
- monitoring-blind: the managed Prometheus collector discovers no PodMonitor/ServiceMonitor targets;
- operator-stuck: the AI operator's controller never reconciles its custom resources;
- dra-only: GPU nodes expose their GPUs only through the NVIDIA DRA driver (ResourceSlices, DeviceClass
  gpu.nvidia.com), no device plugin resource;
- metrics-off: Azure has managed Prometheus disabled (azureMonitorProfile.metrics.enabled = false) while the
  ama-metrics pods are still in kube-system (they send nothing).

Set with Simulator(degrade=[...]) / --sim-degrade NAME (every cluster), or KubeWorld.degrade(kube_id, ...)."""
from __future__ import annotations

NAMES = ("no-gpus", "gpu-leak", "autoscaler-stuck", "monitoring-blind", "operator-stuck", "dra-only", "metrics-off")


def check_names(names: list[str] | tuple[str, ...] | set[str]) -> set[str]:
    bad = [n for n in names if n not in NAMES]
    if bad:
        raise ValueError(f"unknown simulator degradation {', '.join(bad)}; choose from {', '.join(NAMES)}")
    return set(names)
