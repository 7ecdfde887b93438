"""Instagram collector against a fake Instagram Graph API, through the real daemon into the store."""

from __future__ import annotations

import pytest

from tests import collector_contract as contract
from tests.fakes import FAST, wait_for
from tests.fakes.meta import FakeMeta, at

USER = "17841400000000001"


@pytest.fixture
async def fake():
    async with FakeMeta(token="ig-token") as server:
        yield server


def ig_settings(make_settings, fake, **overrides):
    source = {"name": "instagram-ville", "type": "instagram", "base_url": fake.url, "ig_user_id": USER,
              "token_env": "TEST_IG_TOKEN", "page_size": 3, **FAST, **overrides}
    return make_settings(pipeline={"classify": False}, sources=[source])


@pytest.fixture
def ig_contract(make_settings, fake, monkeypatch):
    monkeypatch.setenv("TEST_IG_TOKEN", "ig-token")

    def add(i: int) -> str:
        return fake.ig_media(f"/{USER}/tags", f"Photo {i} de la fête de quartier avec la mairie", at(i))["id"]

    def renew() -> None:
        fake.tokens.add("ig-token-2")
        monkeypatch.setenv("TEST_IG_TOKEN", "ig-token-2")

    return contract.Contract("instagram-ville", lambda **o: ig_settings(make_settings, fake, watched_media=0, **o),
                             add, f"/{USER}/tags", lambda: fake.tokens.clear(), renew, fake)


async def test_comments_replies_tags_and_hashtags(make_settings, fake, monkeypatch):
    monkeypatch.setenv("TEST_IG_TOKEN", "ig-token")
    post = fake.ig_media(f"/{USER}/media", "Inauguration de la médiathèque", at(1), username="ville_rivebelle")
    reply = {"id": "1791", "text": "Moi aussi je veux savoir", "timestamp": "2026-11-17T08:09:00+0000",
             "username": "paul"}
    own = {"id": "1792", "text": "Ouvert de 10 h à 18 h", "timestamp": "2026-11-17T08:10:00+0000",
           "username": "ville_rivebelle"}
    comments = [fake.ig_comment(post["id"], f"Bravo pour la médiathèque {i}", at(2 + i)) for i in range(4)]
    with_reply = fake.ig_comment(post["id"], "Horaires le dimanche ?", at(8), replies=[reply, own])
    tagged = fake.ig_media(f"/{USER}/tags", "Avec @ville_rivebelle au marché", at(3), username="marie")
    fake.hashtags["rivebelle"] = "17843000000000001"
    tagged_media = fake.ig_media("/17843000000000001/recent_media", "Coucher de soleil #rivebelle", at(4), username=None)
    app = await contract.start(ig_settings(make_settings, fake, hashtags=["Rivebelle"]))
    wanted = {with_reply["id"], reply["id"], tagged["id"], tagged_media["id"], *(c["id"] for c in comments)}
    await wait_for(lambda: wanted <= set(contract.stored_ids(app, "instagram-ville")), timeout=30)
    mentions = {m.external_id: m for m in app.store.recent_mentions(50)}
    assert own["id"] not in mentions
    assert mentions[with_reply["id"]].author_handle == "@habitante" and mentions[with_reply["id"]].created_at == at(8)
    assert mentions[reply["id"]].matched == ["instagram:réponse"]
    assert mentions[reply["id"]].url == post["permalink"] and mentions[tagged["id"]].url == tagged["permalink"]
    assert mentions[tagged_media["id"]].author_handle is None and mentions[tagged_media["id"]].matched == ["#rivebelle"]
    search = fake.hits("/ig_hashtag_search")
    assert len(search) == 1 and search[0].query["user_id"] == [USER] and search[0].query["q"] == ["rivebelle"]
    assert all(r.query.get("user_id") == [USER] for r in fake.hits("/17843000000000001/recent_media"))
    budget = app.sources[0].health.extra["hashtag_budget"]
    assert budget == {"used": 1, "limit": 30, "window_days": 7, "waiting": []}
    await app.stop()


async def test_hashtag_budget_is_never_exceeded_and_survives_a_restart(make_settings, fake, monkeypatch):
    monkeypatch.setenv("TEST_IG_TOKEN", "ig-token")
    settings = ig_settings(make_settings, fake, hashtags=["a", "b", "c"], hashtag_budget=2, watched_media=0,
                           tagged=False)
    app = await contract.start(settings)
    source = app.sources[0]
    await wait_for(lambda: source.health.extra["polls"] >= 3)
    assert source.health.extra["hashtag_budget"] == {"used": 2, "limit": 2, "window_days": 7, "waiting": ["c"]}
    assert sorted(r.query["q"][0] for r in fake.hits("/ig_hashtag_search")) == ["a", "b"]
    await app.stop()
    again = await contract.start(settings)
    await wait_for(lambda: again.sources[0].health.extra["polls"] >= 3)
    assert sorted(r.query["q"][0] for r in fake.hits("/ig_hashtag_search")) == ["a", "b"]  # ids kept, no re-query
    assert again.sources[0].health.extra["hashtag_budget"]["waiting"] == ["c"]
    await again.stop()


async def test_platform_hashtag_limit_answer_is_a_quota_not_a_retry_loop(make_settings, fake, monkeypatch):
    monkeypatch.setenv("TEST_IG_TOKEN", "ig-token")
    fake.hashtag_queries = {f"other{i}": 1e12 for i in range(30)}  # 30 already queried by another tool
    app = await contract.start(ig_settings(make_settings, fake, hashtags=["rivebelle"], watched_media=0,
                                           tagged=False))
    source = app.sources[0]
    await wait_for(lambda: source.health.extra["polls"] >= 3)
    assert "30 hashtags per 7 days" in (source.health.last_error or "")
    assert source.health.extra["retries"] == 0 and source.health.extra["rate_limited"] == 0  # final, not retried
    assert len(fake.hits("/ig_hashtag_search")) <= source.health.extra["polls"]
    await app.stop()


async def test_paging_and_restart(ig_contract):
    await contract.paging_and_restart(ig_contract)


async def test_faults_lose_nothing(ig_contract):
    await contract.faults(ig_contract)


async def test_token_expiry(ig_contract):
    await contract.token_expiry(ig_contract)
