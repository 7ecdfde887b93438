"""Which counter keys a mention adds to. Detectors read these series; keys are plain strings:

    all, source:<name>, topic:<name>, hashtag:<tag>, keyword:<term>, crisis:<kind>,
    neg:all, neg:topic:<name>, hostile:all, hostile:topic:<name>
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable

from listener.models import Mention
from listener.timeutil import minute_bucket

HASHTAG_RE = re.compile(r"(?<![\w&])#(\w{2,64})", re.UNICODE)


def fold(text: str) -> str:
    """Lower-case and strip accents: the form keys are compared in (#Grève and #greve are one key)."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def hashtags(text: str) -> list[str]:
    seen: dict[str, None] = {}
    for tag in HASHTAG_RE.findall(text):
        seen.setdefault(fold(tag), None)
    return list(seen)


class KeyCounter:
    """Turns stored mentions into (key, minute bucket) increments."""

    def __init__(self, watch_keywords: Iterable[str] = ()) -> None:
        self.watch = [(fold(term), term) for term in watch_keywords if term.strip()]

    def keys_for(self, mention: Mention) -> list[str]:
        keys = ["all", f"source:{mention.source}"]
        keys.extend(f"hashtag:{tag}" for tag in hashtags(mention.text))
        if self.watch:
            folded = fold(mention.text)
            keys.extend(f"keyword:{key}" for key, _ in self.watch if key in folded)
        labels = mention.labels
        if labels is not None:
            topics = labels.topic_names
            keys.extend(f"topic:{topic}" for topic in topics)
            keys.extend(f"crisis:{kind}" for kind in labels.crisis_kinds)
            if labels.sentiment == "negative":
                keys.append("neg:all")
                keys.extend(f"neg:topic:{topic}" for topic in topics)
            if labels.hostile:
                keys.append("hostile:all")
                keys.extend(f"hostile:topic:{topic}" for topic in topics)
        return keys

    def count(self, mentions: Iterable[Mention]) -> Counter[tuple[str, int]]:
        increments: Counter[tuple[str, int]] = Counter()
        for mention in mentions:
            bucket = minute_bucket(mention.created_at)
            for key in self.keys_for(mention):
                increments[(key, bucket)] += 1
        return increments
