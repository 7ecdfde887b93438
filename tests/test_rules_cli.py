"""The operator's side: `vigie rules …`, `vigie ack`, `vigie silences …` and the web API for alerts."""

from __future__ import annotations

import json
from datetime import timedelta

import aiohttp
from click.testing import CliRunner

from listener.app import Vigie
from listener.areas import open_store
from listener.cli import main
from listener.clock import ReplayClock
from rules.extension import RULES
from tests.test_rules_types import GROUPS, SPIKE, T0, alerts, engine_for, signal

CONFIG = """
[store]
path = "{db}"

[pipeline]
classify = false
watch_keywords = ["mairie"]

[web]
enabled = false

[rules]
group_wait_seconds = 0
default_routes = ["cellule"]

[rules.groups.cellule]
label = "Cellule"
console = true
emails = ["cellule@rivebelle.fr"]

[rules.groups.cabinet]
label = "Cabinet"
emails = ["cabinet@rivebelle.fr"]
quiet_hours = "22:00-07:30"

[[rules.rules]]
name = "crise-test"
type = "keyword"
terms = ["inondation"]
min_mentions = 3
window_minutes = 30
severity = "critical"
routes = ["cellule", "cabinet"]
crisis = "vigilance"

[[rules.rules]]
name = "volume-mairie"
type = "volume"
keys = ["keyword:mairie"]
min_count = 4
window_minutes = 10
severity = "warning"
routes = ["cabinet"]
"""


def write_config(tmp_path, extra: str = "") -> str:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG.format(db=tmp_path / "vigie.db") + extra, encoding="utf-8")
    return str(path)


def write_replay(tmp_path) -> str:
    path = tmp_path / "jour.jsonl"
    lines = []
    # 08:00–08:20 UTC: ordinary chatter; 08:20 onwards: a flood, then the town hall is asked about it at night.
    for i in range(20):
        lines.append({"source": "mastodon", "external_id": f"a{i}", "text": f"Le marché du samedi {i}",
                      "created_at": (T0 + timedelta(minutes=i)).isoformat()})
    for i in range(5):
        lines.append({"source": "mastodon", "external_id": f"b{i}", "text": f"Inondation rue du Port, photo {i}",
                      "created_at": (T0 + timedelta(minutes=20 + i)).isoformat()})
    for i in range(5):
        lines.append({"source": "mastodon", "external_id": f"c{i}", "text": f"Que fait la mairie ? {i}",
                      "created_at": (T0 + timedelta(hours=14, minutes=i)).isoformat()})  # 23:00 Paris
    lines.append({"source": "mastodon", "external_id": "z", "text": "fin",
                  "created_at": (T0 + timedelta(hours=15)).isoformat()})
    path.write_text("\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\n", encoding="utf-8")
    return str(path)


def test_rules_test_replays_recorded_mentions_and_says_what_would_have_fired(tmp_path):
    config = write_config(tmp_path)
    result = CliRunner().invoke(main, ["rules", "test", "--replay", write_replay(tmp_path), "--config", config])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Rejeu de 31 mention(s)" in out and "Rien n'a été envoyé" in out
    assert "2 alerte(s) auraient été levées" in out
    line = next(line for line in out.splitlines() if "[crise-test]" in line)
    assert "17/11 09:2" in line and "CRITIQUE" in line and "« inondation » : 3 mentions en 30 min" in line
    assert "cellule, cabinet" in line and "mode de crise demandé : vigilance" in line
    night = next(line for line in out.splitlines() if "[volume-mairie]" in line)
    assert "17/11 23:0" in night and "différé à 18/11 07:30 : heures calmes" in night
    assert "Par règle :" in out
    assert not (tmp_path / "vigie.db").exists()  # the configured store was never touched


def test_rules_list_and_check(tmp_path):
    config = write_config(tmp_path)
    listed = CliRunner().invoke(main, ["rules", "list", "--config", config])
    assert listed.exit_code == 0
    assert "crise-test" in listed.output and "CRITIQUE" in listed.output and "cellule, cabinet" in listed.output
    checked = CliRunner().invoke(main, ["rules", "check", "--config", config])
    assert checked.exit_code == 0 and "Règles valides : 2 active(s)" in checked.output


def test_rules_check_names_the_bad_key_without_traceback(tmp_path):
    folder = tmp_path / "regles"
    folder.mkdir()
    (folder / "transport.toml").write_text('[[rules]]\nname = "pic-tram"\ntype = "spike"\nscore_min = 3\n',
                                           encoding="utf-8")
    config = write_config(tmp_path)
    text = (tmp_path / "config.toml").read_text(encoding="utf-8").replace(
        "[rules]\n", f'[rules]\nrules_dir = "{folder.name}"\n')
    (tmp_path / "config.toml").write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["rules", "check", "--config", config])
    assert result.exit_code == 2
    assert "rules[0](pic-tram).score_min" in result.output and "clé inconnue" in result.output
    assert "transport.toml" in result.output and "Traceback" not in result.output


