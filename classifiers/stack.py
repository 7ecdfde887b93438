"""The classifier stack the pipeline calls: prepare each text once, then sentiment, topics, abuse (abusive,
threat, hostile), crisis. Every label carries the terms that explain it.

Why one object: the pipeline classifies batches of ~500 mentions; tokenising once and running each
classifier over the whole batch (vectorised models, dict-lookup lexicons) keeps the stack above
10,000 mentions/s on one core (see bench/bench_classify.py).
"""

from __future__ import annotations

import gc
import logging
from pathlib import Path
from typing import Any

from classifiers.crisis import CrisisDetector
from classifiers.crisis_places import name_places
from classifiers.hostility import HostilityClassifier
from classifiers.lexicon import View
from classifiers.settings import ClassifierSettings
from classifiers.text import prepare_many
from classifiers.topics import TopicClassifier
from classifiers.types import Classification, Institution, Label

log = logging.getLogger(__name__)


class ClassifierStack:
    """Sentiment, topics, hostility and crisis labels for batches of French texts."""

    def __init__(
        self,
        *,
        sentiment: Any | None,
        topics: TopicClassifier,
        hostility: HostilityClassifier,
        crisis: CrisisDetector,
    ) -> None:
        self.sentiment = sentiment
        self.topics = topics
        self.hostility = hostility
        self.crisis = crisis

    @classmethod
    def load(cls, settings: ClassifierSettings | None = None, institution: Any | None = None) -> ClassifierStack:
        """`institution`: anything with name, officials and own_accounts (an `Institution` by default)."""
        settings = settings or ClassifierSettings()
        institution = institution if institution is not None else Institution()
        model_dir = Path(settings.model_dir) if settings.model_dir else None
        stack = cls(
            sentiment=_load_sentiment(model_dir),
            topics=TopicClassifier.load(settings),
            hostility=HostilityClassifier.load(
                institution,
                lexicon_path=settings.hostility_lexicon,
                abuse_lexicon_path=settings.abuse_lexicon,
                model_path=model_dir / "abuse.joblib" if model_dir else None,
                model_threshold=settings.abuse_model_threshold,
                extra_targets=list(settings.hostility_targets),
            ),
            crisis=CrisisDetector.load(
                settings.crisis_lexicon, settings.crisis_threshold, abroad=settings.crisis_abroad,
                local_places=[*settings.crisis_local_places, *name_places(institution.name)],
            ),
        )
        # The models, lexicons and imported modules live as long as the process. Moving them out of the
        # cyclic GC's reach stops every full collection from rescanning ~150,000 objects while the
        # pipeline classifies (measured: +35% mentions/s, bench/bench_classify.py).
        gc.freeze()
        return stack

    def classify_batch(self, texts: list[str]) -> list[Classification]:
        if not texts:
            return []
        # A batch allocates tens of thousands of short-lived containers without cycles (token lists,
        # matches, labels): reference counting frees them, and the cyclic GC would only rescan them
        # several times per batch. It is paused meanwhile (never left paused, nor resumed if it was off).
        paused = gc.isenabled()
        if paused:
            gc.disable()
        try:
            return self._classify(texts)
        finally:
            if paused:
                gc.enable()

    def _classify(self, texts: list[str]) -> list[Classification]:
        prepared = prepare_many(texts)
        views = [View(item) for item in prepared]
        sentiments: list[tuple[str, float, dict[str, float], list[str]]] = [("neutral", 0.0, {}, [])] * len(texts)
        if self.sentiment is not None:
            # Texts without a single token (empty lines, lone spaces) have no sentiment to compute.
            wanted = [i for i, item in enumerate(prepared) if item.tokens]
            if wanted:
                predicted = self.sentiment.predict([prepared[i] for i in wanted])
                for i, value in zip(wanted, predicted, strict=True):
                    sentiments[i] = value
        topics = self.topics.classify_many(views)
        hostility = self.hostility.classify_many(views)
        located = self.crisis.locate_many(views)
        results: list[Classification] = []
        for (label, proba, probas, terms), topic, hostile, (crises, abroad) in zip(
            sentiments, topics, hostility, located, strict=True
        ):
            crisis, crisis_abroad = self._where(crises, abroad) if abroad else (crises, [])
            results.append(
                Classification(
                    sentiment=label,
                    sentiment_score=round(float(proba), 4),
                    sentiment_proba={k: round(float(v), 4) for k, v in probas.items()},
                    sentiment_terms=list(terms),
                    topics=topic,
                    abusive=hostile.abusive,
                    abusive_score=float(hostile.abusive_score),
                    abusive_terms=hostile.abusive_terms,
                    threat=hostile.threat,
                    threat_score=float(hostile.threat_score),
                    threat_terms=hostile.threat_terms,
                    hostile=bool(hostile.hostile),
                    hostility_score=float(hostile.score),
                    hostility_terms=hostile.terms,
                    hostility_targets=hostile.targets,
                    crisis=crisis,
                    crisis_abroad=crisis_abroad,
                )
            )
        return results

    def _where(self, crises: list[Label], abroad: list[str]) -> tuple[list[Label], list[Label]]:
        """(crisis, crisis_abroad) of a text located abroad: its crises go apart with their places among
        their words, unless the institution counts them."""
        located = [Label(c.name, c.score, [*c.terms, *abroad]) for c in crises]
        return (located, []) if self.crisis.count_abroad else ([], located)


def _load_sentiment(model_dir: Path | None) -> Any | None:
    """The shipped (or retrained) sentiment model; without it the stack still runs, everything neutral."""
    from classifiers.sentiment import SentimentModel
    from listener.errors import VigieError

    path = model_dir / "sentiment.joblib" if model_dir else None
    try:
        model = SentimentModel.load(path)
    except VigieError as exc:
        log.warning("sentiment model not loaded (%s): every mention will be 'neutral'", exc)
        return None
    try:  # a model file out of step with the code must fail here, loudly, not in the pipeline
        model.predict(prepare_many(["Test de chargement du modèle"]))
    except Exception:
        log.exception("sentiment model %s unusable: every mention will be 'neutral'", path or "shipped")
        return None
    return model
