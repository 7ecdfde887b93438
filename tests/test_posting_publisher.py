"""Publishing to Mastodon and Bluesky (fake servers that follow the API docs): right payloads, retries
that never post twice, errors that say what went wrong."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from listener.app import Vigie
from rules import crisis, posting_queue
from rules.publisher import Publisher
from tests.fakes import wait_for
from tests.fakes.bluesky_pds import FakeBlueskyPds
from tests.fakes.mastodon_statuses import FakeMastodonStatuses

T = datetime(2026, 11, 18, 8, 0, tzinfo=UTC)


@pytest.fixture
async def masto():
    async with FakeMastodonStatuses() as server:
        yield server


@pytest.fixture
async def pds():
    async with FakeBlueskyPds() as server:
        yield server


@pytest.fixture
def live(make_settings, masto, pds, monkeypatch):
    monkeypatch.setenv("TEST_MASTO_TOKEN", masto.token)
    monkeypatch.setenv("TEST_BSKY_PASSWORD", pds.password)

    def build(**posting_overrides):
        accounts = {
            "mastodon": {"base_url": masto.url, "token_env": "TEST_MASTO_TOKEN"},
            "bluesky": {"base_url": pds.url, "handle": pds.handle, "app_password_env": "TEST_BSKY_PASSWORD"},
        }
        config = {"mode": "live", "accounts": accounts, "backoff_initial": 60.0, "timeout": 2.0, **posting_overrides}
        return make_settings(pipeline={"classify": False}, rules={"posting": config})

    return build


def add(store, channel: str, category: str = "information", text: str = "Travaux rue Haute : circulation alternée",
        minutes: float = 0) -> int:
    return posting_queue.add_post(store, text=text, channel=channel, category=category,
                            scheduled_at=T + timedelta(minutes=minutes), author="Léa", at=T - timedelta(days=1))


@pytest.fixture
async def publisher_for(store):
    made: list[Publisher] = []

    def build(settings) -> Publisher:
        publisher = Publisher(store, settings)
        made.append(publisher)
        return publisher

    yield build
    for publisher in made:
        await publisher.close()


async def test_approved_crisis_post_reaches_mastodon_and_bluesky_with_the_right_payloads(
        store, live, masto, pds, publisher_for):
    settings = live()
    crisis.enter(store, settings, "crise", "Claire", "Coupure d'eau", T - timedelta(minutes=5))
    m = add(store, "mastodon", text="Distribution d'eau place de la Mairie à 14 h")
    b = add(store, "bluesky", text="Distribution d'eau place de la Mairie à 14 h")
    publisher = publisher_for(settings)
    assert await publisher.publish_due(T) == []  # no approval yet: nothing leaves
    assert masto.created == [] and pds.created == []
    for post_id in (m, b):
        posting_queue.approve(store, settings.rules.posting, post_id, "Claire", T)
    assert sorted(await publisher.publish_due(T + timedelta(minutes=1))) == sorted([m, b])

    [seen] = masto.hits("/api/v1/statuses")
    assert seen.method == "POST"
    assert seen.headers["Authorization"] == f"Bearer {masto.token}"
    assert seen.headers["Idempotency-Key"] == posting_queue.get_post(store, m)["idempotency_key"]
    assert masto.bodies == [{"status": "Distribution d'eau place de la Mairie à 14 h", "visibility": "public",
                             "language": "fr"}]
    mastodon_post = posting_queue.get_post(store, m)
    assert mastodon_post["state"] == "published"
    assert mastodon_post["external_url"] == masto.created[0]["url"]
    assert mastodon_post["published_at"] == "2026-11-18T08:01:00Z"

    [created] = pds.created
    assert created["repo"] == pds.did and created["collection"] == "app.bsky.feed.post"
    assert created["rkey"] == posting_queue.get_post(store, b)["rkey"] and len(created["rkey"]) == 13
    record = created["record"]
    assert record == {"$type": "app.bsky.feed.post", "text": "Distribution d'eau place de la Mairie à 14 h",
                      "createdAt": "2026-11-18T08:01:00.000Z", "langs": ["fr"]}
    [login] = pds.hits("/xrpc/com.atproto.server.createSession")
    assert login.method == "POST"
    bluesky_post = posting_queue.get_post(store, b)
    assert bluesky_post["state"] == "published"
    assert bluesky_post["external_id"] == f"at://{pds.did}/app.bsky.feed.post/{created['rkey']}"
    assert bluesky_post["external_url"].startswith("https://bsky.app/profile/rivebelle.fr/post/")


async def test_lost_answer_is_retried_without_a_second_post(store, live, masto, pds, publisher_for):
    settings = live()
    m = add(store, "mastodon")
    b = add(store, "bluesky")
    masto.drop_answer_once = True
    pds.drop_answer_once = True
    publisher = publisher_for(settings)
    assert await publisher.publish_due(T) == []
    assert len(masto.created) == 1 and len(pds.records) == 1  # they did get it; we could not know
    for post_id in (m, b):
        post = posting_queue.get_post(store, post_id)
        assert post["state"] == "scheduled" and post["last_error"]
        assert post["next_attempt_at"] == "2026-11-18T08:01:00Z"  # backoff_initial 60 s
    assert await publisher.publish_due(T + timedelta(seconds=30)) == []  # not before the retry time
    assert sorted(await publisher.publish_due(T + timedelta(minutes=2))) == sorted([m, b])
    keys = {seen.headers["Idempotency-Key"] for seen in masto.hits("/api/v1/statuses")}
    assert len(masto.hits("/api/v1/statuses")) == 2 and len(keys) == 1
    assert len(masto.created) == 1 and len(pds.records) == 1 and len(pds.created) == 1
    assert posting_queue.get_post(store, m)["external_id"] == masto.created[0]["id"]
    assert posting_queue.get_post(store, b)["state"] == "published"


async def test_restart_in_the_middle_of_a_send_never_doubles(store, live, masto, publisher_for):
    settings = live()
    m = add(store, "mastodon")
    publisher = publisher_for(settings)
    [claimed] = publisher.claim_ready(T)
    assert claimed["id"] == m and posting_queue.get_post(store, m)["state"] == "publishing"
    status_id, _ = await publisher.send(claimed, T)  # sent, then the process dies before recording it …
    assert posting_queue.recover_in_flight(store, T + timedelta(minutes=5)) == 1  # … and starts again
    assert await publisher.publish_due(T + timedelta(minutes=5)) == [m]
    assert await publisher.publish_due(T + timedelta(minutes=6)) == []
    assert len(masto.created) == 1
    assert posting_queue.get_post(store, m)["external_id"] == status_id


@pytest.mark.parametrize("fault", ["429", "503"])
async def test_rate_limits_and_server_errors_are_retried_later(store, live, masto, pds, publisher_for, fault):
    settings = live(backoff_initial=10.0)
    m = add(store, "mastodon")
    b = add(store, "bluesky")
    masto.inject(fault, path="/api/v1/statuses", retry_after=120)
    pds.inject(fault, path="/xrpc/com.atproto.repo.createRecord", retry_after=120)
    publisher = publisher_for(settings)
    assert await publisher.publish_due(T) == []
    for post_id in (m, b):
        post = posting_queue.get_post(store, post_id)
        assert post["state"] == "scheduled" and f"HTTP {fault}" in post["last_error"]
        retry_at = datetime.fromisoformat(post["next_attempt_at"].replace("Z", "+00:00"))
        # a 429 waits what the server asks for; a 503 the backoff (10 s)
        assert retry_at >= T + timedelta(seconds=10)
    assert sorted(await publisher.publish_due(T + timedelta(hours=1))) == sorted([m, b])
    assert len(masto.created) == 1 and len(pds.created) == 1


async def test_refused_credentials_fail_for_good_with_the_reason(store, live, masto, pds, monkeypatch, publisher_for):
    settings = live()
    monkeypatch.setenv("TEST_MASTO_TOKEN", "wrong")
    monkeypatch.setenv("TEST_BSKY_PASSWORD", "wrong")
    m = add(store, "mastodon")
    b = add(store, "bluesky")
    publisher = publisher_for(settings)
    assert await publisher.publish_due(T) == []
    mastodon_post, bluesky_post = posting_queue.get_post(store, m), posting_queue.get_post(store, b)
    assert mastodon_post["state"] == "failed" and "The access token is invalid" in mastodon_post["last_error"]
    assert bluesky_post["state"] == "failed" and "Invalid identifier or password" in bluesky_post["last_error"]
    assert masto.created == [] and pds.created == []
    # Fixed by an operator, the post is released and goes out once.
    monkeypatch.setenv("TEST_MASTO_TOKEN", masto.token)
    posting_queue.release(store, m, "Paul", T + timedelta(minutes=5))
    assert await publisher.publish_due(T + timedelta(minutes=6)) == [m]


async def test_missing_account_is_named(store, make_settings, publisher_for):
    settings = make_settings(rules={"posting": {"mode": "live"}})
    m = add(store, "mastodon")
    await publisher_for(settings).publish_due(T)
    assert "compte Mastodon non configuré" in posting_queue.get_post(store, m)["last_error"]


async def test_expired_bluesky_session_is_renewed_once(store, live, pds, publisher_for):
    settings = live()
    first = add(store, "bluesky", text="Premier message")
    second = add(store, "bluesky", text="Second message", minutes=10)
    publisher = publisher_for(settings)
    assert await publisher.publish_due(T) == [first]
    pds.expire_tokens()
    assert await publisher.publish_due(T + timedelta(minutes=10)) == [second]
    assert pds.sessions == 2 and len(pds.created) == 2


async def test_dry_run_sends_nothing(store, live, masto, pds, publisher_for):
    settings = live(mode="dry-run")
    m = add(store, "mastodon")
    b = add(store, "bluesky")
    assert sorted(await publisher_for(settings).publish_due(T)) == sorted([m, b])
    assert masto.requests == [] and pds.requests == []
    assert {posting_queue.get_post(store, i)["state"] for i in (m, b)} == {"published-dry-run"}


async def test_the_daemon_publishes_live_through_its_component(live, masto, pds, monkeypatch):
    monkeypatch.setenv("VIGIE_API_TOKEN", "tok")
    settings = live(poll_interval=0.05)
    app = Vigie(settings, deliver=True)
    m = add(app.store, "mastodon", minutes=-5)
    joke = add(app.store, "bluesky", category="humour", text="Blague du jour", minutes=-5)
    crisis.enter(app.store, settings, "vigilance", "Claire", "Grève annoncée", T)  # humour held in vigilance
    await app.start()
    try:
        await wait_for(lambda: posting_queue.get_post(app.store, m)["state"] == "published", timeout=30)
        assert posting_queue.get_post(app.store, joke)["state"] == "held"
        assert pds.created == []
        async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{app.web_port}/api/posts",
                                                             headers={"Authorization": "Bearer tok"}) as response:
            body = await response.json()
        assert {p["id"]: p["state"] for p in body["posts"]} == {m: "published", joke: "held"}
        # The web UI shows the CLI's French words, served with the post.
        assert {p["id"]: (p["state_label"], p["category_label"]) for p in body["posts"]}[joke] == ("retenue", "humour")
        health = app.health()["components"]["posting:publisher"]
        assert health["mode"] == "live" and health["published"] == 1
    finally:
        await asyncio.wait_for(app.stop(), 10)
