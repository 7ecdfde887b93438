"""volume: a counter (topic, hashtag, keyword, source, all…) exceeds a fixed count over a window.

Unlike spike (relative to a learned baseline), this is the ElastAlert "frequency" rule: an absolute
threshold the cell chooses, read from the per-minute counters.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from listener.french import fr_number
from listener.timeutil import to_iso
from rules.types.base import EvalContext, Match, RuleType, SignalRuleOptions, key_label, topic_of_key


class VolumeOptions(SignalRuleOptions):
    type: str = "volume"
    # Counter keys watched (globs), e.g. ["topic:*"] or ["keyword:mairie"].
    keys: list[str] = Field(default_factory=lambda: ["all"])
    # Mentions in the window from which the rule fires.
    min_count: int = Field(ge=1)
    # Window length in minutes.
    window_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60)


class VolumeRule(RuleType):
    type_name = "volume"
    Options = VolumeOptions
    uses_counts = True

    def __init__(self, options: VolumeOptions) -> None:
        super().__init__(options)
        self.firing: set[str] = set()

    def on_counts(self, ctx: EvalContext) -> list[Match]:
        options: VolumeOptions = self.options  # type: ignore[assignment]
        window = options.window_minutes
        above: dict[str, int] = {}
        for key, total in ctx.window_sums(window):  # largest first
            if total < options.min_count:
                break
            if self.keys(key) and self.filter.accepts_key(key):
                above[key] = total
        matches = []
        for key, total in above.items():
            episode = "update" if key in self.firing else "start"
            label = key_label(key, ctx.names)
            matches.append(
                Match(
                    key=key,
                    at=ctx.as_of,
                    title=f"Volume élevé sur {label} : {fr_number(total)} mentions en {window} min (seuil {fr_number(options.min_count)})",
                    summary=(
                        f"{fr_number(total)} mentions sur {label} au cours des {window} dernières minutes, "
                        f"au-dessus du seuil de {fr_number(options.min_count)} fixé par la règle « {self.name} »."
                    ),
                    episode=episode,
                    topic=topic_of_key(key),
                    details={
                        "observed": total,
                        "expected": None,
                        "threshold": options.min_count,
                        "window": window,
                        "signal_kind": "volume",
                        "started_at": to_iso(ctx.as_of),
                        "description": options.description,
                        "unit": "",
                    },
                    evidence_window=(ctx.as_of - timedelta(minutes=window), ctx.as_of),
                )
            )
        ended = [
            Match(key=key, at=ctx.as_of, title="", summary="", episode="end") for key in self.firing - set(above)
        ]
        self.firing = set(above)
        return matches + ended
