"""What every rule type shares: common options, the Match it produces and French wording helpers."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal
from zoneinfo import ZoneInfo

from pydantic import Field

from listener.models import Mention, Signal
from listener.settings_base import StrictModel
from listener.store import Store
from rules.filters import KeyMatcher, MentionFilter
from rules.settings import SEVERITY_RANK, Severity


class RuleOptions(StrictModel):
    """Options common to every rule (each type adds its own; unknown keys are errors)."""

    # Unique name, shown in alerts and used by silences.
    name: str = Field(min_length=1)
    type: str
    # One sentence for people: why this rule exists (copied into alert details).
    description: str = ""
    # false: the rule is loaded and checked but never fires.
    enabled: bool = True
    severity: Severity = "warning"
    # Recipient groups ([rules.groups.<name>]); none: rules.default_routes.
    routes: list[str] | None = None
    # Minutes during which the same rule + key does not notify again (none: rules.realert_minutes).
    realert_minutes: int | None = Field(default=None, ge=0)
    # Related alerts (same group key) are sent together: by topic, by rule, or each key alone.
    group_by: Literal["topic", "rule", "key"] = "topic"
    # Crisis state this rule asks for when it fires (rules/crisis.py).
    crisis: Literal["vigilance", "crise"] | None = None
    # Filters on mentions (and on topic:/source: keys of signals).
    sources: list[str] = Field(default_factory=list)
    # Only these topics (empty: every topic).
    topics: list[str] = Field(default_factory=list)
    # Only mentions in these languages (empty: every language).
    languages: list[str] = Field(default_factory=list)
    sentiments: list[Literal["negative", "neutral", "positive"]] = Field(default_factory=list)


class SignalRuleOptions(RuleOptions):
    # Signal keys this rule looks at (globs: "topic:*", "hashtag:*", "all").
    keys: list[str] = Field(default_factory=lambda: ["*"])
    # Use the detector's severity when it is higher than the rule's.
    severity_from_signal: bool = False
    # Ignore signals the detector rated below this severity (info, warning, critical).
    min_severity: Severity = "info"


@dataclass
class Match:
    """One reason to raise (or update, or close) an alert for rule + key."""

    key: str
    at: datetime
    title: str
    summary: str
    episode: str = "start"  # start | update | end
    severity: str | None = None
    topic: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    evidence: list[int] = field(default_factory=list)
    # For signal matches the engine fetches evidence lazily, only when an alert is written.
    evidence_window: tuple[datetime, datetime] | None = None
    evidence_order: str = "engagement"


class RollingSums:
    """Per-key totals over the last N minute buckets, kept up to date incrementally.

    Each pass re-reads only the newest REFRESH buckets (late mentions still land there) and drops the
    buckets that left the window, instead of summing N × keys rows again.
    """

    REFRESH = 2

    def __init__(self, minutes: int) -> None:
        self.minutes = minutes
        self.buckets: dict[int, dict[str, int]] = {}
        self.sums: dict[str, int] = {}
        self.end: int | None = None

    def _read(self, store: Store, start: int, end: int) -> dict[int, dict[str, int]]:
        return {
            bucket: dict(store.conn.execute("SELECT key, n FROM counts WHERE bucket = ?", [bucket]))
            for bucket in range(start, end)
        }

    def _apply(self, bucket: int, new: dict[str, int] | None) -> None:
        sums = self.sums
        for key, n in self.buckets.pop(bucket, {}).items():
            left = sums[key] - n
            if left:
                sums[key] = left
            else:
                del sums[key]
        if new is not None:
            self.buckets[bucket] = new
            get = sums.get
            for key, n in new.items():
                sums[key] = get(key, 0) + n

    def update(self, store: Store, end: int, fresh: dict[int, dict[str, int]]) -> None:
        """Move the window to end at `end`; `fresh` holds the newest buckets, read once for every window."""
        start = end - self.minutes
        if self.end is None or end < self.end or end - self.end > self.minutes:
            self.buckets, self.sums = {}, {}
            first_fresh = min(fresh, default=end)
            if start < first_fresh:
                for bucket, values in self._read(store, start, first_fresh).items():
                    self._apply(bucket, values)
        for bucket in [b for b in self.buckets if b < start]:
            self._apply(bucket, None)
        for bucket, values in fresh.items():
            if bucket < start:
                continue
            if self.buckets.get(bucket) == values:
                self._reapply_same(values)
            else:
                self._apply(bucket, dict(values))
        self.end = end

    def _reapply_same(self, values: dict[str, int]) -> None:
        """What `_apply` does when a re-read bucket did not change: totals stay the same, only keys whose
        whole total came from this bucket move to the end (removed, then added back), so ties among the
        window's totals keep the very order they would have had. Much cheaper than removing and adding
        every key of the bucket again."""
        sums = self.sums
        for key, n in values.items():
            if sums.get(key) == n:
                del sums[key]
                sums[key] = n


@dataclass(frozen=True)
class DisplayNames:
    """French names of topics and crisis kinds ("eau_assainissement" → "Eau et assainissement"), from the
    configured taxonomy and the crisis lexicon: alerts name them as people do, not by configuration keys.
    The engine builds one and hands it to the rules with each pass (EvalContext.names)."""

    topics: Mapping[str, str] = field(default_factory=dict)
    crisis: Mapping[str, str] = field(default_factory=dict)

    def topic(self, name: str) -> str:
        return self.topics.get(name, name)


NO_NAMES = DisplayNames()


@dataclass
class EvalContext:
    """What one evaluation pass offers to rules: the moment, the store, shared counter sums."""

    store: Store
    as_of: datetime
    tz: ZoneInfo
    rolling: dict[int, RollingSums] = field(default_factory=dict)
    _sums: dict[int, list[tuple[str, int]]] = field(default_factory=dict)
    # Minute buckets that received mentions since the last pass (late ones included), and the longest
    # counter window any rule reads.
    changed_buckets: set[int] = field(default_factory=set)
    max_window: int = 0
    # Lowest threshold of the rules reading each window: smaller totals are never looked at.
    thresholds: dict[int, int] = field(default_factory=dict)
    _fresh: dict[int, dict[str, int]] | None = None
    # Per-pass work shared by the rules of one type (e.g. the word index of the new mentions).
    shared: dict[str, Any] = field(default_factory=dict)
    # How topics and crisis kinds read in French (the configured taxonomy).
    names: DisplayNames = field(default_factory=DisplayNames)

    def window_sums(self, minutes: int) -> list[tuple[str, int]]:
        """(key, total) over the last `minutes` complete buckets, largest first, totals below every rule's
        threshold left out; computed once per pass."""
        found = self._sums.get(minutes)
        if found is None:
            rolling = self.rolling.get(minutes)
            if rolling is None:
                rolling = self.rolling[minutes] = RollingSums(minutes)
            end = int(self.as_of.timestamp()) // 60
            if self._fresh is None:
                self._fresh = self._read_fresh(end)
            rolling.update(self.store, end, self._fresh)
            floor = self.thresholds.get(minutes, 0)
            found = sorted(((k, v) for k, v in rolling.sums.items() if v >= floor), key=lambda item: item[1],
                           reverse=True)
            self._sums[minutes] = found
        return found

    def _read_fresh(self, end: int) -> dict[int, dict[str, int]]:
        """The newest buckets plus every bucket that got late mentions since the last pass, read once."""
        oldest = end - max(self.max_window, RollingSums.REFRESH)
        wanted = set(range(end - RollingSums.REFRESH, end))
        wanted.update(b for b in self.changed_buckets if oldest <= b < end)
        found: dict[int, dict[str, int]] = {b: {} for b in wanted}
        for bucket in found:
            # One indexed range per bucket (idx_counts_bucket_key_n covers it), made into a dict in C.
            found[bucket] = dict(self.store.conn.execute("SELECT key, n FROM counts WHERE bucket = ?", [bucket]))
        return found

    def local(self, moment: datetime) -> str:
        return moment.astimezone(self.tz).strftime("%H:%M")


class RuleType:
    """A rule type: validated options, and the hooks the engine calls for what it listens to."""

    type_name: ClassVar[str] = ""
    Options: ClassVar[type[RuleOptions]] = RuleOptions
    # Signal kind this type reacts to (None: not signal-based).
    signal_kind: ClassVar[str | None] = None
    uses_mentions: ClassVar[bool] = False
    uses_counts: ClassVar[bool] = False
    # Default order of evidence mentions.
    evidence_order: ClassVar[str] = "engagement"

    def __init__(self, options: RuleOptions) -> None:
        self.options = options
        self.name = options.name
        self.filter = MentionFilter.of(options)
        self.keys = KeyMatcher(getattr(options, "keys", ["*"]))

    # Hooks -----------------------------------------------------------------------------------------

    def on_signal(self, signal: Signal, ctx: EvalContext) -> Match | None:
        return None

    def on_mentions(self, mentions: list[Mention], ctx: EvalContext, *, prime: bool = False) -> list[Match]:
        return []

    def on_counts(self, ctx: EvalContext) -> list[Match]:
        return []

    def window_minutes(self) -> int:
        return int(getattr(self.options, "window_minutes", 0) or 0)

    # Helpers shared by signal types -------------------------------------------------------------

    def accepts_signal(self, signal: Signal) -> bool:
        minimum = getattr(self.options, "min_severity", "info")
        if SEVERITY_RANK.get(signal.severity, 0) < SEVERITY_RANK[minimum] and self.episode_of(signal) != "end":
            return False
        return self.keys(signal.key) and self.filter.accepts_key(signal.key)

    def signal_severity(self, signal: Signal) -> str | None:
        options = self.options
        if getattr(options, "severity_from_signal", False) and (
            SEVERITY_RANK.get(signal.severity, 0) > SEVERITY_RANK[options.severity]
        ):
            return signal.severity
        return None

    @staticmethod
    def episode_of(signal: Signal) -> str:
        episode = str(signal.details.get("episode") or "start")
        return episode if episode in ("start", "update", "end") else "start"

    def signal_details(self, signal: Signal, window: int | None = None) -> dict[str, Any]:
        from listener.timeutil import to_iso

        details: dict[str, Any] = {
            "observed": signal.observed,
            "expected": signal.expected,
            "score": round(signal.score, 3) if signal.score is not None else None,
            "window": window,
            "signal_kind": signal.kind,
            "signal_id": signal.id,
            "signal_severity": signal.severity,
            "started_at": to_iso(signal.started_at or signal.at),
            "description": self.options.description,
        }
        for name, value in signal.details.items():
            if isinstance(value, int | float | str) and name not in details:
                details[name] = value
        return details


class SlidingWindow:
    """Recent matching mentions per key, by creation time: counts 'N in the last M minutes'."""

    def __init__(self, minutes: int) -> None:
        self.span = timedelta(minutes=minutes)
        self.items: dict[str, deque[Mention]] = {}

    def add(self, key: str, mention: Mention) -> None:
        self.items.setdefault(key, deque()).append(mention)

    def current(self, key: str, as_of: datetime) -> list[Mention]:
        """The window's mentions oldest first by creation time (late arrivals sorted in, and dropped when
        their own time leaves the window), never newer than `as_of`: « depuis » is the window's first."""
        items = self.items.get(key)
        if not items:
            return []
        cutoff = as_of - self.span
        while items and items[0].created_at < cutoff:
            items.popleft()
        if not items:
            del self.items[key]
            return []
        if any(m.created_at < cutoff for m in items):  # a late arrival whose own time has left the window
            items = self.items[key] = deque(m for m in items if m.created_at >= cutoff)
        ordered = [m for m in items if m.created_at <= as_of]
        if any(a.created_at > b.created_at for a, b in zip(ordered, ordered[1:], strict=False)):
            ordered.sort(key=lambda m: (m.created_at, m.id or 0))
        return ordered

    def expire(self, as_of: datetime) -> None:
        for key in list(self.items):
            self.current(key, as_of)


