"""Credentials: DefaultAzureCredential by default, device code on request, for any cloud (custom authorities too).

Everything is passed explicitly (authority, instance discovery); nothing is set process-wide. TLS trust for a
private authority/ARM endpoint comes from ``REQUESTS_CA_BUNDLE``, which azure-core's requests transport honours
(``trust_env``) for the token requests MSAL makes through azure-identity's pipeline and for ARM calls alike
(proven by ``tests/integration/test_azure_layer.py``'s TLS test).
"""

from __future__ import annotations

import sys
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, Literal, Optional

from .clouds import Cloud

if TYPE_CHECKING:  # pragma: no cover
    from azure.core.credentials import TokenCredential

__all__ = ["build_credential", "stderr_device_code_prompt", "DeviceCodePrompt"]

DeviceCodePrompt = Callable[[str, str, datetime], None]


def stderr_device_code_prompt(verification_uri: str, user_code: str, expires_on: datetime) -> None:
    """Headless device-code prompt: stdout stays clean for machine-readable output."""
    when = expires_on.strftime("%H:%M:%S") if isinstance(expires_on, datetime) else str(expires_on)
    print(
        f"To sign in, open {verification_uri} and enter the code {user_code} (valid until {when}).",
        file=sys.stderr,
        flush=True,
    )


def _identity_kwargs(cloud: Cloud) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"authority": cloud.authority_host}
    # Microsoft's instance discovery can't vouch for an authority it doesn't know (Azure Stack Hub AD FS, a private
    # Entra-compatible issuer): MSAL would reject it. For those, MSAL goes straight to
    # {authority}/{tenant}/v2.0/.well-known/openid-configuration instead.
    if cloud.is_custom and not cloud.authority_is_known:
        kwargs["disable_instance_discovery"] = True
    return kwargs


def build_credential(
    cloud: Cloud,
    method: Literal["default", "device_code"] = "default",
    tenant_id: Optional[str] = None,
    prompt: Optional[DeviceCodePrompt] = None,
) -> "TokenCredential":
    """Build the credential for ``cloud``.

    * ``default``: DefaultAzureCredential (environment variables, workload identity, managed identity, the
      ``az login`` cache, ...) with the cloud's authority; interactive browser sign-in excluded.
    * ``device_code``: DeviceCodeCredential; ``prompt(verification_uri, user_code, expires_on)`` shows the code
      (the TUI passes its own; headless defaults to printing it on stderr).
    """
    kwargs = _identity_kwargs(cloud)
    if method == "default":
        from azure.identity import DefaultAzureCredential

        if tenant_id:
            # DefaultAzureCredential refuses tenant_id itself; pass it to every member that takes one.
            # (EnvironmentCredential reads AZURE_TENANT_ID; AzureCliCredential follows `az login --tenant`.)
            for key in (
                "interactive_browser_tenant_id",
                "shared_cache_tenant_id",
                "workload_identity_tenant_id",
                "visual_studio_code_tenant_id",
                "broker_tenant_id",
            ):
                kwargs[key] = tenant_id
        return DefaultAzureCredential(exclude_interactive_browser_credential=True, **kwargs)
    if method == "device_code":
        from azure.identity import DeviceCodeCredential

        return DeviceCodeCredential(
            tenant_id=tenant_id or "organizations",
            prompt_callback=prompt or stderr_device_code_prompt,
            **kwargs,
        )
    raise ValueError(f"unknown sign-in method {method!r}: use 'default' or 'device_code'")
