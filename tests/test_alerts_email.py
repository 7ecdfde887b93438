"""E-mail against a real SMTP server on loopback (aiosmtpd), parsing what it received."""

from __future__ import annotations

import email
import email.policy
import re
import socket
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from alerts import outbox
from alerts.delivery import build_worker, enqueue_digest
from alerts.email import message_id
from alerts.outbox import enqueue
from alerts.settings import DigestGroup
from classifiers.detection.trending import TrendingItem
from listener.clock import Clock
from tests.test_alerts_data import HOSTILE, T0, add_alert, add_counts, add_mentions

PARIS = __import__("zoneinfo").ZoneInfo("Europe/Paris")


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.refuse: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address in self.refuse:
            return "550 5.1.1 Destinataire inconnu"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content or envelope.content))
        return "250 Message accepted"

    def parsed(self, index: int = -1) -> email.message.EmailMessage:
        return email.message_from_bytes(self.messages[index][2], policy=email.policy.default)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == b"vigie" and auth_data.password == b"mot-de-passe"
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), authenticator=authenticator,
                            auth_require_tls=False)
    controller.start()
    inbox.port = controller.port
    yield inbox
    controller.stop()


@pytest.fixture
def settings(make_settings, smtp, monkeypatch):
    monkeypatch.setenv("VIGIE_SMTP_PASSWORD", "mot-de-passe")
    return make_settings(alerts={
        "email": {"host": "127.0.0.1", "port": smtp.port, "security": "none", "username": "vigie",
                  "from_address": "vigie@rivebelle.fr", "from_name": "Vigie Rivebelle"},
        "worker": {"backoff_initial": 0.01, "backoff_max": 0.05, "max_attempts": 2},
        "digest": {"groups": [{"name": "elus", "emails": ["maire@rivebelle.fr", "cabinet@rivebelle.fr"]}]},
    })


def worker_for(store, settings, **kw):
    return build_worker(store, settings, clock=Clock(), tz=PARIS, **kw)


def parts(msg):
    return {part.get_content_type(): part for part in msg.walk() if not part.is_multipart()}


async def test_alert_email_headers_and_both_parts_in_french(store, settings, smtp):
    ids = add_mentions(store, ["La rue de la Gare est sous l'eau !"])
    alert = add_alert(store, evidence=ids)
    row_id = enqueue(store, kind="alert", channel="email", target="astreinte@rivebelle.fr",
                     payload={"alert_ids": [alert]}, idempotency_key="mail-1", at=T0)
    worker = worker_for(store, settings)
    await worker.drain(timeout=10)
    row = outbox.get(store, row_id)
    assert row.state == "sent", row.last_error
    mail_from, rcpt, _ = smtp.messages[0]
    assert mail_from == "vigie@rivebelle.fr" and rcpt == ["astreinte@rivebelle.fr"]
    msg = smtp.parsed()
    assert msg["Subject"] == "Vigie [CRITIQUE] Pic de mentions « inondation »"
    assert msg["From"] == "Vigie Rivebelle <vigie@rivebelle.fr>"
    assert msg["To"] == "astreinte@rivebelle.fr"
    assert msg["Date"] and msg["Auto-Submitted"] == "auto-generated"
    assert msg["Message-ID"] == message_id("mail-1", "vigie@rivebelle.fr") == row.external_ref
    assert msg.get_content_type() == "multipart/alternative"
    found = parts(msg)
    text, html = found["text/plain"].get_content(), found["text/html"].get_content()
    for body in (text, html):
        assert "Pic de mentions « inondation »" in body
        assert "observé 38, attendu 1,2" in body
        assert "Le sujet « inondation » est 30 fois plus cité" in body
    assert "La rue de la Gare est sous l&#39;eau !" in html or "La rue de la Gare est sous l'eau !" in html
    assert '<a href="https://rivebelle.social/@habitant/1"' in html
    assert '<html lang="fr">' in html


async def test_hostile_text_is_escaped_and_never_a_link(store, settings, smtp):
    ids = add_mentions(store, [HOSTILE], url="javascript:alert(document.cookie)")
    alert = add_alert(store, evidence=ids, title="Alerte <b>gras</b> http://evil.example", summary=HOSTILE)
    enqueue(store, kind="alert", channel="email", target="astreinte@rivebelle.fr", payload={"alert_ids": [alert]},
            idempotency_key="mail-2", at=T0)
    await worker_for(store, settings).drain(timeout=10)
    msg = smtp.parsed()
    found = parts(msg)
    html, text = found["text/html"].get_content(), found["text/plain"].get_content()
    assert "<script" not in html and "<img" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "javascript:" not in html
    # the only links are the ones we built (none here: the mention URL is not http(s))
    assert re.findall(r'href="([^"]*)"', html) == []
    # what clients would auto-link is broken up (zero-width space)
    for body in (html, text):
        assert "http://evil" not in body and "www.arnaque" not in body
        assert "http:\u200b//evil" in body
    assert "\n" not in msg["Subject"] and "<b>gras</b>" in msg["Subject"]  # the subject is plain text


