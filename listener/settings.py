"""Typed settings loaded from config.toml.

Each area owns its own section model (sources, classifiers, detectors, rules, alerts); this module
composes them and turns any validation problem into a ConfigError naming the file and the key.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator

from alerts.settings import AlertsSettings
from classifiers.detection.settings import DetectorSettings
from classifiers.settings import ClassifierSettings
from listener.auth.settings import AuthSettings, OidcSettings
from listener.errors import ConfigError
from listener.french import validation_message
from listener.settings_base import StrictModel
from listener.sources.registry import SourceSettings
from rules.settings import RulesSettings

DEFAULT_CONFIG_NAME = "config.toml"


class InstitutionSettings(StrictModel):
    name: str = "Ville de Rivebelle"
    timezone: str = "Europe/Paris"
    officials: list[str] = Field(default_factory=list)
    own_accounts: list[str] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value


class StoreSettings(StrictModel):
    path: Path = Path("vigie.db")
    retention_days: int = Field(default=90, ge=1)
    purge_cron: str = "15 3 * * *"
    # How long a write waits for another writer's lock before the batch is held and retried.
    busy_timeout_seconds: float = Field(default=5.0, gt=0, le=60)


class WebSettings(StrictModel):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    ingest_token_env: str = "VIGIE_INGEST_TOKEN"
    api_token_env: str = "VIGIE_API_TOKEN"
    # Host names the web server answers to (DNS rebinding guard); the listening host is always allowed.
    allowed_hosts: list[str] = Field(default_factory=lambda: ["127.0.0.1", "localhost", "[::1]"])
    # /healthz and /metrics answer without credentials (for monitoring); false requires a session or token.
    open_healthz: bool = True
    open_metrics: bool = True
    auth: AuthSettings = Field(default_factory=AuthSettings)
    oidc: OidcSettings = Field(default_factory=OidcSettings)


class PipelineSettings(StrictModel):
    batch_size: int = Field(default=500, ge=1)
    queue_batches: int = Field(default=64, ge=1)
    languages: list[str] = Field(default_factory=lambda: ["fr"])
    classify: bool = True
    watch_keywords: list[str] = Field(default_factory=list)
    dedupe_cache_size: int = Field(default=200_000, ge=0)
    # At shutdown, seconds spent storing what is queued before stopping after the batch in hand.
    drain_seconds: float = Field(default=3.0, gt=0, le=60)


class LoggingSettings(StrictModel):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    json_format: bool = False


class Settings(StrictModel):
    institution: InstitutionSettings = Field(default_factory=InstitutionSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    pipeline: PipelineSettings = Field(default_factory=PipelineSettings)
    sources: list[SourceSettings] = Field(default_factory=list)
    classifiers: ClassifierSettings = Field(default_factory=ClassifierSettings)
    detectors: DetectorSettings = Field(default_factory=DetectorSettings)
    rules: RulesSettings = Field(default_factory=RulesSettings)
    alerts: AlertsSettings = Field(default_factory=AlertsSettings)

    # Where the settings came from; relative paths in the file are relative to its folder.
    config_path: Path | None = Field(default=None, exclude=True)

    def resolve(self, path: Path) -> Path:
        """Resolve a path from the config relative to the config file's folder."""
        if path.is_absolute() or self.config_path is None:
            return path
        return self.config_path.parent / path


def default_config_path() -> Path:
    return Path(os.environ.get("VIGIE_CONFIG", DEFAULT_CONFIG_NAME))


def _key_of(location: tuple[Any, ...], data: dict[str, Any]) -> str:
    """Turn a pydantic error location into the dotted key an operator sees in the file."""
    parts: list[str] = []
    node: Any = data
    for item in location:
        if isinstance(item, int):
            name = None
            if isinstance(node, list) and 0 <= item < len(node) and isinstance(node[item], dict):
                name = node[item].get("name")
            parts[-1] = f"{parts[-1]}[{item}]" + (f"({name})" if name else "") if parts else str(item)
            node = node[item] if isinstance(node, list) and 0 <= item < len(node) else None
        else:
            if isinstance(node, dict) and item not in node and node.get("type") == item:
                continue  # tagged unions add the tag as a location step; it is not a key of the file
            parts.append(str(item))
            node = node.get(item) if isinstance(node, dict) else None
    return ".".join(parts) or "(racine)"




def settings_from_dict(data: dict[str, Any], path: Path | str = "<config>") -> Settings:
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = _key_of(tuple(first["loc"]), data)
        raise ConfigError(str(path), key, validation_message(first), first["msg"]) from None
    return settings


def load_settings(path: Path | str | None = None) -> Settings:
    """Read and validate a config file; every problem becomes a ConfigError naming the key."""
    config_path = Path(path) if path is not None else default_config_path()
    try:
        raw = config_path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(str(config_path), "(fichier)", "fichier introuvable", "file not found") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(config_path), "(syntaxe)", f"TOML invalide : {exc}", f"invalid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(str(config_path), "(fichier)", "le fichier n'est pas en UTF-8", "file is not UTF-8") from None
    settings = settings_from_dict(data, config_path)
    settings.config_path = config_path.resolve()
    return settings
