"""X collector against a fake X API v2, through the real daemon into the store."""

from __future__ import annotations

import pytest

from tests import collector_contract as contract
from tests.fakes import FAST, wait_for
from tests.fakes.x import FakeX, at

ACCOUNT = "987654321"


@pytest.fixture
async def fake():
    async with FakeX() as server:
        yield server


def x_settings(make_settings, fake, **overrides):
    source = {"name": "x-ville", "type": "x", "base_url": fake.url + "/2", "token_env": "TEST_X_TOKEN",
              "user_id": ACCOUNT, "page_size": 5, **FAST, **overrides}
    return make_settings(pipeline={"classify": False}, sources=[source])


@pytest.fixture
def x_contract(make_settings, fake, monkeypatch):
    monkeypatch.setenv("TEST_X_TOKEN", "x-token")

    def add(i: int) -> str:
        return fake.add_post(f"@VilleRivebelle la rue {i} est inondée", at(i), mentions=ACCOUNT)["id"]

    def renew() -> None:
        fake.tokens.add("x-token-2")
        monkeypatch.setenv("TEST_X_TOKEN", "x-token-2")

    return contract.Contract("x-ville", lambda **o: x_settings(make_settings, fake, **o), add,
                             f"/2/users/{ACCOUNT}/mentions", lambda: fake.tokens.clear(), renew, fake)


async def test_mentions_and_search_end_to_end(make_settings, fake, monkeypatch):
    monkeypatch.setenv("TEST_X_TOKEN", "x-token")
    mention = [fake.add_post(f"@VilleRivebelle question {i}", at(i), mentions=ACCOUNT, username="jeanne")
               for i in range(7)]
    found = fake.add_post("Rivebelle sous la neige", at(8), username="meteo")
    fake.add_post("Rien à voir", at(9))
    app = await contract.start(x_settings(make_settings, fake, queries=['"Rivebelle" lang:fr'], page_size=10,
                                          initial_pages=2))
    wanted = {found["id"], *(m["id"] for m in mention)}
    await wait_for(lambda: wanted <= set(contract.stored_ids(app, "x-ville")), timeout=30)
    stored = {m.external_id: m for m in app.store.recent_mentions(50)}
    m = stored[found["id"]]
    assert m.author_handle == "@meteo" and m.url == f"https://x.com/meteo/status/{found['id']}"
    assert m.created_at == at(8) and m.lang == "fr" and m.author_followers == 120 and m.likes == 3
    assert stored[mention[0]["id"]].matched == ["@mention"]
    # A later poll asks only for what is newer than the newest mention stored (the poll counter can move
    # before that poll's request reaches the fake, so wait for the request itself).
    def resumed() -> list:
        return [hit for hit in fake.hits(f"/2/users/{ACCOUNT}/mentions") if "since_id" in hit.query]
    await wait_for(lambda: resumed(), timeout=30)
    later = resumed()[0]
    assert later.query["since_id"] == [mention[-1]["id"]] and later.query["expansions"] == ["author_id"]
    spend = app.sources[0].health.extra["spend"]
    assert spend["spent_usd"] == pytest.approx(fake.billed) and spend["cap_usd"] == 20.0
    await app.stop()


async def test_monthly_spend_cap_is_never_exceeded_even_across_restarts(make_settings, fake, monkeypatch):
    monkeypatch.setenv("TEST_X_TOKEN", "x-token")
    cap = 0.2  # 13 posts with their authors at 0.015 each
    for i in range(40):
        fake.add_post(f"@VilleRivebelle message {i}", at(i), mentions=ACCOUNT, username=f"u{i}")
    settings = x_settings(make_settings, fake, page_size=5, monthly_spend_cap=cap, initial_pages=10, max_pages=10)
    app = await contract.start(settings)
    source = app.sources[0]
    await wait_for(lambda: source.health.extra["spend"]["capped"], timeout=30)
    assert fake.billed <= cap + 1e-9 and source.health.extra["spend"]["spent_usd"] <= cap
    await app.stop()
    for i in range(40, 50):
        fake.add_post(f"@VilleRivebelle nouveau {i}", at(i), mentions=ACCOUNT, username=f"u{i}")
    again = await contract.start(settings)
    await wait_for(lambda: again.sources[0].health.extra["polls"] >= 3)
    assert fake.billed <= cap + 1e-9  # the month's spend was stored with the posts
    assert again.sources[0].health.extra["spend"]["capped"]
    assert len(contract.stored_ids(again, "x-ville")) == round(fake.billed / 0.015)
    await again.stop()


async def test_paging_and_restart(x_contract):
    await contract.paging_and_restart(x_contract)


async def test_faults_lose_nothing(x_contract):
    await contract.faults(x_contract)


async def test_token_expiry(x_contract):
    await contract.token_expiry(x_contract)
