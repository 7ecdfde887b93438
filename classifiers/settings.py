"""Settings for the French classifiers.

Why each knob exists: the taxonomy is the institution's own vocabulary (it changes per city), the
abuse threshold trades missed insults against false alarms sent to the communication team, and the
lexicon overrides let an institution extend the shipped French lexicons without a release.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from listener.settings_base import StrictModel


class TopicSettings(StrictModel):
    """One topic of the taxonomy: a stable key, a French label for people, and seed terms.

    Terms are words or phrases; they match inflected forms (stems), accents and case ignored.
    """

    name: str
    label: str = ""
    terms: list[str] = Field(default_factory=list)


class ClassifierSettings(StrictModel):
    # Folder holding trained model files; empty means the models shipped in the package.
    model_dir: Path | None = None
    # The topic taxonomy (multi-label: a mention can be about several topics).
    topics: list[TopicSettings] = Field(default_factory=list)
    # A topic is kept when its score reaches this (lexicon hits score ≥ 0.6, the model gives a probability).
    topic_threshold: float = Field(default=0.5, gt=0, le=1)
    # Learned topic model: trained only for topics with at least this many labelled mentions.
    topic_model_min_labels: int = Field(default=20, ge=1)
    # The learned abuse model decides "abusive" when its probability reaches this; empty = the threshold
    # chosen at training time (stored in the model file, see `vigie eval`).
    abuse_model_threshold: float | None = Field(default=None, gt=0, lt=1)
    # Replacement abuse and threat lexicon (TOML like classifiers/data/abuse_fr.toml); empty = shipped.
    abuse_lexicon: Path | None = None
    # Replacement hostility targets (TOML like classifiers/data/hostility_fr.toml); empty = shipped.
    hostility_lexicon: Path | None = None
    # More words naming this institution, its services or staff (abuse near them is "hostile"), besides
    # the shipped ones (« le maire », « la mairie », « les élus », « le préfet »…) and the officials.
    hostility_targets: list[str] = Field(default_factory=list)
    # Replacement crisis lexicon (TOML like classifiers/data/crisis_fr.toml); empty = shipped.
    crisis_lexicon: Path | None = None
    # A crisis kind is reported when its score reaches this.
    crisis_threshold: float = Field(default=0.5, gt=0)
    # Crises located abroad (« séisme au Japon », « attentat à Londres ») alert like the others: true for a
    # ministry or a body with interests abroad; false (default, a town): they are counted apart, never alerted.
    crisis_abroad: bool = False
    # The institution's own places (the commune, its neighbours, the département…): an event naming one is
    # local whatever else the text names. The words of the institution's name count already.
    crisis_local_places: list[str] = Field(default_factory=list)
