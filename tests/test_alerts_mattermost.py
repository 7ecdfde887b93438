"""Mattermost through the real outbox: incoming webhook post with a Slack-compatible attachment,
retries on 429/5xx, a refused webhook stops with a French reason, a hostile post arrives inert."""

from __future__ import annotations

import json

import pytest

from tests.channel_cases import alerts_settings, assert_inert, deliver, queue_alert, state
from tests.fakes.mattermost import FakeMattermost


@pytest.fixture
async def mm():
    async with FakeMattermost() as fake:
        yield fake


async def test_alert_posted_with_attachment_fields_and_idempotency_key(store, mm):
    row = queue_alert(store, "mattermost", mm.hook_url())
    await deliver(store, alerts_settings("mattermost", ui_url="https://vigie.rivebelle.fr"))
    assert state(store, row).state == "sent"
    (post,) = mm.posts
    (attachment,) = post["attachments"]
    assert attachment["color"] == "#dc2626" and attachment["title_link"] == "https://vigie.rivebelle.fr"
    fields = {f["title"]: f["value"] for f in attachment["fields"]}
    assert fields["Gravité"] == "🔴 CRITIQUE" and fields["Mesure"].startswith("observé 38")
    assert "Rue des Lilas".lower() in attachment["text"].lower()
    assert post["props"]["vigie_idempotency_key"] == f"alert:1:mattermost:{mm.hook_url()}"
    assert post["username"] == "Vigie" and post["text"] == "🔴 CRITIQUE — Pic de mentions « inondation »"


async def test_hostile_post_and_title_arrive_inert(store, mm):
    from tests.channel_cases import HOSTILE_CHAT

    row = queue_alert(store, "mattermost", mm.hook_url(), title=f"#crue {HOSTILE_CHAT}")
    await deliver(store, alerts_settings("mattermost"))
    assert state(store, row).state == "sent"
    (post,) = mm.posts
    attachment = post["attachments"][0]
    for text in [post["text"], attachment["text"], *(f["value"] for f in attachment["fields"])]:
        assert_inert(text)
    for text in [attachment["title"], attachment["fallback"]]:
        assert_inert(text, formatting=False)
    assert "@\u200bchannel" in attachment["text"]  # still readable, just not a mention
    assert "~\u200btown" in attachment["text"]  # ~channel links broken too


async def test_rate_limit_and_server_errors_are_retried(store, mm):
    mm.inject("429", path="/hooks/", retry_after=0.05)
    mm.inject("503", path="/hooks/")
    row = queue_alert(store, "mattermost", mm.hook_url())
    await deliver(store, alerts_settings("mattermost"))
    assert mm.faults_served == ["429", "503"]
    sent = state(store, row)
    assert sent.state == "sent" and sent.attempts == 3 and len(mm.posts) == 1


async def test_unknown_webhook_stops_with_a_french_reason(store, mm):
    row = queue_alert(store, "mattermost", f"{mm.url}/hooks/supprime")
    await deliver(store, alerts_settings("mattermost"))
    dead = state(store, row)
    assert dead.state == "dead" and dead.attempts == 1
    assert dead.last_error == "Mattermost : requête refusée (HTTP 400) : Invalid webhook."
    assert not mm.posts


async def test_digest_posted_as_escaped_markdown(store, mm):
    from alerts.delivery import DigestDelivery, build_channels, enqueue_digest
    from alerts.settings import DigestGroup
    from alerts.worker import OutboxWorker
    from listener.clock import Clock
    from tests.channel_cases import PARIS
    from tests.test_alerts_digest import END, digest_scenario

    trending, crisis = digest_scenario(store, END)
    settings = alerts_settings("mattermost")
    channels = build_channels(settings, store)
    sender = DigestDelivery(store, settings, channels, tz=PARIS, institution="Ville de Rivebelle",
                            trending=trending, crisis_state=crisis)
    worker = OutboxWorker(store, settings, channels, clock=Clock(), tz=PARIS, institution="Ville de Rivebelle",
                          digest_sender=sender)
    assert enqueue_digest(store, DigestGroup(name="elus", mattermost=[mm.hook_url()]), as_of=END, tz=PARIS) == 1
    await worker.drain(timeout=10)
    await worker.close()
    (post,) = mm.posts
    assert post["text"].startswith("#### Synthèse du matin") and "inondation" in post["text"]
    assert post["props"]["vigie_kind"] == "digest"
    json.dumps(post)
