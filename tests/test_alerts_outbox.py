"""The outbox worker: states, retries with backoff, permanent failures, restart recovery, replay clock."""

from __future__ import annotations

import io
from datetime import timedelta

from alerts import outbox
from alerts.channels import PermanentError, TransientError
from alerts.console import ConsoleChannel
from alerts.outbox import enqueue
from alerts.settings import AlertsSettings
from alerts.worker import OutboxWorker
from listener.clock import Clock, ReplayClock
from listener.metrics import Metrics
from tests.test_alerts_data import T0, add_alert, add_mentions

PARIS = __import__("zoneinfo").ZoneInfo("Europe/Paris")


class Flaky:
    """A channel failing a given number of times first, with a given error."""

    name = "flaky"

    def __init__(self, failures: int = 0, error: Exception | None = None) -> None:
        self.failures = failures
        self.error = error or TransientError("HTTP 503")
        self.sent: list[str] = []

    async def send(self, notification) -> str:
        if self.failures > 0:
            self.failures -= 1
            raise self.error
        self.sent.append(notification.row.idempotency_key)
        return f"ref-{len(self.sent)}"

    async def close(self) -> None:
        pass


def make_worker(store, channels, *, clock=None, **worker) -> OutboxWorker:
    settings = AlertsSettings(worker={"backoff_initial": 0.01, "backoff_max": 0.05, "max_attempts": 3,
                                      "poll_interval": 0.01, **worker})
    return OutboxWorker(store, settings, channels, clock=clock or Clock(), tz=PARIS, institution="Ville de Rivebelle",
                        metrics=Metrics())


def queue(store, n=1, channel="flaky", **kw):
    alert = add_alert(store)
    return [enqueue(store, kind="alert", channel=channel, target="-", payload={"alert_ids": [alert]},
                    idempotency_key=f"k{i}", at=T0, alert_id=alert, **kw) for i in range(n)]


async def test_delivered_rows_are_sent_with_reference_and_counted(store):
    channel = Flaky()
    worker = make_worker(store, {"flaky": channel})
    ids = queue(store, 3)
    await worker.drain(timeout=5)
    rows = [outbox.get(store, i) for i in ids]
    assert [r.state for r in rows] == ["sent"] * 3
    assert [r.external_ref for r in rows] == ["ref-1", "ref-2", "ref-3"]
    assert all(r.attempts == 1 for r in rows)
    assert worker.metrics.alerts_sent.labels(channel="flaky")._value.get() == 3
    # Sent rows are never claimed again.
    await worker.drain(timeout=1)
    assert channel.sent == ["k0", "k1", "k2"]


async def test_transient_failures_retry_with_backoff_then_succeed(store):
    channel = Flaky(failures=2)
    worker = make_worker(store, {"flaky": channel})
    (row_id,) = queue(store)
    await worker.run_once()
    row = outbox.get(store, row_id)
    assert row.state == "pending" and row.attempts == 1 and "503" in row.last_error and row.next_attempt_at
    await worker.drain(timeout=5)
    row = outbox.get(store, row_id)
    assert row.state == "sent" and row.attempts == 3
    assert worker.metrics.alerts_failed.labels(channel="flaky")._value.get() == 2


async def test_permanent_failure_is_dead_at_once_without_retry_storm(store):
    channel = Flaky(failures=10, error=PermanentError("Slack : invalid_auth (jeton refusé)"))
    worker = make_worker(store, {"flaky": channel})
    (row_id,) = queue(store)
    await worker.drain(timeout=2)
    row = outbox.get(store, row_id)
    assert row.state == "dead" and row.attempts == 1 and "invalid_auth" in row.last_error
    assert channel.failures == 9  # tried exactly once


async def test_gives_up_after_max_attempts_and_operator_can_requeue(store):
    channel = Flaky(failures=3)
    worker = make_worker(store, {"flaky": channel})
    (row_id,) = queue(store)
    await worker.drain(timeout=5)
    row = outbox.get(store, row_id)
    assert row.state == "dead" and row.attempts == 3 and "après 3 tentatives" in row.last_error
    assert worker.health()["state"] == "degraded"
    assert outbox.requeue(store) == 1
    await worker.drain(timeout=5)
    assert outbox.get(store, row_id).state == "sent"


async def test_backoff_is_exponential_and_capped():
    assert [outbox.backoff_delay(a, 5, 60) for a in range(1, 6)] == [5, 10, 20, 40, 60]


async def test_rows_in_flight_at_a_crash_go_back_to_pending_sent_ones_stay(store):
    ids = queue(store, 3)
    claimed = outbox.claim_due(store, clock_now=T0, wall_now=T0 + timedelta(days=999), limit=2)
    assert [r.id for r in claimed] == ids[:2]
    outbox.mark_sent(store, ids[0], external_ref="x", at=T0)
    # the process dies here: ids[1] is left `sending`
    assert outbox.recover_in_flight(store) == 1
    assert [outbox.get(store, i).state for i in ids] == ["sent", "pending", "pending"]


