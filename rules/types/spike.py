"""spike: a detector saw a series (topic, hashtag, keyword, crisis kind, source, all) jump above its usual level."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from listener.french import fr_number
from listener.models import Signal
from rules.types.base import EvalContext, Match, RuleType, SignalRuleOptions, key_label, topic_of_key


class SpikeOptions(SignalRuleOptions):
    type: str = "spike"
    # Ignore spikes whose detector score is below this.
    min_score: float = Field(default=0.0, ge=0)
    # Ignore spikes with fewer mentions than this in the detector's window.
    min_observed: float = Field(default=0.0, ge=0)
    # Ignore spikes whose observed/expected ratio is below this (expected 0 counts as infinite).
    min_ratio: float = Field(default=0.0, ge=0)


class SpikeRule(RuleType):
    type_name = "spike"
    Options = SpikeOptions
    signal_kind = "spike"

    def on_signal(self, signal: Signal, ctx: EvalContext) -> Match | None:
        options: SpikeOptions = self.options  # type: ignore[assignment]
        if not self.accepts_signal(signal):
            return None
        episode = self.episode_of(signal)
        observed = signal.observed or 0.0
        expected = signal.expected or 0.0
        window = int(signal.details.get("window_minutes") or 10)
        label = key_label(signal.key, ctx.names)
        if episode != "end":
            ratio = observed / expected if expected > 0 else float("inf")
            if signal.score < options.min_score or observed < options.min_observed or ratio < options.min_ratio:
                return None
        title = f"Pic de mentions sur {label} : {fr_number(observed)} en {window} min (attendu {fr_number(expected, 1)})"
        started = signal.started_at or signal.at
        summary = (
            f"{fr_number(observed)} mentions en {window} min sur {label}, contre {fr_number(expected, 1)} habituellement "
            f"(score {fr_number(signal.score, 1)}), depuis {ctx.local(started)}."
        )
        return Match(
            key=signal.key,
            at=signal.at,
            title=title,
            summary=summary,
            episode=episode,
            severity=self.signal_severity(signal),
            topic=topic_of_key(signal.key),
            details=self.signal_details(signal, window),
            evidence_window=(min(started, signal.at - timedelta(minutes=window)), signal.at),
        )
