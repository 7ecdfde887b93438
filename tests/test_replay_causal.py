"""Causal replay: every figure and time in an alert is true as of the alert's time, whatever the speed.

The backtest feeds the recording through the real pipeline; before each new minute of recorded time
is handed over, every earlier minute is evaluated (Vigie.replay_gate), so a rule never sees mentions
from its future, late mentions count when they arrive, and the same recording gives the same events
at `--speed max` and `--speed 600`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from click.testing import CliRunner

from listener.cli import main
from tests.conftest import REPO_ROOT

T0 = datetime(2026, 11, 18, 6, 30, tzinfo=UTC)
FLOOD = ["L'eau monte très vite rue des Tanneurs, les caves sont inondées", "Rue inondée aux Tanneurs, voitures sous l'eau",
         "Inondation aux Tanneurs, les pompiers évacuent les rez-de-chaussée", "Ma cave est inondée, 50 cm d'eau",
         "Le quartier des Tanneurs est inondé, évitez le secteur"]


def recording(path, *, late: bool = True) -> str:
    """40 minutes: ordinary posts, then flood reports by distinct residents; one report arrives 4 minutes
    late (delivered after posts of later minutes, as ~1 % of the demo's)."""
    lines = []
    for i in range(40):
        lines.append({"source": "mastodon", "external_id": f"o{i}", "text": f"Le marché de Noël ouvre samedi {i}",
                      "created_at": (T0 + timedelta(minutes=i)).isoformat(), "author_handle": f"@voisin{i}"})
    for i, text in enumerate(FLOOD * 2):
        lines.append({"source": "mastodon", "external_id": f"f{i}", "text": text,
                      "created_at": (T0 + timedelta(minutes=10 + 2 * i, seconds=30)).isoformat(),
                      "author_handle": f"@riverain{i}"})
    lines.sort(key=lambda line: line["created_at"])
    if late:
        late_line = next(line for line in lines if line["external_id"] == "f3")
        lines.remove(late_line)
        position = next(i for i, line in enumerate(lines) if line["created_at"] > late_line["created_at"][:16] + ":59"
                        and line["created_at"] >= (T0 + timedelta(minutes=20)).isoformat())
        lines.insert(position, late_line)
    path.write_text("\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\n", encoding="utf-8")
    return str(path)


def backtest(replay: str, *extra: str) -> list[dict]:
    result = CliRunner().invoke(main, ["rules", "test", "--replay", replay, "--json",
                                       "--config", str(REPO_ROOT / "config.toml"), *extra])
    assert result.exit_code == 0, result.output[-3000:]
    return [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]


def test_same_alerts_at_speed_max_and_600(tmp_path):
    replay = recording(tmp_path / "crue.jsonl")
    fast = backtest(replay)
    slow = backtest(replay, "--speed", "600")
    assert [e for e in fast if e["event"] == "alert"], "the flood raised nothing"
    assert fast == slow


def test_no_rule_sees_the_future_and_late_mentions_still_count(tmp_path):
    events = backtest(recording(tmp_path / "crue.jsonl"))
    on_time = backtest(recording(tmp_path / "crue-sans-retard.jsonl", late=False))
    # Every alert is raised after the mentions it counts were created: three residents' reports (the third
    # written at 06:44:30) for crise-signalements, five flood posts in 30 min (the fifth at 06:48:30) for
    # crise-lexique; at full speed the whole recording is read long before, yet nothing fires early.
    raised = {e["rule"]: e["at"] for e in reversed(events) if e["event"] == "alert"}
    assert raised["crise-signalements"] >= "2026-11-18T06:45:00"
    assert raised["crise-lexique"] >= "2026-11-18T06:49:00"
    first = min(raised.values())
    # The late report is counted when it arrives (not lost): the recording with it on time ends with the
    # same alerts, at most a few minutes earlier.
    assert {(e["rule"], e["key"]) for e in events if e["event"] == "alert"} == \
        {(e["rule"], e["key"]) for e in on_time if e["event"] == "alert"}
    assert first >= min(e["at"] for e in on_time if e["event"] == "alert")


def test_bad_speed_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(main, ["rules", "test", "--replay", recording(tmp_path / "r.jsonl"), "--speed", "vite",
                                       "--config", str(REPO_ROOT / "config.toml")])
    assert result.exit_code != 0 and "vitesse invalide" in result.output and "Traceback" not in result.output


def test_demo_flood_hour_same_events_at_speed_max_and_600(tmp_path):
    """The first hour of the demo's flood (late and re-fetched mentions included) replays the same."""
    source = REPO_ROOT / "listener" / "demo" / "rivebelle.jsonl"
    kept = []
    for line in source.read_text(encoding="utf-8").splitlines():
        try:
            created = json.loads(line).get("created_at", "")
        except ValueError:
            continue
        if "2026-11-18T06:30" <= created < "2026-11-18T07:30":
            kept.append(line)
    replay = tmp_path / "crue-demo.jsonl"
    replay.write_text("\n".join(kept) + "\n", encoding="utf-8")
    fast = backtest(str(replay))
    assert [e for e in fast if e["event"] == "crisis"], "the flood raised no crisis level"
    assert fast == backtest(str(replay), "--speed", "600")
