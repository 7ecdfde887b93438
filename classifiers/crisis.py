"""Crisis signals (fire, flood, attack, water cut…) from a French phrase lexicon.

Why a lexicon rather than a model: crisis posts are rare, urgent and must be explainable ("which words
made you page me at 3 am?"). The hard part is what must *not* fire, handled in this order:

- negation: "pas d'incendie", "aucun blessé" (except kinds whose signal is a negation: "plus d'eau");
- hypothetical or conditional use just before the phrase: "si jamais il y a une inondation",
  "en cas d'incendie", "risque d'inondation";
- drills and tests anywhere in the text: "exercice d'évacuation", "simulation", "alerte test";
- generic statements rather than reports, just before the phrase: "de plus en plus d'inondations",
  "la lutte contre les incendies"; trends and projections just after it: "les canicules seront plus
  fréquentes", "… seront toujours présentes";
- past events and remembrance anywhere in the text: "il y a 10 ans", "commémoration", "hommage",
  "anniversaire", a past year ("la canicule de 2003", "en 2015"; not "la pire crue depuis 1910");
- figurative uses overlapping the phrase: "explosion de joie", "feu d'artifice", "inondé de messages";
- topic words that are not events, overlapping the phrase: "terrorisme intellectuel", "la lutte contre le
  terrorisme", "séisme politique", "peine de mort";
- the end of a crisis, overlapping the phrase: "levée du confinement", "fin de l'alerte";
- film, series and book plots anywhere in the text: "le film raconte une inondation…";
- a subject rather than an event, when nothing anchors one (no aftermath word, no "hier", "en cours"…):
  a debate about terrorism (« l'islam n'est pas le terrorisme… attentats ») for attacks and shootings,
  a list of offences (« harcèlement. piratage informatique. vandalisme ») for every kind.

Where: a crisis clearly located abroad (« séisme au Japon ») is found like any other, and `locate`
says where; the stack counts it apart (Classification.crisis_abroad, the place among its words) unless
the institution counts events abroad as its own (ClassifierSettings.crisis_abroad). The institution's
own places are always local (crisis_places.py).

Whole words where stems mislead: a phrase whose stems are short and differ from its words ("tué" → "tu",
"courant" → "cour") is matched word for word, so « tu » + « mort » never reads as « tué ».
Aftermath words ("bilan", "sinistrés", "disparus", "consignes") strengthen a kind already signalled and
never fire alone, nor inside a figurative or topic phrase (« ravagé mentalement »).
One word family counts once per kind: « #Pollution … elle pollue » is one weak signal, not two.
A negated phrase kept as a signal ("pas de courant") needs its "de" in the text: « pas courant » means
"not common".

The lexicon is classifiers/data/crisis_fr.toml (replaceable with ClassifierSettings.crisis_lexicon).
"""

from __future__ import annotations

import datetime
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from classifiers.crisis_places import PlaceScope
from classifiers.lexicon import Entry, Match, PhraseLexicon, View
from classifiers.text import NEGATORS, prepare
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
    generic: PhraseLexicon
    trend: PhraseLexicon
    drill: PhraseLexicon
    past: PhraseLexicon
    figurative: PhraseLexicon
    fiction: PhraseLexicon
    topic: PhraseLexicon
    over: PhraseLexicon
    aftermath: PhraseLexicon
    debate: PhraseLexicon
    debate_kinds: frozenset[str]
    offences: PhraseLexicon
    anchor: PhraseLexicon


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
    def cues(name: str, on: str = "stems", section: str = "context") -> PhraseLexicon:
        phrases = data.get(section, {}).get(name, [])
        return PhraseLexicon((Entry(phrase, name, 1.0) for phrase in phrases), on=on)

    aftermath = data.get("aftermath", {})
    subject = data.get("subject", {})

    return CrisisLexicon(
        kinds=PhraseLexicon(entries),
        exact=PhraseLexicon(exact, on="words"),
        labels=labels,
        keep_negated=frozenset(keep),
        hypothetical=cues("hypothetical"),
        generic=cues("generic"),
        trend=cues("trend"),
        drill=cues("drill"),
        past=cues("past"),
        figurative=cues("figurative"),
        fiction=cues("fiction", on="words"),  # "série" and "serait" share a stem
        topic=cues("topic"),
        over=cues("over"),
        aftermath=PhraseLexicon(Entry(w, "aftermath", float(aftermath.get("weight", WEAK)))
                                for w in aftermath.get("words", [])),
        debate=cues("debate", on="words", section="subject"),  # "terrorisme", not "terroriste": same stem
        debate_kinds=frozenset(subject.get("debate_kinds", [])),
        offences=cues("offences", section="subject"),
        anchor=cues("anchor", section="subject"),
    )


