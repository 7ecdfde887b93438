"""Tables of incidents: alerts that belong together, their timeline and what each group was last told."""

from __future__ import annotations

import sqlite_utils

from listener.store.migrations import Migration


def _incidents_0001_initial(db: sqlite_utils.Database) -> None:
    db.executescript(
        """
        -- One row per incident. JSON columns: facets (crisis kinds, in the order seen), keys (alert keys),
        -- tags (distinctive hashtags), topics, figures ({"headline": n, "by_key": {...}}), evidence
        -- (mention ids, most telling first), routes (recipient groups).
        CREATE TABLE incidents (
            id INTEGER PRIMARY KEY,
            title TEXT NOT NULL,
            kind TEXT NOT NULL,
            severity TEXT NOT NULL,
            status TEXT NOT NULL,
            opened_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            resolved_at TEXT,
            acked_by TEXT,
            acked_at TEXT,
            silenced_until TEXT,
            critical_since TEXT,
            escalation_level INTEGER NOT NULL DEFAULT 0,
            place TEXT,
            facets TEXT NOT NULL DEFAULT '[]',
            keys TEXT NOT NULL DEFAULT '[]',
            tags TEXT NOT NULL DEFAULT '[]',
            topics TEXT NOT NULL DEFAULT '[]',
            figures TEXT NOT NULL DEFAULT '{}',
            evidence TEXT NOT NULL DEFAULT '[]',
            routes TEXT NOT NULL DEFAULT '[]',
            anchor_alert_id INTEGER
        );
        CREATE INDEX idx_incidents_status ON incidents (status, updated_at);

        -- The timeline: what was seen when (alert raised or updated, severity up, new facet, message
        -- sent or held, acknowledged, resolved), with the figures of that moment.
        CREATE TABLE incident_events (
            id INTEGER PRIMARY KEY,
            incident_id INTEGER NOT NULL REFERENCES incidents(id),
            at TEXT NOT NULL,
            kind TEXT NOT NULL,
            alert_id INTEGER,
            rule TEXT,
            key TEXT,
            severity TEXT,
            route_group TEXT,
            text TEXT NOT NULL DEFAULT '',
            figures TEXT NOT NULL DEFAULT '{}'
        );
        CREATE INDEX idx_incident_events_incident ON incident_events (incident_id, id);

        -- Per incident and recipient group: the last message sent (budget) and whether a change waits.
        CREATE TABLE incident_notices (
            incident_id INTEGER NOT NULL REFERENCES incidents(id),
            route_group TEXT NOT NULL,
            last_sent_at TEXT,
            severity TEXT,
            headline REAL,
            facets TEXT NOT NULL DEFAULT '[]',
            figures TEXT NOT NULL DEFAULT '{}',
            sent INTEGER NOT NULL DEFAULT 0,
            pending TEXT,
            PRIMARY KEY (incident_id, route_group)
        );

        ALTER TABLE alerts ADD COLUMN incident_id INTEGER;
        CREATE INDEX idx_alerts_incident ON alerts (incident_id);
        """
    )


MIGRATIONS = [Migration("incidents_0001_initial", _incidents_0001_initial)]
