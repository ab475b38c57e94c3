"""Concrete fixes for anything short of a pass: the wizard answers option, the az command, the kubectl/helm step."""
from __future__ import annotations

from wizard.addons.gpu_stack import DEVICE_PLUGIN_VERSION
from wizard.addons.kueue import PINNED_VERSION as KUEUE_VERSION
from wizard.gpu_rules import NO_AUTOSCALER


def _join(answers: str | None = None, az: str | None = None, kubectl: str | None = None) -> str:
    parts = []
    if answers:
        parts.append(f"answers: {answers}")
    if az:
        parts.append(f"az: {az}")
    if kubectl:
        parts.append(kubectl)
    return " | ".join(parts)


class Fixes:
    def __init__(self, rg: str | None, name: str | None, gpu_pool: str | None = None):
        self.rg = rg or "<resource-group>"
        self.name = name or "<cluster>"
        self.pool = gpu_pool or "gpunp"

    @property
    def _c(self) -> str:
        return f"-g {self.rg} -n {self.name}"

    def kubernetes_version(self) -> str:
        return _join('cluster.kubernetes_version: "1.34"',
                     f"az aks upgrade {self._c} --kubernetes-version 1.34")

    def gateway_api(self) -> str:
        return _join("cluster.gateway_api: true (with cluster.istio.enabled: true)",
                     f"az aks mesh enable {self._c} && az aks update {self._c} --enable-gateway-api "
                     "(aks-preview; feature Microsoft.ContainerService/ManagedGatewayAPIPreview)")

    def istio(self) -> str:
        return _join("cluster.istio.enabled: true", f"az aks mesh enable {self._c}")

    def kueue(self) -> str:
        return _join("kueue.install: true",
                     kubectl=f"kubectl apply --server-side -f https://github.com/kubernetes-sigs/kueue/releases/"
                             f"download/{KUEUE_VERSION}/manifests.yaml")

    def gpu_pool(self) -> str:
        return _join("gpu_pool: {vm_size: Standard_NC4as_T4_v3, autoscale: {min: 1, max: 3}}",
                     f"az aks nodepool add -g {self.rg} --cluster-name {self.name} -n {self.pool} "
                     "--node-vm-size Standard_NC4as_T4_v3 --node-taints sku=gpu:NoSchedule --enable-cluster-autoscaler "
                     "--min-count 1 --max-count 3")

    def autoscaler(self, pool: str | None = None) -> str:
        pool = pool or self.pool
        return _join("gpu_pool.autoscale: {min: 1, max: 3}",
                     f"az aks nodepool update -g {self.rg} --cluster-name {self.name} -n {pool} "
                     "--enable-cluster-autoscaler --min-count 1 --max-count 3")

    def autoscaler_bounds(self, pool: str | None = None) -> str:
        pool = pool or self.pool
        return _join("gpu_pool.autoscale.max greater than gpu_pool.autoscale.min",
                     f"az aks nodepool update -g {self.rg} --cluster-name {self.name} -n {pool} "
                     "--update-cluster-autoscaler --min-count 1 --max-count 3")

    def managed_gpu_conflict(self, pool: str | None = None) -> str:
        pool = pool or self.pool
        return _join(f"gpu_pool.managed_gpu: false ({NO_AUTOSCALER}); then install the device plugin and DCGM "
                     "exporter yourself",
                     f"az aks nodepool add -g {self.rg} --cluster-name {self.name} -n {pool}2 --node-vm-size "
                     "<gpu size> --enable-cluster-autoscaler --min-count 1 --max-count 3 (a non-managed GPU pool), "
                     "or node auto-provisioning: az aks update "
                     f"{self._c} --node-provisioning-mode Auto")

    def device_plugin(self) -> str:
        return _join("gpu_pool.managed_gpu: true (AKS installs the device plugin and DCGM exporter; "
                     f"{NO_AUTOSCALER}, so keep an autoscaled pool beside it)",
                     kubectl="or: kubectl apply -f https://raw.githubusercontent.com/NVIDIA/k8s-device-plugin/"
                             f"{DEVICE_PLUGIN_VERSION}/deployments/static/nvidia-device-plugin.yml "
                             "(or helm install the NVIDIA GPU Operator with driver.enabled=false)")

    def dcgm_exporter(self) -> str:
        return _join(f"gpu_pool.managed_gpu: true (AKS runs the DCGM exporter; {NO_AUTOSCALER})",
                     kubectl="or: helm repo add gpu-helm-charts https://nvidia.github.io/dcgm-exporter/helm-charts && "
                             "helm install dcgm-exporter gpu-helm-charts/dcgm-exporter -n gpu-operator "
                             "--create-namespace")

    def keda(self) -> str:
        return _join("cluster.addons.keda: true", f"az aks update {self._c} --enable-keda")

    def kaito(self) -> str:
        return _join("cluster.addons.kaito: true",
                     f"az aks update {self._c} --enable-ai-toolchain-operator --enable-oidc-issuer")

    def managed_prometheus(self) -> str:
        return _join("cluster.addons.managed_prometheus: true",
                     f"az aks update {self._c} --enable-azure-monitor-metrics")

    def _verify(self) -> str:
        return f"aks-ai-wizard verify -g {self.rg} -n {self.name}"

    def retry(self, rid: str) -> str:
        """The command that runs one requirement's probe again, with more time."""
        return (f"retry: {self._verify()} --probes --only {rid} --probe-timeout 600"
                + (f" --billable-probe {rid}" if rid == "cluster_autoscaling" else ""))

    def retry_read(self) -> str:
        return f"retry: {self._verify()} (once the API server answers)"

    def verify_billable(self, rid: str) -> str:
        return _join(f'verify: {{probes: true, billable_probes: [{rid}]}}',
                     kubectl=f"or: {self._verify()} --probes --billable-probe {rid} (creates a billable GPU node "
                             "for 10-30 minutes)")

    def autoscaler_quota(self, pool: str) -> str:
        return _join(kubectl=f"check the GPU family vCPU quota and the pool's maxCount: aks-ai-wizard gpu-sizes "
                             f"--location <location>; az aks nodepool show -g {self.rg} --cluster-name {self.name} "
                             f"-n {pool} --query '{{max: maxCount, count: count}}'; kubectl get events -A "
                             "--field-selector reason=FailedScaleUp")

    def verify_probes(self) -> str:
        return _join("verify.probes: true", kubectl=f"or: aks-ai-wizard verify -g {self.rg} -n {self.name} --probes "
                                                     "(creates short-lived workloads in a throw-away namespace)")