async def test_unknown_channel_is_dead_with_a_clear_message(store):
    worker = make_worker(store, {})
    (row_id,) = queue(store, channel="pigeon")
    await worker.drain(timeout=1)
    row = outbox.get(store, row_id)
    assert row.state == "dead" and "pigeon" in row.last_error


async def test_not_before_uses_the_daemon_clock(store):
    clock = ReplayClock(T0)
    channel = Flaky()
    worker = make_worker(store, {"flaky": channel}, clock=clock)
    (row_id,) = queue(store, not_before=T0 + timedelta(hours=8))  # quiet hours
    await worker.drain(timeout=0.2)
    assert outbox.get(store, row_id).state == "pending"
    clock.advance(T0 + timedelta(hours=8, seconds=1))
    await worker.drain(timeout=2)
    assert outbox.get(store, row_id).state == "sent"


async def test_deliver_false_sends_nothing(store):
    channel = Flaky()
    worker = make_worker(store, {"flaky": channel})
    worker.deliver = lambda: False
    queue(store, 2)
    import asyncio

    task = asyncio.create_task(worker.run())
    await asyncio.sleep(0.2)
    task.cancel()
    assert channel.sent == [] and outbox.counts(store)["pending"] == 2
    assert worker.health()["state"] == "paused"


async def test_console_prints_readable_french(store):
    ids = add_mentions(store, ["La rue de la Gare est sous l'eau, on fait comment ?"])
    alert = add_alert(store, evidence=ids)
    enqueue(store, kind="alert", channel="console", target="-", payload={"alert_ids": [alert]},
            idempotency_key="c1", at=T0)
    enqueue(store, kind="crisis", channel="console", target="-", idempotency_key="c2", at=T0,
            payload={"from": "vigilance", "to": "crise", "actor": "système", "reason": "3 alertes critiques en 10 min",
                     "at": "2026-11-17T13:40:00Z"})
    enqueue(store, kind="held_posts", channel="console", target="-", idempotency_key="c3", at=T0,
            payload={"posts": [{"id": 1, "text": "Venez au marché de Noël !", "category": "festif",
                                "channel": "facebook", "scheduled_at": "2026-11-17T15:00:00Z"}],
                     "reason": "mode crise"})
    out = io.StringIO()
    worker = make_worker(store, {"console": ConsoleChannel(out)})
    await worker.drain(timeout=2)
    text = out.getvalue()
    print(text)
    assert "🔴 CRITIQUE 14:32 — Pic de mentions « inondation » (observé 38, attendu 1,2)" in text
    assert "Pourquoi : Le sujet « inondation » est 30 fois plus cité" in text
    assert "« La rue de la Gare est sous l'eau, on fait comment ? » — @habitant0 (négatif)" in text
    assert "🚨 MODE DE CRISE 14:40 — vigilance → CRISE" in text and "3 alertes critiques" in text
    assert "PUBLICATIONS RETENUES" in text and "17/11 16:00 [facebook] « Venez au marché de Noël ! »" in text


async def test_console_strips_terminal_escape_sequences(store):
    ids = add_mentions(store, ["normal \x1b[2J\x1b[31mFAUX\x1b[0m texte"])
    alert = add_alert(store, evidence=ids, title="Titre \x1b]0;pwned\x07")
    enqueue(store, kind="alert", channel="console", target="-", payload={"alert_ids": [alert]},
            idempotency_key="c1", at=T0)
    out = io.StringIO()
    await make_worker(store, {"console": ConsoleChannel(out)}).drain(timeout=2)
    assert "\x1b" not in out.getvalue() and "\x07" not in out.getvalue()


async def test_alert_names_the_topic_as_the_taxonomy_labels_it(store, make_settings):
    """The taxonomy's label travels with the alert the rules write (no process-wide table): the engine
    names the topic in the title and in details.topic_label, and the message shows it."""
    from rules.engine import RulesEngine
    from tests.test_rules_types import signal

    label = "Eau et assainissement"
    settings = make_settings(pipeline={"classify": False}, classifiers={"topics": [
        {"name": "eau_assainissement", "label": label, "terms": ["égout"]}]}, rules={
        "groups": {"cellule": {"console": True}}, "group_wait_seconds": 0,
        "rules": [{"name": "pic-eau", "type": "spike", "keys": ["topic:*"], "min_score": 3, "min_observed": 10}]})
    engine = RulesEngine(store, settings, deliver=False)
    store.add_signals([signal("spike", "topic:eau_assainissement", at=T0, window_minutes=10)])
    engine.evaluate(T0 + timedelta(minutes=1))
    (alert, title) = store.conn.execute("SELECT id, title FROM alerts").fetchone()
    assert f"« {label} »" in title
    enqueue(store, kind="alert", channel="console", target="-", payload={"alert_ids": [alert]},
            idempotency_key="t1", at=T0)
    out = io.StringIO()
    await make_worker(store, {"console": ConsoleChannel(out)}).drain(timeout=2)
    assert f"sujet {label}" in out.getvalue()
