"""Ingest throughput: replay → pipeline (validation, dedupe, language, store, counters, cursor) → SQLite,
classification disabled, on 200,000 mentions. Target: ≥ 30,000 mentions/s.

Beside it, in the same run and on the same file, the floor any design on SQLite pays: a competent raw
sqlite3 insert of the same rows. Like with like: the same parser (orjson, as the replay source uses),
the same table (the store's own columns and values, unique (source, external_id), created_at index),
the same FTS5 index (external content, `unicode61 remove_diacritics 2`, filled per batch), the same
batch size, one commit per batch, the same pragmas (WAL, synchronous=NORMAL, 64 MB cache, checkpoint
every 10,000 pages). What the raw insert does not do is what Vigie adds: per-item validation, dedupe,
language, counters, cursor. Target: Vigie ≥ 0.35 of the raw rate.

The machine is shared, so the two are run in A-B-B-A order and each rate is the total of its two runs."""

from __future__ import annotations

import asyncio
import json
import os
import random
import sqlite3
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from listener.app import Vigie
from listener.clock import ReplayClock
from listener.settings import settings_from_dict

COUNT = 200_000
BATCH = 1000
WORDS = ["tram", "bus", "grève", "travaux", "chantier", "mairie", "poubelles", "concert", "médiathèque", "école", "cantine", "vélo", "bouchon", "piscine", "marché", "parc", "sécurité", "éclairage", "trottoir", "rue", "quartier"]


