"""Mention filters shared by rule types (source, topic, language, sentiment) and evidence selection.

Rules act on what the pipeline already decided (labels, counter keys); nothing here re-classifies text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from fnmatch import fnmatchcase
from functools import lru_cache

from listener.models import Mention
from listener.store import Store
from listener.textfold import ascii_fold, fold, hashtags

_WORD_RE = re.compile(r"[a-z0-9]+")


@lru_cache(maxsize=50_000)
def folded_words(text: str) -> tuple[str, frozenset[str]]:
    """ASCII-folded text and its words, computed once per text (keyword rules, keyword: evidence)."""
    folded = ascii_fold(text)
    return folded, frozenset(_WORD_RE.findall(folded))


@dataclass(frozen=True, slots=True)
class MentionFilter:
    """Empty lists accept everything; several values in one list are alternatives."""

    sources: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    sentiments: tuple[str, ...] = ()

    @classmethod
    def of(cls, options: object) -> MentionFilter:
        return cls(
            sources=tuple(getattr(options, "sources", ()) or ()),
            topics=tuple(getattr(options, "topics", ()) or ()),
            languages=tuple(getattr(options, "languages", ()) or ()),
            sentiments=tuple(getattr(options, "sentiments", ()) or ()),
        )

    @property
    def empty(self) -> bool:
        return not (self.sources or self.topics or self.languages or self.sentiments)

    def accepts(self, mention: Mention) -> bool:
        if self.sources and mention.source not in self.sources:
            return False
        if self.languages and (mention.lang or "") not in self.languages:
            return False
        labels = mention.labels
        if self.topics and (labels is None or not set(self.topics).intersection(labels.topic_names)):
            return False
        return not (self.sentiments and (labels is None or labels.sentiment not in self.sentiments))

    def accepts_key(self, key: str) -> bool:
        """Signal keys carry their own dimension: a topic filter keeps only topic:<x> keys of those topics."""
        kind, _, value = key.partition(":")
        if kind == "topic" and self.topics and value not in self.topics:
            return False
        return not (kind == "source" and self.sources and value not in self.sources)


class KeyMatcher:
    """Match keys against patterns fast: exact keys by dict, `prefix*` by prefix, other globs by fnmatch."""

    def __init__(self, patterns: Iterable[str]) -> None:
        self.patterns = [p for p in patterns if p]
        self.any = "*" in self.patterns
        self.exact = {p for p in self.patterns if not any(c in p for c in "*?[")}
        self.prefixes = tuple(p[:-1] for p in self.patterns if p.endswith("*") and not any(c in p[:-1] for c in "*?[") and p != "*")
        self.globs = [p for p in self.patterns if p not in self.exact and not (p.endswith("*") and p[:-1] in self.prefixes) and p != "*"]

    def __call__(self, key: str) -> bool:
        if self.any or key in self.exact:
            return True
        if self.prefixes and key.startswith(self.prefixes):
            return True
        return any(fnmatchcase(key, pattern) for pattern in self.globs)

    def may_match_family(self, family: str) -> bool:
        """Whether some key of a family (the text before the first ':') could match: a cheap pre-filter."""
        if self.any or self.globs:
            return True
        heads = {p.partition(":")[0] for p in self.exact} | {p.partition(":")[0] for p in self.prefixes}
        return family in heads or any(":" not in p for p in self.prefixes)

    def query_prefix(self) -> str | None:
        """The longest prefix shared by every key this matcher accepts (for a ranged counter query)."""
        if self.any or not self.patterns:
            return None
        heads = []
        for pattern in self.patterns:
            cut = min((pattern.index(c) for c in "*?[" if c in pattern), default=len(pattern))
            heads.append(pattern[:cut])
        prefix = heads[0]
        for head in heads[1:]:
            while not head.startswith(prefix):
                prefix = prefix[:-1]
        return prefix or None


class KeyIndex:
    """Which of several matchers accept a key, without asking each one: exact keys and `prefix*` patterns
    are looked up by dict (one lookup per distinct prefix length), only globs are matched one by one.

    `candidates(key)` returns the positions (ascending) of the matchers that accept the key: the same answer
    as `[i for i, m in enumerate(matchers) if m(key)]`.
    """

    def __init__(self, matchers: Iterable[KeyMatcher]) -> None:
        self.every: list[int] = []
        self.checked: list[tuple[int, KeyMatcher]] = []
        self.exact: dict[str, list[int]] = {}
        self.prefixes: dict[str, list[int]] = {}
        for position, matcher in enumerate(matchers):
            if matcher.any:
                self.every.append(position)
                continue
            if matcher.globs:  # rare: the matcher itself decides (it also knows its exact keys and prefixes)
                self.checked.append((position, matcher))
                continue
            for key in matcher.exact:
                self.exact.setdefault(key, []).append(position)
            for prefix in set(matcher.prefixes):
                self.prefixes.setdefault(prefix, []).append(position)
        self.lengths = sorted({len(prefix) for prefix in self.prefixes})

    def candidates(self, key: str) -> list[int]:
        found = list(self.every)
        hit = self.exact.get(key)
        if hit:
            found.extend(hit)
        prefixes = self.prefixes
        for length in self.lengths:
            if length > len(key):
                break
            hit = prefixes.get(key[:length])
            if hit:
                found.extend(hit)
        for position, matcher in self.checked:
            if matcher(key):
                found.append(position)
        return sorted(set(found)) if len(found) > 1 else found


def mention_has_key(mention: Mention, key: str) -> bool:
    """Whether a mention counts towards a counter key (same meaning as listener/counting.py)."""
    if key == "all":
        return True
    kind, _, value = key.partition(":")
    labels = mention.labels
    if kind == "source":
        return mention.source == value
    if kind == "topic":
        return labels is not None and value in labels.topic_names
    if kind == "hashtag":
        return "#" in mention.text and value in hashtags(mention.text)
    if kind == "keyword":
        if not value.isascii():
            return value in fold(mention.text)
        folded, words = folded_words(mention.text)
        return value in words if _WORD_RE.fullmatch(value) else value in folded
    if kind == "term":
        return value in fold(mention.text)
    if kind == "crisis":
        return labels is not None and value in labels.crisis_kinds
    if kind == "neg":
        return labels is not None and labels.sentiment == "negative" and mention_has_key(mention, value)
    if kind == "hostile":
        return labels is not None and labels.hostile and mention_has_key(mention, value)
    if kind == "abusive":
        return labels is not None and labels.abusive and mention_has_key(mention, value)
    if kind == "threat":
        return labels is not None and labels.threat and mention_has_key(mention, value)
    return False


def engagement(mention: Mention) -> int:
    return mention.likes + 2 * mention.reposts + mention.replies


def negativity(mention: Mention) -> float:
    labels = mention.labels
    if labels is None:
        return 0.0
    if labels.sentiment_proba:
        return float(labels.sentiment_proba.get("negative", 0.0))
    return 1.0 if labels.sentiment == "negative" else 0.0


def rank_evidence(mentions: list[Mention], order: str = "engagement", limit: int = 5) -> list[int]:
    """Most telling first: engagement, negativity or hostility, with reach (followers) breaking ties."""
    def score(m: Mention) -> tuple:
        labels = m.labels
        reach = m.author_followers or 0
        if order == "negative":
            return (negativity(m), engagement(m), reach)
        if order == "hostile":
            return (labels.hostility_score if labels else 0.0, engagement(m), reach)
        if order == "followers":
            return (reach, engagement(m))
        return (engagement(m), reach)

    ranked = sorted(mentions, key=score, reverse=True)
    return [m.id for m in ranked[:limit] if m.id is not None]


def evidence_for(
    store: Store,
    key: str,
    start: datetime,
    end: datetime,
    mention_filter: MentionFilter | None = None,
    *,
    order: str = "engagement",
    limit: int = 5,
    scan_limit: int = 3000,
) -> list[int]:
    """Mention ids behind a signal: created in [start, end), counting towards `key`, most telling first."""
    found = [
        m
        for m in store.mentions_between(start, end, limit=scan_limit)
        if mention_has_key(m, key) and (mention_filter is None or mention_filter.accepts(m))
    ]
    return rank_evidence(found, order, limit)
