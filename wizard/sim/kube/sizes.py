"""A small table of Azure VM sizes: what a node of that size reports to Kubernetes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GpuModel:
    name: str  # as nvidia-smi / DCGM report it (modelName label)
    memory_mib: int
    power_watts: float


V100 = GpuModel("Tesla V100-PCIE-16GB", 16384, 250.0)
T4 = GpuModel("Tesla T4", 15360, 70.0)
A100_80 = GpuModel("NVIDIA A100 80GB PCIe", 81920, 300.0)
A100_SXM40 = GpuModel("NVIDIA A100-SXM4-40GB", 40960, 400.0)
A100_SXM80 = GpuModel("NVIDIA A100-SXM4-80GB", 81920, 400.0)
H100_NVL = GpuModel("NVIDIA H100 NVL", 95830, 400.0)
H100_SXM = GpuModel("NVIDIA H100 80GB HBM3", 81559, 700.0)
A10 = GpuModel("NVIDIA A10", 23028, 150.0)


@dataclass(frozen=True)
class VmSize:
    cpu: int
    memory_gib: int
    gpus: int = 0
    gpu: GpuModel | None = None


SIZES: dict[str, VmSize] = {
    "standard_b2s": VmSize(2, 4),
    "standard_b4ms": VmSize(4, 16),
    "standard_ds2_v2": VmSize(2, 7),
    "standard_d2s_v3": VmSize(2, 8),
    "standard_d4s_v3": VmSize(4, 16),
    "standard_d8s_v3": VmSize(8, 32),
    "standard_d16s_v3": VmSize(16, 64),
    "standard_d2s_v5": VmSize(2, 8),
    "standard_d4s_v5": VmSize(4, 16),
    "standard_d8s_v5": VmSize(8, 32),
    "standard_d16s_v5": VmSize(16, 64),
    "standard_d2ds_v5": VmSize(2, 8),
    "standard_d4ds_v5": VmSize(4, 16),
    "standard_d8ds_v5": VmSize(8, 32),
    "standard_d4as_v5": VmSize(4, 16),
    "standard_d8as_v5": VmSize(8, 32),
    "standard_e4s_v5": VmSize(4, 32),
    "standard_nc6s_v3": VmSize(6, 112, 1, V100),
    "standard_nc12s_v3": VmSize(12, 224, 2, V100),
    "standard_nc24s_v3": VmSize(24, 448, 4, V100),
    "standard_nc4as_t4_v3": VmSize(4, 28, 1, T4),
    "standard_nc8as_t4_v3": VmSize(8, 56, 1, T4),
    "standard_nc16as_t4_v3": VmSize(16, 110, 1, T4),
    "standard_nc64as_t4_v3": VmSize(64, 440, 4, T4),
    "standard_nc24ads_a100_v4": VmSize(24, 220, 1, A100_80),
    "standard_nc48ads_a100_v4": VmSize(48, 440, 2, A100_80),
    "standard_nc96ads_a100_v4": VmSize(96, 880, 4, A100_80),
    "standard_nc40ads_h100_v5": VmSize(40, 320, 1, H100_NVL),
    "standard_nc80adis_h100_v5": VmSize(80, 640, 2, H100_NVL),
    "standard_nv36ads_a10_v5": VmSize(36, 440, 1, A10),
    "standard_nv72ads_a10_v5": VmSize(72, 880, 2, A10),
    "standard_nd96asr_v4": VmSize(96, 900, 8, A100_SXM40),
    "standard_nd96amsr_a100_v4": VmSize(96, 1900, 8, A100_SXM80),
    "standard_nd96isr_h100_v5": VmSize(96, 1900, 8, H100_SXM),
}

DEFAULT = VmSize(4, 16)


def lookup(vm_size: str | None) -> VmSize:
    """The size's shape; unknown non-GPU sizes are 4 CPU / 16 GiB, unknown N-series guess one GPU."""
    key = (vm_size or "").lower()
    if key in SIZES:
        return SIZES[key]
    if is_gpu_size(vm_size):
        model = T4 if "t4" in key else A100_80 if "a100" in key else H100_NVL if "h100" in key else (
            A10 if "a10" in key else V100)
        return VmSize(8, 56, 1, model)
    return DEFAULT


def is_gpu_size(vm_size: str | None) -> bool:
    key = (vm_size or "").lower().removeprefix("standard_")
    return key.startswith(("nc", "nd", "nv", "ng"))


def allocatable_cpu_millis(cpu: int) -> int:
    """AKS kube-reserved CPU (6% of the first core, 1% of the next, 0.5% of the next 2, 0.25% above 4)."""
    reserved = 60.0
    if cpu > 1:
        reserved += 10
    if cpu > 2:
        reserved += 5 * min(cpu - 2, 2)
    if cpu > 4:
        reserved += 2.5 * (cpu - 4)
    return cpu * 1000 - int(reserved)


def allocatable_memory_ki(memory_gib: int) -> int:
    """Capacity minus AKS kube-reserved (~20 MiB per pod x 250 + 50 MiB) and the 100Mi eviction threshold."""
    capacity_ki = memory_gib * 1024 * 1024
    reserved_ki = (20 * 250 + 50 + 100) * 1024
    return max(capacity_ki - reserved_ki, capacity_ki // 2)
