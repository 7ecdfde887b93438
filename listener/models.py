"""The Mention: one public post, article or comment that Vigie heard, with what it understood of it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from classifiers.types import Classification
from listener.errors import InvalidMention
from listener.timeutil import parse_time, to_iso, utcnow

MAX_TEXT_LENGTH = 20_000
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
    def from_dict(cls, data: Any, default_source: str | None = None) -> Mention:
        """Validate an untrusted payload; raise InvalidMention naming the bad field."""
        if not isinstance(data, dict):
            raise InvalidMention("(item)", "an object is expected")
        source = data.get("source", default_source)
        if not isinstance(source, str) or not source.strip():
            raise InvalidMention("source", "a non-empty string is required")
        external_id = data.get("external_id")
        if isinstance(external_id, int):
            external_id = str(external_id)
        if not isinstance(external_id, str) or not external_id.strip():
            raise InvalidMention("external_id", "a non-empty string is required")
        text = data.get("text")
        if not isinstance(text, str) or not text.strip():
            raise InvalidMention("text", "a non-empty string is required")
        if len(text) > MAX_TEXT_LENGTH:
            text = text[:MAX_TEXT_LENGTH]
        if "created_at" not in data:
            raise InvalidMention("created_at", "a timestamp is required")
        try:
            created_at = parse_time(data["created_at"])
        except (TypeError, ValueError, OverflowError, OSError):
            raise InvalidMention("created_at", "not an ISO-8601 timestamp") from None
        collected_raw = data.get("collected_at")
        try:
            collected_at = parse_time(collected_raw) if collected_raw else utcnow()
        except (TypeError, ValueError, OverflowError, OSError):
            raise InvalidMention("collected_at", "not an ISO-8601 timestamp") from None
        counts: dict[str, int] = {}
        for name in ("likes", "reposts", "replies"):
            value = data.get(name) or 0
            if type(value) is not int or value < 0:
                raise InvalidMention(name, "a non-negative integer is expected")
            counts[name] = value
        followers = data.get("author_followers")
        if followers is not None and (type(followers) is not int or followers < 0):
            raise InvalidMention("author_followers", "a non-negative integer is expected")
        matched = data.get("matched") or []
        if type(matched) is not list or any(type(item) is not str for item in matched):
            raise InvalidMention("matched", "a list of strings is expected")
        for name in _OPTIONAL_STRINGS:
            value = data.get(name)
            if value is not None and type(value) is not str:
                raise InvalidMention(name, "a string is expected")
        raw = data.get("raw")
        if raw is not None and not isinstance(raw, dict):
            raise InvalidMention("raw", "an object is expected")
        labels = data.get("labels")
        return cls(
            source=source.strip(),
            external_id=external_id.strip(),
            text=text,
            created_at=created_at,
            url=data.get("url"),
            author_handle=data.get("author_handle"),
            author_name=data.get("author_name"),
            author_followers=followers,
            lang=data.get("lang"),
            collected_at=collected_at,
            matched=matched,
            raw=raw,
            labels=Classification.from_dict(labels) if isinstance(labels, dict) else None,
            id=data.get("id") if isinstance(data.get("id"), int) else None,
            **counts,
        )


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
