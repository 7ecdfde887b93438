"""Incidents as the cell notices them: one story per incident with a French title, told once when it
opens and once per material change, within a budget per group, never twice with the same figures; and
what people do (take in hand, silence, close) acts on the whole incident."""

from __future__ import annotations

from datetime import timedelta

import aiohttp
from click.testing import CliRunner

from listener.app import Vigie
from listener.cli import main as vigie_cli
from listener.clock import ReplayClock
from rules import actions
from rules.incidents import acknowledge_incident, incident_rows, resolve_incident, silence_incident
from tests.test_rules_types import T0, alerts, engine_for, labelled, outbox, signal

FLOOD = {"name": "crise", "type": "keyword", "crisis_kinds": ["inondation", "evacuation"], "min_mentions": 2,
         "window_minutes": 30, "severity": "critical", "routes": ["cellule", "cabinet"]}
SPIKE = {"name": "pic", "type": "spike", "keys": ["all", "topic:*", "crisis:*"], "min_score": 3, "min_observed": 10,
         "routes": ["cellule"], "severity_from_signal": True}


def flood_mentions(start: int, at, kinds=("inondation",), n: int = 3, text: str | None = None):
    text = text or "L'eau monte très vite dans le quartier des Tanneurs, caves inondées #InondationRivebelle #Rivebelle"
    return [labelled(start + i, f"{text} ({start + i})", at=at + timedelta(seconds=10 * i), crisis=kinds,
                     sentiment="negative") for i in range(n)]


def incidents(store) -> list[dict]:
    return incident_rows(store, status=None)


def messages(store, group: str = "cellule") -> list[dict]:
    """One row per message to a group (its first channel), in order."""
    rows = [r for r in outbox(store) if r["group"] == group and r["channel"] == "email"]
    return rows


def test_a_flood_is_one_incident_with_a_french_title_and_facets(store, make_settings):
    engine = engine_for(store, make_settings, FLOOD, SPIKE)
    store.insert_mentions(flood_mentions(1, T0))
    engine.evaluate(T0 + timedelta(minutes=1))
    store.add_signals([signal("spike", "all", at=T0 + timedelta(minutes=2), observed=40, expected=5)])
    store.insert_mentions(flood_mentions(10, T0 + timedelta(minutes=2), kinds=("evacuation", "inondation"),
                                         text="Les pompiers évacuent le quartier des Tanneurs #InondationRivebelle"))
    engine.evaluate(T0 + timedelta(minutes=3))
    (incident,) = incidents(store)
    assert incident["title"] == "Inondation — quartier des Tanneurs"
    assert [f["label"] for f in incident["facets"]] == ["Inondation", "Évacuation"]
    assert incident["severity"] == "critical"
    assert len(incident["alerts"]) == 3  # keyword inondation, keyword évacuation, the spike on every mention
    assert {a["incident_id"] for a in alerts(store)} == {incident["id"]}
    # The cell was told once at the opening; the new facet waits for the budget (10 min by default).
    (first,) = messages(store)
    assert first["kind"] == "alert" and first["payload"]["incident"]["facets"] == ["Inondation"]
    engine.evaluate(T0 + timedelta(minutes=11))
    update = messages(store)[-1]
    assert update["kind"] == "alert_update"
    assert update["payload"]["incident"]["facets"] == ["Inondation", "Évacuation"]
    assert "Évacuation" in update["payload"]["incident"]["change"]
    assert update["alert_id"] == first["alert_id"]  # Slack edits the first message and threads the update


def test_budget_holds_growth_but_a_severity_increase_goes_out_at_once(store, make_settings):
    engine = engine_for(store, make_settings, SPIKE)
    store.add_signals([signal("spike", "topic:transport", observed=20)])
    engine.evaluate(T0 + timedelta(minutes=1))
    assert len(messages(store)) == 1
    # Grown x3 two minutes later: held by the budget.
    store.add_signals([signal("spike", "topic:transport", at=T0 + timedelta(minutes=2), observed=60, episode="update")])
    engine.evaluate(T0 + timedelta(minutes=3))
    assert len(messages(store)) == 1
    # Critical a minute later: goes out at once, with the figures of now.
    store.add_signals([signal("spike", "topic:transport", at=T0 + timedelta(minutes=3), observed=70,
                              severity="critical", episode="update")])
    engine.evaluate(T0 + timedelta(minutes=4))
    sent = messages(store)
    assert len(sent) == 2
    assert sent[-1]["payload"]["incident"]["severity"] == "critical"
    assert sent[-1]["payload"]["incident"]["headline"] == 70
    # Nothing new since: however long one waits, no message repeats the same figures.
    for minute in (15, 30, 60):
        engine.evaluate(T0 + timedelta(minutes=minute))
    assert len(messages(store)) == 2
    figures = [(m["payload"]["incident"]["severity"], m["payload"]["incident"]["headline"],
                tuple(m["payload"]["incident"]["facets"])) for m in messages(store)]
    assert len(set(figures)) == len(figures)


