"""`make demo-canaux`: the demo (`vigie demo`) with its alerts and its crisis routed to every channel,
each against its local fake (Slack, e-mail over a loopback SMTP server, webhook, Teams, Tchap/Matrix,
Mattermost, SMS through OVHcloud), then what each one received. `make demo` stays console-only.

The fakes run on 127.0.0.1 in a thread of their own; the demo runs in this process with a configuration
written from config.toml where every channel points at its fake (`--canaux-configures` keeps them); its
database stays in demo-out-canaux/ (`vigie alerts list --config …` or sqlite3 to look at the outbox).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import threading
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from listener.settings import load_settings
from tests.fakes.matrix import FakeMatrix
from tests.fakes.mattermost import FakeMattermost
from tests.fakes.slack_api import FakeSlack
from tests.fakes.sms import FakeOvh
from tests.fakes.teams import FakeTeams
from tests.fakes.webhook import FakeWebhook
from tests.test_alerts_email import free_port

REPO = Path(__file__).resolve().parents[2]
ON_CALL = "+33600000001"
OUT = Path("demo-out-canaux")


def toml(data: dict[str, Any], prefix: str = "") -> str:
    """A small TOML writer for settings dumps (scalars, lists, tables, arrays of tables)."""
    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return repr(v)
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{" + ", ".join(f"{json.dumps(k)} = {value(x)}" for k, x in v.items() if x is not None) + "}"
        return json.dumps(str(v), ensure_ascii=False)

    lines, tables, arrays = [], [], []
    for key, v in data.items():
        if v is None:
            continue
        if isinstance(v, dict):
            tables.append((key, v))
        elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            arrays.append((key, v))
        else:
            lines.append(f"{json.dumps(key)} = {value(v)}")
    out = "\n".join(lines) + "\n"
    for key, table in tables:
        name = f"{prefix}{json.dumps(key)}"
        out += f"\n[{name}]\n" + toml(table, name + ".")
    for key, items in arrays:
        name = f"{prefix}{json.dumps(key)}"
        for item in items:
            out += f"\n[[{name}]]\n" + toml(item, name + ".")
    return out


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's hook name)
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


class Fakes:
    """Every channel's fake, started on a loop in a background thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.inbox = Inbox()
        self.smtp = Controller(self.inbox, hostname="127.0.0.1", port=free_port())

    def start(self) -> Fakes:
        self.thread.start()
        self.smtp.start()

        async def start_all() -> None:
            self.slack = await FakeSlack(channels={"#veille": "C0VEILLE", "C0VEILLE": "C0VEILLE",
                                                "#cabinet": "C0CABINET", "C0CABINET": "C0CABINET"}).start()
            self.webhook = await FakeWebhook().start()
            self.teams = await FakeTeams().start()
            self.matrix = await FakeMatrix().start()
            self.mattermost = await FakeMattermost().start()
            self.ovh = await FakeOvh().start()

        asyncio.run_coroutine_threadsafe(start_all(), self.loop).result(10)
        return self

    def stop(self) -> None:
        async def stop_all() -> None:
            for fake in (self.slack, self.webhook, self.teams, self.matrix, self.mattermost, self.ovh):
                await fake.close()

        asyncio.run_coroutine_threadsafe(stop_all(), self.loop).result(10)
        self.smtp.stop()
        self.loop.call_soon_threadsafe(self.loop.stop)

    def environment(self) -> dict[str, str]:
        return {"VIGIE_SLACK_TOKEN": self.slack.token, "VIGIE_WEBHOOK_SECRET": self.webhook.secret,
                "VIGIE_MATRIX_TOKEN": self.matrix.token, **self.ovh.env()}

    def configure(self, data: dict[str, Any]) -> dict[str, Any]:
        """Point every channel of a settings dump at its fake and every group at every channel."""
        alerts = data["alerts"]
        alerts["console"] = {"enabled": True}
        for name in ("slack", "email", "webhook", "teams", "matrix", "mattermost", "sms"):
            alerts[name]["enabled"] = True
        alerts["slack"]["base_url"] = self.slack.base_url
        alerts["email"].update(host="127.0.0.1", port=self.smtp.port, security="none", username="")
        alerts["matrix"]["homeserver"] = self.matrix.homeserver
        alerts["sms"]["provider"] = "ovh"
        alerts["sms"]["ovh"].update(endpoint=self.ovh.endpoint, service_name=self.ovh.service)
        alerts["ui_url"] = "http://127.0.0.1:8080/"
        everywhere = {"teams": [self.teams.webhook_url()], "matrix": [self.matrix.room()],
                      "mattermost": [self.mattermost.hook_url()], "webhook": [f"{self.webhook.url}/vigie"]}
        groups = data["rules"]["groups"]
        for group in groups.values():
            for key in ("slack_channels", "emails", "webhooks"):
                group.pop(key, None)
            group.update(everywhere)
        if "cellule" in groups:
            groups["cellule"].update(slack=["#veille"], email=["cellule@rivebelle.fr"], console=True)
        if "cabinet" in groups:
            groups["cabinet"].update(slack=["#cabinet"], email=["cabinet@rivebelle.fr"])
        if "astreinte" in groups:
            groups["astreinte"].update(sms=[ON_CALL], email=["astreinte@rivebelle.fr"])
        return data

    def report(self) -> list[str]:
        """What each channel received, in French, and whether the switch to crisis mode got there."""
        slack = [m["text"] or "" for m in self.slack.messages]
        mails = [str(m["Subject"]) for m in self.inbox.messages]
        hooks = [r["body"].get("title", "") for r in self.webhook.receipts]
        teams = [c["body"][0]["text"] for c in self.teams.cards]
        matrix = [e["content"]["body"].split("\n")[0] for e in self.matrix.events]
        mm = [p["text"] for p in self.mattermost.posts]
        sms = [s["message"] for s in self.ovh.sms]
        rows = [("Slack", slack), ("Courriel", mails), ("Webhook", hooks), ("Teams", teams),
                ("Tchap/Matrix", matrix), ("Mattermost", mm), ("SMS (OVHcloud)", sms)]
        lines = []
        for name, texts in rows:
            crisis = [t.replace("\u200b", "") for t in texts if re.search(r"(→|->) CRISE", t)]
            seen = f"passage en crise reçu : {crisis[0][:90]}" if crisis else "passage en crise NON REÇU"
            lines.append(f"  {name:<15} {len(texts):>3} message(s) · {seen}")
        return lines


def main(argv: list[str] | None = None) -> int:
    from listener.cli import main as vigie

    args = list(argv if argv is not None else sys.argv[1:])
    fakes = Fakes().start()
    try:
        os.environ.update(fakes.environment())
        settings = load_settings(REPO / "config.toml")
        data = fakes.configure(settings.model_dump(mode="json", exclude={"config_path"}))
        # Beside config.toml, so its relative paths (models, lexicons) resolve the same way.
        config = REPO / f".config-canaux-{os.getpid()}.toml"
        config.write_text(toml(data), encoding="utf-8")
        code = 0
        try:
            vigie(["demo", "--config", str(config), "--canaux-configures", "--once", "--port", "0",
                   "--out", str(OUT), *args], standalone_mode=False)
        except SystemExit as exc:
            code = int(exc.code or 0)
        finally:
            config.unlink(missing_ok=True)
        print("\nCe que chaque canal a reçu (serveurs factices locaux) :")
        for line in fakes.report():
            print(line)
        return code
    finally:
        fakes.stop()


if __name__ == "__main__":
    raise SystemExit(main())
