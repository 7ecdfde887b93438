"""What the dashboard shows, read from the store: volume per key with the detector's expected band,
negative and hostile shares, top authors by reach, the crisis level's history, trending terms.

Why the band is computed here: the spike detector keeps only its current state, so the chart replays
the same model (classifiers.detection.spikes.SpikeDetector, same settings) over the chart's own buckets, with a
warm-up before the first one; the band is expected ± 2 standard deviations of its negative-binomial
model (variance = mu + phi·mu²), the scale at which the detector starts to find a count surprising.
Every query reads the covering indexes (counts by key and bucket, mentions by created_at).
"""

from __future__ import annotations

import copy
import json
import math
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from classifiers.detection.settings import SpikeSettings, TrendingSettings
from classifiers.detection.spikes import SpikeDetector
from listener.store import Store
from listener.timeutil import parse_time, to_iso
from rules import crisis_state

BAND_SIGMAS = 2.0
MAX_KEYS = 8
# Chart resolution by range: at most ~200 points, whatever the range.
STEPS = ((6, 5), (24, 10), (48, 15), (24 * 7, 60), (24 * 31, 240))
WARMUP_BUCKETS = 4 * 24  # buckets of history fed to the detector before the chart's first one (capped)
KEY_KINDS = ("all", "topic", "hashtag", "keyword", "crisis", "source")
KIND_FR = {"all": "Ensemble", "topic": "Sujets", "hashtag": "Mots-dièse", "keyword": "Mots-clés",
           "crisis": "Types de crise", "source": "Sources"}


