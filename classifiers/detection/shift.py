"""Negative-shift detector: the share of negative or hostile mentions on a topic well above its baseline.

Why a binomial test on a window with a minimum volume and a minimum absolute rise: a topic going from
30 % to 60 % negative over 80 mentions is a story; 2 negative mentions out of 3 is not. Negative and
hostile shares are tested separately, each against its own baseline (hostility is rarer: 0 % → 15 %
hostile is a storm even when the negative share barely moves). The baseline only learns from minutes
that have left the tested window, and not at all while an episode is open, so a storm is never its
own reference.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from scipy.stats import binom

from classifiers.detection.settings import ShiftSettings

MEASURES = ("negative", "hostile")


@dataclass
class ShiftEvent:
    key: str
    episode: str  # start | update | end
    minute: int
    started: int
    measure: str  # negative | hostile
    share: float
    baseline: float
    volume: int
    negative: int
    hostile: int
    score: float
    p_value: float


@dataclass
class _Series:
    ring: deque = field(default_factory=deque)  # (minute, total, negative, hostile)
    total: int = 0
    negative: int = 0
    hostile: int = 0
    base: dict = field(default_factory=lambda: {"total": 0.0, "negative": 0.0, "hostile": 0.0})
    active: bool = False
    started: int = 0
    measure: str = "negative"
    peak: float = 0.0
    quiet: int = 0


class ShiftDetector:
    """One series per topic key ("all", "topic:<name>"); feed per-minute counts with `step`."""

    def __init__(self, settings: ShiftSettings | None = None) -> None:
        self.settings = settings or ShiftSettings()
        self.series: dict[str, _Series] = {}
        self._decay = 0.5 ** (1.0 / self.settings.baseline_half_life_minutes)

    def baseline(self, key: str, measure: str = "negative") -> float:
        s = self.settings
        prior = s.prior_share if measure == "negative" else s.prior_hostile_share
        state = self.series.get(key)
        bad, total = (state.base[measure], state.base["total"]) if state else (0.0, 0.0)
        return (bad + prior * s.prior_volume) / (total + s.prior_volume)

    def step(self, minute: int, counts: dict[str, tuple[int, int, int]]) -> list[ShiftEvent]:
        """counts: key -> (total, negative, hostile) for this minute (keys absent = nothing)."""
        s = self.settings
        events: list[ShiftEvent] = []
        for key in set(self.series) | set(counts):
            state = self.series.get(key)
            if state is None:
                state = self.series[key] = _Series()
            total, negative, hostile = counts.get(key, (0, 0, 0))
            base = state.base
            for name in base:
                base[name] *= self._decay
            if total or negative or hostile:
                state.ring.append((minute, total, negative, hostile))
                state.total += total
                state.negative += negative
                state.hostile += hostile
            while state.ring and state.ring[0][0] <= minute - s.window_minutes:
                _, t, n, h = state.ring.popleft()
                state.total -= t
                state.negative -= n
                state.hostile -= h
                if not state.active:  # the baseline learns from what left the window
                    base["total"] += t
                    base["negative"] += min(n, t)
                    base["hostile"] += min(h, t)
            event = self._test(key, state, minute)
            if event is not None:
                events.append(event)
            if not state.ring and not state.active and base["total"] < 1.0:
                del self.series[key]
        return events

    def _measure(self, key: str, state: _Series, measure: str) -> tuple[float, float, float, float, bool]:
        """(share, baseline, score, p, firing) of one measure over the current window."""
        s = self.settings
        volume = state.total
        bad = min(volume, state.negative if measure == "negative" else state.hostile)
        base = self.baseline(key, measure)
        share = bad / volume if volume else 0.0
        p = float(binom.sf(bad - 1, volume, base)) if volume and bad else 1.0
        score = min(-math.log10(max(p, 1e-300)), 300.0)
        delta = s.min_delta if measure == "negative" else s.min_delta_hostile
        firing = volume >= s.min_volume and share >= base + delta and score >= s.score_threshold
        return share, base, score, p, firing

    def _test(self, key: str, state: _Series, minute: int) -> ShiftEvent | None:
        s = self.settings
        results = {measure: self._measure(key, state, measure) for measure in MEASURES}
        firing = [m for m in MEASURES if results[m][4]]
        measure = max(firing, key=lambda m: results[m][2]) if firing else state.measure
        share, base, score, p, _ = results[measure]

        def event(kind: str) -> ShiftEvent:
            return ShiftEvent(key, kind, minute, state.started, measure, round(share, 4), round(base, 4),
                              state.total, state.negative, state.hostile, score, p)

        if not state.active:
            if firing:
                state.active, state.started, state.measure, state.peak, state.quiet = True, minute, measure, share, 0
                return event("start")
            return None
        if firing:
            state.quiet = 0
            if measure != state.measure or share >= state.peak + 0.1:
                state.measure, state.peak = measure, max(share, state.peak if measure == state.measure else 0)
                return event("update")
            return None
        state.quiet += 1
        if state.quiet >= max(1, s.window_minutes // 2) or state.total < s.min_volume // 2:
            state.active = False
            return event("end")
        return None
