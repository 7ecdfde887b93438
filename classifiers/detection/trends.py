"""Trending terms: what the last day talks about more than the background does (pure functions).

Why log-likelihood ratio (Dunning's G²): it stays honest for rare terms, where a plain ratio of
frequencies explodes (1 mention vs 0 is an "infinite" rise); terms that co-occur in the same
mentions are grouped so one story is one line of the digest, not five.

`terms_of` is the one tokenizer shared by trending and the new-term detector.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

# The classifier stack's tokenizer: same conventions everywhere.
from classifiers.text import STOPWORDS as _STOPWORDS
from classifiers.text import folded_tokens as _folded_tokens
from listener.textfold import fold, hashtags

_EXTRA_STOPWORDS = frozenset(
    ["les", "des", "une", "est", "sont", "pas", "plus", "pour", "par", "avec", "dans", "sur", "que", "qui", "quoi", "mais", "ses", "ces", "cette", "tout", "tous", "fait", "faire", "etre", "avoir", "ete", "aussi", "tres", "bien", "comme", "elle", "ils", "nous", "vous", "leur", "leurs", "sans", "sous", "entre", "http", "https", "user", "rt", "via", "est-ce", "c-est", "peut-etre", "qu-est-ce"]
)


def _content(word: str) -> bool:
    return len(word) >= 3 and not word.isdigit() and word not in _STOPWORDS and word not in _EXTRA_STOPWORDS


@lru_cache(maxsize=100_000)
def _word(token: str) -> str | None:
    """The content word a folded token stands for, or None (memoised: the vocabulary repeats)."""
    token = token.strip("'’-")
    if token.startswith(("#", "@", "http")) or "'" in token:
        return None
    if _content(token) and any(ch.isalpha() for ch in token):
        return fold(token)
    return None


def words_of(text: str) -> list[str]:
    """Folded content words of a text, in order (hashtags excluded)."""
    return [word for word in map(_word, _folded_tokens(text)) if word is not None]


def terms_of(text: str, *, phrases: bool = False) -> set[str]:
    """Terms of a mention: "#tag" for hashtags, content words, and two-word phrases when asked."""
    terms = {f"#{tag}" for tag in hashtags(text)}
    words = words_of(text)
    terms.update(words)
    if phrases:
        terms.update(f"{a} {b}" for a, b in zip(words, words[1:], strict=False) if a != b)
    return terms


def log_likelihood_ratio(a: float, b: float, total_a: float, total_b: float) -> float:
    """Dunning's G² for a term seen a times in A (size total_a) and b times in B (size total_b)."""
    def xlogx(value: float) -> float:
        return value * math.log(value) if value > 0 else 0.0

    c, d = total_a - a, total_b - b
    n = total_a + total_b
    g2 = 2.0 * (
        xlogx(a) + xlogx(b) + xlogx(c) + xlogx(d) + xlogx(n)
        - xlogx(a + b) - xlogx(c + d) - xlogx(a + c) - xlogx(b + d)
    )
    return max(g2, 0.0)


@dataclass
class TermStat:
    term: str
    recent: int
    background: int
    llr: float
    docs: set[int] = field(default_factory=set)


def significant_terms(
    recent_docs: Sequence[tuple[int, set[str]]],
    background: Counter[str],
    background_docs: int,
    *,
    min_volume: int = 5,
    min_llr: float = 10.83,
) -> list[TermStat]:
    """Terms over-represented in the recent documents, strongest first."""
    index: dict[str, set[int]] = {}
    for doc_id, terms in recent_docs:
        for term in terms:
            index.setdefault(term, set()).add(doc_id)
    total_recent = max(len(recent_docs), 1)
    total_background = max(background_docs, 1)
    found = []
    for term, docs in index.items():
        recent = len(docs)
        if recent < min_volume:
            continue
        past = background.get(term, 0)
        if recent / total_recent <= past / total_background:
            continue
        llr = log_likelihood_ratio(recent, past, total_recent, total_background)
        if llr >= min_llr:
            found.append(TermStat(term, recent, past, llr, docs))
    found.sort(key=lambda stat: (-stat.llr, stat.term))
    return found


def group_terms(stats: Iterable[TermStat], *, overlap: float = 0.5, limit: int = 60) -> list[list[TermStat]]:
    """Leader clustering: each term joins the strongest earlier leader it mostly co-occurs with
    (|T∩L| / |T| >= overlap), else leads a group. Comparing with leaders only avoids chaining two
    stories into one through a shared generic word."""
    groups: list[list[TermStat]] = []
    for stat in list(stats)[:limit]:
        for group in groups:
            leader = group[0]
            if len(stat.docs & leader.docs) >= overlap * len(stat.docs):
                group.append(stat)
                break
        else:
            groups.append([stat])
    return groups
