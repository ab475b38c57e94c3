"""Defaulting, validation, and admission webhooks (simulated handlers for the webhooks AKS add-ons install)."""

from __future__ import annotations

import copy
import re

from . import errors as E
from . import names as N
from .controllers.common import pod_ready
from .controllers.workloads import pod_defaults
from .patch import selector_matches
from .store import Cluster

SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and "
                 "must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
                 "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and "
             "end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
             "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
LABEL_NAMED = {"Namespace", "Service"}


def cause(field: str, message: str, reason: str = "FieldValueInvalid") -> dict:
    return {"reason": reason, "message": message, "field": field}


# ------------------------------------------------------------------------------------------------------
# defaulting (what the API server's defaulters and strategies do)

def runtime_class(c: Cluster, pod: dict) -> None:
    """The RuntimeClass admission plugin: an unknown runtimeClassName is refused; the class's scheduling
    nodeSelector and tolerations are merged into the pod (a conflicting nodeSelector is refused)."""
    name = (pod.get("spec") or {}).get("runtimeClassName")
    if not name:
        return
    rc = c.get("node.k8s.io", "runtimeclasses", "", name)
    if rc is None:
        raise E.KubeError(403, "Forbidden", f'pod rejected: RuntimeClass "{name}" not found')
    sched = rc.get("scheduling") or {}
    sel = pod["spec"].setdefault("nodeSelector", {})
    for k, v in (sched.get("nodeSelector") or {}).items():
        if k in sel and sel[k] != v:
            raise E.KubeError(403, "Forbidden", f"pod rejected: conflict: nodeSelector {k}={sel[k]} of the pod and "
                                                f"{k}={v} of RuntimeClass {name}")
        sel[k] = v
    pod["spec"].setdefault("tolerations", []).extend(sched.get("tolerations") or [])


