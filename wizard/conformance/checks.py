"""Read-only checks of each requirement (Kubernetes API through the kubernetes client, plus the Azure view), with
the opt-in probes layered on top. Mapping (see README of the package / report notes):

- pass (Implemented): a check proved the capability: DRA APIs served with their verbs; the DCGM exporter's
  per-GPU utilisation + memory read through the API server proxy; the autoscaler configured on the GPU pool in
  Azure and reporting that node group healthy; the managed Prometheus collector running on every node with its
  discovery CRDs; or, for the others, the probe workload behaved as required.
- partial (Partially Implemented): only presence was read (CRDs, controllers, webhooks, APIServices).
- fail (Not Implemented): something required is missing or broken, or could not be read (reason given).
"""
from __future__ import annotations

from typing import Callable

from wizard.addons import gpu_metrics

from .context import GPU, KS, Ctx, Out, Outcome, cond_true, quantity_int
from .kube import KubeFailure

PROBE_LABEL = "aks-ai-wizard.io/conformance-probe"


def _status_from(out: Out, proven: bool) -> str:
    if out.problems:
        return "fail"
    return "pass" if proven else "partial"


def _probe(ctx: Ctx, name: str, out: Out) -> bool | None:
    """Run the named probe when probes are on; True proven, False disproven, None not run."""
    if not ctx.opts.probes or ctx.probes is None:
        out.note("read-only: presence verified; run with --probes to prove it with a short-lived workload")
        return None
    res = ctx.probes.run(name)
    for line in res.evidence:
        out.ev(f"probe: {line}")
    if res.ok is None:
        out.note(f"probe not run: {res.message}")
    elif not res.ok:
        out.problem(f"probe failed: {res.message}", res.fix)
    return res.ok


def _summary(out: Out, ok_text: str, partial_text: str | None = None, proven: bool = True) -> str:
    if out.problems:
        return out.problems[0] + (f" (+{len(out.problems) - 1} more)" if len(out.problems) > 1 else "")
    return ok_text if proven or partial_text is None else partial_text


def _probed(out: Out, proven: bool | None, proven_text: str, read_only_text: str) -> Outcome:
    """A check with a probe: pass when the probe proved it, partial on presence alone, fail on a problem."""
    return Outcome(_status_from(out, bool(proven)), _summary(out, proven_text, read_only_text, bool(proven)), out,
                   "probe" if proven else "read-only")


# ===================================================================================== dra_support
DRA_RESOURCES = ("deviceclasses", "resourceclaims", "resourceclaimtemplates", "resourceslices")
DRA_VERBS = {"create", "update", "list", "patch", "delete", "get", "watch"}


def dra_support(ctx: Ctx) -> Outcome:
    out = Out()
    doc = ctx.discovery("resource.k8s.io/v1")
    if doc is None:
        older = [v for v in ("v1beta2", "v1beta1") if ctx.discovery(f"resource.k8s.io/{v}") is not None]
        ver = ctx.version().get("gitVersion", "?")
        msg = (f"resource.k8s.io/v1 not served (Kubernetes {ver}); only {', '.join(older)}" if older
               else f"resource.k8s.io not served (Kubernetes {ver})")
        out.problem(msg, ctx.fix.kubernetes_version())
        return Outcome("fail", msg, out, "read-only")
    res = {r["name"]: r for r in doc.get("resources") or [] if "/" not in r.get("name", "")}
    for name in DRA_RESOURCES:
        r = res.get(name)
        if r is None:
            out.problem(f"resource.k8s.io/v1 does not serve {name}", ctx.fix.kubernetes_version())
            continue
        missing = DRA_VERBS - set(r.get("verbs") or [])
        if missing:
            out.problem(f"resource.k8s.io/v1 {name}: verbs {', '.join(sorted(missing))} missing")
        else:
            out.ev(f"resource.k8s.io/v1 serves {name} ({'namespaced' if r.get('namespaced') else 'cluster'}; "
                   f"verbs {', '.join(sorted(r.get('verbs') or []))})")
    try:
        classes = ctx.k().items("/apis/resource.k8s.io/v1/deviceclasses")
        out.ev(f"DeviceClasses: {', '.join(c['metadata']['name'] for c in classes) or 'none'}")
        if not classes:
            out.note("no DeviceClass yet: the DRA API is served; using it needs a DRA driver (e.g. NVIDIA DRA "
                     "driver, DeviceClass gpu.nvidia.com)")
    except KubeFailure as exc:
        out.note(f"DeviceClasses not listed: {exc.describe()}")
    if ctx.opts.probes and ctx.probes is not None and not out.problems:
        res_p = ctx.probes.run("dra_support")
        for line in res_p.evidence:
            out.ev(f"probe: {line}")
        if res_p.ok is False:
            out.problem(f"probe failed: {res_p.message}", res_p.fix)
    return Outcome(_status_from(out, True), _summary(out, "DRA APIs served at resource.k8s.io/v1 with all verbs"),
                   out, "read-only")


