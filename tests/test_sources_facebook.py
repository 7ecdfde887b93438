"""Facebook Page collector against a fake Graph API, through the real daemon into the store."""

from __future__ import annotations

import pytest

from tests import collector_contract as contract
from tests.fakes import FAST, wait_for
from tests.fakes.meta import FakeMeta, at

PAGE = "111222333"


@pytest.fixture
async def fake():
    async with FakeMeta() as server:
        yield server


def fb_settings(make_settings, fake, **overrides):
    source = {"name": "facebook-ville", "type": "facebook", "base_url": fake.url, "page_id": PAGE,
              "token_env": "TEST_FB_TOKEN", "page_size": 3, "comments_days": 36500, **FAST, **overrides}
    return make_settings(pipeline={"classify": False}, sources=[source])


@pytest.fixture
def fb_contract(make_settings, fake, monkeypatch):
    monkeypatch.setenv("TEST_FB_TOKEN", "page-token")

    def add(i: int) -> str:
        return fake.fb_post(PAGE, f"Message numéro {i} d'un habitant sur la Page", at(i), author=("9", "Habitant"))["id"]

    def renew() -> None:
        fake.tokens.add("page-token-2")
        monkeypatch.setenv("TEST_FB_TOKEN", "page-token-2")

    return contract.Contract("facebook-ville", lambda **o: fb_settings(make_settings, fake, **o), add,
                             f"/{PAGE}/feed", lambda: fake.tokens.clear(), renew, fake)


async def test_page_posts_comments_replies_and_tags(make_settings, fake, monkeypatch):
    monkeypatch.setenv("TEST_FB_TOKEN", "page-token")
    own = fake.fb_post(PAGE, "La Ville annonce la fermeture du pont", at(1))
    visitor = fake.fb_post(PAGE, "Le pont est fermé depuis quand ?", at(2), author=("77", "Jeanne Martin"))
    tagged = fake.fb_post(PAGE, "Merci @Ville de Rivebelle pour le feu d'artifice", at(3), author=("78", "Paul"),
                          edge="tagged")
    comments = [fake.fb_comment(own["id"], f"Commentaire {i} sur le pont", at(4 + i)) for i in range(5)]
    reply = fake.fb_comment(own["id"], "Je suis d'accord", at(10), parent=comments[0]["id"])
    answer = fake.fb_comment(own["id"], "La Ville vous répond : réouverture lundi", at(11), author=(PAGE, "Ville"))
    app = await contract.start(fb_settings(make_settings, fake))
    wanted = {visitor["id"], tagged["id"], reply["id"], *(c["id"] for c in comments)}
    await wait_for(lambda: wanted <= set(contract.stored_ids(app, "facebook-ville")), timeout=30)
    ids = set(contract.stored_ids(app, "facebook-ville"))
    assert own["id"] not in ids and answer["id"] not in ids  # the Page's own words are not mentions
    mentions = {m.external_id: m for m in app.store.recent_mentions(50)}
    m = mentions[visitor["id"]]
    assert m.text == "Le pont est fermé depuis quand ?" and m.author_name == "Jeanne Martin"
    assert m.author_handle == "facebook:77" and m.url == visitor["permalink_url"] and m.created_at == at(2)
    assert mentions[reply["id"]].matched == ["facebook:réponse"]
    assert mentions[tagged["id"]].matched == ["facebook:identification"]
    # Paged (page_size 3), documented parameters, the token in the header and never in the URL.
    feed_requests = fake.hits(f"/{PAGE}/feed")
    assert all(r.headers["Authorization"] == "Bearer page-token" and "access_token" not in r.query
               for r in feed_requests)
    comment_requests = fake.hits(f"/{own['id']}/comments")
    assert any("after" in r.query for r in comment_requests)
    assert comment_requests[0].query["filter"] == ["stream"]
    assert comment_requests[0].query["order"] == ["reverse_chronological"]
    assert app.sources[0].health.extra["usage_percent"] == 5
    await app.stop()


async def test_throttling_and_usage_ceiling_pause_without_losing(make_settings, fake, monkeypatch):
    monkeypatch.setenv("TEST_FB_TOKEN", "page-token")
    app = await contract.start(fb_settings(make_settings, fake))
    source = app.sources[0]
    await wait_for(lambda: source.health.extra["polls"] >= 1)
    fake.throttled = 2  # code 80001, estimated_time_to_regain_access 0
    post = fake.fb_post(PAGE, "Pendant la limitation", at(30), author=("9", "Habitant"))
    await wait_for(lambda: post["id"] in contract.stored_ids(app, "facebook-ville"))
    assert source.health.extra["rate_limited"] >= 2
    fake.call_count = 95  # above the 90 % ceiling: the source stops asking until the quota recovers
    fake.regain_minutes = 0
    await wait_for(lambda: source.health.extra["usage_percent"] == 95)
    assert "usage_paused_until" in source.health.extra
    await app.stop()


async def test_paging_and_restart(fb_contract):
    await contract.paging_and_restart(fb_contract)


async def test_faults_lose_nothing(fb_contract):
    await contract.faults(fb_contract)


async def test_token_expiry(fb_contract):
    await contract.token_expiry(fb_contract)
