"""Crisis mode as the communication cell lives it: levels, who/when/why, announcements, calm period."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from listener.cli import main
from listener.store import Store
from rules import crisis, posting_queue
from rules.crisis import CrisisTransitionError

T = datetime(2026, 11, 18, 8, 0, tzinfo=UTC)


def announced(store: Store, kind: str) -> list[dict]:
    rows = store.conn.execute("SELECT payload FROM outbox WHERE kind = ? ORDER BY id", [kind]).fetchall()
    return [json.loads(payload) for (payload,) in rows]


def distinct_crisis_announcements(store: Store) -> list[tuple[str, str]]:
    """One (from, to) per change, whatever the number of recipient channels."""
    seen: list[tuple[str, str]] = []
    for payload in announced(store, "crisis"):
        pair = (payload["from"], payload["to"])
        if pair not in seen:
            seen.append(pair)
    return seen


@pytest.fixture
def settings(make_settings):
    return make_settings(rules={"crisis": {"calm_period_minutes": 60}})


def test_full_cycle_by_hand_and_by_rule_is_logged_and_announced(store, settings):
    assert crisis.current_state(store)["state"] == "normal"
    assert crisis.enter(store, settings, "vigilance", "Claire Martin", "Rumeur de fermeture du pont", T)
    assert crisis.enter(store, settings, "crise", "règle crise-pont", "Pic de mentions hostiles", T + timedelta(minutes=5))
    assert crisis.enter(store, settings, "retour", "Claire Martin", "Pont rouvert", T + timedelta(hours=2))
    assert crisis.enter(store, settings, "normal", "Paul Durand", "Situation stabilisée", T + timedelta(hours=3))

    state = crisis.current_state(store)
    assert state["state"] == "normal" and state["actor"] == "Paul Durand" and state["reason"] == "Situation stabilisée"
    assert state["since"] == "2026-11-18T11:00:00Z"
    journal = list(reversed(crisis.journal(store)))
    assert [(r["from"], r["to"], r["actor"], r["at"]) for r in journal] == [
        ("normal", "vigilance", "Claire Martin", "2026-11-18T08:00:00Z"),
        ("vigilance", "crise", "règle crise-pont", "2026-11-18T08:05:00Z"),
        ("crise", "retour", "Claire Martin", "2026-11-18T10:00:00Z"),
        ("retour", "normal", "Paul Durand", "2026-11-18T11:00:00Z"),
    ]
    assert journal[1]["reason"] == "Pic de mentions hostiles"
    assert distinct_crisis_announcements(store) == [
        ("normal", "vigilance"), ("vigilance", "crise"), ("crise", "retour"), ("retour", "normal")]
    first = announced(store, "crisis")[0]
    assert first["actor"] == "Claire Martin" and first["reason"] == "Rumeur de fermeture du pont"
    assert first["at"] == "2026-11-18T08:00:00Z"


def test_same_level_again_changes_nothing(store, settings):
    assert crisis.enter(store, settings, "crise", "Claire", "Inondation", T)
    assert not crisis.enter(store, settings, "crise", "règle x", "encore", T + timedelta(minutes=1))
    assert len(crisis.journal(store)) == 1
    assert crisis.current_state(store)["since"] == "2026-11-18T08:00:00Z"


@pytest.mark.parametrize(
    ("path", "target", "fragment"),
    [
        ([], "retour", "refusé"),
        (["crise"], "normal", "refusé"),
        (["crise"], "vigilance", "refusé"),
        ([], "panique", "niveau inconnu"),
    ],
)
def test_invalid_transitions_are_refused_in_french(store, settings, path, target, fragment):
    for step in path:
        crisis.enter(store, settings, step, "Claire", "motif", T)
    before = crisis.current_state(store)
    with pytest.raises(CrisisTransitionError) as error:
        crisis.enter(store, settings, target, "Claire", "motif", T + timedelta(minutes=1))
    assert fragment in str(error.value)
    assert crisis.current_state(store) == before


def test_a_change_needs_someone_to_answer_for_it(store, settings):
    with pytest.raises(CrisisTransitionError, match="qui décide"):
        crisis.enter(store, settings, "crise", "  ", "motif", T)


def test_calm_period_steps_crisis_down_to_retour_and_never_further(store, settings):
    crisis.enter(store, settings, "crise", "Claire", "Explosion rue Haute", T)
    crisis.note_critical_alert(store, T + timedelta(minutes=30))
    assert not crisis.tick(store, settings, T + timedelta(minutes=89))
    assert crisis.current_state(store)["state"] == "crise"
    crisis.note_critical_alert(store, T + timedelta(minutes=20))  # an older alert never shortens the calm
    assert crisis.tick(store, settings, T + timedelta(minutes=90))
    state = crisis.current_state(store)
    assert state["state"] == "retour" and state["actor"] == "système" and "60 min" in state["reason"]
    assert ("crise", "retour") in distinct_crisis_announcements(store)
    # "retour" → "normal" only by hand, however long it stays calm.
    assert not crisis.tick(store, settings, T + timedelta(days=3))
    assert crisis.current_state(store)["state"] == "retour"


def test_vigilance_never_ends_by_itself(store, settings):
    crisis.enter(store, settings, "vigilance", "Claire", "Manifestation annoncée", T)
    for minutes in range(0, 24 * 60, 7):
        crisis.tick(store, settings, T + timedelta(minutes=minutes))
    assert crisis.current_state(store)["state"] == "vigilance"


def test_entering_crisis_holds_promotional_posts_and_tells_the_cell_which(store, settings):
    def add(category: str, hours: float, text: str | None = None) -> int:
        return posting_queue.add_post(store, text=text or f"Publication {category}", channel="mastodon", category=category,
                                scheduled_at=T + timedelta(hours=hours), author="Léa", at=T - timedelta(days=1))

    promo = add("promotion", 1, "Venez au marché de Noël !")
    joke = add("humour", -0.5)  # already due, not yet out
    event = add("evenement", 20)
    info = add("information", 1)
    later_promo = add("promotion", 24 * 10)  # beyond the horizon: checked when it falls due
    crisis.enter(store, settings, "crise", "Claire", "Accident du tram", T)

    held = {p["id"] for p in posting_queue.list_posts(store, states=["held"])}
    assert held == {promo, joke, event}
    assert posting_queue.get_post(store, info)["state"] == "scheduled"
    assert posting_queue.get_post(store, later_promo)["state"] == "scheduled"
    messages = announced(store, "held_posts")
    assert messages, "the cell must be told which posts were held"
    listed = {p["id"] for p in messages[0]["posts"]}
    assert listed == held
    sample = next(p for p in messages[0]["posts"] if p["id"] == promo)
    assert sample == {"id": promo, "text": "Venez au marché de Noël !", "category": "promotion",
                      "channel": "mastodon", "scheduled_at": "2026-11-18T09:00:00Z"}
    assert "crise" in messages[0]["reason"]


def write_config(tmp_path) -> str:
    path = tmp_path / "config.toml"
    path.write_text(f'[store]\npath = "{tmp_path / "cli.db"}"\n\n[rules.crisis]\ncalm_period_minutes = 60\n',
                    encoding="utf-8")
    return str(path)


def test_cli_on_status_off_and_journal(tmp_path):
    config = write_config(tmp_path)
    runner = CliRunner()
    result = runner.invoke(main, ["crise", "on", "--config", config, "--motif", "Inondation quartier Sud",
                                  "--par", "Claire Martin"])
    assert result.exit_code == 0, result.output
    assert "CRISE" in result.output and "Inondation quartier Sud" in result.output

    result = runner.invoke(main, ["crise", "status", "--config", config])
    assert result.exit_code == 0
    assert "CRISE" in result.output and "Claire Martin" in result.output
    assert "retenues : evenement, humour, promotion" in result.output

    result = runner.invoke(main, ["crise", "on", "--config", config, "--niveau", "vigilance", "--motif", "x",
                                  "--par", "Paul"])
    assert result.exit_code == 2 and "refusé" in result.output and "Traceback" not in result.output

    result = runner.invoke(main, ["crise", "off", "--config", config, "--par", "Paul Durand", "--motif", "Décrue"])
    assert result.exit_code == 0, result.output
    assert "RETOUR À LA NORMALE" in result.output
    result = runner.invoke(main, ["crise", "off", "--config", config, "--par", "Paul Durand", "--motif", "Fin"])
    assert "NORMAL" in result.output
    result = runner.invoke(main, ["crise", "off", "--config", config, "--par", "Paul Durand", "--motif", "Fin"])
    assert "Déjà en mode normal" in result.output

    result = runner.invoke(main, ["crise", "journal", "--config", config])
    lines = result.output.strip().splitlines()
    assert len(lines) == 3
    assert "retour à la normale → normal  par Paul Durand — Fin" in lines[0]
    assert "normal → crise  par Claire Martin — Inondation quartier Sud" in lines[-1]


async def test_web_api_reads_and_changes_the_level(make_settings, monkeypatch):
    import aiohttp

    from listener.app import Vigie

    monkeypatch.setenv("TEST_VIGIE_API_TOKEN", "tok")
    app = Vigie(make_settings(pipeline={"classify": False}, web={"api_token_env": "TEST_VIGIE_API_TOKEN"}),
                deliver=False)
    await app.start()
    try:
        base = f"http://127.0.0.1:{app.web_port}"
        headers = {"Authorization": "Bearer tok"}
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/api/crisis") as response:
                assert response.status == 401  # who changed the level is not for anyone to read
            async with http.get(f"{base}/api/crisis", headers=headers) as response:
                body = await response.json()
                assert body["state"] == "normal" and "crise" in body["allowed"]
            change = {"state": "crise", "actor": "Claire", "reason": "Incendie"}
            async with http.post(f"{base}/api/crisis", json=change) as response:
                assert response.status == 401
            async with http.post(f"{base}/api/crisis", json=change, headers=headers) as response:
                body = await response.json()
                assert response.status == 200 and body["changed"] and body["state"] == "crise"
            async with http.post(f"{base}/api/crisis", json={"niveau": "normal", "par": "Claire", "motif": "x"},
                                 headers=headers) as response:
                assert response.status == 409 and "refusé" in (await response.json())["error"]
            async with http.get(f"{base}/api/crisis", headers=headers) as response:
                body = await response.json()
                assert body["journal"][0]["actor"] == "Claire" and body["journal"][0]["reason"] == "Incendie"
            async with http.get(f"{base}/api/posts", headers=headers) as response:
                assert (await response.json())["posts"] == []
    finally:
        await app.stop()