# ===================================================================================== ai_inference
GATEWAY_CRDS = ("gatewayclasses", "gateways", "httproutes", "grpcroutes", "referencegrants")
GW = "gateway.networking.k8s.io"


def accepted_gateway_classes(ctx: Ctx) -> list[dict]:
    classes = ctx.k().items("/apis/gateway.networking.k8s.io/v1/gatewayclasses")
    return [c for c in classes if cond_true(c, "Accepted")]


def ai_inference(ctx: Ctx) -> Outcome:
    out = Out()
    az = ctx.az
    if az is not None:
        inst = az.gateway_api_installation or "not set"
        if inst.lower() == "standard":
            out.ev("Azure: ingressProfile.gatewayAPI.installation = Standard (managed Gateway API)")
        else:
            out.note(f"Azure: ingressProfile.gatewayAPI.installation = {inst} (Gateway API not managed by AKS)")
        if az.mesh_mode.lower() == "istio":
            out.ev(f"Azure: serviceMeshProfile.mode = Istio, revisions {', '.join(az.mesh_revisions) or 'none'}")
        else:
            out.note(f"Azure: serviceMeshProfile.mode = {az.mesh_mode}")
    crds_ok = True
    for plural in GATEWAY_CRDS:
        ok, line = ctx.crd_ok(f"{plural}.{GW}")
        if ok:
            crd = ctx.crds()[f"{plural}.{GW}"]
            ann = crd["metadata"].get("annotations") or {}
            if plural == "httproutes":
                bundle = ann.get(f"{GW}/bundle-version")
                chan = ann.get(f"{GW}/channel")
                if bundle:
                    line += f"; bundle-version {bundle}, channel {chan or '?'}"
                if "v1" not in [v["name"] for v in crd["spec"].get("versions", []) if v.get("served")]:
                    out.problem(f"{line}: HTTPRoute v1 not served", ctx.fix.gateway_api())
            out.ev(line)
        elif plural in ("gatewayclasses", "gateways", "httproutes"):
            crds_ok = False
            out.problem(line, ctx.fix.gateway_api())
        else:
            out.note(line)
    classes = []
    if crds_ok:
        classes = accepted_gateway_classes(ctx)
        if classes:
            for c in classes:
                out.ev(f"GatewayClass {c['metadata']['name']} Accepted (controller "
                       f"{(c.get('spec') or {}).get('controllerName')})")
        else:
            out.problem("no GatewayClass is Accepted (no Gateway API implementation running)",
                        ctx.fix.gateway_api() if az is None or az.mesh_mode.lower() != "istio" else ctx.fix.istio())
    istiod = ctx.find_deployment(("istiod",), prefix=True)
    if istiod is not None:
        ok, line = ctx.deployment_ok(istiod)
        (out.ev if ok else out.note)(line)
    elif az is not None and az.mesh_mode.lower() == "istio":
        out.problem("Azure enables the Istio add-on but no istiod Deployment was found", ctx.fix.istio())
    proven = None
    if not out.problems:
        proven = _probe(ctx, "ai_inference", out)
    return _probed(out, proven, "Gateway + HTTPRoute (weighted backends, header match) Accepted and Programmed",
                   "Gateway API CRDs Established and a GatewayClass Accepted (routing not exercised)")


# ===================================================================================== gang_scheduling
KUEUE = "kueue.x-k8s.io"
KUEUE_CRDS = ("clusterqueues", "localqueues", "resourceflavors", "workloads")


