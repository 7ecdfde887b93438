"""Settings for alert delivery channels and the digest."""

from __future__ import annotations

from listener.settings_base import StrictModel


class AlertsSettings(StrictModel):
    console: bool = True
