"""Generic webhook: one JSON POST per notification (Mattermost, Teams, or anything else).

Signed like Slack signs its own requests: `X-Vigie-Signature: sha256=HMAC(secret, "<timestamp>.<body>")`
with `X-Vigie-Timestamp` (Unix seconds) so receivers can refuse replays, and `X-Vigie-Idempotency-Key`
so they can drop a repeat of a delivery interrupted by a crash. `text` is Markdown for chat tools, with
the untrusted parts escaped (no @channel, no links, no formatting from a post).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import time
from typing import TYPE_CHECKING, Any

from pydantic import Field

from alerts.channels import ChannelPlugin, PermanentError
from alerts.console import format_notification
from alerts.http import HttpClient, check, dumps
from alerts.render import Notification
from listener.settings_base import StrictModel, secret_from_env

if TYPE_CHECKING:
    import aiohttp

log = logging.getLogger("vigie.alerts.webhook")



class WebhookSettings(StrictModel):
    enabled: bool = True
    secret_env: str = "VIGIE_WEBHOOK_SECRET"
    timeout: float = Field(default=15.0, gt=0)

    def problems(self) -> list[str]:
        """What is missing before this channel can deliver (French, for `vigie alerts channels`)."""
        return [] if secret_from_env(self.secret_env) else [f"secret absent, envois non signés ({self.secret_env})"]


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~])")


def markdown_inert(text: str) -> str:
    """Backslash-escape Markdown and break @mentions and autolinks (zero-width space)."""
    text = _MD_SPECIAL.sub(r"\\\1", text)
    return text.replace("@", "@\u200b").replace("://", ":\u200b//").replace("www.", "www\u200b.")


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def payload_for(n: Notification) -> dict[str, Any]:
    return {
        "source": "vigie",
        "institution": n.institution,
        "kind": n.kind,
        "idempotency_key": n.row.idempotency_key,
        "outbox_id": n.row.id,
        "recipient_group": n.row.recipient_group,
        "severity": n.severity,
        "title": n.headline(),
        "text": markdown_inert(format_notification(n)),
        "alerts": [
            {
                "id": a.id, "rule": a.rule, "severity": a.severity, "status": a.status, "title": a.title,
                "summary": a.summary, "topic": a.topic, "details": a.details, "created_at": a.created_at,
                "evidence": [{"id": e.id, "text": e.text, "url": e.url, "author": e.author,
                              "sentiment": e.sentiment} for e in a.evidence],
            }
            for a in n.alerts
        ],
        "payload": n.payload,
    }


class WebhookChannel:
    name = "webhook"

    def __init__(self, settings: WebhookSettings, session: aiohttp.ClientSession | None = None) -> None:
        self.settings = settings
        self.http = HttpClient(session, timeout=settings.timeout, user_agent="Vigie-webhook/1")

    async def send(self, n: Notification) -> str | None:
        return await self.post(n.row.target, payload_for(n), key=n.row.idempotency_key, event=n.kind)

    async def send_digest(self, digest, target: str, key: str) -> str:
        from alerts.digest import render_text

        document = {"source": "vigie", "kind": "digest", "idempotency_key": key, "institution": digest.institution,
                    "title": digest.title, "text": render_text(digest)}
        return await self.post(target, document, key=key, event="digest")

    async def post(self, url: str, document: dict[str, Any], *, key: str, event: str) -> str:
        """POST one signed JSON document; 2xx is a confirmation, 408/425/429/5xx are worth retrying."""
        if not url.startswith(("http://", "https://")):
            raise PermanentError(f"adresse de webhook invalide : {url[:80]}")
        body = dumps(document)
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-Vigie-Event": event,
            "X-Vigie-Timestamp": timestamp,
            "X-Vigie-Idempotency-Key": key,
            "Idempotency-Key": key,
        }
        secret = secret_from_env(self.settings.secret_env)
        if secret:
            headers["X-Vigie-Signature"] = sign(secret, timestamp, body)
        else:
            log.warning("webhook secret %s not set: sending unsigned", self.settings.secret_env)
        answer = check(await self.http.request("POST", url, who="webhook", body=body, headers=headers), "webhook")
        return answer.headers.get("X-Request-Id") or f"HTTP {answer.status}"

    async def close(self) -> None:
        await self.http.close()



PLUGIN = ChannelPlugin(
    name="webhook",
    description="Webhook générique : JSON signé (HMAC-SHA256) avec clé d'idempotence, pour vos outils.",
    target="URL http(s) qui reçoit le JSON",
    settings=WebhookSettings,
    example="""
[alerts.webhook]
enabled = true
# Environment variable holding the HMAC-SHA256 secret (X-Vigie-Signature).
secret_env = "VIGIE_WEBHOOK_SECRET"
timeout = 15.0
# In a recipient group: webhook = ["https://outil.mairie.example/vigie"]
""",
    create=lambda settings, ctx: WebhookChannel(settings, ctx.http),
)