# Words after which "plus d'eau" still means "no more water" ("il n'y a plus", "toujours plus" is not).
_PLUS_ABSENCE_BEFORE = frozenset({"a", "y", "n'", "ne", "toujours", "encore", "deja", "et", "donc", "bref"})
_DE = frozenset({"de", "d'", "du", "des"})
# A year after these is a past event ("la canicule de 2003", "en 2015")...
_YEAR_OF = frozenset({"en", "de", "d'", "du", "des"})
# ...unless the text compares with it ("la pire crue depuis 1910", "comme en 2003", "pire qu'en 2003").
_YEAR_COMPARED = frozenset({"comme", "depuis", "qu'", "que", "pire", "record", "jamais", "plus", "avant"})
# How many characters of a single word make its family: « pollution », « pollué », « #Pollution ».
FAMILY_PREFIX = 5


def _comparative(view: View, match: Match) -> bool:
    """ "consomment plus d'électricité" compares; "plus d'électricité depuis 8h" says it is cut."""
    folded = view.prepared.folded
    if folded[match.start] != "plus" or match.start == 0:
        return False
    before = folded[match.start - 1]
    return before.isalnum() and before not in _PLUS_ABSENCE_BEFORE


def _missing_de(view: View, match: Match) -> bool:
    """ "pas de courant" is a power cut, « pas courant » (not common) is not: a phrase that starts with a
    negator and a "de" needs that "de" in the text (the matcher skips it on both sides)."""
    words = match.entry.phrase.lower().replace("'", "' ").split()
    if len(words) < 2 or words[0] not in NEGATORS or words[1] not in _DE:
        return False
    return not any(word in _DE for word in view.prepared.folded[match.start + 1 : match.end + 1])


def _past_year(folded: list[str], this_year: int) -> bool:
    """A year before this one named as the event's time: « les inondations de 1910 », « en 2015 »."""
    for i, word in enumerate(folded):
        if len(word) != 4 or not word.isdigit() or i == 0 or folded[i - 1] not in _YEAR_OF:
            continue
        if 1800 <= int(word) < this_year and (i < 2 or folded[i - 2] not in _YEAR_COMPARED):
            return True
    return False


def _family(view: View, match: Match) -> str:
    """One word family per kind: the first letters of a one-word match, the phrase otherwise."""
    if match.start != match.end:
        return match.entry.phrase
    return view.prepared.folded[match.start].lstrip("#")[:FAMILY_PREFIX]


def _overlaps(match: Match, others: list[Match]) -> bool:
    return any(other.start <= match.end and match.start <= other.end for other in others)


