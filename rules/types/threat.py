"""threat: a threat or a call for violence, alerted from the first message (threats against officials are
a matter for the police and must never wait for a second one)."""

from __future__ import annotations

from pydantic import Field

from listener.french import fr_number
from listener.models import Mention
from rules.types.base import EvalContext
from rules.types.labelled import LabelOptions, LabelRule


class ThreatOptions(LabelOptions):
    type: str = "threat"
    # Whom the threats must aim at: "institution", officials' names, or "any" (threats against anyone,
    # residents included). Empty = any.
    targets: list[str] = Field(default_factory=list)
    # Threat messages needed within the window (1: every threat is alerted).
    min_mentions: int = Field(default=1, ge=1)


class ThreatRule(LabelRule):
    type_name = "threat"
    Options = ThreatOptions
    label = "threat"

    def keys_for(self, mention: Mention) -> list[str]:
        labels = mention.labels
        if labels is None or not labels.threat:
            return []
        aimed = labels.hostility_targets if labels.hostile else []
        wanted = [t for t in self.options.targets if t != "any"]  # type: ignore[attr-defined]
        if not wanted:
            return [f"target:{t}" for t in aimed] or ["target:any"]
        return [f"target:{t}" for t in aimed if t in wanted]

    def describe(self, key: str, mentions: list[Mention], ctx: EvalContext) -> tuple[str, str]:
        who = self.target_phrase(key)
        n = len(mentions)
        plural = "s" if n > 1 else ""
        title = f"Menace{plural} visant {who} : {fr_number(n)} message{plural}"
        words = ", ".join(dict.fromkeys(t for m in mentions for t in (m.labels.threat_terms if m.labels else [])))
        summary = (
            f"{fr_number(n)} message{plural} menaçant{plural} visant {who} depuis {ctx.local(mentions[0].created_at)}"
            + (f" (« {words[:160]} »)." if words else ".")
            + " Menace contre un élu : signalement à la police."
        )
        return title, summary
