"""Silence detector: a source or a usually busy key that goes quiet.

Why probability rather than a fixed timeout: ten silent minutes at 3 a.m. are normal, ten silent
minutes at noon on a source that brings 20 mentions a minute mean it is broken or blocked. The test
is P(no mention at all over the silent run) under the same seasonal expectation and overdispersion the
spike detector learned: NB gives P(0) = (1 + phi·mu)^(-1/phi) per bucket.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from classifiers.detection.settings import SilenceSettings

_LN10 = float(np.log(10.0))


@dataclass
class SilenceEvent:
    index: int
    episode: str  # start | update | end
    minute: int
    started: int
    silent_minutes: int
    expected: float
    score: float


class SilenceDetector:
    """Silent-run state for a set of rows (indices into the spike detector's keys)."""

    def __init__(self, settings: SilenceSettings | None = None, *, bucket_minutes: int = 1) -> None:
        self.settings = settings or SilenceSettings()
        self.bucket_minutes = bucket_minutes
        self.rows: dict[int, dict] = {}

    def watch(self, index: int) -> None:
        self.rows.setdefault(index, {"run": 0, "expected": 0.0, "log_p0": 0.0, "active": False, "started": 0})

    def step(self, minute: int, counts: np.ndarray, expected: np.ndarray, phi: np.ndarray,
             ready: np.ndarray) -> list[SilenceEvent]:
        """counts/expected/phi/ready are the spike detector's per-key arrays for this bucket."""
        s, bm = self.settings, self.bucket_minutes
        events: list[SilenceEvent] = []
        for index, row in self.rows.items():
            if index >= counts.shape[0]:
                continue
            if counts[index] > 0:
                if row["active"]:
                    events.append(SilenceEvent(index, "end", minute, row["started"], row["run"] * bm,
                                               row["expected"], -row["log_p0"] / _LN10))
                row.update(run=0, expected=0.0, log_p0=0.0, active=False)
                continue
            if not ready[index]:
                continue
            mu, dispersion = float(expected[index]), max(float(phi[index]), 1e-6)
            if row["run"] == 0:
                row["started"] = minute
            row["run"] += 1
            row["expected"] += mu
            row["log_p0"] += -np.log1p(dispersion * mu) / dispersion
            score = -row["log_p0"] / _LN10
            if not row["active"] and score >= s.score_threshold and row["run"] * bm >= s.min_silent_minutes:
                row["active"] = True
                events.append(SilenceEvent(index, "start", minute, row["started"], row["run"] * bm,
                                           row["expected"], score))
        return events
