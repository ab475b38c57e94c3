"""One module per requirement of the CNCF Kubernetes AI Conformance checklists (1.34-1.37): each holds its
read-only check (Kubernetes and Azure views), its probe, the fixes only it gives and the official suite's test
name; REGISTRY is the one table the runner, the probes and the reports draw on (a test keeps it equal to the
union of the checklists)."""
from __future__ import annotations

from . import (accelerator_metrics, advanced_inference_ingress, ai_inference, ai_service_metrics, cluster_autoscaling,
               disaggregated_inference, dra_support, driver_runtime_management, gang_scheduling, gpu_sharing,
               high_performance_networking, pod_autoscaling, robust_controller, secure_accelerator_access,
               virtualized_accelerator, workload_sandboxing)
from .base import Spec

REGISTRY: dict[str, Spec] = {m.SPEC.id: m.SPEC for m in (
    dra_support, driver_runtime_management, gpu_sharing, virtualized_accelerator,
    ai_inference, advanced_inference_ingress, high_performance_networking, disaggregated_inference,
    gang_scheduling, cluster_autoscaling, pod_autoscaling,
    accelerator_metrics, ai_service_metrics,
    secure_accelerator_access, workload_sandboxing,
    robust_controller)}

__all__ = ["REGISTRY", "Spec"]
