"""What is trending: significant terms of the last hours against a multi-week background, for the digest.

Reads texts with their labels (the store's `labelled_texts_between`) rather than full Mention objects:
the background can hold hundreds of thousands of mentions and trending only needs their terms. Each
group of co-occurring terms comes out as a `TrendingItem`, with the counter series behind it already
found, so the digest never guesses what an item holds.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from classifiers.detection.settings import TrendingSettings
from classifiers.detection.trends import group_terms, significant_terms, terms_of
from listener.store import Store
from listener.textfold import fold
from listener.timeutil import minute_bucket


@dataclass(frozen=True)
class TrendingItem:
    """One group of terms that rose significantly (strongest term first)."""

    term: str
    volume: int  # mentions of the recent period holding one of the terms
    change: float  # volume / max(previous_volume, 1)
    terms: list[str] = field(default_factory=list)
    previous_volume: float = 0.0  # background average over the same duration
    # Sentiment shares (0–1) of the group's mentions; None when unknown.
    negative: float | None = None
    neutral: float | None = None
    positive: float | None = None
    sample_ids: list[int] = field(default_factory=list)
    topic: str | None = None  # most common topic of the group's mentions
    llr: float = 0.0
    # The counter series behind the item (topic:, hashtag: or keyword: key), None when none counts it.
    key: str | None = None


def series_key(store: Store, term: str, start: int, end: int) -> str | None:
    """The counter series a term has in the buckets [start, end): a topic, else a hashtag, else a keyword."""
    folded = fold(term.lstrip("#"))
    for key in (f"topic:{term}", f"hashtag:{folded}", f"keyword:{folded}"):
        if store.has_counts(key, start, end):
            return key
    return None


def compute_trending(
    store: Store, as_of: datetime, hours: int = 24, background_days: int = 28,
    settings: TrendingSettings | None = None,
) -> list[TrendingItem]:
    """Groups of co-occurring terms that rose significantly in the last `hours`, strongest first."""
    s = settings or TrendingSettings()
    recent_start = as_of - timedelta(hours=hours)
    background_start = recent_start - timedelta(days=background_days)
    recent_rows = store.labelled_texts_between(recent_start, as_of, s.max_background_mentions)
    if not recent_rows:
        return []
    background: Counter[str] = Counter()
    background_rows = store.labelled_texts_between(background_start, recent_start, s.max_background_mentions)
    for row in background_rows:
        background.update(terms_of(row.text))
    docs = [(row.id, terms_of(row.text)) for row in recent_rows]
    info = {row.id: row for row in recent_rows}
    stats = significant_terms(docs, background, len(background_rows), min_volume=s.min_volume, min_llr=s.min_llr)
    # Background as a rate over the recent period's duration (a 28-day count is not a "previous day").
    covered_days = background_days
    if background_rows:
        oldest = store.first_mention_at(background_start)
        if oldest:
            covered_days = max((recent_start - oldest).total_seconds() / 86400.0, hours / 24.0)
    scale = (hours / 24.0) / max(covered_days, 1e-9)
    first_bucket = minute_bucket(recent_start)
    trending = []
    for group in group_terms(stats)[: s.max_groups]:
        lead = group[0]
        ids = set().union(*(stat.docs for stat in group))
        previous = max(stat.background for stat in group) * scale if background_rows else 0.0
        sentiments = Counter(info[i].sentiment or "neutral" for i in ids)
        topics = Counter(name for i in ids for name in info[i].topics)
        total = max(len(ids), 1)
        trending.append(TrendingItem(
            term=lead.term,
            terms=[stat.term for stat in group],
            volume=len(ids),
            previous_volume=round(previous, 2),
            change=round(len(ids) / max(previous, 1.0), 2),
            negative=round(sentiments.get("negative", 0) / total, 3),
            neutral=round(sentiments.get("neutral", 0) / total, 3),
            positive=round(sentiments.get("positive", 0) / total, 3),
            sample_ids=sorted(ids)[:5],
            topic=topics.most_common(1)[0][0] if topics else None,
            llr=round(lead.llr, 1),
            key=series_key(store, lead.term, first_bucket, first_bucket + hours * 60),
        ))
    return trending