def gang_scheduling(ctx: Ctx) -> Outcome:
    out = Out()
    crds = ctx.crds()
    kueue = any(f"{p}.{KUEUE}" in crds for p in KUEUE_CRDS)
    volcano = "podgroups.scheduling.volcano.sh" in crds
    if not kueue and not volcano:
        out.problem("no gang scheduling solution installed (no Kueue or Volcano CRDs)", ctx.fix.kueue())
        return Outcome("fail", out.problems[0], out, "read-only")
    if kueue:
        for p in KUEUE_CRDS:
            ok, line = ctx.crd_ok(f"{p}.{KUEUE}")
            (out.ev if ok else lambda s: out.problem(s, ctx.fix.kueue()))(line)
        dep = ctx.find_deployment(("kueue-controller-manager",))
        if dep is None:
            out.problem("Deployment kueue-controller-manager not found", ctx.fix.kueue())
        else:
            ok, line = ctx.deployment_ok(dep)
            (out.ev if ok else lambda s: out.problem(s, ctx.fix.kueue()))(line)
        for name, kind in (("kueue-validating-webhook-configuration", "validating"),
                           ("kueue-mutating-webhook-configuration", "mutating")):
            ok, line = ctx.webhook_ok(name, kind)
            (out.ev if ok else lambda s: out.problem(s, ctx.fix.kueue()))(line)
        ns = dep["metadata"]["namespace"] if dep else "kueue-system"
        try:
            cm = ctx.configmap(ns, "kueue-manager-config")
            if cm:
                text = (cm.get("data") or {}).get("controller_manager_config.yaml", "")
                import yaml
                conf = yaml.safe_load(text) or {} if text else {}
                wfpr = ((conf.get("waitForPodsReady") or {}).get("enable")) if isinstance(conf, dict) else None
                frameworks = ((conf.get("integrations") or {}).get("frameworks") or []) if isinstance(conf, dict) else []
                out.ev(f"kueue-manager-config: waitForPodsReady {'enabled' if wfpr else 'disabled'}; "
                       f"integrations {', '.join(frameworks) or 'default'}")
                if not wfpr:
                    out.note("waitForPodsReady is off: Kueue admits all-or-nothing on quota; enable waitForPodsReady "
                             "for strict physical all-or-nothing (pods ready) semantics")
        except KubeFailure as exc:
            out.note(f"kueue-manager-config not read: {exc.describe()}")
    else:
        ok, line = ctx.crd_ok("podgroups.scheduling.volcano.sh")
        (out.ev if ok else out.problem)(line)
        dep = ctx.find_deployment(("volcano-scheduler",))
        if dep is None:
            out.problem("Deployment volcano-scheduler not found")
        else:
            ok, line = ctx.deployment_ok(dep)
            (out.ev if ok else out.problem)(line)
    proven = None
    if not out.problems:
        if kueue:
            proven = _probe(ctx, "gang_scheduling", out)
        else:
            out.note("probes exercise Kueue only; Volcano presence verified")
    return _probed(out, proven, "Kueue admitted a fitting gang whole and kept a too-big gang at zero pods",
                   "Kueue installed and running (all-or-nothing not exercised)")


# ===================================================================================== cluster_autoscaling
def _ca_status_groups(cm: dict | None) -> dict[str, dict]:
    """node group name -> {health, minSize, maxSize} from cluster-autoscaler-status (YAML or legacy text)."""
    if not cm:
        return {}
    text = (cm.get("data") or {}).get("status") or ""
    groups: dict[str, dict] = {}
    try:
        import yaml
        doc = yaml.safe_load(text)
    except Exception:  # noqa: BLE001 - legacy text format
        doc = None
    if isinstance(doc, dict) and isinstance(doc.get("nodeGroups"), list):
        for g in doc["nodeGroups"]:
            if isinstance(g, dict) and g.get("name"):
                h = g.get("health") or {}
                groups[g["name"]] = {"health": h.get("status"), "minSize": h.get("minSize", g.get("minSize")),
                                     "maxSize": h.get("maxSize", g.get("maxSize"))}
        return groups
    import re
    for m in re.finditer(r"Name:\s+(\S+)\s+Health:\s+(\w+).*?minSize=(\d+),\s*maxSize=(\d+)", text, re.S):
        groups[m.group(1)] = {"health": m.group(2), "minSize": int(m.group(3)), "maxSize": int(m.group(4))}
    return groups


