"""Dashboard API on a store of 1,000,000 mentions (30 days of a big city, a flood on the last morning).

Target (issue 17): GET /api/dashboard answers in ≤ 200 ms median. Measured through the real daemon's web
server on loopback, authenticated with the API token, after one warm-up request (which fills the
detector-band state and starts the trending computation in its worker thread, as a first visit does).
Also printed: the first (cold) request, the key list, a new key added to the chart, an explorer search.

    python -m bench.bench_dashboard [mentions]
"""

from __future__ import annotations

import asyncio
import heapq
import os
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

from classifiers.types import Classification, Label
from listener.app import Vigie
from listener.areas import open_store
from listener.clock import ReplayClock
from listener.models import Mention
from listener.settings import settings_from_dict
from listener.textfold import hashtags

COUNT = 1_000_000
DAYS = 30
END = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)
TARGET_MS = 200.0
TOPICS = ["transport", "proprete", "travaux", "culture", "ecoles", "eau_assainissement", "logement", "securite"]
WORDS = ["tram", "bus", "grève", "travaux", "chantier", "mairie", "poubelles", "concert", "médiathèque", "école",
         "cantine", "vélo", "bouchon", "piscine", "marché", "parc", "sécurité", "éclairage", "trottoir", "quartier"]
TAGS = ["rivebelle", "ligne12", "mairiederivebelle", "sauvonsla12", "marchedenoel", "velorivebelle"]


def build(db: Path, count: int) -> None:
    """Mentions with labels, their full-text index and per-minute counters, written as the pipeline would."""
    rng = random.Random(17)
    store = open_store(db)
    start = END - timedelta(days=DAYS)
    flood_start = END - timedelta(hours=5)
    span = (END - start).total_seconds()
    counts: Counter[tuple[str, int]] = Counter()
    batch: list[Mention] = []
    floods = count // 25  # 4 % of the mentions: the flood, in its last five hours
    regular = count - floods
    # Stored in arrival order (= creation order, as collectors store them): the flood interleaves by time.
    moments = heapq.merge(((start + timedelta(seconds=span * k / regular), False) for k in range(regular)),
                          ((flood_start + timedelta(seconds=5 * 3600 * k / max(floods, 1)), True) for k in range(floods)))
    for i, (at, flood) in enumerate(moments):
        topic = "eau_assainissement" if flood else rng.choice(TOPICS)
        negative = flood or rng.random() < 0.3
        hostile = rng.random() < 0.04
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 16)))
        text = (f"inondation rue des Tanneurs {words} #InondationRivebelle" if flood
                else f"{words} #{rng.choice(TAGS)} #Rivebelle")
        labels = Classification(sentiment="negative" if negative else "neutral", sentiment_score=0.7,
                                topics=[Label(topic, 0.7, [words.split()[0]])], hostile=hostile,
                                crisis=[Label("inondation", 1.0, ["inondation"])] if flood else [])
        mention = Mention(source=rng.choice(("mastodon", "bluesky", "reddit", "rss")), external_id=f"d{i}", text=text,
                          created_at=at, author_handle=f"@habitant{rng.randint(1, 40_000)}",
                          author_followers=int(rng.paretovariate(1.2) * 50), lang="fr", labels=labels)
        batch.append(mention)
        minute = int(at.timestamp() // 60)
        keys = ["all", f"source:{mention.source}", f"topic:{topic}", *(f"hashtag:{t}" for t in hashtags(text))]
        if "mairie" in text:
            keys.append("keyword:mairie")
        if flood:
            keys.append("crisis:inondation")
        if negative:
            keys += ["neg:all", f"neg:topic:{topic}"]
        if hostile:
            keys.append("hostile:all")
        for key in keys:
            counts[(key, minute)] += 1
        if len(batch) == 20_000:
            store.insert_mentions(batch)
            batch = []
    if batch:
        store.insert_mentions(batch)
    store.add_counts(counts)
    with store.transaction():
        for k in range(12):
            moment = (flood_start + timedelta(minutes=20 * k)).strftime("%Y-%m-%dT%H:%M:%SZ")
            store.conn.execute(
                "INSERT INTO alerts (rule, rule_type, key, fingerprint, severity, status, title, created_at, updated_at) "
                "VALUES ('pic', 'spike', 'crisis:inondation', ?, 'critical', 'open', 'Pic de mentions', ?, ?)",
                [f"f{k}", moment, moment])
    store.conn.execute("ANALYZE")
    store.close()


async def measure(db: Path, repeats: int = 30) -> dict[str, float]:
    os.environ["VIGIE_BENCH_API_TOKEN"] = "bench"
    settings = settings_from_dict({"store": {"path": str(db)}, "pipeline": {"classify": False},
                                   "detectors": {"enabled": False}, "rules": {"enabled": False},
                                   "web": {"port": 0, "api_token_env": "VIGIE_BENCH_API_TOKEN"}})
    app = Vigie(settings, deliver=False, clock=ReplayClock(END))
    await app.start()
    base = f"http://127.0.0.1:{app.web_port}"
    results: dict[str, float] = {}
    try:
        async with aiohttp.ClientSession(headers={"Authorization": "Bearer bench"}) as http:
            async def timed(path: str) -> float:
                started = time.perf_counter()
                async with http.get(base + path) as response:
                    await response.read()
                    assert response.status == 200, (path, response.status)
                return (time.perf_counter() - started) * 1000

            dashboard = "/api/dashboard?hours=36&keys=all,crisis:inondation"
            results["dashboard first request (cold)"] = await timed(dashboard)
            # The first complete answer: trending terms and top authors computed in the worker process.
            results["first answer with every panel"] = await timed(dashboard + "&wait=1")
            samples = [await timed(dashboard) for _ in range(repeats)]
            results["dashboard median"] = statistics.median(samples)
            results["dashboard p90"] = sorted(samples)[int(0.9 * len(samples)) - 1]
            results["dashboard 7 days median"] = statistics.median(
                [await timed("/api/dashboard?hours=168&keys=all") for _ in range(5)])
            results["key list"] = statistics.median([await timed("/api/volume/keys?hours=36") for _ in range(5)])
            results["new key on the chart (cold band)"] = await timed("/api/volume?hours=36&keys=all,topic:transport")
            results["explorer search median"] = statistics.median(
                [await timed("/api/explorer?q=inondation+tanneurs&sentiment=negative") for _ in range(5)])
    finally:
        await app.stop()
    return results


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else COUNT
    existing = os.environ.get("VIGIE_BENCH_DASHBOARD_STORE")  # a store built before, to measure again
    if existing:
        results = asyncio.run(measure(Path(existing)))
        for name, value in results.items():
            print(f"  {name:<36} {value:8.1f} ms")
        return
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "vigie.db"
        started = time.perf_counter()
        build(db, count)
        print(f"store: {count:,} mentions over {DAYS} days, built in {time.perf_counter() - started:.0f}s "
              f"({db.stat().st_size / 1e6:.0f} MB)")
        results = asyncio.run(measure(db))
    for name, value in results.items():
        print(f"  {name:<36} {value:8.1f} ms")
    verdict = "OK" if results["dashboard median"] <= TARGET_MS else "ABOVE TARGET"
    print(f"GET /api/dashboard median {results['dashboard median']:.1f} ms (target ≤ {TARGET_MS:.0f} ms): {verdict}")


if __name__ == "__main__":
    main()
