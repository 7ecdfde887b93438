"""Settings for alert delivery: the worker, one section per channel ([alerts.<channel>], each model
living in its channel's module) and the digest.

Transports live here; who receives what is decided by rules/ routing (recipient groups,
rules/recipients.py), which writes the channel and target of each delivery in the outbox row.
"""

from __future__ import annotations

from typing import Any, Protocol

from pydantic import Field, field_validator, model_validator

from alerts.console import ConsoleSettings
from alerts.email import EmailSettings
from alerts.matrix import MatrixSettings
from alerts.mattermost import MattermostSettings
from alerts.slack import SlackSettings
from alerts.sms import SmsSettings
from alerts.teams import TeamsSettings
from alerts.webhook import WebhookSettings
from listener.settings_base import StrictModel
from rules.recipients import Recipients


class WorkerSettings(StrictModel):
    # Seconds between two looks at the outbox when nothing is due.
    poll_interval: float = Field(default=1.0, gt=0)
    # Rows claimed per pass.
    batch_size: int = Field(default=20, ge=1)
    # Deliveries in flight at once, per channel.
    concurrency: int = Field(default=4, ge=1)
    # Attempts before a transiently failing delivery is declared dead; 0: never (an alert is never
    # abandoned because a server was down; only permanent errors stop it).
    max_attempts: int = Field(default=0, ge=0)
    # Minutes of failures after which a copy goes to the group's fallback (its `fallback` group, else the
    # console/journal) and /healthz reports « livraison en échec »; 0: no fallback.
    fallback_after_minutes: float = Field(default=10.0, ge=0)
    # First retry delay (seconds); doubled each attempt up to backoff_max.
    backoff_initial: float = Field(default=5.0, ge=0)
    # Longest delay between two attempts (seconds).
    backoff_max: float = Field(default=300.0, ge=0)
    # Give up one attempt after this many seconds.
    send_timeout: float = Field(default=30.0, gt=0)


class DigestGroup(Recipients):
    """A digest recipient group: the same recipient keys as [rules.groups.*], plus its own schedule."""

    # The group's name (shown in logs and the outbox).
    name: str
    # When this group's digest is sent (cron, institution time zone); none: [alerts.digest] cron.
    cron: str | None = None

    @field_validator("sms")
    @classmethod
    def _no_sms(cls, values: list[str]) -> list[str]:
        if values:
            raise ValueError("la synthèse du matin n'est pas envoyée par SMS (retirer la clé sms de ce groupe)")
        return values


class DigestSettings(StrictModel):
    enabled: bool = True
    cron: str = "30 7 * * *"
    hours: int = Field(default=24, ge=1, le=168)
    topics: int = Field(default=6, ge=1, le=20)
    mentions: int = Field(default=5, ge=0, le=20)
    groups: list[DigestGroup] = Field(default_factory=list)


class AlertsSettings(StrictModel):
    console: ConsoleSettings = Field(default_factory=ConsoleSettings)
    # Link to Vigie's web UI in messages (every channel); empty: no link.
    ui_url: str = ""
    worker: WorkerSettings = Field(default_factory=WorkerSettings)
    slack: SlackSettings = Field(default_factory=SlackSettings)
    email: EmailSettings = Field(default_factory=EmailSettings)
    webhook: WebhookSettings = Field(default_factory=WebhookSettings)
    teams: TeamsSettings = Field(default_factory=TeamsSettings)
    matrix: MatrixSettings = Field(default_factory=MatrixSettings)
    mattermost: MattermostSettings = Field(default_factory=MattermostSettings)
    sms: SmsSettings = Field(default_factory=SmsSettings)
    digest: DigestSettings = Field(default_factory=DigestSettings)

    @model_validator(mode="before")
    @classmethod
    def _console_flag(cls, data: Any) -> Any:
        """`console = true` is short for [alerts.console] enabled = true."""
        if isinstance(data, dict) and isinstance(data.get("console"), bool):
            data = {**data, "console": {"enabled": data["console"]}}
        return data

    def link(self) -> str:
        return self.ui_url or self.slack.ui_url


class InstitutionName(Protocol):
    @property
    def name(self) -> str: ...


class AlertsHost(Protocol):
    """What alerts/ reads of the whole configuration: its own section and the institution's name
    (listener.settings.Settings, composed a floor above, fits it)."""

    @property
    def alerts(self) -> AlertsSettings: ...

    @property
    def institution(self) -> InstitutionName: ...
