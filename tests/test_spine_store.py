"""The embedded store on a real SQLite file."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import timedelta

import sqlite_utils

from listener.areas import open_store
from listener.store.migrations import MIGRATIONS
from listener.timeutil import minute_bucket
from tests.helpers import T0, mention


def test_wal_mode_and_every_table_exists(store):
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = set(store.db.table_names())
    for name in ("mentions", "mentions_fts", "cursors", "counts", "signals", "alerts", "outbox",
                 "crisis_state", "crisis_log", "rejected_payloads"):
        assert name in tables


def test_dedupe_across_restarts(tmp_path):
    path = tmp_path / "vigie.db"
    first = open_store(path)
    assert len(first.insert_mentions([mention(i) for i in range(10)])) == 10
    first.close()
    second = open_store(path)
    inserted = second.insert_mentions([mention(i) for i in range(5, 15)])
    assert [m.external_id for m in inserted] == [f"id-{i}" for i in range(10, 15)]
    assert second.count_mentions() == 15
    # Same id from another source is another mention.
    assert len(second.insert_mentions([mention(1, source="bluesky")])) == 1
    second.close()


def test_migrates_an_older_schema_keeping_data(tmp_path):
    path = tmp_path / "old.db"
    db = sqlite_utils.Database(sqlite3.connect(path))
    db.execute("CREATE TABLE _vigie_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    MIGRATIONS[0].apply(db)  # a database made by the first release
    db.execute("INSERT INTO _vigie_migrations VALUES ('core_0001_initial', '2026-01-01T00:00:00Z')")
    db.execute(
        "INSERT INTO mentions (source, external_id, text, created_at, collected_at) "
        "VALUES ('rss', 'a1', 'Travaux rue de la Gare', '2026-11-01T10:00:00Z', '2026-11-01T10:01:00Z')"
    )
    db.execute("INSERT INTO mentions_fts (rowid, text) SELECT id, text FROM mentions")
    db.conn.commit()
    db.conn.close()

    store = open_store(path)
    assert "core_0002_labels" in store.applied_migrations
    columns = {c.name for c in store.db["mentions"].columns}
    assert {"sentiment", "topics", "hostile", "crisis", "labels"} <= columns
    assert [m.text for m in store.search("travaux")] == ["Travaux rue de la Gare"]
    store.close()
    # Opening again applies nothing new.
    assert open_store(path).applied_migrations == []


def test_retention_purge_drops_old_mentions_and_counts(store):
    now = T0 + timedelta(days=100)
    old = [mention(i, at=T0) for i in range(3)]
    fresh = [mention(i, at=now - timedelta(days=1)) for i in range(3, 5)]
    store.insert_mentions(old + fresh)
    store.add_counts({("all", minute_bucket(T0)): 3, ("all", minute_bucket(now - timedelta(days=1))): 2})
    assert store.purge_older_than(90, now=now) == 3
    assert store.count_mentions() == 2
    assert [row[2] for row in store.counts_between(0, 10**9)] == [2]
    assert store.search("tram") and all(m.created_at > T0 for m in store.search("tram"))


def test_search_ignores_accents_and_never_treats_input_as_fts_syntax(store):
    store.insert_mentions([mention(1, text="Grève des éboueurs : les poubelles débordent"),
                           mention(2, text="Concert à la médiathèque ce soir")])
    assert [m.external_id for m in store.search("greve eboueurs")] == ["id-1"]
    assert [m.external_id for m in store.search("MEDIATHEQUE")] == ["id-2"]
    assert store.search('" OR * NEAR(') == []


def test_counts_accumulate_per_key_and_bucket(store):
    bucket = minute_bucket(T0)
    store.add_counts({("topic:transport", bucket): 2})
    store.add_counts({("topic:transport", bucket): 3, ("all", bucket): 1})
    rows = store.counts_between(bucket, bucket + 1, key_prefix="topic:")
    assert rows == [("topic:transport", bucket, 5)]


def test_the_stages_following_the_store_read_mentions_without_their_payload(store):
    """Rules hold a minute of mentions: they are read without `raw` (which they never use); a mention
    shown to a person still has it."""
    first = mention(1)
    first.raw = {"id": "id-1", "content": "<p>Le tram T2 est encore en retard</p>", "account": {"acct": "habitant1"}}
    store.insert_mentions([first, mention(2)])
    followed = store.mentions_stored_after(0, None)
    assert [m.external_id for m in followed] == ["id-1", "id-2"]
    assert all(m.raw is None for m in followed) and followed[0].text == first.text
    newest = store.newest_mentions_between(T0, T0 + timedelta(hours=1), 10, up_to_id=followed[0].id)
    assert [m.external_id for m in newest] == ["id-1"] and newest[0].raw is None
    assert store.get_mentions([followed[0].id])[0].raw == first.raw


def test_sqlite_utils_does_not_drag_pandas_into_vigie_processes() -> None:
    """34 MiB and 0.3 s of start-up per process: pandas stays out, yet importable by whoever wants it."""
    code = ("import sys\nimport listener.store\nimport sqlite_utils.db\nprint('pandas' in sys.modules)\n"
            "import pandas\nprint(sqlite_utils.db.pd is None, pandas.DataFrame is not None)")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.split()
    assert out == ["False", "True", "True"]