def test_a_held_change_goes_with_the_next_message_and_only_if_still_new(store, make_settings):
    engine = engine_for(store, make_settings, SPIKE)
    store.add_signals([signal("spike", "topic:transport", observed=20)])
    engine.evaluate(T0 + timedelta(minutes=1))
    store.add_signals([signal("spike", "topic:transport", at=T0 + timedelta(minutes=2), observed=55, episode="update")])
    engine.evaluate(T0 + timedelta(minutes=3))
    store.add_signals([signal("spike", "topic:transport", at=T0 + timedelta(minutes=5), observed=90, episode="update")])
    engine.evaluate(T0 + timedelta(minutes=6))
    assert len(messages(store)) == 1
    engine.evaluate(T0 + timedelta(minutes=11))  # budget over: the held change goes, with the latest figure
    sent = messages(store)
    assert [m["payload"]["incident"]["headline"] for m in sent] == [20, 90]
    held = [e for e in incident_rows(store)[0]["alerts"]]
    assert held  # the incident keeps its alerts


def test_each_group_has_its_own_budget(store, make_settings):
    rule = {**SPIKE, "routes": ["cellule", "cabinet"], "severity": "warning"}
    engine = engine_for(store, make_settings, rule, groups={
        "cellule": {"label": "Cellule", "emails": ["cellule@rivebelle.fr"]},
        "cabinet": {"label": "Cabinet", "emails": ["cabinet@rivebelle.fr"], "budget_minutes": 60},
    })
    store.add_signals([signal("spike", "topic:transport", observed=20)])
    engine.evaluate(T0 + timedelta(minutes=1))
    store.add_signals([signal("spike", "topic:transport", at=T0 + timedelta(minutes=2), observed=80, episode="update")])
    engine.evaluate(T0 + timedelta(minutes=3))
    engine.evaluate(T0 + timedelta(minutes=12))
    assert len(messages(store, "cellule")) == 2
    assert len(messages(store, "cabinet")) == 1  # an hour between two messages for the mayor's office
    engine.evaluate(T0 + timedelta(minutes=62))
    assert len(messages(store, "cabinet")) == 2


def test_acknowledging_silencing_and_resolving_act_on_the_incident(store, make_settings):
    engine = engine_for(store, make_settings, FLOOD, SPIKE)
    store.insert_mentions(flood_mentions(1, T0))
    store.add_signals([signal("spike", "all", at=T0, observed=40, expected=5)])
    engine.evaluate(T0 + timedelta(minutes=1))
    (incident,) = incidents(store)
    # A Slack button names the first alert: the whole incident is taken in hand.
    first = min(a["id"] for a in alerts(store))
    assert actions.acknowledge_alert(store, first, "marie", T0 + timedelta(minutes=2))
    assert {a["status"] for a in alerts(store)} == {"acknowledged"}
    assert incidents(store)[0]["status"] == "acknowledged"
    assert not acknowledge_incident(store, incident["id"], "paul", T0 + timedelta(minutes=3))
    # Silenced: a new facet is kept, and told once the silence ends.
    assert silence_incident(store, incident["id"], "marie", T0 + timedelta(minutes=30), T0 + timedelta(minutes=3))
    store.insert_mentions(flood_mentions(10, T0 + timedelta(minutes=4), kinds=("evacuation",),
                                         text="Évacuation rue Basse #InondationRivebelle"))
    engine.evaluate(T0 + timedelta(minutes=15))
    assert len(messages(store)) == 1
    engine.evaluate(T0 + timedelta(minutes=31))
    assert messages(store)[-1]["payload"]["incident"]["facets"] == ["Inondation", "Évacuation"]
    assert resolve_incident(store, incident["id"], "marie", T0 + timedelta(minutes=40))
    assert {a["status"] for a in alerts(store)} == {"resolved"}
    # What fires next is a new incident.
    store.insert_mentions(flood_mentions(30, T0 + timedelta(minutes=50)))
    engine.evaluate(T0 + timedelta(minutes=51))
    assert [i["status"] for i in incidents(store)] == ["open", "resolved"]


