"""Mastodon collector against a fake instance, through the real daemon into the store."""

from __future__ import annotations

import json
import logging

import aiohttp
import pytest

from listener.app import Vigie
from tests.fakes import FAST, wait_for
from tests.fakes.mastodon import FakeMastodon


@pytest.fixture
async def fake():
    async with FakeMastodon() as server:
        yield server


def mastodon_settings(make_settings, fake: FakeMastodon, **overrides):
    source = {
        "name": "mastodon-rivebelle",
        "type": "mastodon",
        "base_url": fake.url,
        "hashtags": ["Rivebelle"],
        "public_timeline": True,
        "keywords": ["mairie", "tramway"],
        "token_env": "TEST_MASTODON_TOKEN",
        "page_size": 5,
        **FAST,
        **overrides,
    }
    return make_settings(pipeline={"classify": False}, sources=[source])


async def start(settings) -> Vigie:
    app = Vigie(settings, deliver=False)
    await app.start()
    return app


def texts(app: Vigie) -> dict[str, str]:
    rows = app.store.conn.execute("SELECT external_id, text FROM mentions WHERE source = 'mastodon-rivebelle'")
    return dict(rows.fetchall())


async def test_hashtag_public_and_mentions_end_to_end(make_settings, fake, monkeypatch):
    monkeypatch.setenv("TEST_MASTODON_TOKEN", fake.token)
    old = fake.add_status("Vieux message d'avant le démarrage", tags=["Rivebelle"])
    app = await start(mastodon_settings(make_settings, fake))
    source = app.sources[0]
    await wait_for(lambda: source.health.extra["polls"] >= 2)
    # First poll starts from now: the newest page is read, the cursor set.
    assert old["id"] in texts(app)
    tagged = fake.add_status("Les travaux de l'avenue &amp; la rue Émile-Zola", tags=["Rivebelle"])
    tagged["content"] = "<p>Les travaux de l&#39;avenue &amp; la rue &Eacute;mile-Zola<br>c&apos;est long !</p><p>#Rivebelle</p>"
    public = fake.add_status("La Mairie ferme la piscine", lang="fr")
    ignored = fake.add_status("Rien à voir ici", lang="fr")
    english = fake.add_status("The tramway is late again", lang="en")
    notif = fake.mention_institution("pourquoi le bus 12 ne passe plus ?")
    await wait_for(lambda: {tagged["id"], public["id"], english["id"], notif["status"]["id"]} <= set(texts(app)))
    stored = texts(app)
    assert ignored["id"] not in stored
    assert stored[tagged["id"]] == "Les travaux de l'avenue & la rue Émile-Zola\nc'est long !\n\n#Rivebelle"
    mentions = {m.external_id: m for m in app.store.recent_mentions(50)}
    assert mentions[tagged["id"]].matched[0] == "#Rivebelle"
    assert mentions[public["id"]].matched == ["mairie"]
    assert mentions[english["id"]].lang == "en"
    assert mentions[public["id"]].author_handle == "@habitant@rivebelle.social"
    assert mentions[public["id"]].likes == 3 and mentions[public["id"]].url.endswith(public["id"])
    assert mentions[notif["status"]["id"]].matched[0] == "@mention"
    # Forward paging asks with min_id and sends the descriptive User-Agent and the token.
    hits = fake.hits("/api/v1/timelines/tag/Rivebelle")
    assert any("min_id" in hit.query for hit in hits)
    assert all("Vigie" in hit.headers.get("User-Agent", "") for hit in hits)
    # The public timeline may store the tagged status first (it matches #Rivebelle too): the tag stream's
    # cursor moves on its own next poll.
    def cursor() -> dict:
        return json.loads(app.store.get_cursor("mastodon-rivebelle"))

    await wait_for(lambda: cursor()["tag:rivebelle"] == tagged["id"])
    assert cursor()["notifications"] == notif["id"]
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{app.web_port}/healthz") as response:
        health = await response.json()
    component = health["components"]["source:mastodon-rivebelle"]
    assert component["state"] == "ok" and component["mentions"] >= 5
    await app.stop()


async def test_backlog_is_paged_forward_across_polls_without_gaps(make_settings, fake):
    fake.add_status("premier #Rivebelle", tags=["Rivebelle"])
    app = await start(mastodon_settings(make_settings, fake, public_timeline=False, max_pages=2))
    await wait_for(lambda: len(texts(app)) == 1)
    burst = [fake.add_status(f"message {i} sur la mairie", tags=["Rivebelle"]) for i in range(37)]
    await wait_for(lambda: len(texts(app)) == 38)
    assert {s["id"] for s in burst} <= set(texts(app))
    # Pages of 5, at most 2 per poll: the burst needed several polls, each resuming from the cursor.
    assert len([h for h in fake.hits("/api/v1/timelines/tag/") if "min_id" in h.query]) >= 8
    await app.stop()


