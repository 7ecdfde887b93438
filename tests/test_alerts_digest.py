"""The morning digest: content, preview with inlined images, Slack post, scheduling, CLI, Chromium."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import sys
import tempfile
import types
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from alerts import digest as digest_mod
from alerts import outbox
from alerts.delivery import enqueue_digest
from alerts.settings import DigestGroup, DigestSettings
from tests.test_alerts_data import T0, digest_scenario

PARIS = __import__("zoneinfo").ZoneInfo("Europe/Paris")
END = T0.replace(hour=6, minute=30)  # 7:30 in Paris


def build(store):
    trending, crisis = digest_scenario(store, END)
    return digest_mod.build_digest(store, as_of=END, tz=PARIS, institution="Ville de Rivebelle",
                                   settings=DigestSettings(), group="elus", trending=trending, crisis_state=crisis)


def test_digest_content(store):
    digest = build(store)
    assert [t.name for t in digest.topics] == ["inondation", "transports", "marché de Noël", "#travauxgare"]
    flood = digest.topics[0]
    assert flood.volume == 412 and flood.change == 3.1 and flood.negative == 0.58
    assert flood.key == "topic:inondation" and flood.chart[:4] == b"\x89PNG"
    assert digest.topics[3].key == "hashtag:travauxgare"
    assert [a.title for a in digest.open_alerts] == ["Pic de mentions « inondation »", "Hostilité envers Claire Marchand"]
    assert [a.title for a in digest.resolved_alerts] == ["Pic de mentions « tram T2 »"]
    assert digest.crisis["state"] == "vigilance" and digest.crisis_label == "🟠 vigilance"
    assert digest.total_mentions > 1400 and round(digest.negative_share, 2) == 0.41 and len(digest.notable) == 5
    assert digest.notable[0].text.startswith("La rue de la Gare")


def test_preview_inlines_images_as_data_uris_and_escapes(store):
    html = digest_mod.render_preview(build(store))
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert len(images) == 4 and all(base64.b64decode(i)[:4] == b"\x89PNG" for i in images)
    assert "cid:" not in html
    for text in ("Synthèse du matin", "Sujets du moment", "412", "▲ +310 %", "58 % négatif", "Alertes",
                 "Ouvertes (2)", "Résolues sur la période (1)", "Mentions remarquées", "vigilance", "depuis le 16/11 à 23:30"):
        assert text in html, text
    assert "<script" not in html and "javascript:" not in html and "<!channel>" not in html
    assert "&lt;script&gt;" in html


def test_text_version_and_slack_blocks(store):
    digest = build(store)
    text = digest_mod.render_text(digest)
    assert "1. inondation — 412 mentions (▲ +310 %), 58 % négatives" in text
    assert "Mode de crise : 🟠 vigilance depuis le 16/11 à 23:30" in text
    fallback, blocks = digest_mod.slack_blocks(digest)
    assert blocks[0]["type"] == "header" and "Synthèse du matin" in blocks[0]["text"]["text"]
    topics = [b for b in blocks if b["type"] == "section" and "Sujets du moment" in b["text"].get("text", "")][0]
    assert "*inondation* — 412 mentions (▲ +310 %)" in topics["text"]["text"]
    assert "∗" not in fallback


def test_digest_is_queued_once_per_day_and_group(store):
    group = DigestGroup(name="elus", emails=["maire@rivebelle.fr"], slack=["#elus"], console=True)
    assert enqueue_digest(store, group, as_of=END, tz=PARIS) == 3
    assert enqueue_digest(store, group, as_of=END + timedelta(minutes=5), tz=PARIS) == 0  # job ran twice
    assert enqueue_digest(store, group, as_of=END + timedelta(days=1), tz=PARIS) == 3
    rows = outbox.list_rows(store)
    assert {r.channel for r in rows} == {"email", "slack", "console"} and {r.kind for r in rows} == {"digest"}


async def test_digest_posted_to_slack(store, monkeypatch):
    from alerts.delivery import DigestDelivery, build_channels
    from alerts.settings import AlertsSettings
    from alerts.worker import OutboxWorker
    from listener.clock import Clock
    from tests.fakes.slack_api import FakeSlack

    monkeypatch.setenv("VIGIE_SLACK_TOKEN", "xoxb-vigie-test")
    trending, crisis = digest_scenario(store, END)
    async with FakeSlack() as slack:
        settings = AlertsSettings(slack={"base_url": slack.base_url}, email={"enabled": False})
        channels = build_channels(settings, store)
        sender = DigestDelivery(store, settings, channels, tz=PARIS, institution="Ville de Rivebelle",
                                trending=trending, crisis_state=crisis)
        worker = OutboxWorker(store, settings, channels, clock=Clock(), tz=PARIS, institution="Ville de Rivebelle",
                              digest_sender=sender)
        enqueue_digest(store, DigestGroup(name="elus", slack=["#elus"]), as_of=END, tz=PARIS)
        await worker.drain(timeout=10)
    (message,) = slack.messages
    assert message["channel"] == "C0ELUS" and "Synthèse du matin" in message["text"]
    assert message["metadata"]["event_type"] == "vigie_digest"
    assert outbox.list_rows(store)[0].state == "sent"


def test_cli_preview_writes_html(tmp_path, monkeypatch):
    from listener.areas import open_store
    from listener.cli import main

    db = tmp_path / "vigie.db"
    store = open_store(db)
    trending, crisis = digest_scenario(store, END)
    store.close()
    monkeypatch.setitem(sys.modules, "classifiers.detection.trending", types.SimpleNamespace(compute_trending=trending))
    monkeypatch.setitem(sys.modules, "rules.crisis", types.SimpleNamespace(current_state=crisis))
    config = tmp_path / "c.toml"
    config.write_text(f'[store]\npath = "{db}"\n[[alerts.digest.groups]]\nname = "elus"\nemails = ["maire@rivebelle.fr"]\n')
    out = tmp_path / "out" / "digest.html"
    result = CliRunner().invoke(main, ["digest", "--config", str(config), "--preview", str(out)])
    assert result.exit_code == 0, result.output
    assert "Aperçu écrit" in result.output and "4 sujet(s)" in result.output
    html = out.read_text()
    assert "data:image/png;base64," in html and "17/11/2026" in html  # as of the newest stored mention's day
    result = CliRunner().invoke(main, ["digest", "--config", str(config)])
    assert result.exit_code == 2 and "--preview" in result.output


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def screenshot(html: Path, png: Path) -> None:
    profile = tempfile.mkdtemp()
    subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
         f"--screenshot={png}", "--window-size=1000,1800", html.resolve().as_uri()],
        check=True, capture_output=True, timeout=60,
    )
    shutil.rmtree(profile, ignore_errors=True)


@pytest.mark.skipif(chromium() is None, reason="chromium not installed (make browser)")
def test_preview_renders_in_headless_chromium(store, tmp_path):
    html = tmp_path / "digest.html"
    html.write_text(digest_mod.render_preview(build(store)), encoding="utf-8")
    png = tmp_path / "digest.png"
    screenshot(html, png)
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 50_000
    import matplotlib.image as mpimg

    pixels = mpimg.imread(str(png))
    assert pixels.shape[1] == 1000
    # the header band (dark blue) and charts (blue and red bars) were painted, not a blank page
    assert pixels[:, :, 2].std() > 0.05


def test_digest_counts_abuse_threats_and_hostility_from_the_counters(store):
    """The cell sees at a glance how much abuse its pages got, and whether any of it threatened anyone."""
    trending, crisis = digest_scenario(store, END)
    bucket = int((END - timedelta(hours=2)).timestamp()) // 60
    store.conn.executemany("INSERT INTO counts (key, bucket, n) VALUES (?, ?, ?)",
                           [("abusive:all", bucket, 12), ("threat:all", bucket, 1), ("hostile:all", bucket, 4)])
    digest = digest_mod.build_digest(store, as_of=END, tz=PARIS, institution="Ville de Rivebelle",
                                     settings=DigestSettings(), trending=trending, crisis_state=crisis, charts=False)
    assert (digest.abusive, digest.threats, digest.hostile) == (12, 1, 4)
    line = "Propos abusifs : 12 (dont 1 menace), 4 visant l'institution ou ses élus"
    assert digest.abuse_line == line
    assert line in digest_mod.render_text(digest)
    assert line in json.dumps(digest_mod.slack_blocks(digest)[1], ensure_ascii=False)


def test_digest_counts_crises_abroad_apart(store):
    """A town is never alerted on « séisme au Japon », but the morning digest says how many were seen."""
    trending, crisis = digest_scenario(store, END)
    quiet = digest_mod.build_digest(store, as_of=END, tz=PARIS, institution="Ville de Rivebelle",
                                    settings=DigestSettings(), trending=trending, crisis_state=crisis, charts=False)
    assert quiet.crisis_abroad == 0 and "à l'étranger" not in digest_mod.render_text(quiet)
    bucket = int((END - timedelta(hours=2)).timestamp()) // 60
    store.conn.execute("INSERT INTO counts (key, bucket, n) VALUES ('crisis_abroad:all', ?, 3)", [bucket])
    digest = digest_mod.build_digest(store, as_of=END, tz=PARIS, institution="Ville de Rivebelle",
                                     settings=DigestSettings(), trending=trending, crisis_state=crisis, charts=False)
    line = "Crises signalées à l'étranger : 3 (comptées à part, sans alerte)"
    assert digest.abroad_line == line
    assert line in digest_mod.render_text(digest)
    assert "3 (comptées à part, sans alerte)" in digest_mod.render_preview(digest)
    assert line in json.dumps(digest_mod.slack_blocks(digest), ensure_ascii=False)
