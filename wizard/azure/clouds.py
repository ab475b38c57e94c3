"""Azure clouds: where ARM lives, who issues tokens, and which audience the tokens are for.

The three public sovereign clouds are taken from the SDKs themselves (``azure.identity.AzureAuthorityHosts`` and
``azure.mgmt.core.tools.get_arm_endpoints``) so they never drift from what the SDK would use on its own. A custom
cloud (Azure Stack Hub style, what ``az cloud register`` records) is a mapping
``{name, resource_manager, authority_host, audience}``.

`--cloud` (``cloud_setting``) also names a cloud registered with ``az cloud register`` (read from the Azure CLI's
``clouds.config`` in ``$AZURE_CONFIG_DIR`` or ``~/.azure``) or a JSON/YAML file holding such a mapping.

Nothing here sets a cloud process-wide: the values are passed explicitly to the credential and to every client.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlparse

from wizard.az_clouds import CloudError, az_config_dir, registered_clouds

__all__ = ["Cloud", "CloudError", "resolve_cloud", "known_clouds", "KNOWN_CLOUD_NAMES", "cloud_setting",
           "registered_clouds", "az_config_dir"]

KNOWN_CLOUD_NAMES = ("AzureCloud", "AzureChinaCloud", "AzureUSGovernment")

# Keys accepted in a custom-cloud mapping: ours, plus the names `az cloud register` / `az cloud show` use,
# so a value copied from `az cloud show -o json` (flattened) also works.
_KEY_ALIASES = {
    "name": "name",
    "resource_manager": "resource_manager",
    "resourcemanager": "resource_manager",
    "endpoint_resource_manager": "resource_manager",
    "arm_endpoint": "resource_manager",
    "authority_host": "authority_host",
    "authority": "authority_host",
    "active_directory": "authority_host",
    "endpoint_active_directory": "authority_host",
    "audience": "audience",
    "active_directory_resource_id": "audience",
    "endpoint_active_directory_resource_id": "audience",
}


@dataclass(frozen=True)
class Cloud:
    name: str
    resource_manager: str  # ARM base URL, e.g. "https://management.azure.com/"
    authority_host: str  # Entra ID / AD FS authority, e.g. "https://login.microsoftonline.com"
    audience: str  # token audience, e.g. "https://management.core.windows.net/" or ARM's URL

    @property
    def scope(self) -> str:
        """The OAuth2 scope to request for ARM: audience without trailing slash + "/.default"."""
        return self.audience.rstrip("/") + "/.default"

    @property
    def is_custom(self) -> bool:
        """True unless this is exactly one of the well-known Azure clouds."""
        known = known_clouds().get(self.name.lower())
        return known != self

    @property
    def authority_is_known(self) -> bool:
        """True when the authority is one Microsoft's instance discovery knows (public/sovereign Entra ID)."""
        host = (urlparse(self.authority_host).hostname or "").lower()
        return host in _known_authority_hosts()

    def to_dict(self) -> dict[str, str]:
        return {
            "name": self.name,
            "resource_manager": self.resource_manager,
            "authority_host": self.authority_host,
            "audience": self.audience,
        }


@lru_cache(maxsize=1)
def _known_authority_hosts() -> frozenset[str]:
    from azure.identity import AzureAuthorityHosts

    return frozenset(
        h.lower()
        for h in (
            AzureAuthorityHosts.AZURE_PUBLIC_CLOUD,
            AzureAuthorityHosts.AZURE_CHINA,
            AzureAuthorityHosts.AZURE_GOVERNMENT,
            "login.windows.net",
            "login.microsoft.com",
            "sts.windows.net",
            "login.microsoftonline.de",
        )
    )


@lru_cache(maxsize=1)
def known_clouds() -> dict[str, Cloud]:
    """The well-known clouds keyed by lower-case name (built from the SDKs' own constants)."""
    from azure.core import AzureClouds
    from azure.identity import AzureAuthorityHosts
    from azure.mgmt.core.tools import get_arm_endpoints

    def make(name: str, setting: Any, authority: str) -> Cloud:
        ep = get_arm_endpoints(setting)
        scope = ep["credential_scopes"][0]
        audience = scope[: -len("/.default")] + "/" if scope.endswith("/.default") else scope
        return Cloud(
            name=name,
            resource_manager=ep["resource_manager"],
            authority_host=_normalize_authority(authority),
            audience=audience,
        )

    clouds = [
        make("AzureCloud", AzureClouds.AZURE_PUBLIC_CLOUD, AzureAuthorityHosts.AZURE_PUBLIC_CLOUD),
        make("AzureChinaCloud", AzureClouds.AZURE_CHINA_CLOUD, AzureAuthorityHosts.AZURE_CHINA),
        make("AzureUSGovernment", AzureClouds.AZURE_US_GOVERNMENT, AzureAuthorityHosts.AZURE_GOVERNMENT),
    ]
    return {c.name.lower(): c for c in clouds}


# Other spellings people use for the same clouds (the SDK enum names, PowerShell names).
_NAME_ALIASES = {
    "azure_public_cloud": "azurecloud",
    "azurepubliccloud": "azurecloud",
    "azure_china_cloud": "azurechinacloud",
    "azure_us_government": "azureusgovernment",
    "azureusgovernmentcloud": "azureusgovernment",
}


