"""SMS for the on-call official through the real outbox: OVHcloud (signed API calls) and a generic HTTP
gateway; GSM-7 text within 160 characters (or split), only critical alerts for the configured groups,
a per-hour cap, retries on 429/5xx, refusals stop with a French reason, hostile text inert, and a resend
after a crash is not texted twice."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from alerts import outbox
from alerts.sms import GSM7_BASIC, GSM7_EXTENDED, gsm_length, ovh_tag, split, to_gsm7
from tests.channel_cases import HOSTILE_CHAT, alerts_settings, deliver, queue_alert, state
from tests.fakes.sms import FakeOvh, FakeSmsGateway
from tests.test_alerts_data import T0

NUMBER = "+33612345678"


@pytest.fixture
async def ovh(monkeypatch):
    async with FakeOvh() as fake:
        for name, value in fake.env().items():
            monkeypatch.setenv(name, value)
        yield fake


def ovh_settings(fake, **section):
    section = {"provider": "ovh", "ovh": {"endpoint": fake.endpoint, "service_name": fake.service}, **section}
    return alerts_settings("sms", section, ui_url="https://vigie.rivebelle.fr")


def is_gsm7(text: str) -> bool:
    return all(c in GSM7_BASIC or c in GSM7_EXTENDED for c in text)


def test_french_text_becomes_gsm7():
    assert to_gsm7("Été : crue à Mâcon, évacuation rue de l’Œuvre → 12 000 personnes… 🚨").strip() == \
        "Été : crue à Macon, évacuation rue de l'OEuvre -> 12 000 personnes..."
    assert gsm_length("prix 5 €") == 9
    parts = split("mot " * 80, 3)
    assert len(parts) == 3 and all(gsm_length(p) <= 153 for p in parts) and parts[0].startswith("(1/3) ")


async def test_critical_alert_texted_through_ovh_within_160_gsm7_chars(store, ovh):
    row = queue_alert(store, "sms", NUMBER, title="Pic de mentions « inondation » quartier des Tanneurs, "
                      "évacuations en cours et routes coupées près de la Rivebelle")
    await deliver(store, ovh_settings(ovh))
    sent = state(store, row)
    (sms,) = ovh.sms
    assert sent.state == "sent" and sent.external_ref == f"ovh:{sms['id']}"
    text = sms["message"]
    assert is_gsm7(text) and gsm_length(text) <= 160 and sms["parts"] == 1, text
    assert text.startswith("VIGIE CRITIQUE 14:32 Pic de mentions")
    assert "observé 38, attendu 1,2 (10 min)" in text and "https://vigie.rivebelle.fr" in text
    assert sms["receiver"] == NUMBER and sms["job"]["noStopClause"] is True and sms["job"]["senderForResponse"]


async def test_hostile_title_cannot_put_a_link_or_address_in_the_sms(store, ovh):
    row = queue_alert(store, "sms", NUMBER, title=f"#crue {HOSTILE_CHAT}")
    await deliver(store, ovh_settings(ovh, max_parts=3))
    assert state(store, row).state == "sent"
    text = ovh.sms[0]["message"].replace("https://vigie.rivebelle.fr", "")
    assert "://" not in text and "www." not in text and not re.search(r"\w\.(example|com|fr)\b", text)
    assert not re.search(r"\w@\w", text) and "<script" in text  # readable, not tappable


async def test_only_configured_groups_and_severities_are_texted(store, ovh):
    from listener.settings import settings_from_dict
    from rules.routing import notify_groups

    settings = settings_from_dict({"rules": {"groups": {
        "astreinte": {"sms": [NUMBER], "email": ["astreinte@rivebelle.fr"]},
        "cellule": {"sms": ["+33699999999"], "email": ["cellule@rivebelle.fr"]}}}})
    for severity in ("warning", "critical"):
        notify_groups(store, settings, kind="alert", payload={"alert_ids": []}, at=T0, severity=severity,
                      idempotency_prefix=f"alert:{severity}")
    rows = {(r.recipient_group, r.channel, r.idempotency_key.split(":")[1]) for r in outbox.list_rows(store)}
    assert ("astreinte", "sms", "critical") in rows
    assert ("astreinte", "sms", "warning") not in rows and ("cellule", "sms", "critical") not in rows
    assert ("cellule", "email", "warning") in rows  # the other channels are not affected
    # A row about a warning alert queued by hand past the gate is refused by the channel itself.
    row = queue_alert(store, "sms", NUMBER, severity="warning", key="hand")
    await deliver(store, ovh_settings(ovh))
    assert state(store, row).last_error.startswith("SMS non envoyé : réservé aux alertes critical des groupes astreinte")
    assert [sms["tag"] for sms in ovh.sms] == [ovh_tag(f"alert:critical:astreinte:sms:{NUMBER}")]  # routed one only


async def test_per_hour_cap_per_number(store, ovh):
    rows = [queue_alert(store, "sms", NUMBER, key=f"cap{i}") for i in range(3)]
    await deliver(store, ovh_settings(ovh, max_per_hour=2))
    states = [state(store, r) for r in rows]
    assert [s.state for s in states].count("sent") == 2 and len(ovh.sms) == 2
    (capped,) = [s for s in states if s.state == "dead"]
    assert capped.last_error.startswith(f"SMS non envoyé : plafond de 2 SMS par heure atteint pour {NUMBER}")
    # An hour later (daemon clock) the number may be texted again.
    later = queue_alert(store, "sms", NUMBER, key="later")
    with store.transaction():
        store.conn.execute("UPDATE outbox SET created_at = ? WHERE id = ?",
                           [(T0 + timedelta(hours=1, minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ"), later])
    await deliver(store, ovh_settings(ovh, max_per_hour=2))
    assert state(store, later).state == "sent"


async def test_rate_limit_and_server_errors_are_retried_without_double_texting(store, ovh):
    ovh.inject("429", path="/1.0/sms/", retry_after=0.05)
    ovh.inject("503", path="/1.0/sms/")
    row = queue_alert(store, "sms", NUMBER)
    await deliver(store, ovh_settings(ovh))
    sent = state(store, row)
    assert sent.state == "sent" and sent.attempts == 3 and len(ovh.sms) == 1


async def test_resend_after_crash_finds_the_job_by_its_tag(store, ovh):
    row = queue_alert(store, "sms", NUMBER)
    await deliver(store, ovh_settings(ovh))
    with store.transaction():  # as if killed after OVHcloud accepted the job, before `sent` was written
        store.conn.execute("UPDATE outbox SET state = 'sending' WHERE id = ?", [row])
    outbox.recover_in_flight(store)
    await deliver(store, ovh_settings(ovh))
    assert state(store, row).state == "sent" and len(ovh.sms) == 1
    assert [h.path for h in ovh.hits("/1.0/sms/")][-1] == f"/1.0/sms/{ovh.service}/outgoing"


async def test_clock_drift_is_taken_from_auth_time(store, monkeypatch):
    async with FakeOvh(skew=3600) as ovh:
        for name, value in ovh.env().items():
            monkeypatch.setenv(name, value)
        row = queue_alert(store, "sms", NUMBER)
        await deliver(store, ovh_settings(ovh))
        assert state(store, row).state == "sent" and ovh.hits("/1.0/auth/time")


@pytest.mark.parametrize(("case", "reason"), [
    ("credentials", "OVHcloud SMS : identifiants API refusés (INVALID_CREDENTIAL : This credential does not exist)"),
    ("account", "OVHcloud SMS : adresse introuvable (supprimée ou mal copiée ?) (HTTP 404) : The requested object "
                "(serviceName = sms-inconnu-1) does not exist"),
    ("number", f"OVHcloud SMS : numéro refusé ({NUMBER})"),
    ("missing", "OVHcloud SMS : identifiants ou compte SMS manquants"),
])
async def test_refusals_stop_with_a_french_reason(store, ovh, monkeypatch, case, reason):
    section = {}
    if case == "credentials":
        monkeypatch.setenv("VIGIE_OVH_CONSUMER_KEY", "revoked")
    if case == "account":
        section = {"ovh": {"endpoint": ovh.endpoint, "service_name": "sms-inconnu-1"}}
    section = section or {}
    if case == "number":
        ovh.unreachable.add(NUMBER)
    if case == "missing":
        monkeypatch.delenv("VIGIE_OVH_APPLICATION_SECRET")
    row = queue_alert(store, "sms", NUMBER)
    await deliver(store, ovh_settings(ovh, **section))
    dead = state(store, row)
    assert dead.state == "dead" and dead.attempts == 1 and dead.last_error.startswith(reason), dead.last_error
    assert not ovh.sms


async def test_generic_gateway_splits_a_long_text_and_sends_each_part_once(store, monkeypatch):
    monkeypatch.setenv("VIGIE_SMS_TOKEN", "gateway-token")
    async with FakeSmsGateway() as gateway:
        row = queue_alert(store, "sms", NUMBER, title="Crue " + "très longue description du quartier " * 6)
        settings = alerts_settings("sms", {"provider": "http", "max_parts": 2, "http": {"url": gateway.send_url}})
        await deliver(store, settings)
        assert state(store, row).state == "sent"
        assert [s["text"][:6] for s in gateway.sms] == ["(1/2) ", "(2/2) "]
        assert all(gsm_length(s["text"]) <= 160 and is_gsm7(s["text"]) for s in gateway.sms)
        with store.transaction():
            store.conn.execute("UPDATE outbox SET state = 'sending' WHERE id = ?", [row])
        outbox.recover_in_flight(store)
        await deliver(store, settings)
        assert len(gateway.sms) == 2  # the gateway dropped the repeats by Idempotency-Key


def test_digest_groups_cannot_list_phone_numbers():
    from listener.errors import ConfigError
    from listener.settings import settings_from_dict

    with pytest.raises(ConfigError) as error:
        settings_from_dict({"alerts": {"digest": {"groups": [{"name": "elus", "sms": [NUMBER]}]}}})
    assert "alerts.digest.groups[0](elus)" in str(error.value) and "SMS" in str(error.value)
