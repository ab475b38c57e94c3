"""workload_sandboxing (SHOULD, 1.37): a RuntimeClass for a sandboxed runtime (AKS pod sandboxing: Kata, handler
kata-vm-isolation; gVisor, ...) is presence (Partially Implemented). The probe runs the same script in a pod of that
RuntimeClass and in a plain control pod on the same node, as the official TestWorkloadSandboxing does, and passes
when the sandbox shows a kernel identity (release, /proc/version, boot id) apart from the node's."""
from __future__ import annotations

from typing import Any

from ..context import Ctx, Out, Outcome
from ..probes import BUSYBOX, ProbeResult, ProbeRunner
from .base import Spec, fail_fast, probed, run_probe

KNOWN = ("gvisor", "runsc", "kata", "sandboxed", "quark", "krun")  # the official suite's keywords
SCRIPT = ("echo release=$(uname -r); echo version=$(cat /proc/version); "
          "echo boot=$(cat /proc/sys/kernel/random/boot_id); echo SANDBOX_PROBE: COMPLETED")
FIX = ("az: az aks nodepool add -g <resource-group> --cluster-name <cluster> -n kata --os-sku AzureLinux "
       "--workload-runtime KataVmIsolation (AKS pod sandboxing: RuntimeClass kata-vm-isolation)")


def sandboxed_classes(ctx: Ctx) -> list[dict[str, Any]]:
    return [rc for rc in ctx.k().items("/apis/node.k8s.io/v1/runtimeclasses")
            if any(k in rc["metadata"]["name"].lower() or k in str(rc.get("handler", "")).lower() for k in KNOWN)]


def check(ctx: Ctx) -> Outcome:
    out = Out()
    classes = sandboxed_classes(ctx)
    if not classes:
        return fail_fast(out, "no RuntimeClass for a sandboxed runtime (Kata / pod sandboxing, gVisor)", FIX)
    for rc in classes:
        sel = ((rc.get("scheduling") or {}).get("nodeSelector") or {})
        out.ev(f"RuntimeClass {rc['metadata']['name']} (handler {rc.get('handler')}"
               + (f", nodes {', '.join(f'{k}={v}' for k, v in sel.items())})" if sel else ")"))
    proven = run_probe(ctx, "workload_sandboxing", out)
    return probed(out, proven, "a pod in the sandboxed RuntimeClass saw a kernel apart from the node's",
                  "a sandboxed RuntimeClass is offered (isolation not exercised)")


def _kernel(r: ProbeRunner, pod: str) -> dict[str, str]:
    path = f"/api/v1/namespaces/{r.ns}/pods/{pod}"
    r.wait(f"pod {pod} finished", lambda: (r.get(path).get("status") or {}).get("phase") in ("Succeeded", "Failed"))
    text = r.kube.request("GET", f"{path}/log", raw=True)
    if "SANDBOX_PROBE: COMPLETED" not in text:
        raise TimeoutError(f"pod {pod}: the probe script did not complete ({text[:80]!r})")
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def probe(r: ProbeRunner) -> ProbeResult:
    rc = sandboxed_classes(r.ctx)[0]
    ns = r.namespace()
    name = rc["metadata"]["name"]

    def pod(pname: str, runtime: str | None, node: str | None) -> dict[str, Any]:
        spec: dict[str, Any] = {"restartPolicy": "Never", "terminationGracePeriodSeconds": 0, "tolerations": [{"operator": "Exists"}],
                      "containers": [{"name": "prober", "image": BUSYBOX, "command": ["sh", "-c", SCRIPT],
                                      "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]}
        if runtime:
            spec["runtimeClassName"] = runtime
        if node:
            spec["nodeName"] = node
        return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": pname, "namespace": ns}, "spec": spec}

    r.post(f"/api/v1/namespaces/{ns}/pods", pod("aicv-sandboxed", name, None))
    sandboxed = _kernel(r, "aicv-sandboxed")
    node = r.get(f"/api/v1/namespaces/{ns}/pods/aicv-sandboxed")["spec"].get("nodeName")
    r.sub("SchedulingAndExecution", True, f"RuntimeClass {name} on node {node}")
    r.post(f"/api/v1/namespaces/{ns}/pods", pod("aicv-control", None, node))
    control = _kernel(r, "aicv-control")
    differ = [k for k in ("release", "version", "boot") if sandboxed.get(k) != control.get(k)]
    r.ev(f"sandboxed pod (RuntimeClass {name}) on {node}: kernel {sandboxed.get('release')}; control pod on the "
         f"same node: kernel {control.get('release')}")
    r.sub("KernelAndMemoryIsolation", bool(differ), f"differs in {', '.join(differ)}" if differ else "same kernel")
    if not differ:
        return ProbeResult(False, f"the pod in RuntimeClass {name} sees the node's own kernel "
                                  f"({control.get('release')}): handler {rc.get('handler')} gives no kernel boundary")
    return ProbeResult(True, f"kernel identity differs in {', '.join(differ)}")


SPEC = Spec("workload_sandboxing", check, probe, test="TestWorkloadSandboxing")
