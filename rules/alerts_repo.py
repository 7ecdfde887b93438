"""The alerts repository: the one place that reads and writes the `alerts` and `rules_state` tables for
the rules engine, so the engine itself holds no SQL and the decision (rules/decide.py) stays pure.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from listener.store import Store
from listener.timeutil import to_iso
from rules.actions import OPEN_STATES
from rules.decide import OpenAlert

_OPEN_MARKS = ",".join("?" * len(OPEN_STATES))


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


class AlertsRepository:
    def __init__(self, store: Store) -> None:
        self.store = store

    @property
    def conn(self):
        """The calling thread's connection (the rules pass runs on the evaluation thread)."""
        return self.store.conn

    # -- progress -------------------------------------------------------------------------------------

    def progress(self, name: str) -> int | None:
        row = self.conn.execute("SELECT value FROM rules_state WHERE name = ?", [name]).fetchone()
        return int(row[0]) if row else None

    def set_progress(self, name: str, value: int) -> None:
        self.conn.execute(
            "INSERT INTO rules_state (name, value) VALUES (?, ?) "
            "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
            [name, str(value)],
        )

    # -- reads --------------------------------------------------------------------------------------

    def open_alert(self, fingerprint: str) -> OpenAlert | None:
        """The latest alert of a rule + key that is still open, acknowledged or silenced."""
        row = self.conn.execute(
            f"SELECT id, severity, status, fire_count, details, evidence FROM alerts "
            f"WHERE fingerprint = ? AND status IN ({_OPEN_MARKS}) ORDER BY id DESC LIMIT 1",
            [fingerprint, *OPEN_STATES],
        ).fetchone()
        if row is None:
            return None
        return OpenAlert(id=row[0], severity=row[1], status=row[2], fire_count=row[3],
                         details=json.loads(row[4] or "{}"), evidence=json.loads(row[5] or "[]"))

    def is_active(self, alert_id: int | None) -> bool:
        """Whether an alert is still open or acknowledged (an inhibitor still holding others back)."""
        if not alert_id:
            return False
        row = self.conn.execute("SELECT status FROM alerts WHERE id = ?", [alert_id]).fetchone()
        return row is not None and row[0] in ("open", "acknowledged")

    def open_critical(self, group_key: str) -> int | None:
        """An open (or acknowledged) critical alert of a group key, if any."""
        row = self.conn.execute(
            "SELECT id FROM alerts WHERE group_key = ? AND severity = 'critical' AND status IN ('open', "
            "'acknowledged') LIMIT 1",
            [group_key],
        ).fetchone()
        return row[0] if row is not None else None

    def count_open(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM alerts WHERE status = 'open'").fetchone()[0])

    # -- writes -------------------------------------------------------------------------------------

    def insert(self, *, rule: str, rule_type: str, key: str, fingerprint: str, group_key: str, severity: str,
               status: str, title: str, summary: str, topic: str | None, details: dict[str, Any],
               evidence: list[int], routes: list[str], at: datetime) -> int:
        now = to_iso(at)
        cursor = self.conn.execute(
            "INSERT INTO alerts (rule, rule_type, key, fingerprint, group_key, severity, status, title, summary, "
            "topic, details, evidence, routes, created_at, updated_at, fire_count) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)",
            [rule, rule_type, key, fingerprint, group_key, severity, status, title, summary, topic,
             _dumps(details), _dumps(evidence), _dumps(routes), now, now],
        )
        return int(cursor.lastrowid)

    def fire_again(self, alert_id: int, *, severity: str, title: str, summary: str, details: dict[str, Any],
                   evidence: list[int], at: datetime, reopen: bool = False) -> None:
        """One more match of an open alert: new figures and evidence; `reopen` also sets it back to open."""
        status = "status = 'open', " if reopen else ""
        self.conn.execute(
            f"UPDATE alerts SET {status}fire_count = fire_count + 1, severity = ?, title = ?, summary = ?, "
            "details = ?, evidence = ?, updated_at = ? WHERE id = ?",
            [severity, title, summary, _dumps(details), _dumps(evidence), to_iso(at), alert_id],
        )

    def resolve(self, alert_id: int, at: datetime) -> None:
        """Close an alert and drop what was waiting to be grouped for it."""
        now = to_iso(at)
        self.conn.execute(
            "UPDATE alerts SET status = 'resolved', resolved_at = ?, updated_at = ? WHERE id = ?", [now, now, alert_id]
        )
        self.conn.execute("DELETE FROM rules_pending WHERE alert_id = ?", [alert_id])

    def resolve_stale(self, before: datetime, at: datetime) -> list[tuple[int, str, str, str]]:
        """Resolve open alerts not updated since `before`; returns their (id, rule, key, severity)."""
        stale = self.conn.execute(
            f"SELECT id, rule, key, severity FROM alerts WHERE status IN ({_OPEN_MARKS}) AND updated_at < ?",
            [*OPEN_STATES, to_iso(before)],
        ).fetchall()
        for row in stale:
            self.resolve(row[0], at)
        return [tuple(row) for row in stale]