def cluster_autoscaling(ctx: Ctx) -> Outcome:
    out = Out()
    az = ctx.az
    azure_ok = False
    if az is None:
        out.note("Azure view N/A (verified from a kubeconfig only): autoscaler bounds of the GPU pools not read; "
                 "run with -g/-n")
    else:
        gpu_pools = az.gpu_pools()

        if az.node_auto_provisioning:
            out.ev("Azure: nodeProvisioningProfile.mode = Auto (node auto-provisioning provisions GPU nodes on demand)")
            azure_ok = True
        if not gpu_pools and not az.node_auto_provisioning:
            out.problem("Azure: no GPU node pool (N-series) and node auto-provisioning off", ctx.fix.gpu_pool())
        not_scaling = []
        for p in gpu_pools:
            if p.managed_gpu and p.autoscaling:
                out.problem(f"Azure: pool {p.name} uses managed GPU with the cluster autoscaler: not supported while "
                            "managed GPU is in preview", ctx.fix.managed_gpu_conflict(p.name))
            elif not p.autoscaling:
                not_scaling.append(p)
                out.note(f"Azure: GPU pool {p.name} ({p.vm_size}) has a fixed count ({p.count}), no autoscaler")
            elif p.min_count is None or p.max_count is None or p.min_count >= p.max_count:
                not_scaling.append(p)
                out.note(f"Azure: GPU pool {p.name} autoscaler bounds min {p.min_count} / max {p.max_count} cannot "
                         "scale (min must be < max)")
            else:
                out.ev(f"Azure: GPU pool {p.name} ({p.vm_size}) enableAutoScaling=true, min {p.min_count} < max "
                       f"{p.max_count}")
                azure_ok = True
        if gpu_pools and not azure_ok and not out.problems:
            p = not_scaling[0]
            if p.autoscaling:
                out.problem(f"Azure: GPU pool {p.name} autoscaler bounds min {p.min_count} / max {p.max_count} "
                            "cannot scale (min must be < max)", ctx.fix.autoscaler_bounds(p.name))
            elif p.managed_gpu:
                out.problem(f"Azure: no GPU pool can autoscale: {p.name} is a managed GPU pool with a fixed count "
                            "(the autoscaler is not supported on managed GPU pools in preview)",
                            ctx.fix.managed_gpu_conflict(p.name))
            else:
                out.problem(f"Azure: GPU pool {p.name} ({p.vm_size}) has the cluster autoscaler disabled "
                            f"(fixed count {p.count})", ctx.fix.autoscaler(p.name))
    kube_ok = False
    if ctx.kube is not None or ctx.kube_error is not None:
        try:
            cm = ctx.configmap(KS, "cluster-autoscaler-status")
            groups = _ca_status_groups(cm)
            gpu_nodes = ctx.gpu_vm_nodes()
            gpu_node_pools = sorted({(n["metadata"].get("labels") or {}).get("kubernetes.azure.com/agentpool", "")
                                     for n in gpu_nodes} - {""})
            if gpu_nodes:
                out.ev(f"GPU nodes: {len(gpu_nodes)} in pool(s) {', '.join(gpu_node_pools) or '?'}")
            names = [p.name for p in az.gpu_pools() if p.autoscaling] if az else gpu_node_pools
            if cm is None:
                msg = "ConfigMap kube-system/cluster-autoscaler-status not found (cluster autoscaler not running)"
                if az is None:
                    out.problem(msg, ctx.fix.autoscaler())
                elif azure_ok:
                    out.note(msg)
            else:
                matched = {g: v for g, v in groups.items() if any(f"-{n}-" in f"-{g}-" or g.startswith(f"aks-{n}-")
                                                                   for n in names)}
                if matched:
                    for gname, v in matched.items():
                        out.ev(f"cluster-autoscaler-status: node group {gname} health {v.get('health')}, "
                               f"minSize {v.get('minSize')}, maxSize {v.get('maxSize')}")
                        if str(v.get("health")) == "Healthy":
                            kube_ok = True
                        else:
                            out.problem(f"cluster autoscaler reports node group {gname} {v.get('health')}")
                elif names:
                    msg = (f"cluster-autoscaler-status lists no node group of the GPU pool(s) {', '.join(names)} "
                           f"(groups: {', '.join(groups) or 'none'})")
                    if az is None:
                        out.problem(msg, ctx.fix.autoscaler())
                    else:
                        out.note(msg)
                else:
                    out.ev(f"cluster-autoscaler-status present (groups: {', '.join(groups) or 'none'})")
                    if az is None:
                        out.problem("no GPU nodes found to tie an autoscaled node group to", ctx.fix.gpu_pool())
        except KubeFailure as exc:
            if az is None:
                out.problem(f"not verified: {exc.describe()}", exc.fix() or None)
            else:
                out.note(f"Kubernetes view not read: {exc.describe()}")
    if out.problems:
        return Outcome("fail", _summary(out, ""), out, "azure" if az else "read-only")
    if az is not None and azure_ok and (kube_ok or az.node_auto_provisioning):
        out.note("scale-up/down not exercised (it costs a GPU VM and 10-30 minutes); AKS's autoscaler configuration "
                 "and its status for the GPU node group were read")
        return Outcome("pass", "cluster autoscaler enabled on the GPU pool (min < max) and reporting it healthy",
                       out, "azure")
    if az is not None and azure_ok:
        return Outcome("partial", "autoscaler configured in Azure; its status for the GPU node group was not seen",
                       out, "azure")
    out.fixes.append("verify with -g <resource-group> -n <cluster> so that the autoscaler settings of the GPU pools "
                     "are read from Azure")
    return Outcome("partial", "autoscaler status shows a GPU node group; Azure view N/A", out, "read-only")


# ===================================================================================== pod_autoscaling
def pod_autoscaling(ctx: Ctx) -> Outcome:
    out = Out()
    az = ctx.az
    if az is not None:
        (out.ev if az.keda else out.note)(f"Azure: workloadAutoScalerProfile.keda.enabled = {str(az.keda).lower()}")
    ok, line = ctx.apiservice_ok("v1beta1.metrics.k8s.io")
    (out.ev if ok else out.note)(line)
    ext_ok, ext_line = ctx.apiservice_ok("v1beta1.external.metrics.k8s.io")
    cus_ok, cus_line = ctx.apiservice_ok("v1beta1.custom.metrics.k8s.io")
    keda_present = "scaledobjects.keda.sh" in ctx.crds()
    if not ext_ok and not cus_ok:
        out.problem(f"no custom or external metrics API: {ext_line}; {cus_line}", ctx.fix.keda())
    else:
        out.ev(ext_line if ext_ok else cus_line)
        if cus_ok and ext_ok:
            out.ev(cus_line)
    if keda_present or ext_ok:
        for name in ("keda-operator", "keda-operator-metrics-apiserver"):
            dep = ctx.find_deployment((name,))
            if dep is None:
                if ext_ok and not cus_ok:
                    out.note(f"Deployment {name} not found (external metrics served by another adapter)")
                continue
            ok, line = ctx.deployment_ok(dep)
            (out.ev if ok else lambda s: out.problem(s, ctx.fix.keda()))(line)
        if keda_present:
            ok, line = ctx.crd_ok("scaledobjects.keda.sh")
            (out.ev if ok else lambda s: out.problem(s, ctx.fix.keda()))(line)
    gpu = ctx.gpu_nodes()
    if gpu:
        out.ev(f"{len(gpu)} node(s) advertise {GPU} for accelerator pods to scale")
    else:
        out.note(f"no node advertises {GPU}: the autoscaling pipeline is there, accelerator pods cannot run yet")
    proven = None
    if not out.problems:
        proven = _probe(ctx, "pod_autoscaling", out)
    return _probed(out, proven, "an HPA on an external metric raised the desired replicas of a GPU Deployment",
                   "external/custom metrics API Available and KEDA running (scaling not exercised)")


