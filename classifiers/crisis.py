"""Crisis signals (fire, flood, attack, water cut…) from a French phrase lexicon.

Why a lexicon rather than a model: crisis posts are rare, urgent and must be explainable ("which words
made you page me at 3 am?"). The hard part is what must *not* fire, handled in this order:

- negation: "pas d'incendie", "aucun blessé" (except kinds whose signal is a negation: "plus d'eau");
- hypothetical or conditional use just before the phrase: "si jamais il y a une inondation",
  "en cas d'incendie", "risque d'inondation";
- drills and tests anywhere in the text: "exercice d'évacuation", "simulation", "alerte test";
- past events and remembrance: "il y a 10 ans", "commémoration", "anniversaire";
- figurative uses overlapping the phrase: "explosion de joie", "feu d'artifice", "inondé de messages";
- topic words that are not events, overlapping the phrase: "terrorisme intellectuel", "la lutte contre le
  terrorisme", "séisme politique", "peine de mort";
- film, series and book plots anywhere in the text: "le film raconte une inondation…".

Whole words where stems mislead: a phrase whose stems are short and differ from its words ("tué" → "tu",
"courant" → "cour") is matched word for word, so « tu » + « mort » never reads as « tué ».
Aftermath words ("bilan", "sinistrés", "disparus", "consignes") strengthen a kind already signalled and
never fire alone.

The lexicon is classifiers/data/crisis_fr.toml (replaceable with ClassifierSettings.crisis_lexicon).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from classifiers.lexicon import Entry, Match, PhraseLexicon, View
from classifiers.text import prepare
from classifiers.types import Label

DEFAULT_LEXICON = Path(__file__).with_name("data") / "crisis_fr.toml"
STRONG, WEAK = 1.0, 0.3
# How many tokens before a crisis phrase a hypothetical cue ("en cas de") may end.
HYPOTHETICAL_WINDOW = 6
_NUMBER_WORDS = "un|deux|trois|quatre|cinq|six|sept|huit|neuf|dix|onze|douze|quinze|vingt|trente|quarante|" \
    "cinquante|cent|quelques|plusieurs"
_YEARS_AGO_RE = re.compile(rf"\bil y a (?:\d+|{_NUMBER_WORDS}) ans\b|\ben \d+ ans\b|\bdepuis \d+ ans\b")


@dataclass(frozen=True, slots=True)
class CrisisLexicon:
    kinds: PhraseLexicon
    exact: PhraseLexicon  # whole-word phrases ("crue" must not match "lait cru")
    labels: dict[str, str]
    keep_negated: frozenset[str]
    hypothetical: PhraseLexicon
    drill: PhraseLexicon
    past: PhraseLexicon
    figurative: PhraseLexicon
    fiction: PhraseLexicon
    topic: PhraseLexicon
    aftermath: PhraseLexicon


def _needs_whole_words(phrase: str) -> bool:
    """Stems that are short and differ from the word collide with other words ("tué" → "tu")."""
    prepared = prepare(phrase)
    return any(len(stem) <= 4 and stem != word and word.isalpha()
               for stem, word in zip(prepared.stems, prepared.folded, strict=True))


def load_lexicon(path: Path | None = None) -> CrisisLexicon:
    data = tomllib.loads(Path(path or DEFAULT_LEXICON).read_text(encoding="utf-8"))
    entries: list[Entry] = []
    exact: list[Entry] = []
    labels: dict[str, str] = {}
    keep: set[str] = set()
    for kind, spec in data.get("kinds", {}).items():
        labels[kind] = spec.get("label", kind)
        if spec.get("keep_negated"):
            keep.add(kind)
        for weight, phrases in ((STRONG, spec.get("strong", [])), (WEAK, spec.get("weak", []))):
            for phrase in phrases:
                (exact if _needs_whole_words(phrase) else entries).append(Entry(phrase, kind, weight))
        exact.extend(Entry(phrase, kind, STRONG) for phrase in spec.get("exact", []))
        exact.extend(Entry(phrase, kind, WEAK) for phrase in spec.get("exact_weak", []))
    context = data.get("context", {})

    def cues(name: str, on: str = "stems") -> PhraseLexicon:
        return PhraseLexicon((Entry(phrase, name, 1.0) for phrase in context.get(name, [])), on=on)

    aftermath = data.get("aftermath", {})
    return CrisisLexicon(
        kinds=PhraseLexicon(entries),
        exact=PhraseLexicon(exact, on="words"),
        labels=labels,
        keep_negated=frozenset(keep),
        hypothetical=cues("hypothetical"),
        drill=cues("drill"),
        past=cues("past"),
        figurative=cues("figurative"),
        fiction=cues("fiction", on="words"),  # "série" and "serait" share a stem
        topic=cues("topic"),
        aftermath=PhraseLexicon(Entry(w, "aftermath", float(aftermath.get("weight", WEAK)))
                                for w in aftermath.get("words", [])),
    )


# Words after which "plus d'eau" still means "no more water" ("il n'y a plus", "toujours plus" is not).
_PLUS_ABSENCE_BEFORE = frozenset({"a", "y", "n'", "ne", "toujours", "encore", "deja", "et", "donc", "bref"})


def _comparative(view: View, match: Match) -> bool:
    """ "consomment plus d'électricité" compares; "plus d'électricité depuis 8h" says it is cut."""
    folded = view.prepared.folded
    if folded[match.start] != "plus" or match.start == 0:
        return False
    before = folded[match.start - 1]
    return before.isalnum() and before not in _PLUS_ABSENCE_BEFORE


class CrisisDetector:
    """Crisis kinds for prepared texts, each with a score and the phrases that fired."""

    def __init__(self, lexicon: CrisisLexicon, threshold: float = 0.5) -> None:
        self.lexicon = lexicon
        self.threshold = threshold

    @classmethod
    def load(cls, path: Path | None = None, threshold: float = 0.5) -> CrisisDetector:
        return cls(load_lexicon(path), threshold)

    def _kept(self, view: View, matches: list[Match]) -> list[Match]:
        lex = self.lexicon
        kept = [
            m for m in matches
            if (not m.negated or m.entry.group in lex.keep_negated) and not _comparative(view, m)
        ]
        if not kept:
            return kept
        if lex.drill.match(view) or lex.past.match(view) or lex.fiction.match(view):
            return []
        if _YEARS_AGO_RE.search(" ".join(view.prepared.folded).replace("' ", "'")):
            return []
        figurative = lex.figurative.match(view) + lex.topic.match(view)
        if figurative:
            kept = [m for m in kept if not any(f.start <= m.end and m.start <= f.end for f in figurative)]
        hypothetical = lex.hypothetical.match(view)
        if hypothetical:
            kept = [
                m for m in kept
                if not any(h.end < m.start <= h.end + HYPOTHETICAL_WINDOW or h.start <= m.start <= h.end
                           for h in hypothetical)
            ]
        return kept

    def detect(self, view: View) -> list[Label]:
        matches = self.lexicon.kinds.match(view)
        if self.lexicon.exact.entries:
            matches += self.lexicon.exact.match(view)
        if not matches:
            return []
        kept = self._kept(view, matches)
        scores: dict[str, float] = {}
        terms: dict[str, dict[str, None]] = {}
        seen: set[tuple[str, str]] = set()
        covered: set[tuple[str, int]] = set()
        # Strongest and longest first, so a word shared by two entries counts with its best one.
        for match in sorted(kept, key=lambda m: (-m.entry.weight, m.start - m.end, m.start)):
            kind = match.entry.group
            # One phrase counts once, and one word once per kind (a stem and a whole-word entry may both hit).
            if (kind, match.entry.phrase) in seen or (kind, match.start) in covered:
                continue
            seen.add((kind, match.entry.phrase))
            covered.add((kind, match.start))
            scores[kind] = scores.get(kind, 0.0) + match.entry.weight
            terms.setdefault(kind, {})[match.surface] = None
        if scores:
            for match in self.lexicon.aftermath.match(view):
                if match.negated or ("aftermath", match.entry.phrase) in seen or any(
                    k.start <= match.end and match.start <= k.end for k in kept
                ):
                    continue
                seen.add(("aftermath", match.entry.phrase))
                for kind in scores:
                    scores[kind] += match.entry.weight
                    terms[kind][match.surface] = None
        labels = [
            Label(kind, round(min(1.0, score), 3), list(terms[kind]))
            for kind, score in scores.items()
            if score >= self.threshold
        ]
        labels.sort(key=lambda label: -label.score)
        return labels

    def detect_many(self, views: list[View]) -> list[list[Label]]:
        return [self.detect(view) for view in views]