def step_minutes(hours: float) -> int:
    for limit, step in STEPS:
        if hours <= limit:
            return step
    return 1440


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime
    step: int  # minutes per bucket

    @property
    def first_bucket(self) -> int:
        return int(self.start.timestamp() // 60)

    @property
    def n(self) -> int:
        return max(1, math.ceil((self.end - self.start).total_seconds() / 60 / self.step))

    def times(self) -> list[str]:
        return [to_iso(self.start + timedelta(minutes=self.step * i)) for i in range(self.n)]


def window_for(end: datetime, hours: float) -> Window:
    step = step_minutes(hours)
    end_minute = math.ceil(end.timestamp() / 60 / step) * step  # whole buckets, the last one partial
    start_minute = end_minute - int(hours * 60) // step * step
    return Window(datetime.fromtimestamp(start_minute * 60, end.tzinfo),
                  datetime.fromtimestamp(end_minute * 60, end.tzinfo), step)


def bucketed(store: Store, keys: list[str], start_minute: int, end_minute: int, step: int) -> dict[str, np.ndarray]:
    """Per key, counts summed into `step`-minute buckets over [start, end) (zeros where nothing was seen)."""
    n = max(1, (end_minute - start_minute) // step)
    out = {key: np.zeros(n) for key in keys}
    if not keys:
        return out
    marks = ",".join("?" * len(keys))
    rows = store.conn.execute(
        f"SELECT key, (bucket - ?) / ?, sum(n) FROM counts WHERE key IN ({marks}) AND bucket >= ? AND bucket < ? "
        "GROUP BY key, (bucket - ?) / ?",
        [start_minute, step, *keys, start_minute, end_minute, start_minute, step],
    )
    for key, index, total in rows:
        if 0 <= index < n:
            out[key][index] = total
    return out


class BandCache:
    """The detector's state per (key, bucket size), carried forward between requests.

    The model is causal: the band of a past bucket never changes, so a dashboard refreshed every minute
    feeds the detector only the buckets completed since (the current, partial bucket is read from a copy
    and never learnt). Bounded: the least recently used series are forgotten."""

    def __init__(self, settings: SpikeSettings | None = None, capacity: int = 64) -> None:
        self.settings = settings
        self.capacity = capacity
        self._lock = threading.Lock()
        self._series: dict[tuple[str, int], _BandState] = {}

    def band(self, store: Store, key: str, window: Window, now_minute: int, tz: Any) -> tuple[np.ndarray, np.ndarray]:
        """(expected, standard deviation) for each bucket of the window."""
        step = window.step
        warmup = WARMUP_BUCKETS if step <= 60 else 24
        first = window.first_bucket
        with self._lock:
            state = self._series.pop((key, step), None)
            if state is None or state.origin > first - warmup * step or (first - state.origin) % step:
                state = _BandState(SpikeDetector(self.settings, bucket_minutes=step, capacity=1), first - warmup * step)
                state.detector.key_index(key)
            self._series[(key, step)] = state
            while len(self._series) > self.capacity:
                self._series.pop(next(iter(self._series)))
            complete_end = min(now_minute // step * step, first + window.n * step)
            if state.next_minute < complete_end:
                counts = bucketed(store, [key], state.next_minute, complete_end, step)[key]
                for i, value in enumerate(counts):
                    minute = state.next_minute + i * step
                    mu, sd = _step(state.detector, minute, value, tz)
                    state.values[minute] = (mu, sd)
                state.next_minute = complete_end
                if len(state.values) > 20_000:  # a daemon running for months keeps the recent part only
                    horizon = first - warmup * step
                    state.values = {m: v for m, v in state.values.items() if m >= horizon}
            expected = np.zeros(window.n)
            spread = np.zeros(window.n)
            partial: tuple[float, float] | None = None
            for i in range(window.n):
                minute = first + i * step
                found = state.values.get(minute)
                if found is None and minute == state.next_minute and partial is None:
                    # The bucket still filling: its expectation from a copy (it must not be learnt half-full).
                    value = bucketed(store, [key], minute, minute + step, step)[key][0]
                    partial = _step(copy.deepcopy(state.detector), minute, value, tz)
                    found = partial
                if found is not None:
                    expected[i], spread[i] = found
            return expected, spread


@dataclass
class _BandState:
    detector: SpikeDetector
    origin: int
    next_minute: int = 0
    values: dict[int, tuple[float, float]] = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        self.next_minute = self.origin
        self.values = {}


def _step(detector: SpikeDetector, minute: int, value: float, tz: Any) -> tuple[float, float]:
    detector.step(minute, np.array([value]), local_minute=minute + _offset_minutes(tz, minute))
    mu = float(detector.expected_rate()[0])
    phi = float(detector.dispersion(0)[0])
    return mu, math.sqrt(mu + phi * mu * mu)


def volume(store: Store, keys: list[str], window: Window, bands: BandCache, now: datetime,
           tz: Any = None) -> dict[str, Any]:
    """Observed counts and the detector's expected band for each key, bucket by bucket."""
    keys = list(dict.fromkeys(keys))[:MAX_KEYS]
    first = window.first_bucket
    counts = bucketed(store, keys, first, first + window.n * window.step, window.step)
    now_minute = int(now.timestamp() // 60)
    series = []
    for key in keys:
        observed = counts[key]
        expected, spread = bands.band(store, key, window, now_minute, tz)
        low = np.maximum(expected - BAND_SIGMAS * spread, 0.0)
        high = expected + BAND_SIGMAS * spread
        series.append({"key": key, "values": observed.astype(int).tolist(),
                       "expected": np.round(expected, 2).tolist(), "low": np.round(low, 2).tolist(),
                       "high": np.round(high, 2).tolist(), "total": int(observed.sum())})
    return {"step_minutes": window.step, "start": to_iso(window.start), "end": to_iso(window.end),
            "times": window.times(), "series": series}


def _offset_minutes(tz: Any, minute: int) -> int:
    """Minutes between UTC and the institution's wall clock at that moment (hour-of-week slots follow local life)."""
    if tz is None:
        return 0
    offset = datetime.fromtimestamp(minute * 60, tz).utcoffset()
    return int(offset.total_seconds() // 60) if offset else 0


def shares(store: Store, window: Window) -> dict[str, Any]:
    """Share of negative and of hostile mentions per bucket (None where no mention was seen)."""
    data = bucketed(store, ["all", "neg:all", "hostile:all"], window.first_bucket,
                    window.first_bucket + window.n * window.step, window.step)
    total = data["all"]

    def share(values: np.ndarray) -> list[float | None]:
        return [round(float(v / t), 4) if t > 0 else None for v, t in zip(values, total, strict=True)]

    whole = float(total.sum())
    return {"times": window.times(), "negative": share(data["neg:all"]), "hostile": share(data["hostile:all"]),
            "totals": total.astype(int).tolist(), "mentions": int(whole),
            "negative_share": round(float(data["neg:all"].sum()) / whole, 4) if whole else None,
            "hostile_share": round(float(data["hostile:all"].sum()) / whole, 4) if whole else None}


def available_keys(store: Store, window: Window, names: dict[str, str], per_kind: int = 12) -> list[dict[str, Any]]:
    """The keys a person can plot, busiest first within each kind (topics, hashtags, keywords, crisis kinds)."""
    rows = store.conn.execute(
        "SELECT key, sum(n) FROM counts WHERE bucket >= ? AND bucket < ? GROUP BY key",
        [window.first_bucket, window.first_bucket + window.n * window.step],
    ).fetchall()
    by_kind: dict[str, list[tuple[str, int]]] = {}
    for key, total in rows:
        kind = "all" if key == "all" else key.partition(":")[0]
        if kind in KEY_KINDS:
            by_kind.setdefault(kind, []).append((key, int(total)))
    out = []
    for kind in KEY_KINDS:
        for key, total in sorted(by_kind.get(kind, []), key=lambda item: -item[1])[:per_kind]:
            out.append({"key": key, "kind": kind, "kind_label": KIND_FR[kind], "label": label_of(key, names),
                        "total": total})
    return out


def label_of(key: str, names: dict[str, str]) -> str:
    if key == "all":
        return "Toutes les mentions"
    kind, _, value = key.partition(":")
    if kind == "hashtag":
        return f"#{value}"
    return names.get(key, value or key)


def top_authors(store: Store, window: Window, limit: int = 10) -> list[dict[str, Any]]:
    """Authors of the window by reach (their largest follower count seen), with how often they wrote."""
    start, end = to_iso(window.start), to_iso(window.end)
    # Rows of a window are read in row-id order from the first one (ids follow arrival, so this is a
    # sequential read of the table's tail instead of one look-up per index entry).
    count, first, last = store.conn.execute(
        "SELECT count(*), min(id), max(id) FROM mentions WHERE created_at >= ? AND created_at < ?", [start, end]).fetchone()
    if not count:
        return []
    # Far more rows between the ids than in the window (mentions stored long after they were written):
    # the created_at index is cheaper than reading that whole range.
    source = "mentions NOT INDEXED" if last - first < 4 * count else "mentions INDEXED BY idx_mentions_created_at"
    rows = store.conn.execute(
        "SELECT source, author_handle, max(author_name), max(coalesce(author_followers, 0)) AS reach, count(*), "
        f"sum(hostile), sum(sentiment = 'negative') FROM {source} WHERE id BETWEEN ? AND ? AND created_at >= ? "
        "AND created_at < ? AND author_handle IS NOT NULL GROUP BY source, author_handle "
        "ORDER BY reach DESC, count(*) DESC LIMIT ?",
        [first, last, start, end, limit],
    )
    return [{"source": source, "handle": handle, "name": name, "followers": reach, "mentions": count,
             "hostile": int(hostile or 0), "negative": int(negative or 0)}
            for source, handle, name, reach, count, hostile, negative in rows]


def crisis_history(store: Store, limit: int = 30) -> dict[str, Any]:
    """The level in force and its latest changes (rules' crisis state owns the tables)."""
    state = crisis_state.recorded_state(store)
    current = {k: state[k] for k in ("state", "since", "reason", "actor")} if state else {"state": "normal"}
    return {**current, "history": [change_entry(row) for row in crisis_state.journal(store, limit=limit)]}


def change_entry(row: dict[str, Any]) -> dict[str, Any]:
    """A crisis journal row in the shape the pages read."""
    return {"at": row["at"], "from_state": row["from"], "to_state": row["to"], "actor": row["actor"],
            "reason": row["reason"]}


def alert_marks(store: Store, window: Window, keys: list[str] | None = None) -> list[dict[str, Any]]:
    """Alerts raised in the window, to be marked on the volume chart (all of them, or those of some keys)."""
    rows = store.conn.execute(
        "SELECT id, created_at, severity, title, key, status FROM alerts WHERE created_at >= ? AND created_at < ? "
        "ORDER BY created_at LIMIT 500", [to_iso(window.start), to_iso(window.end)]).fetchall()
    wanted = set(keys or [])
    return [{"id": i, "at": at, "severity": severity, "title": title, "key": key, "status": status}
            for i, at, severity, title, key, status in rows if not wanted or key in wanted or key == "all"]


def new_terms(store: Store, window: Window, limit: int = 10) -> list[dict[str, Any]]:
    rows = store.conn.execute(
        "SELECT key, max(at), max(observed), max(score) FROM signals WHERE kind = 'new_term' AND at >= ? AND at < ? "
        "GROUP BY key ORDER BY max(score) DESC LIMIT ?", [to_iso(window.start), to_iso(window.end), limit])
    return [{"term": key.partition(":")[2] or key, "at": at, "observed": observed, "score": round(score or 0, 1)}
            for key, at, observed, score in rows]


class PanelCache:
    """A panel that reads every mention of the period (trending terms, top authors: on a big city's store,
    hundreds of thousands of wide rows): computed in a worker process, kept `ttl` seconds, the last result
    served meanwhile (a dashboard refreshed every minute by ten people must not recompute it ten times)."""

    def __init__(self, compute, ttl: float = 300.0) -> None:
        self.compute = compute
        self.ttl = ttl
        self._lock = threading.Lock()
        self._value: list[dict[str, Any]] | None = None
        self._key: Any = None
        self._at = 0.0
        self.computing = False

    def get(self, key: Any) -> tuple[list[dict[str, Any]] | None, bool]:
        """(value or None, stale?) — a stale or missing value should be refreshed with `refresh`."""
        with self._lock:
            fresh = self._value is not None and self._key == key and time.monotonic() - self._at < self.ttl
            return self._value, not fresh

    def refresh(self, key: Any) -> list[dict[str, Any]] | None:
        """Compute for `key`; None when a computation is already running (its result will be served)."""
        with self._lock:
            if self.computing:
                return None
            self.computing = True
        try:
            value = self.compute(key)
        finally:
            with self._lock:
                self.computing = False
        with self._lock:
            self._value, self._key, self._at = value, key, time.monotonic()
        return value


def _read_only(store_path: str) -> Any:
    import sqlite3

    conn = sqlite3.connect(f"{Path(store_path).resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout=5000")
    return conn


def top_authors_of(store_path: str, start_iso: str, end_iso: str, step: int) -> list[dict[str, Any]]:
    """Worker-process entry for `top_authors` (plain arguments: it is pickled)."""
    from types import SimpleNamespace

    conn = _read_only(store_path)
    try:
        return top_authors(SimpleNamespace(conn=conn), Window(parse_time(start_iso), parse_time(end_iso), step))  # type: ignore[arg-type]
    finally:
        conn.close()


def trending_terms(store_path: str, as_of_iso: str, hours: int, settings: dict[str, Any]) -> list[dict[str, Any]]:
    """Computed in a worker process on its own read-only store (plain arguments: it is pickled)."""
    from classifiers.detection.trending import compute_trending

    as_of = parse_time(as_of_iso)
    trending_settings = TrendingSettings.model_validate(settings)
    store = Store.read_only(store_path)
    try:
        items = compute_trending(store, as_of, hours=hours, background_days=7, settings=trending_settings)
    finally:
        store.close()
    return [{"term": item.term, "terms": item.terms[:5], "volume": item.volume,
             "previous": round(item.previous_volume, 1), "change": round(item.change, 1),
             "negative": item.negative, "topic": item.topic}
            for item in items[:12]]


def latest_moment(store: Store) -> datetime | None:
    last = store.conn.execute("SELECT max(created_at) FROM mentions").fetchone()[0]
    return parse_time(last) if last else None


def loads(value: str | None, default: Any) -> Any:
    try:
        return json.loads(value) if value else default
    except ValueError:
        return default
