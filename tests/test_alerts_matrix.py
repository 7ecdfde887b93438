"""Tchap / Matrix through the real outbox: PUT send with the transaction id as idempotency key (a resend
after a crash is not shown twice), plain body + sanitised HTML, token from the environment, alias
resolution, retries on M_LIMIT_EXCEEDED and 5xx, refusals stop with a French reason, hostile text inert."""

from __future__ import annotations

import pytest

from alerts import outbox
from tests.channel_cases import HOSTILE_CHAT, alerts_settings, assert_inert, deliver, queue_alert, state
from tests.fakes.matrix import FakeMatrix, audit_html


@pytest.fixture
async def hs(monkeypatch):
    monkeypatch.setenv("VIGIE_MATRIX_TOKEN", "syt_vigie_test")
    async with FakeMatrix() as fake:
        yield fake


def settings_for(hs, **section):
    return alerts_settings("matrix", {"homeserver": hs.homeserver, **section}, ui_url="https://vigie.rivebelle.fr")


async def test_alert_posted_with_body_and_sanitised_html(store, hs):
    row = queue_alert(store, "matrix", hs.room())
    await deliver(store, settings_for(hs))
    sent = state(store, row)
    (event,) = hs.events
    assert sent.state == "sent" and sent.external_ref == event["event_id"]
    content = event["content"]
    assert content["msgtype"] == "m.text" and content["format"] == "org.matrix.custom.html"
    assert content["m.mentions"] == {}
    assert "CRITIQUE" in content["body"] and "observé 38, attendu 1,2" in content["body"]
    audit = audit_html(content["formatted_body"])
    assert audit.problems == []
    assert set(audit.links) == {"https://rivebelle.social/@habitant/1", "https://vigie.rivebelle.fr"}
    assert "pompiers sur place" in "".join(audit.text)


async def test_alias_is_resolved_and_notice_type_honoured(store, hs):
    row = queue_alert(store, "matrix", hs.alias())
    await deliver(store, settings_for(hs, msgtype="m.notice"))
    assert state(store, row).state == "sent"
    assert hs.events[0]["room_id"] == hs.room() and hs.events[0]["content"]["msgtype"] == "m.notice"


async def test_hostile_post_arrives_inert(store, hs):
    row = queue_alert(store, "matrix", hs.room(), title=f"#crue {HOSTILE_CHAT}")
    await deliver(store, settings_for(hs))
    assert state(store, row).state == "sent"
    content = hs.events[0]["content"]
    assert_inert(content["body"], formatting=False)  # body is plain text: only mentions and links matter
    audit = audit_html(content["formatted_body"])
    assert audit.problems == [], audit.problems  # <script>, <img onerror>, <at> arrived as text
    assert all(link.startswith(("https://rivebelle.social/", "https://vigie.")) for link in audit.links)
    assert_inert("".join(audit.text), formatting=False)
    assert "‹script›alert(1)‹/script›" in "".join(audit.text)  # still readable, as text


async def test_resend_after_crash_reuses_the_transaction_and_is_not_shown_twice(store, hs):
    row = queue_alert(store, "matrix", hs.room())
    await deliver(store, settings_for(hs))
    first = state(store, row).external_ref
    # As after a SIGKILL between the homeserver's answer and `sent` being recorded: the row is sent again.
    with store.transaction():
        store.conn.execute("UPDATE outbox SET state = 'sending' WHERE id = ?", [row])
    assert outbox.recover_in_flight(store) == 1
    await deliver(store, settings_for(hs))
    assert len(hs.puts) == 2 and hs.puts[0] == hs.puts[1]
    assert len(hs.events) == 1 and state(store, row).external_ref == first


async def test_rate_limit_and_server_errors_are_retried(store, hs):
    hs.limit(1, retry_after_ms=50)
    hs.inject("502", path="/_matrix/client/v3/rooms/")
    row = queue_alert(store, "matrix", hs.room())
    await deliver(store, settings_for(hs))
    sent = state(store, row)
    assert sent.state == "sent" and sent.attempts == 3 and len(hs.events) == 1
    assert hs.faults_served == ["502"]


@pytest.mark.parametrize(("case", "reason"), [
    ("not-member", "Matrix : accès refusé (droits insuffisants) (HTTP 403) : M_FORBIDDEN, le compte de Vigie "
                   "n'est pas membre du salon ou n'a pas le droit d'y écrire"),
    ("bad-token", "Matrix : authentification refusée (jeton ou clé) (HTTP 401) : M_UNKNOWN_TOKEN, jeton d'accès "
                  "refusé ou expiré"),
    ("no-token", "Matrix : jeton d'accès absent (variable d'environnement VIGIE_MATRIX_TOKEN)"),
    ("unknown-alias", "Matrix : adresse introuvable (supprimée ou mal copiée ?) (HTTP 404) : M_NOT_FOUND, salon introuvable"),
])
async def test_refusals_stop_with_a_french_reason(store, hs, monkeypatch, case, reason):
    target = {"not-member": "!ailleurs:agent.rivebelle.tchap.gouv.fr",
              "unknown-alias": "#inconnu:agent.rivebelle.tchap.gouv.fr"}.get(case, hs.room())
    if case == "bad-token":
        monkeypatch.setenv("VIGIE_MATRIX_TOKEN", "syt_revoked")
    if case == "no-token":
        monkeypatch.delenv("VIGIE_MATRIX_TOKEN")
    row = queue_alert(store, "matrix", target)
    await deliver(store, settings_for(hs))
    dead = state(store, row)
    assert dead.state == "dead" and dead.attempts == 1 and dead.last_error == reason
    assert not hs.events


async def test_update_goes_in_the_thread_of_the_first_message_and_escalation_replies(store, hs):
    from alerts.outbox import enqueue
    from tests.test_alerts_data import T0

    first = queue_alert(store, "matrix", hs.room())
    alert = state(store, first).alert_id
    update = enqueue(store, kind="alert_update", channel="matrix", target=hs.room(), payload={"alert_ids": [alert]},
                     idempotency_key="update:1", at=T0, alert_id=alert, recipient_group="astreinte")
    escalation = enqueue(store, kind="escalation", channel="matrix", target=hs.room(), at=T0, alert_id=alert,
                         payload={"alert_ids": [alert], "level": 1}, idempotency_key="escalation:1",
                         recipient_group="astreinte")
    hs.delay = 0.2  # the first message is still on its way when the update is claimed: it waits
    await deliver(store, settings_for(hs))
    original = hs.events[0]
    assert "m.relates_to" not in original["content"]
    by_kind = {("thread" if e["content"]["m.relates_to"].get("rel_type") else "reply"): e for e in hs.events[1:]}
    threaded, reply = by_kind["thread"], by_kind["reply"]
    assert threaded["content"]["m.relates_to"]["rel_type"] == "m.thread"
    assert threaded["content"]["m.relates_to"]["event_id"] == original["event_id"]
    assert reply["content"]["m.relates_to"] == {"m.in_reply_to": {"event_id": original["event_id"]}}
    assert state(store, update).state == "sent" and state(store, escalation).state == "sent"
