"""crisis_reports: a few distinct people reporting the same crisis kind in a short window.

Why content and not volume: in a town of 20,000 (tens of mentions a day) a deadly fire is a handful of
posts an hour, which no spike detector can tell from noise, while three different residents writing
« incendie », « explosion », « des morts » within two hours is rare on an ordinary day. The classifiers
already ignore drills, negations, hypotheses and figures of speech (classifiers/crisis.py), so what is
counted here is people reporting a crisis now.

Defaults, and why: 3 distinct authors within 120 minutes raise vigilance, 6 raise crise (one level per
evaluation pass: vigilance is always declared first). One or two
authors are the usual false positives of a lexicon (a joke, a typo, a news item from elsewhere); three
independent witnesses are how a newsroom confirms. The window covers the pace of a small town's first
reports ("a few to a dozen posts an hour"). Both thresholds scale with the institution's own baseline:
never fewer than `volume_share` of the mentions usually seen in such a window (a big city talks more,
so needs more witnesses) nor fewer than a Poisson tail over the kind's own usual rate (a city where
"inondation" is said every day needs more to be sure), both read from the per-minute counters of the
past `baseline_days`.
"""

from __future__ import annotations

import math
from collections import deque
from datetime import timedelta
from typing import Literal

from pydantic import Field, model_validator

from listener.french import fr_number
from listener.models import Mention
from listener.timeutil import to_iso
from rules.filters import rank_evidence
from rules.types.base import EvalContext, Match, RuleOptions, RuleType, key_label

Z_SCORE = 3.0  # Poisson tail over the kind's usual rate: about 1 window in 1,000 on an ordinary day


class CrisisReportsOptions(RuleOptions):
    type: str = "crisis_reports"
    # Crisis kinds counted (labels.crisis from the classifiers); empty: every kind of the lexicon.
    crisis_kinds: list[str] = Field(default_factory=list)
    # Window in minutes (by mention creation time).
    window_minutes: int = Field(default=120, ge=5, le=24 * 60)
    # Distinct authors reporting the same kind within the window for vigilance (warning).
    vigilance_authors: int = Field(default=3, ge=1)
    # Distinct authors for crise (critical).
    crise_authors: int = Field(default=6, ge=1)
    # Thresholds are at least this share of the mentions usually seen in a window (0.002: a city with
    # 10,000 mentions in two hours needs 20 witnesses for vigilance).
    volume_share: float = Field(default=0.002, ge=0, le=1)
    # Days of per-minute counters the usual volume and the kind's usual rate are read from.
    baseline_days: int = Field(default=7, ge=1, le=60)
    # Each crisis kind is its own alert (a fire does not hold back the evacuation it causes).
    group_by: Literal["topic", "rule", "key"] = "key"

    @model_validator(mode="after")
    def _crise_above_vigilance(self) -> CrisisReportsOptions:
        if self.crise_authors < self.vigilance_authors:
            raise ValueError("crise_authors must be at least vigilance_authors")
        return self


