"""RSS/Atom collector against a fake news site, through the real daemon into the store."""

from __future__ import annotations

import json

import pytest

from listener.app import Vigie
from tests.fakes import FAST, wait_for
from tests.fakes.rss import FakeFeeds


@pytest.fixture
async def fake():
    async with FakeFeeds() as server:
        server.feed("presse.xml")
        server.feed("latin1.xml", encoding="iso-8859-1", title="L'Écho de Rivebelle")
        server.feed("atom.xml", kind="atom", title="Rivebelle Infos")
        yield server


def rss_settings(make_settings, fake: FakeFeeds, **overrides):
    source = {"name": "presse-locale", "type": "rss",
              "feeds": [f"{fake.url}/feeds/presse.xml", f"{fake.url}/feeds/latin1.xml", f"{fake.url}/feeds/atom.xml"],
              "keywords": ["Rivebelle", "mairie"], **FAST, **overrides}
    return make_settings(pipeline={"classify": False}, sources=[source])


def stored(app: Vigie) -> dict[str, str]:
    return dict(app.store.conn.execute("SELECT external_id, text FROM mentions").fetchall())


async def test_feeds_end_to_end_with_accents_entities_and_conditional_get(make_settings, fake):
    a = fake.add_item("presse.xml", "Rivebelle : la mairie annonce des travaux",
                      "<p>L&#39;&eacute;t&eacute; sera &laquo;&nbsp;chaud&nbsp;&raquo; &amp; long</p><script>alert(1)</script>")
    b = fake.add_item("latin1.xml", "Fête de la musique à Rivebelle", "<p>Place de l'Église, dès 18&nbsp;h</p>")
    c = fake.add_item("atom.xml", "Conseil municipal", "<b>La mairie</b> vote le budget")
    fake.add_item("presse.xml", "Résultats sportifs", "<p>Match nul</p>")
    app = Vigie(rss_settings(make_settings, fake), deliver=False)
    await app.start()
    source = app.sources[0]
    await wait_for(lambda: len(stored(app)) == 3)
    texts = stored(app)
    assert texts[a["guid"]] == "Rivebelle : la mairie annonce des travaux\n\nL'été sera « chaud » & long"
    assert texts[b["guid"]] == "Fête de la musique à Rivebelle\n\nPlace de l'Église, dès 18 h"
    assert texts[c["guid"]] == "Conseil municipal\n\nLa mairie vote le budget"
    mention = {m.external_id: m for m in app.store.recent_mentions(10)}[a["guid"]]
    assert mention.lang == "fr" and mention.url == a["link"] and mention.matched == ["Rivebelle", "mairie"]
    assert mention.created_at == a["at"]
    # Later polls send the validators back and get 304s.
    await wait_for(lambda: fake.not_modified >= 6)
    assert source.health.extra["not_modified"] >= 6
    cursor = json.loads(app.store.get_cursor("presse-locale"))
    assert cursor[f"{fake.url}/feeds/presse.xml"]["etag"].startswith('"')
    assert "modified" in cursor[f"{fake.url}/feeds/atom.xml"]
    d = fake.add_item("atom.xml", "Rivebelle : nouvelle piste cyclable", "Enfin !")
    await wait_for(lambda: d["guid"] in stored(app))
    assert app.store.count_mentions() == 4
    await app.stop()


@pytest.mark.parametrize("fault", ["malformed", "truncated", "500", "timeout"])
async def test_broken_feeds_lose_nothing_and_refetch_in_full(make_settings, fake, fault):
    app = Vigie(rss_settings(make_settings, fake), deliver=False)
    await app.start()
    source = app.sources[0]
    await wait_for(lambda: source.health.extra["polls"] >= 2)
    fake.inject(fault, path="/feeds/presse.xml", times=4 if fault == "malformed" else 2, delay=1.0)
    items = [fake.add_item("presse.xml", f"Rivebelle, brève {i}", "<p>" + "texte " * 50 + "</p>") for i in range(10)]
    other = fake.add_item("atom.xml", "Rivebelle pendant la panne", "ailleurs")
    await wait_for(lambda: {i["guid"] for i in items} | {other["guid"]} <= set(stored(app)), timeout=30)
    await wait_for(lambda: not fake.faults)
    assert app.store.count_mentions() == 11
    if fault == "malformed":
        assert "malformed feed" in source.health.last_error  # shown in /healthz until the next error
    await app.stop()
