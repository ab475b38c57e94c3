"""Dispatch: the route table of the simulated ARM and what ARM answers before any handler runs (api-version,
subscription, provider registration, 404/405)."""
from __future__ import annotations

import re
from typing import Callable

from .rooms import Base
from .wire import Request, Response, _Reject, arm_error

_SUB = r"/subscriptions/(?P<sub>[^/]+)"
_RG = _SUB + r"/resourcegroups/(?P<rg>[^/]+)"
_MC = _RG + r"/providers/microsoft\.containerservice/managedclusters/(?P<name>[^/]+)"
_CSLOC = _SUB + r"/providers/microsoft\.containerservice/locations/(?P<loc>[^/]+)"
_FEAT = _SUB + r"/providers/microsoft\.features/providers/(?P<ns>[^/]+)/features"
_NAMESPACE = re.compile(r"/providers/([^/]+)/[^/]+", re.IGNORECASE)
_REGISTRATION = re.compile(_SUB + r"/providers/[^/]+/(register|unregister)$", re.IGNORECASE)

# (methods, path pattern, handler method of Arm): matched in order; the first route whose path and method match
# wins, and a path matched with other methods only answers 405.
ROUTES: list[tuple[str, str, str]] = [
    ("GET", r"/subscriptions", "list_subscriptions"),
    ("GET", _SUB, "get_subscription"),
    ("GET", _SUB + r"/locations", "list_locations"),
    ("GET", _SUB + r"/resourcegroups", "list_groups"),
    ("PUT|GET|HEAD|DELETE|PATCH", _RG, "group"),
    ("GET", _RG + r"/resources", "list_group_resources"),
    ("GET", _SUB + r"/operationresults/(?P<op>[^/]+)", "group_operation_result"),
    ("GET", _SUB + r"/providers", "list_providers"),
    ("GET", _SUB + r"/providers/microsoft\.features/features", "list_all_features"),
    ("GET", _FEAT, "list_features"),
    ("GET", _FEAT + r"/(?P<feature>[^/]+)", "get_feature"),
    ("POST", _FEAT + r"/(?P<feature>[^/]+)/(?P<action>register|unregister)", "register_feature"),
    ("GET", _CSLOC + r"/kubernetesversions", "kubernetes_versions"),
    ("GET", _CSLOC + r"/meshrevisionprofiles", "mesh_revision_profiles"),
    ("GET", _CSLOC + r"/meshrevisionprofiles/(?P<mode>[^/]+)", "mesh_revision_profile"),
    ("GET", _CSLOC + r"/operations/(?P<op>[^/]+)", "operation_status"),
    ("GET", _CSLOC + r"/operationresults/(?P<op>[^/]+)", "operation_result"),
    ("GET", _SUB + r"/providers/microsoft\.containerservice/managedclusters", "list_all_clusters"),
    ("GET", _SUB + r"/providers/microsoft\.compute/skus", "list_skus"),
    ("GET", _SUB + r"/providers/microsoft\.compute/locations/(?P<loc>[^/]+)/usages", "list_usages"),
    ("GET", _SUB + r"/providers/(?P<ns>[^/]+)", "get_provider"),
    ("POST", _SUB + r"/providers/(?P<ns>[^/]+)/(?P<action>register|unregister)", "register_provider"),
    ("GET", _RG + r"/providers/microsoft\.containerservice/managedclusters", "list_group_clusters"),
    ("PUT|GET|DELETE", _MC, "cluster"),
    ("POST", _MC + r"/(?P<action>listclusterusercredential|listclusteradmincredential"
                   r"|listclustermonitoringusercredential)", "credentials"),
    ("GET", _MC + r"/agentpools", "list_pools"),
    ("GET", _MC + r"(?:/agentpools/(?P<pool>[^/]+))?/operations/latest", "latest_operation"),
    ("PUT|GET|DELETE", _MC + r"/agentpools/(?P<pool>[^/]+)", "pool"),
]

# Modules that add their own resources' routes after these, in this order (each has register(arm)).
EXTENSIONS = ("wizard.sim.authorization", "wizard.sim.monitor", "wizard.sim.network")  # role assignments first


class Routing(Base):
    routes: list[tuple[str, re.Pattern[str], Callable[..., Response]]]

    def _route(self, methods: str, pattern: str, fn: Callable[..., Response]) -> None:
        self.routes.append((methods, re.compile(pattern, re.IGNORECASE), fn))

    # ------------------------------------------------------------------------------------ dispatch
    def handle(self, req: Request) -> Response:
        path = req.path.rstrip("/") or "/"
        allowed: set[str] = set()
        for methods, pattern, fn in self.routes:
            m = pattern.fullmatch(path)
            if not m:
                continue
            ms = set(methods.split("|"))
            if req.method not in ms:
                allowed |= ms
                continue
            if not req.q("api-version"):
                return arm_error(400, "MissingApiVersionParameter",
                                 "The api-version query parameter (?api-version=) is required for all requests.")
            groups = m.groupdict()
            sub = groups.pop("sub", None)
            if sub is not None and sub.lower() != self.world.subscription_id:
                return arm_error(404, "SubscriptionNotFound", f"The subscription '{sub}' could not be found.")
            refused = self._unregistered(path)
            if refused is not None:
                return refused
            with self.world.lock:
                self.advance()
                try:
                    return fn(req, **groups)
                except _Reject as r:
                    return r.response
        if allowed:
            return arm_error(405, "MethodNotAllowed",
                             f"The requested resource does not support http method '{req.method}'.")
        return arm_error(404, "InvalidResourceType" if "/providers/" in path.lower() else "NotFound",
                         f"The simulated Azure has no route for '{req.method} {req.path}'.")

    def _unregistered(self, path: str) -> Response | None:
        """ARM refuses any request (reads too) routed to a resource provider the subscription has not registered:
        409 MissingSubscriptionRegistration. The provider's own registration, its GET, and Microsoft.Features
        (feature flags of any namespace) are served by ARM itself. An extension resource goes to the last
        namespace in its id (a data collection rule association under a cluster: Microsoft.Insights)."""
        found = _NAMESPACE.findall(path)
        if not found or found[0].lower() == "microsoft.features" or _REGISTRATION.search(path):
            return None
        ns = found[-1]
        with self.world.lock:
            rec = self.world.providers.get(ns.lower())
            if rec is None or rec["state"] == "Registered":
                return None
        return arm_error(409, "MissingSubscriptionRegistration",
                         f"The subscription is not registered to use namespace '{rec['namespace']}'. See "
                         "https://aka.ms/rps-not-found for how to register subscriptions.", target=rec["namespace"])

    def api_version(self, req: Request) -> str:
        return req.q("api-version") or "2026-08-01"
