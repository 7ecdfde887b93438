"""Settings of each source type; `type` picks the model, so a typo in a source's key is named."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from listener.settings_base import StrictModel


class BaseSourceSettings(StrictModel):
    name: str
    enabled: bool = True
    # Raise a silence signal when the source has produced nothing for this long (seconds).
    silence_after: float | None = Field(default=None, gt=0)


class ReplaySourceSettings(BaseSourceSettings):
    type: Literal["replay"] = "replay"
    path: Path
    # "max" replays as fast as possible; a number is a speed factor (1 = real time, 60 = a minute a second).
    speed: float | Literal["max"] = "max"
    batch_size: int = Field(default=500, ge=1)


# Helpers adding a source type: add its model here and to the SourceSettings union.
SourceSettings = ReplaySourceSettings
