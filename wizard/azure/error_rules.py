"""The table of known Azure situations (``RULES``): which error codes / message text / HTTP status / exception
class each recognises, which details it parses out of the message, and the words to show (``../shared/arm/README.md`` §3)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Optional, Union
from urllib.parse import urlparse

from wizard.failure import one_line

from wizard.azure.error_facts import Facts

QUOTA_PORTAL_URL = "https://portal.azure.com/#view/Microsoft_Azure_Capacity/QuotaMenuBlade/~/myQuotas"



# --------------------------------------------------------------------------------------------------------------
# Rules

Text = Union[str, Callable[[dict[str, Any]], str]]
FixField = Union[None, str, Callable[[dict[str, Any]], Optional[str]]]


@dataclass(frozen=True)
class Rule:
    """One row of the error table. Every criterion given must hold (codes: any of them; classes: any of them)."""

    category: str
    what: Text
    why: Text
    action: Text
    codes: frozenset[str] = frozenset()
    text: Optional[re.Pattern[str]] = None
    status: frozenset[int] = frozenset()
    classes: frozenset[str] = frozenset()
    lro: Optional[bool] = None
    http: Optional[bool] = None  # True: only HTTP answers (status known); False: only failures without an HTTP status
    extract: tuple[re.Pattern[str], ...] = ()
    fix_field: FixField = None
    enrich: Optional[Callable[[dict[str, Any]], None]] = None

    def matches(self, f: Facts) -> bool:
        if self.codes and not (self.codes & f.codes):
            return False
        if self.text is not None and not self.text.search(f.text):
            return False
        if self.status and f.status not in self.status:
            return False
        if self.classes and not (self.classes & f.class_names):
            return False
        if self.lro is not None and self.lro != f.lro:
            return False
        if self.http is not None and self.http != (f.status is not None):
            return False
        return True


def _r(category: str, what: Text, why: Text, action: Text, *, codes: Iterable[str] = (),
       text: str | re.Pattern[str] | None = None, status: Iterable[int] = (), classes: Iterable[str] = (),
       **kw: Any) -> Rule:
    return Rule(
        category=category,
        what=what,
        why=why,
        action=action,
        codes=frozenset(c.lower() for c in codes),
        text=re.compile(text, re.I | re.S) if isinstance(text, str) else text,
        status=frozenset(status),
        classes=frozenset(classes),
        **kw,
    )


def _rx(*patterns: str) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p, re.I | re.S) for p in patterns)


def _pool_prefix(f: dict[str, Any]) -> str:
    pool = str(f.get("pool") or f.get("pool_role") or "gpu").lower()
    return "cluster.system_pool" if pool in ("system", "system_pool", "systempool") else "gpu_pool"


# --- quota -------------------------------------------------------------------------------------------------------

_QUOTA_EXTRACT = _rx(
    r"exceeding approved (?P<family>.+?) (?:Cores )?quota",
    r"quota limits of (?P<family>[\w ]+?)\.",
    r"for family (?P<family>\w+)",
    r"Location: (?P<location>[\w-]+)",
    r"for region (?P<location>[\w-]+)",
    r"Current Limit: (?P<limit>\d+)",
    r"Maximum allowed: (?P<limit>\d+)",
    r"Current Usage: (?P<usage>\d+)",
    r"Current in use: (?P<usage>\d+)",
    r"Additional Required: (?P<required>\d+)",
    r"Additional requested: (?P<required>\d+)",
    r"requested (?P<required>\d+), remaining (?P<remaining>\d+)",
    r"New Limit Required: (?P<new_limit>\d+)",
)


def _quota_enrich(f: dict[str, Any]) -> None:
    def num(k: str) -> Optional[int]:
        try:
            return int(f[k]) if f.get(k) not in (None, "") else None
        except (TypeError, ValueError):
            return None

    limit, usage, required, remaining = num("limit"), num("usage"), num("required"), num("remaining")
    if remaining is None and limit is not None and usage is not None:
        remaining = max(limit - usage, 0)
    new_limit = num("new_limit")
    if new_limit is None and usage is not None and required is not None:
        new_limit = usage + required
    family = (f.get("family") or "").strip()
    regional = bool(re.search(r"regional|^cores?$|total", family, re.I))
    if regional:
        f["family_text"] = "total regional vCPUs"
    else:
        f["family_text"] = f"the {family} vCPU family" if family else "the VM family"
    where = f" in {f['location']}" if f.get("location") else ""
    f["where"] = where
    parts = []
    if limit is not None:
        parts.append(f"limit {limit}")
    if usage is not None:
        parts.append(f"in use {usage}")
    if remaining is not None:
        parts.append(f"remaining {remaining}")
    if required is not None:
        parts.append(f"this request needs {required} more")
    f["numbers"] = (" (" + ", ".join(parts) + ")") if parts else ""
    f["new_limit_text"] = f" to at least {new_limit}" if new_limit is not None else ""
    prefix = _pool_prefix(f)
    if not regional and (limit == 0 or remaining == 0 or (remaining is None and limit is None)):
        f["fix"] = f"{prefix}.vm_size"  # no room at all in this family: only another size (or more quota) helps
    elif prefix == "gpu_pool" and f.get("autoscale", True) is not False:
        f["fix"] = "gpu_pool.autoscale.max"
    else:
        f["fix"] = f"{prefix}.count"


def _quota_rule(**match: Any) -> Rule:
    return _r(
        "quota",
        lambda f: f"Not enough vCPU quota for {f['family_text']}{f['where']}.",
        lambda f: f"The subscription's vCPU quota for {f['family_text']}{f['where']} is too small{f['numbers']}.",
        lambda f: (
            f"Request a quota increase for {f['family_text']}{f['where']}{f['new_limit_text']} at {QUOTA_PORTAL_URL} "
            f"(Quotas > Compute), or lower the node count, or pick a VM size from a family with free quota "
            f"(change {f['fix']}). Then run again."
        ),
        extract=_QUOTA_EXTRACT,
        fix_field=lambda f: f["fix"],
        enrich=_quota_enrich,
        **match,
    )


# --- SKU ---------------------------------------------------------------------------------------------------------

_SKU_EXTRACT = _rx(
    r"VM size of (?P<vm_size>[\w-]+) is not allowed",
    r"in location '(?P<location>[^']+)'",
    r"zones '(?P<zones>[^']*)'",
    r"The available VM sizes are '(?P<available>[^']*)'",
    r"requested size for resource '[^']*'",
)


def _sku_enrich(f: dict[str, Any]) -> None:
    prefix = _pool_prefix(f)
    zones = (f.get("zones") or "").strip()
    f["fix"] = f"{prefix}.zones" if (zones or f.get("zonal")) else f"{prefix}.vm_size"
    f["size"] = f"VM size {f['vm_size']}" if f.get("vm_size") else "The requested VM size"
    f["where"] = f" in {f['location']}" if f.get("location") else ""
    f["zones_text"] = f" zones {zones}" if zones else ""
    avail = (f.get("available") or "").strip()
    f["available_text"] = f" Sizes offered to you there: {one_line(avail, 300)}." if avail else ""


def _sku_rule(zonal: bool = False, **match: Any) -> Rule:
    def enrich(f: dict[str, Any]) -> None:
        if zonal:
            f["zonal"] = True
        _sku_enrich(f)

    return _r(
        "sku",
        lambda f: f"{f['size']} is not available{f['where']}{f['zones_text']}.",
        lambda f: (
            "Azure has no capacity for that size there right now, or the size is restricted for this subscription"
            f"{f['where']}.{f['available_text']}"
        ),
        lambda f: (
            (
                f"Try other availability zones or none (change {f['fix']}), or another region; or retry later."
                if f["fix"].endswith(".zones")
                else f"Pick another VM size (change {f['fix']}; `az vm list-skus -l <region> --size <family>` shows "
                "what is offered), or another region, or ask for access at https://aka.ms/azureskunotavailable."
            )
        ),
        extract=_SKU_EXTRACT,
        fix_field=lambda f: f["fix"],
        enrich=enrich,
        **match,
    )


# --- permissions -------------------------------------------------------------------------------------------------

_ROLE_FOR_ACTION = (
    (re.compile(r"^Microsoft\.Authorization/roleAssignments/", re.I), "Owner, User Access Administrator or Role Based Access Control Administrator"),
    (re.compile(r"^Microsoft\.Features/", re.I), "Contributor (on the subscription)"),
    (re.compile(r"/register/action$", re.I), "Contributor (on the subscription)"),
    (re.compile(r"^Microsoft\.ContainerService/managedClusters/listCluster(Admin|User)Credential", re.I), "Azure Kubernetes Service Cluster User Role (or Admin Role)"),
    (re.compile(r"^Microsoft\.ContainerService/", re.I), "Contributor (or Azure Kubernetes Service Contributor Role)"),
    (re.compile(r"^Microsoft\.Resources/subscriptions/resourceGroups/write", re.I), "Contributor (on the subscription)"),
    (re.compile(r"^Microsoft\.Network/", re.I), "Network Contributor or Contributor"),
    (re.compile(r"/read$", re.I), "Reader (or Contributor)"),
)


def _perm_enrich(f: dict[str, Any]) -> None:
    action = f.get("action_name") or ""
    role = "Contributor"
    for rx, name in _ROLE_FOR_ACTION:
        if action and rx.search(action):
            role = name
            break
    f["role"] = role
    f["scope_text"] = f" over {f['scope']}" if f.get("scope") else ""
    f["action_text"] = f" to perform {action}" if action else ""
    f["who"] = f"The identity {f['client']}" if f.get("client") else "The signed-in identity"


_PERM: dict[str, Any] = dict(
    what=lambda f: f"Permission denied{f['action_text']}{f['scope_text']}.",
    why=lambda f: f"{f['who']} has no role assignment that allows this.",
    action=lambda f: (
        f"Ask an Owner to grant {f['role']}{f['scope_text'] or ' on the subscription'} "
        f"(az role assignment create --assignee <your id> --role \"{f['role'].split(' (')[0].split(',')[0]}\" "
        f"--scope {f.get('scope') or '/subscriptions/<id>'}), then sign in again (new role assignments can take a "
        "few minutes to apply)."
    ),
    extract=_rx(
        r"perform action '(?P<action_name>[^']+)'",
        r"over scope '(?P<scope>[^']+)'",
        r"client '(?P<client>[^']+)'",
        r"object id '(?P<object_id>[^']+)'",
    ),
    enrich=_perm_enrich,
)

# --- version ------------------------------------------------------------------------------------------------------

_VERSION_CODES = ("K8sVersionNotSupported", "AgentPoolK8sVersionNotSupported", "KubernetesVersionNotSupported")
_VERSION_EXTRACT = _rx(r"version (?P<version>\d+\.\d+(?:\.\d+)?)", r"in region (?P<location>[\w-]+)")

# --- feature / provider ------------------------------------------------------------------------------------------

_FEATURE_EXTRACT = _rx(
    r"[Ff]eature '?(?P<namespace>Microsoft\.[\w]+)/(?P<flag>[\w-]+)'? (?:is )?not (?:registered|enabled)",
    r"feature '(?P<flag>[^']+)' could not be found",
)

_TLS_TEXT = (
    r"CERTIFICATE_VERIFY_FAILED|certificate verify failed|SSLCertVerificationError|self[- ]signed certificate|"
    r"unable to get local issuer certificate|certificate has expired|hostname mismatch|[Hh]ostname .* doesn't match"
)
_NET_TEXT = (
    r"Connection aborted|RemoteDisconnected|Connection refused|Connection reset|Failed to resolve|"
    r"Name or service not known|nodename nor servname|getaddrinfo failed|Max retries exceeded|Read timed out|"
    r"Connection timed out|IncompleteRead|Failed to establish a new connection"
)


def _net_enrich(f: dict[str, Any]) -> None:
    text = f.get("_text", "")
    host = f.get("endpoint") or f.get("host")
    m = re.search(r"host='([^']+)'(?:, port=(\d+))?", text)
    if not host and f.get("_url"):
        host = urlparse(f["_url"]).netloc or None
    if not host and m:
        host = m.group(1) + (f":{m.group(2)}" if m.group(2) else "")
    f["host_text"] = f" to {host}" if host else ""


def _seconds(value: Any) -> str:
    if value in (None, ""):
        return "a minute"
    return "1 second" if str(value).strip() == "1" else f"{value} seconds"


_SIGN_IN = (
    "Sign in again: run `az login` (for another cloud first `az cloud set --name <cloud>`, or register a custom "
    "cloud), or set AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_CLIENT_SECRET (or AZURE_CLIENT_CERTIFICATE_PATH) for "
    "a service principal, or use a managed identity, or choose device-code sign-in."
)


RULES: list[Rule] = [
    # Network first: a TLS failure during sign-in comes wrapped in a ClientAuthenticationError.
    _r(
        "network",
        lambda f: f"The TLS certificate of the server{f['host_text']} could not be verified.",
        "The server's certificate is not signed by a certificate authority this machine trusts (typical for Azure "
        "Stack Hub and other custom clouds with a private CA), or a proxy is intercepting TLS.",
        "For a custom cloud, set REQUESTS_CA_BUNDLE to the CA bundle (PEM) that signed the authority and ARM "
        "endpoint certificates; otherwise check the system clock and any TLS-inspecting proxy. Then run again.",
        text=_TLS_TEXT,
        http=False,
        enrich=_net_enrich,
    ),
    _r(
        "network",
        lambda f: f"The connection{f['host_text']} failed or was dropped.",
        "The request did not get a complete answer: the connection was refused, reset or dropped, the name did "
        "not resolve, or it timed out.",
        "Check the network, DNS and proxy settings (HTTPS_PROXY), and for a custom cloud the endpoint URLs and "
        "REQUESTS_CA_BUNDLE; then run again (a run resumes where it stopped).",
        classes=("ServiceRequestError", "ServiceResponseError", "ConnectionError", "IncompleteReadError", "Timeout"),
        http=False,
        enrich=_net_enrich,
    ),
    # The sign-in authority could not be reached: azure-identity reports it inside a ClientAuthenticationError
    # (only the service-principal-style members' lines are trusted; managed identity's IMDS probe is expected to fail
    # off Azure).
    _r(
        "network",
        lambda f: f"The sign-in authority{f['host_text']} could not be reached.",
        "The token request did not get an answer: the connection was refused or dropped, the name did not resolve, "
        "or it timed out.",
        "Check the network, DNS and proxy settings (HTTPS_PROXY), the cloud's authority_host, and for a custom cloud "
        "REQUESTS_CA_BUNDLE; then run again.",
        classes=("ClientAuthenticationError",),
        text=r"(?:Environment|ClientSecret|ClientCertificate|DeviceCode|WorkloadIdentity|ClientAssertion)Credential: [^\n]*?(?:"
        + _NET_TEXT
        + ")",
        http=False,
        enrich=_net_enrich,
    ),
    # Quota (before conflict: both use OperationNotAllowed).
    _quota_rule(codes=("ErrCode_InsufficientVCPUQuota",)),
    _quota_rule(text=r"Insufficient vcpu quota"),
    _quota_rule(codes=("QuotaExceeded",)),
    _quota_rule(codes=("OperationNotAllowed",), text=r"quota"),
    _quota_rule(text=r"exceeding (?:approved .*? quota|quota limits)"),
    # SKU / allocation
    _sku_rule(codes=("SkuNotAvailable",)),
    _sku_rule(text=r"is currently not available in location"),
    _sku_rule(text=r"is not allowed in your subscription"),
    _sku_rule(zonal=True, codes=("OverconstrainedZonalAllocationRequest", "ZonalAllocationFailed")),
    _sku_rule(codes=("AllocationFailed", "OverconstrainedAllocationRequest")),
    # Kubernetes version
    _r(
        "version",
        lambda f: f"Kubernetes {f.get('version') or 'version'} is only available with Long-Term Support.",
        "That version is out of community support; AKS offers it only to Premium-tier clusters on the LTS plan.",
        "Either set cluster.tier to Premium with the AKSLongTermSupport support plan (https://aka.ms/aks/enable-lts), "
        "or choose a version in standard support (change cluster.kubernetes_version; "
        "`az aks get-versions -l <region>` lists them).",
        codes=_VERSION_CODES,
        text=r"Long[- ]Term Support|\bLTS\b",
        extract=_VERSION_EXTRACT,
        fix_field="cluster.kubernetes_version",
    ),
    _r(
        "version",
        lambda f: f"Kubernetes {f.get('version') or 'version'} is not offered{' in ' + f['location'] if f.get('location') else ' in this region'}.",
        "AKS supports a rolling window of versions per region; the requested one is not (or no longer) in it.",
        "Choose a supported version (change cluster.kubernetes_version; `az aks get-versions -l <region>` lists "
        "them, see https://aka.ms/supported-version-list).",
        codes=_VERSION_CODES,
        extract=_VERSION_EXTRACT,
        fix_field="cluster.kubernetes_version",
    ),
    # Permissions
    _r("permissions", codes=("AuthorizationFailed", "LinkedAuthorizationFailed", "AuthorizationPermissionMismatch"), **_PERM),
    _r("permissions", status=(403,), **_PERM),
    # Preview features and resource providers
    _r(
        "feature",
        lambda f: f"Preview feature {f.get('namespace', 'Microsoft.ContainerService')}/{f.get('flag', '?')} is not registered on this subscription.",
        "The cluster options ask for a preview capability that has to be registered per subscription first.",
        lambda f: (
            f"Register it: az feature register --namespace {f.get('namespace', 'Microsoft.ContainerService')} "
            f"--name {f.get('flag', '<flag>')}; wait until `az feature show --namespace "
            f"{f.get('namespace', 'Microsoft.ContainerService')} --name {f.get('flag', '<flag>')}` says Registered "
            f"(often 5-15 minutes), then az provider register --namespace "
            f"{f.get('namespace', 'Microsoft.ContainerService')}. With `features: auto` the wizard does this itself."
        ),
        codes=("PreviewFeatureNotRegistered",),
        extract=_FEATURE_EXTRACT,
        fix_field="features",
    ),
    _r(
        "feature",
        lambda f: f"Preview feature {f.get('namespace', 'Microsoft.ContainerService')}/{f.get('flag', '?')} is not enabled on this subscription.",
        "The cluster options ask for a preview capability that has to be registered per subscription first.",
        lambda f: (
            f"Register it: az feature register --namespace {f.get('namespace', 'Microsoft.ContainerService')} "
            f"--name {f.get('flag', '<flag>')}; wait until it shows Registered, then az provider register "
            f"--namespace {f.get('namespace', 'Microsoft.ContainerService')}. With `features: auto` the wizard does this itself."
        ),
        text=r"[Ff]eature \S+ (?:is )?not (?:enabled|registered)",
        extract=_FEATURE_EXTRACT,
        fix_field="features",
    ),
    _r(
        "feature",
        lambda f: f"Preview feature {f.get('flag', '?')} does not exist.",
        "Microsoft.Features has no feature by that name in this cloud (a typo, or a preview that has ended).",
        "Check the flag name in `features` (az feature list --namespace Microsoft.ContainerService -o table), or use `features: auto`.",
        text=r"feature '[^']+' could not be found",
        extract=_FEATURE_EXTRACT,
        fix_field="features",
    ),
    _r(
        "provider",
        lambda f: f"The subscription is not registered for {f.get('namespace', 'the resource provider')}.",
        "Each subscription must register a resource provider (namespace) once before using it.",
        lambda f: f"Register it: az provider register --namespace {f.get('namespace', '<namespace>')} --wait; then run again.",
        codes=("MissingSubscriptionRegistration",),
        extract=_rx(r"namespace '(?P<namespace>[^']+)'"),
    ),
    _r(
        "provider",
        lambda f: f"Resource Manager does not know the resource provider {f.get('namespace', '')}".rstrip() + ".",
        "The namespace is not offered by this cloud's Resource Manager (a sovereign or custom cloud without it, or "
        "resource_manager pointing at an endpoint that is not the cloud's ARM), or it is misspelled. This is a "
        "provider problem, not a resource name.",
        lambda f: f"Check what this cloud offers: az provider show --namespace {f.get('namespace', '<namespace>')} "
        "(or az provider list -o table) against the same cloud; for a custom cloud check azure.cloud's "
        "resource_manager.",
        codes=("InvalidResourceNamespace",),
        extract=_rx(r"namespace '(?P<namespace>[^']+)'"),
        fix_field="azure.cloud",
    ),
    # Not found
    _r(
        "not_found",
        lambda f: f"Resource group '{f['resource_group']}' was not found." if f.get("resource_group") else "The resource group was not found.",
        "It does not exist in this subscription (or was just deleted).",
        "Check resource_group.name and azure.subscription; the wizard creates the group when it is missing, so run again.",
        codes=("ResourceGroupNotFound",),
        extract=_rx(r"Resource group '(?P<resource_group>[^']+)'"),
        fix_field="resource_group.name",
    ),
    _r(
        "subscription",
        "The subscription was not found.",
        "The subscription id is wrong, or the signed-in identity has no access to it, or it is in another tenant.",
        "Check azure.subscription (az account list -o table) and sign in to the right tenant.",
        codes=("SubscriptionNotFound", "InvalidSubscriptionId", "SubscriptionNotRegistered"),
        fix_field="azure.subscription",
    ),
    _r(
        "location",
        lambda f: "The region does not offer this resource type.",
        "The chosen location is not available for the resource (or for this subscription).",
        "Pick another region (change azure.location; `az provider show -n Microsoft.ContainerService` lists locations).",
        codes=("LocationNotAvailableForResourceType", "NoRegisteredProviderFound", "LocationRequired"),
        fix_field="azure.location",
    ),
    _r(
        "not_found",
        lambda f: f"{f.get('resource') or 'The resource'} was not found.",
        "It does not exist (yet), was deleted, or is in another resource group or subscription.",
        "Check the names in the answers file; if it was deleted outside the wizard, run again to recreate it.",
        codes=("ResourceNotFound", "NotFound", "ParentResourceNotFound"),
        extract=_rx(r"The Resource '(?P<resource>[^']+)' under resource group '(?P<resource_group>[^']+)'"),
    ),
    _r(
        "not_found",
        "The resource was not found.",
        "Azure answered 404 Not Found.",
        "Check the names in the answers file and the subscription; then run again.",
        classes=("ResourceNotFoundError",),
    ),
    # Conflicts
    _r(
        "conflict",
        "Another operation is still running on this cluster.",
        lambda f: "AKS runs one operation at a time per cluster or node pool"
        + (f" (operation {f['operation_id']} is in progress)." if f.get("operation_id") else "."),
        lambda f: (
            "Wait for it to finish (`az aks show -g <group> -n <cluster> --query provisioningState`) and run again; "
            "to stop it instead: "
            f"az aks operation-abort --resource-group {f.get('resource_group') or '<group>'} --name {f.get('cluster') or '<cluster>'}"
            + (f" (operation id {f['operation_id']})." if f.get("operation_id") else ".")
        ),
        codes=("OperationNotAllowed", "AnotherOperationInProgress", "OperationPreempted", "EtagMismatch", "Conflict"),
        text=r"in progress|in-progress|another operation|preempted|concurrent",
        extract=_rx(r"operation ID: ?(?P<operation_id>[0-9a-fA-F-]{8,})", r"operation id (?P<operation_id>[0-9a-fA-F-]{8,})"),
    ),
    _r(
        "conflict",
        "Another operation is still running on this resource.",
        "Azure refused the change because the resource is busy (409 Conflict).",
        "Wait a few minutes and run again.",
        codes=("AnotherOperationInProgress", "Conflict", "OperationPreempted"),
    ),
    # Throttling (usually retried transparently by the SDK; this is what is left when retries ran out)
    _r(
        "throttle",
        "Azure is throttling requests from this subscription.",
        lambda f: "Too many requests in a short time" + (f"; Azure asked to wait {_seconds(f['retry_after'])}." if f.get("retry_after") else "."),
        lambda f: f"Wait {_seconds(f.get('retry_after'))} and run again (a run resumes where it stopped); avoid running several tools against the subscription at once.",
        codes=("Throttled", "SubscriptionRequestsThrottled", "TooManyRequests", "ResourceRequestsThrottled", "TenantRequestsThrottled"),
        extract=_rx(r"retry again in (?P<retry_after>\d+) seconds", r"try again after '(?P<retry_after>\d+)' seconds"),
    ),
    _r(
        "throttle",
        "Azure is throttling requests from this subscription.",
        lambda f: "Too many requests in a short time" + (f"; Azure asked to wait {_seconds(f['retry_after'])}." if f.get("retry_after") else "."),
        lambda f: f"Wait {_seconds(f.get('retry_after'))} and run again (a run resumes where it stopped).",
        status=(429,),
    ),
    # Regional capacity
    _r(
        "capacity",
        lambda f: f"AKS has no capacity for this{' in ' + f['location'] if f.get('location') else ' in the region'} right now.",
        "The region is under heavy demand and AKS is limiting new clusters or features there.",
        "Try again later, or choose another region (change azure.location).",
        codes=("AKSCapacityHeavyUsage", "AKSCapacityError"),
        extract=_rx(r"in region (?P<location>[\w-]+)"),
        fix_field="azure.location",
    ),
    # Authentication
    _r(
        "auth",
        "The access token was issued for the wrong audience.",
        lambda f: "ARM did not accept the token's audience; for a custom cloud the audience must be the one ARM expects.",
        lambda f: "Check the cloud's audience (az cloud show: endpoints.activeDirectoryResourceId). " + _SIGN_IN,
        codes=("InvalidAuthenticationTokenAudience",),
    ),
    _r(
        "auth",
        "The access token is for another tenant.",
        "The subscription belongs to a different Entra ID tenant than the one signed in to.",
        "Sign in to the subscription's tenant: az login --tenant <tenant id>, or set AZURE_TENANT_ID for a service principal.",
        codes=("InvalidAuthenticationTokenTenant",),
    ),
    _r(
        "auth",
        "Signing in to Azure failed.",
        lambda f: one_line(f.get("_message") or "No credential could get a token.", 500),
        _SIGN_IN,
        codes=("InvalidAuthenticationToken", "ExpiredAuthenticationToken", "AuthenticationFailed", "InvalidAuthenticationInfo"),
    ),
    _r(
        "auth",
        "Signing in to Azure failed.",
        lambda f: one_line(f.get("_message") or "No credential could get a token.", 500),
        _SIGN_IN,
        classes=("ClientAuthenticationError", "CredentialUnavailableError", "AuthenticationRequiredError"),
    ),
    _r("auth", "Signing in to Azure failed.", "Azure answered 401 Unauthorized.", _SIGN_IN, status=(401,)),
    # Our own configuration errors (wizard.azure.clouds.CloudError)
    _r(
        "config",
        "The cloud setting cannot be used.",
        lambda f: one_line(f.get("_message") or "", 500),
        "Fix azure.cloud: AzureCloud, AzureChinaCloud, AzureUSGovernment, or a custom cloud given as "
        "{name, resource_manager, authority_host, audience} (az cloud show shows these values).",
        classes=("CloudError",),
        fix_field="azure.cloud",
    ),
    # Long-running operation that ended Failed/Canceled with a code not recognised above
    _r(
        "operation_failed",
        lambda f: f"The Azure operation ended {f['_lro_status']}" + (f" with {f['_code']}." if f.get("_code") else "."),
        lambda f: one_line(f.get("_message") or "Azure gave no reason.", 600),
        "Read Azure's message above; fix what it names and run again (a run resumes where it stopped). If it "
        "persists, open a support ticket with the request id.",
        lro=True,
    ),
    # Bad parameters
    _r(
        "invalid",
        lambda f: "Azure rejected a setting" + (f" ({f['_target']})." if f.get("_target") else "."),
        lambda f: one_line(f.get("_message") or "", 600),
        "Change the setting Azure names and run again.",
        codes=("InvalidParameter", "BadRequest", "InvalidRequestContent", "InvalidTemplate", "PropertyChangeNotAllowed"),
    ),
]