def apply_defaults(obj: dict) -> None:
    kind = obj.get("kind")
    spec = obj.get("spec")
    if kind == "Namespace":
        obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
    elif kind == "Pod":
        pod_defaults(obj)
    elif kind in ("Deployment", "DaemonSet", "StatefulSet", "ReplicaSet", "Job") and isinstance(spec, dict):
        tmpl = spec.setdefault("template", {})
        tmpl.setdefault("metadata", {})
        fake = {"metadata": {}, "spec": tmpl.setdefault("spec", {})}
        pod_defaults(fake)
        fake["spec"]["tolerations"] = [t for t in fake["spec"]["tolerations"]
                                       if t.get("key") not in ("node.kubernetes.io/not-ready",
                                                               "node.kubernetes.io/unreachable")] or None
        if fake["spec"]["tolerations"] is None:
            del fake["spec"]["tolerations"]
        if kind == "Deployment":
            spec.setdefault("replicas", 1)
            spec.setdefault("revisionHistoryLimit", 10)
            spec.setdefault("progressDeadlineSeconds", 600)
            spec.setdefault("strategy", {"type": "RollingUpdate",
                                         "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}})
        elif kind == "DaemonSet":
            spec.setdefault("revisionHistoryLimit", 10)
            spec.setdefault("updateStrategy", {"type": "RollingUpdate",
                                               "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}})
        elif kind == "StatefulSet":
            spec.setdefault("replicas", 1)
            spec.setdefault("podManagementPolicy", "OrderedReady")
            spec.setdefault("revisionHistoryLimit", 10)
            spec.setdefault("updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
        elif kind == "ReplicaSet":
            spec.setdefault("replicas", 1)
        elif kind == "Job":
            spec.setdefault("parallelism", 1)
            spec.setdefault("completions", 1) if "completions" not in spec else None
            spec.setdefault("backoffLimit", 6)
            spec.setdefault("completionMode", "NonIndexed")
            spec.setdefault("suspend", False)
            spec.setdefault("manualSelector", False)
            spec.setdefault("podReplacementPolicy", "TerminatingOrFailed")
            if not spec.get("selector"):
                uid_hint = obj["metadata"].get("uid", "")
                spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid_hint}}
            tmpl["spec"].setdefault("restartPolicy", "Never")
    elif kind == "Service" and isinstance(spec, dict):
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        spec.setdefault("internalTrafficPolicy", "Cluster")
        if spec["type"] in ("LoadBalancer", "NodePort"):
            spec.setdefault("externalTrafficPolicy", "Cluster")
        for i, port in enumerate(spec.get("ports", []) or []):
            port.setdefault("protocol", "TCP")
            port.setdefault("targetPort", port.get("port"))
            if spec["type"] in ("LoadBalancer", "NodePort"):
                port.setdefault("nodePort", 30000 + (sum(map(ord, obj["metadata"]["name"])) * 7 + i) % 2700)
    elif kind == "CustomResourceDefinition" and isinstance(spec, dict):
        names = spec.setdefault("names", {})
        names.setdefault("singular", (names.get("kind") or "").lower())
        names.setdefault("listKind", (names.get("kind") or "") + "List")
        spec.setdefault("conversion", {"strategy": "None"})
    elif kind == "APIService" and isinstance(spec, dict):
        if spec.get("service"):
            spec["service"].setdefault("port", 443)


def fix_job_selector(obj: dict) -> None:
    """Jobs: the generated selector uses the object's uid (known only at creation)."""
    if obj.get("kind") != "Job":
        return
    spec = obj.get("spec") or {}
    uid = obj["metadata"]["uid"]
    if not spec.get("manualSelector"):
        spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
        labels = spec.setdefault("template", {}).setdefault("metadata", {}).setdefault("labels", {})
        labels.update({"batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name":
                       obj["metadata"]["name"], "controller-uid": uid, "job-name": obj["metadata"]["name"]})


# ------------------------------------------------------------------------------------------------------
# validation

def validate(c: Cluster, res, obj: dict, old: dict | None) -> None:
    meta = obj.get("metadata") or {}
    name = meta.get("name", "")
    causes = _name_causes(res, obj, name)
    kind = obj.get("kind")
    raw_spec = obj.get("spec")
    spec: dict = raw_spec if isinstance(raw_spec, dict) else {}
    check = _KIND_CHECKS.get(str(kind))
    if check is not None:
        causes += check(name, spec, old)
    if causes:
        raise E.invalid(res, name, causes)


def _name_causes(res, obj: dict, name: str) -> list[dict]:
    if not name:
        return [cause("metadata.name", "Required value: name or generateName is required", "FieldValueRequired")]
    if obj.get("kind") in LABEL_NAMED:
        if len(name) > 63 or not LABEL.match(name):
            return [cause("metadata.name", f'Invalid value: "{name}": {LABEL_MSG}')]
        return []
    if len(name) > 253 or not SUBDOMAIN.match(name):
        if not (res.crd is False and obj.get("kind") in ("Node",) and SUBDOMAIN.match(name.lower())):
            return [cause("metadata.name", f'Invalid value: "{name}": {SUBDOMAIN_MSG}')]
    return []


def _workload_causes(name: str, spec: dict, old: dict | None) -> list[dict]:
    causes = []
    sel = spec.get("selector")
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    if not sel:
        causes.append(cause("spec.selector", "Required value", "FieldValueRequired"))
    elif not selector_matches(sel, labels):
        causes.append(cause("spec.template.metadata.labels",
                            f"Invalid value: {_gomap(labels)}: `selector` does not match template `labels`"))
    causes += _containers(((spec.get("template") or {}).get("spec") or {}), "spec.template.spec")
    if old is not None and old.get("spec", {}).get("selector") != sel:
        causes.append(cause("spec.selector", f"Invalid value: {sel!r}: field is immutable"))
    return causes


def _pod_causes(name: str, spec: dict, old: dict | None) -> list[dict]:
    causes = _containers(spec, "spec")
    if old is None:
        return causes
    o, n = copy.deepcopy(old.get("spec", {})), copy.deepcopy(spec)
    for s in (o, n):
        for ctr in s.get("containers", []) or []:
            ctr.pop("image", None)
        for k in ("activeDeadlineSeconds", "tolerations", "terminationGracePeriodSeconds",
                  "schedulingGates"):
            s.pop(k, None)
        if not old.get("spec", {}).get("nodeName"):
            s.pop("nodeName", None)
    if o != n:
        causes.append(cause("spec", "Forbidden: pod updates may not change fields other than "
                                    "`spec.containers[*].image`,`spec.initContainers[*].image`,"
                                    "`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to "
                                    "existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to "
                                    "be set to 1 if it was previously negative)", "FieldValueForbidden"))
    return causes


def _job_causes(name: str, spec: dict, old: dict | None) -> list[dict]:
    causes = _containers(((spec.get("template") or {}).get("spec") or {}), "spec.template.spec")
    rp = ((spec.get("template") or {}).get("spec") or {}).get("restartPolicy")
    if rp == "Always":
        causes.append(cause("spec.template.spec.restartPolicy", 'Unsupported value: "Always": supported values: '
                            '"OnFailure", "Never"', "FieldValueNotSupported"))
    if old is not None:
        ot = copy.deepcopy(old.get("spec", {}).get("template"))
        nt = copy.deepcopy(spec.get("template"))
        if ot != nt and not old.get("spec", {}).get("suspend"):
            causes.append(cause("spec.template", "Invalid value: field is immutable"))
    return causes


def _service_causes(name: str, spec: dict, old: dict | None) -> list[dict]:
    if spec.get("type") != "ExternalName" and spec.get("clusterIP") != "None" and not spec.get("ports"):
        return [cause("spec.ports", "Required value", "FieldValueRequired")]
    return []


def _crd_causes(name: str, spec: dict, old: dict | None) -> list[dict]:
    causes = []
    names = spec.get("names") or {}
    want = f"{names.get('plural')}.{spec.get('group')}"
    if name != want:
        causes.append(cause("metadata.name", f'Invalid value: "{name}": must be spec.names.plural+"."+spec.group'))
    versions = spec.get("versions") or []
    if not versions:
        causes.append(cause("spec.versions", "Invalid value: must have exactly one version marked as storage "
                                             "version", "FieldValueInvalid"))
    elif len([v for v in versions if v.get("storage")]) != 1:
        causes.append(cause("spec.versions", "Invalid value: must have exactly one version marked as storage "
                                             "version"))
    if spec.get("scope") not in ("Namespaced", "Cluster"):
        causes.append(cause("spec.scope", f'Unsupported value: "{spec.get("scope")}": supported values: '
                                          f'"Cluster", "Namespaced"', "FieldValueNotSupported"))
    if not names.get("kind"):
        causes.append(cause("spec.names.kind", "Required value", "FieldValueRequired"))
    for v in versions:
        if not (v.get("schema") or {}).get("openAPIV3Schema"):
            causes.append(cause(f"spec.versions[{versions.index(v)}].schema.openAPIV3Schema",
                                "Required value: schemas are required", "FieldValueRequired"))
    return causes


def _apiservice_causes(name: str, spec: dict, old: dict | None) -> list[dict]:
    if name != f"{spec.get('version')}.{spec.get('group', '')}" and name != "v1.":
        return [cause("metadata.name", f'Invalid value: "{name}": must be `spec.version+"."+spec.group`')]
    return []


# the checks of each kind's spec (the name is checked for every kind)
_KIND_CHECKS = {"Deployment": _workload_causes, "DaemonSet": _workload_causes, "StatefulSet": _workload_causes,
                "ReplicaSet": _workload_causes, "Pod": _pod_causes, "Job": _job_causes, "Service": _service_causes,
                "CustomResourceDefinition": _crd_causes, "APIService": _apiservice_causes}


def _containers(pod_spec: dict, prefix: str) -> list[dict]:
    out = []
    containers = pod_spec.get("containers") or []
    if not containers:
        out.append(cause(f"{prefix}.containers", "Required value", "FieldValueRequired"))
    for i, ctr in enumerate(containers):
        if not ctr.get("name"):
            out.append(cause(f"{prefix}.containers[{i}].name", "Required value", "FieldValueRequired"))
        if not ctr.get("image"):
            out.append(cause(f"{prefix}.containers[{i}].image", "Required value", "FieldValueRequired"))
    return out


def _gomap(d: dict) -> str:
    return "map[string]string{" + ", ".join(f'"{k}":"{v}"' for k, v in sorted(d.items())) + "}"


# ------------------------------------------------------------------------------------------------------
# admission webhooks

def _rule_matches(rule: dict, res, op: str, sub: str | None) -> bool:
    if op not in rule.get("operations", []) and "*" not in rule.get("operations", []):
        return False
    if res.group not in rule.get("apiGroups", []) and "*" not in rule.get("apiGroups", []):
        return False
    if res.version not in rule.get("apiVersions", []) and "*" not in rule.get("apiVersions", []):
        return False
    target = f"{res.plural}/{sub}" if sub else res.plural
    resources = rule.get("resources", [])
    if target in resources or "*/*" in resources:
        return True
    if not sub and "*" in resources:
        return True
    return bool(sub) and f"{res.plural}/*" in resources


def _selector_ok(c: Cluster, wh: dict, obj: dict, res) -> bool:
    ns_sel = wh.get("namespaceSelector") or {}
    if res.namespaced and ns_sel and (ns_sel.get("matchLabels") or ns_sel.get("matchExpressions")):
        ns = c.get("", "namespaces", "", obj["metadata"].get("namespace", ""))
        labels = (ns or {}).get("metadata", {}).get("labels") or {}
        if not selector_matches(ns_sel, labels):
            return False
    obj_sel = wh.get("objectSelector") or {}
    if obj_sel and (obj_sel.get("matchLabels") or obj_sel.get("matchExpressions")):
        if not selector_matches(obj_sel, obj["metadata"].get("labels") or {}):
            return False
    return True


def _call_generic(c: Cluster, wh: dict) -> None:
    """A webhook the simulator has no handler for: it 'answers' when its Service has ready endpoints."""
    svc_ref = (wh.get("clientConfig") or {}).get("service")
    if not svc_ref:
        return
    ns, name = svc_ref.get("namespace", ""), svc_ref.get("name", "")
    svc = c.get("", "services", ns, name)
    failure = wh.get("failurePolicy", "Fail")
    url = f"https://{name}.{ns}.svc:{svc_ref.get('port', 443)}{svc_ref.get('path', '')}?timeout=10s"
    if svc is None:
        err = f'service "{name}" not found'
    else:
        sel = svc.get("spec", {}).get("selector") or {}
        ready = [p for p in c.list("", "pods", ns) if pod_ready(p) and
                 all((p["metadata"].get("labels") or {}).get(k) == v for k, v in sel.items())]
        if ready:
            return
        err = f'no endpoints available for service "{name}"'
    if failure == "Fail":
        raise E.internal(f'failed calling webhook "{wh["name"]}": failed to call webhook: Post "{url}": {err}')


def run_webhooks(c: Cluster, kind: str, res, op: str, obj: dict, old: dict | None, sub: str | None,
                 dry_run: bool) -> dict:
    """Run mutating then validating webhooks; returns the (possibly mutated) object or raises KubeError."""
    for _cfg_kind, plural in (("MutatingWebhookConfiguration", "mutatingwebhookconfigurations"),
                             ("ValidatingWebhookConfiguration", "validatingwebhookconfigurations")):
        for cfg in c.list("admissionregistration.k8s.io", plural):
            for wh in cfg.get("webhooks", []) or []:
                if not any(_rule_matches(r, res, op, sub) for r in wh.get("rules", []) or []):
                    continue
                if not _selector_ok(c, wh, obj, res):
                    continue
                if dry_run and wh.get("sideEffects") not in ("None", "NoneOnDryRun"):  # the API server's own rule
                    raise E.bad_request(f'admission webhook "{wh["name"]}" does not support dry run')
                handler = HANDLERS.get(wh["name"])
                if handler is None and wh["name"].endswith("sidecar-injector.istio.io"):
                    handler = istio_inject
                if handler is None:
                    _call_generic(c, wh)
                    continue
                if not _backend_up(c, wh):
                    _call_generic(c, wh)
                    continue
                result = handler(c, wh, op, obj, old)
                if result is not None:
                    obj = result
    return obj


def _backend_up(c: Cluster, wh: dict) -> bool:
    try:
        _call_generic(c, {**wh, "failurePolicy": "Fail"})
        return True
    except E.KubeError:
        return False


def deny(webhook: str, message: str, code: int = 400) -> E.KubeError:
    reason = {400: "BadRequest", 403: "Forbidden", 422: "Invalid"}.get(code, "BadRequest")
    return E.KubeError(code, reason, f'admission webhook "{webhook}" denied the request: {message}')


KAITO_PRESETS = {"phi-4", "phi-4-mini-instruct", "phi-3-mini-4k-instruct", "phi-3-mini-128k-instruct",
                 "phi-3-medium-4k-instruct", "phi-3-medium-128k-instruct", "phi-3.5-mini-instruct",
                 "mistral-7b", "mistral-7b-instruct", "falcon-7b", "falcon-7b-instruct", "falcon-40b",
                 "falcon-40b-instruct", "llama-3.1-8b-instruct", "llama-3.3-70b-instruct", "qwen2.5-coder-7b-instruct",
                 "qwen2.5-coder-32b-instruct", "deepseek-r1-distill-llama-8b", "deepseek-r1-distill-qwen-14b",
                 "gpt-oss-20b", "gpt-oss-120b"}


def kaito_validate(c: Cluster, wh: dict, op: str, obj: dict, old: dict | None):
    """KAITO's workspace validation (knative-style messages)."""
    if obj.get("kind") != "Workspace":
        return None
    raw_spec = obj.get("spec")
    src: dict = raw_spec if isinstance(raw_spec, dict) and ("resource" in raw_spec or "inference" in raw_spec) else obj
    missing = []
    resource = src.get("resource")
    if not isinstance(resource, dict) or not (resource.get("instanceType") or resource.get("preferredNodes")):
        missing.append("resource.instanceType")
    if not src.get("inference") and not src.get("tuning"):
        missing.append("inference")
    if src.get("inference") and src.get("tuning"):
        raise deny(wh["name"], "validation failed: expected exactly one, got both: inference, tuning")
    if missing:
        raise deny(wh["name"], f"validation failed: missing field(s): {', '.join(missing)}")
    preset = ((src.get("inference") or {}).get("preset") or {}).get("name")
    if preset and preset not in KAITO_PRESETS:
        raise deny(wh["name"], f"validation failed: Unsupported inference preset name {preset}: "
                               f"inference.preset.name")
    if op == "UPDATE" and old is not None:
        old_spec = old.get("spec")
        osrc: dict = old_spec if isinstance(old_spec, dict) and "resource" in old_spec else old
        if (osrc.get("resource") or {}).get("instanceType") != (resource or {}).get("instanceType"):
            raise deny(wh["name"], "validation failed: field is immutable: resource.instanceType")
    return None


def keda_validate(c: Cluster, wh: dict, op: str, obj: dict, old: dict | None):
    if obj.get("kind") != "ScaledObject":
        return None
    spec = obj.get("spec") or {}
    target = (spec.get("scaleTargetRef") or {}).get("name")
    if not target:
        raise deny(wh["name"], "scaledobject.spec.scaleTargetRef.name is required")
    if not spec.get("triggers"):
        raise deny(wh["name"], "no triggers defined in the ScaledObject/ScaledJob")
    ns = obj["metadata"].get("namespace", "")
    for other in c.list("keda.sh", "scaledobjects", ns):
        if other["metadata"]["name"] != obj["metadata"]["name"] and \
                (other.get("spec", {}).get("scaleTargetRef") or {}).get("name") == target:
            raise deny(wh["name"], f"the workload '{target}' of type 'apps/v1.Deployment' is already managed by the "
                                   f"ScaledObject '{other['metadata']['name']}'")
    return None


def istio_inject(c: Cluster, wh: dict, op: str, obj: dict, old: dict | None):
    if obj.get("kind") != "Pod" or op != "CREATE":
        return None
    ann = obj["metadata"].get("annotations") or {}
    labels = obj["metadata"].get("labels") or {}
    if ann.get("sidecar.istio.io/inject") == "false" or labels.get("sidecar.istio.io/inject") == "false":
        return None
    if obj.get("spec", {}).get("hostNetwork"):
        return None
    if any(ctr.get("name") == "istio-proxy" for ctr in obj["spec"].get("containers", [])):
        return None
    rev = ((wh.get("clientConfig") or {}).get("service") or {}).get("name", "istiod").replace("istiod-", "")
    new = copy.deepcopy(obj)
    image = f"mcr.microsoft.com/oss/istio/proxyv2:{rev.replace('asm-', '').replace('-', '.')}.3-distroless"
    new["spec"].setdefault("initContainers", []).append(
        {"name": "istio-init", "image": image, "args": ["istio-iptables"],
         "resources": {"requests": {"cpu": "10m", "memory": "40Mi"}, "limits": {"cpu": "2", "memory": "1Gi"}}})
    new["spec"]["containers"].append(
        {"name": "istio-proxy", "image": image, "args": ["proxy", "sidecar"],
         "ports": [{"containerPort": 15090, "name": "http-envoy-prom", "protocol": "TCP"}],
         "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "2", "memory": "1Gi"}}})
    new["metadata"].setdefault("annotations", {})["sidecar.istio.io/status"] = \
        '{"initContainers":["istio-init"],"containers":["istio-proxy"],"volumes":[],"imagePullSecrets":null,' \
        f'"revision":"{rev}"}}'
    new["metadata"].setdefault("labels", {}).update({"security.istio.io/tlsMode": "istio",
                                                      "service.istio.io/canonical-name": labels.get("app", obj["metadata"].get("name", "")),
                                                      "istio.io/rev": rev})
    pod_defaults(new)
    return new


HANDLERS = {N.KAITO_WEBHOOK_NAME: kaito_validate, "vscaledobject.kb.io": keda_validate}
