"""Reddit collector against a fake reddit.com, through the real daemon into the store."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from listener.app import Vigie
from tests.fakes import FAST, wait_for
from tests.fakes.reddit import T0, FakeReddit


@pytest.fixture
async def fake():
    async with FakeReddit() as server:
        yield server


def reddit_settings(make_settings, fake: FakeReddit, **overrides):
    source = {"name": "reddit-rivebelle", "type": "reddit", "base_url": fake.url, "queries": ["Rivebelle"],
              "subreddits": ["r/rivebelle"], "keywords": ["mairie", "tram"], "page_size": 4, **FAST, **overrides}
    return make_settings(pipeline={"classify": False}, sources=[source])


def stored(app: Vigie) -> dict[str, str]:
    return dict(app.store.conn.execute("SELECT external_id, text FROM mentions").fetchall())


async def test_search_and_subreddit_end_to_end(make_settings, fake):
    fake.add_post("Premier message sur Rivebelle", subreddit="france")
    app = Vigie(reddit_settings(make_settings, fake), deliver=False)
    await app.start()
    await wait_for(lambda: len(stored(app)) == 1)
    at = T0 + timedelta(hours=1)
    searched = fake.add_post("Rivebelle : travaux & bouchons", "C'est l'été, les « travaux » reprennent", subreddit="france", at=at)
    local = fake.add_post("La mairie a voté le budget", subreddit="rivebelle", at=at + timedelta(seconds=5))
    noise = fake.add_post("Photo du coucher de soleil", subreddit="rivebelle", at=at + timedelta(seconds=6))
    await wait_for(lambda: {searched["name"], local["name"]} <= set(stored(app)))
    await wait_for(lambda: app.sources[0].health.extra["polls"] >= 4)
    texts = stored(app)
    assert noise["name"] not in texts  # subreddit listings are filtered by keywords
    assert texts[searched["name"]] == "Rivebelle : travaux & bouchons\n\nC'est l'été, les « travaux » reprennent"
    mentions = {m.external_id: m for m in app.store.recent_mentions(10)}
    assert mentions[searched["name"]].matched == ["Rivebelle"]
    assert mentions[local["name"]].matched == ["r/rivebelle", "mairie"]
    assert mentions[local["name"]].url.startswith("https://www.reddit.com/r/rivebelle/comments/")
    assert mentions[local["name"]].author_handle.startswith("u/habitant")
    hits = fake.hits("/")
    assert all(h.headers["User-Agent"].startswith("Vigie/") for h in hits)
    assert all(h.query.get("raw_json") == ["1"] for h in hits)
    cursor = json.loads(app.store.get_cursor("reddit-rivebelle"))
    assert cursor["search:Rivebelle"]["hw"] == searched["created_utc"]
    await app.stop()


async def test_after_pagination_duplicates_and_a_429_storm(make_settings, fake):
    fake.add_post("Rivebelle, le début", subreddit="france")
    app = Vigie(reddit_settings(make_settings, fake, subreddits=[], max_pages=2), deliver=False)
    source = app.sources[0]
    await app.start()
    await wait_for(lambda: len(stored(app)) == 1)
    fake.inject("429", "429", "429", "503", "reset", "malformed", path="/search.json", retry_after=0.05)
    # Out-of-order creation times and the same post seen on two pages are both absorbed.
    burst = [fake.add_post(f"Rivebelle fil {i}", subreddit="france", at=T0 + timedelta(hours=2, seconds=(i * 37) % 19))
             for i in range(19)]
    await wait_for(lambda: {b["name"] for b in burst} <= set(stored(app)), timeout=30)
    assert app.store.count_mentions() == 20
    assert any("after" in h.query for h in fake.hits("/search.json"))
    assert source.health.extra["rate_limited"] >= 3
    await app.stop()


async def test_a_generic_user_agent_is_refused_and_shows_in_health(make_settings, fake):
    app = Vigie(reddit_settings(make_settings, fake, user_agent="python-requests/2.31", max_rate_limited=1, max_retry_after=0.2,
                                subreddits=[]), deliver=False)
    await app.start()
    source = app.sources[0]
    await wait_for(lambda: source.health.consecutive_errors >= 2)
    assert "429" in source.health.last_error
    assert app.health()["components"]["source:reddit-rivebelle"]["state"] in ("degraded", "failing")
    await app.stop()


async def test_public_atom_feeds_without_oauth(make_settings, fake):
    """format = "rss": the public feeds, read with feedparser; the "submitted by" footer is not text."""
    fake.add_post("Rivebelle : la mairie & le tram", "Le « tram » est en panne", subreddit="france")
    app = Vigie(reddit_settings(make_settings, fake, format="rss"), deliver=False)
    await app.start()
    await wait_for(lambda: len(stored(app)) == 1)
    later = fake.add_post("Rivebelle encore", "Toujours la mairie", subreddit="rivebelle", at=T0 + timedelta(hours=2))
    fake.add_post("Coucher de soleil", subreddit="rivebelle", at=T0 + timedelta(hours=2, seconds=5))
    await wait_for(lambda: later["name"] in stored(app))
    source = app.sources[0]
    await wait_for(lambda: source.health.extra["polls"] >= 3)
    mentions = {m.external_id: m for m in app.store.recent_mentions(10)}
    assert set(mentions) == {later["name"], next(i["data"]["name"] for i in fake.items)}
    first = mentions[fake.items[0]["data"]["name"]]
    assert first.text == "Rivebelle : la mairie & le tram\n\nLe « tram » est en panne"
    assert first.author_handle == f"u/{fake.items[0]['data']['author']}"
    assert first.url == "https://www.reddit.com" + fake.items[0]["data"]["permalink"]
    assert first.created_at == T0 + timedelta(seconds=30)
    assert fake.hits("/search.rss") and fake.hits("/r/rivebelle/new/.rss") and not fake.hits("/search.json")
    assert app.store.count_mentions() == 2
    await app.stop()
