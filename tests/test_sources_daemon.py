"""All collectors at once in one real daemon: each against its fake, end to end into the store,
while one API is down (the others are unaffected and /healthz names the broken one)."""

from __future__ import annotations

import asyncio

import aiohttp

from listener.app import Vigie
from tests.fakes import FAST, wait_for
from tests.fakes.bluesky import FakeBluesky
from tests.fakes.jetstream import FakeJetstream, make_post
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.reddit import FakeReddit
from tests.fakes.rss import FakeFeeds
from tests.helpers import mention


async def test_every_collector_end_to_end_with_one_api_down(make_settings, monkeypatch):
    monkeypatch.setenv("TEST_INGEST_TOKEN", "t")
    mastodon, bluesky, jetstream, reddit, feeds = FakeMastodon(), FakeBluesky(), FakeJetstream(), FakeReddit(), FakeFeeds()
    await asyncio.gather(*(f.start() for f in (mastodon, bluesky, jetstream, reddit, feeds)))
    feeds.feed("presse.xml")
    broken = FakeReddit()  # a second Reddit that always fails
    await broken.start()
    broken.inject("500", times=10_000)
    settings = make_settings(
        pipeline={"classify": False},
        web={"ingest_token_env": "TEST_INGEST_TOKEN"},
        sources=[
            {"name": "mastodon-rivebelle", "type": "mastodon", "base_url": mastodon.url, "hashtags": ["rivebelle"], **FAST},
            {"name": "bluesky-rivebelle", "type": "bluesky", "base_url": bluesky.url, "queries": ["Rivebelle"], **FAST},
            {"name": "jetstream-fr", "type": "jetstream", "url": f"ws://127.0.0.1:{jetstream.port}/subscribe",
             "keywords": ["Rivebelle"], "flush_interval": 0.05},
            {"name": "reddit-rivebelle", "type": "reddit", "base_url": reddit.url, "queries": ["Rivebelle"], **FAST},
            {"name": "presse-locale", "type": "rss", "feeds": [f"{feeds.url}/feeds/presse.xml"], **FAST},
            {"name": "reddit-en-panne", "type": "reddit", "base_url": broken.url, "queries": ["Rivebelle"], **FAST},
        ],
    )
    app = Vigie(settings, deliver=False)
    await app.start()
    await wait_for(lambda: len(jetstream.connections) == 1 and all(
        s.health.extra.get("polls", 1) >= 1 for s in app.sources))
    status = mastodon.add_status("Travaux à Rivebelle", tags=["rivebelle"])
    post = bluesky.add_post("Rivebelle sous la neige")
    jetstream.publish(make_post(1, "Bonjour Rivebelle"))
    thread = reddit.add_post("Rivebelle : avis sur le nouveau marché", subreddit="france")
    article = feeds.add_item("presse.xml", "Rivebelle", "<p>Un article</p>")
    batch = [mention(1, source="outil").to_dict()]
    async with aiohttp.ClientSession() as http, http.post(
        f"http://127.0.0.1:{app.web_port}/api/ingest", json=batch, headers={"Authorization": "Bearer t"}
    ) as response:
        assert response.status == 200
    expected = {
        ("mastodon-rivebelle", status["id"]), ("bluesky-rivebelle", post["uri"]),
        ("jetstream-fr", "at://did:plc:user0001/app.bsky.feed.post/3k00000000001"),
        ("reddit-rivebelle", thread["name"]), ("presse-locale", article["guid"]), ("outil", "id-1"),
    }

    def stored() -> set[tuple[str, str]]:
        return set(app.store.conn.execute("SELECT source, external_id FROM mentions").fetchall())

    await wait_for(lambda: expected <= stored(), timeout=30)
    broken_source = next(s for s in app.sources if s.name == "reddit-en-panne")
    await wait_for(lambda: broken_source.health.consecutive_errors >= 3)
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{app.web_port}/healthz") as response:
        assert response.status == 503
        health = await response.json()
    components = health["components"]
    assert components["source:reddit-en-panne"]["state"] == "failing"
    assert "HTTP 500" in components["source:reddit-en-panne"]["last_error"]
    for name in ("mastodon-rivebelle", "bluesky-rivebelle", "jetstream-fr", "reddit-rivebelle", "presse-locale"):
        assert components[f"source:{name}"]["state"] == "ok", name
        assert components[f"source:{name}"]["mentions"] >= 1, name
    await app.stop()
    for fake in (mastodon, bluesky, jetstream, reddit, feeds, broken):
        await fake.close()
