"""Wiring of the delivery side, shared by the daemon (extension.py) and the CLI (cli.py): the channels
configured in [alerts.*], the outbox worker, and how a `digest` outbox row is delivered."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, tzinfo

from alerts import digest as digest_mod
from alerts import registry
from alerts.channels import Channel, ChannelContext, PermanentError
from alerts.outbox import OutboxRow, enqueue
from alerts.settings import AlertsHost, AlertsSettings, DigestGroup
from alerts.worker import OutboxWorker
from listener.clock import Clock
from listener.store import Store
from listener.timeutil import parse_time

log = logging.getLogger("vigie.alerts")


def build_channels(settings: AlertsSettings, store: Store, *, http=None) -> dict[str, Channel]:
    return registry.build_channels(settings, ChannelContext(store=store, http=http))


class DigestDelivery:
    """Delivers `digest` rows: builds the digest as of the row's moment (cached per group and moment,
    so ten recipients cost one build) and hands it to the row's channel (`send_digest`)."""

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
        channel = self.channels.get(row.channel)
        if channel is None:
            raise PermanentError(f"canal « {row.channel} » inconnu ou désactivé")
        as_of = parse_time(row.payload.get("as_of") or row.created_at)
        digest = self.build(str(row.payload.get("group") or ""), as_of)
        return await channel.send_digest(digest, row.target, row.idempotency_key)


def enqueue_digest(store: Store, group: DigestGroup, *, as_of: datetime, tz: tzinfo, unique: str | None = None) -> int:
    """One outbox row per recipient of a group. The key holds the local date, so the job running twice
    the same morning (restart, misfire) queues nothing new; `unique` makes a manual send distinct."""
    day = as_of.astimezone(tz).strftime("%Y-%m-%d")
    stamp = unique or day
    payload = digest_mod.payload_for(group.name, as_of)
    queued = 0
    for channel, target in group.targets():
        if enqueue(store, kind="digest", channel=channel, target=target, payload=payload, at=as_of,
                   idempotency_key=f"digest:{group.name}:{stamp}:{channel}:{target}", recipient_group=group.name):
            queued += 1
    return queued


def build_worker(store: Store, settings: AlertsHost, *, clock: Clock, tz: tzinfo, metrics=None, deliver=lambda: True,
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
