"""One phrase matcher for every lexicon (topics, crisis, hostility, targets).

Why stems: operators write "embouteillage" once and expect "embouteillages" and "inondée"/"inondation"
to hit. A lexicon entry is prepared exactly like a text (``classifiers.text.prepare``), so both sides go
through the same tokenizer, accent folding and Snowball stemmer. Articles and elided prepositions
("le", "d'", "du", "à", possessives) are skipped on both sides, so "coupure d'eau" matches
"coupure de l'eau" and "coupures d'eau"; negators are *not* skipped ("pas d'eau" stays a phrase).

Matching is one dict lookup per token (first stem → candidate phrases), which keeps the whole stack
above 10,000 mentions/s on one core. Each match says whether it is negated; each user decides what a
negated match means (crisis drops "pas d'incendie", a water cut keeps "plus d'eau").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import compress
from operator import not_

from classifiers.text import NEGATORS, Prepared, prepare, stem

# Function words skipped on both sides of a match (folded forms).
SKIP: frozenset[str] = frozenset(
    {
        "le", "la", "les", "l'", "un", "une", "des", "du", "de", "d'", "au", "aux", "a",
        "ce", "cet", "cette", "ces", "mon", "ma", "mes", "ton", "ta", "tes", "son", "sa", "ses",
        "notre", "nos", "votre", "vos", "leur", "leurs",
    }
)
# How many tokens before a match may hold the negator that governs it ("n'est pas du tout un scandale").
NEGATION_WINDOW = 4

@dataclass(frozen=True, slots=True)
class Entry:
    """A lexicon phrase with the group it votes for (topic, crisis kind, category) and its weight."""

    phrase: str
    group: str
    weight: float = 1.0
    stems: tuple[str, ...] = ()


@dataclass(slots=True)
class Match:
    entry: Entry
    start: int  # index of the first matched token in Prepared.tokens
    end: int  # index of the last matched token (inclusive)
    surface: str  # the words as written in the text (lower-cased), for explanations
    negated: bool


class View:
    """The content tokens of one prepared text, computed once and shared by every lexicon."""

    __slots__ = ("prepared", "positions", "stems", "words")

    def __init__(self, prepared: Prepared) -> None:
        self.prepared = prepared
        folded = prepared.folded
        keep = list(map(not_, map(SKIP.__contains__, folded)))  # C speed: this runs for every text
        positions = list(compress(range(len(folded)), keep))
        stems = list(compress(prepared.stems, keep))
        words = list(compress(folded, keep))
        if prepared.hashtags:
            _stem_hashtags(words, stems, prepared.hashtags)
        self.positions = positions
        self.stems = stems
        self.words = words

    @classmethod
    def every_token(cls, prepared: Prepared) -> View:
        """A view that keeps function words: abuse phrases need them ("ta gueule", "mort aux", "ces rats")."""
        view = cls.__new__(cls)
        view.prepared = prepared
        view.positions = list(range(len(prepared.folded)))
        view.stems = prepared.stems
        view.words = prepared.folded
        return view

    def negated(self, start: int, end: int) -> bool:
        """True when a negator just before the match governs it (scope from text.py, kept local)."""
        prepared = self.prepared
        if not any(prepared.negated[start : end + 1]):
            return False
        folded = prepared.folded
        return any(folded[i] in NEGATORS for i in range(max(0, start - NEGATION_WINDOW), start))


def _stem_hashtags(words: list[str], stems: list[str], hashtags: list[str]) -> None:
    """"#inondation" matches like "inondation": each hashtag's stem is its word's. The hashtag tokens
    are found by their folded tags (Prepared.hashtags, in text order), else by a look at every word."""
    k = -1
    try:
        for tag in hashtags:
            k = words.index("#" + tag, k + 1)
            stems[k] = stem(tag)
        return
    except ValueError:
        pass
    for k, word in enumerate(words):
        if word[0] == "#" and len(word) > 1:
            stems[k] = stem(word[1:])


def _surface(tokens: list[str]) -> str:
    """Tokens joined as written: no space after an elision ("coupure d'eau")."""
    if len(tokens) == 1:
        return tokens[0]
    return " ".join(tokens).replace("' ", "'")


def phrase_key(phrase: str, on: str = "stems") -> tuple[str, ...]:
    """The stem (or folded word) sequence a phrase matches on; skipped words dropped unless nothing is left."""
    prepared = prepare(phrase)
    view = View(prepared)
    if view.stems:
        return tuple(getattr(view, on))
    return tuple(prepared.stems if on == "stems" else prepared.folded)


class PhraseLexicon:
    """Finds lexicon phrases in prepared texts; longest phrase wins at each position.

    ``on="stems"`` (default) matches inflected forms; ``on="words"`` matches whole folded words, for
    names and for words whose stems collide ("maire" / "mairie").
    """

    def __init__(self, entries: Iterable[Entry | tuple[str, str, float]], on: str = "stems") -> None:
        if on not in ("stems", "words"):
            raise ValueError(f"unknown match level {on!r}")
        self.on = on
        self.entries: list[Entry] = []
        # First key → (the one-word entry, if any; second key → [(the keys after the second, entry)],
        # longest first). Indexing two keys deep keeps lexicons whose phrases start with common words
        # ("sont des rats", "je vais…") at one or two dict lookups per word.
        self._first: dict[str, tuple[Entry | None, dict[str, list[tuple[tuple[str, ...], Entry]]]]] = {}
        for item in entries:
            entry = item if isinstance(item, Entry) else Entry(item[0], item[1], float(item[2]))
            stems = entry.stems or phrase_key(entry.phrase, on)
            if not stems:
                continue
            entry = Entry(entry.phrase, entry.group, entry.weight, stems)
            self.entries.append(entry)
            single, deeper = self._first.get(stems[0], (None, {}))
            if len(stems) == 1:
                single = single or entry  # the first listed wins, as before
            else:
                deeper.setdefault(stems[1], []).append((stems[2:], entry))
            self._first[stems[0]] = (single, deeper)
        for _, deeper in self._first.values():
            for candidates in deeper.values():
                candidates.sort(key=lambda item: -len(item[0]))
        self._keys = frozenset(self._first)
        # What a match needs: a first key with a one-word entry, or a first key and its second key in a row.
        self._singles = frozenset(key for key, (single, _) in self._first.items() if single is not None)
        self._pairs = frozenset((key, second) for key, (_, deeper) in self._first.items() for second in deeper)

    def __len__(self) -> int:
        return len(self.entries)

    def match(self, view: View) -> list[Match]:
        """Every phrase found, in text order, left to right without overlaps (longest first at each word)."""
        first = self._first
        keys = self._keys
        stems = view.stems if self.on == "stems" else view.words
        if keys.isdisjoint(stems):  # one C-level pass: most texts hit no lexicon at all
            return []
        # Phrases often start with common words ("sont des rats", "je vais"): two more C-level passes
        # drop the texts where such a word is not followed by a second word of any phrase.
        if self._singles.isdisjoint(stems) and self._pairs.isdisjoint(zip(stems, stems[1:], strict=False)):
            return []
        found: list[Match] = []
        n = len(stems)
        positions = view.positions
        covered = -1  # content index up to which a longer match already consumed the words
        for i in list(compress(range(n), map(keys.__contains__, stems))):
            if i <= covered:
                continue
            single, deeper = first[stems[i]]
            chosen: Entry | None = None
            size = 0
            if deeper and i + 1 < n:
                for rest, entry in deeper.get(stems[i + 1], ()):
                    extra = len(rest)
                    if extra and (i + 1 + extra >= n or tuple(stems[i + 2 : i + 2 + extra]) != rest):
                        continue
                    chosen, size = entry, extra + 1
                    break  # longest candidate at this position wins
            if chosen is None:
                if single is None:
                    continue
                chosen = single
            start = positions[i]
            end = positions[i + size]
            surface = _surface(view.prepared.tokens[start : end + 1])
            found.append(Match(chosen, start, end, surface, view.negated(start, end)))
            covered = i + size
        return found


def views(prepared: Iterable[Prepared]) -> list[View]:
    return [View(item) for item in prepared]
