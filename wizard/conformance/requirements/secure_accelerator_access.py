"""secure_accelerator_access: accelerators reach only the containers that asked for them through the resource
framework. The allocation mode is detected as the official TestSecureAcceleratorAccess does (a GPU DeviceClass
with ResourceSlices of a Ready node means DRA, else the device plugin); the probe runs the 1 / 0 / 0 device
checks (PositiveAccessTest, NegativeIsolationTest, also with NVIDIA_VISIBLE_DEVICES=all) and the two-container
case (MultiContainerIsolationTest), requesting the GPU with a ResourceClaim in DRA mode."""
from __future__ import annotations

import re
from typing import Any

from ..context import GPU, KS, Ctx, Out, Outcome
from ..kube import KubeFailure
from ..probes import BUSYBOX, ProbeResult, ProbeRunner
from .base import Spec, fail_fast, probed, run_probe

DRA_CLASS = "gpu.nvidia.com"
DRA = "/apis/resource.k8s.io/v1"
HARDEN = ("harden the NVIDIA container toolkit: accept-nvidia-visible-devices-envvar-when-unprivileged = false (AKS "
          "managed GPU does this), use the device plugin's DEVICE_LIST_STRATEGY=volume-mounts")


def allocation_mode(ctx: Ctx) -> tuple[str, list[str]]:
    """("dra", nodes) when DeviceClass gpu.nvidia.com exists and a Ready node publishes ResourceSlices of its
    driver, else ("device-plugin", [])."""
    try:
        classes = {c["metadata"]["name"] for c in ctx.k().items(f"{DRA}/deviceclasses")}
        if DRA_CLASS not in classes:
            return "device-plugin", []
        slices = ctx.k().items(f"{DRA}/resourceslices")
    except KubeFailure:
        return "device-plugin", []
    ready = {n["metadata"]["name"] for n in ctx.nodes()
             if any(c.get("type") == "Ready" and c.get("status") == "True"
                    for c in (n.get("status") or {}).get("conditions") or [])}
    nodes = sorted({str((s.get("spec") or {}).get("nodeName")) for s in slices
                    if (s.get("spec") or {}).get("driver") == DRA_CLASS and (s.get("spec") or {}).get("devices")}
                   & ready)
    return ("dra", nodes) if nodes else ("device-plugin", [])


def _is_device_plugin(ds: dict[str, Any]) -> bool:
    name = ds["metadata"]["name"]
    labels = ((ds.get("spec") or {}).get("template") or {}).get("metadata", {}).get("labels") or {}
    return "nvidia-device-plugin" in name or labels.get("name") == "nvidia-device-plugin-ds" or \
        labels.get("app.kubernetes.io/name") == "nvidia-device-plugin"


def check(ctx: Ctx) -> Outcome:
    out = Out()
    mode, dra_nodes = allocation_mode(ctx)
    gpu = ctx.gpu_nodes()
    plugins = ctx.find_daemonset(_is_device_plugin)
    if plugins:
        for ds in plugins:
            ok, line = ctx.daemonset_ok(ds)
            (out.ev if ok else lambda s: out.problem(s, ctx.fix.device_plugin()))(line)
    if mode == "dra":
        out.ev(f"allocation mode DRA: DeviceClass {DRA_CLASS} with ResourceSlices on Ready node(s) "
               f"{', '.join(dra_nodes)}")
    elif not gpu:
        if ctx.gpu_vm_nodes():
            return fail_fast(out, f"GPU nodes advertise no allocatable {GPU} and no DRA driver publishes "
                                  "ResourceSlices", ctx.fix.device_plugin())
        return fail_fast(out, "no GPU nodes", ctx.fix.gpu_pool())
    else:
        out.ev("allocation mode device plugin (no DeviceClass gpu.nvidia.com with ResourceSlices of a Ready node)")
        for n in gpu:
            out.ev(f"node {n['metadata']['name']}: allocatable {GPU} = {n['status']['allocatable'][GPU]}")
        if not plugins:
            out.note("no NVIDIA device plugin DaemonSet recognised; devices advertised by another plugin")
    # audit: privileged or /dev/nvidia hostPath pods on GPU nodes outside the GPU system components
    try:
        names = {n["metadata"]["name"] for n in gpu} | set(dra_nodes)
        risky = []
        for p in ctx.k().items("/api/v1/pods"):
            spec = p.get("spec") or {}
            if spec.get("nodeName") not in names or p["metadata"].get("namespace") in (KS, "gpu-operator"):
                continue
            hostdev = any(((v.get("hostPath") or {}).get("path") or "").startswith("/dev")
                          for v in spec.get("volumes") or [])
            priv = any(((c.get("securityContext") or {}).get("privileged")) for c in spec.get("containers") or [])
            if hostdev or priv:
                risky.append(f"{p['metadata']['namespace']}/{p['metadata']['name']}")
        if risky:
            out.note("pods on GPU nodes bypassing the device plugin (privileged or /dev hostPath): "
                     + ", ".join(risky[:10]))
        else:
            out.ev("no privileged or /dev hostPath pods on GPU nodes outside kube-system")
    except KubeFailure as exc:
        out.note(f"pod audit skipped: {exc.describe()}")
    proven = None
    if not out.problems:
        proven = run_probe(ctx, "secure_accelerator_access", out)
    how = "a ResourceClaim" if mode == "dra" else f"a {GPU} request"
    return probed(out, proven, f"GPU visible only to the container that requested it through {how} (also against "
                               "NVIDIA_VISIBLE_DEVICES=all and in a second container)",
                  f"GPUs mediated by {'DRA' if mode == 'dra' else 'the device plugin'} (isolation not exercised)")


