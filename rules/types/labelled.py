"""Shared machinery for rules fed by one label the classifiers give a mention (hostile, threat): keys are
the people or bodies aimed at, and such alerts are about people, so they group per rule."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from listener.models import Mention
from rules.types.base import EvalContext
from rules.types.windowed import WindowedMentionRule, WindowedOptions

# How a `target:…` key reads in a French sentence (officials keep their name).
TARGET_FR = {"any": "quelqu'un", "institution": "l'institution"}


class LabelOptions(WindowedOptions):
    # Targets watched: "institution" or officials' names as in institution.officials; empty: any target.
    targets: list[str] = Field(default_factory=list)
    # About people, not topics: grouped and inhibited on their own by default.
    group_by: Literal["topic", "rule", "key"] = "rule"


class LabelRule(WindowedMentionRule):
    """Subclasses name the label (a flag of the mention's labels) and say which targets a mention feeds."""

    label: ClassVar[str]
    evidence_order = "hostile"

    def candidates(self, mentions: list[Mention], ctx: EvalContext) -> list[Mention]:
        """Only mentions with the label can feed a key: listed once per pass for every rule of that label."""
        found = ctx.shared.get(self.label)
        if found is None or found[0] is not mentions:
            found = ctx.shared[self.label] = (
                mentions, [m for m in mentions if m.labels is not None and getattr(m.labels, self.label)]
            )
        return found[1]

    @staticmethod
    def target_phrase(key: str) -> str:
        target = key.partition(":")[2]
        return TARGET_FR.get(target, target)
