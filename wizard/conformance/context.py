"""Shared state of one verification run: the Kubernetes reads every check draws on (fetched once, concurrently),
the Azure view, fix builders, options."""
from __future__ import annotations

import threading
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, cast

from .azure_view import AzureView
from .fixes import Fixes
from .kube import Kube, KubeFailure
from .model import SubCheck, VerifyOptions

if TYPE_CHECKING:
    from .probes import ProbeRunner

GPU = "nvidia.com/gpu"
KS = "kube-system"

PATHS = {
    "version": "/version",
    "crds": "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
    "apiservices": "/apis/apiregistration.k8s.io/v1/apiservices",
    "deployments": "/apis/apps/v1/deployments",
    "daemonsets": "/apis/apps/v1/daemonsets",
    "nodes": "/api/v1/nodes",
    "services": "/api/v1/services",
    "pods": "/api/v1/pods",
    "vwh": "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations",
    "mwh": "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations",
    "dra": "/apis/resource.k8s.io/v1",
    "gatewayclasses": "/apis/gateway.networking.k8s.io/v1/gatewayclasses",
}


def cond(obj: dict[str, Any] | None, ctype: str) -> dict[str, Any] | None:
    conditions: list[dict[str, Any]] = ((obj or {}).get("status") or {}).get("conditions") or []
    for c in conditions:
        if c.get("type") == ctype:
            return c
    return None


def cond_true(obj: dict[str, Any] | None, ctype: str) -> bool:
    c = cond(obj, ctype)
    return bool(c and c.get("status") == "True")


def quantity_int(v: Any) -> int:
    try:
        return int(str(v))
    except (TypeError, ValueError):
        return 0


@dataclass
class Out:
    """What a check found: evidence (facts read), problems (each with a fix), notes, what could not be decided
    (each with the command that retries it) and the sub-checks a probe ran (named as the official suite's)."""
    evidence: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    fixes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    inconclusive: list[str] = field(default_factory=list)
    subchecks: list[SubCheck] = field(default_factory=list)

    def undecided(self, line: str, retry: str | None = None) -> None:
        self.inconclusive.append(line)
        if retry and retry not in self.fixes:
            self.fixes.append(retry)

    def ev(self, line: str) -> None:
        self.evidence.append(line)

    def problem(self, line: str, fix: str | None = None) -> None:
        self.problems.append(line)
        if fix and fix not in self.fixes:
            self.fixes.append(fix)

    def note(self, line: str) -> None:
        self.notes.append(line)


@dataclass
class Outcome:
    status: str
    summary: str
    out: Out
    proof: str = ""


