"""Tables of the posting policy. Crisis state and its audit log reuse the core tables
`crisis_state` and `crisis_log` (listener/store/migrations.py)."""

from __future__ import annotations

import sqlite_utils

from listener.store.migrations import Migration


def _posting_0001(db: sqlite_utils.Database) -> None:
    db.executescript(
        """
        CREATE TABLE scheduled_posts (
            id INTEGER PRIMARY KEY,
            text TEXT NOT NULL,
            channel TEXT NOT NULL,
            category TEXT NOT NULL,
            scheduled_at TEXT NOT NULL,
            author TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'scheduled',
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            held_at TEXT,
            held_reason TEXT,
            held_announced INTEGER NOT NULL DEFAULT 0,
            needs_approval INTEGER NOT NULL DEFAULT 0,
            released_by TEXT,
            released_at TEXT,
            cancelled_by TEXT,
            cancelled_at TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT,
            last_error TEXT,
            idempotency_key TEXT NOT NULL UNIQUE,
            rkey TEXT NOT NULL,
            external_id TEXT,
            external_url TEXT,
            published_at TEXT
        );
        CREATE INDEX idx_scheduled_posts_state ON scheduled_posts (state, scheduled_at);

        CREATE TABLE post_approvals (
            id INTEGER PRIMARY KEY,
            post_id INTEGER NOT NULL REFERENCES scheduled_posts(id),
            approver TEXT NOT NULL,
            at TEXT NOT NULL,
            UNIQUE (post_id, approver)
        );

        CREATE TABLE post_events (
            id INTEGER PRIMARY KEY,
            post_id INTEGER NOT NULL REFERENCES scheduled_posts(id),
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            detail TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX idx_post_events_post ON post_events (post_id);
        """
    )


MIGRATIONS = [Migration("rules_crisis_0001_posting", _posting_0001)]
