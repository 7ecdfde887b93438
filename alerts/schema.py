"""Tables and columns alerts/ adds to the store."""

from __future__ import annotations

import sqlite_utils

from listener.store.migrations import Migration


def _alerts_0001_delivery(db: sqlite_utils.Database) -> None:
    """Retry timing in wall-clock time (a replay clock stops when the replay ends, retries must not),
    and the Slack message of each alert so updates edit or thread on it."""
    db.executescript(
        """
        ALTER TABLE outbox ADD COLUMN next_attempt_at TEXT;
        ALTER TABLE outbox ADD COLUMN claimed_at TEXT;
        ALTER TABLE outbox ADD COLUMN updated_at TEXT;
        CREATE TABLE alerts_slack_messages (
            alert_id INTEGER NOT NULL,
            target TEXT NOT NULL,
            channel_id TEXT NOT NULL,
            ts TEXT NOT NULL,
            outbox_id INTEGER,
            PRIMARY KEY (alert_id, target)
        );
        """
    )


def _alerts_0002_fallback(db: sqlite_utils.Database) -> None:
    """An alert is never abandoned: where to send it when its own channel keeps failing (routing's
    choice, JSON list of [channel, target]), since when it fails, and when the fallback copies went out."""
    db.executescript(
        """
        ALTER TABLE outbox ADD COLUMN fallback TEXT;
        ALTER TABLE outbox ADD COLUMN failing_since TEXT;
        ALTER TABLE outbox ADD COLUMN fallback_at TEXT;
        """
    )


MIGRATIONS = [
    Migration("alerts_0001_delivery", _alerts_0001_delivery),
    Migration("alerts_0002_fallback", _alerts_0002_fallback),
]
