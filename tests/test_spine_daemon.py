"""The daemon as a whole: replay through the real pipeline, health, metrics, crash isolation, SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

from classifiers.types import Classification
from listener.app import Vigie
from listener.areas import open_store
from listener.clock import ReplayClock
from listener.models import Mention
from listener.sources.base import Source
from tests.helpers import T0, mention, write_jsonl


class CrashingSource(Source):
    """A collector whose API keeps failing."""

    type = "crashing"
    attempts = 0

    async def run(self, sink) -> None:
        CrashingSource.attempts += 1
        self.record_error("HTTP 500 from the fake API")
        raise RuntimeError("source exploded")


async def test_replay_goes_through_the_real_pipeline_into_the_store(make_settings, tmp_path):
    data = write_jsonl(tmp_path / "replay.jsonl", 120)
    settings = make_settings(
        pipeline={"classify": False},
        sources=[{"name": "rejeu", "type": "replay", "path": str(data)}],
    )
    clock = ReplayClock()
    app = Vigie(settings, clock=clock)
    await app.start()
    await app.wait_for_sources()
    await app.finish_replay()
    assert app.store.count_mentions() == 120
    # The clock followed the recorded time, not the wall clock.
    assert clock.now() == T0 + (119 * (mention(1).created_at - T0))
    assert app.store.get_cursor("rejeu") == "120"
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{app.web_port}/healthz") as response:
            health = await response.json()
            assert response.status == 200 and health["status"] == "ok"
            assert health["components"]["source:rejeu"]["state"] == "finished"
        async with http.get(f"http://127.0.0.1:{app.web_port}/metrics") as response:
            text = await response.text()
            assert 'vigie_mentions_ingested_total{source="mastodon"} 120.0' in text
            assert "vigie_pipeline_batch_seconds_bucket" in text
    await app.stop()


async def test_counters_follow_stored_mentions(make_settings, tmp_path):
    data = write_jsonl(tmp_path / "replay.jsonl", 10, step_seconds=1)
    settings = make_settings(pipeline={"classify": False, "watch_keywords": ["tram"]},
                             sources=[{"name": "rejeu", "type": "replay", "path": str(data)}])
    app = Vigie(settings, clock=ReplayClock())
    await app.start()
    await app.wait_for_sources()
    await app.finish_replay()
    totals: dict[str, int] = {}
    for key, _bucket, n in app.store.counts_between(0, 10**9):
        totals[key] = totals.get(key, 0) + n
    assert totals["all"] == 10 and totals["keyword:tram"] == 10 and totals["hashtag:rivebelle"] == 10
    assert totals["source:mastodon"] == 10
    await app.stop()


async def test_a_failing_source_does_not_stop_the_others(make_settings, tmp_path):
    data = write_jsonl(tmp_path / "replay.jsonl", 50)
    settings = make_settings(pipeline={"classify": False},
                             sources=[{"name": "rejeu", "type": "replay", "path": str(data)}])
    app = Vigie(settings, clock=ReplayClock())
    app.supervisor.initial_backoff = 0.01
    broken = CrashingSource(settings.sources[0], app.source_context)
    broken.name = "panne"
    app.sources.append(broken)
    await app.start()
    await app.wait_for_sources()
    await asyncio.sleep(0.1)
    assert app.store.count_mentions() == 50
    health = app.health()
    assert health["status"] == "degraded"
    assert health["components"]["source:panne"]["restarts"] >= 2
    assert "source exploded" in health["components"]["source:panne"]["last_crash"]
    assert health["components"]["source:panne"]["last_error"] == "HTTP 500 from the fake API"
    assert health["components"]["source:rejeu"]["state"] == "finished"
    await app.stop()


class PickyClassifier:
    """Fails on one text, as a classifier bug on an odd input would."""

    def classify_batch(self, texts: list[str]) -> list[Classification]:
        if any("💣" in text for text in texts):
            raise ValueError("cannot handle this text")
        return [Classification() for _ in texts]


async def test_a_text_the_classifier_chokes_on_is_stored_without_labels(make_settings):
    settings = make_settings()
    app = Vigie(settings, classifier=PickyClassifier(), web_enabled=False)
    await app.start()
    batch = [mention(i) for i in range(5)] + [mention(99, text="texte 💣 piégé")]
    await app.pipeline.put(batch, source="mastodon", cursor="c-1")
    await app.stop()
    store = open_store(settings.store.path)
    assert store.count_mentions() == 6  # nothing lost: the odd one is stored and counted, unlabelled
    rows = dict(store.conn.execute("SELECT external_id, labels IS NOT NULL FROM mentions").fetchall())
    assert rows["id-99"] == 0 and all(rows[f"id-{i}"] == 1 for i in range(5))
    assert store.conn.execute("SELECT count(*) FROM rejected_payloads").fetchone()[0] == 0
    assert store.get_cursor("mastodon") == "c-1"


async def test_a_mention_sqlite_cannot_encode_is_stored_cleaned_and_the_cursor_moves(make_settings):
    """A lone surrogate (a "\\ud800" escape in JSON) cannot be written as UTF-8: the daemon must not
    loop on it forever nor drop it."""
    settings = make_settings(pipeline={"classify": False})
    app = Vigie(settings, web_enabled=False)
    await app.start()
    batch = [mention(i) for i in range(3)] + [mention(7, text="texte \ud800 cassé")]
    await app.pipeline.put(batch, source="mastodon", cursor="c-2")
    await app.stop()
    store = open_store(settings.store.path)
    assert store.count_mentions() == 4
    assert store.conn.execute("SELECT text FROM mentions WHERE external_id = 'id-7'").fetchone()[0] == "texte \ufffd cassé"
    assert store.get_cursor("mastodon") == "c-2"


async def test_stop_drains_everything_already_handed_over(make_settings):
    settings = make_settings(pipeline={"classify": False})
    app = Vigie(settings, web_enabled=False)
    await app.start()
    for start in range(0, 2000, 100):
        await app.pipeline.put([mention(i) for i in range(start, start + 100)], source="mastodon")
    await app.stop()
    assert open_store(settings.store.path).count_mentions() == 2000


def test_malformed_replay_lines_are_skipped_and_kept(make_settings, tmp_path):
    data = tmp_path / "replay.jsonl"
    lines = [Mention.to_dict(mention(1)), "{not json", {"source": "x", "text": "sans identifiant"}]
    import json

    data.write_text("\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n")
    settings = make_settings(pipeline={"classify": False}, sources=[{"name": "r", "type": "replay", "path": str(data)}])

    async def go():
        app = Vigie(settings, clock=ReplayClock(), web_enabled=False)
        await app.start()
        await app.wait_for_sources()
        await app.finish_replay()
        count = app.store.count_mentions()
        rejected = app.store.conn.execute("SELECT error FROM rejected_payloads ORDER BY id").fetchall()
        await app.stop()
        return count, rejected

    count, rejected = asyncio.run(go())
    assert count == 1
    assert "line 2" not in rejected[0][0] and ":2: invalid JSON" in rejected[0][0]
    assert ":3: invalid mention: external_id" in rejected[1][0]


def _write_config(tmp_path: Path, data: Path, speed: str) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(
        f"""
