"""Shared pieces of the channel tests: a worker over the real outbox for one channel, the hostile post
every channel must carry inert, and the check that it arrived inert."""

from __future__ import annotations

import re
from typing import Any
from zoneinfo import ZoneInfo

from alerts import outbox
from alerts.delivery import build_channels
from alerts.outbox import enqueue
from alerts.settings import AlertsSettings
from alerts.worker import OutboxWorker
from listener.clock import Clock
from tests.test_alerts_data import HOSTILE, T0, add_alert, add_mentions

PARIS = ZoneInfo("Europe/Paris")
HOSTILE_CHAT = (HOSTILE + " @room @channel @all @here ~town-square [clique](http://evil.example/y) "
                "<at>Maire</at> **gras** # Titre")
FAST_WORKER = {"backoff_initial": 0.01, "backoff_max": 0.05, "max_attempts": 4, "send_timeout": 5}
ONLY = {"console": False, "slack": {"enabled": False}, "email": {"enabled": False}, "webhook": {"enabled": False}}


def alerts_settings(channel: str, section: dict[str, Any] | None = None, **extra: Any) -> AlertsSettings:
    """Only `channel` enabled, fast retries."""
    data: dict[str, Any] = {name: value for name, value in ONLY.items() if name != channel}
    for name in AlertsSettings.model_fields:
        if name not in ("worker", "digest", "ui_url", channel) and name not in data:
            data[name] = {"enabled": False}
    data[channel] = {"enabled": True, **(section or {})}
    return AlertsSettings(worker=FAST_WORKER, **data, **extra)


def worker(store, settings: AlertsSettings) -> OutboxWorker:
    return OutboxWorker(store, settings, build_channels(settings, store), clock=Clock(), tz=PARIS,
                        institution="Ville de Rivebelle")


def queue_alert(store, channel: str, target: str, *, texts: list[str] | None = None, key: str = "alert:1",
                title: str = "Pic de mentions « inondation »", severity: str = "critical",
                group: str = "astreinte", kind: str = "alert") -> int:
    ids = add_mentions(store, texts or [HOSTILE_CHAT, "L'eau monte rue des Lilas, pompiers sur place"])
    alert = add_alert(store, evidence=ids, title=title, severity=severity)
    row = enqueue(store, kind=kind, channel=channel, target=target, payload={"alert_ids": [alert]},
                  idempotency_key=f"{key}:{channel}:{target}", at=T0, alert_id=alert, recipient_group=group)
    assert row is not None
    return row


async def deliver(store, settings: AlertsSettings, timeout: float = 10) -> None:
    w = worker(store, settings)
    try:
        await w.drain(timeout=timeout)
    finally:
        await w.close()


def state(store, row_id: int) -> outbox.OutboxRow:
    found = outbox.get(store, row_id)
    assert found is not None
    return found


LIVE_PATTERNS = [
    (r"<!channel>|<!here>|<@U", "a Slack-style mention"),
    (r"(?<![\u200b\\])@(room|channel|all|here)\b", "a room mention"),
    (r"https?://(?!127\.0\.0\.1|rivebelle\.social|vigie\.)", "a live link to a foreign site"),
    (r"www\.arnaque", "an auto-linked address"),
    (r"\]\(https?://evil", "a Markdown link from the post"),
    (r"<script|<img|<at>", "markup"),
    (r"\*URGENT\*|\*\*gras\*\*|(?<![\\\u200b])_lisez_", "formatting"),
]


def assert_inert(text: str, *, formatting: bool = True) -> None:
    """No mention, link, markup or formatting from the hostile post is live in `text` (`formatting=False`
    for plain-text fields that are never rendered as markup)."""
    for pattern, what in LIVE_PATTERNS if formatting else LIVE_PATTERNS[:5]:
        found = re.search(pattern, text)
        assert found is None, f"{what} went live: {text[max(0, found.start() - 40):found.end() + 40]!r}"
