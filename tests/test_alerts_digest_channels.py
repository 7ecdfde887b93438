"""The morning digest through the new channels' `send_digest`: a Teams card, a Matrix message (body +
sanitised HTML), a Mattermost post (tests/test_alerts_mattermost.py); never by SMS."""

from __future__ import annotations

from alerts.delivery import DigestDelivery, build_channels, enqueue_digest
from alerts.settings import DigestGroup
from alerts.worker import OutboxWorker
from listener.clock import Clock
from tests.channel_cases import PARIS, alerts_settings
from tests.fakes.matrix import FakeMatrix, audit_html
from tests.fakes.teams import FakeTeams
from tests.test_alerts_digest import END, digest_scenario


async def send_digest(store, settings, group: DigestGroup) -> None:
    trending, crisis = digest_scenario(store, END)
    channels = build_channels(settings, store)
    sender = DigestDelivery(store, settings, channels, tz=PARIS, institution="Ville de Rivebelle",
                            trending=trending, crisis_state=crisis)
    worker = OutboxWorker(store, settings, channels, clock=Clock(), tz=PARIS, institution="Ville de Rivebelle",
                          digest_sender=sender)
    assert enqueue_digest(store, group, as_of=END, tz=PARIS) == 1
    try:
        await worker.drain(timeout=10)
    finally:
        await worker.close()


async def test_digest_as_a_teams_card(store):
    async with FakeTeams() as teams:
        await send_digest(store, alerts_settings("teams"), DigestGroup(name="elus", teams=[teams.webhook_url()]))
        (card,) = teams.cards
        texts = teams.texts(card)
        assert texts[0].startswith("Synthèse du matin — Ville de Rivebelle")
        assert any("inondation" in t and "412 mentions" in t for t in texts)


async def test_digest_as_a_matrix_message(store, monkeypatch):
    monkeypatch.setenv("VIGIE_MATRIX_TOKEN", "syt_vigie_test")
    async with FakeMatrix() as hs:
        settings = alerts_settings("matrix", {"homeserver": hs.homeserver})
        await send_digest(store, settings, DigestGroup(name="elus", matrix=[hs.room()]))
        (event,) = hs.events
        content = event["content"]
        assert content["body"].startswith("Synthèse du matin") and content["m.mentions"] == {}
        audit = audit_html(content["formatted_body"])
        assert audit.problems == [] and "412 mentions" in "".join(audit.text)
