"""keyword: words of a watch list (e.g. the crisis lexicon) or crisis labels show up in mentions."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Literal

from pydantic import Field, model_validator

from listener.counting import ascii_fold, fold
from listener.models import Mention
from rules.types.base import EvalContext, fr_num
from rules.types.windowed import WindowedMentionRule, WindowedOptions

_WORD_RE = re.compile(r"[a-z0-9]+")


@lru_cache(maxsize=50_000)
def _folded(text: str) -> tuple[str, frozenset[str]]:
    """Folded text and its words, computed once per text for every keyword rule."""
    folded = ascii_fold(text)
    return folded, frozenset(_WORD_RE.findall(folded))


class KeywordOptions(WindowedOptions):
    type: str = "keyword"
    # Words or phrases to look for (accents and case ignored; single words match whole words).
    terms: list[str] = Field(default_factory=list)
    # Crisis kinds from the classifiers (labels.crisis) that count as a match too.
    crisis_kinds: list[str] = Field(default_factory=list)
    # One alert per matched term ("term") or one for the whole rule ("rule").
    key_by: Literal["term", "rule"] = "term"
    window_minutes: int = Field(default=30, ge=1, le=7 * 24 * 60)

    @model_validator(mode="after")
    def _something_to_match(self) -> KeywordOptions:
        if not self.terms and not self.crisis_kinds:
            raise ValueError("terms or crisis_kinds must list at least one entry")
        return self


class KeywordRule(WindowedMentionRule):
    type_name = "keyword"
    Options = KeywordOptions

    def __init__(self, options: KeywordOptions) -> None:
        super().__init__(options)
        folded = [fold(t.strip()) for t in options.terms if t.strip()]
        self.words = {t for t in folded if t.isascii() and _WORD_RE.fullmatch(t)}
        self.phrases = [t for t in folded if t not in self.words]
        self.kinds = set(options.crisis_kinds)

    def matched_terms(self, mention: Mention) -> list[str]:
        text, words = _folded(mention.text)
        found = sorted(self.words.intersection(words)) if self.words else []
        if self.phrases:
            unicode_text = fold(mention.text)
            found += [p for p in self.phrases if p in (text if p.isascii() else unicode_text)]
        if self.kinds and mention.labels is not None:
            found += [f"crise:{k}" for k in mention.labels.crisis_kinds if k in self.kinds]
        return found

    def keys_for(self, mention: Mention) -> list[str]:
        terms = self.matched_terms(mention)
        if not terms:
            return []
        if self.options.key_by == "rule":  # type: ignore[attr-defined]
            return ["rule"]
        return [f"keyword:{terms[0].removeprefix('crise:')}"]

    def describe(self, key: str, mentions: list[Mention], ctx: EvalContext) -> tuple[str, str]:
        window = self.options.window_minutes  # type: ignore[attr-defined]
        term = key.partition(":")[2] if key != "rule" else self.name
        n = len(mentions)
        title = f"Mot-clé surveillé « {term} » : {fr_num(n)} mention{'s' if n > 1 else ''} en {window} min"
        summary = (
            f"La règle « {self.name} » a repéré « {term} » dans {fr_num(n)} mention{'s' if n > 1 else ''} "
            f"depuis {ctx.local(mentions[0].created_at)} (seuil : {self.options.min_mentions})."  # type: ignore[attr-defined]
        )
        return title, summary
