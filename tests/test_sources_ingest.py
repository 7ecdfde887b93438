"""POST /api/ingest on the real daemon: auth, per-item validation, storage through the pipeline."""

from __future__ import annotations

import aiohttp
import pytest

from listener.app import Vigie
from tests.helpers import mention

TOKEN = "jeton-de-test"


@pytest.fixture
async def daemon(make_settings, monkeypatch):
    monkeypatch.setenv("TEST_INGEST_TOKEN", TOKEN)
    app = Vigie(make_settings(pipeline={"classify": False}, web={"ingest_token_env": "TEST_INGEST_TOKEN"}), deliver=False)
    await app.start()
    yield app
    await app.stop()


async def post(app: Vigie, body, token: str | None = TOKEN, query: str = "") -> tuple[int, dict]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    url = f"http://127.0.0.1:{app.web_port}/api/ingest{query}"
    async with aiohttp.ClientSession() as http:
        kwargs = {"data": body} if isinstance(body, str | bytes) else {"json": body}
        async with http.post(url, headers=headers, **kwargs) as response:
            return response.status, await response.json()


async def test_good_items_are_stored_and_bad_ones_rejected_one_by_one(daemon):
    good = [mention(i, source="outil-veille").to_dict() for i in range(3)]
    no_source = {k: v for k, v in mention(9).to_dict().items() if k != "source"}
    bad_time = {**mention(4).to_dict(), "created_at": "hier soir"}
    no_text = {**mention(5).to_dict(), "text": "   "}
    status, body = await post(daemon, [good[0], bad_time, good[1], no_text, good[2], "pas un objet", no_source])
    assert status == 207
    assert (body["stored"], body["rejected"], body["duplicates"], body["queued"]) == (4, 3, 0, 0)
    results = body["results"]
    assert [r["status"] for r in results] == ["stored", "rejected", "stored", "rejected", "stored", "rejected", "stored"]
    assert results[1]["error"] == {"field": "created_at", "problem": "not an ISO-8601 timestamp"}
    assert results[1]["external_id"] == "id-4"
    assert results[3]["error"]["field"] == "text"
    assert results[5]["error"]["field"] == "(item)"
    # "stored" means in the store, with its id, when the answer arrives.
    stored = {m.id: m for m in daemon.store.get_mentions([r["id"] for r in results if r["status"] == "stored"])}
    assert len(stored) == 4 and stored[results[6]["id"]].source == "ingest"
    assert daemon.store.conn.execute("SELECT count(*) FROM rejected_payloads").fetchone()[0] == 3
    # Sending the same batch again stores nothing twice.
    status, body = await post(daemon, {"mentions": good + [good[0]]})
    assert status == 200 and body["duplicates"] == 4 and body["stored"] == 0
    assert daemon.store.count_mentions() == 4
    health = daemon.health()["components"]["ingest"]
    assert health["state"] == "ok" and health["stored"] == 4 and health["rejected"] == 3
    assert "created_at" in health["last_error"]


async def test_authentication_and_malformed_bodies(daemon):
    item = [mention(1).to_dict()]
    assert (await post(daemon, item, token=None))[0] == 401
    assert (await post(daemon, item, token="mauvais"))[0] == 401
    status, body = await post(daemon, '{"mentions": [', token=TOKEN)
    assert status == 400 and "JSON" in body["error"]
    assert (await post(daemon, {"pas": "une liste"}))[0] == 400
    status, body = await post(daemon, [{"text": "sans identifiant"}])
    assert status == 400 and body["results"][0]["error"]["field"] == "external_id"
    status, body = await post(daemon, item, query="?wait=false")
    assert status in (200, 202) and body["results"][0]["status"] in ("queued", "stored")
    assert daemon.store.count_mentions() <= 1
    assert daemon.health()["components"]["ingest"]["unauthorized"] == 2


async def test_without_a_configured_token_ingest_is_closed(make_settings, monkeypatch):
    monkeypatch.delenv("UNSET_INGEST_TOKEN", raising=False)
    app = Vigie(make_settings(pipeline={"classify": False}, web={"ingest_token_env": "UNSET_INGEST_TOKEN"}), deliver=False)
    await app.start()
    status, body = await post(app, [mention(1).to_dict()], token="n'importe quoi")
    assert status == 503 and "UNSET_INGEST_TOKEN" in body["error"]
    assert app.health()["components"]["ingest"]["state"] == "disabled"
    assert app.store.count_mentions() == 0
    await app.stop()
