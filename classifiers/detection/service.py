"""Detection step of the daemon: runs the detectors once per minute bucket and writes Signal rows.

Why in-memory streaming state: a replay evaluates every recorded minute (~2,200 for the demo), so each
pass reads only the new minute's counters and the mentions stored since the last pass; baselines,
episodes and term histories stay in memory. On start, the recent history in the store primes the
baselines silently (a restart must not re-alert on everything or forget what is normal).

Why `absorb()` between passes: at 1,000 mentions/s tokenising a minute's 60,000 texts for the new-term
detector costs seconds of CPU; done in one go at the pass, it holds the GIL the pipeline and the event
loop need. The daemon calls `absorb()` every few seconds instead, so the texts are read and tokenised
as they arrive, and the pass only feeds the complete minute's terms to the detector (same results:
terms are a pure function of the text, and what a pass observes does not depend on when it was read).
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from classifiers.detection.newterms import NewTermDetector
from classifiers.detection.settings import DetectorSettings
from classifiers.detection.shift import ShiftDetector
from classifiers.detection.silence import SilenceDetector
from classifiers.detection.spikes import SpikeDetector
from classifiers.detection.trends import terms_of
from listener.models import Signal
from listener.store import Store
from listener.timeutil import bucket_start, minute_bucket, to_iso

log = logging.getLogger(__name__)

_SHIFT_PREFIXES = ("neg:", "hostile:")
_PRIME_DAYS = 7  # days of stored counters replayed silently at start-up
_MENTION_BATCH = 5000
_SEED_LIMIT = 50_000  # most recent mentions read at start-up to know which terms are not new (~3 s)
_READ_CHUNK = 360  # minutes of counters read at once when catching up (bounded memory)
_IDLE_MINUTES = 7 * 1440  # a hashtag silent for a week is forgotten (it can come back as new)
_FORGETTABLE = ("hashtag:", "keyword:")


class DetectionService:
    """All detectors of the daemon and their state (exposed for tests and health)."""

    def __init__(self, store: Store, settings: DetectorSettings, *, tz: ZoneInfo | None = None,
                 sources: list[str] | None = None) -> None:
        self.store = store
        self.settings = settings
        self.tz = tz
        self.spikes = SpikeDetector(settings.spikes, bucket_minutes=1, capacity=256)
        self.silence = SilenceDetector(settings.silence, bucket_minutes=1)
        self.shift = ShiftDetector(settings.negative_shift)
        self.newterms = NewTermDetector(settings.new_terms)
        self.last_bucket: int | None = None
        self.last_mention_id = 0
        # Mentions read but not yet observed (their minute is not complete): id, minute, author, terms. The
        # terms as a tuple: a minute at 1,000 mentions/s holds 60,000 of them, and a set of ten costs 728 bytes.
        self.pending: list[tuple[int, int, str | None, tuple[str, ...]]] = []
        self.signals_written = 0
        self.passes = 0
        self.last_pass_seconds = 0.0
        self.last_error: str | None = None
        for name in sources or []:
            self._watch_silence(self.spikes.key_index(f"source:{name}"))
        for key in settings.silence.keys:
            self._watch_silence(self.spikes.key_index(key))

    # -- helpers ----------------------------------------------------------------------------------

    def _watch_silence(self, index: int) -> None:
        self.silence.watch(index)

    def _local_minute(self, minute: int) -> int:
        if self.tz is None:
            return minute
        offset = bucket_start(minute).astimezone(self.tz).utcoffset()
        return minute + int(offset.total_seconds() // 60) if offset else minute

    def health(self) -> dict[str, Any]:
        return {
            "state": "ok" if self.last_error is None else "failing",
            "last_bucket": to_iso(bucket_start(self.last_bucket)) if self.last_bucket is not None else None,
            "keys": len(self.spikes.keys),
            "open_spikes": int(self.spikes.active[: len(self.spikes.keys)].sum()),
            "open_new_terms": sum(1 for w in self.newterms.windows.values() if w.active),
            "passes": self.passes,
            "signals_written": self.signals_written,
            "last_pass_ms": round(self.last_pass_seconds * 1000, 2),
            "last_error": self.last_error,
        }

    # -- the per-minute pass ----------------------------------------------------------------------

    def run(self, as_of: datetime) -> list[Signal]:
        """Evaluate every complete bucket before `as_of` not yet seen; store and return the signals."""
        started = time.perf_counter()
        end = minute_bucket(as_of)  # exclusive
        signals: list[Signal] = []
        try:
            if self.last_bucket is None:
                self._prime(end - 1)
            if self.last_bucket is not None and self.last_bucket < end - 1:
                signals.extend(self._counters(self.last_bucket + 1, end))
            signals.extend(self._new_terms(as_of, end - 1))
            if signals:
                self.store.add_signals(signals)
                self.signals_written += len(signals)
            self.last_error = None
        except Exception as exc:  # keep the daemon alive; the health report shows it
            self.last_error = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            self.passes += 1
            self.last_pass_seconds = time.perf_counter() - started
        return signals

    def _prime(self, first: int) -> None:
        """Silently learn from the stored history before the first evaluated bucket."""
        earliest = first - _PRIME_DAYS * 1440
        found = self.store.first_count_bucket(earliest)
        start = found if found is not None else first
        self.last_bucket = min(start, first) - 1
        if start < first:
            self._counters(start, first)  # events discarded: they happened before we were watching
            # Episodes still open are re-announced with a "start" if they go on (never an orphan update).
            self.spikes.active[:] = False
            for series in self.shift.series.values():
                series.active = False
            for row in self.silence.rows.values():
                row["active"] = False
        self._seed_terms(first)

    def _counters(self, start: int, end: int) -> list[Signal]:
        """Run every bucket in [start, end), reading the counters a few hours at a time."""
        signals: list[Signal] = []
        for chunk in range(start, end, _READ_CHUNK):
            chunk_end = min(chunk + _READ_CHUNK, end)
            per_bucket: dict[int, list[tuple[str, int]]] = defaultdict(list)
            for key, bucket, n in self.store.counts_between(chunk, chunk_end):
                per_bucket[bucket].append((key, n))
            for minute in range(chunk, chunk_end):
                signals.extend(self._one_bucket(minute, per_bucket.get(minute, [])))
                self.last_bucket = minute
                if minute % 1440 == 0:
                    self._forget_idle(minute)
        return signals

    def _forget_idle(self, minute: int) -> None:
        """Once a day, drop hashtag/keyword counters silent for a week (memory stays bounded)."""
        idle = self.spikes.idle_keys(minute, _IDLE_MINUTES, _FORGETTABLE)
        if not idle:
            return
        watched = {self.spikes.keys[i]: row for i, row in self.silence.rows.items()}
        self.spikes.forget(idle - set(watched))
        self.silence.rows = {self.spikes.index[key]: row for key, row in watched.items()}

    def _one_bucket(self, minute: int, rows: list[tuple[str, int]]) -> list[Signal]:
        spikes = self.spikes
        indices, values = [], []
        shift_counts: dict[str, list[int]] = {}
        for key, n in rows:
            if key.startswith(_SHIFT_PREFIXES):
                kind, _, topic_key = key.partition(":")
                shift_counts.setdefault(topic_key, [0, 0, 0])[1 if kind == "neg" else 2] += n
                continue
            if key == "all" or key.startswith("topic:"):
                shift_counts.setdefault(key, [0, 0, 0])[0] += n
            indices.append(spikes.key_index(key))
            values.append(n)
        counts = np.zeros(len(spikes.keys))
        if indices:
            counts[np.asarray(indices)] = values
        at = bucket_start(minute + 1)
        result = spikes.step(minute, counts, local_minute=self._local_minute(minute))
        signals = [
            Signal(
                kind="spike", key=spikes.keys[e.index], at=at, score=round(e.score, 3), severity=e.severity,
                observed=e.observed, expected=round(e.expected, 3), started_at=bucket_start(e.started),
                details={"window_minutes": e.window_minutes, "episode": e.episode, "p_value": e.p_value},
            )
            for e in result.events
        ]
        for e in self.silence.step(minute, counts, spikes.quiet_expected(), spikes.dispersion(0), spikes.ready()):
            key = spikes.keys[e.index]
            signals.append(Signal(
                kind="silence", key=key, at=at, score=round(e.score, 3),
                severity="warning" if key.startswith("source:") else "info", observed=0,
                expected=round(e.expected, 2), started_at=bucket_start(e.started),
                details={"silent_minutes": e.silent_minutes, "episode": e.episode},
            ))
        s = self.settings.negative_shift
        for e in self.shift.step(minute, {k: (v[0], v[1], v[2]) for k, v in shift_counts.items()}):
            severity = "info"
            if e.score >= 2 * s.score_threshold:
                severity = "warning"
            delta = s.min_delta if e.measure == "negative" else s.min_delta_hostile
            if e.score >= 4 * s.score_threshold and e.share - e.baseline >= 2 * delta:
                severity = "critical"
            signals.append(Signal(
                kind="negative_shift", key=e.key, at=at, score=round(e.score, 3), severity=severity,
                observed=e.share, expected=e.baseline, started_at=bucket_start(e.started),
                details={"volume": e.volume, "negative": e.negative, "hostile": e.hostile, "episode": e.episode,
                         "measure": e.measure, "window_minutes": s.window_minutes, "p_value": e.p_value},
            ))
        return signals

    # -- new terms ----------------------------------------------------------------------------------

    def _seed_terms(self, first: int) -> None:
        s = self.settings.new_terms
        since = bucket_start(first - s.history_days * 1440)
        window_start = first - s.window_minutes
        for mention_id, created_at, author, text in reversed(self.store.recent_texts(since, _SEED_LIMIT)):
            minute = minute_bucket(created_at)
            terms = terms_of(text, phrases=s.phrases)
            if minute < window_start:
                self.newterms.seed(minute, terms)
            elif minute <= first:
                self.newterms.observe(minute, mention_id, author, terms)
            else:
                self.pending.append((mention_id, minute, author, tuple(terms)))
            self.last_mention_id = max(self.last_mention_id, mention_id)
        self.last_mention_id = max(self.last_mention_id, self.store.last_mention_id())

    def absorb(self) -> int:
        """Between passes: read and tokenise the mentions stored since the last read (see the module
        docstring); returns how many. Before the first pass (priming) there is nothing to follow yet."""
        if self.last_bucket is None:
            return 0
        return self._read_texts()

    def _read_texts(self) -> int:
        phrases = self.settings.new_terms.phrases
        read = 0
        while True:
            rows = self.store.texts_after(self.last_mention_id, _MENTION_BATCH)
            self.pending.extend((mention_id, minute_bucket(created_at), author, tuple(terms_of(text, phrases=phrases)))
                                for mention_id, created_at, author, text in rows)
            read += len(rows)
            if rows:
                self.last_mention_id = rows[-1].id
            if len(rows) < _MENTION_BATCH:
                return read

    def _new_terms(self, as_of: datetime, last_minute: int) -> list[Signal]:
        s = self.settings.new_terms
        self._read_texts()
        keep = []
        for item in self.pending:
            mention_id, minute, author, terms = item
            if minute <= last_minute:
                self.newterms.observe(minute, mention_id, author, terms)
            else:
                keep.append(item)
        self.pending = keep
        at = bucket_start(last_minute + 1)
        signals = []
        for e in self.newterms.evaluate(last_minute):
            severity = "warning" if e.mentions >= 3 * s.min_mentions else "info"
            signals.append(Signal(
                kind="new_term", key=e.key, at=at, score=float(e.mentions), severity=severity,
                observed=float(e.mentions), expected=float(s.max_prior_mentions), started_at=bucket_start(e.started),
                details={"authors": e.authors, "sample_ids": e.sample_ids, "episode": e.episode,
                         "window_minutes": s.window_minutes},
            ))
        return signals
