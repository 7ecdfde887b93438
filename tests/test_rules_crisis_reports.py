"""crisis_reports as a small town's cell sees it: three different residents reporting a fire raise
vigilance, six raise crise; one person repeating themselves does not; a bigger usual volume needs more."""

from __future__ import annotations

from datetime import timedelta

from rules.types.crisis_reports import CrisisReportsOptions
from tests.test_rules_types import T0, alerts, engine_for, labelled

RULE = {"name": "signalements", "type": "crisis_reports", "crisis_kinds": ["incendie", "explosion"],
        "routes": ["cellule"]}


def report(i: int, minutes: float, author: str, kind: str = "incendie"):
    mention = labelled(i, f"Incendie rue des Écoles {i}", at=T0 + timedelta(minutes=minutes), crisis=(kind,))
    mention.author_handle = author
    return mention


def test_three_distinct_residents_raise_vigilance_and_six_crise(store, make_settings):
    engine = engine_for(store, make_settings, RULE)
    store.insert_mentions([report(1, 0, "@a"), report(2, 10, "@b"), report(3, 15, "@a")])
    assert engine.evaluate(T0 + timedelta(minutes=20)) == []  # two people (one wrote twice)
    store.insert_mentions([report(4, 40, "@c")])
    (event,) = [e for e in engine.evaluate(T0 + timedelta(minutes=41)) if e["action"] == "new"]
    assert event["severity"] == "warning" and event["crisis"] == "vigilance" and event["key"] == "crisis:incendie"
    (alert,) = alerts(store)
    assert "3 personnes" in alert["title"] and "vigilance" in alert["title"]
    assert "depuis 09:00" in alert["summary"]  # the window's first report (T0 = 08:00 UTC)
    store.insert_mentions([report(5, 50, "@d"), report(6, 55, "@e"), report(7, 60, "@f")])
    (update,) = engine.evaluate(T0 + timedelta(minutes=61))
    assert update["action"] == "update" and update["severity"] == "critical" and update["raised"]
    assert update["crisis"] == "crise"


def test_reports_outside_the_window_do_not_add_up(store, make_settings):
    engine = engine_for(store, make_settings, {**RULE, "window_minutes": 60})
    store.insert_mentions([report(1, 0, "@a"), report(2, 30, "@b")])
    engine.evaluate(T0 + timedelta(minutes=31))
    store.insert_mentions([report(3, 90, "@c")])  # the first left the window
    assert engine.evaluate(T0 + timedelta(minutes=91)) == []
    store.insert_mentions([report(4, 100, "@d", kind="explosion")])  # another kind: counted apart
    assert engine.evaluate(T0 + timedelta(minutes=101)) == []


def test_thresholds_grow_with_the_usual_volume(store, make_settings):
    engine = engine_for(store, make_settings, RULE)
    # A big city: 2,000 mentions an hour over the past two days.
    start = int(T0.timestamp()) // 60 - 2 * 1440
    store.conn.executemany("INSERT INTO counts (key, bucket, n) VALUES ('all', ?, 33)",
                           [(b,) for b in range(start, start + 2 * 1440)])
    store.insert_mentions([report(i, i, f"@r{i}") for i in range(1, 6)])
    assert engine.evaluate(T0 + timedelta(minutes=7)) == []  # five witnesses are not enough there
    rule = engine.rules[0]
    vigilance, crise = rule.thresholds("incendie", type("Ctx", (), {"as_of": T0 + timedelta(minutes=7),
                                                                    "store": store})())
    assert vigilance == 8 and crise == 16  # 0.2 % of ~3,960 mentions in two hours; crise twice as many


def test_crise_threshold_below_vigilance_is_refused():
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        CrisisReportsOptions(name="x", vigilance_authors=5, crise_authors=3)


def test_six_reports_at_once_declare_vigilance_first_then_crise(store, make_settings):
    engine = engine_for(store, make_settings, RULE)
    store.insert_mentions([report(i, i / 10, f"@r{i}") for i in range(1, 8)])
    (first,) = engine.evaluate(T0 + timedelta(minutes=1))
    assert (first["action"], first["crisis"]) == ("new", "vigilance")
    store.insert_mentions([report(9, 1.2, "@r1")])  # the next minute's posts (in a crisis, there are some)
    (second,) = engine.evaluate(T0 + timedelta(minutes=2))
    assert (second["action"], second["crisis"], second["severity"]) == ("update", "crise", "critical")
