"""The Mention: one public post, article or comment that Vigie heard, with what it understood of it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from classifiers.types import Classification
from listener.errors import InvalidMention
from listener.sanitize import has_control, has_lone_surrogate, without_lone_surrogates
from listener.timeutil import parse_time, to_iso, utcnow

MAX_TEXT_LENGTH = 20_000
MAX_SHORT_LENGTH = 2_000
MAX_ID_LENGTH = 512
# SQLite integers are signed 64-bit.
MAX_INTEGER = 2**63 - 1
MAX_RAW_DEPTH = 32
MAX_RAW_NODES = 20_000
# A post dated further ahead than this is a broken clock or a forgery (and would never be purged).
MAX_FUTURE = timedelta(days=1)
_OPTIONAL_STRINGS = ("url", "author_handle", "author_name", "lang")


@dataclass(slots=True)
class Mention:
    source: str
    external_id: str
    text: str
    created_at: datetime
    url: str | None = None
    author_handle: str | None = None
    author_name: str | None = None
    author_followers: int | None = None
    lang: str | None = None
    collected_at: datetime = field(default_factory=utcnow)
    likes: int = 0
    reposts: int = 0
    replies: int = 0
    # The queries, hashtags or keywords of the config that made a source pick this mention up.
    matched: list[str] = field(default_factory=list)
    # The source's payload, kept for audit.
    raw: dict[str, Any] | None = None
    # Filled by the pipeline.
    labels: Classification | None = None
    id: int | None = None

    def to_dict(self, with_raw: bool = True) -> dict[str, Any]:
        """JSON form used by replay files, the ingest API and the web API."""
        data: dict[str, Any] = {
            "source": self.source,
            "external_id": self.external_id,
            "url": self.url,
            "author_handle": self.author_handle,
            "author_name": self.author_name,
            "author_followers": self.author_followers,
            "text": self.text,
            "lang": self.lang,
            "created_at": to_iso(self.created_at),
            "collected_at": to_iso(self.collected_at),
            "likes": self.likes,
            "reposts": self.reposts,
            "replies": self.replies,
            "matched": list(self.matched),
        }
        if self.id is not None:
            data["id"] = self.id
        if self.labels is not None:
            data["labels"] = self.labels.to_dict()
        if with_raw and self.raw is not None:
            data["raw"] = self.raw
        return data

    @classmethod
    def from_dict(cls, data: Any, default_source: str | None = None, *, now: datetime | None = None) -> Mention:
        """Validate an untrusted payload; raise InvalidMention naming the bad field.

        Every field is type-checked before use, integers must fit SQLite's 64 bits, `raw` is bounded in
        depth and size, a date more than a day after `now` (the wall clock) is refused (it would never be
        purged), and ids may hold neither control characters nor lone surrogates (they reach log lines).
        """
        if not isinstance(data, dict):
            raise InvalidMention("(item)", "an object is expected")
        source = _identifier(data.get("source", default_source), "source")
        external_id = data.get("external_id")
        if type(external_id) is int:
            external_id = str(external_id)
        external_id = _identifier(external_id, "external_id")
        text = data.get("text")
        if not isinstance(text, str) or not text.strip():
            raise InvalidMention("text", "a non-empty string is required")
        text = without_lone_surrogates(text[:MAX_TEXT_LENGTH])
        if "created_at" not in data:
            raise InvalidMention("created_at", "a timestamp is required")
        created_at = _timestamp(data["created_at"], "created_at")
        current = utcnow()
        if created_at > (now or current) + MAX_FUTURE:
            raise InvalidMention("created_at", "more than a day in the future")
        collected_raw = data.get("collected_at")
        collected_at = _timestamp(collected_raw, "collected_at") if collected_raw else current
        counts: dict[str, int] = {}
        for name in ("likes", "reposts", "replies"):
            value = data.get(name) or 0
            counts[name] = value if type(value) is int and 0 <= value <= MAX_INTEGER else _count(value, name)
        followers = data.get("author_followers")
        if followers is not None:
            followers = _count(followers, "author_followers")
        matched = data.get("matched") or []
        if matched:
            if type(matched) is not list or any(type(item) is not str for item in matched):
                raise InvalidMention("matched", "a list of strings is expected")
            if len(matched) > 100:
                raise InvalidMention("matched", "at most 100 terms")
            matched = [without_lone_surrogates(item[:MAX_SHORT_LENGTH]) for item in matched]
        else:
            matched = []
        optional: dict[str, str | None] = {}
        for name in _OPTIONAL_STRINGS:
            value = data.get(name)
            if value is None:
                optional[name] = None
            elif type(value) is not str:
                raise InvalidMention(name, "a string is expected")
            else:
                optional[name] = without_lone_surrogates(value[:MAX_SHORT_LENGTH])
        raw = data.get("raw")
        if raw is not None:
            if not isinstance(raw, dict):
                raise InvalidMention("raw", "an object is expected")
            problem = _raw_problem(raw)
            if problem:
                raise InvalidMention("raw", problem)
        labels = data.get("labels")
        return cls(
            source=source,
            external_id=external_id,
            text=text,
            created_at=created_at,
            url=optional["url"],
            author_handle=optional["author_handle"],
            author_name=optional["author_name"],
            author_followers=followers,
            lang=optional["lang"],
            collected_at=collected_at,
            matched=matched,
            raw=raw,
            labels=_labels(labels) if labels is not None else None,
            id=data.get("id") if type(data.get("id")) is int and 0 < data["id"] <= MAX_INTEGER else None,
            **counts,
        )


def _identifier(value: Any, name: str) -> str:
    if isinstance(value, str):
        stripped = value.strip()
        # isprintable() is False for every control, bidi (format), line-separator and surrogate character:
        # one C call clears the usual id; anything else gets the checks below and their precise reason.
        if stripped and len(stripped) <= MAX_ID_LENGTH and stripped.isprintable():
            return stripped
    if not isinstance(value, str) or not value.strip():
        raise InvalidMention(name, "a non-empty string is required")
    value = value.strip()
    if len(value) > MAX_ID_LENGTH:
        raise InvalidMention(name, f"at most {MAX_ID_LENGTH} characters")
    if has_lone_surrogate(value):
        raise InvalidMention(name, "invalid Unicode (lone surrogate)")
    if has_control(value):
        raise InvalidMention(name, "control characters are not allowed")
    return value


def _timestamp(value: Any, name: str) -> datetime:
    if type(value) is str and len(value) == 20 and value[10] == "T" and value[19] == "Z":
        # The store's own form ("2026-11-01T10:00:00Z", every replay line): fromisoformat reads the Z
        # itself; anything it refuses takes the general path below.
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            if moment.tzinfo is UTC and moment.year >= 1971:
                return moment
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InvalidMention(name, "not an ISO-8601 timestamp")
    try:
        moment = parse_time(value)
    except (TypeError, ValueError, OverflowError, OSError):
        raise InvalidMention(name, "not an ISO-8601 timestamp") from None
    if moment.year < 1971:
        raise InvalidMention(name, "before 1971")
    return moment


def _count(value: Any, name: str) -> int:
    if type(value) is not int or value < 0:
        raise InvalidMention(name, "a non-negative integer is expected")
    if value > MAX_INTEGER:
        raise InvalidMention(name, "integer out of range (at most 2^63 - 1)")
    return value


def _raw_problem(raw: dict[str, Any]) -> str | None:
    """Why a source payload cannot be kept (too deep, too big, an integer SQLite/JSON cannot hold)."""
    stack: list[tuple[Any, int]] = [(raw, 1)]
    nodes = 0
    while stack:
        value, depth = stack.pop()
        nodes += 1
        if nodes > MAX_RAW_NODES:
            return f"more than {MAX_RAW_NODES} values"
        if depth > MAX_RAW_DEPTH:
            return f"nested deeper than {MAX_RAW_DEPTH} levels"
        if type(value) is int and not -MAX_INTEGER - 1 <= value <= MAX_INTEGER:
            return "integer out of range (64 bits)"
        if isinstance(value, str) and has_lone_surrogate(value):
            return "invalid Unicode (lone surrogate)"
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str) or has_lone_surrogate(key):
                    return "invalid key"
                stack.append((item, depth + 1))
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)
    return None


def _labels(value: Any) -> Classification:
    """Labels recorded by Vigie itself (a replay file); anything else is refused, never half-read."""
    if not isinstance(value, dict):
        raise InvalidMention("labels", "an object is expected")
    try:
        labels = Classification.from_dict(value)
    except (TypeError, ValueError, KeyError, AttributeError):
        raise InvalidMention("labels", "not a Vigie classification") from None
    if labels.sentiment is not None and not isinstance(labels.sentiment, str):
        raise InvalidMention("labels", "sentiment must be a string")
    for label in (*labels.topics, *labels.crisis, *labels.crisis_abroad):
        if not isinstance(label.name, str) or isinstance(label.score, bool) or not isinstance(label.score, int | float):
            raise InvalidMention("labels", "topics and crisis are {name, score} objects")
    if not isinstance(labels.hostile, bool):
        raise InvalidMention("labels", "hostile must be a boolean")
    try:
        orjson.dumps(labels)
    except (TypeError, orjson.JSONEncodeError):
        raise InvalidMention("labels", "not serialisable (integer out of range?)") from None
    return labels


SEVERITIES = ("info", "warning", "critical")


@dataclass(slots=True)
class Signal:
    """Something a detector noticed (a spike, a new term, a negative shift, a silence).

    Signals are facts with numbers; the rules engine decides which become alerts.
    """

    kind: str
    key: str
    at: datetime
    score: float = 0.0
    severity: str = "info"
    observed: float | None = None
    expected: float | None = None
    started_at: datetime | None = None
    details: dict[str, Any] = field(default_factory=dict)
    id: int | None = None
