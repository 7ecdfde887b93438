"""Detection inside the daemon (replay → pipeline → counters → signals) and the `vigie spikes` CLI."""

from __future__ import annotations

import csv
import json
from datetime import timedelta

import numpy as np
from click.testing import CliRunner

from classifiers.detection.area import DETECTION
from classifiers.detection.service import DetectionService
from listener.app import Vigie
from listener.cli import main
from listener.clock import ReplayClock
from listener.models import Mention
from tests.helpers import T0


def write_replay(path, *, calm_minutes: int = 240, flood_minutes: int = 6):
    """Calm chatter (~2/min) then a flood of mentions carrying a hashtag nobody used before."""
    rng = np.random.default_rng(21)
    lines = []
    i = 0
    for minute in range(calm_minutes + flood_minutes + 5):
        flood = calm_minutes <= minute < calm_minutes + flood_minutes
        per_minute = 40 if flood else int(rng.poisson(2))
        for k in range(per_minute):
            i += 1
            text = ("Le pont Neuf s'est effondré, la rue est inondée #PontNeuf" if flood and k % 2 == 0
                    else f"Le tram T2 est en retard ce matin à Rivebelle, message {i}")
            item = Mention(source="mastodon", external_id=f"m{i}", text=text, lang="fr",
                           created_at=T0 + timedelta(minutes=minute, seconds=(k * 59) // max(per_minute, 1)),
                           author_handle=f"@habitant{i % 37}").to_dict()
            lines.append(json.dumps(item, ensure_ascii=False))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return calm_minutes


async def test_replay_writes_spike_and_new_term_signals(make_settings, tmp_path):
    flood_at = write_replay(tmp_path / "replay.jsonl")
    settings = make_settings(
        pipeline={"classify": False},
        sources=[{"name": "rejeu", "type": "replay", "path": str(tmp_path / "replay.jsonl")}],
        detectors={"spikes": {"warmup_minutes": 60}, "new_terms": {"warmup_minutes": 60}},
    )
    # Clock started at the recording's start: an unstarted ReplayClock reads the wall clock, and the
    # evaluation loop's first pass could then be taken at today's date (see the report to the spine).
    app = Vigie(settings, clock=ReplayClock(start=T0 - timedelta(minutes=1)))
    service = app.get(DETECTION)
    assert isinstance(service, DetectionService)
    await app.start()
    await app.wait_for_sources()
    await app.finish_replay()
    signals = app.store.signals_after(0)
    spikes = [s for s in signals if s.kind == "spike" and s.key == "all" and s.details["episode"] == "start"]
    assert len(spikes) == 1
    spike = spikes[0]
    flood_start = T0 + timedelta(minutes=flood_at)
    assert flood_start <= spike.started_at <= flood_start + timedelta(minutes=2)
    assert spike.observed > spike.expected and spike.score >= 6 and spike.severity in {"warning", "critical"}
    assert set(spike.details) >= {"window_minutes", "episode", "p_value"}
    new_terms = [s for s in signals if s.kind == "new_term"]
    assert [s.key for s in new_terms if s.details["episode"] == "start"] == ["hashtag:pontneuf"]
    assert new_terms[0].details["authors"] >= 4 and new_terms[0].details["sample_ids"]
    health = app.health()["components"]["detection"]
    assert health["state"] == "ok" and health["signals_written"] == len(signals)
    assert service.spikes.keys and service.passes > 200
    await app.stop()


def test_cli_writes_timestamp_score_and_alert(tmp_path):
    rng = np.random.default_rng(4)
    values = rng.poisson(20, 2000)
    values[1500] = 400
    (tmp_path / "series").mkdir()
    source = tmp_path / "series" / "serie.csv"
    with source.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["timestamp", "value"])
        for i, value in enumerate(values):
            writer.writerow([(T0 + timedelta(minutes=5 * i)).strftime("%Y-%m-%d %H:%M:%S"), value])
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(main, ["spikes", "--csv", str(source), "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open()))
    assert list(rows[0]) == ["timestamp", "anomaly_score", "alert"] and len(rows) == 2000
    alerts = [i for i, row in enumerate(rows) if row["alert"] == "1"]
    assert 1500 in alerts and len(alerts) <= 3

    folder_out = tmp_path / "resultats"
    result = CliRunner().invoke(main, ["spikes", "--dir", str(tmp_path / "series"), "--out", str(folder_out)])
    assert result.exit_code == 0 and (folder_out / "serie.csv").exists()
    result = CliRunner().invoke(main, ["spikes", "--csv", str(tmp_path / "absent.csv"), "--out", str(out)])
    assert result.exit_code == 2 and "introuvable" in result.output


def test_service_signals_negative_shift_and_silence_from_counters(store):
    """Counters as the pipeline writes them → negative_shift and silence signals with their contract."""
    from classifiers.detection.settings import DetectorSettings
    from listener.timeutil import bucket_start, minute_bucket

    rng = np.random.default_rng(8)
    service = DetectionService(store, DetectorSettings(), sources=["mastodon"])
    first = minute_bucket(T0)
    total_minutes = 1440 + 360
    stop_source = first + total_minutes - 60
    storm = first + total_minutes - 90
    for minute in range(first, first + total_minutes):
        counts = {}
        n = int(rng.poisson(3))
        if n:
            counts[("topic:transport", minute)] = n
            counts[("all", minute)] = n
            negative = int(rng.binomial(n, 0.7 if minute >= storm else 0.2))
            if negative:
                counts[("neg:topic:transport", minute)] = negative
        if minute < stop_source:
            counts[("source:mastodon", minute)] = int(rng.poisson(8)) + 1
        store.add_counts(counts)
        service.run(bucket_start(minute + 1))
    signals = store.signals_after(0)
    shifts = [s for s in signals if s.kind == "negative_shift" and s.details["episode"] == "start"]
    assert [s.key for s in shifts] == ["topic:transport"]
    assert shifts[0].observed > shifts[0].expected + 0.15 and shifts[0].details["volume"] >= 30
    assert set(shifts[0].details) >= {"volume", "negative", "hostile", "episode"}
    silences = [s for s in signals if s.kind == "silence" and s.details["episode"] == "start"]
    assert [s.key for s in silences] == ["source:mastodon"]
    assert silences[0].observed == 0 and silences[0].expected > 50 and silences[0].details["silent_minutes"] >= 15
    assert not [s for s in signals if s.kind == "spike"]


def test_a_restarted_daemon_learns_from_stored_history_without_replaying_old_alerts(store):
    from classifiers.detection.settings import DetectorSettings
    from listener.timeutil import bucket_start, minute_bucket

    rng = np.random.default_rng(12)
    first = minute_bucket(T0)
    history = {("all", m): int(rng.poisson(5)) for m in range(first, first + 1440)}
    history[("all", first + 700)] = 200  # an old spike: already handled before the restart
    store.add_counts({k: v for k, v in history.items() if v})
    service = DetectionService(store, DetectorSettings())
    assert service.run(bucket_start(first + 1440)) == []
    assert service.spikes.ready().all() and 3 < service.spikes.expected_rate()[0] < 8
    store.add_counts({("all", first + 1440): 90})
    signals = service.run(bucket_start(first + 1441))
    assert [(s.kind, s.key, s.details["episode"]) for s in signals] == [("spike", "all", "start")]
