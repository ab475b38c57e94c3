"""What Kueue's controller manager does once it runs (simulated): its internal cert rotation fills the Secret
kueue-webhook-server-cert and injects the CA bundle into both webhook configurations (the release manifest ships
them without one), and queues report the Active condition (ClusterQueue: its flavors exist; LocalQueue: its
ClusterQueue is active). Nothing happens while the controller has no ready pod, as with the real one.
"""

from __future__ import annotations

import base64
import copy

from .store import Cluster

NS = "kueue-system"
DEPLOYMENT = "kueue-controller-manager"
CERT_SECRET = "kueue-webhook-server-cert"
WEBHOOK_CONFIGS = (("mutatingwebhookconfigurations", "kueue-mutating-webhook-configuration"),
                   ("validatingwebhookconfigurations", "kueue-validating-webhook-configuration"))
GROUP = "kueue.x-k8s.io"
CA_PEM = ("-----BEGIN CERTIFICATE-----\nMIIBkTCCATegAwIBAgIUa3VldWUtc2ltdWxhdGVkLWNhMAoGCCqGSM49BAMCMBMx\n"
          "ETAPBgNVBAMMCGt1ZXVlLWNhMB4XDTI1MDEwMTAwMDAwMFoXDTM1MDEwMTAwMDAw\nMFowEzERMA8GA1UEAwwIa3VldWUtY2E=\n"
          "-----END CERTIFICATE-----\n")


def _running(c: Cluster) -> bool:
    from .controllers import pod_ready
    dep = c.get("apps", "deployments", NS, DEPLOYMENT)
    if dep is None:
        return False
    sel = (dep.get("spec", {}).get("selector") or {}).get("matchLabels") or {}
    return any(pod_ready(p) and all((p["metadata"].get("labels") or {}).get(k) == v for k, v in sel.items())
               for p in c.list("", "pods", NS))


def controller(c: Cluster) -> None:
    if not _running(c):
        return
    ca = base64.b64encode(CA_PEM.encode()).decode()
    secret = c.get("", "secrets", NS, CERT_SECRET)
    if secret is not None and not secret.get("data"):
        new = copy.deepcopy(secret)
        new["data"] = {"ca.crt": ca, "tls.crt": ca, "tls.key": base64.b64encode(b"simulated key").decode()}
        c.write(new)
    for plural, name in WEBHOOK_CONFIGS:
        cfg = c.get("admissionregistration.k8s.io", plural, "", name)
        if cfg is None or all((wh.get("clientConfig") or {}).get("caBundle") == ca for wh in cfg.get("webhooks") or []):
            continue
        new = copy.deepcopy(cfg)
        for wh in new.get("webhooks") or []:
            wh.setdefault("clientConfig", {})["caBundle"] = ca
        c.write(new)
    _queues(c)


def _set_condition(c: Cluster, obj: dict, ok: bool, reason_ok: str, reason_bad: str, message: str) -> None:
    from .controllers import cond
    old = (obj.get("status") or {}).get("conditions")
    want = [cond("Active", "True" if ok else "False", reason_ok if ok else reason_bad, message, old=old)]
    for x in want:
        x["observedGeneration"] = obj["metadata"].get("generation", 1)
    if (obj.get("status") or {}).get("conditions") != want:
        new = copy.deepcopy(obj)
        new.setdefault("status", {})["conditions"] = want
        c.write(new)


def _queues(c: Cluster) -> None:
    if c.resource(GROUP, "v1beta1", "clusterqueues") is None:
        return
    flavors = {f["metadata"]["name"] for f in c.list(GROUP, "resourceflavors")}
    active = set()
    for cq in c.list(GROUP, "clusterqueues"):
        wanted = {fl.get("name") for rg in (cq.get("spec", {}).get("resourceGroups") or [])
                  for fl in rg.get("flavors") or []}
        missing = sorted(w for w in wanted if w not in flavors)
        ok = not missing
        if ok:
            active.add(cq["metadata"]["name"])
        _set_condition(c, cq, ok, "Ready", "FlavorNotFound",
                       "Can admit new workloads" if ok else
                       f"Can't admit new workloads: references missing ResourceFlavor(s): {missing}.")
    if c.resource(GROUP, "v1beta1", "localqueues") is None:
        return
    for lq in c.list(GROUP, "localqueues"):
        target = lq.get("spec", {}).get("clusterQueue")
        ok = target in active
        _set_condition(c, lq, ok, "Ready", "ClusterQueueIsInactive",
                       "Can submit new workloads to localQueue" if ok else "Can't submit new workloads to clusterQueue")
