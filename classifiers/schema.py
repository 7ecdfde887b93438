"""Tables of the classifiers area: the team's own topic labels (written by `vigie label`)."""

from __future__ import annotations

import json
from typing import Any

import sqlite_utils

from listener.store.migrations import Migration
from listener.timeutil import to_iso, utcnow


def _classifiers_0001_topic_labels(db: sqlite_utils.Database) -> None:
    """One row per labelled mention: the topics a person said apply ('[]' = none of them).

    Only the mention id is kept, not its text: labels follow the mentions' retention purge, so a
    labelled mention older than the retention period no longer trains the topic model.
    """
    db.execute(
        """
        CREATE TABLE topic_labels (
            mention_id INTEGER PRIMARY KEY,
            topics TEXT NOT NULL DEFAULT '[]',
            labelled_at TEXT NOT NULL,
            labelled_by TEXT
        )
        """
    )


MIGRATIONS = [Migration("classifiers_0001_topic_labels", _classifiers_0001_topic_labels)]


def save_label(store: Any, mention_id: int, topics: list[str], by: str | None = None) -> None:
    """Record (or replace) the topics a person gave one mention."""
    with store.transaction():
        store.conn.execute(
            "INSERT OR REPLACE INTO topic_labels (mention_id, topics, labelled_at, labelled_by) VALUES (?, ?, ?, ?)",
            (mention_id, json.dumps(topics, ensure_ascii=False), to_iso(utcnow()), by),
        )