# ===================================================================================== accelerator_metrics
DCGM_LABELS = (("app", "nvidia-dcgm-exporter"), ("app.kubernetes.io/name", "dcgm-exporter"),
               ("app", "dcgm-exporter"), ("app.kubernetes.io/name", "nvidia-dcgm-exporter"))
DEVICE_LABELS = ("UUID", "gpu", "pci_bus_id", "device")
UTIL = ("DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_PROF_GR_ENGINE_ACTIVE")
MEMORY = ("DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_FB_FREE", "DCGM_FI_DEV_MEM_COPY_UTIL")
EXTRA = {"temperature": ("DCGM_FI_DEV_GPU_TEMP",), "power": ("DCGM_FI_DEV_POWER_USAGE",),
         "interconnect": ("DCGM_FI_PROF_NVLINK_TX_BYTES", "DCGM_FI_PROF_NVLINK_RX_BYTES", "DCGM_FI_PROF_PCIE_TX_BYTES",
                          "DCGM_FI_PROF_PCIE_RX_BYTES", "DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL")}


def _dcgm_targets(ctx: Ctx) -> list[tuple[str, str]]:
    """(description, proxy path) candidates: exporter Services first, then managed-GPU node proxies."""
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
                                f"/api/v1/namespaces/{ns}/services/{name}:{port.get('port')}/proxy/metrics"))
    for n in ctx.nodes():
        if (n["metadata"].get("labels") or {}).get("kubernetes.azure.com/dcgm-exporter") == "enabled":
            name = n["metadata"]["name"]
            targets.append((f"node {name}:19400", f"/api/v1/nodes/{name}:19400/proxy/metrics"))
            break
    return targets


def parse_dcgm(text: str) -> dict:
    """Families and per-device samples of a Prometheus text exposition (prometheus_client's parser)."""
    from prometheus_client.parser import text_string_to_metric_families

    fams: dict[str, list] = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            fams.setdefault(s.name, []).append(s)
    return fams


def accelerator_metrics(ctx: Ctx) -> Outcome:
    out = Out()
    az = ctx.az
    if az is not None:
        for p in az.gpu_pools():
            out.ev(f"Azure: GPU pool {p.name} gpuProfile.nvidia.managementMode = "
                   f"{'Managed' if p.managed_gpu else 'Unmanaged'}, driver {p.driver}")
    gpu_nodes = ctx.gpu_nodes()
    targets = _dcgm_targets(ctx)
    if not targets:
        if not ctx.gpu_vm_nodes():
            out.problem("no GPU nodes and no DCGM exporter", ctx.fix.gpu_pool())
        else:
            out.problem("no DCGM exporter found (no exporter Service, no managed-GPU node exporter)",
                        ctx.fix.dcgm_exporter())
        return Outcome("fail", out.problems[0], out, "read-only")
    text, source, errors = None, None, []
    for desc, path in targets:
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

    def per_device(names: tuple[str, ...]) -> tuple[str | None, set]:
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
    return Outcome(status, _summary(out, f"per-GPU utilisation and memory exposed ({source})"), out, "read-only")


# ===================================================================================== ai_service_metrics
AMA_CRDS = ("podmonitors.azmonitoring.coreos.com", "servicemonitors.azmonitoring.coreos.com")


