"""An alert is never abandoned: SMTP (a real aiosmtpd on loopback) down far longer than the old retry
budget, through the real daemon. Every alert is retried with capped backoff, a copy goes to the group's
fallback after fallback_after_minutes with « livraison en échec » in /healthz, everything goes out once
SMTP is back, and only a permanent refusal stops a delivery (visible in `vigie alerts list` and the API,
with a retry action)."""

from __future__ import annotations

import aiohttp
from aiosmtpd.controller import Controller
from click.testing import CliRunner

from alerts import outbox
from alerts.extension import ALERTS as ALERTS_AREA
from listener.app import Vigie
from listener.cli import main as cli
from listener.timeutil import utcnow
from rules.routing import notify_groups
from tests.fakes import wait_for
from tests.fakes.webhook import FakeWebhook
from tests.test_alerts_data import add_alert
from tests.test_alerts_email import Inbox, free_port

COUNT = 5


def email_rows(app: Vigie, target: str) -> list[outbox.OutboxRow]:
    return [r for r in outbox.list_rows(app.store, limit=200) if r.channel == "email" and r.target == target]


async def test_smtp_down_for_long_alerts_fall_back_and_all_go_out_when_it_returns(make_settings, monkeypatch, tmp_path):
    monkeypatch.setenv("VIGIE_WEBHOOK_SECRET", "webhook-secret")
    monkeypatch.setenv("VIGIE_API_TOKEN", "jeton-api")
    port = free_port()
    inbox = Inbox()
    inbox.refuse.add("inconnu@rivebelle.fr")
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)  # not started: SMTP is down
    async with FakeWebhook() as pager:
        settings = make_settings(
            detectors={"enabled": False},
            alerts={
                "console": False,
                "email": {"host": "127.0.0.1", "port": port, "security": "none", "timeout": 2,
                          "from_address": "vigie@rivebelle.fr"},
                "slack": {"enabled": False},
                # A few hours of outage compressed: tiny backoff, fallback after 0.3 s of failures.
                "worker": {"poll_interval": 0.02, "backoff_initial": 0.01, "backoff_max": 0.05,
                           "fallback_after_minutes": 0.005},
            },
            rules={
                "groups": {
                    "cellule": {"email": ["cellule@rivebelle.fr", "inconnu@rivebelle.fr"], "fallback": "astreinte"},
                    "astreinte": {"webhook": [f"{pager.url}/page"]},
                },
                "default_routes": ["cellule"],
            },
        )
        app = Vigie(settings, deliver=True)
        await app.start()
        try:
            worker = app.get(ALERTS_AREA).worker
            for n in range(COUNT):
                alert_id = add_alert(app.store, title=f"Crue de la Rive, alerte {n}")
                notify_groups(app.store, settings, kind="alert", payload={"alert_ids": [alert_id]}, at=utcnow(),
                              severity="critical", idempotency_prefix=f"alert:{alert_id}", alert_id=alert_id,
                              groups=["cellule"])
            worker.nudge()
            # Far past the old budget (8 attempts): still pending, never dead.
            await wait_for(lambda: all(r.attempts >= 12 for r in email_rows(app, "cellule@rivebelle.fr"))
                           and len(email_rows(app, "cellule@rivebelle.fr")) == COUNT, timeout=60)
            assert all(r.state in ("pending", "sending") for r in email_rows(app, "cellule@rivebelle.fr"))
            # The fallback group's pager got one copy of each alert (its two failing addresses share it).
            await wait_for(lambda: len({r["key"] for r in pager.receipts}) == COUNT, timeout=30)
            assert all(r["key"].startswith("secours:") for r in pager.receipts)
            assert all(r["signed"] for r in pager.receipts)
            async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{app.web_port}/healthz") as resp:
                health = await resp.json()
            assert resp.status == 503
            alerts_health = health["components"]["alerts"]
            assert alerts_health["state"] == "failing" and "livraison en échec" in alerts_health["message"]
            assert alerts_health["delivery_failing"][0]["fallback_sent"] is True

            # SMTP is back: every alert goes out, without anyone touching anything.
            smtp.start()
            await wait_for(lambda: sum("cellule@rivebelle.fr" in m[1] for m in inbox.messages) == COUNT, timeout=30)
            await wait_for(lambda: all(r.state == "sent" for r in email_rows(app, "cellule@rivebelle.fr")), timeout=30)
            # A permanent refusal (550) is the only thing that stops a delivery; it is visible and retryable.
            await wait_for(lambda: all(r.state == "dead" for r in email_rows(app, "inconnu@rivebelle.fr")), timeout=30)
            dead = email_rows(app, "inconnu@rivebelle.fr")
            assert "destinataire refusé" in dead[0].last_error
            config = tmp_path / "cli.toml"
            config.write_text(f'[store]\npath = "{settings.store.path}"\n', encoding="utf-8")
            listed = CliRunner().invoke(cli, ["alerts", "list", "--state", "dead", "--config", str(config)])
            assert listed.exit_code == 0 and "abandonnée" in listed.output and "inconnu@rivebelle.fr" in listed.output
            base = f"http://127.0.0.1:{app.web_port}"
            async with aiohttp.ClientSession(headers={"Authorization": "Bearer jeton-api"}) as http:
                async with http.get(f"{base}/api/outbox?state=dead") as resp:
                    assert {i["target"] for i in (await resp.json())["items"]} == {"inconnu@rivebelle.fr"}
                async with http.post(f"{base}/api/outbox/{dead[0].id}/retry", json={}) as resp:
                    assert (await resp.json())["requeued"] == 1
        finally:
            await app.stop()
            if smtp._thread is not None:
                smtp.stop()
