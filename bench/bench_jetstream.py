"""Jetstream throughput: a fake Jetstream (separate process, loopback websocket) replays posts as fast as
it can; the real daemon's Jetstream source filters them by keywords and language and stores the matches
(pipeline: dedupe, language, store with FTS, counters, cursor; classification off). Target ≥ 5,000 posts/s.

Two runs: a realistic one (300,000 posts, one in ten about the city), and a worst case for the store
(100,000 posts, every French one matching), so the figure holds for posts processed and for mentions stored.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import random
import tempfile
import time
from pathlib import Path

# (posts, one post in N mentions the city; the rest is the network's noise)
RUNS = [(300_000, 10), (100_000, 1)]
WORDS = ["tram", "bus", "grève", "travaux", "chantier", "poubelles", "concert", "médiathèque", "école", "cantine", "vélo", "bouchon", "piscine", "marché", "parc", "sécurité", "éclairage", "trottoir", "rue", "quartier", "météo", "match", "film", "chat", "café", "soleil", "pluie"]


def build_frames(count: int, match_every: int) -> list[str]:
    from tests.fakes.jetstream import T0_US, make_post

    rng = random.Random(3)
    frames = []
    for i in range(count):
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 30)))
        text = f"{words} à Rivebelle, la mairie ne répond pas" if i % match_every == 0 else words
        langs = ["fr"] if i % 7 else ["en"]
        frames.append(json.dumps(make_post(i, text, langs=langs, time_us=T0_US + i * 50), ensure_ascii=False))
    return frames


def serve(count: int, match_every: int, port_queue: multiprocessing.Queue) -> None:
    """Child process: the fake Jetstream, so the sender does not share a CPU with the daemon."""
    from tests.fakes.jetstream import FakeJetstream

    async def serve_forever() -> None:
        fake = FakeJetstream(serialized=build_frames(count, match_every))
        await fake.start()
        port_queue.put(fake.port)
        await asyncio.Event().wait()

    asyncio.run(serve_forever())


async def run_once(port: int, db: Path, last_time_us: int) -> dict[str, float]:
    from listener.app import Vigie
    from listener.settings import settings_from_dict
    from tests.fakes.jetstream import T0_US

    settings = settings_from_dict({
        "store": {"path": str(db)},
        "web": {"enabled": False},
        "pipeline": {"classify": False, "watch_keywords": ["mairie", "tram"]},
        "sources": [{
            "name": "jetstream-bench", "type": "jetstream", "url": f"ws://127.0.0.1:{port}/subscribe",
            "keywords": ["Rivebelle", "mairie"], "languages": ["fr"], "batch_size": 1000, "flush_interval": 0.5,
        }],
    })
    app = Vigie(settings, web_enabled=False, deliver=False)
    app.evaluation_steps.clear()  # ingest only: detectors and rules are benchmarked on their own
    app.store.set_cursor("jetstream-bench", str(T0_US - 1))  # replay the whole recording
    started = time.perf_counter()
    await app.start()
    source = app.sources[0]
    while app.store.get_cursor("jetstream-bench") != str(last_time_us):
        await asyncio.sleep(0.05)
        if time.perf_counter() - started > 120:
            raise RuntimeError("benchmark did not finish within 120 s")
    elapsed = time.perf_counter() - started
    stored = app.store.count_mentions()
    posts = source.health.extra["posts"]
    await app.stop()
    return {"elapsed": elapsed, "posts": posts, "stored": stored}


def bench(posts: int, match_every: int) -> None:
    from tests.fakes.jetstream import T0_US

    context = multiprocessing.get_context("spawn")
    ports: multiprocessing.Queue = context.Queue()
    server = context.Process(target=serve, args=(posts, match_every, ports), daemon=True)
    server.start()
    try:
        port = ports.get(timeout=60)
        with tempfile.TemporaryDirectory() as tmp:
            result = asyncio.run(run_once(port, Path(tmp) / "bench.db", T0_US + (posts - 1) * 50))
    finally:
        server.terminate()
        server.join(5)
    expected = len([i for i in range(posts) if i % match_every == 0 and i % 7])
    rate = result["posts"] / result["elapsed"]
    print(f"jetstream (1 post in {match_every} matching): {result['posts']:,} posts received and filtered in "
          f"{result['elapsed']:.2f} s → {rate:,.0f} posts/s (target ≥ 5,000/s); {result['stored']:,} mentions "
          f"stored → {result['stored'] / result['elapsed']:,.0f} mentions/s (keywords + language filter, "
          f"classification off)", flush=True)
    if result["stored"] != expected:
        raise RuntimeError(f"expected {expected} stored mentions, got {result['stored']}")


def main() -> None:
    for posts, match_every in RUNS:
        bench(posts, match_every)


if __name__ == "__main__":
    main()
