"""The outbox worker: claims due rows, delivers them, records the outcome.

Per row: pending → sending (committed) → channel.send → sent (with the receiver's reference), or
pending again with exponential backoff capped at backoff_max (transient failure, Retry-After honoured;
retried forever unless max_attempts is set), or dead (permanent failure: invalid address, unknown
channel). A delivery failing for fallback_after_minutes is copied once to its fallback targets (the
group's fallback group, else the console/journal) and /healthz reports « livraison en échec ».
Store writes run on the worker's own thread, so a locked store never holds the event loop. At start-up, rows left `sending` by a killed process go back to
pending: at-least-once, with the idempotency key carried to receivers so they can drop a repeat.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from functools import partial
from typing import Any

from alerts import outbox
from alerts.channels import Channel, Deferred, PermanentError, TransientError
from alerts.outbox import OutboxRow
from alerts.render import Notification, build_notification
from alerts.settings import AlertsSettings
from listener.clock import Clock
from listener.store import Store
from listener.timeutil import parse_time, to_iso, utcnow

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
        self._db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vigie-outbox")
        self._loop: asyncio.AbstractEventLoop | None = None
        self.fallbacks = 0

    async def _write(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run a store write on the worker's thread (the event loop stays free under a foreign lock)."""
        return await asyncio.get_running_loop().run_in_executor(self._db, partial(func, *args, **kwargs))

    # -- loop ---------------------------------------------------------------------------------------

    async def run(self) -> None:
        """Supervised component: recover in-flight rows, then deliver until cancelled."""
        self._loop = asyncio.get_running_loop()
        self.recovered = await self._write(outbox.recover_in_flight, self.store)
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
        """Wake the worker; callable from any thread (the rules pass runs off the loop)."""
        loop = self._loop
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if loop is not None and running is not loop and not loop.is_closed():
            loop.call_soon_threadsafe(self.wake.set)
        else:
            self.wake.set()

    async def run_once(self, channels: list[str] | None = None, ids: list[int] | None = None) -> int:
        """One pass: claim what is due and deliver it (concurrently, bounded per channel)."""
        rows = await self._write(
            outbox.claim_due, self.store, clock_now=self.clock.now(), wall_now=utcnow(),
            limit=self.settings.worker.batch_size, channels=channels, ids=ids,
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
            await self._write(outbox.mark_retry, self.store, row.id, error=str(exc), count_attempt=False,
                              next_attempt_at=utcnow() + timedelta(seconds=exc.retry_after or 0.5))
            return
        except PermanentError as exc:
            self._failed(row, str(exc))
            await self._write(outbox.mark_dead, self.store, row.id, error=str(exc))
            log.error("outbox #%s %s → %s: permanent failure, not retried: %s", row.id, row.channel, row.target, exc)
            await self._fall_back(row, f"erreur définitive : {exc}")
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
            if worker.max_attempts and row.attempts >= worker.max_attempts:
                await self._write(outbox.mark_dead, self.store, row.id,
                                  error=f"{message} (après {row.attempts} tentatives)")
                log.error("outbox #%s %s → %s: dead after %d attempts: %s", row.id, row.channel, row.target,
                          row.attempts, message)
                await self._fall_back(row, message)
                return
            delay = outbox.backoff_delay(row.attempts, worker.backoff_initial, worker.backoff_max)
            retry_after = getattr(exc, "retry_after", None)
            if retry_after is not None:
                delay = max(delay, retry_after)
            await self._write(outbox.mark_retry, self.store, row.id, error=message,
                              next_attempt_at=utcnow() + timedelta(seconds=delay))
            log.warning("outbox #%s %s: attempt %d failed (%s); next in %.1fs", row.id, row.channel, row.attempts,
                        message, delay)
            if self._failing_too_long(row):
                await self._fall_back(row, message)
            return
        await self._write(outbox.mark_sent, self.store, row.id, external_ref=ref, at=self.clock.now())
        self.sent += 1
        self.last_sent_at = to_iso(utcnow())
        if self.metrics is not None:
            self.metrics.alerts_sent.labels(channel=row.channel).inc()

    def _failing_too_long(self, row: OutboxRow) -> bool:
        minutes = self.settings.worker.fallback_after_minutes
        if not minutes or row.fallback_at is not None or row.payload.get("fallback_of") is not None:
            return False
        since = parse_time(row.failing_since) if row.failing_since else utcnow()
        return utcnow() - since >= timedelta(minutes=minutes)

    async def _fall_back(self, row: OutboxRow, reason: str) -> None:
        """« Livraison en échec »: a copy goes to the fallback targets (the original keeps its own fate)."""
        if row.fallback_at is not None or row.payload.get("fallback_of") is not None or row.kind == "digest":
            return
        # The group's fallback targets, and always the console/journal: it works when every server is down.
        targets = list(dict.fromkeys([*(tuple(pair) for pair in row.fallback or []), ("console", "-")]))
        usable = [(c, t) for c, t in targets if c in self.channels]
        log.error("outbox #%s %s → %s: livraison en échec (%s); copy to %s", row.id, row.channel, row.target,
                  reason, ", ".join(f"{c}:{t}" for c, t in usable) or "the log only (no fallback channel enabled)")
        ids = await self._write(outbox.fall_back, self.store, row, usable, at=self.clock.now())
        self.fallbacks += 1
        if self.metrics is not None:
            self.metrics.alerts_failed.labels(channel=f"{row.channel}:secours").inc()
        if ids:
            self.nudge()

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
        minutes = self.settings.worker.fallback_after_minutes or 10.0
        stuck = outbox.failing(self.store, older_than=utcnow() - timedelta(minutes=minutes))
        state = "ok"
        if recent_dead or (age is not None and age > 300 and not self.clock.replay):
            state = "degraded"
        if stuck:
            state = "failing"
        return {
            "state": state if self.deliver() else "paused",
            # « livraison en échec »: deliveries still not through after fallback_after_minutes of failures.
            "delivery_failing": [
                {"id": r.id, "channel": r.channel, "target": r.target[:60], "since": r.failing_since,
                 "attempts": r.attempts, "fallback_sent": r.fallback_at is not None, "error": r.last_error}
                for r in stuck
            ],
            "message": f"livraison en échec : {len(stuck)} envoi(s) bloqué(s)" if stuck else None,
            "fallbacks": self.fallbacks,
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
        self._db.shutdown(wait=True)
        for channel in self.channels.values():
            try:
                await channel.close()
            except Exception:
                log.exception("closing channel %s", channel.name)
