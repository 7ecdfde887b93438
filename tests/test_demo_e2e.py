"""The demo, end to end, as a new user runs it: `vigie demo --once` replays the bundled 36 hours of
Rivebelle through the real daemon (pipeline, classifiers, detectors, rules, outbox, console channel).

What a user must see: the flood of the second morning raises critical alerts, switches the city into
crisis mode, and the promotional post scheduled for 09:00 UTC that morning is held, not published."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

DEMO_INGEST_TOKEN = "jeton-ingestion-demo"


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory) -> tuple[str, Path, str]:
    """Runs `vigie demo` (web UI left open, like a user would) until it prints the dashboard address."""
    out = tmp_path_factory.mktemp("demo")
    env = dict(os.environ, PYTHONUNBUFFERED="1", VIGIE_INGEST_TOKEN=DEMO_INGEST_TOKEN)
    process = subprocess.Popen(
        [sys.executable, "-m", "listener.cli", "demo", "--port", "0", "--out", str(out / "run")],
        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    lines: list[str] = []
    url = ""
    deadline = time.monotonic() + 300
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        match = re.search(r"Interface web : (http://127\.0\.0\.1:\d+/)", line)
        if match:
            url = match.group(1)
        if url and "rôle admin" in line:  # the demo's accounts are printed after the address
            break
    stdout = "".join(lines)
    assert url, stdout[-4000:]
    yield stdout, out / "run" / "vigie-demo.db", url
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=20) == 0


def test_demo_prints_its_alerts_in_french(demo_run):
    stdout, _, _ = demo_run
    assert "Bilan de la démonstration" in stdout
    assert "Alertes :" in stdout and "critiques" in stdout
    # The console channel printed the flood alert as it was delivered.
    assert "inondation" in stdout.lower()


def test_demo_flood_switches_to_crisis_mode(demo_run):
    stdout, db_path, _ = demo_run
    db = sqlite3.connect(db_path)
    state, since = db.execute("SELECT state, since FROM crisis_state WHERE id = 1").fetchone()
    assert state == "crise"
    # The flood starts at 06:40 UTC on the 18th; crisis mode follows within the hour, not before.
    assert "2026-11-18T06:40" <= since <= "2026-11-18T07:40", since
    assert "CRISE" in stdout


def test_demo_promotional_post_is_held_and_never_published(demo_run):
    _, db_path, _ = demo_run
    db = sqlite3.connect(db_path)
    db.row_factory = sqlite3.Row
    posts = {row["category"]: row for row in db.execute("SELECT * FROM scheduled_posts")}
    assert posts["promotion"]["state"] == "held"
    # The event post of the day before went out on schedule (dry-run publisher in the demo).
    assert posts["evenement"]["state"].startswith("published")


def test_demo_contentious_subject_is_flagged_without_crisis_before_the_flood(demo_run):
    _, db_path, _ = demo_run
    db = sqlite3.connect(db_path)
    first_crisis = db.execute(
        "SELECT min(at) FROM crisis_log WHERE to_state = 'crise'"
    ).fetchone()[0]
    assert first_crisis is not None and first_crisis >= "2026-11-18T06:40"
    hostile = db.execute(
        "SELECT count(*) FROM alerts WHERE rule_type = 'hostility' AND created_at < '2026-11-18T00:00'"
    ).fetchone()[0]
    assert hostile >= 1


# -- incidents: a few true messages on the worst day (issue 13) -----------------------------------------

FLOOD_START, FLOOD_HOUR = "2026-11-18T06:40", "2026-11-18T07:40"


def test_demo_flood_is_one_incident_with_a_french_title_and_every_facet(demo_run):
    import json

    _, db_path, _ = demo_run
    db = sqlite3.connect(db_path)
    ids = {row[0] for row in db.execute(
        "SELECT incident_id FROM alerts WHERE created_at >= ? AND (key LIKE 'crisis:%' OR rule = 'crise-lexique')",
        [FLOOD_START])}
    assert len(ids) == 1, ids
    title, facets = db.execute("SELECT title, facets FROM incidents WHERE id = ?", list(ids)).fetchone()
    assert title == "Inondation — quartier des Tanneurs"
    assert {"inondation", "evacuation", "coupure_electricite"} <= set(json.loads(facets))


def test_demo_flood_first_hour_at_most_8_messages_per_group_carrying_everything(demo_run):
    import json

    _, db_path, _ = demo_run
    db = sqlite3.connect(db_path)
    rows = db.execute("SELECT recipient_group, channel, kind, payload FROM outbox WHERE created_at >= ? "
                      "AND created_at < ? ORDER BY id", [FLOOD_START, FLOOD_HOUR]).fetchall()
    per_channel: dict[tuple[str, str], int] = {}
    for group, channel, _, _ in rows:
        per_channel[(group, channel)] = per_channel.get((group, channel), 0) + 1
    assert per_channel and max(per_channel.values()) <= 8, per_channel
    cell = [(kind, json.loads(payload)) for group, channel, kind, payload in rows if group == "cellule"
            and channel == "console"]
    assert {p.get("to") for kind, p in cell if kind == "crisis"} == {"vigilance", "crise"}
    assert any(kind == "held_posts" for kind, _ in cell)
    facets = {f for kind, p in cell if "incident" in p for f in p["incident"]["facets"]}
    assert {"Inondation", "Évacuation", "Coupure d'électricité"} <= facets
    # An update never repeats the figures of the message before it.
    told = [(p["incident"]["severity"], p["incident"]["headline"], tuple(p["incident"]["facets"]))
            for kind, p in cell if "incident" in p]
    assert len(told) == len(set(told))


def test_demo_no_message_or_alert_shows_evidence_newer_than_itself(demo_run):
    import json

    _, db_path, _ = demo_run
    db = sqlite3.connect(db_path)
    created = dict(db.execute("SELECT id, created_at FROM mentions"))
    for (payload,) in db.execute("SELECT payload FROM outbox WHERE payload LIKE '%\"incident\"%'"):
        snapshot = json.loads(payload)["incident"]
        assert all(created[i] <= snapshot["at"] for i in snapshot["evidence"] if i in created), snapshot
    for evidence, updated_at in db.execute("SELECT evidence, updated_at FROM alerts"):
        assert all(created[i] <= updated_at for i in json.loads(evidence) if i in created)


def test_demo_line_12_day_is_one_incident_not_one_per_official(demo_run):
    _, db_path, _ = demo_run
    db = sqlite3.connect(db_path)
    ids = {row[0] for row in db.execute(
        "SELECT incident_id FROM alerts WHERE created_at < '2026-11-17T20:00' AND created_at >= '2026-11-17T12:00' "
        "AND (rule = 'hostilite-elus' OR key = 'hashtag:ligne12')")}
    assert len(ids) == 1, ids
    (title,) = db.execute("SELECT title FROM incidents WHERE id = ?", list(ids)).fetchone()
    assert "#Ligne12" in title and "Claire Marchand" in title and "Karim Benali" in title


# -- after the replay: the daemon left open keeps storing what it accepts ----------------------------------


def _ingest(url: str, items: list[dict], query: str = "") -> tuple[int, dict]:
    import json
    import urllib.error
    import urllib.request

    request = urllib.request.Request(f"{url}api/ingest{query}", data=json.dumps(items).encode(), method="POST",
                                     headers={"Content-Type": "application/json",
                                              "Authorization": f"Bearer {DEMO_INGEST_TOKEN}"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 (loopback)
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def test_demo_left_open_after_its_replay_stores_what_ingest_accepts(demo_run):
    _, db_path, url = demo_run
    # Dated inside the recorded days, so the demo's clock (and the other tests' story) does not move.
    item = {"source": "outil-cellule", "text": "Rivebelle : la passerelle des Tanneurs est rouverte",
            "created_at": "2026-11-18T12:00:00Z", "author_handle": "@mairie"}
    status, body = _ingest(url, [{**item, "external_id": "apres-rejeu-1"}])
    assert (status, body["stored"]) == (200, 1), body
    status, body = _ingest(url, [{**item, "external_id": "apres-rejeu-2"}], query="?wait=false")
    assert status == 202 and body["results"][0]["status"] == "queued", body
    db = sqlite3.connect(db_path)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # « queued » is fed from the spool by the running daemon, not at a restart
        stored = {row[0] for row in db.execute(
            "SELECT external_id FROM mentions WHERE source = 'outil-cellule'")}
        if stored == {"apres-rejeu-1", "apres-rejeu-2"}:
            break
        time.sleep(0.2)
    assert stored == {"apres-rejeu-1", "apres-rejeu-2"}
    assert db.execute("SELECT count(*) FROM ingest_spool").fetchone()[0] == 0
