"""Who receives a message, channel by channel: one model for the alert groups ([rules.groups.*]) and
the digest groups ([[alerts.digest.groups]]), so both name channels the same way.

Each key is a channel's name (`vigie alerts channels` lists them) and holds that channel's targets;
`console` is a flag. The old names (`slack_channels`, `emails`, `webhooks`) are still read, with a
warning, for one release. Targets are checked here so a bad one is reported with its key at start-up
rather than as a failed delivery at 3 a.m.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from pydantic import Field, field_validator, model_validator

from listener.settings_base import StrictModel

log = logging.getLogger("vigie.config")

# Old key → channel name (deprecated, removed in the next release).
DEPRECATED_KEYS = {"slack_channels": "slack", "emails": "email", "webhooks": "webhook"}

_EMAIL = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")
_PHONE = re.compile(r"^\+[1-9]\d{7,14}$")
_MATRIX_ROOM = re.compile(r"^[!#][^:\s]+:[A-Za-z0-9.\-]+(:\d+)?$")


def _http_urls(values: list[str]) -> list[str]:
    for value in values:
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError(f"adresse http(s) attendue : {value[:80]!r}")
    return values


class Recipients(StrictModel):
    """Targets per channel, in the order deliveries are queued (idempotency keys name channel and target)."""

    # Slack channels (name "#veille" or id "C0123").
    slack: list[str] = Field(default_factory=list)
    # E-mail addresses.
    email: list[str] = Field(default_factory=list)
    # Generic JSON webhooks (signed POST).
    webhook: list[str] = Field(default_factory=list)
    # Microsoft Teams: Workflows webhook URLs ("Post to a channel when a webhook request is received").
    teams: list[str] = Field(default_factory=list)
    # Tchap / Matrix rooms: id "!abc:agent.tchap.gouv.fr" or alias "#veille:agent.tchap.gouv.fr".
    matrix: list[str] = Field(default_factory=list)
    # Mattermost incoming webhook URLs.
    mattermost: list[str] = Field(default_factory=list)
    # Mobile numbers in international format ("+33612345678"); see [alerts.sms] for who may be texted.
    sms: list[str] = Field(default_factory=list)
    # Print on the daemon's console too.
    console: bool = False

    @model_validator(mode="before")
    @classmethod
    def _deprecated_keys(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        who = data.get("name") or data.get("label") or "?"
        for old, new in DEPRECATED_KEYS.items():
            if old not in data:
                continue
            if new in data:
                raise ValueError(f"« {old} » et « {new} » désignent la même chose : ne garder que « {new} »")
            log.warning("configuration: recipient group %r uses the deprecated key %r; write %r instead "
                        "(the old name will be removed in the next release)", who, old, new)
            data[new] = data.pop(old)
        return data

    @field_validator("email")
    @classmethod
    def _emails(cls, values: list[str]) -> list[str]:
        for value in values:
            if not _EMAIL.match(value):
                raise ValueError(f"adresse e-mail invalide : {value[:80]!r}")
        return values

    @field_validator("webhook", "teams", "mattermost")
    @classmethod
    def _urls(cls, values: list[str]) -> list[str]:
        return _http_urls(values)

    @field_validator("matrix")
    @classmethod
    def _rooms(cls, values: list[str]) -> list[str]:
        for value in values:
            if not _MATRIX_ROOM.match(value):
                raise ValueError(f"salon Matrix attendu (!id:serveur ou #alias:serveur) : {value[:80]!r}")
        return values

    @field_validator("sms")
    @classmethod
    def _phones(cls, values: list[str]) -> list[str]:
        cleaned = []
        for value in values:
            number = re.sub(r"[\s.\-]", "", value)
            if not _PHONE.match(number):
                raise ValueError(f"numéro au format international attendu (+33612345678) : {value[:40]!r}")
            cleaned.append(number)
        return cleaned

    @classmethod
    def channels(cls) -> list[str]:
        return [name for name in cls.model_fields if name in Recipients.model_fields]

    def targets(self) -> list[tuple[str, str]]:
        """(channel, target) pairs in a stable order."""
        pairs: list[tuple[str, str]] = []
        for name in Recipients.channels():
            value = getattr(self, name)
            if isinstance(value, bool):
                if value:
                    pairs.append((name, "-"))
            else:
                pairs += [(name, target) for target in value]
        return pairs

    def without_targets(self) -> dict[str, Any]:
        """The recipient keys emptied (the demo routes nothing outside the machine)."""
        return {name: (False if isinstance(getattr(self, name), bool) else []) for name in Recipients.channels()}
