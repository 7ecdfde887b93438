"""Which counter keys a mention adds to. Detectors read these series; keys are plain strings:

    all, source:<name>, topic:<name>, hashtag:<tag>, keyword:<term>, crisis:<kind>,
    neg:all, neg:topic:<name>, hostile:all, hostile:topic:<name>, abusive:all, threat:all,
    crisis_abroad:all (crises located abroad, counted apart: a town is not alerted on them)
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from classifiers.types import Classification
from listener.models import Mention
from listener.textfold import fold, folded_hashtags

_WORD_RE = re.compile(r"[a-z0-9]+")


def _whole_word(term: str) -> re.Pattern[str]:
    """`term` as a whole word: not preceded nor followed by an ASCII letter or digit. The lookbehind
    comes after the literal so the regex engine searches for the word itself, not every position."""
    word = re.escape(term)
    return re.compile(f"{word}(?<![A-Za-z0-9]{word})(?![A-Za-z0-9])")


class KeyCounter:
    """Turns stored mentions into (key, minute bucket) increments."""

    def __init__(self, watch_keywords: Iterable[str] = ()) -> None:
        self.watch = sorted({fold(term.strip()) for term in watch_keywords if term.strip()})
        # Single Latin words match whole words of the text; phrases and other scripts match as substrings.
        self._words = {term for term in self.watch if term.isascii() and _WORD_RE.fullmatch(term)}
        self._word_patterns = [(term, _whole_word(term)) for term in sorted(self._words)]
        self._phrases = [term for term in self.watch if term.isascii() and term not in self._words]
        self._other_scripts = [term for term in self.watch if not term.isascii()]

    def _keywords(self, folded: str) -> set[str]:
        """Watched terms in an already folded text."""
        # A cheap substring test first; the word-boundary check only runs for the few candidate terms.
        found = {term for term, pattern in self._word_patterns if term in folded and pattern.search(folded)}
        found.update(term for term in self._phrases if term in folded)
        if self._other_scripts:
            found.update(term for term in self._other_scripts if term in folded)
        return found

    def _hashtags_and_keywords(self, text: str) -> tuple[list[str], Iterable[str]]:
        """Distinct hashtags and watched keywords of a text (folded once for both)."""
        if "#" not in text and not self.watch:
            return [], ()
        folded = fold(text)
        tags = folded_hashtags(folded) if "#" in text else []
        return tags, self._keywords(folded) if self.watch else ()

    def keys_for(self, mention: Mention) -> list[str]:
        keys = ["all", f"source:{mention.source}"]
        tags, keywords = self._hashtags_and_keywords(mention.text)
        keys.extend(f"hashtag:{tag}" for tag in tags)
        keys.extend(f"keyword:{key}" for key in keywords)
        if mention.labels is not None:
            keys.extend(self._label_keys(mention.labels))
        return keys

    @staticmethod
    def _label_keys(labels: Classification) -> list[str]:
        keys: list[str] = []
        topics = labels.topic_names
        keys.extend(f"topic:{topic}" for topic in topics)
        keys.extend(f"crisis:{kind}" for kind in labels.crisis_kinds)
        if labels.crisis_abroad:
            keys.append("crisis_abroad:all")
        if labels.sentiment == "negative":
            keys.append("neg:all")
            keys.extend(f"neg:topic:{topic}" for topic in topics)
        if labels.hostile:
            keys.append("hostile:all")
            keys.extend(f"hostile:topic:{topic}" for topic in topics)
        if labels.abusive:
            keys.append("abusive:all")
        if labels.threat:
            keys.append("threat:all")
        return keys

    def count(self, mentions: Iterable[Mention]) -> Counter[tuple[str, int]]:
        """The same increments as summing `keys_for` over the mentions, tallied per minute bucket by kind
        (source names, hashtags, keywords) so each key string is built once per bucket, not per mention."""
        per_bucket: dict[int, tuple[list[str], list[str], list[str], list[str]]] = {}
        for mention in mentions:
            bucket = int(mention.created_at.timestamp()) // 60
            tally = per_bucket.get(bucket)
            if tally is None:
                tally = per_bucket[bucket] = ([], [], [], [])
            sources, tags, keywords, others = tally
            sources.append(mention.source)
            found_tags, found_keywords = self._hashtags_and_keywords(mention.text)
            if found_tags:
                tags.extend(found_tags)
            if found_keywords:
                keywords.extend(found_keywords)
            if mention.labels is not None:
                others.extend(self._label_keys(mention.labels))
        increments: Counter[tuple[str, int]] = Counter()
        for bucket, (sources, tags, keywords, others) in per_bucket.items():
            increments[("all", bucket)] = len(sources)
            for prefix, names in (("source:", sources), ("hashtag:", tags), ("keyword:", keywords)):
                for name, n in Counter(names).items():
                    increments[(prefix + name, bucket)] += n
            for key, n in Counter(others).items():
                increments[(key, bucket)] += n
        return increments
