"""What is trending: significant terms of the last hours against a multi-week background, for the digest.

Reads raw rows (text, sentiment, topics) rather than full Mention objects: the background can hold
hundreds of thousands of mentions and the digest only needs their terms.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from classifiers.detector_settings import TrendingSettings
from classifiers.trends import group_terms, significant_terms, terms_of
from listener.store import Store
from listener.timeutil import parse_time, to_iso


def _rows(store: Store, start: datetime, end: datetime, limit: int) -> list[tuple]:
    return store.conn.execute(
        "SELECT id, text, sentiment, topics FROM mentions WHERE created_at >= ? AND created_at < ? "
        "ORDER BY created_at DESC LIMIT ?",
        [to_iso(start), to_iso(end), limit],
    ).fetchall()


def compute_trending(
    store: Store, as_of: datetime, hours: int = 24, background_days: int = 28,
    settings: TrendingSettings | None = None,
) -> list[dict[str, Any]]:
    """Groups of co-occurring terms that rose significantly in the last `hours`, strongest first.

    Each dict: term, terms, volume, previous_volume (background average over the same duration),
    change (volume / max(previous_volume, 1)), sentiment {negative, neutral, positive} shares,
    sample_ids, topic (most common topic of the group's mentions, or None), llr.
    """
    s = settings or TrendingSettings()
    recent_start = as_of - timedelta(hours=hours)
    background_start = recent_start - timedelta(days=background_days)
    recent_rows = _rows(store, recent_start, as_of, s.max_background_mentions)
    if not recent_rows:
        return []
    background: Counter[str] = Counter()
    background_rows = _rows(store, background_start, recent_start, s.max_background_mentions)
    for row in background_rows:
        background.update(terms_of(row[1]))
    docs = [(row[0], terms_of(row[1])) for row in recent_rows]
    info = {row[0]: (row[2], row[3]) for row in recent_rows}
    stats = significant_terms(docs, background, len(background_rows), min_volume=s.min_volume, min_llr=s.min_llr)
    # Background as a rate over the recent period's duration (a 28-day count is not a "previous day").
    covered_days = background_days
    if background_rows:
        oldest = store.conn.execute(
            "SELECT min(created_at) FROM mentions WHERE created_at >= ?", [to_iso(background_start)]
        ).fetchone()[0]
        if oldest:
            covered_days = max((recent_start - parse_time(oldest)).total_seconds() / 86400.0, hours / 24.0)
    scale = (hours / 24.0) / max(covered_days, 1e-9)
    trending = []
    for group in group_terms(stats)[: s.max_groups]:
        lead = group[0]
        ids = set().union(*(stat.docs for stat in group))
        previous = max(stat.background for stat in group) * scale if background_rows else 0.0
        sentiments = Counter(info[i][0] or "neutral" for i in ids)
        topics: Counter[str] = Counter()
        for i in ids:
            try:
                topics.update(json.loads(info[i][1] or "[]"))
            except (TypeError, ValueError):
                continue
        total = max(len(ids), 1)
        trending.append({
            "term": lead.term,
            "terms": [stat.term for stat in group],
            "volume": len(ids),
            "previous_volume": round(previous, 2),
            "change": round(len(ids) / max(previous, 1.0), 2),
            "sentiment": {
                name: round(sentiments.get(name, 0) / total, 3) for name in ("negative", "neutral", "positive")
            },
            "sample_ids": sorted(ids)[:5],
            "topic": topics.most_common(1)[0][0] if topics else None,
            "llr": round(lead.llr, 1),
        })
    return trending
