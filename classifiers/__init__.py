"""French text understanding (sentiment, topics, hostility, crisis signals) and the detectors."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from classifiers.settings import ClassifierSettings
    from classifiers.types import TextClassifier
    from listener.settings import Settings


def classifier_settings(settings: Settings) -> ClassifierSettings:
    """The [classifiers] section with its paths relative to the config file, like every other path."""
    section = settings.classifiers
    paths = {name: settings.resolve(value) for name in ("model_dir", "hostility_lexicon", "crisis_lexicon")
             if (value := getattr(section, name)) is not None}
    return section.model_copy(update=paths) if paths else section


def load_classifier(settings, institution) -> TextClassifier:
    """The full classifier stack, built from the shipped models and the configured taxonomy."""
    from classifiers.stack import ClassifierStack

    return ClassifierStack.load(settings, institution)
