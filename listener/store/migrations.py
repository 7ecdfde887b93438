"""Schema migrations, applied once each, in order, and recorded by name.

Each area keeps its own migrations beside its code (rules/schema.py, alerts/schema.py) and lists them
in MIGRATIONS. The store does not know the areas: the composition root (listener/areas.py) hands it
the full, ordered list (core first). A migration is never edited once released: add a new one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sqlite_utils

from listener.timeutil import to_iso, utcnow


@dataclass(frozen=True)
class Migration:
    name: str
    apply: Callable[[sqlite_utils.Database], None]


def _core_0001_initial(db: sqlite_utils.Database) -> None:
    db.executescript(
        """
        CREATE TABLE mentions (
            id INTEGER PRIMARY KEY,
            source TEXT NOT NULL,
            external_id TEXT NOT NULL,
            url TEXT,
            author_handle TEXT,
            author_name TEXT,
            author_followers INTEGER,
            text TEXT NOT NULL,
            lang TEXT,
            created_at TEXT NOT NULL,
            collected_at TEXT NOT NULL,
            likes INTEGER NOT NULL DEFAULT 0,
            reposts INTEGER NOT NULL DEFAULT 0,
            replies INTEGER NOT NULL DEFAULT 0,
            matched TEXT NOT NULL DEFAULT '[]',
            raw TEXT
        );
        CREATE UNIQUE INDEX idx_mentions_source_external ON mentions (source, external_id);
        CREATE INDEX idx_mentions_created_at ON mentions (created_at);

        CREATE TABLE cursors (
            source TEXT PRIMARY KEY,
            cursor TEXT,
            updated_at TEXT NOT NULL
        );

        CREATE TABLE counts (
            key TEXT NOT NULL,
            bucket INTEGER NOT NULL,
            n INTEGER NOT NULL,
            PRIMARY KEY (key, bucket)
        ) WITHOUT ROWID;
        CREATE INDEX idx_counts_bucket ON counts (bucket);

        CREATE TABLE signals (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,
            key TEXT NOT NULL,
            at TEXT NOT NULL,
            started_at TEXT,
            score REAL NOT NULL DEFAULT 0,
            severity TEXT NOT NULL DEFAULT 'info',
            observed REAL,
            expected REAL,
            details TEXT NOT NULL DEFAULT '{}'
        );
        CREATE INDEX idx_signals_at ON signals (at);

        CREATE TABLE alerts (
            id INTEGER PRIMARY KEY,
            rule TEXT NOT NULL,
            rule_type TEXT NOT NULL,
            key TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            group_key TEXT,
            severity TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'open',
            title TEXT NOT NULL,
            summary TEXT NOT NULL DEFAULT '',
            topic TEXT,
            details TEXT NOT NULL DEFAULT '{}',
            evidence TEXT NOT NULL DEFAULT '[]',
            routes TEXT NOT NULL DEFAULT '[]',
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            fire_count INTEGER NOT NULL DEFAULT 1,
            acked_by TEXT,
            acked_at TEXT,
            resolved_at TEXT,
            escalation_level INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX idx_alerts_fingerprint ON alerts (fingerprint);
        CREATE INDEX idx_alerts_created_at ON alerts (created_at);

        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY,
            alert_id INTEGER REFERENCES alerts(id),
            kind TEXT NOT NULL,
            channel TEXT NOT NULL,
            target TEXT NOT NULL,
            recipient_group TEXT,
            idempotency_key TEXT NOT NULL UNIQUE,
            payload TEXT NOT NULL DEFAULT '{}',
            state TEXT NOT NULL DEFAULT 'pending',
            attempts INTEGER NOT NULL DEFAULT 0,
            not_before TEXT,
            last_error TEXT,
            external_ref TEXT,
            created_at TEXT NOT NULL,
            sent_at TEXT
        );
        CREATE INDEX idx_outbox_state ON outbox (state, not_before);

        CREATE TABLE crisis_state (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            state TEXT NOT NULL,
            since TEXT NOT NULL,
            reason TEXT NOT NULL DEFAULT '',
            actor TEXT NOT NULL DEFAULT 'system',
            last_critical_at TEXT
        );

        CREATE TABLE crisis_log (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            from_state TEXT NOT NULL,
            to_state TEXT NOT NULL,
            actor TEXT NOT NULL,
            reason TEXT NOT NULL DEFAULT ''
        );
        """
    )
    # Full-text search over mention text (accents folded so "greve" finds "grève"). The index is
    # external-content and maintained by the Store in batches (3× faster than per-row triggers).
    db["mentions"].enable_fts(
        ["text", "author_handle"],
        fts_version="FTS5",
        tokenize="unicode61 remove_diacritics 2",
        create_triggers=False,
    )


def _core_0002_labels(db: sqlite_utils.Database) -> None:
    """Classification results as queryable columns, plus the full explanation as JSON."""
    db.executescript(
        """
        ALTER TABLE mentions ADD COLUMN sentiment TEXT;
        ALTER TABLE mentions ADD COLUMN sentiment_score REAL;
        ALTER TABLE mentions ADD COLUMN topics TEXT NOT NULL DEFAULT '[]';
        ALTER TABLE mentions ADD COLUMN hostile INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE mentions ADD COLUMN crisis TEXT NOT NULL DEFAULT '[]';
        ALTER TABLE mentions ADD COLUMN labels TEXT;
        """
    )


def _core_0003_rejected(db: sqlite_utils.Database) -> None:
    """Payloads that could not be ingested are kept for audit and replay, never silently dropped."""
    db.execute(
        """
        CREATE TABLE rejected_payloads (
            id INTEGER PRIMARY KEY,
            source TEXT NOT NULL,
            received_at TEXT NOT NULL,
            error TEXT NOT NULL,
            payload TEXT NOT NULL
        )
        """
    )


def _core_0004_counts_by_bucket(db: sqlite_utils.Database) -> None:
    """Detectors and rules read the newest minute buckets of every key each minute: a covering index
    (bucket, key, n) answers that without one table look-up per row, and replaces the bucket-only index."""
    db.executescript(
        """
        CREATE INDEX IF NOT EXISTS idx_counts_bucket_key_n ON counts (bucket, key, n);
        DROP INDEX IF EXISTS idx_counts_bucket;
        """
    )


def _core_0005_ingest_spool(db: sqlite_utils.Database) -> None:
    """Mentions answered « queued » by POST /api/ingest, kept until the pipeline has stored them."""
    db.execute(
        "CREATE TABLE ingest_spool (id INTEGER PRIMARY KEY, source TEXT NOT NULL, received_at TEXT NOT NULL, "
        "payload TEXT NOT NULL)"
    )


MIGRATIONS = [
    Migration("core_0001_initial", _core_0001_initial),
    Migration("core_0002_labels", _core_0002_labels),
    Migration("core_0003_rejected", _core_0003_rejected),
    Migration("core_0004_counts_by_bucket", _core_0004_counts_by_bucket),
    Migration("core_0005_ingest_spool", _core_0005_ingest_spool),
]


def migrate(db: sqlite_utils.Database, migrations: Sequence[Migration] = MIGRATIONS) -> list[str]:
    """Apply every migration of `migrations` not yet applied, in order; return the names applied now."""
    names = [migration.name for migration in migrations]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate migration names: {sorted({n for n in names if names.count(n) > 1})}")
    db.execute(
        "CREATE TABLE IF NOT EXISTS _vigie_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
    )
    done = {row[0] for row in db.execute("SELECT name FROM _vigie_migrations").fetchall()}
    applied: list[str] = []
    for migration in migrations:
        if migration.name in done:
            continue
        with db.conn:
            migration.apply(db)
            db.execute(
                "INSERT INTO _vigie_migrations (name, applied_at) VALUES (?, ?)",
                [migration.name, to_iso(utcnow())],
            )
        applied.append(migration.name)
    return applied
