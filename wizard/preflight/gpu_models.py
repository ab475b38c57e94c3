"""GPU model of an Azure GPU VM size, from its name and family (resource SKUs report the GPU count only).

Kept as data: Azure adds series over time; add a row here. First match wins; the explicit model token in the
size name (…_A100_v4, …_H100_v5, …_T4_v3) is tried before the older series names.
"""
from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class GpuModel:
    model: str
    vendor: str  # NVIDIA | AMD


# (regex over the size name without the "Standard_" prefix, model, vendor)
_TOKENS: list[tuple[str, str, str]] = [
    (r"GB300", "GB300", "NVIDIA"),
    (r"GB200", "GB200", "NVIDIA"),
    (r"B200", "B200", "NVIDIA"),
    (r"H200", "H200", "NVIDIA"),
    (r"H100", "H100", "NVIDIA"),
    (r"A100", "A100", "NVIDIA"),
    (r"L40S", "L40S", "NVIDIA"),
    (r"L4(?!\d)", "L4", "NVIDIA"),
    (r"A10(?!\d)", "A10", "NVIDIA"),
    (r"T4", "T4", "NVIDIA"),
    (r"V100", "V100", "NVIDIA"),
    (r"MI300X", "MI300X", "AMD"),
    (r"MI200", "MI200", "AMD"),
    (r"V710", "Radeon Pro V710", "AMD"),
    (r"V620", "Radeon Pro V620", "AMD"),
]

# series by size-name shape, for sizes whose name carries no model token
_SERIES: list[tuple[str, str, str]] = [
    (r"^ND\d+amsr_A100_v4$", "A100", "NVIDIA"),
    (r"^ND\d+rs_v2$", "V100", "NVIDIA"),           # NDv2
    (r"^NC\d+[a-z]*s_v3$", "V100", "NVIDIA"),       # NCv3
    (r"^NC\d+[a-z]*s_v2$", "P100", "NVIDIA"),       # NCv2
    (r"^ND\d+r?s$", "P40", "NVIDIA"),               # ND (v1)
    (r"^NC\d+r?(_Promo)?$", "K80", "NVIDIA"),       # NC (v1)
    (r"^NV\d+a?s_v4$", "Radeon Instinct MI25", "AMD"),  # NVv4 (partial GPU)
    (r"^NV\d+s_v3$", "M60", "NVIDIA"),              # NVv3
    (r"^NV\d+(_Promo)?$", "M60", "NVIDIA"),         # NV (v1)
]

# family (quota name) fallbacks
_FAMILIES: list[tuple[str, str, str]] = [
    (r"NCSv3|NDSv2", "V100", "NVIDIA"),
    (r"NCSv2", "P100", "NVIDIA"),
    (r"NDS(Family)?$", "P40", "NVIDIA"),
    (r"NVSv3|NVPromo|standardNVFamily", "M60", "NVIDIA"),
]


def gpu_model(size: str, family: str = "") -> GpuModel | None:
    core = re.sub(r"^Standard_", "", size, flags=re.IGNORECASE)
    for pattern, model, vendor in _TOKENS:
        if re.search(r"(?:^|_)[A-Za-z]*" + pattern + r"(?:_|$)", core, re.IGNORECASE) or \
                re.search(r"_" + pattern + r"(?:_|$)", core, re.IGNORECASE):
            return GpuModel(model, vendor)
    for pattern, model, vendor in _SERIES:
        if re.search(pattern, core, re.IGNORECASE):
            return GpuModel(model, vendor)
    for pattern, model, vendor in _FAMILIES:
        if re.search(pattern, family or "", re.IGNORECASE):
            return GpuModel(model, vendor)
    for pattern, model, vendor in _TOKENS:  # a model token anywhere in the family name (…H100v5Family)
        if re.search(pattern, family or "", re.IGNORECASE):
            return GpuModel(model, vendor)
    return None


# GPU series Azure has retired: (regex over the size name without "Standard_", series, retirement date). Their sizes
# are gone from the resource SKUs and refused at PUT; preflight says so instead of "not a VM size".
RETIRED: list[tuple[str, str, str]] = [
    (r"^NC\d+r?s_v3$", "NCv3", "2025-09-30"),
]


def retired(size: str) -> tuple[str, str] | None:
    """(series, retirement date) when ``size`` belongs to a retired GPU series."""
    core = re.sub(r"^Standard_", "", size, flags=re.IGNORECASE)
    for pattern, series, date in RETIRED:
        if re.search(pattern, core, re.IGNORECASE):
            return series, date
    return None


# memory of ONE GPU of a size, GB (Azure's size pages); first match wins. Partial-GPU sizes (NVadsA10 v5 below
# NV36, NVv4) get their slice. A size without a row shows no figure rather than a guess.
_MEMORY: list[tuple[str, float]] = [
    (r"^NC\d+as_T4_v3$", 16), (r"^NC\d+s_v3$", 16), (r"^ND\d+rs_v2$", 32),
    (r"^NV6ads_A10_v5$", 4), (r"^NV12ads_A10_v5$", 8), (r"^NV18ads_A10_v5$", 12), (r"^NV(36|72)ads_A10_v5$", 24),
    (r"^NC\d+ads_A10_v4$", 24), (r"^NC\d+ads_A100_v4$", 80), (r"^ND96asr_v4$", 40), (r"^ND96amsr_A100_v4$", 80),
    (r"^NC\d+ads_H100_v5$", 94), (r"^ND96isr_H100_v5$", 80), (r"^ND96isr_H200_v5$", 141),
    (r"^ND96isr_MI300X_v5$", 192), (r"^NC\d+ads_L4_v\d+$", 24), (r"^NC\d+ads_L40S_v\d+$", 48),
]


def gpu_memory_gb(size: str) -> float | None:
    """Memory of one GPU of the VM size in GB, when known."""
    core = re.sub(r"^Standard_", "", size, flags=re.IGNORECASE)
    return next((gb for pattern, gb in _MEMORY if re.search(pattern, core, re.IGNORECASE)), None)
