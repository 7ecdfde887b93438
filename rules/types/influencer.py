"""influencer: an account with a large audience talks about the institution (by default, negatively)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from listener.french import SENTIMENT_FR, fr_number
from listener.models import Mention
from rules.filters import engagement
from rules.types.base import EvalContext
from rules.types.windowed import WindowedMentionRule, WindowedOptions


class InfluencerOptions(WindowedOptions):
    type: str = "influencer"
    # Followers an author needs to count as influential.
    min_followers: int = Field(default=10_000, ge=0)
    # Likes + 2 × reposts + replies the message needs (0: any).
    min_engagement: int = Field(default=0, ge=0)
    sentiments: list[Literal["negative", "neutral", "positive"]] = Field(default_factory=lambda: ["negative"])
    window_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60)
    # About people, not topics: grouped and inhibited on their own by default.
    group_by: Literal["topic", "rule", "key"] = "rule"


class InfluencerRule(WindowedMentionRule):
    type_name = "influencer"
    Options = InfluencerOptions
    evidence_order = "followers"

    def candidates(self, mentions: list[Mention], ctx: EvalContext) -> list[Mention]:
        """Only authors with enough followers can feed a key."""
        floor = self.options.min_followers  # type: ignore[attr-defined]
        return [m for m in mentions if (m.author_followers or 0) >= floor]

    def keys_for(self, mention: Mention) -> list[str]:
        options: InfluencerOptions = self.options  # type: ignore[assignment]
        if (mention.author_followers or 0) < options.min_followers or engagement(mention) < options.min_engagement:
            return []
        return [f"author:{mention.author_handle or mention.author_name or mention.source}"]

    def describe(self, key: str, mentions: list[Mention], ctx: EvalContext) -> tuple[str, str]:
        top = max(mentions, key=lambda m: m.author_followers or 0)
        author = key.partition(":")[2]
        sentiment = SENTIMENT_FR.get(top.labels.sentiment, "") if top.labels else ""
        n = len(mentions)
        title = f"Compte influent {author} ({fr_number(top.author_followers)} abonnés) : message {sentiment}".rstrip()
        excerpt = " ".join(top.text.split())[:140]
        summary = (
            f"{author}, suivi par {fr_number(top.author_followers)} comptes, a publié {fr_number(n)} message"
            f"{'s' if n > 1 else ''} sur {top.source} : « {excerpt} »."
        )
        return title, summary
