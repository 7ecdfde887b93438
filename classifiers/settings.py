"""Settings for the French classifiers and for the detectors."""

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


class DetectorSettings(StrictModel):
    interval_seconds: int = Field(default=60, ge=1)
