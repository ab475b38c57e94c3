"""ArmConnection: the one place that builds Azure SDK clients.

Every client gets the same base URL (the cloud's ARM endpoint unless overridden), the cloud's token scope (so a
custom audience is honoured), the user agent, the polling interval and, for the loopback simulator only, the
per-call policy that lets a bearer token travel over plain http. SDK modules are imported lazily.

Every client is built with the generated clients' own policy list minus azure-mgmt-core's
``ARMAutoResourceProviderRegistrationPolicy``: on a 409 ``MissingSubscriptionRegistration`` that policy POSTs
``providers/{ns}/register`` and sleeps 10 s per poll, a write behind the caller's back (``plan`` would write).
Registration is an explicit, journaled step of apply instead; a read of an unregistered namespace fails and is
reported.
"""

from __future__ import annotations

import importlib
import re
import threading
from typing import TYPE_CHECKING, Any, Callable, Optional, TypeVar

from .clouds import Cloud
from wizard.failure import AzureFailure, AzureLayerError

if TYPE_CHECKING:  # pragma: no cover
    from azure.core.credentials import TokenCredential
    from azure.core.pipeline import PipelineRequest
    from azure.core.rest import HttpRequest
    from azure.mgmt.authorization import AuthorizationManagementClient
    from azure.mgmt.compute import ComputeManagementClient
    from azure.mgmt.containerservice import ContainerServiceClient
    from azure.mgmt.monitor import MonitorManagementClient
    from azure.mgmt.network import NetworkManagementClient
    from azure.mgmt.resource.features import FeatureClient
    from azure.mgmt.resource.resources import ResourceManagementClient
    from azure.mgmt.resource.subscriptions import SubscriptionClient

__all__ = ["ArmConnection", "resolve_subscription", "allow_http_policy"]

C = TypeVar("C")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def http_logging_policy() -> Any:
    """ARM's HTTP logging (at INFO, into --log-file) with the request and correlation ids shown: a support ticket
    needs them and they are not secrets. Authorization and every other header not listed stay redacted."""
    from azure.mgmt.core.policies import ARMHttpLoggingPolicy

    policy = ARMHttpLoggingPolicy()
    policy.allowed_header_names.update(["x-ms-correlation-request-id", "x-ms-routing-request-id",
                                        "Azure-AsyncOperation", "Location"])  # (|= would lose the case-folding)
    return policy


def allow_http_policy() -> Any:
    """A per-call policy switching off azure-core's https-only guard for bearer tokens (loopback simulator)."""
    from azure.core.pipeline.policies import SansIOHTTPPolicy

    class AllowHttpPolicy(SansIOHTTPPolicy["HttpRequest", Any]):
        def on_request(self, request: PipelineRequest[HttpRequest]) -> None:
            request.context["enforce_https"] = False

    return AllowHttpPolicy()


