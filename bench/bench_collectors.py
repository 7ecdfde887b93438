"""Collector parsing throughput: each HTTP collector reads 6,000 items from its local fake (loopback,
the API's largest page size) in one poll and hands them over; items/s is counted over the whole poll
(requests, JSON/XML parsing, mapping to mentions, the store's dedupe look-up, the cursor). The fake runs
in a child process, as a remote API would; the rate checked is items per second of the collector's own CPU
time (this process, all threads: feedparser runs in a worker thread), so a slow fake or a busy machine
does not move it. The wall-clock rate is printed too. Target ≥ 5,000 items/s each.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ITEMS = 6_000
TARGET = 5_000
TEXT = "La mairie de Rivebelle annonce des travaux rue de la République, le tram T2 est dévié jusqu'à lundi"


class CountingSink:
    def __init__(self) -> None:
        self.count = 0

    async def put(self, mentions: list, *, source: str, cursor: str | None = None) -> None:
        self.count += len(mentions)


def _setups() -> list[tuple[str, Any, Any]]:
    """(type, fake factory filling ITEMS items, settings builder)."""
    from tests.fakes.bluesky import T0, FakeBluesky
    from tests.fakes.mastodon import FakeMastodon
    from tests.fakes.meta import FakeMeta, at
    from tests.fakes.reddit import FakeReddit
    from tests.fakes.rss import FakeFeeds
    from tests.fakes.x import FakeX
    from tests.fakes.youtube import FakeYoutube

    pages = {"initial_pages": 200, "max_pages": 200, "timeout": 30}

    def mastodon():
        fake = FakeMastodon()
        for i in range(ITEMS):
            fake.add_status(f"{TEXT} {i}", tags=["Rivebelle"], created_at=T0 + timedelta(seconds=i))
        return fake, lambda url: {"type": "mastodon", "base_url": url, "hashtags": ["Rivebelle"], **pages}

    def bluesky():
        fake = FakeBluesky()
        for i in range(ITEMS):
            fake.add_post(f"{TEXT} {i}", at=T0 + timedelta(seconds=i))
        return fake, lambda url: {"type": "bluesky", "base_url": url, "queries": ["Rivebelle"], **pages}

    def reddit(fmt: str):
        def build():
            # The feeds have no paging (100 entries at most): 60 subreddits of 100 posts each.
            fake = FakeReddit()
            subs = ["rivebelle"] if fmt == "json" else [f"quartier{n}" for n in range(ITEMS // 100)]
            for i in range(ITEMS):
                fake.add_post(f"Rivebelle {i}", TEXT, subreddit=subs[i % len(subs)], at=T0 + timedelta(seconds=i))
            return fake, lambda url: {"type": "reddit", "base_url": url, "subreddits": subs, "format": fmt,
                                      "page_size": 100, **pages}
        return build

    def rss():
        fake = FakeFeeds()
        fake.feed("grand.xml")
        for i in range(ITEMS):
            fake.add_item("grand.xml", f"Rivebelle : brève {i}", f"<p>{TEXT}</p>", at=T0 + timedelta(seconds=i))
        return fake, lambda url: {"type": "rss", "feeds": [f"{url}/feeds/grand.xml"], "timeout": 30,
                                  "max_response_bytes": 50_000_000}

    def facebook():
        fake = FakeMeta()
        for i in range(ITEMS):
            fake.fb_post("42", f"{TEXT} {i}", at(i / 60), author=("9", "Habitant"))
        return fake, lambda url: {"type": "facebook", "base_url": url, "page_id": "42", "token_env": "BENCH_TOKEN",
                                  "page_size": 100, "tagged": False, "watched_posts": 0, **pages}

    def instagram():
        fake = FakeMeta()
        for i in range(ITEMS):
            fake.ig_media("/1784/tags", f"{TEXT} {i}", at(i / 60))
        return fake, lambda url: {"type": "instagram", "base_url": url, "ig_user_id": "1784", "page_size": 100,
                                  "token_env": "BENCH_TOKEN", "watched_media": 0, **pages}

    def threads():
        fake = FakeMeta()
        for i in range(ITEMS):
            fake.threads_post("/keyword_search", f"Rivebelle {TEXT} {i}", at(i / 60))
        return fake, lambda url: {"type": "threads", "base_url": url, "queries": ["Rivebelle"], "page_size": 100,
                                  "token_env": "BENCH_TOKEN", "watched_posts": 0, "token_refresh_seconds": 0, **pages}

    def youtube():
        fake = FakeYoutube(key="page-token", daily_quota=1_000_000)
        for i in range(ITEMS):
            fake.add_comment("UCbench", f"{TEXT} {i}", at(i / 60))
        return fake, lambda url: {"type": "youtube", "base_url": url, "key_env": "BENCH_TOKEN",
                                  "channel_id": "UCbench", "daily_quota": 1_000_000, **pages}

    def x():
        fake = FakeX(token="page-token")
        for i in range(ITEMS):
            fake.add_post(f"{TEXT} {i}", at(i / 60), mentions="7", username=f"u{i % 500}")
        return fake, lambda url: {"type": "x", "base_url": url + "/2", "token_env": "BENCH_TOKEN", "user_id": "7",
                                  "monthly_spend_cap": 1_000_000, **pages}

    return [("mastodon", mastodon, None), ("bluesky", bluesky, None), ("reddit (json)", reddit("json"), None),
            ("reddit (rss)", reddit("rss"), None), ("rss", rss, None), ("facebook", facebook, None),
            ("instagram", instagram, None), ("threads", threads, None), ("youtube", youtube, None), ("x", x, None)]


def serve(label: str, ports: multiprocessing.Queue) -> None:
    """Child process: the fake API filled with ITEMS items, until terminated."""
    build = {name: factory for name, factory, _ in _setups()}[label]

    async def run() -> None:
        fake, _ = build()
        async with fake:
            ports.put(fake.url)
            await asyncio.Event().wait()

    asyncio.run(run())


async def run_one(label: str, build: Any, folder: Path, url: str) -> tuple[float, float, int]:
    from listener.clock import Clock
    from listener.metrics import Metrics
    from listener.sources import SourceContext, registry
    from listener.store import Store
    from tests.fakes.fixtures import settings_for

    _, settings = build()
    store = Store(folder / f"{label.split()[0]}-{len(list(folder.iterdir()))}.db")
    config = {"name": "bench", **settings(url)}
    source = registry.create(settings_for(config), SourceContext(store=store, clock=Clock(), metrics=Metrics()))
    sink = CountingSink()
    started, cpu = time.perf_counter(), time.process_time()
    await source.poll_once(sink)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    if source._own_session is not None:
        await source._own_session.close()
    store.close()
    if source.health.last_error:
        raise RuntimeError(f"{label}: {source.health.last_error}")
    return elapsed, cpu, sink.count


def main() -> None:
    os.environ["BENCH_TOKEN"] = "page-token"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        below = []
        context = multiprocessing.get_context("fork")
        for label, build, _ in _setups():
            ports: multiprocessing.Queue = context.Queue()
            child = context.Process(target=serve, args=(label, ports), daemon=True)
            child.start()
            try:
                url = ports.get(timeout=120)
                elapsed, cpu, count = asyncio.run(run_one(label, build, folder, url))
            finally:
                child.terminate()
                child.join(10)
            rate = count / cpu if cpu else float("inf")
            wall = count / elapsed if elapsed else float("inf")
            flag = "ok" if rate >= TARGET and count >= ITEMS * 0.99 else "BELOW TARGET"
            if flag != "ok":
                below.append(label)
            print(f"{label:<14} {count:>6} items: {rate:>8,.0f} items/s of collector CPU ({cpu:5.2f} s), "
                  f"{wall:>7,.0f} items/s wall clock  [{flag}]", flush=True)
        print(f"target: ≥ {TARGET:,} items/s per collector; " + ("all met" if not below else f"missed: {below}"))
        if below:
            raise RuntimeError(f"collectors below {TARGET} items/s: {', '.join(below)}")
