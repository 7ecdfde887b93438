"""The alert outbox: every notification is written here first, then delivered by workers.

Contract used by rules/ (which decides what goes to whom) and by alerts/ (which delivers):
one row per (notification, channel, target), unique by idempotency key, so enqueuing the same thing
twice is harmless and a restart never sends twice what was confirmed.

States: pending → sending → sent, or back to pending with `next_attempt_at` (transient failure,
exponential backoff capped at backoff_max, forever), or dead (permanent failure only: invalid address,
unknown channel). A row that keeps failing is copied, once, to its fallback targets (`fall_back`). A row is marked `sending` in
a committed transaction *before* the send and `sent` right after the receiver confirmed it; rows found
in `sending` at start-up were in flight when the process died and go back to pending. That is the
at-least-once window: such a send may be repeated, and receivers can drop the repeat with the
idempotency key (webhook header, Slack metadata, e-mail Message-ID). Nothing confirmed is resent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from listener.timeutil import parse_time, to_iso, utcnow

if TYPE_CHECKING:
    from listener.store import Store

STATES = ("pending", "sending", "sent", "dead")


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
    fallback: list[tuple[str, str]] | None = None,
) -> int | None:
    """Queue one delivery; returns its row id, or None when that idempotency key is already queued.

    `fallback`: (channel, target) pairs that receive a copy if this delivery keeps failing (routing
    decides them; none given: the daemon's console/journal)."""
    with store.transaction():
        cursor = store.conn.execute(
            "INSERT OR IGNORE INTO outbox (alert_id, kind, channel, target, recipient_group, idempotency_key, "
            "payload, state, not_before, created_at, fallback) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)",
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
                json.dumps([list(pair) for pair in fallback]) if fallback else None,
            ],
        )
    return cursor.lastrowid if cursor.rowcount == 1 else None


@dataclass
class OutboxRow:
    id: int
    alert_id: int | None
    kind: str
    channel: str
    target: str
    recipient_group: str | None
    idempotency_key: str
    payload: dict[str, Any]
    state: str
    attempts: int
    not_before: str | None
    last_error: str | None
    external_ref: str | None
    created_at: str
    sent_at: str | None
    next_attempt_at: str | None = None
    fallback: list[list[str]] | None = None
    failing_since: str | None = None
    fallback_at: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


_COLUMNS = (
    "id, alert_id, kind, channel, target, recipient_group, idempotency_key, payload, state, attempts, "
    "not_before, last_error, external_ref, created_at, sent_at, next_attempt_at, fallback, failing_since, fallback_at"
)


def _row(values: tuple[Any, ...]) -> OutboxRow:
    row = OutboxRow(*values)
    row.payload = json.loads(row.payload or "{}")  # type: ignore[arg-type]
    row.fallback = json.loads(row.fallback) if row.fallback else None  # type: ignore[arg-type]
    return row


def get(store: Store, row_id: int) -> OutboxRow | None:
    found = store.conn.execute(f"SELECT {_COLUMNS} FROM outbox WHERE id = ?", [row_id]).fetchone()
    return _row(found) if found else None


def list_rows(store: Store, *, state: str | None = None, limit: int = 50) -> list[OutboxRow]:
    sql = f"SELECT {_COLUMNS} FROM outbox"
    params: list[Any] = []
    if state:
        sql += " WHERE state = ?"
        params.append(state)
    sql += " ORDER BY id DESC LIMIT ?"
    params.append(limit)
    return [_row(values) for values in store.conn.execute(sql, params)]


def counts(store: Store) -> dict[str, int]:
    found = dict(store.conn.execute("SELECT state, count(*) FROM outbox GROUP BY state").fetchall())
    return {state: found.get(state, 0) for state in STATES} | {k: v for k, v in found.items() if k not in STATES}


def recover_in_flight(store: Store) -> int:
    """At start-up: rows left `sending` by a dead process go back to pending (may be sent again)."""
    with store.transaction():
        cursor = store.conn.execute(
            "UPDATE outbox SET state = 'pending', next_attempt_at = NULL, updated_at = ?, "
            "last_error = coalesce(last_error, 'interrompu pendant l''envoi (redémarrage)') WHERE state = 'sending'",
            [to_iso(utcnow())],
        )
    return cursor.rowcount


def claim_due(
    store: Store, *, clock_now: datetime, wall_now: datetime, limit: int, channels: list[str] | None = None,
    ids: list[int] | None = None,
) -> list[OutboxRow]:
    """Take due pending rows and mark them `sending` (committed before anything is sent).

    `not_before` (quiet hours, set by rules/) is compared with the daemon clock, so a replay honours it
    as the recorded day would; `next_attempt_at` (our retry backoff) with the wall clock, so a retry is
    not stranded when a replay clock stops.
    """
    sql = (
        f"SELECT {_COLUMNS} FROM outbox WHERE state = 'pending' AND (not_before IS NULL OR not_before <= ?) "
        "AND (next_attempt_at IS NULL OR next_attempt_at <= ?)"
    )
    params: list[Any] = [to_iso(clock_now), to_iso(wall_now)]
    if channels is not None:
        sql += f" AND channel IN ({','.join('?' * len(channels))})"
        params += channels
    if ids is not None:
        sql += f" AND id IN ({','.join('?' * len(ids))})"
        params += ids
    sql += " ORDER BY id LIMIT ?"
    params.append(limit)
    with store.transaction():
        rows = [_row(values) for values in store.conn.execute(sql, params).fetchall()]
        if rows:
            store.conn.executemany(
                "UPDATE outbox SET state = 'sending', attempts = attempts + 1, claimed_at = ?, updated_at = ? "
                "WHERE id = ? AND state = 'pending'",
                [(to_iso(wall_now), to_iso(wall_now), row.id) for row in rows],
            )
    for row in rows:
        row.state = "sending"
        row.attempts += 1
    return rows