class ArmConnection:
    def __init__(
        self,
        credential: "TokenCredential",
        subscription_id: Optional[str],
        cloud: Cloud,
        *,
        base_url: Optional[str] = None,
        allow_http: bool = False,
        polling_interval: float = 10.0,
        retry_total: Optional[int] = None,
        user_agent: str = "aks-ai-wizard",
        data_plane_base: Optional[str] = None,
    ) -> None:
        self.credential = credential
        self.subscription_id = subscription_id
        self.cloud = cloud
        self.base_url = base_url or cloud.resource_manager
        self.data_plane_base = data_plane_base  # the simulator's address for data-plane hosts (None on Azure)
        self.allow_http = allow_http
        self.polling_interval = polling_interval
        self.retry_total = retry_total
        self.user_agent = user_agent
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()
        from wizard.azure.throttle import RateBudget

        self.budget = RateBudget()  # one rate budget for every client of this connection

    def data_plane_url(self, url: str) -> str:
        """A data-plane URL (e.g. the Prometheus query endpoint of an Azure Monitor workspace) as this connection
        reaches it: as is on Azure; under the simulator's address when the connection is simulated."""
        if self.data_plane_base is None:
            return url
        from urllib.parse import urlsplit

        u = urlsplit(url)
        return f"{self.data_plane_base.rstrip('/')}/_dataplane/{u.hostname}{u.path}" + (f"?{u.query}" if u.query else "")

    def __repr__(self) -> str:
        return f"ArmConnection(cloud={self.cloud.name!r}, base_url={self.base_url!r}, subscription_id={self.subscription_id!r})"

    def client_kwargs(self, client_class: Callable[..., Any]) -> dict[str, Any]:
        """Keyword arguments the SDK client ``client_class`` is constructed with."""
        kw: dict[str, Any] = {
            "base_url": self.base_url,
            "credential_scopes": [self.cloud.scope],
            "polling_interval": self.polling_interval,
            "user_agent": self.user_agent,
            "policies": self._policies(client_class),
        }
        # per-retry (right after RetryPolicy): every attempt waits for the connection's shared rate budget
        kw["per_retry_policies"] = [self.budget.policy()]
        if self.allow_http:  # per-call: before everything, so the bearer-token policy sees it (retries too)
            kw["per_call_policies"] = [allow_http_policy()]
        return kw

    def _policies(self, client_class: Callable[..., Any]) -> list[Any]:
        """The pipeline of the generated ARM clients (``_client.py``), in their order, without the automatic
        provider registration (azure-core still puts per_call_policies in front of it)."""
        from azure.core.pipeline import policies as p
        from azure.mgmt.core.policies import ARMChallengeAuthenticationPolicy

        package = client_class.__module__.rsplit(".", 1)[0]
        version = getattr(importlib.import_module(package + "._version"), "VERSION", "0")
        kw: dict[str, Any] = {"user_agent": self.user_agent,
                              "sdk_moniker": f"{package.replace('azure.', '').replace('.', '-')}/{version}"}
        if self.retry_total is not None:
            kw["retry_total"] = self.retry_total
        return [
            p.RequestIdPolicy(**kw), p.HeadersPolicy(**kw), p.UserAgentPolicy(**kw), p.ProxyPolicy(**kw),
            p.ContentDecodePolicy(**kw), p.RedirectPolicy(**kw), p.RetryPolicy(**kw),
            ARMChallengeAuthenticationPolicy(self.credential, self.cloud.scope, **kw), p.CustomHookPolicy(**kw),
            p.NetworkTraceLoggingPolicy(**kw), p.DistributedTracingPolicy(**kw),
            p.SensitiveHeaderCleanupPolicy(**kw), http_logging_policy(),
        ]

    def make_client(self, client_class: Callable[..., C], *args: Any) -> C:
        """``client_class(credential, *args)`` built like every client of this connection."""
        return client_class(self.credential, *args, **self.client_kwargs(client_class))

    def with_subscription(self, subscription_id: str) -> "ArmConnection":
        return ArmConnection(
            self.credential,
            subscription_id,
            self.cloud,
            base_url=self.base_url,
            allow_http=self.allow_http,
            polling_interval=self.polling_interval,
            retry_total=self.retry_total,
            user_agent=self.user_agent,
            data_plane_base=self.data_plane_base,
        )

    def _require_subscription(self, what: str) -> str:
        if not self.subscription_id:
            raise ValueError(f"{what} needs a subscription id: use resolve_subscription() and with_subscription()")
        return self.subscription_id

    def _cached(self, key: str, factory: Callable[[], C]) -> C:
        client = self._clients.get(key)
        if client is None:
            with self._lock:
                client = self._clients.get(key)
                if client is None:
                    client = factory()
                    self._clients[key] = client
        return client

    def _client(self, key: str, client_class: Callable[..., C], *args: str) -> C:
        return self._cached(key, lambda: self.make_client(client_class, *args))

    @property
    def resources(self) -> ResourceManagementClient:
        return self.resources_for()

    def resources_for(self, subscription_id: str | None = None) -> ResourceManagementClient:
        """Resource groups and providers of a subscription: the connection's unless named (a linked workspace may
        live in another one)."""
        from azure.mgmt.resource.resources import ResourceManagementClient

        sub = subscription_id or self._require_subscription("resources")
        return self._client(f"resources:{sub.lower()}", ResourceManagementClient, sub)

    @property
    def features(self) -> FeatureClient:
        from azure.mgmt.resource.features import FeatureClient

        return self._client("features", FeatureClient, self._require_subscription("features"))

    @property
    def subscriptions(self) -> SubscriptionClient:
        from azure.mgmt.resource.subscriptions import SubscriptionClient

        return self._client("subscriptions", SubscriptionClient)

    @property
    def aks(self) -> ContainerServiceClient:
        from azure.mgmt.containerservice import ContainerServiceClient

        return self._client("aks", ContainerServiceClient, self._require_subscription("aks"))

    @property
    def compute(self) -> ComputeManagementClient:
        from azure.mgmt.compute import ComputeManagementClient

        return self._client("compute", ComputeManagementClient, self._require_subscription("compute"))

    def network_for(self, subscription_id: str) -> NetworkManagementClient:
        """Microsoft.Network of a subscription (a hub VNet's subnet may live in another one than the cluster)."""
        from azure.mgmt.network import NetworkManagementClient

        return self._client(f"network:{subscription_id.lower()}", NetworkManagementClient, subscription_id)

    def monitor_for(self, subscription_id: str | None = None) -> MonitorManagementClient:
        """Azure Monitor (workspaces, data collection) of a subscription: the connection's unless named."""
        from azure.mgmt.monitor import MonitorManagementClient

        sub = subscription_id or self._require_subscription("monitor")
        return self._client(f"monitor:{sub.lower()}", MonitorManagementClient, sub)

    @property
    def authorization(self) -> AuthorizationManagementClient:
        """Role assignments and definitions (api 2022-04-01) of the connection's subscription."""
        from azure.mgmt.authorization import AuthorizationManagementClient

        sub = self._require_subscription("authorization")
        return self._client("authorization", AuthorizationManagementClient, sub)

    def close(self) -> None:
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            try:
                client.close()
            except Exception:  # pragma: no cover - best effort
                pass

    def __enter__(self) -> "ArmConnection":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _subscription_failure(what: str, why: str, action: str) -> AzureLayerError:
    return AzureLayerError(
        AzureFailure(
            category="subscription",
            code="SubscriptionNotFound",
            what=what,
            why=why,
            action=action,
            request_id=None,
            correlation_id=None,
            status=None,
            message=why,
            fix_field="azure.subscription",
        )
    )


