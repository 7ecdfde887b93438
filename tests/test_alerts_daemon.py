"""The alerts area inside the daemon: outbox worker component, GET /api/outbox, health, metrics,
Slack interactions (signature, acknowledge, silence), replay clock, deliver=False, digest jobs."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta
from urllib.parse import urlencode

import aiohttp
import pytest

from alerts import outbox
from alerts.extension import ALERTS
from alerts.interactions import slack_signature
from alerts.outbox import enqueue
from listener.app import Vigie
from listener.clock import ReplayClock
from listener.timeutil import parse_time, utcnow
from tests.fakes import wait_for
from tests.fakes.slack_api import FakeSlack
from tests.test_alerts_data import T0, add_alert


@pytest.fixture
async def slack(monkeypatch):
    monkeypatch.setenv("VIGIE_SLACK_TOKEN", "xoxb-vigie-test")
    monkeypatch.setenv("VIGIE_SLACK_SIGNING_SECRET", "signing-secret")
    async with FakeSlack() as fake:
        yield fake


def settings_for(make_settings, slack, **alerts):
    return make_settings(pipeline={"classify": False}, alerts={
        "slack": {"base_url": slack.base_url}, "worker": {"poll_interval": 0.02, "backoff_initial": 0.01},
        "digest": {"groups": [{"name": "elus", "emails": ["maire@rivebelle.fr"]},
                              {"name": "cabinet", "slack": ["#elus"], "cron": "0 8 * * 1-5"}]}, **alerts})


def signed(body: bytes, *, secret="signing-secret", at: float | None = None) -> dict[str, str]:
    timestamp = str(int(at if at is not None else time.time()))
    return {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": slack_signature(secret, timestamp, body),
            "Content-Type": "application/x-www-form-urlencoded"}


def interaction(action_id: str, value: str) -> bytes:
    payload = {"type": "block_actions", "user": {"id": "U0MARIE", "username": "marie"},
               "channel": {"id": "C0ALERTES"}, "trigger_id": "trig-1",
               "actions": [{"action_id": action_id, "value": value, "action_ts": "1700000000.1"}]}
    return urlencode({"payload": json.dumps(payload)}).encode()


async def test_daemon_delivers_and_exposes_state(make_settings, slack, monkeypatch):
    monkeypatch.setenv("VIGIE_API_TOKEN", "tok")
    auth = {"Authorization": "Bearer tok"}
    app = Vigie(settings_for(make_settings, slack))
    alert = add_alert(app.store)
    row_id = enqueue(app.store, kind="alert", channel="slack", target="#alertes", payload={"alert_ids": [alert]},
                     idempotency_key="d1", at=T0, alert_id=alert)
    await app.start()
    try:
        await wait_for(lambda: outbox.get(app.store, row_id).state == "sent")
        base = f"http://127.0.0.1:{app.web_port}"
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/api/outbox", headers=auth) as response:
                data = await response.json()
            assert data["counts"]["sent"] == 1
            item = data["items"][0]
            assert item["state"] == "sent" and item["external_ref"] == slack.messages[0]["ts"]
            assert item["alert_ids"] == [alert] and "payload" not in item
            async with http.get(f"{base}/api/outbox?state=bogus", headers=auth) as response:
                assert response.status == 400
            async with http.get(f"{base}/healthz") as response:
                health = await response.json()
            assert health["components"]["alerts"]["state"] == "ok"
            assert health["components"]["alerts"]["outbox"]["sent"] == 1
            assert health["components"]["alerts:outbox"]["state"] == "running"
            async with http.get(f"{base}/metrics") as response:
                assert 'vigie_alerts_sent_total{channel="slack"} 1.0' in await response.text()
        jobs = {job.name: job.cron for job in app.jobs}
        assert jobs["digest:elus"] == "30 7 * * *" and jobs["digest:cabinet"] == "0 8 * * 1-5"
    finally:
        await app.stop()


async def test_slack_buttons_acknowledge_and_silence_through_rules_actions(make_settings, slack):
    app = Vigie(settings_for(make_settings, slack))
    alert = add_alert(app.store, at=utcnow())  # live daemon: a fresh alert (old ones are resolved as stale)
    enqueue(app.store, kind="alert", channel="slack", target="#alertes", payload={"alert_ids": [alert]},
            idempotency_key="d1", at=T0, alert_id=alert)
    await app.start()
    try:
        await wait_for(lambda: len(slack.messages) == 1)
        url = f"http://127.0.0.1:{app.web_port}/slack/interactions"
        async with aiohttp.ClientSession() as http:
            body = interaction("vigie_ack", str(alert))
            async with http.post(url, data=body, headers=signed(body)) as response:
                assert response.status == 200
                reply = await response.json()
            assert reply["text"] == f"✅ Alerte n° {alert} prise en charge par <@U0MARIE>."
            status, acked_by = app.store.conn.execute("SELECT status, acked_by FROM alerts WHERE id = ?", [alert]).fetchone()
            assert (status, acked_by) == ("acknowledged", "slack:marie")
            # the original message is edited through the outbox, and the change is noted in its thread
            await wait_for(lambda: len(slack.updates) == 1 and len(slack.replies(slack.messages[0]["ts"])) == 1)
            assert "prise en charge par slack:marie" in json.dumps(slack.messages[0]["blocks"], ensure_ascii=False)

            body = interaction("vigie_silence_24h", f"{alert}:1440")
            async with http.post(url, data=body, headers=signed(body)) as response:
                assert "Règle mise en silence pour 24 h" in (await response.json())["text"]
            rule, key, until, actor, created = app.store.conn.execute(
                "SELECT rule, key, until, actor, created_at FROM rules_silences").fetchone()
            assert (rule, key, actor) == ("pic-inondation", "topic:inondation", "slack:marie")
            assert parse_time(until) - parse_time(created) == timedelta(hours=24)

            for headers in (signed(body, secret="wrong"), signed(body, at=time.time() - 600), {}):
                async with http.post(url, data=body, headers=headers) as response:
                    assert response.status == 401
            assert app.store.conn.execute("SELECT count(*) FROM rules_silences").fetchone()[0] == 1
    finally:
        await app.stop()


async def test_replay_clock_delivers_as_recorded_time_passes(make_settings, slack, capsys):
    clock = ReplayClock(T0)
    app = Vigie(settings_for(make_settings, slack), clock=clock, web_enabled=False)
    alert = add_alert(app.store)
    enqueue(app.store, kind="alert", channel="console", target="-", payload={"alert_ids": [alert]},
            idempotency_key="r1", at=T0, not_before=T0 + timedelta(hours=6))  # quiet hours until 20:32
    await app.start()
    try:
        await asyncio.sleep(0.3)
        assert "CRITIQUE" not in capsys.readouterr().out
        clock.advance(T0 + timedelta(hours=6, minutes=1))
        # Delivered once the replayed time passes the quiet hours (generous timeout: no timing assertion).
        await wait_for(lambda: outbox.counts(app.store)["sent"] == 1, timeout=30)
        assert "🔴 CRITIQUE 14:32 — Pic de mentions « inondation »" in capsys.readouterr().out
    finally:
        await app.stop()


async def test_deliver_false_sends_nothing(make_settings, slack):
    app = Vigie(settings_for(make_settings, slack), deliver=False, web_enabled=False)
    enqueue(app.store, kind="alert", channel="slack", target="#alertes", payload={"alert_ids": [add_alert(app.store)]},
            idempotency_key="x", at=T0)
    await app.start()
    try:
        await asyncio.sleep(0.3)
        assert not slack.calls and outbox.counts(app.store)["pending"] == 1
        assert app.health()["components"]["alerts"]["state"] == "paused"
    finally:
        await app.stop()


async def test_digest_job_queues_each_recipient_once_per_day(make_settings, slack):
    app = Vigie(settings_for(make_settings, slack), deliver=False, web_enabled=False)
    job = next(job for job in app.jobs if job.name == "digest:elus")
    app.deliver = True
    app.get(ALERTS).worker.deliver = lambda: False  # only queue, do not send here
    await job.func()
    await job.func()
    rows = outbox.list_rows(app.store)
    assert [(r.kind, r.channel, r.target, r.recipient_group) for r in rows] == [
        ("digest", "email", "maire@rivebelle.fr", "elus")]
    app.store.close()
