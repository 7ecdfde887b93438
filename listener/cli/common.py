"""Helpers shared by CLI commands: loading the config, opening the store, French number formatting."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from listener import areas
from listener.settings import Settings, default_config_path, load_settings, settings_from_dict
from listener.store import Store

config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Fichier de configuration (défaut : $VIGIE_CONFIG ou ./config.toml).",
)


def settings_for(config_path: Path | None) -> Settings:
    """The config file asked for; without one, ./config.toml if present, else the built-in defaults."""
    if config_path is not None:
        return load_settings(config_path)
    default = default_config_path()
    if default.exists():
        return load_settings(default)
    return Settings()


def override(settings: Settings, changes: dict[str, Any]) -> Settings:
    """A copy of the settings with some sections replaced, validated like a config file."""
    data = settings.model_dump(mode="json", exclude={"config_path"})
    for section, value in changes.items():
        if isinstance(value, dict) and isinstance(data.get(section), dict):
            data[section] = {**data[section], **value}
        else:
            data[section] = value
    updated = settings_from_dict(data, settings.config_path or "<config>")
    updated.config_path = settings.config_path
    return updated


def open_store(settings: Settings) -> Store:
    """The configured store, with every area's tables."""
    return areas.open_store(settings.resolve(settings.store.path))
