"""Services -> Endpoints/EndpointSlices and the Istio Gateway API controller (Gateways, routes, grants)."""
from __future__ import annotations

from typing import Any

import copy

from .. import names as N
from ..store import Cluster, short_hash
from .common import cond, list_pods, owned_by, owner_ref, pod_ready, set_status


# ------------------------------------------------------------------------------------------------------
# Services

def service_ready_pods(c: Cluster, svc: dict) -> list[dict]:
    sel = svc.get("spec", {}).get("selector")
    if not sel:
        return []
    return [p for p in list_pods(c, svc["metadata"]["namespace"])
            if all((p["metadata"].get("labels") or {}).get(k) == v for k, v in sel.items()) and pod_ready(p)]


def _target_port(port: dict, pod: dict):
    tp: Any = port.get("targetPort", port.get("port"))
    if isinstance(tp, str) and not tp.isdigit():
        for ctr in pod["spec"].get("containers", []) or []:
            for cp in ctr.get("ports", []) or []:
                if cp.get("name") == tp:
                    return cp.get("containerPort")
        return None
    return int(tp)


def services(c: Cluster) -> None:
    for svc in c.list("", "services"):
        ns, name = svc["metadata"]["namespace"], svc["metadata"]["name"]
        spec = svc.get("spec", {})
        if spec.get("type") != "ExternalName" and not spec.get("clusterIP"):
            new = copy.deepcopy(svc)
            ip = f"10.0.{c.ip_next // 250}.{c.ip_next % 250 + 1}"
            c.ip_next += 1
            new["spec"]["clusterIP"], new["spec"]["clusterIPs"] = ip, [ip]
            svc = c.write(new)
        if spec.get("type") == "LoadBalancer" and not (svc.get("status", {}).get("loadBalancer") or {}).get("ingress"):
            ip = f"20.{(c.lb_next // 250) % 250}.{c.lb_next % 250 + 1}.{(c.lb_next * 7) % 250 + 1}"
            c.lb_next += 1
            set_status(c, svc, {"loadBalancer": {"ingress": [{"ip": ip, "ipMode": "VIP"}]}})
        if not spec.get("selector"):
            continue
        pods = service_ready_pods(c, svc)
        ports = spec.get("ports", []) or []
        addresses = [{"ip": p["status"]["podIP"], "nodeName": p["spec"].get("nodeName"),
                      "targetRef": {"kind": "Pod", "name": p["metadata"]["name"], "namespace": ns,
                                    "uid": p["metadata"]["uid"]}} for p in pods]
        ep_ports = []
        for port in ports:
            tp = _target_port(port, pods[0]) if pods else None
            if tp is not None:
                ep = {"port": tp, "protocol": port.get("protocol", "TCP")}
                if port.get("name"):
                    ep["name"] = port["name"]
                ep_ports.append(ep)
        subsets = [{"addresses": addresses, "ports": ep_ports}] if addresses else []
        endpoints: dict[str, Any] = {"apiVersion": "v1", "kind": "Endpoints",
                     "metadata": {"name": name, "namespace": ns, "labels": dict(svc["metadata"].get("labels") or {})}}
        if subsets:
            endpoints["subsets"] = subsets
        old_ep = c.get("", "endpoints", ns, name)
        if old_ep is None or {k: old_ep.get(k) for k in ("subsets",)} != {k: endpoints.get(k) for k in ("subsets",)}:
            c.write(endpoints)
        slice_name = next((s["metadata"]["name"] for s in c.list("discovery.k8s.io", "endpointslices", ns)
                           if owned_by(s, svc)), f"{name}-{short_hash(svc['metadata']['uid'], 5)}")
        eps = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
               "metadata": {"name": slice_name, "namespace": ns, "generateName": f"{name}-",
                            "labels": {"kubernetes.io/service-name": name,
                                       "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"},
                            "ownerReferences": [owner_ref(svc)]},
               "addressType": "IPv4",
               "endpoints": [{"addresses": [a["ip"]], "conditions": {"ready": True, "serving": True,
                                                                     "terminating": False},
                              "nodeName": a["nodeName"], "targetRef": a["targetRef"]} for a in addresses],
               "ports": ep_ports or None}
        old = c.get("discovery.k8s.io", "endpointslices", ns, slice_name)
        if old is None or old.get("endpoints") != eps["endpoints"] or old.get("ports") != eps["ports"]:
            c.write(eps)


# ------------------------------------------------------------------------------------------------------
# Gateway API (Istio implementation)

GW = "gateway.networking.k8s.io"


def _istio_running(c: Cluster) -> bool:
    for ns in (N.ISTIO_SYSTEM_NS, "istio-system"):
        for dep in c.list("apps", "deployments", ns):
            if dep["metadata"]["name"].startswith("istiod") and (dep.get("status", {}).get("availableReplicas") or 0):
                return True
    return False


