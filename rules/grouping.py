"""Grouping: related alerts (same recipient group and group key) raised within group_wait go out as one
message carrying several alert ids (Alertmanager `group_wait`), so a storm reads as one story.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from listener.store import Store
from listener.timeutil import to_iso
from rules.settings import SEVERITY_RANK, RulesSettings


class Grouper:
    def __init__(self, store: Store, settings: RulesSettings) -> None:
        self.store = store
        self.settings = settings

    def wait_for(self, severity: str) -> int:
        if severity == "critical":
            return self.settings.critical_group_wait_seconds
        return self.settings.group_wait_seconds

    def add(self, alert_id: int, routes: list[str], group_key: str, severity: str, at: datetime) -> None:
        due = at + timedelta(seconds=self.wait_for(severity))
        self.store.conn.executemany(
            "INSERT INTO rules_pending (alert_id, route_group, group_key, severity, created_at, due_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(alert_id, route, group_key, severity, to_iso(at), to_iso(due)) for route in routes],
        )

    def flush(self, as_of: datetime, send: Callable[..., Any]) -> list[dict[str, Any]]:
        """Send every group whose first alert has waited long enough; returns the messages sent."""
        rows = self.store.conn.execute(
            "SELECT p.id, p.alert_id, p.route_group, p.group_key, p.severity, p.due_at, a.status "
            "FROM rules_pending p JOIN alerts a ON a.id = p.alert_id ORDER BY p.id"
        ).fetchall()
        if not rows:
            return []
        batches: dict[tuple[str, str], list[tuple]] = {}
        for row in rows:
            batches.setdefault((row[2], row[3]), []).append(row)
        now = to_iso(as_of)
        sent = []
        with self.store.transaction():
            for (route, group_key), batch in batches.items():
                if min(row[5] for row in batch) > now:
                    continue
                ids = list(dict.fromkeys(row[1] for row in batch if row[6] in ("open", "acknowledged")))
                severity = max((row[4] for row in batch), key=lambda s: SEVERITY_RANK.get(s, 0))
                if ids:
                    message = {"route": route, "group_key": group_key, "alert_ids": ids, "severity": severity}
                    send(kind="alert", payload={"alert_ids": ids}, groups=[route], severity=severity,
                         idempotency_prefix=f"alert:{batch[0][0]}", alert_id=ids[0])
                    sent.append(message)
                marks = ",".join("?" * len(batch))
                self.store.conn.execute(f"DELETE FROM rules_pending WHERE id IN ({marks})", [r[0] for r in batch])
        return sent