class CrisisDetector:
    """Crisis kinds for prepared texts, each with a score and the phrases that fired."""

    def __init__(self, lexicon: CrisisLexicon, threshold: float = 0.5, this_year: int | None = None,
                 places: PlaceScope | None = None, count_abroad: bool = False) -> None:
        self.lexicon = lexicon
        self.threshold = threshold
        # Mentions are classified as they arrive: a year before this one is in the past.
        self.this_year = this_year or datetime.date.today().year
        # None: no place is ever abroad (a detector without a place list).
        self.places = places
        # Whether a crisis abroad is one of the institution's own (a ministry with interests abroad).
        self.count_abroad = count_abroad

    @classmethod
    def load(cls, path: Path | None = None, threshold: float = 0.5, this_year: int | None = None, *,
             abroad: bool = False, local_places: Iterable[str] = ()) -> CrisisDetector:
        """`abroad`: whether crises located abroad count; `local_places`: the institution's own places,
        local whatever else a text names (the defaults are those of ClassifierSettings)."""
        return cls(load_lexicon(path), threshold, this_year, PlaceScope.load(local=local_places), abroad)

    def _kept(self, view: View, matches: list[Match]) -> tuple[list[Match], list[Match]]:
        """(the matches that still count, the figurative and topic phrases found)."""
        lex = self.lexicon
        kept = [
            m for m in matches
            if (not m.negated or m.entry.group in lex.keep_negated)
            and not _comparative(view, m) and not _missing_de(view, m)
        ]
        if not kept:
            return kept, []
        if lex.drill.match(view) or lex.past.match(view) or lex.fiction.match(view):
            return [], []
        folded = view.prepared.folded
        if _YEARS_AGO_RE.search(" ".join(folded).replace("' ", "'")) or _past_year(folded, self.this_year):
            return [], []
        figurative = lex.figurative.match(view) + lex.topic.match(view) + lex.over.match(view)
        if figurative:
            kept = [m for m in kept if not _overlaps(m, figurative)]
        before = lex.hypothetical.match(view) + lex.generic.match(view)
        if before:
            kept = [
                m for m in kept
                if not any(h.end < m.start <= h.end + HYPOTHETICAL_WINDOW or h.start <= m.start <= h.end
                           for h in before)
            ]
        after = lex.trend.match(view)
        if after:
            kept = [m for m in kept if not any(m.end < t.start <= m.end + HYPOTHETICAL_WINDOW for t in after)]
        if kept and (lex.debate.entries or lex.offences.entries):
            kept = self._drop_subjects(view, kept)
        return kept, figurative

    def _drop_subjects(self, view: View, kept: list[Match]) -> list[Match]:
        """A subject, not an event: a debate about terrorism drops attacks and shootings, a list of two
        offences or more drops every kind, unless something anchors an event (aftermath, "hier"…)."""
        lex = self.lexicon
        debate = bool(lex.debate.match(view))
        offences = len({m.entry.phrase for m in lex.offences.match(view)}) >= 2
        if not (debate or offences):
            return kept
        if lex.anchor.match(view) or any(not m.negated for m in lex.aftermath.match(view)):
            return kept
        if offences:
            return []
        return [m for m in kept if m.entry.group not in lex.debate_kinds]

    def detect(self, view: View) -> list[Label]:
        """The crises that are the institution's own: those abroad only when it counts them."""
        labels, places = self.locate(view)
        return [] if places and not self.count_abroad else labels

    def locate(self, view: View) -> tuple[list[Label], list[str]]:
        """(the crisis labels wherever the event is, the places abroad it is located in; [] when local)."""
        matches = self.lexicon.kinds.match(view)
        if self.lexicon.exact.entries:
            matches += self.lexicon.exact.match(view)
        if not matches:
            return [], []
        kept, figurative = self._kept(view, matches)
        scores: dict[str, float] = {}
        terms: dict[str, dict[str, None]] = {}
        seen: set[tuple[str, str]] = set()
        covered: set[tuple[str, int]] = set()
        # Strongest and longest first, so a word shared by two entries counts with its best one.
        for match in sorted(kept, key=lambda m: (-m.entry.weight, m.start - m.end, m.start)):
            kind = match.entry.group
            # One phrase counts once, one word once per kind (a stem and a whole-word entry may both hit),
            # and one word family once per kind (« #Pollution … elle pollue »).
            family = (kind, _family(view, match))
            if (kind, match.entry.phrase) in seen or (kind, match.start) in covered or family in seen:
                continue
            seen.update(((kind, match.entry.phrase), family))
            covered.add((kind, match.start))
            scores[kind] = scores.get(kind, 0.0) + match.entry.weight
            terms.setdefault(kind, {})[match.surface] = None
        if scores:
            self._add_aftermath(view, kept + figurative, scores, terms)
        labels = [
            Label(kind, round(min(1.0, score), 3), list(terms[kind]))
            for kind, score in scores.items()
            if score >= self.threshold
        ]
        if not labels:
            return [], []
        labels.sort(key=lambda label: -label.score)
        return labels, (self.places.abroad(view) if self.places is not None else [])

    def _add_aftermath(self, view: View, taken: list[Match], scores: dict[str, float],
                       terms: dict[str, dict[str, None]]) -> None:
        """Aftermath words strengthen every kind found, each word family once, never inside a phrase
        already taken (« ravagé mentalement » is not a ruin)."""
        found: dict[str, Match] = {}
        for match in self.lexicon.aftermath.match(view):
            if not match.negated and not _overlaps(match, taken):
                found.setdefault(_family(view, match), match)
        for match in found.values():
            for kind in scores:
                scores[kind] += match.entry.weight
                terms[kind][match.surface] = None

    def detect_many(self, views: list[View]) -> list[list[Label]]:
        return [self.detect(view) for view in views]

    def locate_many(self, views: list[View]) -> list[tuple[list[Label], list[str]]]:
        return [self.locate(view) for view in views]
