"""Time as the daemon sees it.

Live, it is the wall clock. During a replay it is the time of the newest mention stored, so every
time-based computation (buckets, baselines, throttling, quiet hours, escalation) behaves as it would
have on the recorded day.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from listener.timeutil import utcnow


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
