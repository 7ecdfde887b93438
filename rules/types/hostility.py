"""hostility: hostile messages aimed at the institution or at an official named in the config."""

from __future__ import annotations

from pydantic import Field

from listener.french import fr_number
from listener.models import Mention
from rules.types.base import EvalContext
from rules.types.labelled import LabelOptions, LabelRule


class HostilityOptions(LabelOptions):
    type: str = "hostility"
    # Hostility score (0–1) a message needs to count.
    min_score: float = Field(default=0.0, ge=0, le=1)


class HostilityRule(LabelRule):
    type_name = "hostility"
    Options = HostilityOptions
    label = "hostile"

    def keys_for(self, mention: Mention) -> list[str]:
        labels = mention.labels
        if labels is None or not labels.hostile or labels.hostility_score < self.options.min_score:  # type: ignore[attr-defined]
            return []
        wanted = self.options.targets  # type: ignore[attr-defined]
        targets = labels.hostility_targets or ["institution"]
        return [f"target:{t}" for t in targets if not wanted or t in wanted]

    def describe(self, key: str, mentions: list[Mention], ctx: EvalContext) -> tuple[str, str]:
        who = self.target_phrase(key)
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
