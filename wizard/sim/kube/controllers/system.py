"""Namespaces, CRD and APIService conditions, and garbage collection of objects whose owner is gone."""
from __future__ import annotations


from ..store import Cluster
from .common import cond, delete_pod, set_status
from .networking import service_ready_pods


# ------------------------------------------------------------------------------------------------------
# Namespaces, CRDs, APIServices

def namespaces(c: Cluster) -> None:
    for ns in c.list("", "namespaces"):
        name = ns["metadata"]["name"]
        if ns.get("status", {}).get("phase") != "Active":
            set_status(c, ns, {"phase": "Active"})
        if c.get("", "serviceaccounts", name, "default") is None:
            c.write({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": name}})
        if c.get("", "configmaps", name, "kube-root-ca.crt") is None:
            c.write({"apiVersion": "v1", "kind": "ConfigMap",
                     "metadata": {"name": "kube-root-ca.crt", "namespace": name,
                                  "annotations": {"kubernetes.io/description": "Contains a CA bundle that can be used "
                                                  "to verify the kube-apiserver when using internal endpoints such as "
                                                  "the internal service IP or kubernetes.default.svc. No other usage "
                                                  "is guaranteed across distributions of Kubernetes clusters."}},
                     "data": {"ca.crt": SIM_CA_PEM}})


SIM_CA_PEM = ("-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUc2ltdWxhdGVkLWFrcy1jYTAKBggqhkjOPQQDAjAXMRUw\n"
              "EwYDVQQDDAxzaW11bGF0ZWQtY2EwHhcNMjUwMTAxMDAwMDAwWhcNMzUwMTAxMDAw\nMDAwWjAXMRUwEwYDVQQDDAxzaW11bGF0ZWQtY2Ew"
              "\n-----END CERTIFICATE-----\n")


def crds(c: Cluster) -> None:
    for crd in c.list("apiextensions.k8s.io", "customresourcedefinitions"):
        spec = crd.get("spec", {})
        names = dict(spec.get("names", {}))
        names.setdefault("singular", names.get("kind", "").lower())
        names.setdefault("listKind", names.get("kind", "") + "List")
        stored = sorted({v["name"] for v in spec.get("versions", []) if v.get("storage")} |
                        set(crd.get("status", {}).get("storedVersions", []) or []))
        old = crd.get("status", {}).get("conditions")
        status = {
            "acceptedNames": names,
            "conditions": [cond("NamesAccepted", "True", "NoConflicts", "no conflicts found", old=old),
                           cond("Established", "True", "InitialNamesAccepted", "the initial names have been accepted",
                                old=old)],
            "storedVersions": stored,
        }
        set_status(c, crd, status)


def apiservice_autoregistration(c: Cluster) -> None:
    """Local APIServices for CRD group versions (kube-aggregator's autoregistration controller)."""
    wanted: dict[str, tuple[str, str]] = {}
    for crd in c.list("apiextensions.k8s.io", "customresourcedefinitions"):
        g = crd["spec"].get("group", "")
        for v in crd["spec"].get("versions", []):
            if v.get("served", True):
                wanted[f"{v['name']}.{g}"] = (g, v["name"])
    for svc in c.list("apiregistration.k8s.io", "apiservices"):
        labels = svc["metadata"].get("labels") or {}
        if labels.get("kube-aggregator.kubernetes.io/automanaged") == "true" and svc["metadata"]["name"] not in wanted:
            c.raw_delete("apiregistration.k8s.io", "apiservices", "", svc["metadata"]["name"])
            c.next_rv()
    for name, (g, v) in wanted.items():
        if c.get("apiregistration.k8s.io", "apiservices", "", name) is None:
            c.write({"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
                     "metadata": {"name": name, "labels": {"kube-aggregator.kubernetes.io/automanaged": "true"}},
                     "spec": {"group": g, "version": v, "groupPriorityMinimum": 1000, "versionPriority": 100}})


def apiservices(c: Cluster) -> None:
    for svc in c.list("apiregistration.k8s.io", "apiservices"):
        ref = svc.get("spec", {}).get("service")
        old = svc.get("status", {}).get("conditions")
        if not ref:
            cnd = cond("Available", "True", "Local", "Local APIServices are always available", old=old)
        else:
            ns, name = ref.get("namespace", ""), ref.get("name", "")
            backing = c.get("", "services", ns, name)
            if backing is None:
                cnd = cond("Available", "False", "ServiceNotFound", f'service/{name} in "{ns}" is not present', old=old)
            elif not service_ready_pods(c, backing) and backing.get("spec", {}).get("selector"):
                cnd = cond("Available", "False", "MissingEndpoints",
                           f'endpoints for service/{name} in "{ns}" have no addresses with port name "https"', old=old)
            else:
                cnd = cond("Available", "True", "Passed", "all checks passed", old=old)
        set_status(c, svc, {"conditions": [cnd]})


# ------------------------------------------------------------------------------------------------------
# Garbage collection

def garbage_collect(c: Cluster) -> None:
    uids = {o["metadata"].get("uid") for _, _, o in c.all_objects()}
    for group, plural, obj in list(c.all_objects()):
        refs = obj["metadata"].get("ownerReferences") or []
        if refs and not any(r.get("uid") in uids for r in refs):
            if plural == "pods":
                delete_pod(c, obj)
            else:
                c.raw_delete(group, plural, obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
                c.next_rv()
