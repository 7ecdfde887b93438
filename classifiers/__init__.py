"""French text understanding (sentiment, topics, hostility, crisis signals); detection lives in classifiers/detection/."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from classifiers.settings import ClassifierSettings
    from classifiers.types import TextClassifier


def classifier_settings(section: ClassifierSettings, resolve: Callable[[Path], Path]) -> ClassifierSettings:
    """The [classifiers] section with its paths resolved by `resolve` (relative to the config file, like
    every other path: the caller passes `settings.resolve`, so this floor never reads the daemon's settings)."""
    paths = {name: resolve(value) for name in ("model_dir", "abuse_lexicon", "hostility_lexicon", "crisis_lexicon")
             if (value := getattr(section, name)) is not None}
    return section.model_copy(update=paths) if paths else section


def load_classifier(settings: ClassifierSettings, institution: Any) -> TextClassifier:
    """The full classifier stack, built from the shipped models and the configured taxonomy."""
    from classifiers.stack import ClassifierStack

    return ClassifierStack.load(settings, institution)