def _pod(r: ProbeRunner, name: str, node: str, containers: list[dict[str, Any]], claim: bool = False) -> dict[str, Any]:
    spec = {"restartPolicy": "Never", "terminationGracePeriodSeconds": 0,
            "nodeSelector": {"kubernetes.io/hostname": node}, "tolerations": [{"operator": "Exists"}],
            "containers": containers}
    if claim:
        spec["resourceClaims"] = [{"name": "gpu", "resourceClaimTemplateName": "aicv-gpu"}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": r.ns}, "spec": spec}


def _ctr(name: str, gpu: str | None, env_all: bool = False) -> dict[str, Any]:
    """gpu: "plugin" (a nvidia.com/gpu limit), "claim" (the pod's ResourceClaim) or None."""
    c: dict[str, Any] = {"name": name, "image": BUSYBOX, "command": ["sh", "-c", "ls /dev/nvidia[0-9]* 2>/dev/null | wc -l"],
         "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}
    if gpu == "plugin":
        c["resources"]["limits"] = {GPU: "1"}
    elif gpu == "claim":
        c["resources"]["claims"] = [{"name": "gpu"}]
    if env_all:
        c["env"] = [{"name": "NVIDIA_VISIBLE_DEVICES", "value": "all"}]
    return c


def _devices_seen(r: ProbeRunner, pod: str, container: str) -> int:
    path = f"/api/v1/namespaces/{r.ns}/pods/{pod}"

    def done() -> dict[str, Any] | None:
        p = r.get(path)
        return p if (p.get("status") or {}).get("phase") in ("Succeeded", "Failed") else None

    r.wait(f"pod {pod} finished", done)
    text = r.kube.request("GET", f"{path}/log", {"container": container}, raw=True)
    nums = [int(x) for x in re.findall(r"^\s*(\d+)\s*$", text, re.M)]
    if not nums:
        raise KubeFailure("error", f"pod {pod}/{container}: unreadable output {text[:80]!r}")
    return nums[-1]


def probe(r: ProbeRunner) -> ProbeResult:
    mode, dra_nodes = allocation_mode(r.ctx)
    if mode == "dra":
        node = dra_nodes[0]
    else:
        gpu_nodes = r.ctx.gpu_nodes()
        if not gpu_nodes:
            return ProbeResult(None, f"no node advertises {GPU}")
        node = gpu_nodes[0]["metadata"]["name"]
    with r.gpu_lock:
        return _isolation(r, node, mode)


def _isolation(r: ProbeRunner, node: str, mode: str) -> ProbeResult:
    ns = r.namespace()
    want_gpu = "claim" if mode == "dra" else "plugin"
    claim = mode == "dra"
    if claim:
        r.post(f"{DRA}/namespaces/{ns}/resourceclaimtemplates", {
            "apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaimTemplate",
            "metadata": {"name": "aicv-gpu", "namespace": ns},
            "spec": {"spec": {"devices": {"requests": [{"name": "gpu", "exactly": {"deviceClassName": DRA_CLASS}}]}}}})
    r.ev(f"allocation mode {'DRA (ResourceClaimTemplate aicv-gpu)' if claim else 'device plugin'}; pods pinned to "
         f"GPU node {node}, reading `ls /dev/nvidia[0-9]*` from the pod log")
    pods = {"aicv-gpu": ([_ctr("probe", want_gpu)], claim), "aicv-nogpu": ([_ctr("probe", None)], False),
            "aicv-envall": ([_ctr("probe", None, env_all=True)], False)}
    for name, (ctrs, with_claim) in pods.items():
        r.post(f"/api/v1/namespaces/{ns}/pods", _pod(r, name, node, ctrs, with_claim))
    ev: list[str] = r.trail
    bad: list[str] = []
    cases = [("PositiveAccessTest", "aicv-gpu", "probe", 1, "container requesting 1 GPU"),
             ("NegativeIsolationTest", "aicv-nogpu", "probe", 0, "container without a GPU request"),
             ("NegativeIsolationTest", "aicv-envall", "probe", 0,
              "container without a request but NVIDIA_VISIBLE_DEVICES=all")]
    results: dict[str, list[str]] = {}
    for sub, pod, ctr, want, label in cases:
        got = _devices_seen(r, pod, ctr)
        line = f"{label} sees {got} GPU device(s) (expected {want})"
        (ev if got == want else bad).append(line)
        results.setdefault(sub, []).append(("" if got == want else "FAIL ") + line)
    # after aicv-gpu finished its GPU is free again for the two-container pod
    r.post(f"/api/v1/namespaces/{ns}/pods", _pod(r, "aicv-multi", node, [_ctr("gpu", want_gpu), _ctr("nogpu", None)],
                                                  claim))
    for ctr, want, label in (("gpu", 1, "multi-container pod, container with the GPU request"),
                             ("nogpu", 0, "multi-container pod, second container without a request")):
        got = _devices_seen(r, "aicv-multi", ctr)
        line = f"{label} sees {got} GPU device(s) (expected {want})"
        (ev if got == want else bad).append(line)
        results.setdefault("MultiContainerIsolationTest", []).append(("" if got == want else "FAIL ") + line)
    for sub, lines in results.items():
        r.sub(sub, not any(x.startswith("FAIL ") for x in lines), "; ".join(x.removeprefix("FAIL ") for x in lines))
    if bad:
        return ProbeResult(False, "; ".join(bad), bad, HARDEN)
    return ProbeResult(True, "device isolation holds", ev)


SPEC = Spec("secure_accelerator_access", check, probe, test="TestSecureAcceleratorAccess")
