"""Shared machinery for rules that watch mentions directly: N matching mentions within M minutes per key."""

from __future__ import annotations

from pydantic import Field

from listener.models import Mention
from listener.timeutil import to_iso
from rules.filters import rank_evidence
from rules.types.base import EvalContext, Match, RuleOptions, RuleType, SlidingWindow, topic_of_mentions


class WindowedOptions(RuleOptions):
    # Matching mentions needed within the window.
    min_mentions: int = Field(default=1, ge=1)
    # Window length in minutes (by mention creation time).
    window_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60)


class WindowedMentionRule(RuleType):
    """Subclasses say which keys a mention feeds (`keys_for`) and how an alert reads (`describe`)."""

    uses_mentions = True

    def __init__(self, options: RuleOptions) -> None:
        super().__init__(options)
        self.window = SlidingWindow(self.options.window_minutes)  # type: ignore[attr-defined]
        self.firing: set[str] = set()

    def keys_for(self, mention: Mention) -> list[str]:
        raise NotImplementedError

    def describe(self, key: str, mentions: list[Mention], ctx: EvalContext) -> tuple[str, str]:
        raise NotImplementedError

    def candidates(self, mentions: list[Mention], ctx: EvalContext) -> list[Mention]:
        """Mentions that may feed a key, in their order: subclasses may leave out, cheaply, mentions for
        which `keys_for` would surely return nothing (the others still go through filter and keys_for)."""
        return mentions

    def on_mentions(self, mentions: list[Mention], ctx: EvalContext, *, prime: bool = False) -> list[Match]:
        touched: list[str] = []
        for mention in self.candidates(mentions, ctx):
            if not self.filter.accepts(mention):
                continue
            for key in self.keys_for(mention):
                self.window.add(key, mention)
                touched.append(key)
        if prime:
            self.firing.update(k for k in touched if len(self.window.current(k, ctx.as_of)) >= self.options.min_mentions)  # type: ignore[attr-defined]
            return []
        matches = []
        for key in dict.fromkeys(touched):
            current = self.window.current(key, ctx.as_of)
            if len(current) < self.options.min_mentions:  # type: ignore[attr-defined]
                continue
            episode = "update" if key in self.firing else "start"
            self.firing.add(key)
            title, summary = self.describe(key, current, ctx)
            matches.append(
                Match(
                    key=key,
                    at=ctx.as_of,
                    title=title,
                    summary=summary,
                    episode=episode,
                    topic=topic_of_mentions(current),
                    details={
                        "observed": len(current),
                        "expected": None,
                        "threshold": self.options.min_mentions,  # type: ignore[attr-defined]
                        "window": self.options.window_minutes,  # type: ignore[attr-defined]
                        "signal_kind": self.type_name,
                        "started_at": to_iso(current[0].created_at),
                        "description": self.options.description,
                        "unit": "",
                    },
                    evidence=rank_evidence(current, self.evidence_order),
                )
            )
        # Keys whose window emptied can start a new episode later.
        for key in list(self.firing):
            if len(self.window.current(key, ctx.as_of)) < self.options.min_mentions:  # type: ignore[attr-defined]
                self.firing.discard(key)
        return matches
