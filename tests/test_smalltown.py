"""A small town's quiet week, then a fire reported by a handful of residents, through the real backtest
(`vigie rules test --json` with the shipped config.toml: real classifiers, detectors and rules).

What the cell must see: vigilance within 30 minutes of the third report, from content (distinct people
reporting the same crisis kind) since the volume barely moves; and no crisis level on the ordinary days."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from click.testing import CliRunner

from bench.smalltown import FIRE, write_week
from listener.cli import main
from listener.timeutil import parse_time
from tests.conftest import REPO_ROOT, SHARED

pytestmark = pytest.mark.skipif(not (SHARED / "data" / "umsab-fr").exists(), reason="needs ../shared/data")


@pytest.fixture(scope="module")
def week(tmp_path_factory):
    folder = tmp_path_factory.mktemp("smalltown")
    recording = folder / "semaine.jsonl"
    info = write_week(recording, SHARED, crisis=FIRE)
    result = CliRunner().invoke(main, ["rules", "test", "--replay", str(recording), "--json",
                                       "--config", str(REPO_ROOT / "config.toml")])
    assert result.exit_code == 0, result.output[-3000:]
    events = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    return info, events


def test_the_recording_is_a_small_town(week):
    info, _ = week
    per_day = info["lines"] / 8
    assert 20 <= per_day <= 50
    assert len(info["crisis_at"]) == len(FIRE)


def test_vigilance_within_30_minutes_of_the_third_report(week):
    info, events = week
    third = info["crisis_at"][2]
    levels = [(parse_time(e["at"]), e["level"]) for e in events if e["event"] == "crisis"]
    assert levels, "no crisis level at all"
    first_at, first_level = levels[0]
    assert first_level == "vigilance"
    assert info["first_report"] <= first_at <= third + timedelta(minutes=30), (first_at, third)
    # The cell is told, in French, by the incident's opening message.
    told = [e for e in events if e["event"] == "notification" and e["group"] == "cellule"
            and parse_time(e["at"]) <= third + timedelta(minutes=30) and e.get("kind") == "alert"]
    assert told and "Incendie" in (told[0]["title"] or "")


def test_no_crisis_level_on_the_ordinary_days(week):
    info, events = week
    before = [e for e in events if parse_time(e["at"]) < info["first_report"]]
    assert [e for e in before if e["event"] == "crisis"] == []
    assert [e for e in before if e["event"] == "alert" and e["severity"] == "critical"] == []


def test_every_event_is_one_json_object_in_time_order(week):
    _, events = week
    assert events
    times = [e["at"] for e in events]
    assert times == sorted(times)
    for event in events:
        assert set(event) >= {"event", "at", "rule", "key", "severity", "incident", "level", "group", "channel"}
        assert event["event"] in {"alert", "update", "resolve", "notification", "crisis"}
        if event["event"] == "notification":
            assert event["group"] and event["channel"]
        else:
            assert event["group"] is None and event["channel"] is None
        if event["event"] != "crisis":
            assert event["level"] is None or event["event"] == "notification"