def test_escalation_is_per_incident_not_per_alert(store, make_settings):
    engine = engine_for(store, make_settings, FLOOD, {**SPIKE, "severity": "critical"}, escalation_minutes=15)
    store.insert_mentions(flood_mentions(1, T0))
    store.add_signals([signal("spike", "all", at=T0, observed=40, expected=5),
                       signal("spike", "crisis:inondation", at=T0, observed=30, expected=1)])
    engine.evaluate(T0 + timedelta(minutes=1))
    assert len(alerts(store)) == 3 and len(incidents(store)) == 1
    engine.evaluate(T0 + timedelta(minutes=17))
    (row,) = outbox(store, "escalation")
    assert row["group"] == "astreinte" and row["payload"]["level"] == 1
    assert "escalade" in row["payload"]["incident"]["change"]


def test_the_line_12_day_is_one_incident_not_one_per_official(store, make_settings):
    hostility = {"name": "hostilite", "type": "hostility", "targets": ["Claire Marchand", "Karim Benali"],
                 "min_mentions": 2, "window_minutes": 60, "routes": ["cellule", "cabinet"]}
    new_tag = {"name": "hashtag", "type": "keyword", "terms": ["#ligne12"], "min_mentions": 2, "key_by": "rule"}
    engine = engine_for(store, make_settings, hostility, new_tag)
    store.insert_mentions([
        labelled(1, "Scandale #Ligne12 supprimée", at=T0),
        labelled(2, "On veut la #Ligne12", at=T0 + timedelta(seconds=20)),
        labelled(3, "Claire Marchand démission ! #Ligne12", at=T0 + timedelta(seconds=30), hostile=True,
                 targets=["Claire Marchand"]),
        labelled(4, "Honte à Claire Marchand #Ligne12", at=T0 + timedelta(seconds=40), hostile=True,
                 targets=["Claire Marchand"]),
    ])
    engine.evaluate(T0 + timedelta(minutes=1))
    store.insert_mentions([
        labelled(5, "Karim Benali incompétent", at=T0 + timedelta(minutes=5), hostile=True, targets=["Karim Benali"]),
        labelled(6, "Benali menteur", at=T0 + timedelta(minutes=6), hostile=True, targets=["Karim Benali"]),
    ])
    engine.evaluate(T0 + timedelta(minutes=7))
    (incident,) = incidents(store)
    assert len(incident["alerts"]) == 3
    assert incident["title"] == "#Ligne12 — hostilité envers Claire Marchand et Karim Benali"


def test_message_snapshot_is_frozen_when_queued(store, make_settings):
    """A message delivered late tells the figures of its moment, not the incident's later ones."""
    from zoneinfo import ZoneInfo

    from alerts import outbox as outbox_rows
    from alerts.console import format_notification
    from alerts.render import build_notification

    engine = engine_for(store, make_settings, SPIKE)
    store.add_signals([signal("spike", "topic:transport", observed=20)])
    engine.evaluate(T0 + timedelta(minutes=1))
    store.add_signals([signal("spike", "topic:transport", at=T0 + timedelta(minutes=20), observed=500,
                              episode="update")])
    engine.evaluate(T0 + timedelta(minutes=21))
    first_id = store.conn.execute("SELECT min(id) FROM outbox").fetchone()[0]
    notification = build_notification(store, outbox_rows.get(store, first_id), tz=ZoneInfo("Europe/Paris"),
                                      institution="Ville de Rivebelle")
    (alert,) = notification.alerts
    assert alert.details["observed"] == 20 and "20 mentions" in alert.summary
    text = format_notification(notification)
    assert "Incident n°" in text and "500" not in text and "09:01" in text


