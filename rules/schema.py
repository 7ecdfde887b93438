"""Tables of the rules area: engine progress, silences, throttling and notifications waiting to be grouped.

Alerts themselves live in the core `alerts` table (contract with alerts/); escalation uses its
`escalation_level` column.
"""

from __future__ import annotations

import sqlite_utils

from listener.store.migrations import Migration


def _rules_0001_initial(db: sqlite_utils.Database) -> None:
    db.executescript(
        """
        -- Where the engine stopped reading signals and mentions, so a restart never re-fires.
        CREATE TABLE rules_state (
            name TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );

        -- Operator silences: rule and/or key (NULL = any; key may be a glob like topic:*).
        CREATE TABLE rules_silences (
            id INTEGER PRIMARY KEY,
            rule TEXT,
            key TEXT,
            until TEXT NOT NULL,
            actor TEXT NOT NULL,
            reason TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            removed_at TEXT,
            removed_by TEXT
        );
        CREATE INDEX idx_rules_silences_until ON rules_silences (until);

        -- Last notification per fingerprint (rule + key): realert throttling survives restarts.
        CREATE TABLE rules_throttle (
            fingerprint TEXT PRIMARY KEY,
            last_notified_at TEXT NOT NULL,
            severity TEXT NOT NULL
        );

        -- Alerts waiting for group_wait to pass, one row per recipient group.
        -- AUTOINCREMENT: ids are never reused, they make the idempotency key of the grouped message.
        CREATE TABLE rules_pending (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            alert_id INTEGER NOT NULL REFERENCES alerts(id),
            route_group TEXT NOT NULL,
            group_key TEXT NOT NULL,
            severity TEXT NOT NULL,
            created_at TEXT NOT NULL,
            due_at TEXT NOT NULL
        );
        CREATE INDEX idx_rules_pending_due ON rules_pending (due_at);
        CREATE INDEX idx_alerts_status ON alerts (status, severity);
        CREATE INDEX idx_alerts_group_key ON alerts (group_key, severity);
        """
    )


MIGRATIONS = [Migration("rules_0001_initial", _rules_0001_initial)]
