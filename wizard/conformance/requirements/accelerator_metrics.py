"""accelerator_metrics: the DCGM exporter's per-GPU utilisation and memory read through the API server proxy (the
behaviour itself: a machine-readable endpoint with per-accelerator metrics)."""
from __future__ import annotations

from typing import Any

from ..context import GPU, Ctx, Out, Outcome, quantity_int
from ..kube import KubeFailure
from .base import Spec, summary

DCGM_LABELS = (("app", "nvidia-dcgm-exporter"), ("app.kubernetes.io/name", "dcgm-exporter"),
               ("app", "dcgm-exporter"), ("app.kubernetes.io/name", "nvidia-dcgm-exporter"))
DEVICE_LABELS = ("UUID", "gpu", "pci_bus_id", "device")
UTIL = ("DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_PROF_GR_ENGINE_ACTIVE")
MEMORY = ("DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_FB_FREE", "DCGM_FI_DEV_MEM_COPY_UTIL")
EXTRA = {"temperature": ("DCGM_FI_DEV_GPU_TEMP",), "power": ("DCGM_FI_DEV_POWER_USAGE",),
         "interconnect": ("DCGM_FI_PROF_NVLINK_TX_BYTES", "DCGM_FI_PROF_NVLINK_RX_BYTES", "DCGM_FI_PROF_PCIE_TX_BYTES",
                          "DCGM_FI_PROF_PCIE_RX_BYTES", "DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL")}


def dcgm_targets(ctx: Ctx) -> list[tuple[str, str, str]]:
    """(description, API server proxy path, in-cluster URL) of the DCGM exporter: exporter Services first, then
    the managed-GPU node exporters."""
    targets = []
    for (ns, name), svc in sorted(ctx.services().items()):
        labels = svc["metadata"].get("labels") or {}
        sel = (svc.get("spec") or {}).get("selector") or {}
        if any(labels.get(k) == v or sel.get(k) == v for k, v in DCGM_LABELS) or "dcgm-exporter" in name:
            ports = (svc.get("spec") or {}).get("ports") or []
            port = next((p for p in ports if p.get("name") == "metrics" or p.get("port") == 9400),
                        ports[0] if ports else None)
            if port is not None:
                targets.append((f"Service {ns}/{name}:{port.get('port')}",
                                f"/api/v1/namespaces/{ns}/services/{name}:{port.get('port')}/proxy/metrics",
                                f"http://{name}.{ns}.svc.cluster.local:{port.get('port')}/metrics"))
    for n in ctx.nodes():
        if (n["metadata"].get("labels") or {}).get("kubernetes.azure.com/dcgm-exporter") == "enabled":
            name = n["metadata"]["name"]
            ip = next((a["address"] for a in (n.get("status") or {}).get("addresses") or []
                       if a.get("type") == "InternalIP"), name)
            targets.append((f"node {name}:19400", f"/api/v1/nodes/{name}:19400/proxy/metrics",
                            f"http://{ip}:19400/metrics"))
            break
    return targets


def parse_dcgm(text: str) -> dict[str, Any]:
    """Families and per-device samples of a Prometheus text exposition (prometheus_client's parser)."""
    from prometheus_client.parser import text_string_to_metric_families

    fams: dict[str, list[Any]] = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            fams.setdefault(s.name, []).append(s)
    return fams


def check(ctx: Ctx) -> Outcome:
    out = Out()
    az = ctx.az
    if az is not None:
        for p in az.gpu_pools():
            out.ev(f"Azure: GPU pool {p.name} gpuProfile.nvidia.managementMode = "
                   f"{'Managed' if p.managed_gpu else 'Unmanaged'}, driver {p.driver}")
    gpu_nodes = ctx.gpu_nodes()
    targets = dcgm_targets(ctx)
    if not targets:
        if not ctx.gpu_vm_nodes():
            out.problem("no GPU nodes and no DCGM exporter", ctx.fix.gpu_pool())
        else:
            out.problem("no DCGM exporter found (no exporter Service, no managed-GPU node exporter)",
                        ctx.fix.dcgm_exporter())
        return Outcome("fail", out.problems[0], out, "read-only")
    text, source, errors = None, None, []
    for desc, path, _ in targets:
        try:
            text = ctx.k().text(path)
            source = desc
            break
        except KubeFailure as exc:
            errors.append(f"{desc}: {exc.describe()}")
    if text is None:
        out.problem("DCGM exporter not reachable through the API server proxy: " + "; ".join(errors),
                    ctx.fix.dcgm_exporter())
        return Outcome("fail", out.problems[0], out, "read-only")
    try:
        fams = parse_dcgm(text)
    except Exception as exc:  # noqa: BLE001 - a malformed exposition is a finding
        out.problem(f"{source}: metrics are not valid Prometheus text ({exc})", ctx.fix.dcgm_exporter())
        return Outcome("fail", out.problems[0], out, "read-only")
    out.ev(f"scraped {source} via the API server proxy: {len(fams)} metric series names")

    def per_device(names: tuple[str, ...]) -> tuple[str | None, set[Any]]:
        for n in names:
            samples = fams.get(n) or []
            devs = {tuple(s.labels.get(k, "") for k in ("Hostname", "UUID", "gpu")) for s in samples
                    if any(s.labels.get(k) for k in DEVICE_LABELS)}
            if devs:
                return n, devs
        return None, set()

    u_name, u_devs = per_device(UTIL)
    m_name, m_devs = per_device(MEMORY)
    if u_name:
        out.ev(f"utilisation: {u_name} for {len(u_devs)} GPU(s) with device labels")
    else:
        out.problem(f"no per-GPU utilisation metric ({' / '.join(UTIL)}) with a device label",
                    ctx.fix.dcgm_exporter())
    if m_name:
        out.ev(f"memory: {m_name} for {len(m_devs)} GPU(s)")
    else:
        out.problem(f"no per-GPU memory metric ({' / '.join(MEMORY)}) with a device label", ctx.fix.dcgm_exporter())
    present = [k for k, names in EXTRA.items() if any(n in fams for n in names)]
    absent = [k for k in EXTRA if k not in present]
    out.ev(f"additional: {', '.join(present) or 'none'}" + (f"; not exposed: {', '.join(absent)}" if absent else ""))
    if u_devs:
        hosts = {h for h, _, _ in u_devs if h}
        for n in gpu_nodes:
            name = n["metadata"]["name"]
            if name in hosts:
                want = quantity_int(n["status"]["allocatable"].get(GPU))
                got = len({d for d in u_devs if d[0] == name})
                line = f"node {name}: {got} GPU(s) in metrics, {want} allocatable"
                (out.ev if got == want else out.note)(line)
    status = "fail" if out.problems else "pass"
    return Outcome(status, summary(out, f"per-GPU utilisation and memory exposed ({source})"), out, "read-only")


SPEC = Spec("accelerator_metrics", check, test="TestAcceleratorMetrics")
