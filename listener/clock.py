"""Time as the daemon sees it.

Live, it is the wall clock. During a replay it is the time of the newest mention stored, so every
time-based computation (buckets, baselines, throttling, quiet hours, escalation) behaves as it would
have on the recorded day.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime
from typing import Any

from listener.timeutil import to_iso, utcnow

log = logging.getLogger("vigie.clock")


class Clock:
    """Wall clock."""

    replay = False

    def now(self) -> datetime:
        return utcnow()

    async def sleep_until(self, moment: datetime) -> None:
        delay = (moment - self.now()).total_seconds()
        if delay > 0:
            await asyncio.sleep(delay)

    def close(self) -> None:
        """Wake sleepers for shutdown (no-op for the wall clock)."""

    async def wait_started(self) -> None:
        """Return once the clock tells recorded or real time (at once for the wall clock)."""


class ReplayClock(Clock):
    """Clock driven by recorded timestamps; advanced by the pipeline after each stored batch."""

    replay = True

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start
        self._changed = asyncio.Event()
        self.closed = False

    def now(self) -> datetime:
        if self._now is None:
            return utcnow()
        return self._now

    @property
    def started(self) -> bool:
        return self._now is not None

    def advance(self, moment: datetime) -> None:
        """Move time forward (never backward: late mentions do not rewind the clock)."""
        if self._now is None or moment > self._now:
            self._now = moment
            self._changed.set()

    def close(self) -> None:
        self.closed = True
        self._changed.set()

    async def wait_started(self) -> None:
        """Before the first stored mention a replay has no time yet: evaluating "now" then would mark
        the wall-clock day as done and skip every recorded minute."""
        while self._now is None and not self.closed:
            self._changed.clear()
            await self._changed.wait()

    async def sleep_until(self, moment: datetime) -> None:
        while not self.closed and (self._now is None or self._now < moment):
            self._changed.clear()
            await self._changed.wait()


class EvaluationWatch:
    """Keeps the per-minute evaluation honest against the monotonic clock: when the last pass is too old
    (in monotonic seconds, whatever the wall clock says) health says the evaluation is stalled, and a
    wall-clock step seen by the scheduler is reported for an hour."""

    def __init__(self, interval_seconds: float, *, replay: bool = False) -> None:
        self.interval = max(60.0, float(interval_seconds))
        self.replay = replay
        self.passes = 0
        self.last_as_of: datetime | None = None
        self.last_pass_monotonic: float | None = None
        self.started_monotonic = time.monotonic()
        self.last_step: dict[str, Any] | None = None
        self.last_step_monotonic: float | None = None

    def passed(self, as_of: datetime) -> None:
        self.passes += 1
        self.last_as_of = as_of
        self.last_pass_monotonic = time.monotonic()

    def stepped(self, wall_now: datetime, seconds: float) -> None:
        direction = "back" if seconds < 0 else "ahead"
        log.warning("wall clock stepped %s by about %d min (seen at %s): evaluation follows the new time",
                    direction, abs(seconds) // 60, to_iso(wall_now))
        self.last_step = {"seconds": seconds, "seen_at": to_iso(wall_now)}
        self.last_step_monotonic = time.monotonic()

    def health(self) -> dict[str, Any]:
        now = time.monotonic()
        since = now - (self.last_pass_monotonic or self.started_monotonic)
        report: dict[str, Any] = {
            "passes": self.passes,
            "last_as_of": to_iso(self.last_as_of) if self.last_as_of else None,
            "seconds_since_last_pass": round(since, 1),
        }
        if not self.replay and since > 3 * self.interval:
            report.update(state="failing", error=f"évaluation arrêtée depuis {since:.0f} s")
        elif self.last_step is not None and self.last_step_monotonic is not None and now - self.last_step_monotonic < 3600:
            report.update(state="degraded", clock_step=self.last_step,
                          warning=f"horloge système décalée de {self.last_step['seconds'] / 60:+.0f} min")
        else:
            report["state"] = "ok"
        return report
