"""YouTube collector against a fake YouTube Data API v3, through the real daemon into the store."""

from __future__ import annotations

import pytest

from tests import collector_contract as contract
from tests.fakes import FAST, wait_for
from tests.fakes.youtube import FakeYoutube, at

CHANNEL = "UCrivebelle000000000000"


@pytest.fixture
async def fake():
    async with FakeYoutube() as server:
        yield server


def yt_settings(make_settings, fake, **overrides):
    source = {"name": "youtube-ville", "type": "youtube", "base_url": fake.url, "key_env": "TEST_YT_KEY",
              "channel_id": CHANNEL, "page_size": 3, **FAST, **overrides}
    return make_settings(pipeline={"classify": False}, sources=[source])


@pytest.fixture
def yt_contract(make_settings, fake, monkeypatch):
    monkeypatch.setenv("TEST_YT_KEY", "yt-key")

    def add(i: int) -> str:
        return fake.add_comment(CHANNEL, f"Commentaire {i} sur la vidéo du conseil municipal", at(i))["id"]

    def renew() -> None:
        fake.keys.add("yt-key-2")
        monkeypatch.setenv("TEST_YT_KEY", "yt-key-2")

    return contract.Contract("youtube-ville", lambda **o: yt_settings(make_settings, fake, **o), add,
                             "/commentThreads", lambda: fake.keys.clear(), renew, fake)


async def test_comments_replies_and_search_with_quota_in_health(make_settings, fake, monkeypatch):
    monkeypatch.setenv("TEST_YT_KEY", "yt-key")
    reply = fake.reply("Ugz00000001", "Je confirme, la salle était pleine", at(3))
    own = fake.reply("Ugz00000001", "Merci pour votre venue", at(4), author="VilleDeRivebelle", author_channel=CHANNEL)
    first = fake.add_comment(CHANNEL, "Belle retransmission du conseil !", at(1), replies=[reply, own])
    others = [fake.add_comment(CHANNEL, f"Question {i} sur le budget", at(5 + i)) for i in range(4)]
    video = fake.add_video("Rivebelle : les inondations de la nuit", "Reportage de la télé locale", at(2))
    app = await contract.start(yt_settings(make_settings, fake, queries=["Rivebelle"], initial_pages=3))
    wanted = {first["id"], reply["id"], f"video:{video['id']['videoId']}", *(o["id"] for o in others)}
    await wait_for(lambda: wanted <= set(contract.stored_ids(app, "youtube-ville")), timeout=30)
    assert own["id"] not in contract.stored_ids(app, "youtube-ville")
    mentions = {m.external_id: m for m in app.store.recent_mentions(50)}
    m = mentions[first["id"]]
    assert m.text == "Belle retransmission du conseil !" and m.author_handle == "@Habitant"
    assert m.url == f"https://www.youtube.com/watch?v=vid00000001&lc={first['id']}" and m.created_at == at(1)
    assert mentions[reply["id"]].matched == ["youtube:réponse"]
    v = mentions[f"video:{video['id']['videoId']}"]
    assert v.text == "Rivebelle : les inondations de la nuit\n\nReportage de la télé locale"
    threads = fake.hits("/commentThreads")
    assert threads[0].query["allThreadsRelatedToChannelId"] == [CHANNEL] and threads[0].query["order"] == ["time"]
    assert any("pageToken" in r.query for r in threads)
    quota = app.sources[0].health.extra["quota"]
    assert fake.spent <= quota["spent"] <= fake.spent + 100 and quota["daily_quota"] == 9000 and quota["resets_at"]
    await app.stop()


async def test_daily_quota_is_never_exceeded_and_is_remembered_after_a_restart(make_settings, fake, monkeypatch):
    monkeypatch.setenv("TEST_YT_KEY", "yt-key")
    fake.add_video("Rivebelle en images", "", at(1))
    settings = yt_settings(make_settings, fake, queries=["Rivebelle"], daily_quota=205)
    app = await contract.start(settings)
    source = app.sources[0]
    await wait_for(lambda: source.health.extra["quota"]["exhausted"], timeout=30)
    assert fake.spent <= 205 and len(fake.hits("/search")) == 2
    polls = source.health.extra["polls"]
    await wait_for(lambda: source.health.extra["polls"] >= polls + 3)
    assert fake.spent <= 205
    await app.stop()
    again = await contract.start(settings)
    await wait_for(lambda: again.sources[0].health.extra["polls"] >= 3)
    assert fake.spent <= 205 and len(fake.hits("/search")) == 2
    assert again.sources[0].health.extra["quota"]["spent"] >= 200
    await again.stop()


async def test_quota_exceeded_answer_stops_until_the_reset(make_settings, fake, monkeypatch):
    monkeypatch.setenv("TEST_YT_KEY", "yt-key")
    fake.daily_quota = 0  # the project's quota is spent elsewhere: 403 quotaExceeded
    app = await contract.start(yt_settings(make_settings, fake))
    source = app.sources[0]
    await wait_for(lambda: source.health.extra["quota"]["exhausted"], timeout=30)
    requests = len(fake.requests)
    polls = source.health.extra["polls"]
    await wait_for(lambda: source.health.extra["polls"] >= polls + 3)
    assert len(fake.requests) == requests and "quota" in source.health.last_error
    await app.stop()


async def test_paging_and_restart(yt_contract):
    await contract.paging_and_restart(yt_contract)


async def test_faults_lose_nothing(yt_contract):
    await contract.faults(yt_contract)


async def test_token_expiry(yt_contract):
    await contract.token_expiry(yt_contract)
