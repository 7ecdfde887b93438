"""Ingest throughput: replay → pipeline (dedupe, language, store, counters, cursor) → SQLite,
classification disabled, on 200,000 mentions. Target: ≥ 30,000 mentions/s.

Beside it, in the same run and on the same file, the floor any design pays: a raw sqlite3 insert of
similar rows (same columns, unique (source, external_id), FTS5 index, same batch size, one commit
per batch, same pragmas). Target: Vigie ≥ 0.35 of that raw rate."""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from listener.app import Vigie
from listener.clock import ReplayClock
from listener.settings import settings_from_dict

COUNT = 200_000
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
        "sources": [{"name": "bench", "type": "replay", "path": str(data), "batch_size": 1000}],
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


RAW_SCHEMA = """
CREATE TABLE mentions (id INTEGER PRIMARY KEY, source TEXT NOT NULL, external_id TEXT NOT NULL, url TEXT,
  author_handle TEXT, author_name TEXT, author_followers INTEGER, text TEXT NOT NULL, lang TEXT,
  created_at TEXT NOT NULL, collected_at TEXT NOT NULL, likes INTEGER, reposts INTEGER, replies INTEGER,
  matched TEXT, raw TEXT, UNIQUE (source, external_id));
CREATE INDEX idx_created ON mentions (created_at);
CREATE VIRTUAL TABLE mentions_fts USING fts5 (text, author_handle, content='mentions', content_rowid='id');
"""


def raw_sqlite(data: Path, db: Path, batch_size: int = 1000) -> tuple[float, int]:
    """The same file parsed and inserted with plain sqlite3: the rate no design on SQLite can beat."""
    conn = sqlite3.connect(db, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "cache_size=-65536", "temp_store=MEMORY"):
        conn.execute(f"PRAGMA {pragma}")
    conn.executescript(RAW_SCHEMA)
    insert = ("INSERT OR IGNORE INTO mentions (source, external_id, url, author_handle, author_name, author_followers, "
              "text, lang, created_at, collected_at, likes, reposts, replies, matched, raw) "
              "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
    started = time.perf_counter()
    rows: list[tuple] = []

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
            item = json.loads(line)
            rows.append((item["source"], item["external_id"], item.get("url"), item.get("author_handle"),
                         item.get("author_name"), item.get("author_followers"), item["text"], item.get("lang"),
                         item["created_at"], item["created_at"], item.get("likes", 0), 0, 0, "[]", None))
            if len(rows) >= batch_size:
                flush()
    if rows:
        flush()
    elapsed = time.perf_counter() - started
    stored = conn.execute("SELECT count(*) FROM mentions").fetchone()[0]
    conn.close()
    return elapsed, stored


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "mentions.jsonl"
        write_mentions(data, COUNT)
        raw_elapsed, raw_stored = raw_sqlite(data, Path(tmp) / "raw.db")
        elapsed, stored = asyncio.run(run_once(data, Path(tmp) / "bench.db"))
    rate = stored / elapsed
    raw_rate = raw_stored / raw_elapsed
    print(f"ingest: {stored:,} mentions stored in {elapsed:.2f} s → {rate:,.0f} mentions/s "
          f"(target ≥ 30,000/s; classification off; FTS5 index, counters and cursors on)")
    print(f"raw sqlite3 + FTS5 insert of the same rows, same run: {raw_rate:,.0f} rows/s → "
          f"Vigie at {rate / raw_rate:.2f} of raw (target ≥ 0.35)")
    if stored != COUNT:
        raise RuntimeError(f"expected {COUNT} stored mentions, got {stored}")


if __name__ == "__main__":
    main()
