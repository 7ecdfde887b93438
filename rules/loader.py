"""Load rules from config.toml ([[rules.rules]]) and from *.toml files of rules.rules_dir.

Every rule is validated at start-up against its type's options model; a mistake stops start-up with one
message naming the file, the rule and the key, in French and English (listener.errors.ConfigError).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from listener.errors import ConfigError
from listener.french import validation_message
from rules.settings import RulesConfig, RulesSettings
from rules.types import RULE_TYPES, RuleType


def _rule_label(index: int, raw: dict[str, Any], prefix: str) -> str:
    name = raw.get("name") if isinstance(raw, dict) else None
    return f"{prefix}[{index}]" + (f"({name})" if name else "")


def build_rule(raw: Any, *, path: str, label: str) -> RuleType:
    """Validate one rule table and build its rule object; ConfigError names the key at fault."""
    if not isinstance(raw, dict):
        raise ConfigError(path, label, "une table est attendue pour une règle", "a table is expected for a rule")
    kind = raw.get("type")
    if kind not in RULE_TYPES:
        known = ", ".join(sorted(RULE_TYPES))
        raise ConfigError(
            path, f"{label}.type", f"type de règle inconnu {kind!r} (connus : {known})",
            f"unknown rule type {kind!r} (known: {known})",
        )
    cls = RULE_TYPES[kind]
    try:
        options = cls.Options.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(règle)"
        raise ConfigError(path, f"{label}.{where}", validation_message(first), first["msg"]) from None
    return cls(options)


def _file_rules(path: Path) -> list[dict[str, Any]]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), "(syntaxe)", f"TOML invalide : {exc}", f"invalid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(str(path), "(fichier)", "le fichier n'est pas en UTF-8", "file is not UTF-8") from None
    if "rules" in data:
        rules = data["rules"]
        if not isinstance(rules, list) or set(data) - {"rules"}:
            raise ConfigError(str(path), "rules", "attendu : des tables [[rules]] seulement",
                              "expected only [[rules]] tables")
        return rules
    return [data] if data else []


def load_rules(settings: RulesConfig) -> list[RuleType]:
    """All enabled rules, config first then rule files in name order; names must be unique."""
    rules_settings = settings if isinstance(settings, RulesSettings) else settings.rules
    config_path = None if isinstance(settings, RulesSettings) else settings.config_path
    config_name = str(config_path or "config.toml")
    found: list[tuple[RuleType, str, str]] = []
    for index, raw in enumerate(rules_settings.rules):
        label = _rule_label(index, raw, "rules.rules")
        found.append((build_rule(raw, path=config_name, label=label), config_name, label))
    folder = rules_settings.rules_path(Path(config_path) if config_path else None)
    if folder is not None:
        if not folder.is_dir():
            raise ConfigError(config_name, "rules.rules_dir", f"dossier introuvable : {folder}",
                              f"folder not found: {folder}")
        for file in sorted(folder.glob("*.toml")):
            for index, raw in enumerate(_file_rules(file)):
                label = _rule_label(index, raw, "rules")
                found.append((build_rule(raw, path=str(file), label=label), str(file), label))
    seen: dict[str, str] = {}
    groups = set(rules_settings.groups)
    for rule, path, label in found:
        if rule.name in seen:
            raise ConfigError(path, f"{label}.name", f"nom de règle en double (déjà dans {seen[rule.name]})",
                              f"duplicate rule name (already in {seen[rule.name]})")
        seen[rule.name] = path
        for route in rule.options.routes or rules_settings.default_routes:
            if groups and route not in groups:
                raise ConfigError(path, f"{label}.routes", f"groupe de destinataires inconnu « {route} »",
                                  f"unknown recipient group '{route}'")
    return [rule for rule, _, _ in found if rule.options.enabled]
