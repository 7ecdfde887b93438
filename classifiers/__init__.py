"""French text understanding (sentiment, topics, hostility, crisis signals) and the detectors."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from classifiers.types import TextClassifier


def load_classifier(settings, institution) -> TextClassifier:
    """The full classifier stack, built from the shipped models and the configured taxonomy."""
    from classifiers.stack import ClassifierStack

    return ClassifierStack.load(settings, institution)
