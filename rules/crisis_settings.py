"""Settings for crisis mode and the posting policy (owned with rules/crisis.py and rules/posting.py)."""

from __future__ import annotations

from listener.settings_base import StrictModel


class CrisisSettings(StrictModel):
    # Minutes without any critical alert after which "crise" steps down to "retour à la normale".
    calm_period_minutes: int = 180


class PostingSettings(StrictModel):
    # "dry-run" logs what would be published; "live" publishes through the configured accounts.
    mode: str = "dry-run"
