"""The clouds the Azure CLI knows on this machine: ``az cloud register`` records each in ``clouds.config`` in
``$AZURE_CONFIG_DIR`` or ``~/.azure``. Only the standard library: the answers rules and the TUI's sign-in step read
it without loading an SDK (wizard.azure.clouds turns an entry into endpoints)."""

from __future__ import annotations

import configparser
import os
from pathlib import Path

__all__ = ["CloudError", "az_config_dir", "registered_clouds"]


class CloudError(ValueError):
    """The cloud setting cannot be used (unknown name, missing or malformed endpoint)."""


def az_config_dir() -> Path:
    """The Azure CLI's configuration directory: $AZURE_CONFIG_DIR, else ~/.azure (azure-cli's GLOBAL_CONFIG_DIR)."""
    return Path(os.environ.get("AZURE_CONFIG_DIR") or Path.home() / ".azure").expanduser()


def registered_clouds(config_dir: Path | None = None) -> dict[str, dict[str, str]]:
    """Clouds ``az cloud register`` recorded: ``clouds.config`` is an INI file with a section per cloud and keys
    ``endpoint_<name>`` / ``suffix_<name>`` / ``profile`` (azure-cli core/cloud.py ``_config_add_cloud``).
    Keyed by lower-case name; each value is a mapping `wizard.azure.clouds.resolve_cloud` accepts."""
    path = (config_dir or az_config_dir()) / "clouds.config"
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError) as exc:
        raise CloudError(f"{path} cannot be read as the Azure CLI's cloud configuration: {exc}") from None
    out: dict[str, dict[str, str]] = {}
    for name in parser.sections():
        section = parser[name]
        cloud = {"name": name, "resource_manager": section.get("endpoint_resource_manager", ""),
                 "authority_host": section.get("endpoint_active_directory", ""),
                 "audience": section.get("endpoint_active_directory_resource_id", "")}
        out[name.lower()] = {k: v for k, v in cloud.items() if v}
    return out