def resolve_subscription(conn: ArmConnection, wanted: str) -> tuple[str, str]:
    """Find the subscription the answers name, by id (GUID) or display name (case-insensitive).

    Returns ``(subscription_id, display_name)``. Raises :class:`AzureLayerError` (category "subscription") when
    nothing matches (listing what is available) or when a display name is ambiguous (asking for the id).
    SDK errors (sign-in, network, permissions) propagate for ``errors.translate``.
    """
    wanted = (wanted or "").strip()
    if not wanted:
        raise _subscription_failure(
            "No subscription was given.",
            "azure.subscription is empty.",
            "Set azure.subscription to a subscription id or display name (az account list -o table shows them).",
        )
    subs = list(conn.subscriptions.subscriptions.list())
    rows = [(s.subscription_id or "", s.display_name or "", str(getattr(s, "state", "") or "")) for s in subs]

    if _GUID.match(wanted):
        for sub_id, name, _state in rows:
            if sub_id.lower() == wanted.lower():
                return sub_id, name
    else:
        matches = [(sub_id, name, state) for sub_id, name, state in rows if name.casefold() == wanted.casefold()]
        if len(matches) > 1:
            enabled = [m for m in matches if m[2].lower() in ("enabled", "")]
            if len(enabled) == 1:
                return enabled[0][0], enabled[0][1]
            listing = ", ".join(f"{sub_id} ({state or 'unknown state'})" for sub_id, _n, state in matches)
            raise _subscription_failure(
                f"More than one subscription is named {wanted!r}.",
                f"These subscriptions share that display name: {listing}.",
                "Set azure.subscription to the subscription id instead of its name.",
            )
        if matches:
            return matches[0][0], matches[0][1]

    available = ", ".join(f"{name!r} ({sub_id})" for sub_id, name, _s in rows) or "none"
    who = "the signed-in identity"
    raise _subscription_failure(
        f"Subscription {wanted!r} was not found.",
        f"{who.capitalize()} can see these subscriptions in {conn.cloud.name}: {available}.",
        "Set azure.subscription to one of those names or ids, or sign in as an identity that has access to "
        f"{wanted!r} (az login --tenant <tenant>, or AZURE_TENANT_ID for a service principal).",
    )