class CrisisReportsRule(RuleType):
    type_name = "crisis_reports"
    Options = CrisisReportsOptions
    uses_mentions = True
    evidence_order = "engagement"

    def __init__(self, options: CrisisReportsOptions) -> None:
        super().__init__(options)
        self.kinds = set(options.crisis_kinds)
        self.span = timedelta(minutes=options.window_minutes)
        self.windows: dict[str, deque[Mention]] = {}
        self.level: dict[str, str] = {}
        self._baseline: dict[str, tuple[int, tuple[int, int]]] = {}

    def window_minutes(self) -> int:
        return self.options.window_minutes  # type: ignore[attr-defined]

    # -- thresholds scaled with the institution's own volume ----------------------------------------------

    def thresholds(self, kind: str, ctx: EvalContext) -> tuple[int, int]:
        """(vigilance, crise) distinct authors for this kind now; read from the counters once an hour."""
        options: CrisisReportsOptions = self.options  # type: ignore[assignment]
        hour = int(ctx.as_of.timestamp()) // 3600
        cached = self._baseline.get(kind)
        if cached is not None and cached[0] == hour:
            return cached[1]
        end = int(ctx.as_of.timestamp()) // 60 - options.window_minutes  # the current window is not usual
        start = end - options.baseline_days * 1440
        conn = ctx.store.conn
        first = conn.execute("SELECT min(bucket) FROM counts WHERE key = 'all' AND bucket >= ?", [start]).fetchone()[0]
        vigilance, crise = options.vigilance_authors, options.crise_authors
        if first is not None and first < end:
            minutes = end - first
            windows = minutes / options.window_minutes
            total = conn.execute("SELECT coalesce(sum(n), 0) FROM counts WHERE key = 'all' AND bucket >= ? "
                                 "AND bucket < ?", [first, end]).fetchone()[0]
            usual = conn.execute("SELECT coalesce(sum(n), 0) FROM counts WHERE key = ? AND bucket >= ? "
                                 "AND bucket < ?", [f"crisis:{kind}", first, end]).fetchone()[0]
            per_window = total / windows if windows else 0.0
            rate = usual / windows if windows else 0.0
            floor = max(math.ceil(options.volume_share * per_window),
                        math.ceil(rate + Z_SCORE * math.sqrt(rate)) + 1 if rate > 0 else 0)
            ratio = options.crise_authors / options.vigilance_authors
            vigilance = max(vigilance, floor)
            crise = max(crise, math.ceil(vigilance * ratio))
        self._baseline[kind] = (hour, (vigilance, crise))
        return vigilance, crise

    # -- mentions -------------------------------------------------------------------------------------------

    def _kinds(self, mention: Mention) -> list[str]:
        if mention.labels is None:
            return []
        found = mention.labels.crisis_kinds
        return [k for k in found if not self.kinds or k in self.kinds]

    def on_mentions(self, mentions: list[Mention], ctx: EvalContext, *, prime: bool = False) -> list[Match]:
        touched: list[str] = []
        for mention in mentions:
            if not self.filter.accepts(mention):
                continue
            for kind in self._kinds(mention):
                self.windows.setdefault(kind, deque()).append(mention)
                touched.append(kind)
        matches = []
        for kind in list(self.windows):
            current = self._current(kind, ctx)
            authors = len({m.author_handle or m.author_name or m.external_id for m in current})
            vigilance, crise = self.thresholds(kind, ctx)
            level = "crise" if authors >= crise else "vigilance" if authors >= vigilance else None
            before = self.level.get(kind)
            if level is None:
                if before is not None and not current:
                    self.level.pop(kind, None)
                    if not prime:
                        matches.append(Match(key=f"crisis:{kind}", at=ctx.as_of, title="", summary="", episode="end"))
                continue
            # One level per pass: vigilance is declared (and announced) before crise, never skipped, so the
            # journal reads as the crisis grew; crise follows at the next pass bringing mentions, if still
            # warranted. Within an episode the level never steps down.
            if before is None and level == "crise":
                level = "vigilance"
            if before == "crise":
                level = "crise"
            self.level[kind] = level
            if prime or (kind not in touched and level == before):
                continue
            matches.append(self._match(kind, current, authors, (vigilance, crise), level,
                                       "update" if before else "start", ctx))
        return matches

    def _current(self, kind: str, ctx: EvalContext) -> list[Mention]:
        """Mentions of the window, by creation time (late ones included), never newer than the pass."""
        items = self.windows[kind]
        cutoff = ctx.as_of - self.span
        kept = [m for m in items if cutoff <= m.created_at <= ctx.as_of]
        if len(kept) != len(items):
            self.windows[kind] = deque(kept)
        if not kept:
            del self.windows[kind]
        return sorted(kept, key=lambda m: (m.created_at, m.id or 0))

    def _match(self, kind: str, current: list[Mention], authors: int, thresholds: tuple[int, int], level: str,
               episode: str, ctx: EvalContext) -> Match:
        options: CrisisReportsOptions = self.options  # type: ignore[assignment]
        label = key_label(f"crisis:{kind}", ctx.names).removesuffix(" (crise)")
        window = options.window_minutes
        severity = "critical" if level == "crise" else "warning"
        title = (f"Signalements de crise {label} : {fr_number(authors)} personnes en {fr_number(window)} min"
                 f" ({'crise' if level == 'crise' else 'vigilance'})")
        summary = (
            f"{fr_number(authors)} auteurs distincts signalent {label} dans {fr_number(len(current))} message"
            f"{'s' if len(current) > 1 else ''} depuis {ctx.local(current[0].created_at)} "
            f"(vigilance à partir de {fr_number(thresholds[0])}, crise à partir de {fr_number(thresholds[1])}, "
            f"seuils ajustés au volume habituel)."
        )
        return Match(
            key=f"crisis:{kind}", at=ctx.as_of, title=title, summary=summary, episode=episode, severity=severity,
            topic=None,
            details={
                "observed": len(current), "expected": None, "reporters": authors, "threshold": thresholds[0],
                "crise_threshold": thresholds[1], "window": window, "signal_kind": "crisis_reports",
                "started_at": to_iso(current[0].created_at), "description": options.description, "unit": "",
                "crisis_level": level,
            },
            evidence=rank_evidence(current, "engagement", limit=10),
        )