def ai_service_metrics(ctx: Ctx) -> Outcome:
    out = Out()
    az = ctx.az
    if az is not None:
        (out.ev if az.managed_prometheus else out.note)(
            f"Azure: azureMonitorProfile.metrics.enabled = {str(az.managed_prometheus).lower()}")
    ama = ctx.find_deployment(("ama-metrics",), (KS,))
    if ama is not None:
        for name in ("ama-metrics", "ama-metrics-ksm", "ama-metrics-operator-targets"):
            dep = ctx.find_deployment((name,), (KS,))
            if dep is None:
                out.problem(f"Deployment kube-system/{name} not found", ctx.fix.managed_prometheus())
                continue
            ok, line = ctx.deployment_ok(dep)
            (out.ev if ok else lambda s: out.problem(s, ctx.fix.managed_prometheus()))(line)
        ds = ctx.daemonsets().get((KS, "ama-metrics-node"))
        if ds is None:
            out.problem("DaemonSet kube-system/ama-metrics-node not found", ctx.fix.managed_prometheus())
        else:
            ok, line = ctx.daemonset_ok(ds)
            (out.ev if ok else lambda s: out.problem(s, ctx.fix.managed_prometheus()))(line)
        for name in AMA_CRDS:
            ok, line = ctx.crd_ok(name)
            (out.ev if ok else lambda s: out.problem(s, ctx.fix.managed_prometheus()))(line)
        try:
            cm = ctx.configmap(KS, gpu_metrics.NAME)
            said = gpu_metrics.setting(cm)
            where = "not created" if cm is None else "present"
            if said is False:
                out.note(f"{gpu_metrics.NAME} present with dcgmexporter = false: the DCGM exporter of managed GPU "
                         "nodes is not scraped; set it to true (the wizard's managed Prometheus step does)")
            else:
                out.ev(f"{gpu_metrics.NAME} {where}: DCGM exporter scrape on "
                       f"({'dcgmexporter = true' if said else 'the collector default'})")
        except KubeFailure as exc:
            out.note(f"ama-metrics-settings-configmap not read: {exc.describe()}")
        out.note("collector running on every node with PodMonitor/ServiceMonitor discovery; ingestion into the Azure "
                 "Monitor workspace was not queried (needs the workspace's query endpoint)")
        return Outcome(_status_from(out, True),
                       _summary(out, "Azure Managed Prometheus collector running with PodMonitor/ServiceMonitor "
                                     "discovery"), out, "read-only")
    # OSS Prometheus Operator
    if "prometheuses.monitoring.coreos.com" in ctx.crds():
        ok, line = ctx.crd_ok("podmonitors.monitoring.coreos.com")
        (out.ev if ok else out.problem)(line)
        proms = ctx.k().items("/apis/monitoring.coreos.com/v1/prometheuses")
        ready = [p for p in proms if cond_true(p, "Available")]
        if ready:
            out.ev(f"Prometheus {', '.join(p['metadata']['namespace'] + '/' + p['metadata']['name'] for p in ready)} "
                   "Available")
            return Outcome(_status_from(out, True), _summary(out, "Prometheus Operator running"), out, "read-only")
        out.problem("Prometheus Operator CRDs present but no Prometheus is Available", ctx.fix.managed_prometheus())
        return Outcome("fail", out.problems[0], out, "read-only")
    out.problem("no monitoring system found (no Azure Managed Prometheus ama-metrics, no Prometheus Operator)",
                ctx.fix.managed_prometheus())
    return Outcome("fail", out.problems[0], out, "read-only")


# ===================================================================================== secure_accelerator_access
def _is_device_plugin(ds: dict) -> bool:
    name = ds["metadata"]["name"]
    labels = ((ds.get("spec") or {}).get("template") or {}).get("metadata", {}).get("labels") or {}
    return "nvidia-device-plugin" in name or labels.get("name") == "nvidia-device-plugin-ds" or \
        labels.get("app.kubernetes.io/name") == "nvidia-device-plugin"


def secure_accelerator_access(ctx: Ctx) -> Outcome:
    out = Out()
    gpu = ctx.gpu_nodes()
    plugins = ctx.find_daemonset(_is_device_plugin)
    if plugins:
        for ds in plugins:
            ok, line = ctx.daemonset_ok(ds)
            (out.ev if ok else lambda s: out.problem(s, ctx.fix.device_plugin()))(line)
    if not gpu:
        if ctx.gpu_vm_nodes():
            out.problem(f"GPU nodes advertise no allocatable {GPU} (no device plugin or DRA driver)",
                        ctx.fix.device_plugin())
        else:
            out.problem("no GPU nodes", ctx.fix.gpu_pool())
        return Outcome("fail", out.problems[0], out, "read-only")
    for n in gpu:
        out.ev(f"node {n['metadata']['name']}: allocatable {GPU} = {n['status']['allocatable'][GPU]}")
    if not plugins:
        out.note("no NVIDIA device plugin DaemonSet recognised; devices advertised by another plugin")
    # audit: privileged or /dev/nvidia hostPath pods on GPU nodes outside the GPU system components
    try:
        names = {n["metadata"]["name"] for n in gpu}
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
        proven = _probe(ctx, "secure_accelerator_access", out)
    return _probed(out, proven, "GPU visible only to the container that requested it (also against "
                                "NVIDIA_VISIBLE_DEVICES=all and in a second container)",
                   f"{GPU} mediated by the device plugin (isolation not exercised)")


