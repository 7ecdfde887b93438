"""Settings for alert delivery channels and the digest.

Transports live here ([alerts.*]); who receives what is decided by rules/ routing, which writes the
channel and target of each delivery in the outbox row.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from listener.settings_base import StrictModel


class WorkerSettings(StrictModel):
    # Seconds between two looks at the outbox when nothing is due.
    poll_interval: float = Field(default=1.0, gt=0)
    # Rows claimed per pass.
    batch_size: int = Field(default=20, ge=1)
    # Deliveries in flight at once, per channel.
    concurrency: int = Field(default=4, ge=1)
    # Attempts before a delivery is declared dead.
    max_attempts: int = Field(default=8, ge=1)
    # First retry delay (seconds); doubled each attempt up to backoff_max.
    backoff_initial: float = Field(default=5.0, ge=0)
    # Longest delay between two attempts (seconds).
    backoff_max: float = Field(default=900.0, ge=0)
    # Give up one attempt after this many seconds.
    send_timeout: float = Field(default=30.0, gt=0)


class SlackSettings(StrictModel):
    enabled: bool = True
    token_env: str = "VIGIE_SLACK_TOKEN"
    base_url: str = "https://slack.com/api/"
    signing_secret_env: str = "VIGIE_SLACK_SIGNING_SECRET"
    # How many times slack-sdk itself retries a 429 before handing back to the outbox.
    rate_limit_retries: int = Field(default=2, ge=0)
    # Longest Retry-After honoured inline (longer ones reschedule the outbox row).
    max_retry_after: float = Field(default=30.0, ge=0)
    # Link to the web UI shown in messages (empty: no link).
    ui_url: str = ""


class EmailSettings(StrictModel):
    enabled: bool = True
    host: str = "localhost"
    port: int = Field(default=587, ge=0, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str = ""
    password_env: str = "VIGIE_SMTP_PASSWORD"
    from_address: str = "vigie@localhost"
    from_name: str = "Vigie"
    timeout: float = Field(default=30.0, gt=0)
    # Where "se désabonner" of the digest goes (mailto: or https:), empty: the from address.
    unsubscribe: str = ""


class WebhookSettings(StrictModel):
    enabled: bool = True
    secret_env: str = "VIGIE_WEBHOOK_SECRET"
    timeout: float = Field(default=15.0, gt=0)


class DigestGroup(StrictModel):
    name: str
    emails: list[str] = Field(default_factory=list)
    slack: list[str] = Field(default_factory=list)
    webhooks: list[str] = Field(default_factory=list)
    console: bool = False
    cron: str | None = None


class DigestSettings(StrictModel):
    enabled: bool = True
    cron: str = "30 7 * * *"
    hours: int = Field(default=24, ge=1, le=168)
    topics: int = Field(default=6, ge=1, le=20)
    mentions: int = Field(default=5, ge=0, le=20)
    groups: list[DigestGroup] = Field(default_factory=list)


class AlertsSettings(StrictModel):
    console: bool = True
    worker: WorkerSettings = Field(default_factory=WorkerSettings)
    slack: SlackSettings = Field(default_factory=SlackSettings)
    email: EmailSettings = Field(default_factory=EmailSettings)
    webhook: WebhookSettings = Field(default_factory=WebhookSettings)
    digest: DigestSettings = Field(default_factory=DigestSettings)
