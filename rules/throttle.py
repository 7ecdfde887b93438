"""Realert: the same rule + key does not notify again within its realert window (ElastAlert `realert`).

Kept in the store so a restart does not resend what people already saw.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from listener.store import Store
from listener.timeutil import parse_time, to_iso


class Throttle:
    def __init__(self, store: Store) -> None:
        self.store = store

    def last(self, fingerprint: str) -> tuple[datetime, str] | None:
        row = self.store.conn.execute(
            "SELECT last_notified_at, severity FROM rules_throttle WHERE fingerprint = ?", [fingerprint]
        ).fetchone()
        return (parse_time(row[0]), row[1]) if row else None

    def throttled(self, fingerprint: str, at: datetime, realert_minutes: int) -> bool:
        """True when this fingerprint notified less than realert_minutes ago."""
        if realert_minutes <= 0:
            return False
        found = self.last(fingerprint)
        return found is not None and at - found[0] < timedelta(minutes=realert_minutes)

    def record(self, fingerprint: str, at: datetime, severity: str) -> None:
        self.store.conn.execute(
            "INSERT INTO rules_throttle (fingerprint, last_notified_at, severity) VALUES (?, ?, ?) "
            "ON CONFLICT(fingerprint) DO UPDATE SET last_notified_at = excluded.last_notified_at, "
            "severity = excluded.severity",
            [fingerprint, to_iso(at), severity],
        )