async def test_incidents_api_lists_and_shows_with_timeline(make_settings, monkeypatch):
    monkeypatch.setenv("VIGIE_API_TOKEN", "secret")
    auth = {"Authorization": "Bearer secret"}
    # A clock that never starts keeps the daemon's own per-minute pass (at wall-clock now) from taking the
    # signal before the test's pass at T0: only the test evaluates.
    app = Vigie(make_settings(pipeline={"classify": False}, rules={
        "groups": {"cellule": {"console": True}}, "rules": [SPIKE], "group_wait_seconds": 0}), clock=ReplayClock())
    await app.start()
    try:
        app.store.add_signals([signal("spike", "topic:transport", observed=20)])
        await app.evaluate(T0 + timedelta(minutes=1))
        base = f"http://127.0.0.1:{app.web_port}"
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/api/incidents", headers=auth) as response:
                assert response.status == 200
                (item,) = (await response.json())["incidents"]
            assert item["severity"] == "warning" and item["status"] == "open" and item["messages"] == 1
            assert {"id", "title", "facets", "figures", "alerts", "opened_at", "routes"} <= set(item)
            async with http.get(f"{base}/api/incidents/{item['id']}", headers=auth) as response:
                shown = (await response.json())["incident"]
            assert [e["kind"] for e in shown["timeline"]][:2] == ["opened", "notified"]
            async with http.get(f"{base}/api/incidents/999", headers=auth) as response:
                assert response.status == 404
            async with http.get(f"{base}/api/incidents", params={"status": "bogus"}, headers=auth) as response:
                assert response.status == 400
            async with http.post(f"{base}/api/incidents/{item['id']}/ack", json={"actor": "marie"}) as response:
                assert response.status in (401, 403)  # no credential
            async with http.post(f"{base}/api/incidents/{item['id']}/ack", json={"actor": "marie"},
                                 headers=auth) as response:
                assert response.status == 200 and (await response.json())["acknowledged"] is True
    finally:
        await app.stop()


def test_incidents_cli_list_show_ack_resolve(tmp_path, make_settings):
    from listener.areas import open_store
    from tests.test_rules_cli import write_config

    config = write_config(tmp_path)
    store = open_store(tmp_path / "vigie.db")
    engine = engine_for(store, make_settings, FLOOD)
    store.insert_mentions(flood_mentions(1, T0))
    engine.evaluate(T0 + timedelta(minutes=1))
    (incident,) = incidents(store)
    store.close()
    runner = CliRunner()
    listed = runner.invoke(vigie_cli, ["incidents", "list", "--config", config])
    assert listed.exit_code == 0, listed.output
    assert f"n° {incident['id']}" in listed.output and "Inondation — quartier des Tanneurs" in listed.output
    shown = runner.invoke(vigie_cli, ["incidents", "show", str(incident["id"]), "--config", config])
    assert shown.exit_code == 0, shown.output
    assert "Volets : Inondation" in shown.output and "Chronologie" in shown.output and "message envoyé" in shown.output
    acked = runner.invoke(vigie_cli, ["incidents", "ack", str(incident["id"]), "--par", "marie", "--config", config])
    assert acked.exit_code == 0 and "pris en charge par marie" in acked.output
    again = runner.invoke(vigie_cli, ["incidents", "ack", str(incident["id"]), "--par", "paul", "--config", config])
    assert again.exit_code != 0 and "n'est pas ouvert" in again.output and "Traceback" not in again.output
    closed = runner.invoke(vigie_cli, ["incidents", "resolve", str(incident["id"]), "--par", "marie",
                                       "--config", config])
    assert closed.exit_code == 0 and "clos par marie" in closed.output
    assert "Aucun incident ouvert." in runner.invoke(vigie_cli, ["incidents", "list", "--config", config]).output
    missing = runner.invoke(vigie_cli, ["incidents", "show", "999", "--config", config])
    assert missing.exit_code != 0 and "introuvable" in missing.output


def test_a_slack_button_re_renders_the_incident_not_the_bare_alert(store, make_settings):
    from rules.incidents import incident_payload

    engine = engine_for(store, make_settings, FLOOD)
    store.insert_mentions(flood_mentions(1, T0))
    engine.evaluate(T0 + timedelta(minutes=1))
    first = min(a["id"] for a in alerts(store))
    assert actions.acknowledge_alert(store, first, "marie", T0 + timedelta(minutes=2))
    payload = incident_payload(store, first, T0 + timedelta(minutes=2))
    assert payload is not None and payload["alert_ids"] == [first]
    assert payload["incident"]["title"] == "Inondation — quartier des Tanneurs"
    assert payload["incident"]["status"] == "acknowledged" and "par marie" in payload["incident"]["change"]
    assert incident_payload(store, 999, T0) is None
