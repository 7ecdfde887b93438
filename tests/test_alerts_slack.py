"""Slack delivery with slack-sdk's real AsyncWebClient against a local fake Slack Web API."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta

import pytest

from alerts import outbox
from alerts.outbox import enqueue
from alerts.settings import AlertsSettings
from alerts.slack import SlackChannel, mrkdwn_inert
from alerts.worker import OutboxWorker
from listener.clock import Clock
from listener.metrics import Metrics
from listener.timeutil import parse_time
from tests.fakes.slack_api import FakeSlack
from tests.test_alerts_data import HOSTILE, T0, add_alert, add_mentions

PARIS = __import__("zoneinfo").ZoneInfo("Europe/Paris")


@pytest.fixture
async def slack(monkeypatch):
    monkeypatch.setenv("VIGIE_SLACK_TOKEN", "xoxb-vigie-test")
    async with FakeSlack() as fake:
        yield fake


def make_worker(store, fake, **slack) -> OutboxWorker:
    settings = AlertsSettings(slack={"base_url": fake.base_url, **slack},
                              worker={"backoff_initial": 0.01, "backoff_max": 0.05, "poll_interval": 0.01})
    return OutboxWorker(store, settings, {"slack": SlackChannel(settings.slack, store)}, clock=Clock(), tz=PARIS,
                        institution="Ville de Rivebelle", metrics=Metrics())


def queue(store, alert_id, *, kind="alert", key="s1", target="#alertes", **payload):
    return enqueue(store, kind=kind, channel="slack", target=target, payload={"alert_ids": [alert_id], **payload},
                   idempotency_key=key, at=T0, alert_id=alert_id)


def mrkdwn_texts(message) -> list[str]:
    """Every string Slack would parse as mrkdwn: the top-level text and mrkdwn text objects."""
    found = [message["text"] or ""]

    def walk(node):
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn":
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(message["blocks"])
    return found


def plain_texts(message) -> list[str]:
    found = []

    def walk(node):
        if isinstance(node, dict):
            if node.get("type") == "plain_text":
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(message["blocks"])
    return found


async def test_alert_message_in_french_with_why_evidence_and_buttons(store, slack):
    ids = add_mentions(store, ["La rue de la Gare est sous l'eau !", "Les pompiers sont là"])
    alert = add_alert(store, evidence=ids)
    row_id = queue(store, alert)
    await make_worker(store, slack).drain(timeout=5)
    row = outbox.get(store, row_id)
    assert row.state == "sent"
    (message,) = slack.messages
    assert row.external_ref == message["ts"] and message["channel"] == "C0ALERTES"
    assert message["metadata"]["event_payload"]["idempotency_key"] == "s1"
    assert message["args"]["unfurl_links"] is False and message["args"]["parse"] == "none"
    blocks = message["blocks"]
    assert blocks[0]["type"] == "header"
    assert blocks[0]["text"]["text"] == "🔴 CRITIQUE — Pic de mentions « inondation »"
    body = "\n".join(mrkdwn_texts(message))
    assert "*Pourquoi :* Le sujet « inondation » est 30 fois plus cité" in body
    assert "*Mesure :* observé 38, attendu 1,2 (fenêtre 10 min)" in body
    assert "*Sujet :* inondation" in body
    assert "<https://rivebelle.social/@habitant/1|voir le message>" in body
    assert "sentiment négatif" in body
    assert "« La rue de la Gare est sous l'eau ! »" in plain_texts(message)
    actions = [b for b in blocks if b["type"] == "actions"][0]["elements"]
    assert [a["action_id"] for a in actions] == ["vigie_ack", "vigie_silence_1h", "vigie_silence_24h"]
    assert actions[0]["value"] == str(alert)
    stored = store.conn.execute("SELECT channel_id, ts FROM alerts_slack_messages WHERE alert_id = ?", [alert]).fetchone()
    assert stored == ("C0ALERTES", message["ts"])


async def test_hostile_post_text_cannot_ping_link_or_format(store, slack):
    ids = add_mentions(store, [HOSTILE], url="javascript:alert(1)")
    alert = add_alert(store, evidence=ids, title="Pic sur #<!here> *gras*", summary=HOSTILE, topic="<@U999|x>")
    queue(store, alert)
    await make_worker(store, slack).drain(timeout=5)
    (message,) = slack.messages
    for text in mrkdwn_texts(message):
        for bad in ("<!channel>", "<!here>", "<@U024BE7LH>", "<@U999", "<http://evil", "<script", "*URGENT*",
                    "_lisez_", "~barré~", "`code`", "javascript:"):
            assert bad not in text, (bad, text)
        # the only links are the ones we built
        assert "<http" not in text
    summary = [t for t in mrkdwn_texts(message) if "Pourquoi" in t][0]
    assert "&lt;!channel&gt; &lt;@U024BE7LH&gt; ∗URGENT∗ ˍlisezˍ ∼barré∼ ˋcodeˋ &gt; citation" in summary
    assert "&amp;" in summary
    # The post itself is shown, literally, in a plain_text block.
    assert any(t.startswith("« <!channel> <@U024BE7LH> *URGENT*") for t in plain_texts(message))
    assert mrkdwn_inert("a <b> & *c*") == "a &lt;b&gt; &amp; ∗c∗"


async def test_rate_limited_429_is_retried_by_slack_sdk_after_retry_after(store, slack):
    slack.ratelimit(times=1, retry_after=0)
    alert = add_alert(store)
    row_id = queue(store, alert)
    await make_worker(store, slack).drain(timeout=5)
    assert outbox.get(store, row_id).state == "sent"
    assert outbox.get(store, row_id).attempts == 1  # retried inside slack-sdk's handler
    assert [name for name, _ in slack.calls] == ["chat.postMessage", "chat.postMessage"]
    assert len(slack.messages) == 1


async def test_long_retry_after_reschedules_the_row_instead_of_blocking(store, slack):
    slack.ratelimit(times=5, retry_after=120)
    alert = add_alert(store)
    row_id = queue(store, alert)
    worker = make_worker(store, slack, max_retry_after=5)
    started = time.time()
    # Not blocking: run_once returns long before the 120 s Retry-After (generous timeout, no timing assertion).
    await asyncio.wait_for(worker.run_once(), timeout=60)
    row = outbox.get(store, row_id)
    assert row.state == "pending" and row.attempts == 1 and "ratelimited" in row.last_error
    wait = (parse_time(row.next_attempt_at).timestamp() - started)
    assert 110 <= wait <= 125
    assert len(slack.calls) == 1 and not slack.messages


@pytest.mark.parametrize(("target", "token", "error"), [
    ("#inexistant", "xoxb-vigie-test", "channel_not_found"),
    ("#alertes", "xoxb-revoked", "invalid_auth"),
])
async def test_permanent_errors_go_dead_without_retrying(store, slack, monkeypatch, target, token, error):
    monkeypatch.setenv("VIGIE_SLACK_TOKEN", token)
    alert = add_alert(store)
    row_id = queue(store, alert, target=target)
    worker = make_worker(store, slack)
    await worker.drain(timeout=3)
    row = outbox.get(store, row_id)
    assert row.state == "dead" and row.attempts == 1
    assert error in row.last_error
    assert len(slack.calls) == 1
    assert worker.metrics.alerts_failed.labels(channel="slack")._value.get() == 1
    assert worker.health()["state"] == "degraded"


async def test_missing_token_is_a_clear_permanent_error(store, slack, monkeypatch):
    monkeypatch.delenv("VIGIE_SLACK_TOKEN")
    row_id = queue(store, add_alert(store))
    await make_worker(store, slack).drain(timeout=2)
    row = outbox.get(store, row_id)
    assert row.state == "dead" and "VIGIE_SLACK_TOKEN" in row.last_error and not slack.calls


async def test_server_errors_are_retried_by_the_outbox(store, slack):
    slack.inject("503", path="/api/chat.postMessage", times=1)
    row_id = queue(store, add_alert(store))
    await make_worker(store, slack).drain(timeout=5)
    row = outbox.get(store, row_id)
    assert row.state == "sent" and row.attempts == 2


async def test_updates_edit_the_original_and_reply_in_its_thread(store, slack):
    alert = add_alert(store)
    queue(store, alert, key="a")
    worker = make_worker(store, slack)
    await worker.drain(timeout=5)
    (original,) = slack.messages
    # rules/ acknowledges the alert and queues an update, then an escalation
    store.conn.execute("UPDATE alerts SET status = 'acknowledged', acked_by = 'marie', fire_count = 3 WHERE id = ?",
                       [alert])
    update_id = queue(store, alert, kind="alert_update", key="u")
    escalation_id = queue(store, alert, kind="escalation", key="e", level=2)
    await worker.drain(timeout=5)
    assert len(slack.top_level()) == 1  # nothing new at the top level
    (edit, *_) = slack.updates
    assert edit["channel"] == "C0ALERTES" and edit["ts"] == original["ts"]
    edited = "\n".join(mrkdwn_texts(slack.messages[0]))
    assert "Statut : prise en charge par marie" in edited
    replies = slack.replies(original["ts"])
    assert len(replies) == 2
    assert "prise en charge" in replies[0]["text"] and "3 déclenchement(s)" in replies[0]["text"]
    assert "Escalade niveau 2" in replies[1]["text"] and replies[1]["reply_broadcast"] is True
    assert outbox.get(store, update_id).external_ref == replies[0]["ts"]
    assert outbox.get(store, escalation_id).state == "sent"


async def test_update_waits_for_its_original_then_threads(store, slack):
    slack.delay = 0.2
    alert = add_alert(store)
    queue(store, alert, key="a")
    update_id = queue(store, alert, kind="alert_update", key="u")
    await make_worker(store, slack).drain(timeout=5)
    assert len(slack.top_level()) == 1
    assert outbox.get(store, update_id).state == "sent"
    assert len(slack.replies(slack.top_level()[0]["ts"])) == 1


async def test_update_without_an_original_posts_a_new_message(store, slack):
    alert = add_alert(store)
    row_id = queue(store, alert, kind="alert_update", key="u")
    await make_worker(store, slack).drain(timeout=5)
    assert outbox.get(store, row_id).state == "sent"
    assert len(slack.top_level()) == 1


async def test_crisis_and_held_posts_messages(store, slack):
    enqueue(store, kind="crisis", channel="slack", target="#alertes", idempotency_key="c", at=T0,
            payload={"from": "vigilance", "to": "crise", "actor": "<!channel>", "reason": "3 alertes critiques",
                     "at": "2026-11-17T13:40:00Z"})
    enqueue(store, kind="held_posts", channel="slack", target="#alertes", idempotency_key="h", at=T0,
            payload={"posts": [{"id": 1, "text": "<!channel> Fête ce soir", "category": "festif", "channel": "x",
                                "scheduled_at": "2026-11-17T18:00:00Z"}], "reason": "crise"})
    await make_worker(store, slack).drain(timeout=5)
    crisis, held = slack.messages
    assert crisis["blocks"][0]["text"]["text"] == "🚨 Mode de crise : vigilance → CRISE"
    assert "Par : &lt;!channel&gt;" in json.dumps(crisis["blocks"], ensure_ascii=False)
    assert held["blocks"][0]["text"]["text"].startswith("⏸️ 1 publication(s)")
    assert all("<!channel>" not in t for t in mrkdwn_texts(held))


async def test_not_before_is_honoured(store, slack):
    enqueue(store, kind="alert", channel="slack", target="#alertes", payload={"alert_ids": [add_alert(store)]},
            idempotency_key="q", at=T0, not_before=T0 + timedelta(days=3650))
    await make_worker(store, slack).drain(timeout=0.3)
    assert not slack.messages