async def test_resume_after_restart_neither_loses_nor_doubles(make_settings, fake):
    settings = mastodon_settings(make_settings, fake, public_timeline=False)
    fake.add_status("avant #Rivebelle", tags=["Rivebelle"])
    app = await start(settings)
    await wait_for(lambda: len(texts(app)) == 1)
    await app.stop()
    while_down = [fake.add_status(f"pendant l'arrêt {i}", tags=["Rivebelle"]) for i in range(12)]
    fake.inclusive_min_id = True  # the server also returns the cursor status again: a duplicate
    app = await start(settings)
    await wait_for(lambda: len(texts(app)) == 13)
    await wait_for(lambda: app.sources[0].health.extra["polls"] >= 3)
    assert {s["id"] for s in while_down} <= set(texts(app))
    count = app.store.conn.execute("SELECT count(*) FROM mentions").fetchone()[0]
    assert count == 13
    await app.stop()


@pytest.mark.parametrize("fault", ["500", "reset", "timeout", "truncated", "malformed", "429"])
async def test_faults_are_retried_and_nothing_is_lost(make_settings, fake, fault, caplog):
    caplog.set_level(logging.INFO, logger="vigie.source")
    fake.add_status("début #Rivebelle", tags=["Rivebelle"])
    app = await start(mastodon_settings(make_settings, fake, public_timeline=False))
    source = app.sources[0]
    await wait_for(lambda: len(texts(app)) == 1)
    fake.inject(fault, path="/api/v1/timelines/tag/", times=2, delay=1.0)
    new = [fake.add_status(f"après la panne {i}", tags=["Rivebelle"]) for i in range(7)]
    await wait_for(lambda: len(texts(app)) == 8, timeout=30)
    assert fake.faults_served == [fault, fault]
    assert {s["id"] for s in new} <= set(texts(app))
    key = "rate_limited" if fault == "429" else "retries"
    assert source.health.extra[key] >= (1 if fault == "reset" else 2)  # aiohttp itself retries a reused connection once
    assert source.health.state == "ok"
    logged = [r.getMessage() for r in caplog.records if r.name == "vigie.source.mastodon-rivebelle"]
    expected = {"500": "HTTP 500", "429": "HTTP 429", "malformed": "malformed JSON", "timeout": "Timeout"}
    assert any(expected.get(fault, "retry") in line for line in logged), logged
    await app.stop()


async def test_persistent_failure_shows_in_health_and_other_streams_continue(make_settings, fake, monkeypatch):
    monkeypatch.setenv("TEST_MASTODON_TOKEN", "wrong-token")
    app = await start(mastodon_settings(make_settings, fake, public_timeline=False))
    source = app.sources[0]
    await wait_for(lambda: source.health.consecutive_errors >= 3)
    status = fake.add_status("toujours collecté #Rivebelle", tags=["Rivebelle"])
    await wait_for(lambda: status["id"] in texts(app))
    assert source.health.state == "failing"
    assert "401" in source.health.last_error and "notifications" in source.health.last_error
    health = app.health()
    assert health["status"] == "degraded"
    assert health["components"]["source:mastodon-rivebelle"]["last_error"] == source.health.last_error
    await app.stop()


async def test_a_huge_status_is_stored_trimmed(make_settings, fake):
    app = await start(mastodon_settings(make_settings, fake, public_timeline=False))
    await wait_for(lambda: app.sources[0].health.extra["polls"] >= 1)
    huge = fake.add_status("x", tags=["Rivebelle"], content_html="<p>" + "mairie " * 100_000 + "</p>")
    await wait_for(lambda: huge["id"] in texts(app))
    mention = app.store.recent_mentions(1)[0]
    assert len(mention.text) == 20_000
    assert len(json.dumps(mention.raw)) <= 20_000 and mention.raw["_trimmed"] > 700_000
    await app.stop()


async def test_silence_is_exposed_in_health(make_settings, fake):
    app = await start(mastodon_settings(make_settings, fake, public_timeline=False, silence_after=0.2))
    source = app.sources[0]
    await wait_for(lambda: source.health.extra["silent"] is True)
    fake.add_status("enfin un message #Rivebelle", tags=["Rivebelle"])
    await wait_for(lambda: source.health.extra["silent"] is False)
    assert source.health.last_mention_at is not None
    await app.stop()
