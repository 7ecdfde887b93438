"""Hostility = abuse aimed at the institution, its services or staff, or its officials.

Why a split: the cell moderates its own pages and must see abuse whoever it targets (``abusive``),
threats are for the police (``threat``), and only abuse aimed at the institution is an attack on it
(``hostile``). Anger without abuse ("démission !", "quelle honte cette décision") is criticism, not
hostility; abuse aimed at someone else ("les supporters adverses sont des chiens") is abusive, not hostile.

Who is aimed at comes from whole-word targets (classifiers/data/hostility_fr.toml [targets]: « le maire »,
« la mairie », « les élus », « le préfet », « le ministre »…, plus ClassifierSettings.hostility_targets),
the officials' names in the institution's officials (full name or surname), the institution's name and
its own accounts (a reply to @villederivebelle that insults "vous" insults the city hall). A target
counts when it stands near the abusive words (HOSTILE_WINDOW tokens). Abuse found by the learned model
alone has no word position: it makes the text hostile only when the model is very sure (MODEL_ONLY_SCORE),
because on real tweets that name politicians the model alone fires on criticism and on the corpus's own
topics (« Wauquiez est un gauchiste par rapport à nous »: MLMA dev).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from classifiers.abuse import AbuseDetector, AbuseResult
from classifiers.lexicon import Entry, PhraseLexicon, View
from classifiers.types import Institution
from listener.textfold import fold

DATA_DIR = Path(__file__).with_name("data")
DEFAULT_LEXICON = DATA_DIR / "hostility_fr.toml"
INSTITUTION = "institution"
# How far (tokens) a target may stand from the abusive words ("Benali, ce menteur" and "les élus de
# cette ville sont tous des pourris").
HOSTILE_WINDOW = 10
# The abuse score (0.5 = the model's decision point) the model alone needs to make a naming text hostile.
MODEL_ONLY_SCORE = 0.9


@dataclass(slots=True)
class HostilityResult:
    """The three abuse labels of one text with their scores and explaining words."""

    hostile: bool = False
    score: float = 0.0
    terms: list[str] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)
    abusive: bool = False
    abusive_score: float = 0.0
    abusive_terms: list[str] = field(default_factory=list)
    threat: bool = False
    threat_score: float = 0.0
    threat_terms: list[str] = field(default_factory=list)


class HostilityLexicon:
    """Who a text names: the institution (generic words, its name, its accounts) and its officials."""

    def __init__(self, data: dict[str, Any], officials: list[str], name: str, own_accounts: list[str],
                 extra_targets: list[str] | None = None) -> None:
        targets_spec = data.get("targets", {})
        mayor = officials[0] if officials else INSTITUTION
        entries = [Entry(term, INSTITUTION) for term in targets_spec.get("institution", [])]
        entries += [Entry(term, INSTITUTION) for term in extra_targets or []]
        entries += [Entry(term, mayor) for term in targets_spec.get("mayor", [])]
        if name:
            entries.append(Entry(name, INSTITUTION))
        self.officials: set[str] = set(officials)
        for official in officials:
            entries.append(Entry(official, official))
            parts = official.split()
            if len(parts) > 1 and len(parts[-1]) > 2:
                entries.append(Entry(parts[-1], official))  # surname alone
            # As hashtags too (« #macron est un adolescent attardé »), whatever their casing.
            entries += [Entry(_hashtag(name), official) for name in {official, parts[-1]} if len(name) > 2]
        self.targets = PhraseLexicon(entries, on="words")
        self.handles = [fold(h.lstrip("@")) for h in own_accounts if h.strip("@ ")]

    @classmethod
    def load(cls, institution: Any, path: Path | None = None, extra_targets: list[str] | None = None
             ) -> HostilityLexicon:
        return cls(
            tomllib.loads(Path(path or DEFAULT_LEXICON).read_text(encoding="utf-8")),
            list(getattr(institution, "officials", []) or []),
            getattr(institution, "name", "") or "",
            list(getattr(institution, "own_accounts", []) or []),
            extra_targets,
        )


class HostilityClassifier:
    """Abusive, threat and hostile labels: the abuse detector, then who the abuse is aimed at."""

    def __init__(self, lexicon: HostilityLexicon, abuse: AbuseDetector | None = None) -> None:
        self.lexicon = lexicon
        self.abuse = abuse or AbuseDetector.load(use_model=False)

    @classmethod
    def load(
        cls,
        institution: Any,
        *,
        lexicon_path: Path | None = None,
        abuse_lexicon_path: Path | None = None,
        model_path: Path | None = None,
        use_model: bool = True,
        model_threshold: float | None = None,
        extra_targets: list[str] | None = None,
    ) -> HostilityClassifier:
        abuse = AbuseDetector.load(abuse_lexicon_path, model_path, use_model=use_model,
                                   model_threshold=model_threshold)
        return cls(HostilityLexicon.load(institution, lexicon_path, extra_targets), abuse)

    @property
    def model(self) -> dict[str, Any] | None:
        return self.abuse.model

    def targets(self, view: View) -> list[tuple[str, int, int]]:
        """(who, first token, last token) of every target named; an own account addressed counts too."""
        found = [(m.entry.group, m.start, m.end) for m in self.lexicon.targets.match(view)]
        if self.lexicon.handles and "@" in view.prepared.text:
            lowered = view.prepared.text.lower()  # handles are ASCII: no need to fold accents
            if any("@" + handle in lowered for handle in self.lexicon.handles):
                found.append((INSTITUTION, -1, -1))  # addressed: aimed at whatever the text says
        return found

    def classify_many(self, views: list[View]) -> list[HostilityResult]:
        # Targets matter only where the abuse layer finds words (they weigh degrading words aimed at
        # someone) and where the text is abusive (who is aimed at): a few percent of texts.
        named = _Targets(self, views)
        abuses = self.abuse.findings([view.prepared for view in views], named)
        return [HostilityResult() if abuse is None else self._combine(abuse, named.of(k) if abuse.abusive else [])
                for k, abuse in enumerate(abuses)]

    def _combine(self, abuse: AbuseResult, named: list[tuple[str, int, int]]) -> HostilityResult:
        result = HostilityResult(
            abusive=abuse.abusive, abusive_score=abuse.score, abusive_terms=list(abuse.terms),
            threat=abuse.threat, threat_score=abuse.threat_score, threat_terms=list(abuse.threat_terms),
        )
        if not abuse.abusive or not named:
            return result
        who: dict[str, None] = {}
        for group, start, end in named:
            if start < 0:
                near = True  # the institution's own account is addressed
            elif not abuse.spans:
                near = abuse.score >= MODEL_ONLY_SCORE  # found by the model alone: no word position
            else:
                near = any(start - HOSTILE_WINDOW <= s_end and s_start <= end + HOSTILE_WINDOW
                           for s_start, s_end in abuse.spans)
            if near:
                who[group] = None
        if who:
            result.hostile = True
            result.score = abuse.score
            result.terms = list(abuse.terms)
            # An official named beats the generic "institution" when both are found.
            result.targets = [w for w in who if w != INSTITUTION] or [INSTITUTION]
        return result


class _Targets:
    """Each view's targets, found the first time they are asked for; indexed, it gives the token indices
    they cover (AbuseDetector.detect_many's ``aimed``)."""

    __slots__ = ("classifier", "found", "views")

    def __init__(self, classifier: HostilityClassifier, views: list[View]) -> None:
        self.classifier = classifier
        self.views = views
        self.found: dict[int, list[tuple[str, int, int]]] = {}

    def of(self, index: int) -> list[tuple[str, int, int]]:
        found = self.found.get(index)
        if found is None:
            found = self.found[index] = self.classifier.targets(self.views[index])
        return found

    def __len__(self) -> int:
        return len(self.views)

    def __getitem__(self, index: int) -> set[int]:
        return {i for _, start, end in self.of(index) if start >= 0 for i in range(start, end + 1)}


def _hashtag(name: str) -> str:
    """« Jean-Luc Mélenchon » → « #jeanlucmelenchon »: one lower-cased token, like the hashtags of a text."""
    return "#" + "".join(c for c in fold(name).lower() if c.isalnum())


def training_institution() -> Institution:
    """The fictional city hall the hand-written sets were written about."""
    return Institution(
        name="Ville de Rivebelle",
        officials=("Claire Marchand", "Karim Benali"),
        own_accounts=("@villederivebelle", "@rivebelle"),
    )
