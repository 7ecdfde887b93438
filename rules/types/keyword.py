"""keyword: words of a watch list (e.g. the crisis lexicon) or crisis labels show up in mentions."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, model_validator

from listener.french import fr_number
from listener.models import Mention
from listener.textfold import fold
from rules.filters import folded_words
from rules.types.base import EvalContext
from rules.types.windowed import WindowedMentionRule, WindowedOptions

_WORD_RE = re.compile(r"[a-z0-9]+")


# Folded text and its words, computed once per text for every keyword rule (and keyword: evidence).
_folded = folded_words


class _MentionIndex:
    """The new mentions of a pass, indexed once for every keyword rule: which mentions hold a folded word,
    which carry a crisis kind, and their folded texts for phrase look-ups."""

    def __init__(self, mentions: list[Mention]) -> None:
        self.mentions = mentions
        self.words: dict[str, list[int]] = {}
        self.texts: list[str] = []
        for position, mention in enumerate(mentions):
            text, words = _folded(mention.text)
            self.texts.append(text)
            for word in words:
                self.words.setdefault(word, []).append(position)
        self._unicode_texts: list[str] | None = None
        self._kinds: dict[str, list[int]] | None = None

    @classmethod
    def of(cls, mentions: list[Mention], ctx: EvalContext) -> _MentionIndex:
        index = ctx.shared.get("keyword")
        if index is None or index.mentions is not mentions:
            index = ctx.shared["keyword"] = cls(mentions)
        return index

    def unicode_texts(self) -> list[str]:
        if self._unicode_texts is None:
            self._unicode_texts = [fold(m.text) for m in self.mentions]
        return self._unicode_texts

    def kinds(self) -> dict[str, list[int]]:
        if self._kinds is None:
            self._kinds = {}
            for position, mention in enumerate(self.mentions):
                if mention.labels is not None:
                    for kind in mention.labels.crisis_kinds:
                        self._kinds.setdefault(kind, []).append(position)
        return self._kinds


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

    def candidates(self, mentions: list[Mention], ctx: EvalContext) -> list[Mention]:
        """Only mentions holding one of the words, a phrase or a crisis kind (what matched_terms looks for)."""
        if len(mentions) < 8:
            return mentions
        index = _MentionIndex.of(mentions, ctx)
        positions: set[int] = set()
        for word in self.words:
            positions.update(index.words.get(word, ()))
        for phrase in self.phrases:
            texts = index.texts if phrase.isascii() else index.unicode_texts()
            positions.update(position for position, text in enumerate(texts) if phrase in text)
        if self.kinds:
            kinds = index.kinds()
            for kind in self.kinds:
                positions.update(kinds.get(kind, ()))
        return [mentions[position] for position in sorted(positions)]

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
        title = f"Mot-clé surveillé « {term} » : {fr_number(n)} mention{'s' if n > 1 else ''} en {window} min"
        summary = (
            f"La règle « {self.name} » a repéré « {term} » dans {fr_number(n)} mention{'s' if n > 1 else ''} "
            f"depuis {ctx.local(mentions[0].created_at)} (seuil : {self.options.min_mentions})."  # type: ignore[attr-defined]
        )
        return title, summary