async def test_digest_email_has_inline_chart_images_and_list_unsubscribe(store, settings, smtp):
    end = T0
    add_counts(store, "topic:inondation", [0] * 18 + [3, 5, 12, 40, 55, 30], end)
    ids = add_mentions(store, ["Inondation rue de la Gare", HOSTILE], at=end - timedelta(hours=1))

    def trending(store_, as_of, hours=24, background_days=28):
        return [TrendingItem(term="inondation", key="topic:inondation", volume=145, change=4.2, negative=0.62,
                             neutral=0.3, positive=0.08, sample_ids=ids)]

    def crisis_state(store_):
        return {"state": "vigilance", "since": "2026-11-17T12:00:00Z", "reason": "pluies", "actor": "système"}

    enqueue_digest(store, DigestGroup(name="elus", emails=["maire@rivebelle.fr", "cabinet@rivebelle.fr"]),
                   as_of=end, tz=PARIS)
    worker = worker_for(store, settings, trending=trending, crisis_state=crisis_state)
    await worker.drain(timeout=20)
    assert [r.state for r in outbox.list_rows(store)] == ["sent", "sent"]
    assert sorted(m[1][0] for m in smtp.messages) == ["cabinet@rivebelle.fr", "maire@rivebelle.fr"]
    msg = smtp.parsed()
    assert msg["Subject"] == "Synthèse du matin — Ville de Rivebelle — mardi 17 novembre 2026"
    assert msg["List-Unsubscribe"].strip() == "<mailto:vigie@rivebelle.fr?subject=desabonnement>"
    assert msg["List-Id"]
    related = [p for p in msg.walk() if p.get_content_type() == "multipart/related"]
    assert related, "HTML and images travel together in multipart/related"
    images = [p for p in msg.walk() if p.get_content_type() == "image/png"]
    assert len(images) == 1
    cid = images[0]["Content-ID"].strip("<>")
    assert images[0].get_content()[:8] == b"\x89PNG\r\n\x1a\n"
    assert images[0].get_content_disposition() == "inline"
    html = parts(msg)["text/html"].get_content()
    assert f'src="cid:{cid}"' in html
    text = parts(msg)["text/plain"].get_content()
    assert "1. inondation — 145 mentions (▲ +420 %), 62 % négatives" in text
    assert "vigilance" in text and "<script" not in html


async def test_refused_recipient_is_dead_and_unreachable_server_is_retried(store, settings, smtp):
    smtp.refuse.add("inconnu@rivebelle.fr")
    alert = add_alert(store)
    refused = enqueue(store, kind="alert", channel="email", target="inconnu@rivebelle.fr",
                      payload={"alert_ids": [alert]}, idempotency_key="r", at=T0)
    await worker_for(store, settings).drain(timeout=5)
    row = outbox.get(store, refused)
    assert row.state == "dead" and "550" in row.last_error and row.attempts == 1

    down = settings.model_copy(deep=True)
    down.alerts.email.port = free_port()  # nobody listens there
    later = enqueue(store, kind="alert", channel="email", target="astreinte@rivebelle.fr",
                    payload={"alert_ids": [alert]}, idempotency_key="d", at=T0)
    await worker_for(store, down).run_once()
    row = outbox.get(store, later)
    assert row.state == "pending" and "SMTP injoignable" in row.last_error


async def test_wrong_password_is_a_permanent_error(store, settings, smtp, monkeypatch):
    monkeypatch.setenv("VIGIE_SMTP_PASSWORD", "faux")
    row_id = enqueue(store, kind="alert", channel="email", target="astreinte@rivebelle.fr",
                     payload={"alert_ids": [add_alert(store)]}, idempotency_key="p", at=T0)
    await worker_for(store, settings).drain(timeout=5)
    row = outbox.get(store, row_id)
    assert row.state == "dead" and "authentification" in row.last_error and not smtp.messages


def test_cli_digest_send_now_and_alerts_list(tmp_path, smtp, monkeypatch):
    import sys
    import types

    from click.testing import CliRunner

    from listener.areas import open_store
    from listener.cli import main
    from tests.test_alerts_data import digest_scenario

    db = tmp_path / "vigie.db"
    store = open_store(db)
    trending, crisis = digest_scenario(store, T0)
    stale = enqueue(store, kind="alert", channel="email", target="astreinte@rivebelle.fr",
                    payload={"alert_ids": [add_alert(store)]}, idempotency_key="other", at=T0)
    store.close()
    monkeypatch.setitem(sys.modules, "classifiers.detection.trending", types.SimpleNamespace(compute_trending=trending))
    monkeypatch.setitem(sys.modules, "rules.crisis", types.SimpleNamespace(current_state=crisis))
    config = tmp_path / "c.toml"
    config.write_text(f"""
[store]
path = "{db}"
[alerts.email]
host = "127.0.0.1"
port = {smtp.port}
security = "none"
from_address = "vigie@rivebelle.fr"
[[alerts.digest.groups]]
name = "elus"
emails = ["maire@rivebelle.fr"]
""")
    runner = CliRunner()
    result = runner.invoke(main, ["digest", "--config", str(config), "--send"])
    assert result.exit_code == 0, result.output
    assert "Synthèse : 1 envoi(s) sur 1 réussi(s)." in result.output
    assert [m[1] for m in smtp.messages] == [["maire@rivebelle.fr"]]  # only the digest, not other pending alerts
    result = runner.invoke(main, ["alerts", "list", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "Envois : en attente 1, en cours 0, envoyée 1, abandonnée 0" in result.output
    assert "digest" in result.output and "maire@rivebelle.fr" in result.output
    store = open_store(db)
    outbox.mark_dead(store, stale, error="SMTP 550")
    store.close()
    result = runner.invoke(main, ["alerts", "retry", "--config", str(config), str(stale)])
    assert result.exit_code == 0 and "1 envoi(s) remis en file" in result.output
    result = runner.invoke(main, ["alerts", "retry", "--config", str(config)])
    assert result.exit_code == 2 and "--all" in result.output
