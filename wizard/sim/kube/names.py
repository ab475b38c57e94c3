"""Names of the objects AKS installs, as the simulated Kubernetes API seeds them.

One place for the verifier (and tests) to import instead of repeating strings. Names follow AKS where it is
documented (VERIFICATION.md of the conformance research, AKS docs); the ones marked "plausible" are the
simulator's choice where AKS does not document a name.
"""

from __future__ import annotations

KUBE_SYSTEM = "kube-system"
KUBE_PUBLIC = "kube-public"
KUBE_NODE_LEASE = "kube-node-lease"
DEFAULT_NS = "default"
SYSTEM_NAMESPACES = (DEFAULT_NS, KUBE_SYSTEM, KUBE_PUBLIC, KUBE_NODE_LEASE)

# --- always on ---------------------------------------------------------------------------------------
COREDNS_DEPLOYMENT = "coredns"
METRICS_SERVER_DEPLOYMENT = "metrics-server"
METRICS_SERVER_SERVICE = "metrics-server"
METRICS_APISERVICE = "v1beta1.metrics.k8s.io"

# --- nodes -------------------------------------------------------------------------------------------
LABEL_AGENTPOOL = "kubernetes.azure.com/agentpool"
LABEL_AGENTPOOL_LEGACY = "agentpool"
LABEL_INSTANCE_TYPE = "node.kubernetes.io/instance-type"
LABEL_ACCELERATOR = "accelerator"
LABEL_AKS_ACCELERATOR = "kubernetes.azure.com/accelerator"
LABEL_DCGM_EXPORTER = "kubernetes.azure.com/dcgm-exporter"  # "enabled" on managed GPU nodes
LABEL_MODE = "kubernetes.azure.com/mode"
GPU_RESOURCE = "nvidia.com/gpu"
NODE_CONDITION_DEVICE_PLUGIN = "UnhealthyNvidiaDevicePlugin"
NODE_CONDITION_DCGM = "UnhealthyNvidiaDCGMServices"

# --- managed GPU (gpuProfile.nvidia.managementMode == Managed) ---------------------------------------
DEVICE_PLUGIN_DAEMONSET = "nvidia-device-plugin-daemonset"  # plausible (GPU Operator / NVIDIA manifest name)
DCGM_EXPORTER_DAEMONSET = "nvidia-dcgm-exporter"  # plausible
DCGM_EXPORTER_SERVICE = "nvidia-dcgm-exporter"
DCGM_EXPORTER_PORT = 9400
DCGM_EXPORTER_PORT_NAME = "metrics"
DCGM_NODE_PROXY_PORT = 19400  # managed GPU: exporter on the host network, reached by the node proxy
DCGM_POD_LABELS = {"app": "nvidia-dcgm-exporter", "app.kubernetes.io/name": "dcgm-exporter"}
DEVICE_PLUGIN_POD_LABELS = {"name": "nvidia-device-plugin-ds", "app.kubernetes.io/name": "nvidia-device-plugin"}
DCGM_IMAGE = "mcr.microsoft.com/oss/v2/nvidia/dcgm-exporter:4.2.3-4.1.3"
DEVICE_PLUGIN_IMAGE = "mcr.microsoft.com/oss/v2/nvidia/k8s-device-plugin:v0.17.2"

# --- cluster autoscaler ------------------------------------------------------------------------------
AUTOSCALER_STATUS_CONFIGMAP = "cluster-autoscaler-status"

# --- Istio add-on (serviceMeshProfile.mode == Istio) --------------------------------------------------
ISTIO_SYSTEM_NS = "aks-istio-system"
ISTIO_INGRESS_NS = "aks-istio-ingress"
ISTIOD_DEPLOYMENT_PREFIX = "istiod-"  # + revision, e.g. istiod-asm-1-26
ISTIO_SIDECAR_INJECTOR_PREFIX = "istio-sidecar-injector-"  # + revision
ISTIO_GATEWAY_CLASS = "istio"
ISTIO_GATEWAY_CONTROLLER = "istio.io/gateway-controller"

# --- Gateway API (ingressProfile.gatewayAPI.installation == Standard) ---------------------------------
GATEWAY_API_GROUP = "gateway.networking.k8s.io"
GATEWAY_API_BUNDLE_VERSION = "v1.3.0"
GATEWAY_API_CHANNEL = "standard"
GATEWAY_API_CRDS = (
    "gatewayclasses.gateway.networking.k8s.io",
    "gateways.gateway.networking.k8s.io",
    "httproutes.gateway.networking.k8s.io",
    "grpcroutes.gateway.networking.k8s.io",
    "referencegrants.gateway.networking.k8s.io",
)

# --- KEDA add-on -------------------------------------------------------------------------------------
KEDA_OPERATOR = "keda-operator"
KEDA_METRICS_APISERVER = "keda-operator-metrics-apiserver"
KEDA_ADMISSION_WEBHOOKS = "keda-admission-webhooks"
KEDA_WEBHOOK_CONFIG = "keda-admission"
EXTERNAL_METRICS_APISERVICE = "v1beta1.external.metrics.k8s.io"
KEDA_CRDS = (
    "scaledobjects.keda.sh",
    "scaledjobs.keda.sh",
    "triggerauthentications.keda.sh",
    "clustertriggerauthentications.keda.sh",
)

# --- KAITO add-on (aiToolchainOperatorProfile.enabled) ------------------------------------------------
KAITO_NAMESPACE = KUBE_SYSTEM
KAITO_DEPLOYMENT = "kaito-workspace"
KAITO_WEBHOOK_SERVICE = "kaito-workspace"  # plausible
KAITO_WEBHOOK_CONFIG = "validation.workspace.kaito.sh"
KAITO_WEBHOOK_NAME = "validation.workspace.kaito.sh"
KAITO_CRDS = ("workspaces.kaito.sh", "ragengines.kaito.sh")

# --- Azure Managed Prometheus (azureMonitorProfile.metrics.enabled) -----------------------------------
AMA_METRICS_DEPLOYMENT = "ama-metrics"
AMA_METRICS_KSM_DEPLOYMENT = "ama-metrics-ksm"
AMA_METRICS_OPERATOR_TARGETS_DEPLOYMENT = "ama-metrics-operator-targets"
AMA_METRICS_NODE_DAEMONSET = "ama-metrics-node"
AMA_METRICS_SETTINGS_CONFIGMAP = "ama-metrics-settings-configmap"  # NOT seeded: the user creates it
AMA_CRDS = ("podmonitors.azmonitoring.coreos.com", "servicemonitors.azmonitoring.coreos.com")

# --- options (keys of the seeded-object bookkeeping) --------------------------------------------------
OPT_BASE = "base"
OPT_NODES = "nodes"
OPT_MANAGED_GPU = "managed-gpu"
OPT_AUTOSCALER = "cluster-autoscaler"
OPT_ISTIO = "istio"
OPT_GATEWAY_API = "gateway-api"
OPT_KEDA = "keda"
OPT_KAITO = "kaito"
OPT_AMA = "managed-prometheus"
OPT_SANDBOX = "pod-sandboxing"
KATA_RUNTIME_CLASS = "kata-vm-isolation"  # AKS pod sandboxing
LABEL_KATA = "kubernetes.azure.com/kata-vm-isolation"
KATA_GUEST_KERNEL = "6.6.96.mshv1-1.azl3"  # the utility VM's kernel (Azure Linux 3)