def mark_sent(store: Store, row_id: int, *, external_ref: str | None, at: datetime) -> None:
    with store.transaction():
        store.conn.execute(
            "UPDATE outbox SET state = 'sent', external_ref = ?, sent_at = ?, last_error = NULL, "
            "next_attempt_at = NULL, updated_at = ? WHERE id = ?",
            [external_ref, to_iso(at), to_iso(utcnow()), row_id],
        )


def mark_retry(store: Store, row_id: int, *, error: str, next_attempt_at: datetime, count_attempt: bool = True) -> None:
    with store.transaction():
        store.conn.execute(
            "UPDATE outbox SET state = 'pending', last_error = ?, next_attempt_at = ?, updated_at = ?, "
            "attempts = attempts - ?, failing_since = CASE WHEN ? THEN coalesce(failing_since, ?) "
            "ELSE failing_since END WHERE id = ?",
            [error[:1000], to_iso(next_attempt_at), to_iso(utcnow()), 0 if count_attempt else 1,
             int(count_attempt), to_iso(utcnow()), row_id],
        )


def mark_dead(store: Store, row_id: int, *, error: str) -> None:
    with store.transaction():
        store.conn.execute(
            "UPDATE outbox SET state = 'dead', last_error = ?, next_attempt_at = NULL, updated_at = ? WHERE id = ?",
            [error[:1000], to_iso(utcnow()), row_id],
        )


def fall_back(store: Store, row: OutboxRow, targets: list[tuple[str, str]], *, at: datetime) -> list[int]:
    """Copy a delivery that keeps failing to its fallback targets (once: `fallback_at` is set in the same
    transaction). The original keeps being retried; the copies carry the same payload."""
    ids: list[int] = []
    payload = {k: v for k, v in row.payload.items() if k != "kind"}
    with store.transaction():
        for channel, target in targets:
            if (channel, target) == (row.channel, row.target):
                continue
            new_id = enqueue(
                store, kind=row.kind, channel=channel, target=target, payload=payload | {"fallback_of": row.id},
                idempotency_key=f"secours:{row.kind}:{row.alert_id or row.id}:{row.recipient_group}:{channel}:{target}",
                at=at,
                recipient_group=row.recipient_group, alert_id=row.alert_id,
            )
            if new_id is not None:
                ids.append(new_id)
        store.conn.execute("UPDATE outbox SET fallback_at = ? WHERE id = ?", [to_iso(utcnow()), row.id])
    return ids


def failing(store: Store, *, older_than: datetime, limit: int = 20) -> list[OutboxRow]:
    """Deliveries still not through that started failing before `older_than` (« livraison en échec »)."""
    return [_row(values) for values in store.conn.execute(
        f"SELECT {_COLUMNS} FROM outbox WHERE state IN ('pending', 'sending') AND failing_since IS NOT NULL "
        "AND failing_since <= ? ORDER BY failing_since LIMIT ?", [to_iso(older_than), limit])]


def requeue(store: Store, row_ids: list[int] | None = None) -> int:
    """Operator action: dead rows (all, or the ones given) are tried again from zero."""
    sql = "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = NULL, updated_at = ? WHERE state = 'dead'"
    params: list[Any] = [to_iso(utcnow())]
    if row_ids is not None:
        if not row_ids:
            return 0
        sql += f" AND id IN ({','.join('?' * len(row_ids))})"
        params += row_ids
    with store.transaction():
        return store.conn.execute(sql, params).rowcount


def backoff_delay(attempts: int, initial: float, maximum: float) -> float:
    """Exponential backoff: initial, 2×, 4× … capped at maximum (attempts counts the failed ones)."""
    return min(maximum, initial * (2 ** max(0, attempts - 1)))


def oldest_due_age(store: Store, *, clock_now: datetime, wall_now: datetime) -> float | None:
    """Seconds the oldest due, undelivered row has waited (None when nothing is waiting)."""
    found = store.conn.execute(
        "SELECT min(created_at) FROM outbox WHERE state IN ('pending', 'sending') "
        "AND (not_before IS NULL OR not_before <= ?)",
        [to_iso(clock_now)],
    ).fetchone()[0]
    if not found:
        return None
    return max(0.0, (clock_now - parse_time(found)).total_seconds())


def dead_since(store: Store, since: datetime) -> int:
    return store.conn.execute(
        "SELECT count(*) FROM outbox WHERE state = 'dead' AND updated_at >= ?", [to_iso(since)]
    ).fetchone()[0]



def first_delivery(store: Store, *, channel: str, target: str, alert_id: int, before_id: int) -> OutboxRow | None:
    """The first `alert` row that carried this alert to this channel and target: updates and escalations
    thread on the message it produced (its external_ref)."""
    found = store.conn.execute(
        f"SELECT {_COLUMNS} FROM outbox WHERE channel = ? AND target = ? AND kind = 'alert' AND id < ? "
        "AND (alert_id = ? OR EXISTS (SELECT 1 FROM json_each(outbox.payload, '$.alert_ids') WHERE value = ?)) "
        "ORDER BY id LIMIT 1",
        [channel, target, before_id, alert_id, alert_id],
    ).fetchone()
    return _row(found) if found else None
