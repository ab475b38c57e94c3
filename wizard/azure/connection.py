"""ArmConnection: the one place that builds Azure SDK clients.

Every client gets the same base URL (the cloud's ARM endpoint unless overridden), the cloud's token scope (so a
custom audience is honoured), the user agent, the polling interval and, for the loopback simulator only, the
per-call policy that lets a bearer token travel over plain http. SDK modules are imported lazily.
"""

from __future__ import annotations

import re
import threading
from typing import TYPE_CHECKING, Any, Optional

from .clouds import Cloud
from .errors import AzureFailure, AzureLayerError

if TYPE_CHECKING:  # pragma: no cover
    from azure.core.credentials import TokenCredential

__all__ = ["ArmConnection", "resolve_subscription", "allow_http_policy"]

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def allow_http_policy() -> Any:
    """A per-call policy switching off azure-core's https-only guard for bearer tokens (loopback simulator)."""
    from azure.core.pipeline.policies import SansIOHTTPPolicy

    class AllowHttpPolicy(SansIOHTTPPolicy):
        def on_request(self, request):  # type: ignore[override]
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

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments every SDK client is constructed with."""
        kw: dict[str, Any] = {
            "base_url": self.base_url,
            "credential_scopes": [self.cloud.scope],
            "polling_interval": self.polling_interval,
            "user_agent": self.user_agent,
        }
        if self.allow_http:
            # per-call: before everything; per-retry (right after RetryPolicy, before the bearer-token policy): also
            # covers requests the SDK synthesises mid-pipeline, e.g. ARMAutoResourceProviderRegistrationPolicy's
            # register POST / GET, which get a fresh context and skip the per-call policies.
            policy = allow_http_policy()
            kw["per_call_policies"] = [policy]
            kw["per_retry_policies"] = [policy]
        if self.retry_total is not None:
            kw["retry_total"] = self.retry_total
        return kw

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

    def _cached(self, key: str, factory) -> Any:
        client = self._clients.get(key)
        if client is None:
            with self._lock:
                client = self._clients.get(key)
                if client is None:
                    client = factory()
                    self._clients[key] = client
        return client

    @property
    def resources(self) -> Any:
        def make():
            from azure.mgmt.resource.resources import ResourceManagementClient

            return ResourceManagementClient(self.credential, self._require_subscription("resources"), **self.client_kwargs())

        return self._cached("resources", make)

    @property
    def features(self) -> Any:
        def make():
            from azure.mgmt.resource.features import FeatureClient

            return FeatureClient(self.credential, self._require_subscription("features"), **self.client_kwargs())

        return self._cached("features", make)

    @property
    def subscriptions(self) -> Any:
        def make():
            from azure.mgmt.resource.subscriptions import SubscriptionClient

            return SubscriptionClient(self.credential, **self.client_kwargs())

        return self._cached("subscriptions", make)

    @property
    def aks(self) -> Any:
        def make():
            from azure.mgmt.containerservice import ContainerServiceClient

            return ContainerServiceClient(self.credential, self._require_subscription("aks"), **self.client_kwargs())

        return self._cached("aks", make)

    @property
    def compute(self) -> Any:
        def make():
            from azure.mgmt.compute import ComputeManagementClient

            return ComputeManagementClient(self.credential, self._require_subscription("compute"), **self.client_kwargs())

        return self._cached("compute", make)

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
