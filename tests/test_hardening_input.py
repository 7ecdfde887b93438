"""Hostile and broken input on the real daemon: each bad item is refused alone with its reason, no 5xx,
replay skips bad lines, and untrusted text can neither forge log lines nor drive a terminal."""

from __future__ import annotations

import io
import json
import logging
import random
from datetime import timedelta

import aiohttp
import pytest
from click.testing import CliRunner

from listener.app import Vigie
from listener.cli import main as cli
from listener.logging_setup import configure_logging
from listener.sanitize import neutralise
from listener.settings import LoggingSettings
from listener.timeutil import to_iso, utcnow
from tests.helpers import mention

TOKEN = "jeton-durci"


@pytest.fixture
async def daemon(make_settings, monkeypatch):
    monkeypatch.setenv("TEST_INGEST_TOKEN", TOKEN)
    app = Vigie(make_settings(pipeline={"classify": False}, web={"ingest_token_env": "TEST_INGEST_TOKEN"}), deliver=False)
    await app.start()
    yield app
    await app.stop()


async def post_raw(app: Vigie, body: bytes) -> tuple[int, dict | None]:
    url = f"http://127.0.0.1:{app.web_port}/api/ingest"
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    async with aiohttp.ClientSession() as http, http.post(url, data=body, headers=headers) as response:
        try:
            return response.status, await response.json(content_type=None)
        except ValueError:
            return response.status, None


def nested(depth: int) -> dict:
    value: dict = {"leaf": 1}
    for _ in range(depth):
        value = {"child": value}
    return value


async def test_each_malformed_item_is_refused_alone_and_its_siblings_are_stored(daemon):
    base = mention(1, source="outil").to_dict()
    bad = {
        "created_at as an object": ({"created_at": {"date": "2026-11-17"}}, "created_at"),
        "labels as a string": ({"labels": "négatif"}, "labels"),
        "labels with bad topics": ({"labels": {"topics": "transport"}}, "labels"),
        "labels with an unknown key": ({"labels": {"colère": 1}}, "labels"),
        "likes beyond 64 bits": ({"likes": 2**63}, "likes"),
        "followers beyond 64 bits": ({"author_followers": 2**70}, "author_followers"),
        "integer beyond 64 bits in raw": ({"raw": {"id": 2**64}}, "raw"),
        "deeply nested raw": ({"raw": nested(200)}, "raw"),
        "dated 2999": ({"created_at": "2999-01-01T00:00:00Z"}, "created_at"),
        "newline in the id": ({"external_id": "x\n2026-11-17 ERROR forged line"}, "external_id"),
        "escape in the source": ({"source": "a\x1b[31m"}, "source"),
        "matched with a number": ({"matched": ["ok", 3]}, "matched"),
        "url as a list": ({"url": ["https://x"]}, "url"),
    }
    items = []
    for i, (override, _field) in enumerate(bad.values()):
        items.append({**base, "external_id": f"bad-{i}", **override})
        items.append({**base, "external_id": f"good-{i}"})
    # A lone surrogate cannot be written by json.dumps as UTF-8: splice it into the body's text.
    body = json.dumps(items + [{**base, "external_id": "SURROGATE"}]).replace('"SURROGATE"', '"a\\ud800b"')
    status, answer = await post_raw(daemon, body.encode())
    assert status == 207
    results = answer["results"]
    for i, (name, (_override, field)) in enumerate(bad.items()):
        refused, sibling = results[2 * i], results[2 * i + 1]
        assert refused["status"] == "rejected", name
        assert refused["error"]["field"] == field, name
        assert sibling["status"] == "stored", name
    assert results[-1]["status"] == "rejected" and results[-1]["error"]["field"] == "external_id"
    assert "surrogate" in results[-1]["error"]["problem"]
    assert results[2 * list(bad).index("dated 2999")]["error"]["problem"] == "more than a day in the future"
    stored = {row[0] for row in daemon.store.conn.execute("SELECT external_id FROM mentions")}
    assert stored == {f"good-{i}" for i in range(len(bad))}
    reasons = [row[0] for row in daemon.store.conn.execute("SELECT error FROM rejected_payloads")]
    assert len(reasons) == len(bad) + 1 and any("likes" in r for r in reasons)
    assert daemon.health()["status"] == "ok"


