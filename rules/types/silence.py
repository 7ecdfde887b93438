"""silence: a source that usually talks went quiet (broken collector, expired token, or a real blackout)."""

from __future__ import annotations

from pydantic import Field

from listener.french import fr_number
from listener.models import Signal
from rules.types.base import EvalContext, Match, RuleType, SignalRuleOptions


class SilenceOptions(SignalRuleOptions):
    type: str = "silence"
    keys: list[str] = Field(default_factory=lambda: ["source:*"])
    # Minutes of silence before the rule fires (the detector may report earlier).
    min_silent_minutes: int = Field(default=0, ge=0)


class SilenceRule(RuleType):
    type_name = "silence"
    Options = SilenceOptions
    signal_kind = "silence"

    def on_signal(self, signal: Signal, ctx: EvalContext) -> Match | None:
        options: SilenceOptions = self.options  # type: ignore[assignment]
        if not self.accepts_signal(signal):
            return None
        episode = self.episode_of(signal)
        minutes = int(signal.details.get("silent_minutes") or 0)
        if episode != "end" and minutes < options.min_silent_minutes:
            return None
        source = signal.key.partition(":")[2] or signal.key
        title = f"Source silencieuse : « {source} » muette depuis {fr_number(minutes)} min"
        summary = (
            f"Aucune mention reçue de « {source} » depuis {fr_number(minutes)} min alors qu'elle en apporte "
            f"habituellement {fr_number(signal.expected, 1)} par période : collecte en panne ou coupure réelle."
        )
        details = self.signal_details(signal, minutes)
        details["silent_minutes"] = minutes
        return Match(
            key=signal.key,
            at=signal.at,
            title=title,
            summary=summary,
            episode=episode,
            severity=self.signal_severity(signal),
            details=details,
        )
