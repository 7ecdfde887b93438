"""Ingest throughput: replay → pipeline (dedupe, language, store, counters, cursor) → SQLite,
classification disabled, on 200,000 mentions. Target: ≥ 30,000 mentions/s."""

from __future__ import annotations

import asyncio
import json
import random
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


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "mentions.jsonl"
        write_mentions(data, COUNT)
        elapsed, stored = asyncio.run(run_once(data, Path(tmp) / "bench.db"))
    rate = stored / elapsed
    print(f"ingest: {stored:,} mentions stored in {elapsed:.2f} s → {rate:,.0f} mentions/s "
          f"(target ≥ 30,000/s; classification off; FTS5 index, counters and cursors on)")
    if stored != COUNT:
        raise RuntimeError(f"expected {COUNT} stored mentions, got {stored}")


if __name__ == "__main__":
    main()
