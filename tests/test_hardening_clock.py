"""Evaluation off the event loop and on a monotonic schedule, through the real daemon with an injected
clock: a wall clock stepped back an hour does not stop the per-minute passes, health reports the step,
and a stalled evaluation is reported whatever the wall clock says."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import timedelta

from listener.app import EvaluationStep, Vigie
from listener.clock import Clock, EvaluationWatch
from listener.timeutil import utcnow
from tests.fakes import wait_for


class SteppedClock(Clock):
    """Live wall clock running 600× fast (a minute every 0.1 s), which a test can step like NTP does."""

    def __init__(self) -> None:
        self.base = utcnow().replace(second=0, microsecond=0)
        self.started = time.monotonic()
        self.offset = timedelta(0)

    def now(self):
        return self.base + timedelta(seconds=(time.monotonic() - self.started) * 600) + self.offset

    async def sleep_until(self, moment) -> None:
        delay = (moment - self.now()).total_seconds()
        if delay > 0:
            await asyncio.sleep(delay / 600)


async def test_a_clock_stepped_back_an_hour_does_not_stop_the_evaluation(make_settings):
    clock = SteppedClock()
    app = Vigie(make_settings(pipeline={"classify": False}, web={"enabled": False}), clock=clock,
                deliver=False, web_enabled=False)
    seen: list = []
    threads: set[str] = set()

    def probe(as_of) -> None:
        seen.append(as_of)
        threads.add(threading.current_thread().name)

    # A last step of its own (steps come from the areas' manifests; this one is the test's probe).
    app.evaluation_steps.append(EvaluationStep("probe", 99, probe))
    await app.start()
    try:
        await wait_for(lambda: len(seen) >= 3, timeout=30)
        before = max(seen)
        clock.offset = -timedelta(hours=10)
        count = len(seen)
        # Passes go on, as of the new (earlier) wall time: at 600×, ten hours would be a minute of waiting.
        await wait_for(lambda: len(seen) >= count + 3 and seen[-1] < before, timeout=30)
        health = app.health()["components"]["evaluation"]
        assert health["state"] == "degraded" and health["clock_step"]["seconds"] < -9 * 3600
        assert "horloge" in health["warning"]
        assert app.health()["status"] == "ok"  # a step is reported, not an outage
        # The detection and rules passes ran on the evaluation thread, never on the event loop's.
        assert threads == {t for t in threads if t.startswith("vigie-evaluation")}
    finally:
        await app.stop()


def test_a_stalled_evaluation_is_reported_by_monotonic_time():
    watch = EvaluationWatch(60)
    watch.passed(utcnow())
    assert watch.health()["state"] == "ok"
    watch.last_pass_monotonic = time.monotonic() - 600  # ten minutes without a pass, whatever the wall says
    report = watch.health()
    assert report["state"] == "failing" and "évaluation arrêtée" in report["error"]


async def test_live_steps_read_ahead_between_passes_on_the_evaluation_thread(make_settings, monkeypatch):
    """Live, a step's `absorb` runs every few seconds between passes, on the evaluation thread (where
    the detection and rules steps read and tokenise what was stored, instead of a minute at once)."""
    monkeypatch.setattr("listener.app.ABSORB_EVERY_SECONDS", 0.01)
    app = Vigie(make_settings(pipeline={"classify": False}, web={"enabled": False}), deliver=False,
                web_enabled=False)
    threads: list[str] = []
    app.evaluation_steps.append(EvaluationStep("probe", 99, lambda as_of: None,
                                               absorb=lambda: threads.append(threading.current_thread().name)))
    await app.start()
    try:
        await wait_for(lambda: len(threads) >= 3, timeout=30)
        assert all(name.startswith("vigie-evaluation") for name in threads)
    finally:
        await app.stop()
