"""negative_share: the share of negative mentions on a topic (or overall) rose well above its baseline."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from listener.french import fr_number, fr_percent
from listener.models import Signal
from rules.types.base import (
    EvalContext,
    Match,
    RuleType,
    SignalRuleOptions,
    key_label,
    topic_of_key,
)


class NegativeShareOptions(SignalRuleOptions):
    type: str = "negative_share"
    # Share of negative mentions (0–1) from which the rule fires.
    min_share: float = Field(default=0.0, ge=0, le=1)
    # Points above the usual share (0–1) needed, e.g. 0.15 for +15 points.
    min_delta: float = Field(default=0.0, ge=0, le=1)
    # Mentions in the detector's window needed (few mentions make noisy shares).
    min_volume: int = Field(default=0, ge=0)


class NegativeShareRule(RuleType):
    type_name = "negative_share"
    Options = NegativeShareOptions
    signal_kind = "negative_shift"
    evidence_order = "negative"

    def on_signal(self, signal: Signal, ctx: EvalContext) -> Match | None:
        options: NegativeShareOptions = self.options  # type: ignore[assignment]
        if not self.accepts_signal(signal):
            return None
        episode = self.episode_of(signal)
        share = signal.observed or 0.0
        baseline = signal.expected or 0.0
        volume = int(signal.details.get("volume") or 0)
        if episode != "end" and (
            share < options.min_share or share - baseline < options.min_delta or volume < options.min_volume
        ):
            return None
        label = key_label(signal.key, ctx.names)
        window = int(signal.details.get("window_minutes") or 60)
        negative = signal.details.get("negative")
        title = f"Hausse des messages négatifs sur {label} : {fr_percent(share)} (habituellement {fr_percent(baseline)})"
        summary = (
            f"{fr_percent(share)} des {fr_number(volume)} mentions récentes sur {label} sont négatives"
            + (f" ({fr_number(negative)} messages)" if negative is not None else "")
            + f", contre {fr_percent(baseline)} d'habitude."
        )
        details = self.signal_details(signal, window)
        details["unit"] = ""
        started = signal.started_at or signal.at
        return Match(
            key=signal.key,
            at=signal.at,
            title=title,
            summary=summary,
            episode=episode,
            severity=self.signal_severity(signal),
            topic=topic_of_key(signal.key),
            details=details,
            evidence_window=(min(started, signal.at - timedelta(minutes=window)), signal.at),
            evidence_order="negative",
        )