class Ctx:
    def __init__(self, kube: Kube | None, kube_error: KubeFailure | None, az: AzureView | None,
                 opts: VerifyOptions, probes: ProbeRunner | None = None,
                 prometheus: Callable[[str], dict[str, Any]] | None = None):
        self.kube = kube
        self.prometheus = prometheus
        self.kube_error = kube_error
        self.az = az
        self.opts = opts
        self.probes = probes
        rg = opts.resource_group or (az.resource_group if az else None)
        name = opts.cluster_name or (az.name if az else None)
        gpu_pool = next((p.name for p in az.gpu_pools()), None) if az else None
        self.fix = Fixes(rg, name, gpu_pool)
        self.cancel = threading.Event()

    # ------------------------------------------------------------ reads
    def k(self) -> Kube:
        if self.kube is None:
            raise self.kube_error or KubeFailure("error", "no kubeconfig")
        return self.kube

    def prefetch(self, executor: Executor) -> None:
        if self.kube is None:
            return
        paths = [(PATHS[k], None) for k in ("version", "crds", "apiservices", "deployments", "daemonsets", "nodes",
                                             "services", "vwh", "mwh", "dra", "gatewayclasses")]
        paths.append((f"/api/v1/namespaces/{KS}/configmaps/cluster-autoscaler-status", None))
        self.kube.prefetch(executor, paths)

    def version(self) -> dict[str, Any]:
        return cast(dict[str, Any], self.k().get(PATHS["version"]))

    def crds(self) -> dict[str, dict[str, Any]]:
        return self.k().by_name(PATHS["crds"])

    def crd_ok(self, name: str) -> tuple[bool, str]:
        crd = self.crds().get(name)
        if crd is None:
            return False, f"CRD {name} not found"
        est, acc = cond_true(crd, "Established"), cond(crd, "NamesAccepted")
        served = [v["name"] for v in crd.get("spec", {}).get("versions", []) if v.get("served")]
        if est and (acc is None or acc.get("status") == "True"):
            return True, f"CRD {name} Established (serves {', '.join(served)})"
        return False, f"CRD {name} not Established"

    def apiservices(self) -> dict[str, dict[str, Any]]:
        return self.k().by_name(PATHS["apiservices"])

    def apiservice_ok(self, name: str) -> tuple[bool, str]:
        a = self.apiservices().get(name)
        if a is None:
            return False, f"APIService {name} not registered"
        c = cond(a, "Available")
        if c and c.get("status") == "True":
            svc = (a.get("spec") or {}).get("service") or {}
            where = f" -> {svc.get('namespace')}/{svc.get('name')}" if svc else ""
            return True, f"APIService {name} Available{where}"
        reason = f" ({c.get('reason')}: {c.get('message')})" if c else ""
        return False, f"APIService {name} not Available{reason}"

    def deployments(self) -> dict[tuple[str, str], dict[str, Any]]:
        return self.k().by_ns_name(PATHS["deployments"])

    def find_deployment(self, names: tuple[str, ...] | list[str], namespaces: tuple[str, ...] | None = None,
                        prefix: bool = False) -> dict[str, Any] | None:
        deps = self.deployments()
        for name in names:
            for (ns, n), d in sorted(deps.items()):
                if (n == name or (prefix and n.startswith(name))) and (namespaces is None or ns in namespaces):
                    return d
        return None

    @staticmethod
    def deployment_ok(d: dict[str, Any]) -> tuple[bool, str]:
        ns, name = d["metadata"].get("namespace"), d["metadata"]["name"]
        want = (d.get("spec") or {}).get("replicas", 1)
        have = (d.get("status") or {}).get("availableReplicas") or 0
        ok = have >= want and (want > 0) and have > 0
        return ok, f"Deployment {ns}/{name} {'Available' if ok else 'not Available'} ({have}/{want} replicas)"

    def daemonsets(self) -> dict[tuple[str, str], dict[str, Any]]:
        return self.k().by_ns_name(PATHS["daemonsets"])

    def find_daemonset(self, match: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
        return [d for _, d in sorted(self.daemonsets().items()) if match(d)]

    @staticmethod
    def daemonset_ok(d: dict[str, Any]) -> tuple[bool, str]:
        ns, name = d["metadata"].get("namespace"), d["metadata"]["name"]
        st = d.get("status") or {}
        want, ready = st.get("desiredNumberScheduled") or 0, st.get("numberReady") or 0
        ok = want > 0 and ready >= want
        return ok, f"DaemonSet {ns}/{name} {ready}/{want} ready"

    def nodes(self) -> list[dict[str, Any]]:
        return self.k().items(PATHS["nodes"])

    def gpu_nodes(self) -> list[dict[str, Any]]:
        """Nodes that advertise allocatable nvidia.com/gpu."""
        return [n for n in self.nodes() if quantity_int(((n.get("status") or {}).get("allocatable") or {}).get(GPU)) > 0]

    def gpu_vm_nodes(self) -> list[dict[str, Any]]:
        """Nodes that are GPU VMs (labels / instance type), whether or not devices are advertised."""
        from .azure_view import is_gpu_size
        out = []
        for n in self.nodes():
            lb = n["metadata"].get("labels") or {}
            if lb.get("accelerator") == "nvidia" or lb.get("kubernetes.azure.com/accelerator") or \
                    is_gpu_size(lb.get("node.kubernetes.io/instance-type")) or \
                    quantity_int(((n.get("status") or {}).get("capacity") or {}).get(GPU)) > 0:
                out.append(n)
        return out

    @staticmethod
    def vm_sizes(nodes: list[dict[str, Any]]) -> list[str]:
        return sorted({(n["metadata"].get("labels") or {}).get("node.kubernetes.io/instance-type", "") for n in nodes})

    def services(self) -> dict[tuple[str, str], dict[str, Any]]:
        return self.k().by_ns_name(PATHS["services"])

    def webhook_configs(self, kind: str = "validating") -> dict[str, dict[str, Any]]:
        return self.k().by_name(PATHS["vwh" if kind == "validating" else "mwh"])

    def webhook_ok(self, name: str, kind: str = "validating") -> tuple[bool, str]:
        cfg = self.webhook_configs(kind).get(name)
        label = f"{kind.capitalize()}WebhookConfiguration {name}"
        if cfg is None:
            return False, f"{label} not found"
        bad = []
        for wh in cfg.get("webhooks") or []:
            cc = wh.get("clientConfig") or {}
            if not cc.get("caBundle") and not (cc.get("url") or "").startswith("https://"):
                bad.append(f"{wh.get('name')}: no caBundle")
            if not wh.get("rules"):
                bad.append(f"{wh.get('name')}: no rules")
        if not cfg.get("webhooks"):
            bad.append("no webhooks")
        if bad:
            return False, f"{label}: " + "; ".join(bad)
        hooks = ", ".join(f"{w.get('name')} (failurePolicy {w.get('failurePolicy', 'Fail')}, sideEffects "
                          f"{w.get('sideEffects', '?')})" for w in cfg["webhooks"])
        return True, f"{label}: CA bundle and rules present: {hooks}"

    def configmap(self, ns: str, name: str) -> dict[str, Any] | None:
        return cast(dict[str, Any] | None,
                    self.k().get(f"/api/v1/namespaces/{ns}/configmaps/{name}", missing_ok=True))

    def endpoints_ready(self, ns: str, service: str) -> int:
        doc = self.k().get(f"/apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices",
                           {"labelSelector": f"kubernetes.io/service-name={service}"}, missing_ok=True) or {}
        n = 0
        for s in doc.get("items") or []:
            for ep in s.get("endpoints") or []:
                if (ep.get("conditions") or {}).get("ready", True):
                    n += 1
        return n

    def discovery(self, group_version: str) -> dict[str, Any] | None:
        path = "/api/v1" if group_version == "v1" else f"/apis/{group_version}"
        return cast(dict[str, Any] | None, self.k().get(path, missing_ok=True))
