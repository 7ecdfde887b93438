"""Settings for the spike, new-term, negative-shift and silence detectors."""

from __future__ import annotations

from pydantic import Field

from listener.settings_base import StrictModel


class DetectorSettings(StrictModel):
    # How often the detection and rules pass runs (seconds of the daemon's clock).
    interval_seconds: int = Field(default=60, ge=60)
