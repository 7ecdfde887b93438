"""Webhook delivery: signed JSON POST, idempotency key header, retry on 5xx/429, dead on 4xx."""

from __future__ import annotations

import pytest

from alerts import outbox
from alerts.outbox import enqueue
from alerts.settings import AlertsSettings
from alerts.webhook import WebhookChannel, markdown_inert
from alerts.worker import OutboxWorker
from listener.clock import Clock
from tests.fakes.webhook import FakeWebhook
from tests.test_alerts_data import HOSTILE, T0, add_alert, add_mentions

PARIS = __import__("zoneinfo").ZoneInfo("Europe/Paris")


@pytest.fixture
async def hook(monkeypatch):
    monkeypatch.setenv("VIGIE_WEBHOOK_SECRET", "webhook-secret")
    async with FakeWebhook() as fake:
        yield fake


def make_worker(store):
    settings = AlertsSettings(worker={"backoff_initial": 0.01, "backoff_max": 0.05, "max_attempts": 3})
    return OutboxWorker(store, settings, {"webhook": WebhookChannel(settings.webhook)}, clock=Clock(), tz=PARIS,
                        institution="Ville de Rivebelle")


async def test_signed_json_with_idempotency_key_and_timestamp(store, hook):
    ids = add_mentions(store, [HOSTILE])
    alert = add_alert(store, evidence=ids)
    row_id = enqueue(store, kind="alert", channel="webhook", target=f"{hook.url}/hooks/mattermost",
                     payload={"alert_ids": [alert]}, idempotency_key="alert:1:webhook", at=T0)
    worker = make_worker(store)
    await worker.drain(timeout=5)
    await worker.close()
    assert outbox.get(store, row_id).state == "sent"
    (receipt,) = hook.receipts
    assert receipt["signed"] is True
    headers = receipt["headers"]
    assert headers["X-Vigie-Idempotency-Key"] == "alert:1:webhook" and headers["X-Vigie-Event"] == "alert"
    assert headers["X-Vigie-Signature"].startswith("sha256=") and headers["X-Vigie-Timestamp"].isdigit()
    body = receipt["body"]
    assert body["idempotency_key"] == "alert:1:webhook" and body["severity"] == "critical"
    assert body["alerts"][0]["details"]["observed"] == 38
    assert "CRITIQUE" in body["text"] and "observé 38," in body["text"]
    # Markdown for chat tools: the post cannot mention @channel, link or format.
    assert "<!channel>" not in body["text"].replace("\\", "") or "\\<" in body["text"]
    assert "http://evil" not in body["text"] and "*URGENT*" not in body["text"]


async def test_tampered_body_fails_verification(hook):
    from alerts.webhook import sign

    good = sign("webhook-secret", "1700000000", b'{"a": 1}')
    assert good != sign("webhook-secret", "1700000000", b'{"a": 2}')
    assert good != sign("autre", "1700000000", b'{"a": 1}')


async def test_server_errors_and_429_are_retried_client_errors_are_dead(store, hook):
    hook.inject("503", path="/retry", times=1)
    hook.inject("429", path="/retry", times=1, retry_after=0)
    alert = add_alert(store)
    retried = enqueue(store, kind="alert", channel="webhook", target=f"{hook.url}/retry", payload={"alert_ids": [alert]},
                      idempotency_key="a", at=T0)
    worker = make_worker(store)
    await worker.drain(timeout=5)
    row = outbox.get(store, retried)
    assert row.state == "sent" and row.attempts == 3
    hook.inject("500", path="/gone", times=99)
    hook.inject("404", path="/missing", times=1)
    dead = enqueue(store, kind="alert", channel="webhook", target=f"{hook.url}/gone", payload={"alert_ids": [alert]},
                   idempotency_key="b", at=T0)
    await worker.drain(timeout=5)
    await worker.close()
    row = outbox.get(store, dead)
    assert row.state == "dead" and row.attempts == 3 and "HTTP 500" in row.last_error


async def test_client_error_is_permanent(store):
    from aiohttp import web

    from tests.fakes import FakeServer

    class Refusing(FakeServer):
        def routes(self):
            async def refuse(request):
                return web.json_response({"error": "bad token"}, status=403)
            return [web.post("/", refuse)]

    async with Refusing() as fake:
        row_id = enqueue(store, kind="alert", channel="webhook", target=f"{fake.url}/",
                         payload={"alert_ids": [add_alert(store)]}, idempotency_key="c", at=T0)
        worker = make_worker(store)
        await worker.drain(timeout=5)
        await worker.close()
    row = outbox.get(store, row_id)
    assert row.state == "dead" and row.attempts == 1 and "403" in row.last_error


def test_markdown_inert():
    assert markdown_inert("@channel *gras* [lien](http://x)") == (
        "@\u200bchannel \\*gras\\* \\[lien\\]\\(http:\u200b//x\\)")
