"""One way to write and read timestamps: ISO-8601 UTC strings in the store, aware datetimes in code."""

from __future__ import annotations

from datetime import UTC, datetime

ISO_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_iso(moment: datetime) -> str:
    """Store format: second precision, UTC, 'Z' suffix, so string order is time order."""
    if moment.tzinfo is not UTC:
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.isoformat(timespec="seconds")[:19] + "Z"


def parse_time(value: str | int | float | datetime) -> datetime:
    """Accept ISO strings (with Z or offset), epoch seconds or datetimes; always return aware UTC."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, int | float):
        moment = datetime.fromtimestamp(float(value), UTC)
    else:
        text = value.strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def minute_bucket(moment: datetime) -> int:
    """Minute bucket index (epoch minutes) used by counters and detectors."""
    return int(moment.timestamp()) // 60


def bucket_start(bucket: int) -> datetime:
    return datetime.fromtimestamp(bucket * 60, UTC)