# ===================================================================================== robust_controller
OPERATORS = (
    # (name, CRDs, deployment names, validating webhook configs, fix attr)
    ("KAITO", ("workspaces.kaito.sh",), ("kaito-workspace",), ("validation.workspace.kaito.sh",), "kaito"),
    ("KubeRay", ("rayclusters.ray.io", "rayjobs.ray.io"), ("kuberay-operator",), (), None),
    ("Kubeflow Trainer", ("trainjobs.trainer.kubeflow.org",), ("kubeflow-trainer-controller-manager",),
     ("validator.trainer.kubeflow.org",), None),
)


def robust_controller(ctx: Ctx) -> Outcome:
    out = Out()
    az = ctx.az
    if az is not None:
        (out.ev if az.kaito else out.note)(f"Azure: aiToolchainOperatorProfile.enabled = {str(az.kaito).lower()}")
    crds = ctx.crds()
    found = [op for op in OPERATORS if any(c in crds for c in op[1])]
    if not found:
        out.problem("no AI operator with CRDs installed (KAITO, KubeRay, Kubeflow Trainer)", ctx.fix.kaito())
        return Outcome("fail", out.problems[0], out, "read-only")
    name, op_crds, deps, hooks, _ = found[0]
    fix = ctx.fix.kaito() if name == "KAITO" else None
    for c in op_crds:
        if c in crds:
            ok, line = ctx.crd_ok(c)
            (out.ev if ok else lambda s: out.problem(s, fix))(line)
    dep = ctx.find_deployment(deps)
    if dep is None:
        out.problem(f"{name} controller Deployment ({', '.join(deps)}) not found", fix)
    else:
        ok, line = ctx.deployment_ok(dep)
        (out.ev if ok else lambda s: out.problem(s, fix))(line)
    for hook in hooks:
        ok, line = ctx.webhook_ok(hook)
        if not ok:
            out.problem(line, fix)
            continue
        out.ev(line)
        cfg = ctx.webhook_configs()[hook]
        svc = ((cfg["webhooks"][0].get("clientConfig") or {}).get("service") or {})
        if svc:
            try:
                n = ctx.endpoints_ready(svc.get("namespace", KS), svc.get("name", ""))
                if n:
                    out.ev(f"webhook Service {svc.get('namespace')}/{svc.get('name')}: {n} ready endpoint(s)")
                else:
                    out.problem(f"webhook Service {svc.get('namespace')}/{svc.get('name')} has no ready endpoints", fix)
            except KubeFailure as exc:
                out.note(f"webhook endpoints not read: {exc.describe()}")
    proven = None
    if not out.problems:
        if name == "KAITO":
            proven = _probe(ctx, "robust_controller", out)
        else:
            out.note(f"probes exercise KAITO's webhook only; {name} presence verified")
    return _probed(out, proven, f"{name}: controller Available and its webhook denied an invalid custom resource "
                                "(server-side dry run)",
                   f"{name}: CRDs Established, controller Available, webhook configured (not exercised)")


# ===================================================================================== SHOULD items (1.35, 1.36)
def driver_runtime_management(ctx: Ctx) -> Outcome:
    out = Out()
    az = ctx.az
    managed = False
    if az is not None:
        for p in az.gpu_pools():
            managed = managed or p.managed_gpu
            out.ev(f"Azure: GPU pool {p.name} driver {p.driver}, management "
                   f"{'Managed' if p.managed_gpu else 'Unmanaged'}")
    nodes = ctx.gpu_vm_nodes()
    if not nodes:
        out.problem("no GPU nodes", ctx.fix.gpu_pool())
        return Outcome("fail", out.problems[0], out, "read-only")
    healthy = 0
    for n in nodes:
        conds = {c.get("type"): c.get("status") for c in (n.get("status") or {}).get("conditions") or []}
        if conds.get("UnhealthyNvidiaDevicePlugin") == "False" and conds.get("UnhealthyNvidiaDCGMServices") == "False":
            healthy += 1
    if healthy:
        out.ev(f"{healthy}/{len(nodes)} GPU node(s) report UnhealthyNvidiaDevicePlugin=False and "
               "UnhealthyNvidiaDCGMServices=False (node problem detector)")
    if managed and healthy == len(nodes):
        return Outcome("pass", "AKS manages the GPU driver and runtime and reports their health per node", out,
                       "read-only")
    if not ctx.gpu_nodes():
        out.problem(f"GPU nodes advertise no {GPU}", ctx.fix.device_plugin())
        return Outcome("fail", out.problems[0], out, "read-only")
    out.note("driver installed by AKS (gpuProfile.driver Install) but not managed/health-reported: partial")
    return Outcome("partial", "GPU driver present and devices advertised; no managed driver lifecycle", out,
                   "read-only")


