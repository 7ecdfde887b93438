"""Jetstream collector against a fake websocket, through the real daemon into the store."""

from __future__ import annotations

import pytest

from listener.app import Vigie
from tests.fakes import wait_for
from tests.fakes.jetstream import T0_US, FakeJetstream, make_other, make_post

KEYWORDS = ["Rivebelle", "mairie"]


def jetstream_settings(make_settings, fake: FakeJetstream, **overrides):
    source = {
        "name": "jetstream-fr",
        "type": "jetstream",
        "url": f"ws://127.0.0.1:{fake.port}/subscribe",
        "keywords": KEYWORDS,
        "hashtags": ["Rivebelle2026"],
        "languages": ["fr"],
        "batch_size": 50,
        "flush_interval": 0.05,
        "rewind_seconds": 0.5,
        "reconnect_initial": 0.01,
        "reconnect_max": 0.05,
        **overrides,
    }
    return make_settings(pipeline={"classify": False}, sources=[source])


def stored_ids(app: Vigie) -> list[str]:
    return [row[0] for row in app.store.conn.execute("SELECT external_id FROM mentions ORDER BY external_id")]


def mixed_events(count: int, every: int = 10) -> tuple[list[dict], set[str]]:
    """`count` events; every `every`-th is a matching French post. Returns events and wanted uris."""
    events, wanted = [], set()
    for i in range(count):
        if i % every == 0:
            event = make_post(i, f"Le marché de Rivebelle est annulé ({i})")
            wanted.add(f"at://{event['did']}/app.bsky.feed.post/{event['commit']['rkey']}")
        elif i % every == 3:
            event = make_post(i, f"La mairie de Rivebelle in English {i}", langs=["en"])
        elif i % every == 5:
            event = make_other(i)
        else:
            event = make_post(i, f"Un message quelconque sur la météo {i}")
        events.append(event)
    return events, wanted


@pytest.fixture
async def fake():
    async with FakeJetstream() as server:
        yield server


async def test_filters_and_stores_matching_posts(make_settings, fake):
    events = [
        make_post(1, "La Mairie de RIVEBELLE ferme la piscine", langs=["fr-FR"]),
        make_post(2, "Rivebelle in the news", langs=["en"]),
        make_post(3, "Rien à voir", langs=["fr"]),
        make_post(4, "Fête du quartier ce soir !", tags=["rivebelle2026"]),
        make_post(5, "Sans langue déclarée, à la mairie", langs=[]),
        make_other(6),
        make_other(7, "identity"),
        make_post(8, "Le maire de Rivebellé", created_at="2099-01-01T00:00:00Z"),
    ]
    for event in events:
        fake.add(event)
    app = Vigie(jetstream_settings(make_settings, fake), deliver=False)
    # Start with a stored cursor so the whole recording is replayed.
    app.store.set_cursor("jetstream-fr", str(T0_US))
    await app.start()
    source = app.sources[0]
    await wait_for(lambda: app.store.get_cursor("jetstream-fr") == str(events[-1]["time_us"]))
    mentions = {m.external_id.rsplit("/", 1)[1]: m for m in app.store.recent_mentions(20)}
    assert sorted(mentions) == ["3k00000000001", "3k00000000004", "3k00000000005", "3k00000000008"]
    first = mentions["3k00000000001"]
    assert sorted(first.matched) == ["Rivebelle", "mairie"] and first.lang == "fr"
    assert first.url == "https://bsky.app/profile/did:plc:user0001/post/3k00000000001"
    assert mentions["3k00000000004"].matched == ["#Rivebelle2026"]
    # A createdAt in the future is replaced by the time Jetstream saw the post.
    assert mentions["3k00000000008"].created_at.year == 2026
    assert fake.connections[0]["wantedCollections"] == "app.bsky.feed.post"
    assert source.health.extra["events"] == 7 and source.health.extra["connected"] is True  # the like is filtered
    await app.stop()


async def test_drops_every_n_messages_lose_and_double_nothing(make_settings, fake):
    events, wanted = mixed_events(3000)
    for event in events:
        fake.add(event)
    fake.drop_every = 173
    fake.junk_every = 50
    app = Vigie(jetstream_settings(make_settings, fake), deliver=False)
    app.store.set_cursor("jetstream-fr", str(T0_US - 1))
    await app.start()
    source = app.sources[0]
    await wait_for(lambda: app.store.get_cursor("jetstream-fr") == str(events[-1]["time_us"]), timeout=30)
    await app.drain_pipeline()
    ids = stored_ids(app)
    assert len(ids) == len(set(ids)) == len(wanted)
    assert set(ids) == wanted
    assert len(fake.connections) >= 15
    # Each reconnect resumed a little before the last handed-over event (rewind), never from scratch.
    cursors = [int(c["cursor"]) for c in fake.connections]
    assert cursors == sorted(cursors) and cursors[1] > cursors[0]
    assert source.health.extra["malformed"] >= 5
    assert source.health.extra["connections"] == len(fake.connections)
    assert "ConnectionLost" in (source.health.last_error or "") or "Error" in (source.health.last_error or "")
    await app.stop()


async def test_resumes_from_the_stored_cursor_after_a_restart(make_settings, fake):
    events, wanted = mixed_events(400)
    for event in events[:200]:
        fake.add(event)
    settings = jetstream_settings(make_settings, fake)
    app = Vigie(settings, deliver=False)
    app.store.set_cursor("jetstream-fr", str(T0_US - 1))
    await app.start()
    await wait_for(lambda: app.store.get_cursor("jetstream-fr") == str(events[199]["time_us"]))
    await app.stop()
    for event in events[200:]:
        fake.add(event)  # published while the daemon was down
    app = Vigie(settings, deliver=False)
    await app.start()
    await wait_for(lambda: app.store.get_cursor("jetstream-fr") == str(events[-1]["time_us"]))
    assert int(fake.connections[-1]["cursor"]) == events[199]["time_us"] - 500_000
    ids = stored_ids(app)
    assert len(ids) == len(set(ids)) and set(ids) == wanted
    await app.stop()


async def test_live_events_and_a_huge_post(make_settings, fake):
    app = Vigie(jetstream_settings(make_settings, fake), deliver=False)
    await app.start()
    await wait_for(lambda: len(fake.connections) == 1)
    assert "cursor" not in fake.connections[0]  # no stored cursor: live tail
    fake.publish(make_post(1, "Rivebelle " + "très long " * 50_000))
    fake.publish(make_post(2, "Encore la mairie"))
    await wait_for(lambda: len(stored_ids(app)) == 2)
    huge = [m for m in app.store.recent_mentions(5) if m.external_id.endswith("01")][0]
    assert len(huge.text) == 20_000 and len(str(huge.raw)) < 25_000
    await app.stop()
