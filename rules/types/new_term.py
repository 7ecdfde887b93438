"""new_term: a hashtag or term never (or rarely) seen before is suddenly used by several authors."""

from __future__ import annotations

from pydantic import Field

from listener.french import fr_number
from listener.models import Signal
from rules.types.base import EvalContext, Match, RuleType, SignalRuleOptions


class NewTermOptions(SignalRuleOptions):
    type: str = "new_term"
    # Mentions using the new term needed.
    min_mentions: int = Field(default=0, ge=0)
    # Distinct authors needed (one account repeating itself is not a trend).
    min_authors: int = Field(default=0, ge=0)


class NewTermRule(RuleType):
    type_name = "new_term"
    Options = NewTermOptions
    signal_kind = "new_term"

    def on_signal(self, signal: Signal, ctx: EvalContext) -> Match | None:
        options: NewTermOptions = self.options  # type: ignore[assignment]
        if not self.accepts_signal(signal):
            return None
        episode = self.episode_of(signal)
        mentions = int(signal.observed or 0)
        authors = int(signal.details.get("authors") or 0)
        if episode != "end" and (mentions < options.min_mentions or authors < options.min_authors):
            return None
        kind, _, value = signal.key.partition(":")
        what = f"mot-dièse « #{value} »" if kind == "hashtag" else f"terme « {value or signal.key} »"
        title = f"Nouveau {what} : {fr_number(mentions)} mentions de {fr_number(authors)} auteurs"
        summary = (
            f"Le {what} apparaît : {fr_number(mentions)} mentions par {fr_number(authors)} auteurs distincts, "
            f"depuis {ctx.local(signal.started_at or signal.at)}, alors qu'il était absent jusque-là."
        )
        samples = [int(i) for i in signal.details.get("sample_ids") or [] if str(i).isdigit()]
        details = self.signal_details(signal)
        details["authors"] = authors
        details["unit"] = ""
        return Match(
            key=signal.key,
            at=signal.at,
            title=title,
            summary=summary,
            episode=episode,
            severity=self.signal_severity(signal),
            details=details,
            evidence=samples[:5],
        )
