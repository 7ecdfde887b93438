"""What people do to alerts: acknowledge them, silence a rule or key for a while, lift a silence.

Used by the CLI, the web API and Slack buttons (alerts/interactions.py). Silences are Alertmanager-like
inhibitions: while one is active, matching alerts are recorded as `silenced` and nobody is notified.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from fnmatch import fnmatchcase
from typing import Any

from listener.store import Store
from listener.timeutil import to_iso

OPEN_STATES = ("open", "acknowledged", "silenced")


def acknowledge_alert(store: Store, alert_id: int, actor: str, at: datetime) -> bool:
    """Someone takes the alert in hand: stops escalation. False if unknown or already taken/closed.
    The alert stands for its incident (a Slack button names the incident's first alert): the whole
    incident is taken in hand."""
    with store.transaction():
        cursor = store.conn.execute(
            "UPDATE alerts SET status = 'acknowledged', acked_by = ?, acked_at = ?, updated_at = ? "
            "WHERE id = ? AND status = 'open'",
            [actor, to_iso(at), to_iso(at), alert_id],
        )
        row = store.conn.execute("SELECT incident_id FROM alerts WHERE id = ?", [alert_id]).fetchone()
    if cursor.rowcount == 1 and row is not None and row[0] is not None:
        from rules.incidents import acknowledge_incident  # incidents build on actions, not the reverse

        acknowledge_incident(store, int(row[0]), actor, at)
    return cursor.rowcount == 1


def add_silence(
    store: Store,
    *,
    rule: str | None = None,
    key: str | None = None,
    until: datetime,
    actor: str,
    reason: str,
    at: datetime,
) -> int:
    """Silence a rule and/or key (glob allowed in key) until a moment; open matching alerts are silenced too."""
    with store.transaction():
        cursor = store.conn.execute(
            "INSERT INTO rules_silences (rule, key, until, actor, reason, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            [rule or None, key or None, to_iso(until), actor, reason, to_iso(at)],
        )
        silence_id = int(cursor.lastrowid)
        rows = store.conn.execute("SELECT id, rule, key FROM alerts WHERE status = 'open'").fetchall()
        hit = [row[0] for row in rows if silence_matches(rule, key, row[1], row[2])]
        for alert_id in hit:
            store.conn.execute(
                "UPDATE alerts SET status = 'silenced', updated_at = ? WHERE id = ?", [to_iso(at), alert_id]
            )
            store.conn.execute("DELETE FROM rules_pending WHERE alert_id = ?", [alert_id])
    return silence_id


def remove_silence(store: Store, silence_id: int, actor: str, at: datetime) -> bool:
    with store.transaction():
        cursor = store.conn.execute(
            "UPDATE rules_silences SET removed_at = ?, removed_by = ? WHERE id = ? AND removed_at IS NULL",
            [to_iso(at), actor, silence_id],
        )
    return cursor.rowcount == 1


def list_silences(store: Store, at: datetime | None = None, *, include_inactive: bool = False) -> list[dict[str, Any]]:
    """Silences, newest first; by default only those active at `at`."""
    sql = "SELECT id, rule, key, until, actor, reason, created_at, removed_at, removed_by FROM rules_silences"
    params: list[Any] = []
    if not include_inactive:
        sql += " WHERE removed_at IS NULL"
        if at is not None:
            sql += " AND until > ?"
            params.append(to_iso(at))
    sql += " ORDER BY id DESC"
    names = ("id", "rule", "key", "until", "actor", "reason", "created_at", "removed_at", "removed_by")
    return [dict(zip(names, row, strict=True)) for row in store.conn.execute(sql, params)]


def silence_matches(s_rule: str | None, s_key: str | None, rule: str, key: str) -> bool:
    if s_rule and s_rule != rule:
        return False
    return not (s_key and s_key != key and not fnmatchcase(key, s_key))


class Silences:
    """Active silences loaded once per evaluation pass (there are few; checks stay in memory)."""

    def __init__(self, store: Store, at: datetime) -> None:
        self.items = [(s["rule"], s["key"], s["id"]) for s in list_silences(store, at)]

    def find(self, rule: str, key: str) -> int | None:
        for s_rule, s_key, silence_id in self.items:
            if silence_matches(s_rule, s_key, rule, key):
                return silence_id
        return None


_UNITS = {"s": 1, "sec": 1, "m": 60, "min": 60, "mn": 60, "h": 3600, "j": 86400, "d": 86400, "sem": 604800,
          "w": 604800}


def parse_duration(text: str) -> timedelta:
    """'2h', '30min', '1h30', '1j', '90' (minutes) → timedelta; ValueError with a French message otherwise."""
    import re

    value = text.strip().lower().replace(" ", "")
    if value.isdigit():
        return timedelta(minutes=int(value))
    parts = re.findall(r"(\d+)([a-z]*)", value)
    if not parts or "".join(n + u for n, u in parts) != value:
        raise ValueError(f"durée invalide : {text!r} (exemples : 30min, 2h, 1h30, 1j)")
    seconds = 0
    for index, (number, unit) in enumerate(parts):
        if not unit and index > 0 and parts[index - 1][1] == "h":
            unit = "min"  # "1h30"
        if unit not in _UNITS:
            raise ValueError(f"durée invalide : {text!r} (unités : min, h, j)")
        seconds += int(number) * _UNITS[unit]
    if seconds <= 0:
        raise ValueError(f"durée invalide : {text!r}")
    return timedelta(seconds=seconds)