def _normalize_authority(value: str) -> str:
    value = value.strip()
    parsed = urlparse(value)
    if not parsed.scheme:
        value = "https://" + value
        parsed = urlparse(value)
    if parsed.scheme != "https":
        raise CloudError(f"authority_host {value!r} must be an https URL (tokens are never requested over plain http)")
    if not parsed.hostname:
        raise CloudError(f"authority_host {value!r} is not a URL")
    return value.rstrip("/")


def _normalize_url(field: str, value: str) -> str:
    value = value.strip()
    parsed = urlparse(value)
    if parsed.scheme not in ("https", "http") or not parsed.hostname:
        raise CloudError(f"{field} {value!r} must be an absolute URL such as https://management.local.azurestack.external/")
    return value if value.endswith("/") else value + "/"


def resolve_cloud(spec: "str | Mapping[str, Any] | Cloud | None") -> Cloud:
    """Resolve the answers file's ``azure.cloud`` into a :class:`Cloud`.

    ``spec`` is a well-known name (case-insensitive: AzureCloud, AzureChinaCloud, AzureUSGovernment), the name of a
    cloud registered with ``az cloud register`` (its endpoints read from clouds.config), a mapping
    ``{name, resource_manager, authority_host, audience}`` for a custom cloud, a Cloud (returned as is) or None
    (AzureCloud).
    """
    if spec is None:
        return known_clouds()["azurecloud"]
    if isinstance(spec, Cloud):
        return spec
    if isinstance(spec, str):
        key = spec.strip().lower()
        key = _NAME_ALIASES.get(key, key)
        if key in known_clouds():
            return known_clouds()[key]
        registered = registered_clouds()
        if key in registered:
            return _custom_cloud(registered[key])
        raise CloudError(
            f"unknown cloud {spec!r}: use one of {', '.join(KNOWN_CLOUD_NAMES)}, a cloud registered with `az cloud "
            f"register` (in {az_config_dir() / 'clouds.config'}), or a custom cloud given as "
            "{name, resource_manager, authority_host, audience}")
    if isinstance(spec, Mapping):
        return _custom_cloud(spec)
    raise CloudError(f"cloud must be a name or a mapping, not {type(spec).__name__}")


def _custom_cloud(spec: Mapping[str, Any]) -> Cloud:
    values: dict[str, str] = {}
    unknown = []
    for raw_key, raw_value in spec.items():
        key = _KEY_ALIASES.get(str(raw_key).strip().lower().replace("-", "_"))
        if key is None:
            unknown.append(str(raw_key))
            continue
        if raw_value is None:  # absent (e.g. a pydantic model_dump() of an optional field)
            continue
        if not isinstance(raw_value, str) or not raw_value.strip():
            raise CloudError(f"custom cloud: {raw_key} must be a non-empty string")
        values[key] = raw_value.strip()
    if unknown:
        raise CloudError(
            f"custom cloud: unknown key(s) {', '.join(sorted(unknown))}; expected name, resource_manager, "
            "authority_host, audience"
        )
    missing = [k for k in ("resource_manager", "authority_host") if k not in values]
    if missing:
        raise CloudError(f"custom cloud: missing {', '.join(missing)} (expected name, resource_manager, authority_host, audience)")
    resource_manager = _normalize_url("resource_manager", values["resource_manager"])
    authority = _normalize_authority(values["authority_host"])
    audience = values.get("audience") or resource_manager
    if not urlparse(audience).scheme:
        raise CloudError(f"custom cloud: audience {audience!r} must be a URI such as https://management.contoso.onmicrosoft.com/<id>")
    name = values.get("name") or "CustomCloud"
    return Cloud(name=name, resource_manager=resource_manager, authority_host=authority, audience=audience)


# ------------------------------------------------------------------------------------------ --cloud
def cloud_setting(value: str) -> "str | dict[str, str]":
    """What ``--cloud VALUE`` means, as the answers file's ``azure.cloud`` would hold it: a well-known cloud's
    name; a cloud registered with ``az cloud register`` (its endpoints, from clouds.config); or a JSON/YAML file
    holding ``{name, resource_manager, authority_host, audience}``. Raises CloudError naming what was tried."""
    value = value.strip()
    key = _NAME_ALIASES.get(value.lower(), value.lower())
    if key in known_clouds():
        return known_clouds()[key].name
    registered = registered_clouds()
    if key in registered:
        return resolve_cloud(registered[key]).to_dict()
    path = Path(value).expanduser()
    if path.is_file():
        return resolve_cloud(_cloud_file(path)).to_dict()
    where = az_config_dir() / "clouds.config"
    others = ", ".join(c["name"] for c in registered.values())
    raise CloudError(
        f"unknown cloud {value!r}: not one of {', '.join(KNOWN_CLOUD_NAMES)}, not a cloud registered in {where}"
        f"{f' (registered: {others})' if others else ''}, and not a file. Give one of those, or a JSON/YAML file "
        "with {name, resource_manager, authority_host, audience} (az cloud register --name NAME --endpoint-"
        "resource-manager URL registers one)")


def _cloud_file(path: Path) -> Mapping[str, Any]:
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise CloudError(f"cloud file {path}: cannot be read as JSON or YAML ({exc})") from None
    if not isinstance(data, Mapping):
        raise CloudError(f"cloud file {path}: expected a mapping {{name, resource_manager, authority_host, audience}}")
    return data