def display_names(settings: Any) -> DisplayNames:
    """The names for these settings (rules-only settings, as in some tests, keep the keys as they are)."""
    from classifiers import classifier_settings
    from classifiers.crisis import load_lexicon

    if not hasattr(settings, "classifiers"):
        return NO_NAMES
    classifiers = classifier_settings(settings.classifiers, settings.resolve)
    topics = {topic.name: topic.label for topic in classifiers.topics if topic.label}
    try:
        crisis = dict(load_lexicon(classifiers.crisis_lexicon).labels)
    except (OSError, ValueError):  # names only: an unreadable lexicon must not stop the rules
        crisis = {}
    return DisplayNames(topics=topics, crisis=crisis)


def key_label(key: str, names: DisplayNames = NO_NAMES) -> str:
    """How a key reads in a French sentence."""
    if key == "all":
        return "l'ensemble des mentions"
    kind, _, value = key.partition(":")
    if kind == "hashtag":
        return f"« #{value} »"
    if kind == "source":
        return f"la source « {value} »"
    if kind == "crisis":
        return f"« {names.crisis.get(value, value)} » (crise)"
    if kind == "topic":
        return f"« {names.topic(value)} »"
    if kind in ("neg", "hostile", "abusive", "threat"):
        return key_label(value, names)
    return f"« {value or key} »"


def topic_of_key(key: str) -> str | None:
    kind, _, value = key.partition(":")
    if kind in ("neg", "hostile", "abusive", "threat"):
        return topic_of_key(value)
    return value if kind == "topic" and value else None


def topic_of_mentions(mentions: list[Mention]) -> str | None:
    from collections import Counter

    seen = Counter(name for m in mentions if m.labels for name in m.labels.topic_names)
    return seen.most_common(1)[0][0] if seen else None