def _managed_class(c: Cluster, class_name: str) -> bool:
    gc = c.get(GW, "gatewayclasses", "", class_name) or {}
    return bool(gc) and gc.get("spec", {}).get("controllerName") == N.ISTIO_GATEWAY_CONTROLLER and _istio_running(c)


def gateway_api(c: Cluster) -> None:
    if c.resource(GW, "v1", "gateways") is None:
        return
    running = _istio_running(c)
    for gc in c.list(GW, "gatewayclasses"):
        if gc.get("spec", {}).get("controllerName") != N.ISTIO_GATEWAY_CONTROLLER or not running:
            continue
        old = gc.get("status", {}).get("conditions")
        gen = gc["metadata"].get("generation", 1)
        set_status(c, gc, {"conditions": [
            {**cond("Accepted", "True", "Accepted", "Handled by Istio controller", old=old), "observedGeneration": gen},
            {**cond("SupportedVersion", "True", "SupportedVersion", "", old=old), "observedGeneration": gen}]})
    routes = [(kind, r) for kind, plural in (("HTTPRoute", "httproutes"), ("GRPCRoute", "grpcroutes"))
              for r in (c.list(GW, plural) if c.resource(GW, "v1", plural) else [])]
    for gw in c.list(GW, "gateways"):
        _gateway(c, gw, routes)
    for kind, r in routes:
        _route_status(c, kind, r)


def _gateway(c: Cluster, gw: dict, routes: list[tuple[str, dict]]) -> None:
    """A Gateway of the Istio class gets its Deployment and Service, then its status once it has an address."""
    gen = gw["metadata"].get("generation", 1)
    if not _managed_class(c, gw.get("spec", {}).get("gatewayClassName", "")):
        if not gw.get("status"):
            set_status(c, gw, {"conditions": [
                {**cond("Accepted", "Unknown", "Pending", "Waiting for controller"), "observedGeneration": gen},
                {**cond("Programmed", "Unknown", "Pending", "Waiting for controller"), "observedGeneration": gen}]})
        return
    ns, name = gw["metadata"]["namespace"], gw["metadata"]["name"]
    svc_name = f"{name}-istio"
    svc_type = (gw["metadata"].get("annotations") or {}).get("networking.istio.io/service-type", "LoadBalancer")
    ports = [{"name": f"{lst.get('protocol', 'http').lower()}-{lst.get('port')}", "port": lst.get("port"),
              "protocol": "TCP", "targetPort": lst.get("port")} for lst in gw.get("spec", {}).get("listeners", [])]
    _gateway_workload(c, gw, svc_name, svc_type, ports)
    svc = c.get("", "services", ns, svc_name)
    assert svc is not None  # _gateway_workload applied it
    lb = ((svc.get("status", {}).get("loadBalancer") or {}).get("ingress") or [{}])[0].get("ip")
    address = lb or svc["spec"].get("clusterIP")
    if not address:
        return
    old = gw.get("status", {}).get("conditions")
    status = {"addresses": [{"type": "IPAddress" if lb or svc_type != "ClusterIP" else "Hostname",
                             "value": address if lb or svc_type != "ClusterIP" else
                             f"{svc_name}.{ns}.svc.cluster.local"}],
              "conditions": [{**cond("Accepted", "True", "Accepted", "Resource accepted", old=old),
                              "observedGeneration": gen},
                             {**cond("Programmed", "True", "Programmed",
                                     f"Resource programmed, assigned to service(s) {svc_name}.{ns}.svc.cluster.local"
                                     f":{ports[0]['port'] if ports else 80}", old=old),
                              "observedGeneration": gen}],
              "listeners": _listeners(gw, routes)}
    set_status(c, gw, status)


def _gateway_workload(c: Cluster, gw: dict, svc_name: str, svc_type: str, ports: list[dict]) -> None:
    """The Deployment (istio-proxy) and Service Istio makes for a Gateway, once."""
    ns, name = gw["metadata"]["namespace"], gw["metadata"]["name"]
    labels = {"gateway.networking.k8s.io/gateway-name": name, "gateway.istio.io/managed": "istio.io-gateway-controller"}
    if c.get("apps", "deployments", ns, svc_name) is None:
        c.write({"apiVersion": "apps/v1", "kind": "Deployment",
                 "metadata": {"name": svc_name, "namespace": ns, "labels": dict(labels),
                              "ownerReferences": [owner_ref(gw)]},
                 "spec": {"replicas": 1, "selector": {"matchLabels": {"gateway.networking.k8s.io/gateway-name": name}},
                          "template": {"metadata": {"labels": dict(labels)}, "spec": {
                              "containers": [{"name": "istio-proxy",
                                              "image": "mcr.microsoft.com/oss/istio/proxyv2:1.26.3-distroless",
                                              "resources": {"requests": {"cpu": "10m", "memory": "40Mi"}}}]}}}})
    if c.get("", "services", ns, svc_name) is None:
        c.write({"apiVersion": "v1", "kind": "Service",
                 "metadata": {"name": svc_name, "namespace": ns, "labels": dict(labels),
                              "ownerReferences": [owner_ref(gw)]},
                 "spec": {"type": svc_type, "selector": {"gateway.networking.k8s.io/gateway-name": name},
                          "ports": ports or [{"name": "status-port", "port": 15021, "protocol": "TCP"}]}})