def gpu_sharing(ctx: Ctx) -> Outcome:
    out = Out()
    shared = []
    for n in ctx.nodes():
        alloc = (n.get("status") or {}).get("allocatable") or {}
        keys = [k for k in alloc if k.startswith("nvidia.com/mig-") or k.endswith(".shared")]
        labels = n["metadata"].get("labels") or {}
        if keys or labels.get("nvidia.com/gpu.replicas") not in (None, "1"):
            shared.append(f"{n['metadata']['name']}: {', '.join(keys) or 'time-slicing replicas ' + labels.get('nvidia.com/gpu.replicas', '')}")
    if shared:
        for s in shared:
            out.ev(s)
        return Outcome("pass", "GPU sharing resources exposed", out, "read-only")
    out.problem("no MIG or time-sliced GPU resources exposed",
                "az aks nodepool add ... --gpu-instance-profile MIG1g (MIG-capable sizes), or the NVIDIA device "
                "plugin's time-slicing config")
    return Outcome("fail", out.problems[0], out, "read-only")


def _vm_sizes(nodes: list[dict]) -> list[str]:
    return sorted({(n["metadata"].get("labels") or {}).get("node.kubernetes.io/instance-type", "") for n in nodes})


def virtualized_accelerator(ctx: Ctx) -> Outcome:
    out = Out()
    sizes = _vm_sizes(ctx.gpu_vm_nodes())
    v = [s for s in sizes if "a10" in s.lower() and s.lower().startswith("standard_nv")]
    if v:
        out.ev(f"vGPU sizes in use: {', '.join(v)}")
        return Outcome("partial", "virtualized (fractional) GPUs present; management not exercised", out, "read-only")
    out.note(f"no virtualized GPU sizes in the cluster (GPU sizes: {', '.join(sizes) or 'none'}); "
             "vGPU sizes are NVadsA10 v5")
    return Outcome("skipped", "no virtualized accelerators in this cluster", out, "read-only")


def advanced_inference_ingress(ctx: Ctx) -> Outcome:
    out = Out()
    crds = ctx.crds()
    names = [n for n in ("inferencepools.inference.networking.k8s.io", "inferencepools.inference.networking.x-k8s.io",
                         "inferenceobjectives.inference.networking.x-k8s.io") if n in crds]
    if names:
        for n in names:
            ok, line = ctx.crd_ok(n)
            (out.ev if ok else out.problem)(line)
        return Outcome(_status_from(out, False), _summary(out, "", "Gateway API Inference Extension CRDs present",
                                                         False), out, "read-only")
    out.problem("Gateway API Inference Extension (InferencePool) not installed",
                "kubectl apply -f https://github.com/kubernetes-sigs/gateway-api-inference-extension/releases/latest/"
                "download/manifests.yaml (and an inference gateway implementation)")
    return Outcome("fail", out.problems[0], out, "read-only")


def high_performance_networking(ctx: Ctx) -> Outcome:
    out = Out()
    sizes = _vm_sizes(ctx.nodes())
    rdma = [s for s in sizes if s.lower().startswith("standard_nd") or "r_" in s.lower()]
    crds = ctx.crds()
    multus = "network-attachment-definitions.k8s.cni.cncf.io" in crds
    if multus:
        out.ev("CRD network-attachment-definitions.k8s.cni.cncf.io present (multiple interfaces)")
    if not rdma:
        out.note(f"no RDMA/InfiniBand-capable sizes in the cluster ({', '.join(s for s in sizes if s) or 'none'}); "
                 "high performance pod-to-pod networking is not needed here")
        return Outcome("skipped", "no high performance networking hardware in this cluster", out, "read-only")
    out.ev(f"RDMA-capable sizes: {', '.join(rdma)}")
    return Outcome("partial" if multus else "fail", "RDMA sizes present" + ("" if multus else
                   "; no multi-interface (Multus/DRANET) mechanism installed"), out, "read-only")


def disaggregated_inference(ctx: Ctx) -> Outcome:
    out = Out()
    crds = ctx.crds()
    known = [n for n in ("dynamographdeployments.nvidia.com", "leaderworkersets.leaderworkerset.x-k8s.io",
                         "llminferenceservices.serving.kserve.io") if n in crds]
    if known:
        for n in known:
            out.ev(f"CRD {n} present")
        return Outcome("partial", "a disaggregated inference framework is installed (not exercised)", out, "read-only")
    out.problem("no disaggregated inference framework installed (Dynamo, llm-d, LeaderWorkerSet)",
                "helm install NVIDIA Dynamo (see https://blog.aks.azure.com/2025/10/24/dynamo-on-aks)")
    return Outcome("fail", out.problems[0], out, "read-only")


CHECKS: dict[str, Callable[[Ctx], Outcome]] = {
    "dra_support": dra_support, "ai_inference": ai_inference, "gang_scheduling": gang_scheduling,
    "cluster_autoscaling": cluster_autoscaling, "pod_autoscaling": pod_autoscaling,
    "accelerator_metrics": accelerator_metrics, "ai_service_metrics": ai_service_metrics,
    "secure_accelerator_access": secure_accelerator_access, "robust_controller": robust_controller,
    "driver_runtime_management": driver_runtime_management, "gpu_sharing": gpu_sharing,
    "virtualized_accelerator": virtualized_accelerator, "advanced_inference_ingress": advanced_inference_ingress,
    "high_performance_networking": high_performance_networking, "disaggregated_inference": disaggregated_inference,
}
