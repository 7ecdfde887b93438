"""Routing as recipients notice it: who gets what, when (quiet hours), once (throttling, grouping), and
what happens when nobody answers (escalation) or someone asked for quiet (silences, inhibition)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from listener.timeutil import to_iso
from rules import actions
from rules.routing import notify_groups, quiet_until
from rules.settings import GroupSettings
from tests.test_rules_types import SPIKE, T0, alerts, engine_for, outbox, rules_settings, signal

PARIS = ZoneInfo("Europe/Paris")


def paris(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=PARIS).astimezone(UTC)


def test_quiet_hours_defer_a_warning_to_the_cabinet_until_0730_but_not_a_critical(store, make_settings):
    settings = rules_settings(make_settings)
    at = paris(17, 23, 0)
    queued = notify_groups(store, settings, kind="alert", payload={"alert_ids": []}, at=at, groups=["cabinet"],
                           severity="warning", idempotency_prefix="test:1")
    assert queued == 1
    (row,) = outbox(store)
    assert row["target"] == "cabinet@rivebelle.fr"
    assert row["not_before"] == to_iso(paris(18, 7, 30)) == "2026-11-18T06:30:00Z"

    notify_groups(store, settings, kind="alert", payload={"alert_ids": []}, at=at, groups=["cabinet"],
                  severity="critical", idempotency_prefix="test:2")
    assert outbox(store)[1]["not_before"] is None


def test_quiet_hours_edges_and_daytime():
    group = GroupSettings(quiet_hours="22:00-07:30")
    assert quiet_until(group, paris(17, 21, 59), PARIS) is None
    assert quiet_until(group, paris(17, 22, 0), PARIS) == paris(18, 7, 30)
    assert quiet_until(group, paris(18, 3, 0), PARIS) == paris(18, 7, 30)
    assert quiet_until(group, paris(18, 7, 30), PARIS) is None
    lunch = GroupSettings(quiet_hours="12:00-14:00")
    assert quiet_until(lunch, paris(18, 13, 0), PARIS) == paris(18, 14, 0)


def test_notify_groups_honours_min_severity_and_idempotency(store, make_settings):
    settings = rules_settings(make_settings)
    args = {"kind": "crisis", "payload": {"from": "normal", "to": "crise"}, "at": T0, "idempotency_prefix": "crisis:1"}
    assert notify_groups(store, settings, severity="info", **args) == 2  # cellule only (console + e-mail)
    assert notify_groups(store, settings, severity="info", **args) == 0  # same prefix: nothing new
    assert notify_groups(store, settings, severity="critical", **{**args, "idempotency_prefix": "crisis:2"}) == 4
    assert notify_groups(store, settings, groups=["inconnu"], **{**args, "idempotency_prefix": "crisis:3"}) == 0


def test_throttling_realert_per_rule_and_key(store, make_settings):
    engine = engine_for(store, make_settings, {**SPIKE, "realert_minutes": 30}, resolve_after_minutes=5)
    store.add_signals([signal("spike", "topic:transport"), signal("spike", "topic:culture")])
    engine.evaluate(T0 + timedelta(minutes=1))
    assert len(alerts(store)) == 2
    # The episode ended, then a new one starts 10 min later: within realert, nobody is told again.
    store.add_signals([signal("spike", "topic:transport", at=T0 + timedelta(minutes=2), episode="end")])
    engine.evaluate(T0 + timedelta(minutes=3))
    store.add_signals([signal("spike", "topic:transport", at=T0 + timedelta(minutes=11))])
    assert [e for e in engine.evaluate(T0 + timedelta(minutes=12)) if e["action"] != "resolved"] == []
    # After realert it is news again: a new alert row and a new message.
    store.add_signals([signal("spike", "topic:transport", at=T0 + timedelta(minutes=40))])
    events = engine.evaluate(T0 + timedelta(minutes=41))
    assert [e["action"] for e in events if e["action"] != "resolved"] == ["new"]
    assert len(alerts(store)) == 3


def test_related_alerts_within_group_wait_go_out_as_one_message(store, make_settings):
    rules = [{**SPIKE, "name": "pic"}, {"name": "climat", "type": "negative_share", "keys": ["topic:*"]}]
    engine = engine_for(store, make_settings, *rules, group_wait_seconds=120)
    store.add_signals([signal("spike", "topic:transport")])
    engine.evaluate(T0 + timedelta(minutes=1))
    assert outbox(store) == []  # waiting for related alerts
    store.add_signals([signal("negative_shift", "topic:transport", at=T0 + timedelta(minutes=1), observed=0.6,
                              expected=0.2, volume=50),
                       signal("spike", "topic:culture", at=T0 + timedelta(minutes=1))])
    engine.evaluate(T0 + timedelta(minutes=2))
    assert outbox(store) == []
    engine.evaluate(T0 + timedelta(minutes=3))
    # One incident (same topic) told once, with both alerts in it.
    transport = [r for r in outbox(store) if r["payload"]["incident"]["alerts"] == 2]
    assert {(r["channel"], r["target"]) for r in transport} == {("console", "-"), ("email", "cellule@rivebelle.fr")}
    assert len(outbox(store)) == 2  # culture is another story (another incident): still waiting
    engine.evaluate(T0 + timedelta(minutes=4))
    assert len(outbox(store)) == 4


def test_escalation_when_a_critical_alert_is_not_acknowledged(store, make_settings):
    critical = {**SPIKE, "severity": "critical"}
    engine = engine_for(store, make_settings, critical, escalation_minutes=15, escalation_max_level=2)
    store.add_signals([signal("spike", "topic:transport"), signal("spike", "topic:culture")])
    engine.evaluate(T0 + timedelta(minutes=1))
    first, second = (a["id"] for a in alerts(store))
    # Two topics, two incidents; taking the second alert in hand takes its incident in hand.
    assert actions.acknowledge_alert(store, second, "marie", T0 + timedelta(minutes=5))
    engine.evaluate(T0 + timedelta(minutes=10))
    assert outbox(store, "escalation") == []
    engine.evaluate(T0 + timedelta(minutes=16))
    (row,) = outbox(store, "escalation")
    assert row["group"] == "astreinte" and row["target"] == "astreinte@rivebelle.fr"
    assert row["payload"]["alert_ids"] == [first] and row["payload"]["level"] == 1
    engine.evaluate(T0 + timedelta(minutes=17))
    assert len(outbox(store, "escalation")) == 1
    engine.evaluate(T0 + timedelta(minutes=32))
    assert [r["payload"]["level"] for r in outbox(store, "escalation")] == [1, 2]
    engine.evaluate(T0 + timedelta(minutes=90))
    assert len(outbox(store, "escalation")) == 2  # max level reached


def test_acknowledge_only_open_alerts(store, make_settings):
    engine = engine_for(store, make_settings, SPIKE)
    store.add_signals([signal("spike", "topic:transport")])
    engine.evaluate(T0 + timedelta(minutes=1))
    alert_id = alerts(store)[0]["id"]
    assert actions.acknowledge_alert(store, alert_id, "marie", T0 + timedelta(minutes=2)) is True
    assert actions.acknowledge_alert(store, alert_id, "paul", T0 + timedelta(minutes=3)) is False
    assert actions.acknowledge_alert(store, 999, "paul", T0) is False
    alert = alerts(store)[0]
    assert (alert["status"], alert["acked_by"], alert["acked_at"]) == ("acknowledged", "marie", "2026-11-17T08:02:00Z")


def test_silences_suppress_matching_alerts_until_they_end(store, make_settings):
    engine = engine_for(store, make_settings, SPIKE, realert_minutes=0)
    silence = actions.add_silence(store, rule="pic-transport", key="topic:trans*", until=T0 + timedelta(hours=2),
                                  actor="marie", reason="travaux annoncés", at=T0)
    store.add_signals([signal("spike", "topic:transport"), signal("spike", "topic:culture")])
    events = engine.evaluate(T0 + timedelta(minutes=1))
    assert sorted(e["action"] for e in events) == ["new", "silenced"]
    silenced = [a for a in alerts(store) if a["key"] == "topic:transport"][0]
    assert silenced["status"] == "silenced"
    assert all(silenced["id"] not in r["payload"]["alert_ids"] for r in outbox(store))
    assert [s["id"] for s in actions.list_silences(store, T0)] == [silence]

    assert actions.remove_silence(store, silence, "marie", T0 + timedelta(minutes=5))
    assert actions.list_silences(store, T0 + timedelta(minutes=5)) == []
    store.add_signals([signal("spike", "topic:transport", at=T0 + timedelta(minutes=6), episode="update")])
    events = engine.evaluate(T0 + timedelta(minutes=7))
    assert [e["action"] for e in events] == ["new"]  # the silenced alert is told now
    assert any(silenced["id"] in r["payload"]["alert_ids"] for r in outbox(store, "alert"))


def test_a_new_silence_silences_open_alerts_too(store, make_settings):
    engine = engine_for(store, make_settings, SPIKE, group_wait_seconds=300)
    store.add_signals([signal("spike", "topic:transport")])
    engine.evaluate(T0 + timedelta(minutes=1))
    actions.add_silence(store, key="topic:transport", until=T0 + timedelta(hours=1), actor="a", reason="", at=T0)
    assert alerts(store)[0]["status"] == "silenced"
    engine.evaluate(T0 + timedelta(minutes=10))
    assert outbox(store) == []  # the pending group message was dropped


def test_an_open_critical_alert_inhibits_lower_ones_on_the_same_topic(store, make_settings):
    rules = [{**SPIKE, "severity": "critical"},
             {"name": "climat", "type": "negative_share", "keys": ["topic:*"], "severity": "warning"}]
    engine = engine_for(store, make_settings, *rules)
    store.add_signals([signal("spike", "topic:transport")])
    engine.evaluate(T0 + timedelta(minutes=1))
    store.add_signals([signal("negative_shift", "topic:transport", at=T0 + timedelta(minutes=1), observed=0.6,
                              expected=0.2, volume=50),
                       signal("negative_shift", "topic:culture", at=T0 + timedelta(minutes=1), observed=0.6,
                              expected=0.2, volume=50)])
    events = engine.evaluate(T0 + timedelta(minutes=2))
    assert sorted((e["key"], e["action"]) for e in events) == [("topic:culture", "new"),
                                                               ("topic:transport", "inhibited")]


def test_crisis_action_is_asked_once_and_only_upwards(store, make_settings, monkeypatch):
    import types

    calls = []
    state = {"state": "normal"}

    def enter(store, settings, to_state, actor, reason, at):
        calls.append((to_state, actor, at))
        state["state"] = to_state

    noted = []
    fake = types.SimpleNamespace(enter=enter, current_state=lambda store: dict(state),
                                 note_critical_alert=lambda store, at: noted.append(at))
    monkeypatch.setattr("rules.engine.crisis", fake)
    rule = {"name": "crise", "type": "keyword", "terms": ["inondation"], "severity": "critical",
            "crisis": "vigilance"}
    engine = engine_for(store, make_settings, rule)
    from tests.test_rules_types import labelled

    store.insert_mentions([labelled(1, "inondation", at=T0)])
    engine.evaluate(T0 + timedelta(minutes=1))
    assert calls == [("vigilance", "règle crise", T0 + timedelta(minutes=1))]
    assert noted == [T0 + timedelta(minutes=1)]
    state["state"] = "crise"
    store.insert_mentions([labelled(2, "inondation encore", at=T0 + timedelta(hours=5))])
    engine.evaluate(T0 + timedelta(hours=5, minutes=1))
    assert len(calls) == 1  # never steps a crisis down
