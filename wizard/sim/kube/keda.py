"""KEDA's operator and the HPA controller on its external metrics, simulated (enough for a ScaledObject to scale).

While keda-operator (kube-system, the AKS add-on) has a ready pod, a ScaledObject (keda.sh/v1alpha1) whose
scaleTargetRef names an existing Deployment gets HPA `keda-hpa-<name>` (autoscaling/v2, owned by the ScaledObject,
KEDA's labels) with one External metric per trigger (`s<i>-<metric>`, selector scaledobject.keda.sh/name), and
status conditions Ready / Active / Fallback / Paused as KEDA writes them. The HPA's status follows what the
kube-controller-manager's HPA controller computes from the metric served by keda-operator-metrics-apiserver:

- `kubernetes-workload` trigger: metric = number of pods in the namespace matching podSelector that are not
  Succeeded/Failed; target AverageValue = `value`; desiredReplicas = ceil(metric / value), within min/max;
- `metrics-api` trigger with format prometheus: metric = the first sample of `valueLocation` at `url`, fetched from
  inside the cluster (a Service DNS name or a node/pod IP; unreachable: no value); target = `targetValue`;
- other trigger types are not emulated: no metric value (ScalingActive=False), the replicas stay as they are.

The HPA scales the Deployment (spec.replicas) to desiredReplicas, as the real controller does through /scale.
A missing target leaves the ScaledObject Ready=False and no HPA.
"""

from __future__ import annotations

import copy
import math
from typing import Any
from decimal import Decimal

from . import names as N
from . import quantity as Q
from .patch import selector_matches
from .store import Cluster, now

GROUP = "keda.sh"
VERSION = "v1alpha1"
KEDA_VERSION = "2.17.2"
TERMINAL = ("Succeeded", "Failed")


def _running(c: Cluster) -> bool:
    from .controllers import deployment_running
    return deployment_running(c, N.KUBE_SYSTEM, N.KEDA_OPERATOR)


def parse_selector(text: str) -> dict:
    """A label selector string (a=b,c!=d,e in (f,g)) as metav1.LabelSelector (equality and set forms)."""
    import re
    sel: dict = {"matchLabels": {}, "matchExpressions": []}
    for part in re.findall(r"[^,()]+(?:\([^)]*\))?", text or ""):
        part = part.strip()
        m = re.fullmatch(r"([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)", part)
        if m:
            sel["matchExpressions"].append({"key": m.group(1), "operator": "In" if m.group(2) == "in" else "NotIn",
                                            "values": [v.strip() for v in m.group(3).split(",") if v.strip()]})
        elif "!=" in part:
            k, v = part.split("!=", 1)
            sel["matchExpressions"].append({"key": k.strip(), "operator": "NotIn", "values": [v.strip()]})
        elif "=" in part:
            k, v = part.split("=", 1)
            sel["matchLabels"][k.strip().rstrip("=")] = v.strip().lstrip("=")
        elif part.startswith("!"):
            sel["matchExpressions"].append({"key": part[1:], "operator": "DoesNotExist"})
        elif part:
            sel["matchExpressions"].append({"key": part, "operator": "Exists"})
    return sel


def _fmt(v: Decimal) -> str:
    return str(int(v)) if v == v.to_integral_value() else f"{int(v * 1000)}m"


def _metric(c: Cluster, ns: str, trigger: dict) -> tuple[str, Decimal | None, Decimal | None, Decimal]:
    """(metric name, current value or None, target average value or None, activation threshold)."""
    md = trigger.get("metadata") or {}
    kind = trigger.get("type", "")
    activation = Q.parse(md.get("activationValue") or md.get("activationThreshold") or "0")
    if kind == "kubernetes-workload":
        sel = parse_selector(md.get("podSelector", ""))
        n = sum(1 for p in c.list("", "pods", ns) if p.get("status", {}).get("phase") not in TERMINAL
                and not p["metadata"].get("deletionTimestamp")
                and selector_matches(sel, p["metadata"].get("labels") or {}))
        return f"workload-{ns}", Decimal(n), Q.parse(md.get("value") or "1"), activation
    if kind == "metrics-api" and (md.get("format") or "json") == "prometheus":
        from .proxy import fetch_url, sample
        text = fetch_url(c, md.get("url", ""))
        value = sample(text, md.get("valueLocation", "")) if text is not None else None
        return (f"metric-api-{md.get('valueLocation', '')}", Decimal(str(value)) if value is not None else None,
                Q.parse(md.get("targetValue") or "1"), activation)
    target = md.get("value") or md.get("threshold") or md.get("targetValue")
    return md.get("metricName") or kind, None, Q.parse(target) if target else None, activation


def _so_conditions(so: dict, ready: tuple[str, str, str], active: tuple[str, str, str]) -> list[dict]:
    from .controllers import cond
    old = (so.get("status") or {}).get("conditions")
    return [cond("Ready", *ready, old=old), cond("Active", *active, old=old),
            cond("Fallback", "False", "NoFallbackFound", "No fallbacks are active on this scaled object", old=old),
            cond("Paused", "False", "ScaledObjectUnpaused", "pause annotation removed for ScaledObject", old=old)]


def _write_status(c: Cluster, obj: dict, status: dict) -> None:
    if obj.get("status") != status:
        new = copy.deepcopy(obj)
        new["status"] = status
        c.write(new)


def controller(c: Cluster) -> None:
    if c.resource(GROUP, VERSION, "scaledobjects") is None or not _running(c):
        return
    for so in c.list(GROUP, "scaledobjects"):
        _reconcile(c, so)


