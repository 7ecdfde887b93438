"""Settings for the rules engine, routing, crisis mode and posting policy."""

from __future__ import annotations

from pydantic import Field

from listener.settings_base import StrictModel
from rules.crisis_settings import CrisisSettings, PostingSettings


class RulesSettings(StrictModel):
    enabled: bool = True
    rules: list[dict] = Field(default_factory=list)
    crisis: CrisisSettings = Field(default_factory=CrisisSettings)
    posting: PostingSettings = Field(default_factory=PostingSettings)
