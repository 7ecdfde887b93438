"""Threads collector against a fake Threads API, through the real daemon into the store."""

from __future__ import annotations

import pytest

from tests import collector_contract as contract
from tests.fakes import FAST, wait_for
from tests.fakes.meta import FakeMeta, at


@pytest.fixture
async def fake():
    async with FakeMeta(token="th-token") as server:
        yield server


def th_settings(make_settings, fake, **overrides):
    source = {"name": "threads-ville", "type": "threads", "base_url": fake.url, "token_env": "TEST_TH_TOKEN",
              "queries": ["Rivebelle"], "page_size": 3, "token_refresh_seconds": 0, **FAST, **overrides}
    return make_settings(pipeline={"classify": False}, sources=[source])


@pytest.fixture
def th_contract(make_settings, fake, monkeypatch):
    monkeypatch.setenv("TEST_TH_TOKEN", "th-token")

    def add(i: int) -> str:
        return fake.threads_post("/keyword_search", f"Rivebelle, fil numéro {i} sur le marché", at(i))["id"]

    def renew() -> None:
        fake.tokens.add("th-token-2")
        monkeypatch.setenv("TEST_TH_TOKEN", "th-token-2")

    return contract.Contract("threads-ville", lambda **o: th_settings(make_settings, fake, watched_posts=0, **o), add,
                             "/keyword_search", lambda: fake.tokens.clear(), renew, fake)


async def test_search_and_replies_end_to_end(make_settings, fake, monkeypatch):
    monkeypatch.setenv("TEST_TH_TOKEN", "th-token")
    found = [fake.threads_post("/keyword_search", f"Rivebelle : marché de Noël {i}", at(i)) for i in range(5)]
    fake.threads_post("/keyword_search", "Autre chose", at(6))
    post = fake.threads_post("/me/threads", "La Ville vous souhaite de bonnes fêtes", at(7), username="ville")
    replies = [fake.threads_post(f"/{post['id']}/conversation", f"Merci {i} !", at(8 + i)) for i in range(4)]
    own = fake.threads_post(f"/{post['id']}/conversation", "Avec plaisir", at(13), username="ville")
    app = await contract.start(th_settings(make_settings, fake, initial_pages=3))
    wanted = {*(f["id"] for f in found), *(r["id"] for r in replies)}
    await wait_for(lambda: wanted <= set(contract.stored_ids(app, "threads-ville")), timeout=30)
    assert own["id"] not in contract.stored_ids(app, "threads-ville")
    m = {m.external_id: m for m in app.store.recent_mentions(50)}[found[0]["id"]]
    assert m.author_handle == "@habitant" and m.url == found[0]["permalink"] and m.created_at == at(0)
    assert m.matched == ["Rivebelle"]
    # Wait for the resumed search request itself: the poll counter can move before that request reaches the fake.
    await wait_for(lambda: any("since" in r.query for r in fake.hits("/keyword_search")[1:]), timeout=30)
    search = fake.hits("/keyword_search")
    assert search[0].query["search_type"] == ["RECENT"] and search[0].query["q"] == ["Rivebelle"]
    assert any("after" in r.query for r in search)
    await app.stop()


async def test_daily_query_budget_is_never_exceeded_and_empty_queries_are_free(make_settings, fake, monkeypatch):
    monkeypatch.setenv("TEST_TH_TOKEN", "th-token")
    fake.threads_post("/keyword_search", "Rivebelle en fête", at(1))
    settings = th_settings(make_settings, fake, queries=["Rivebelle", "introuvable"], daily_query_budget=3,
                           watched_posts=0)
    app = await contract.start(settings)
    source = app.sources[0]
    await wait_for(lambda: source.health.extra["search_budget"]["exhausted"], timeout=30)
    counted = [r for r in fake.hits("/keyword_search") if r.query["q"] == ["Rivebelle"]]
    assert len(counted) == 3 and source.health.extra["search_budget"]["used"] == 3
    polls = source.health.extra["polls"]
    await wait_for(lambda: source.health.extra["polls"] >= polls + 3)
    assert len([r for r in fake.hits("/keyword_search") if r.query["q"] == ["Rivebelle"]]) == 3
    assert len(fake.hits("/keyword_search")) > 3  # "introuvable" finds nothing and stays free... until the cap
    await app.stop()
    again = await contract.start(settings)  # the counted queries are in the cursor: still spent after a restart
    await wait_for(lambda: again.sources[0].health.extra["polls"] >= 3)
    assert len([r for r in fake.hits("/keyword_search") if r.query["q"] == ["Rivebelle"]]) == 3
    assert again.sources[0].health.extra["search_budget"]["used"] == 3
    await again.stop()


async def test_long_lived_token_is_renewed(make_settings, fake, monkeypatch):
    monkeypatch.setenv("TEST_TH_TOKEN", "th-token")
    app = await contract.start(th_settings(make_settings, fake, token_refresh_seconds=3600, watched_posts=0))
    await wait_for(lambda: fake.refreshed == ["th-token-r1"])
    fake.tokens.discard("th-token")  # the old token may now expire: the renewed one is in use
    post = fake.threads_post("/keyword_search", "Rivebelle après le renouvellement", at(40))
    await wait_for(lambda: post["id"] in contract.stored_ids(app, "threads-ville"))
    assert fake.requests[-1].headers["Authorization"] == "Bearer th-token-r1"
    await app.stop()


async def test_paging_and_restart(th_contract):
    await contract.paging_and_restart(th_contract)


async def test_faults_lose_nothing(th_contract):
    await contract.faults(th_contract)


async def test_token_expiry(th_contract):
    await contract.token_expiry(th_contract)