[store]
path = "{tmp_path / 'vigie.db'}"
[web]
port = 0
[pipeline]
classify = false
[[sources]]
name = "rejeu"
type = "replay"
path = "{data}"
speed = {speed}
batch_size = 20
""",
        encoding="utf-8",
    )
    return config


def test_sigterm_during_a_replay_loses_nothing_and_resumes(tmp_path):
    # 3,000 mentions, 30 s apart (25 h of recorded time) played 20,000× faster: ~4.5 s of wall time.
    data = write_jsonl(tmp_path / "replay.jsonl", 3000)
    config = _write_config(tmp_path, data, "20000")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen([sys.executable, "-m", "listener.cli", "run", "--config", str(config)],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    db = tmp_path / "vigie.db"
    deadline = time.monotonic() + 30
    stored_before = 0
    while time.monotonic() < deadline:
        time.sleep(0.2)
        if db.exists():
            try:
                stored_before = open_store(db, migrate_schema=False).count_mentions()
            except Exception:
                continue
            if stored_before >= 200:
                break
    assert stored_before >= 200, process.stderr.read().decode() if process.poll() is not None else "no progress"
    process.send_signal(signal.SIGTERM)
    code = process.wait(timeout=60)  # a clean stop, not a kill (generous timeout, no timing assertion)
    assert code == 0, process.stderr.read().decode()
    store = open_store(db)
    stored_after = store.count_mentions()
    cursor = int(store.get_cursor("rejeu"))
    assert stored_before <= stored_after < 3000
    # Everything up to the saved cursor is stored: a restart resumes there, nothing lost or doubled.
    assert stored_after == cursor
    store.close()

    async def resume():
        from listener.settings import load_settings

        settings = load_settings(config)
        app = Vigie(settings, clock=ReplayClock(), web_enabled=False)
        app.sources[0].settings.speed = "max"
        await app.start()
        await app.wait_for_sources()
        await app.finish_replay()
        total = app.store.count_mentions()
        distinct = app.store.conn.execute("SELECT count(DISTINCT external_id) FROM mentions").fetchone()[0]
        await app.stop()
        return total, distinct

    assert asyncio.run(resume()) == (3000, 3000)
