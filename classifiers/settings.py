"""Settings for the French classifiers."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from listener.settings_base import StrictModel


class TopicSettings(StrictModel):
    name: str
    label: str = ""
    terms: list[str] = Field(default_factory=list)


class ClassifierSettings(StrictModel):
    # Folder holding trained model files; empty means the models shipped in the package.
    model_dir: Path | None = None
    topics: list[TopicSettings] = Field(default_factory=list)


# Detector settings live in their own module (owned with the detectors) and are re-exported here.
from classifiers.detector_settings import DetectorSettings  # noqa: E402,F401