def write_mentions(path: Path, count: int) -> None:
    rng = random.Random(7)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    with path.open("w", encoding="utf-8") as handle:
        for i in range(count):
            text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 20)))
            item = {
                "source": rng.choice(("mastodon", "bluesky", "reddit", "rss")),
                "external_id": f"b{i}",
                "url": f"https://example.org/p/{i}",
                "author_handle": f"@user{rng.randint(1, 5000)}",
                "text": f"{text} #Rivebelle #{rng.choice(WORDS)}",
                "lang": "fr",
                "created_at": (start + timedelta(seconds=i * 2)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "likes": rng.randint(0, 50),
            }
            handle.write(json.dumps(item, ensure_ascii=False) + "\n")


async def run_once(data: Path, db: Path) -> tuple[float, int]:
    settings = settings_from_dict({
        "store": {"path": str(db)},
        "web": {"enabled": False},
        "pipeline": {"classify": False, "watch_keywords": ["mairie", "tram"]},
        "sources": [{"name": "bench", "type": "replay", "path": str(data), "batch_size": BATCH}],
    })
    app = Vigie(settings, clock=ReplayClock(), web_enabled=False)
    app.evaluation_steps.clear()  # ingest only: detectors and rules are benchmarked on their own
    started = time.perf_counter()
    await app.start()
    await app.wait_for_sources()
    await app.stop_sources()
    await app.drain_pipeline(timeout=600)
    elapsed = time.perf_counter() - started
    stored = app.store.count_mentions()
    await app.stop()
    return elapsed, stored


# The store's mentions table as its migrations leave it (core_0001 + core_0002), written out by hand;
# `same_schema` checks after the run that the two did not drift apart.
RAW_SCHEMA = """
CREATE TABLE mentions (id INTEGER PRIMARY KEY, source TEXT NOT NULL, external_id TEXT NOT NULL, url TEXT,
  author_handle TEXT, author_name TEXT, author_followers INTEGER, text TEXT NOT NULL, lang TEXT,
  created_at TEXT NOT NULL, collected_at TEXT NOT NULL, likes INTEGER NOT NULL DEFAULT 0,
  reposts INTEGER NOT NULL DEFAULT 0, replies INTEGER NOT NULL DEFAULT 0, matched TEXT NOT NULL DEFAULT '[]',
  raw TEXT, sentiment TEXT, sentiment_score REAL, topics TEXT NOT NULL DEFAULT '[]',
  hostile INTEGER NOT NULL DEFAULT 0, crisis TEXT NOT NULL DEFAULT '[]', labels TEXT);
CREATE UNIQUE INDEX idx_mentions_source_external ON mentions (source, external_id);
CREATE INDEX idx_mentions_created_at ON mentions (created_at);
CREATE VIRTUAL TABLE mentions_fts USING fts5 (text, author_handle, content='mentions', content_rowid='id',
  tokenize='unicode61 remove_diacritics 2');
"""
RAW_PRAGMAS = ("journal_mode=WAL", "synchronous=NORMAL", "cache_size=-16384", "temp_store=MEMORY",
               "wal_autocheckpoint=10000")


def raw_sqlite(data: Path, db: Path, batch_size: int = BATCH) -> tuple[float, int]:
    """The same file parsed and inserted with plain sqlite3: the rate no design on SQLite can beat."""
    conn = sqlite3.connect(db, isolation_level=None)
    for pragma in RAW_PRAGMAS:
        conn.execute(f"PRAGMA {pragma}")
    conn.executescript(RAW_SCHEMA)
    insert = ("INSERT OR IGNORE INTO mentions (source, external_id, url, author_handle, author_name, author_followers, "
              "text, lang, created_at, collected_at, likes, reposts, replies, matched, raw, sentiment, "
              "sentiment_score, topics, hostile, crisis, labels) "
              "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
    started = time.perf_counter()
    rows: list[tuple] = []
    collected = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def flush() -> None:
        conn.execute("BEGIN IMMEDIATE")
        before = conn.execute("SELECT coalesce(max(id), 0) FROM mentions").fetchone()[0]
        conn.executemany(insert, rows)
        conn.execute("INSERT INTO mentions_fts (rowid, text, author_handle) "
                     "SELECT id, text, author_handle FROM mentions WHERE id > ?", [before])
        conn.execute("COMMIT")
        rows.clear()

    with data.open("rb") as handle:
        for line in handle:
            item = orjson.loads(line)
            rows.append((item["source"], item["external_id"], item.get("url"), item.get("author_handle"),
                         item.get("author_name"), item.get("author_followers"), item["text"], item.get("lang"),
                         item["created_at"], collected, item.get("likes", 0), 0, 0, "[]", None, None, None,
                         "[]", 0, "[]", None))
            if len(rows) >= batch_size:
                flush()
    if rows:
        flush()
    elapsed = time.perf_counter() - started
    stored = conn.execute("SELECT count(*) FROM mentions").fetchone()[0]
    conn.close()
    return elapsed, stored


def _shape(db: Path) -> tuple[list[tuple], str, list[tuple]]:
    """Columns of mentions, the FTS table's definition, and the indexes of mentions."""
    conn = sqlite3.connect(db)
    try:
        columns = [tuple(row[1:]) for row in conn.execute("PRAGMA table_info(mentions)")]
        fts = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'mentions_fts'").fetchone()[0]
        indexes = sorted((row[1], row[2]) for row in conn.execute("PRAGMA index_list(mentions)"))
    finally:
        conn.close()
    return columns, " ".join(fts.split()).lower(), indexes


def same_schema(raw_db: Path, vigie_db: Path) -> None:
    raw, vigie = _shape(raw_db), _shape(vigie_db)
    if raw[0] != vigie[0] or raw[2] != vigie[2]:
        raise RuntimeError(f"raw table differs from the store's: {raw[0]}, {raw[2]} != {vigie[0]}, {vigie[2]}")
    raw_fts, vigie_fts = (sql.replace("'", "").replace('"', "") for sql in (raw[1], vigie[1]))
    for needle in ("fts5", "text", "author_handle", "content=mentions", "tokenize=unicode61 remove_diacritics 2"):
        if needle not in raw_fts or needle not in vigie_fts:
            raise RuntimeError(f"FTS tables differ: {raw[1]} / {vigie[1]}")


def main() -> None:
    vigie_time = raw_time = 0.0
    vigie_rows = raw_rows = 0
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "mentions.jsonl"
        write_mentions(data, COUNT)
        for run, kind in enumerate(("raw", "vigie", "vigie", "raw")):
            db = Path(tmp) / f"{kind}{run}.db"
            if kind == "raw":
                elapsed, stored = raw_sqlite(data, db)
                raw_time, raw_rows = raw_time + elapsed, raw_rows + stored
            else:
                elapsed, stored = asyncio.run(run_once(data, db))
                vigie_time, vigie_rows = vigie_time + elapsed, vigie_rows + stored
                if stored != COUNT:
                    raise RuntimeError(f"expected {COUNT} stored mentions, got {stored}")
            print(f"  {kind:5s} run: {stored / elapsed:,.0f}/s ({elapsed:.2f} s), load average {os.getloadavg()[0]:.1f}")
        same_schema(Path(tmp) / "raw0.db", Path(tmp) / "vigie1.db")
    rate = vigie_rows / vigie_time
    raw_rate = raw_rows / raw_time
    print(f"ingest: {COUNT:,} mentions stored, {rate:,.0f} mentions/s over 2 runs "
          f"(target ≥ 30,000/s; classification off; validation, FTS5 index, counters and cursors on)")
    print(f"raw sqlite3 + FTS5 insert of the same rows (same parser, table, FTS5 tokenizer, batches, pragmas), "
          f"same run: {raw_rate:,.0f} rows/s → Vigie at {rate / raw_rate:.2f} of raw (target ≥ 0.35)")


if __name__ == "__main__":
    main()
