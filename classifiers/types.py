"""What the classifiers say about one text. Every label carries the terms that drove it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from sys import intern
from typing import Any, Protocol

SENTIMENTS = ("negative", "neutral", "positive")


@dataclass(frozen=True, slots=True)
class Institution:
    """Who texts may be aimed at, as plain values: the stack reads these, not the daemon's settings."""

    name: str = "Ville de Rivebelle"
    officials: tuple[str, ...] = ()
    own_accounts: tuple[str, ...] = ()


@dataclass(slots=True)
class Label:
    """A label with its score and the words that explain it."""

    name: str
    score: float
    terms: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Classification:
    sentiment: str = "neutral"
    sentiment_score: float = 0.0
    sentiment_proba: dict[str, float] = field(default_factory=dict)
    sentiment_terms: list[str] = field(default_factory=list)
    topics: list[Label] = field(default_factory=list)
    # Abusive: insulting, hateful, degrading, dehumanising or threatening language, whoever it targets.
    abusive: bool = False
    abusive_score: float = 0.0
    abusive_terms: list[str] = field(default_factory=list)
    # Threat: a threat or a call for violence or death against anyone (always abusive too).
    threat: bool = False
    threat_score: float = 0.0
    threat_terms: list[str] = field(default_factory=list)
    # Hostile: abusive AND aimed at the institution, its services or staff, or its officials.
    hostile: bool = False
    hostility_score: float = 0.0
    hostility_terms: list[str] = field(default_factory=list)
    # Who the hostility is aimed at: "institution" or an official's name from the config.
    hostility_targets: list[str] = field(default_factory=list)
    crisis: list[Label] = field(default_factory=list)
    # Crises located abroad, counted apart and never alerted (unless `crisis_abroad = true`, which puts
    # them in `crisis`): their words end with the places abroad (« séisme, Japon »).
    crisis_abroad: list[Label] = field(default_factory=list)

    @property
    def topic_names(self) -> list[str]:
        return [label.name for label in self.topics]

    @property
    def crisis_kinds(self) -> list[str]:
        return [label.name for label in self.crisis]

    @property
    def crisis_abroad_kinds(self) -> list[str]:
        return [label.name for label in self.crisis_abroad]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Classification:
        """Labels stored by any version: missing keys (abusive, threat…) take their defaults; an unknown key
        is an error (a malformed item is refused, not silently trimmed)."""
        data = dict(data)
        for name in _LABEL_LISTS:
            data[name] = [_label(item) for item in data.get(name, ())]
        for name in _WORD_LISTS:
            if data.get(name):
                data[name] = _interned(data[name])
        if type(data.get("sentiment")) is str:
            data["sentiment"] = intern(data["sentiment"])
        return cls(**data)


_LABEL_LISTS = ("topics", "crisis", "crisis_abroad")
_WORD_LISTS = ("sentiment_terms", "abusive_terms", "threat_terms", "hostility_terms", "hostility_targets")


def _label(item: dict[str, Any]) -> Label:
    """A stored label; its name and words interned: the rules hold a minute of mentions read back from the
    store, whose words repeat (« inondation », « maire »), and one copy of each saves ~0.3 KB a mention."""
    item = dict(item)
    if type(item.get("name")) is str:
        item["name"] = intern(item["name"])
    if item.get("terms"):
        item["terms"] = _interned(item["terms"])
    return Label(**item)


def _interned(words: Any) -> Any:
    """One copy of each word (the checks of what was stored, or posted, stay the callers')."""
    if not isinstance(words, list):
        return words
    return [intern(word) if type(word) is str else word for word in words]


class TextClassifier(Protocol):
    """What the pipeline needs from the classifier stack."""

    def classify_batch(self, texts: list[str]) -> list[Classification]: ...