def test_ack_and_silences_from_the_command_line(tmp_path, make_settings):
    config = write_config(tmp_path)
    store = open_store(tmp_path / "vigie.db")
    engine = engine_for(store, make_settings, SPIKE)
    store.add_signals([signal("spike", "topic:transport")])
    engine.evaluate(T0 + timedelta(minutes=1))
    alert_id = alerts(store)[0]["id"]
    store.close()
    runner = CliRunner()

    done = runner.invoke(main, ["ack", str(alert_id), "--par", "marie", "--config", config])
    assert done.exit_code == 0 and f"Alerte n° {alert_id} prise en charge par marie." in done.output
    again = runner.invoke(main, ["ack", str(alert_id), "--par", "paul", "--config", config])
    assert again.exit_code == 2 and "n'est pas ouverte" in again.output and "marie" in again.output
    missing = runner.invoke(main, ["ack", "999", "--par", "paul", "--config", config])
    assert missing.exit_code == 2 and "introuvable" in missing.output

    added = runner.invoke(main, ["silences", "add", "--regle", "pic-transport", "--cle", "topic:transport",
                                 "--duree", "2h", "--motif", "travaux annoncés", "--config", config])
    assert added.exit_code == 0 and "Silence n° 1 posé" in added.output
    listed = runner.invoke(main, ["silences", "list", "--config", config])
    assert "pic-transport" in listed.output and "travaux annoncés" in listed.output
    bad = runner.invoke(main, ["silences", "add", "--regle", "x", "--duree", "deux heures", "--motif", "m",
                               "--config", config])
    assert bad.exit_code == 2 and "durée invalide" in bad.output
    removed = runner.invoke(main, ["silences", "remove", "1", "--config", config])
    assert removed.exit_code == 0 and "levé" in removed.output
    assert "Aucun silence actif." in runner.invoke(main, ["silences", "list", "--config", config]).output


async def test_web_api_lists_acknowledges_and_silences(make_settings, monkeypatch):
    monkeypatch.setenv("VIGIE_API_TOKEN", "secret")
    settings = make_settings(pipeline={"classify": False},
                             rules={"groups": GROUPS, "rules": [SPIKE], "group_wait_seconds": 0})
    app = Vigie(settings, deliver=False, clock=ReplayClock(T0 + timedelta(minutes=1)))
    store = app.store
    store.add_signals([signal("spike", "topic:transport")])
    app.get(RULES).step(T0 + timedelta(minutes=1))
    alert_id = alerts(store)[0]["id"]
    await app.start()
    base = f"http://127.0.0.1:{app.web_port}"
    auth = {"Authorization": "Bearer secret"}
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/api/alerts", params={"status": "open"}, headers=auth) as response:
                body = await response.json()
                assert [a["id"] for a in body["alerts"]] == [alert_id]
                assert body["alerts"][0]["details"]["observed"] == 48
            async with http.post(f"{base}/api/alerts/{alert_id}/ack", json={"actor": "marie"}) as response:
                assert response.status == 401  # no token
            async with http.post(f"{base}/api/alerts/{alert_id}/ack", json={"actor": "marie"}, headers=auth) as r:
                assert r.status == 200 and (await r.json())["acknowledged"] is True
            async with http.post(f"{base}/api/alerts/{alert_id}/ack", json={}, headers=auth) as response:
                assert response.status == 409
            async with http.post(f"{base}/api/alerts/999/ack", headers=auth) as response:
                assert response.status == 404
            async with http.post(f"{base}/api/silences", json={"rule": "pic-transport", "duration": "30min",
                                                               "reason": "test"}, headers=auth) as response:
                assert response.status == 201
                silence_id = (await response.json())["id"]
            async with http.post(f"{base}/api/silences", json={"duration": "30min"}, headers=auth) as response:
                assert response.status == 400
            async with http.get(f"{base}/api/silences", headers=auth) as response:
                assert [s["id"] for s in (await response.json())["silences"]] == [silence_id]
            async with http.get(f"{base}/healthz") as response:
                health = await response.json()
                assert health["components"]["rules"]["rules"] == 1
    finally:
        await app.stop()
    check = open_store(settings.resolve(settings.store.path))
    assert alerts(check)[0]["acked_by"] == "marie"
    check.close()