async def test_fuzzed_requests_never_get_a_server_error(daemon):
    rng = random.Random(14)
    base = mention(1, source="fuzz").to_dict()
    weird = [None, True, -1, 0, 2**63, -(2**70), 1e308, "", " ", "\x00", "\u202e", "\ud800", [], {}, [[[]]],
             {"a": {"b": None}}, "2026-13-45T99:99:99Z", "9" * 5000, nested(40)]
    statuses = []
    for n in range(120):
        items = []
        for k in range(rng.randint(1, 4)):
            item = {**base, "external_id": f"f{n}-{k}"}
            for _ in range(rng.randint(0, 3)):
                key = rng.choice([*base.keys(), "labels", "raw", "id", rng.choice(["x", "é", "\u202e"])])
                item[key] = rng.choice(weird)
            if rng.random() < 0.1:
                item = rng.choice(weird)
            items.append(item)
        text = json.dumps(items, default=str)
        if rng.random() < 0.15:  # broken bodies: truncated, garbage bytes, a lone surrogate escape
            text = rng.choice([text[: rng.randint(0, len(text))], "\\ud800", "[" * 5000, "{\"mentions\": 3}"])
        body = text.encode("utf-8", "surrogatepass")
        if rng.random() < 0.05:
            body = bytes(rng.randrange(256) for _ in range(64))
        status, _ = await post_raw(daemon, body)
        statuses.append(status)
    assert all(status < 500 for status in statuses), sorted(set(statuses))
    assert {200, 207, 400} <= set(statuses)
    # Still up and still storing.
    status, answer = await post_raw(daemon, json.dumps([{**base, "external_id": "après"}]).encode())
    assert status == 200 and answer["stored"] == 1


async def test_a_replay_skips_bad_lines_with_their_reason(make_settings, tmp_path):
    path = tmp_path / "rec.jsonl"
    good = [mention(i).to_dict() for i in range(4)]
    lines = [
        json.dumps(good[0]),
        "{pas du json",
        json.dumps(good[1]),
        json.dumps({**mention(8).to_dict(), "labels": {"topics": [{"nom": "x"}]}}),
        json.dumps([1, 2, 3]),
        json.dumps(good[2]),
        json.dumps({**mention(9).to_dict(), "created_at": to_iso(utcnow() + timedelta(days=400))}),
    ]
    with path.open("wb") as handle:
        for line in lines:
            handle.write(line.encode() + b"\n")
        handle.write(b"\xff\xfe\x00 pas de l'UTF-8\n")
        handle.write(json.dumps(good[3]).encode() + b"\n")
    settings = make_settings(pipeline={"classify": False}, web={"enabled": False},
                             sources=[{"name": "rejeu", "type": "replay", "path": str(path)}])
    app = Vigie(settings, deliver=False, web_enabled=False)
    await app.start()
    await app.wait_for_sources()
    await app.finish_replay()
    component = app.supervisor.components["source:rejeu"]
    assert component.restarts == 0 and component.state == "finished"
    assert app.store.count_mentions() == 4
    reasons = [row[0] for row in app.store.conn.execute("SELECT error FROM rejected_payloads ORDER BY id")]
    assert [r.split(": ")[0].rsplit(":", 1)[1] for r in reasons] == ["2", "4", "5", "7", "8"]
    assert "labels" in reasons[1] and "future" in reasons[3]
    await app.stop()


async def test_a_collector_mention_dated_far_ahead_is_rejected_not_stored(store, make_settings):
    app = Vigie(make_settings(pipeline={"classify": False}, web={"enabled": False}), store=store, deliver=False,
                web_enabled=False)
    far = mention(1)
    far.created_at = utcnow() + timedelta(days=3)
    near = mention(2)
    near.created_at = utcnow() + timedelta(hours=2)  # a feed a little ahead is tolerated
    inserted = app.pipeline.handle([far, near], "mastodon", None)
    assert [m.external_id for m in inserted] == ["id-2"]
    assert "future" in store.conn.execute("SELECT error FROM rejected_payloads").fetchone()[0]


def test_untrusted_text_cannot_forge_a_log_line(monkeypatch):
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    configure_logging(LoggingSettings())
    try:
        logging.getLogger("vigie.test").warning("mention %s rejected", "x\n2026-11-17 CRITICAL vigie: forged\x1b[2J")
    finally:
        logging.getLogger().handlers.clear()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1 and "\\n2026-11-17 CRITICAL" in lines[0] and "\x1b" not in lines[0]


def test_vigie_search_shows_escapes_and_overrides_instead_of_obeying_them(make_settings, store, tmp_path):
    hostile = mention(1, text="Rivebelle \x1b]0;pwned\x07\x1b[2J tram \u202eenilno tnemesaiv")
    store.insert_mentions([hostile])
    config = tmp_path / "config.toml"
    config.write_text(f'[store]\npath = "{tmp_path / "vigie.db"}"\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["search", "tram", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output and "\u202e" not in result.output and "\x07" not in result.output
    assert "\\u001b[2J" in result.output and "\\u202e" in result.output
    assert neutralise("ligne\nsuivante", keep_newlines=True) == "ligne\nsuivante"
