"""The outbox worker: claims due rows, delivers them, records the outcome.

Per row: pending → sending (committed) → channel.send → sent (with the receiver's reference), or
pending again with exponential backoff (transient failure, Retry-After honoured), or dead (permanent
failure, or max_attempts reached). At start-up, rows left `sending` by a killed process go back to
pending: at-least-once, with the idempotency key carried to receivers so they can drop a repeat.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from alerts import outbox
from alerts.channels import Channel, Deferred, PermanentError, TransientError
from alerts.outbox import OutboxRow
from alerts.render import Notification, build_notification
from alerts.settings import AlertsSettings
from listener.clock import Clock
from listener.store import Store
from listener.timeutil import to_iso, utcnow

log = logging.getLogger("vigie.alerts.worker")

DigestSender = Callable[[OutboxRow], Awaitable[str | None]]


class OutboxWorker:
    def __init__(
        self,
        store: Store,
        settings: AlertsSettings,
        channels: dict[str, Channel],
        *,
        clock: Clock,
        tz: Any,
        institution: str,
        metrics: Any = None,
        deliver: Callable[[], bool] = lambda: True,
        digest_sender: DigestSender | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.channels = channels
        self.clock = clock
        self.tz = tz
        self.institution = institution
        self.metrics = metrics
        self.deliver = deliver
        self.digest_sender = digest_sender
        self.wake = asyncio.Event()
        self.last_error: str | None = None
        self.last_error_at: str | None = None
        self.last_sent_at: str | None = None
        self.sent = 0
        self.failed = 0
        self.recovered = 0
        self._semaphores: dict[str, asyncio.Semaphore] = {}

    # -- loop ---------------------------------------------------------------------------------------

    async def run(self) -> None:
        """Supervised component: recover in-flight rows, then deliver until cancelled."""
        self.recovered = outbox.recover_in_flight(self.store)
        if self.recovered:
            log.warning("outbox: %d deliveries were in flight at the last stop; trying them again", self.recovered)
        while True:
            if not self.deliver():
                await self._idle()
                continue
            delivered = await self.run_once()
            if not delivered:
                await self._idle()

    async def _idle(self) -> None:
        interval = self.settings.worker.poll_interval
        if self.clock.replay:
            interval = min(interval, 0.05)  # a replay moves hours in seconds: keep up with it
        self.wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.wake.wait(), interval)

    def nudge(self) -> None:
        self.wake.set()

    async def run_once(self, channels: list[str] | None = None, ids: list[int] | None = None) -> int:
        """One pass: claim what is due and deliver it (concurrently, bounded per channel)."""
        rows = outbox.claim_due(
            self.store, clock_now=self.clock.now(), wall_now=utcnow(), limit=self.settings.worker.batch_size,
            channels=channels, ids=ids,
        )
        if rows:
            await asyncio.gather(*(self._deliver_bounded(row) for row in rows))
        return len(rows)

    async def drain(self, timeout: float = 30.0, channels: list[str] | None = None, ids: list[int] | None = None) -> None:
        """Deliver everything due now (CLI `--send`, tests), waiting out short retries."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if await self.run_once(channels, ids):
                continue
            sql = ("SELECT min(next_attempt_at) FROM outbox WHERE state = 'pending' "
                   "AND (not_before IS NULL OR not_before <= ?)")
            params: list[Any] = [to_iso(self.clock.now())]
            if ids is not None:
                sql += f" AND id IN ({','.join('?' * len(ids))})"
                params += ids
            waiting = self.store.conn.execute(sql, params).fetchone()[0]
            if waiting is None:
                return
            await asyncio.sleep(0.05)

    def _semaphore(self, channel: str) -> asyncio.Semaphore:
        if channel not in self._semaphores:
            self._semaphores[channel] = asyncio.Semaphore(self.settings.worker.concurrency)
        return self._semaphores[channel]

    async def _deliver_bounded(self, row: OutboxRow) -> None:
        async with self._semaphore(row.channel):
            await self.deliver_row(row)

    # -- one delivery -------------------------------------------------------------------------------

    async def deliver_row(self, row: OutboxRow) -> None:
        worker = self.settings.worker
        try:
            ref = await asyncio.wait_for(self._send(row), worker.send_timeout)
        except Deferred as exc:
            outbox.mark_retry(self.store, row.id, error=str(exc), count_attempt=False,
                              next_attempt_at=utcnow() + timedelta(seconds=exc.retry_after or 0.5))
            return
        except PermanentError as exc:
            self._failed(row, str(exc))
            outbox.mark_dead(self.store, row.id, error=str(exc))
            log.error("outbox #%s %s → %s: permanent failure, not retried: %s", row.id, row.channel, row.target, exc)
            return
        except asyncio.CancelledError:
            raise  # left `sending`: recovered at the next start
        except Exception as exc:
            message = str(exc) if isinstance(exc, TransientError) else f"{type(exc).__name__}: {exc}"
            if isinstance(exc, TimeoutError):
                message = f"délai dépassé ({worker.send_timeout:g} s)"
            if not isinstance(exc, TransientError | TimeoutError):
                log.exception("outbox #%s: unexpected error while delivering", row.id)
            self._failed(row, message)
            if row.attempts >= worker.max_attempts:
                outbox.mark_dead(self.store, row.id, error=f"{message} (après {row.attempts} tentatives)")
                log.error("outbox #%s %s → %s: dead after %d attempts: %s", row.id, row.channel, row.target,
                          row.attempts, message)
                return
            delay = outbox.backoff_delay(row.attempts, worker.backoff_initial, worker.backoff_max)
            retry_after = getattr(exc, "retry_after", None)
            if retry_after is not None:
                delay = max(delay, retry_after)
            outbox.mark_retry(self.store, row.id, error=message, next_attempt_at=utcnow() + timedelta(seconds=delay))
            log.warning("outbox #%s %s: attempt %d failed (%s); next in %.1fs", row.id, row.channel, row.attempts,
                        message, delay)
            return
        outbox.mark_sent(self.store, row.id, external_ref=ref, at=self.clock.now())
        self.sent += 1
        self.last_sent_at = to_iso(utcnow())
        if self.metrics is not None:
            self.metrics.alerts_sent.labels(channel=row.channel).inc()

    async def _send(self, row: OutboxRow) -> str | None:
        if row.kind == "digest":
            if self.digest_sender is None:
                raise PermanentError("synthèse : aucun expéditeur configuré")
            return await self.digest_sender(row)
        channel = self.channels.get(row.channel)
        if channel is None:
            raise PermanentError(f"canal « {row.channel} » inconnu ou désactivé")
        notification = self.notification(row)
        return await channel.send(notification)

    def notification(self, row: OutboxRow) -> Notification:
        return build_notification(self.store, row, tz=self.tz, institution=self.institution,
                                  ui_url=self.settings.link())

    def _failed(self, row: OutboxRow, message: str) -> None:
        self.failed += 1
        self.last_error = f"#{row.id} {row.channel}: {message}"[:300]
        self.last_error_at = to_iso(utcnow())
        if self.metrics is not None:
            self.metrics.alerts_failed.labels(channel=row.channel).inc()

    # -- health -------------------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        states = outbox.counts(self.store)
        age = outbox.oldest_due_age(self.store, clock_now=self.clock.now(), wall_now=utcnow())
        recent_dead = outbox.dead_since(self.store, utcnow() - timedelta(hours=24))
        state = "ok"
        if recent_dead or (age is not None and age > 300 and not self.clock.replay):
            state = "degraded"
        return {
            "state": state if self.deliver() else "paused",
            "deliver": self.deliver(),
            "outbox": states,
            "dead_last_24h": recent_dead,
            "oldest_waiting_seconds": round(age, 1) if age is not None else None,
            "sent": self.sent,
            "failed_attempts": self.failed,
            "recovered_at_start": self.recovered,
            "last_error": self.last_error,
            "last_error_at": self.last_error_at,
            "last_sent_at": self.last_sent_at,
            "channels": sorted(self.channels),
        }

    async def close(self) -> None:
        for channel in self.channels.values():
            try:
                await channel.close()
            except Exception:
                log.exception("closing channel %s", channel.name)
