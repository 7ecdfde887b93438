"""Wiring of the delivery side, shared by the daemon (extension.py) and the CLI (cli.py): the channels
configured in [alerts.*], the outbox worker, and how a `digest` outbox row is delivered."""

from __future__ import annotations

import logging
import sys
from datetime import datetime, timedelta, tzinfo
from typing import Any

from alerts import digest as digest_mod
from alerts.channels import Channel, PermanentError
from alerts.console import ConsoleChannel
from alerts.email import EmailChannel
from alerts.outbox import OutboxRow, enqueue
from alerts.settings import AlertsSettings, DigestGroup
from alerts.slack import SlackChannel
from alerts.webhook import WebhookChannel
from alerts.worker import OutboxWorker
from listener.clock import Clock
from listener.store import Store
from listener.timeutil import parse_time

log = logging.getLogger("vigie.alerts")


def build_channels(settings: AlertsSettings, store: Store, *, http=None) -> dict[str, Channel]:
    channels: dict[str, Channel] = {}
    if settings.console:
        channels["console"] = ConsoleChannel()
    if settings.slack.enabled:
        channels["slack"] = SlackChannel(settings.slack, store)
    if settings.email.enabled:
        channels["email"] = EmailChannel(settings.email)
    if settings.webhook.enabled:
        channels["webhook"] = WebhookChannel(settings.webhook, http)
    return channels


class DigestDelivery:
    """Delivers `digest` rows: builds the digest as of the row's moment (cached per group and moment,
    so ten recipients cost one build) and hands it to the row's channel."""

    def __init__(self, store: Store, settings: AlertsSettings, channels: dict[str, Channel], *, tz: tzinfo,
                 institution: str, trending=None, crisis_state=None) -> None:
        self.store = store
        self.settings = settings
        self.channels = channels
        self.tz = tz
        self.institution = institution
        self.trending = trending
        self.crisis_state = crisis_state
        self._cache: dict[tuple[str, str], digest_mod.Digest] = {}

    def build(self, group: str, as_of: datetime) -> digest_mod.Digest:
        key = (group, as_of.isoformat())
        if key not in self._cache:
            self._cache.clear()
            self._cache[key] = digest_mod.build_digest(
                self.store, as_of=as_of, tz=self.tz, institution=self.institution, settings=self.settings.digest,
                group=group, trending=self.trending, crisis_state=self.crisis_state)
        return self._cache[key]

    async def __call__(self, row: OutboxRow) -> str | None:
        as_of = parse_time(row.payload.get("as_of") or row.created_at)
        digest = self.build(str(row.payload.get("group") or ""), as_of)
        channel = self.channels.get(row.channel)
        if channel is None:
            raise PermanentError(f"canal « {row.channel} » inconnu ou désactivé")
        if isinstance(channel, EmailChannel):
            unsubscribe = self.settings.email.unsubscribe or (
                f"mailto:{self.settings.email.from_address}?subject=desabonnement")
            mail = digest_mod.render_mail(digest, unsubscribe=unsubscribe)
            return await channel.send_mail(row.target, mail, key=row.idempotency_key)
        if isinstance(channel, SlackChannel):
            text, blocks = digest_mod.slack_blocks(digest)
            return await channel.post_digest(row.target, text, blocks, row.idempotency_key)
        if isinstance(channel, WebhookChannel):
            document = {"source": "vigie", "kind": "digest", "idempotency_key": row.idempotency_key,
                        "institution": self.institution, "title": digest.title, "text": digest_mod.render_text(digest)}
            return await channel.post(row.target, document, key=row.idempotency_key, event="digest")
        if isinstance(channel, ConsoleChannel):
            stream = channel.stream or sys.stdout
            stream.write(digest_mod.render_text(digest) + "\n")
            stream.flush()
            return "stdout"
        raise PermanentError(f"la synthèse ne sait pas passer par « {row.channel} »")


def enqueue_digest(store: Store, group: DigestGroup, *, as_of: datetime, tz: tzinfo, unique: str | None = None) -> int:
    """One outbox row per recipient of a group. The key holds the local date, so the job running twice
    the same morning (restart, misfire) queues nothing new; `unique` makes a manual send distinct."""
    day = as_of.astimezone(tz).strftime("%Y-%m-%d")
    stamp = unique or day
    payload = digest_mod.payload_for(group.name, as_of)
    targets = ([("email", t) for t in group.emails] + [("slack", t) for t in group.slack]
               + [("webhook", t) for t in group.webhooks] + ([("console", "-")] if group.console else []))
    queued = 0
    for channel, target in targets:
        if enqueue(store, kind="digest", channel=channel, target=target, payload=payload, at=as_of,
                   idempotency_key=f"digest:{group.name}:{stamp}:{channel}:{target}", recipient_group=group.name):
            queued += 1
    return queued


def build_worker(store: Store, settings: Any, *, clock: Clock, tz: tzinfo, metrics=None, deliver=lambda: True,
                 http=None, trending=None, crisis_state=None) -> OutboxWorker:
    alerts_settings: AlertsSettings = settings.alerts
    channels = build_channels(alerts_settings, store, http=http)
    digest = DigestDelivery(store, alerts_settings, channels, tz=tz, institution=settings.institution.name,
                            trending=trending, crisis_state=crisis_state)
    return OutboxWorker(store, alerts_settings, channels, clock=clock, tz=tz, institution=settings.institution.name,
                        metrics=metrics, deliver=deliver, digest_sender=digest)


def default_as_of(store: Store, now: datetime) -> datetime:
    """For the CLI: now, or just after the newest stored mention when the store holds an older day (demo)."""
    latest = store.conn.execute("SELECT max(created_at) FROM mentions").fetchone()[0]
    if latest is None:
        return now
    newest = parse_time(latest) + timedelta(minutes=1)
    return min(now, newest)
