"""Bluesky searchPosts collector against a fake AppView, through the real daemon into the store."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from listener.app import Vigie
from tests.fakes import FAST, wait_for
from tests.fakes.bluesky import T0, FakeBluesky


@pytest.fixture
async def fake():
    async with FakeBluesky() as server:
        yield server


def bluesky_settings(make_settings, fake: FakeBluesky, **overrides):
    source = {"name": "bluesky-rivebelle", "type": "bluesky", "base_url": fake.url,
              "queries": ["Rivebelle", "#tramrivebelle"], "page_size": 5, "overlap_seconds": 60, **FAST, **overrides}
    return make_settings(pipeline={"classify": False}, sources=[source])


def stored(app: Vigie) -> dict[str, str]:
    return dict(app.store.conn.execute("SELECT external_id, text FROM mentions").fetchall())


async def start(settings) -> Vigie:
    app = Vigie(settings, deliver=False)
    await app.start()
    return app


async def test_search_end_to_end(make_settings, fake):
    first = fake.add_post("Bonjour Rivebelle !")
    app = await start(bluesky_settings(make_settings, fake))
    await wait_for(lambda: first["uri"] in stored(app))
    t = T0 + timedelta(minutes=5)
    fr = fake.add_post("La mairie de Rivebelle répond enfin", at=t)
    en = fake.add_post("Rivebelle is lovely", at=t + timedelta(seconds=1), langs=["en"])
    tagged = fake.add_post("Encore une panne du tram", at=t + timedelta(seconds=2), tags=["TramRivebelle"])
    future = fake.add_post("Rivebelle demain", at=t + timedelta(seconds=3), created_at=t + timedelta(days=30))
    # Out of order: created (and so sorted) a little before the last high-water mark, within the overlap.
    late = fake.add_post("Rivebelle, message en retard", at=t + timedelta(seconds=4), created_at=t - timedelta(seconds=30))
    await wait_for(lambda: {fr["uri"], tagged["uri"], future["uri"], late["uri"]} <= set(stored(app)))
    assert en["uri"] not in stored(app)  # lang=fr is asked of the server
    mentions = {m.external_id: m for m in app.store.recent_mentions(20)}
    assert mentions[fr["uri"]].matched == ["Rivebelle"]
    assert mentions[tagged["uri"]].matched == ["#tramrivebelle"]
    assert mentions[fr["uri"]].url == f"https://bsky.app/profile/habitant.bsky.social/post/{fr['uri'].rsplit('/', 1)[1]}"
    assert mentions[fr["uri"]].likes == 5 and mentions[fr["uri"]].reposts == 3
    assert mentions[future["uri"]].created_at == t + timedelta(seconds=3)
    searches = fake.hits("/xrpc/app.bsky.feed.searchPosts")
    assert all(s.query["lang"] == ["fr"] and s.query["sort"] == ["latest"] for s in searches)
    assert any("since" in s.query for s in searches)
    await wait_for(lambda: app.sources[0].health.extra["polls"] >= 5)
    assert app.store.count_mentions() == 5  # re-reads of the overlap were not stored twice
    assert app.sources[0].health.state == "ok"
    await app.stop()


async def test_backlog_resumes_with_the_page_cursor(make_settings, fake):
    fake.add_post("Rivebelle premier")
    app = await start(bluesky_settings(make_settings, fake, queries=["Rivebelle"], max_pages=1))
    await wait_for(lambda: app.store.count_mentions() == 1)
    states = []
    source = app.sources[0]
    original = source.emit

    async def spy(sink, mentions, **updates):
        states.append(json.loads(json.dumps(updates)))
        await original(sink, mentions, **updates)

    source.emit = spy
    burst = [fake.add_post(f"Rivebelle message {i}", at=T0 + timedelta(minutes=10, seconds=i)) for i in range(23)]
    await wait_for(lambda: app.store.count_mentions() == 24)
    assert {p["uri"] for p in burst} <= set(stored(app))
    # One page per poll: the backlog was read across polls from the stored page cursor.
    assert any("resume" in (s.get("q:Rivebelle") or {}) for s in states)
    final = json.loads(app.store.get_cursor("bluesky-rivebelle"))["q:Rivebelle"]
    assert set(final) == {"hw"}
    await app.stop()


async def test_rate_limits_and_errors_do_not_lose_posts(make_settings, fake):
    fake.add_post("Rivebelle au départ")
    app = await start(bluesky_settings(make_settings, fake, queries=["Rivebelle"]))
    source = app.sources[0]
    await wait_for(lambda: app.store.count_mentions() == 1)
    fake.inject("429", "429", "429", "500", "malformed", "truncated", path="/xrpc/")
    posts = [fake.add_post(f"Rivebelle après la tempête {i}", at=T0 + timedelta(minutes=3, seconds=i)) for i in range(12)]
    await wait_for(lambda: {p["uri"] for p in posts} <= set(stored(app)), timeout=30)
    assert source.health.extra["rate_limited"] >= 3 and source.health.extra["retries"] >= 2
    assert app.store.count_mentions() == 13
    await app.stop()


async def test_a_bad_query_shows_in_health_while_the_others_continue(make_settings, fake):
    app = await start(bluesky_settings(make_settings, fake, queries=["Rivebelle"], page_size=5))
    source = app.sources[0]
    await wait_for(lambda: source.health.extra["polls"] >= 1)
    source.settings.queries = ["Rivebelle", " "]  # the AppView answers 400 InvalidRequest for an empty q
    source.matchers[" "] = source.matchers["Rivebelle"]
    post = fake.add_post("Rivebelle continue", at=T0 + timedelta(minutes=1))
    await wait_for(lambda: source.health.consecutive_errors >= 3)
    assert "HTTP 400" in source.health.last_error and "InvalidRequest" in source.health.last_error
    await wait_for(lambda: post["uri"] in stored(app))
    assert app.health()["components"]["source:bluesky-rivebelle"]["state"] == "failing"
    await app.stop()


async def test_authenticated_search_opens_refreshes_and_reopens_its_session(make_settings, fake, monkeypatch):
    """searchPosts needs a session since 2025: createSession once, refreshSession on ExpiredToken, and a
    new session when the refresh token is refused; nothing is lost meanwhile."""
    fake.require_auth = True
    monkeypatch.setenv("TEST_BSKY_PASSWORD", "app-pass-word")
    first = fake.add_post("Rivebelle : premier message")
    app = await start(bluesky_settings(make_settings, fake, identifier="veille.bsky.social",
                                       app_password_env="TEST_BSKY_PASSWORD"))
    source = app.sources[0]
    await wait_for(lambda: first["uri"] in stored(app))
    await wait_for(lambda: source.health.extra["polls"] >= 3)
    assert fake.sessions_created == 1 and source.health.extra["authenticated"] is True
    create = fake.hits("/xrpc/com.atproto.server.createSession")
    assert create[0].method == "POST"
    fake.expire_access()
    second = fake.add_post("Rivebelle : après l'expiration", at=T0 + timedelta(minutes=3))
    await wait_for(lambda: second["uri"] in stored(app))
    assert fake.sessions_refreshed == 1 and fake.sessions_created == 1
    fake.expire_access()
    fake.refresh.clear()  # the refresh token is refused too: a new session is opened
    third = fake.add_post("Rivebelle : nouvelle session", at=T0 + timedelta(minutes=4))
    await wait_for(lambda: third["uri"] in stored(app))
    assert fake.sessions_created == 2
    assert source.health.state == "ok"
    await app.stop()


async def test_search_without_a_session_says_what_is_missing(make_settings, fake):
    fake.require_auth = True
    fake.add_post("Rivebelle")
    app = await start(bluesky_settings(make_settings, fake, auth_retry_seconds=60))
    source = app.sources[0]
    await wait_for(lambda: source.health.extra.get("auth") == "refused")
    assert "AuthMissing" in source.health.last_error
    assert len(fake.hits("/xrpc/app.bsky.feed.searchPosts")) == 1  # paused, not hammering
    await app.stop()
