"""hostility: hostile messages aimed at the institution or at an official named in the config."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from listener.french import fr_number
from listener.models import Mention
from rules.types.base import EvalContext
from rules.types.windowed import WindowedMentionRule, WindowedOptions


class HostilityOptions(WindowedOptions):
    type: str = "hostility"
    # Targets watched: "institution" or officials' names as in institution.officials; empty: any target.
    targets: list[str] = Field(default_factory=list)
    # Hostility score (0–1) a message needs to count.
    min_score: float = Field(default=0.0, ge=0, le=1)
    # About people, not topics: grouped and inhibited on their own by default.
    group_by: Literal["topic", "rule", "key"] = "rule"


class HostilityRule(WindowedMentionRule):
    type_name = "hostility"
    Options = HostilityOptions
    evidence_order = "hostile"

    def candidates(self, mentions: list[Mention], ctx: EvalContext) -> list[Mention]:
        """Only hostile mentions can feed a key: listed once per pass for every hostility rule."""
        found = ctx.shared.get("hostile")
        if found is None or found[0] is not mentions:
            found = ctx.shared["hostile"] = (
                mentions, [m for m in mentions if m.labels is not None and m.labels.hostile]
            )
        return found[1]

    def keys_for(self, mention: Mention) -> list[str]:
        labels = mention.labels
        if labels is None or not labels.hostile or labels.hostility_score < self.options.min_score:  # type: ignore[attr-defined]
            return []
        wanted = self.options.targets  # type: ignore[attr-defined]
        targets = labels.hostility_targets or ["institution"]
        return [f"target:{t}" for t in targets if not wanted or t in wanted]

    def describe(self, key: str, mentions: list[Mention], ctx: EvalContext) -> tuple[str, str]:
        target = key.partition(":")[2]
        who = "l'institution" if target == "institution" else target
        n = len(mentions)
        window = self.options.window_minutes  # type: ignore[attr-defined]
        plural = "s" if n > 1 else ""
        title = f"Hostilité envers {who} : {fr_number(n)} message{plural} hostile{plural} en {window} min"
        authors = len({m.author_handle for m in mentions})
        summary = (
            f"{fr_number(n)} message{plural} hostile{plural} visant {who} de {fr_number(authors)} auteur"
            f"{'s' if authors > 1 else ''} depuis {ctx.local(mentions[0].created_at)}."
        )
        return title, summary
