"""Teams through the real outbox: a French Adaptive Card posted to a Workflows webhook, retries on
429 (status or the connectors' 200-with-429 body) and 5xx, permanent refusals stop with a French reason,
a hostile post arrives inert."""

from __future__ import annotations

import pytest

from tests.channel_cases import HOSTILE_CHAT, alerts_settings, assert_inert, deliver, queue_alert, state
from tests.fakes.teams import FakeTeams


@pytest.fixture
async def teams():
    async with FakeTeams() as fake:
        yield fake


async def test_card_in_french_with_title_severity_figures_evidence_and_link(store, teams):
    row = queue_alert(store, "teams", teams.webhook_url())
    await deliver(store, alerts_settings("teams", ui_url="https://vigie.rivebelle.fr"))
    assert state(store, row).state == "sent"
    (card,) = teams.cards
    assert card["type"] == "AdaptiveCard" and card["lang"] == "fr"
    title = card["body"][0]
    assert title["text"].startswith("🔴 CRITIQUE — Pic de mentions « inondation »") and title["color"] == "Attention"
    facts = {f["title"]: f["value"] for f in next(e for e in card["body"] if e["type"] == "FactSet")["facts"]}
    assert facts["Mesure"] == "observé 38, attendu 1,2" and facts["Fenêtre"] == "10 min" and facts["Gravité"]
    texts = teams.texts(card)
    assert "Exemples de mentions" in texts and any("pompiers sur place" in t for t in texts)
    assert card["actions"] == [{"type": "Action.OpenUrl", "title": "Ouvrir dans Vigie",
                                "url": "https://vigie.rivebelle.fr"}]


async def test_hostile_post_and_title_arrive_inert(store, teams):
    row = queue_alert(store, "teams", teams.webhook_url(), title=f"#crue {HOSTILE_CHAT}")
    await deliver(store, alerts_settings("teams"))
    assert state(store, row).state == "sent"
    (card,) = teams.cards
    for text in teams.texts(card):
        assert_inert(text)
    links = [e["selectAction"]["url"] for e in card["body"] if "selectAction" in e]
    assert links and all(url == "https://rivebelle.social/@habitant/1" for url in links)


async def test_throttling_and_server_errors_are_retried(store, teams):
    teams.inject("429", path="/workflows/", retry_after=0.05)
    teams.inject("502", path="/workflows/")
    teams.legacy_429 = 1
    row = queue_alert(store, "teams", teams.webhook_url())
    await deliver(store, alerts_settings("teams"))
    sent = state(store, row)
    assert teams.faults_served == ["429", "502"] and teams.legacy_429 == 0
    assert sent.state == "sent" and sent.attempts == 4 and len(teams.cards) == 1


@pytest.mark.parametrize(("url", "reason"), [
    ("bad-sig", "Teams : authentification refusée (jeton ou clé) (HTTP 401) : DirectApiInvalidAuthorizationSignature"),
    ("gone", "Teams : adresse introuvable (supprimée ou mal copiée ?) (HTTP 404) : WorkflowNotFound"),
])
async def test_refused_webhook_stops_with_a_french_reason(store, teams, url, reason):
    target = teams.webhook_url(sig="faux") if url == "bad-sig" else teams.webhook_url(workflow="supprime")
    row = queue_alert(store, "teams", target)
    await deliver(store, alerts_settings("teams"))
    dead = state(store, row)
    assert dead.state == "dead" and dead.attempts == 1 and dead.last_error.startswith(reason)
    assert not teams.cards


async def test_crisis_change_is_a_card_too(store, teams):
    from alerts.outbox import enqueue
    from tests.test_alerts_data import T0

    row = enqueue(store, kind="crisis", channel="teams", target=teams.webhook_url(), at=T0,
                  payload={"from": "vigilance", "to": "crise", "actor": "règle crise-pic",
                           "reason": "Signaux de crise « inondation » x12", "at": "2026-11-17T13:32:00Z"},
                  idempotency_key="crisis:1:teams")
    await deliver(store, alerts_settings("teams"))
    assert state(store, row).state == "sent"
    texts = teams.texts(teams.cards[0])
    assert texts[0] == "Mode de crise : vigilance → CRISE" and any("Motif" in t for t in texts)