def _reconcile(c: Cluster, so: dict) -> None:
    from .controllers import owner_ref
    ns, name = so["metadata"]["namespace"], so["metadata"]["name"]
    spec = so.get("spec") or {}
    ref = spec.get("scaleTargetRef") or {}
    kind = ref.get("kind", "Deployment")
    target = c.get("apps", "deployments", ns, ref.get("name", "")) if kind == "Deployment" else None
    if target is None:
        _write_status(c, so, {"conditions": _so_conditions(
            so, ("False", "ScaledObjectCheckFailed", f"ScaledObject doesn't have correct scaleTargetRef specification: "
                                                    f"{kind} {ref.get('name')} not found in namespace {ns}"),
            ("Unknown", "", ""))})
        return
    mn = int(spec.get("minReplicaCount", 0) or 0)
    mx = int(spec.get("maxReplicaCount", 100) or 100)
    hpa_name = f"keda-hpa-{name}"
    metrics, values, names = [], [], []
    for i, trig in enumerate(spec.get("triggers") or []):
        mname, value, tgt, activation = _metric(c, ns, trig)
        full = f"s{i}-{mname}"
        names.append(full)
        metrics.append({"type": "External", "external": {
            "metric": {"name": full, "selector": {"matchLabels": {"scaledobject.keda.sh/name": name}}},
            "target": {"type": "AverageValue", "averageValue": _fmt(tgt if tgt is not None else Decimal(1))}}})
        values.append((full, value, tgt, activation))
    labels = {"app.kubernetes.io/managed-by": "keda-operator", "app.kubernetes.io/name": hpa_name,
              "app.kubernetes.io/part-of": name, "app.kubernetes.io/version": KEDA_VERSION,
              "scaledobject.keda.sh/name": name}
    hpa = c.get("autoscaling", "horizontalpodautoscalers", ns, hpa_name)
    want_spec = {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": ref.get("name")},
                 "minReplicas": max(mn, 1), "maxReplicas": mx, "metrics": metrics}
    advanced = ((spec.get("advanced") or {}).get("horizontalPodAutoscalerConfig") or {}).get("behavior")
    if advanced:
        want_spec["behavior"] = advanced
    if hpa is None or hpa.get("spec") != want_spec or (hpa["metadata"].get("labels") or {}) != labels:
        new: dict[str, Any] = copy.deepcopy(hpa) if hpa else {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                                              "metadata": {"name": hpa_name, "namespace": ns,
                                                           "ownerReferences": [owner_ref(so)]}}
        new["metadata"]["labels"] = labels
        new["spec"] = want_spec
        hpa = c.write(new)
    current = int((target.get("spec") or {}).get("replicas", 1))
    known = [(n, v, t) for n, v, t, _ in values if v is not None and t]
    active = any(v is not None and v > a for _, v, _, a in values)
    _write_status(c, so, {
        "scaleTargetKind": "apps/v1.Deployment",
        "scaleTargetGVKR": {"group": "apps", "kind": "Deployment", "resource": "deployments", "version": "v1"},
        "originalReplicaCount": (so.get("status") or {}).get("originalReplicaCount", current),
        "hpaName": hpa_name, "externalMetricNames": names,
        "conditions": _so_conditions(
            so, ("True", "ScaledObjectReady", "ScaledObject is defined correctly and is ready for scaling"),
            ("True", "ScalerActive", "Scaling is performed because triggers are active") if active else
            ("False", "ScalerNotActive", "Scaling is not performed because triggers are not active"))})
    _hpa_status(c, hpa, target, known, current)


def _hpa_status(c: Cluster, hpa: dict, target: dict, known: list, current: int) -> None:
    """What the HPA controller writes, and the scale it sets on the target."""
    from .controllers import cond
    spec = hpa["spec"]
    lo, hi = spec.get("minReplicas", 1), spec["maxReplicas"]
    old = (hpa.get("status") or {}).get("conditions")
    status = copy.deepcopy(hpa.get("status") or {})
    status["currentReplicas"] = current
    if not known:
        status["desiredReplicas"] = current
        status["conditions"] = [
            cond("AbleToScale", "True", "SucceededGetScale", "the HPA controller was able to get the target's "
                                                             "current scale", old=old),
            cond("ScalingActive", "False", "FailedGetExternalMetric", "the HPA was unable to compute the replica "
                 "count: unable to get external metric (not emulated by the simulator)", old=old)]
        status.pop("currentMetrics", None)
    else:
        raw = max(math.ceil(v / t) for _, v, t in known) if current else lo
        desired = min(max(raw, lo), hi)
        status["desiredReplicas"] = desired
        status["currentMetrics"] = [{"type": "External", "external": {
            "metric": {"name": n, "selector": {"matchLabels": {
                "scaledobject.keda.sh/name": hpa["metadata"]["labels"]["scaledobject.keda.sh/name"]}}},
            "current": {"averageValue": _fmt(v / max(current, 1)), "value": _fmt(v)}}} for n, v, _ in known]
        limited = raw != desired
        status["conditions"] = [
            cond("AbleToScale", "True", "ReadyForNewScale", "recommended size matches current size", old=old),
            cond("ScalingActive", "True", "ValidMetricFound", "the HPA was able to successfully calculate a replica "
                 "count from external metric " + known[0][0], old=old),
            cond("ScalingLimited", "True" if limited else "False", "TooManyReplicas" if raw > hi else
                 ("TooFewReplicas" if limited else "DesiredWithinRange"),
                 "the desired replica count is more than the maximum replica count" if raw > hi else
                 ("the desired replica count is less than the minimum replica count" if limited else
                  "the desired count is within the acceptable range"), old=old)]
        if desired != current:
            status["lastScaleTime"] = now()
            scaled = copy.deepcopy(target)
            scaled["spec"]["replicas"] = desired
            c.write(scaled)
    if status != (hpa.get("status") or {}):
        new = copy.deepcopy(hpa)
        new["status"] = status
        c.write(new)
