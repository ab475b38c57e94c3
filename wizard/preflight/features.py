"""Preview feature flags: their state as a checklist item, and what a refused registration means.

Preflight never registers anything: it reports each flag's state and, for one not registered, the exact
command. Whether the signed-in identity may register can't be known without trying, so the engine, when its
register call is refused, uses ``register_failure`` to say so plainly.
"""
from __future__ import annotations

from typing import Any, Optional

from wizard.azure.errors import AzureFailure, gather, translate
from wizard.plan_model import PROVIDER
REGISTER_ACTION = "Microsoft.Features/providers/features/register/action"


def register_commands(flag: str) -> str:
    ns, _, name = flag.partition("/")
    return (f"`az feature register --namespace {ns} --name {name}`, wait until `az feature show --namespace {ns} "
            f"--name {name} --query properties.state` says Registered, then `az provider register --namespace {ns}`")


def _denied(exc: BaseException) -> bool:
    facts = gather(exc)
    return facts.status == 403 or bool(facts.codes & {"authorizationfailed", "linkedauthorizationfailed",
                                                      "authorizationpermissionmismatch"})


def register_failure(exc: BaseException, flag: str, context: Optional[dict[str, Any]] = None) -> AzureFailure:
    """Explain a failed ``az feature register`` (FeatureClient.features.register). A 403 becomes "your role
    can't register features; ask someone with Contributor on the subscription to run ..." with the exact
    command; anything else goes through errors.translate."""
    if not _denied(exc):
        return translate(exc, context=context)
    base = translate(exc, context=context)
    ns, _, name = flag.partition("/")
    return AzureFailure(
        category="permissions",
        code=base.code or "AuthorizationFailed",
        what=f"Your role can't register preview features on this subscription ({flag}).",
        why=(f"Registering a preview feature needs {REGISTER_ACTION} on the subscription, which Contributor and "
             "Owner have; the signed-in identity's roles don't include it."),
        action=(f"Ask someone with Contributor on the subscription to run: {register_commands(flag)}. "
                "Then run again: the wizard sees the flag Registered and skips registering it."),
        request_id=base.request_id,
        correlation_id=base.correlation_id,
        status=base.status,
        message=base.message,
        fix_field="features",
    )


def provider_register_failure(exc: BaseException, namespace: str = PROVIDER,
                              context: Optional[dict[str, Any]] = None) -> AzureFailure:
    """Same for ``az provider register`` (ResourceManagementClient.providers.register)."""
    if not _denied(exc):
        return translate(exc, context=context)
    base = translate(exc, context=context)
    return AzureFailure(
        category="permissions",
        code=base.code or "AuthorizationFailed",
        what=f"Your role can't register the resource provider {namespace} on this subscription.",
        why=("Registering a resource provider needs Microsoft.Resources/subscriptions/providers/register/action "
             "(Contributor or Owner on the subscription)."),
        action=(f"Ask someone with Contributor on the subscription to run: az provider register --namespace "
                f"{namespace} --wait. Then run again."),
        request_id=base.request_id,
        correlation_id=base.correlation_id,
        status=base.status,
        message=base.message,
        fix_field=None,
    )
