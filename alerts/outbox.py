"""The alert outbox: every notification is written here first, then delivered by workers.

Contract used by rules/ (which decides what goes to whom) and by alerts/ (which delivers):
one row per (notification, channel, target), unique by idempotency key, so enqueuing the same thing
twice is harmless and a restart never sends twice what was confirmed.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from listener.store import Store
from listener.timeutil import to_iso


def enqueue(
    store: Store,
    *,
    kind: str,
    channel: str,
    target: str,
    payload: dict[str, Any],
    idempotency_key: str,
    at: datetime,
    recipient_group: str | None = None,
    alert_id: int | None = None,
    not_before: datetime | None = None,
) -> int | None:
    """Queue one delivery; returns its row id, or None when that idempotency key is already queued."""
    with store.transaction():
        cursor = store.conn.execute(
            "INSERT OR IGNORE INTO outbox (alert_id, kind, channel, target, recipient_group, idempotency_key, "
            "payload, state, not_before, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)",
            [
                alert_id,
                kind,
                channel,
                target,
                recipient_group,
                idempotency_key,
                json.dumps({"kind": kind, **payload}, ensure_ascii=False, default=str),
                to_iso(not_before) if not_before else None,
                to_iso(at),
            ],
        )
    return cursor.lastrowid if cursor.rowcount == 1 else None