def _listeners(gw: dict, routes: list[tuple[str, dict]]) -> list[dict]:
    """Each listener's status: the routes attached to it (by parentRef name, namespace and section)."""
    ns, name = gw["metadata"]["namespace"], gw["metadata"]["name"]
    gen = gw["metadata"].get("generation", 1)
    listeners = []
    for lst in gw.get("spec", {}).get("listeners", []):
        attached = 0
        for _, r in routes:
            for pref in r.get("spec", {}).get("parentRefs", []) or []:
                if pref.get("name") == name and pref.get("namespace", r["metadata"]["namespace"]) == ns and \
                        pref.get("sectionName") in (None, lst.get("name")):
                    attached += 1
        lold = next((x.get("conditions") for x in gw.get("status", {}).get("listeners", []) or []
                     if x.get("name") == lst.get("name")), None)
        listeners.append({"name": lst.get("name"), "attachedRoutes": attached,
                          "supportedKinds": [{"group": GW, "kind": "HTTPRoute"}, {"group": GW, "kind": "GRPCRoute"}],
                          "conditions": [{**cond(t, "True", t, "No errors found", old=lold),
                                          "observedGeneration": gen}
                                         for t in ("Accepted", "NoConflicts", "Programmed", "ResolvedRefs")]})
    return listeners


def _route_status(c: Cluster, kind: str, route: dict) -> None:
    ns = route["metadata"]["namespace"]
    gen = route["metadata"].get("generation", 1)
    missing, denied = [], []
    for rule in route.get("spec", {}).get("rules", []) or []:
        for b in rule.get("backendRefs", []) or []:
            if b.get("kind", "Service") != "Service" or b.get("group", "") not in ("", "core"):
                continue
            bns = b.get("namespace", ns)
            if c.get("", "services", bns, b.get("name")) is None:
                missing.append(f"{bns}/{b.get('name')}")
            elif bns != ns and not _reference_granted(c, kind, ns, bns, b.get("name")):
                denied.append(f"{bns}/{b.get('name')}")
    parents = []
    old_parents = route.get("status", {}).get("parents", []) or []
    for pref in route.get("spec", {}).get("parentRefs", []) or []:
        if pref.get("kind", "Gateway") != "Gateway":
            continue
        gw = c.get(GW, "gateways", pref.get("namespace", ns), pref.get("name"))
        if gw is None or not _managed_class(c, gw.get("spec", {}).get("gatewayClassName", "")):
            continue
        full_ref = {"group": GW, "kind": "Gateway", **{k: v for k, v in pref.items()}}
        old = next((p.get("conditions") for p in old_parents if p.get("parentRef", {}).get("name") == pref.get("name")),
                   None)
        if missing:
            resolved = cond("ResolvedRefs", "False", "BackendNotFound",
                            f"backend(s) not found: {', '.join(missing)}", old=old)
        elif denied:
            resolved = cond("ResolvedRefs", "False", "RefNotPermitted",
                            f"backendRef {', '.join(denied)} not accessible to a {kind} in namespace \"{ns}\" "
                            f"(missing a ReferenceGrant?)", old=old)
        else:
            resolved = cond("ResolvedRefs", "True", "ResolvedRefs", "All references resolved", old=old)
        parents.append({"parentRef": full_ref, "controllerName": N.ISTIO_GATEWAY_CONTROLLER,
                        "conditions": [{**cond("Accepted", "True", "Accepted", "Route was valid", old=old),
                                        "observedGeneration": gen}, {**resolved, "observedGeneration": gen}]})
    if parents or route.get("status"):
        set_status(c, route, {"parents": parents})


def _reference_granted(c: Cluster, kind: str, from_ns: str, to_ns: str, name: str) -> bool:
    if c.resource(GW, "v1beta1", "referencegrants") is None:
        return False
    for grant in c.list(GW, "referencegrants", to_ns):
        spec = grant.get("spec", {})
        if any(f.get("kind") == kind and f.get("namespace") == from_ns for f in spec.get("from", []) or []) and \
                any(t.get("kind") == "Service" and t.get("name") in (None, name) for t in spec.get("to", []) or []):
            return True
    return False
