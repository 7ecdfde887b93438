"""Escalation: a critical alert nobody acknowledged within N minutes is sent to the on-call group,
level 1 after N minutes, level 2 after 2N … up to escalation_max_level. Acknowledging stops it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from listener.store import Store
from listener.timeutil import parse_time
from rules.settings import RulesSettings


def due_escalations(store: Store, settings: RulesSettings, as_of: datetime) -> list[tuple[int, int]]:
    """(alert id, new level) for open critical alerts whose next escalation level is due."""
    if not settings.escalation_group or settings.escalation_max_level <= 0:
        return []
    step = settings.escalation_minutes * 60
    due = []
    rows = store.conn.execute(
        "SELECT id, created_at, escalation_level FROM alerts "
        "WHERE status = 'open' AND severity = 'critical' AND escalation_level < ?",
        [settings.escalation_max_level],
    ).fetchall()
    for alert_id, created_at, level in rows:
        elapsed = (as_of - parse_time(created_at)).total_seconds()
        target = min(settings.escalation_max_level, int(elapsed // step))
        if target > level:
            due.append((alert_id, target))
    return due


def escalate(
    store: Store, settings: RulesSettings, as_of: datetime, send: Callable[..., Any] | None
) -> list[tuple[int, int]]:
    """Raise the level of due alerts and send one escalation message each (send=None: record only)."""
    done = due_escalations(store, settings, as_of)
    if not done:
        return []
    with store.transaction():
        for alert_id, level in done:
            store.conn.execute("UPDATE alerts SET escalation_level = ? WHERE id = ?", [level, alert_id])
            if send is not None:
                send(kind="escalation", payload={"alert_ids": [alert_id], "level": level},
                     groups=[settings.escalation_group], severity="critical",
                     idempotency_prefix=f"escalation:{alert_id}:{level}", alert_id=alert_id)
    return done
