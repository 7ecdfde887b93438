"""Mattermost through an incoming webhook: one post per notification with a Slack-compatible attachment
(colour by severity, fields for the figures, evidence quoted), in French.

Mattermost renders Markdown in `text`, attachment `text`, `pretext` and field values, turns @name,
@channel, @here, @all and ~channel into mentions and links, translates Slack's <!channel> and <url|label>
in webhook payloads, and auto-links URLs. Untrusted text therefore goes through `mattermost_inert`:
<, > become look-alikes, Markdown punctuation is backslash-escaped, and @, ~, :// and www. are broken
with a zero-width space. Links are only the ones we build from validated http(s) URLs. Incoming
webhooks have no idempotency key: the outbox key travels in the post's props so a repeat after a crash
can be recognised (at-least-once).
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import Field

from alerts.channels import ChannelPlugin, PermanentError
from alerts.console import format_notification
from alerts.http import HttpClient, check, dumps
from alerts.render import Notification, fr_num, one_line, safe_url
from alerts.webhook import markdown_inert
from listener.settings_base import StrictModel

log = logging.getLogger("vigie.alerts.mattermost")

COLORS = {"critical": "#dc2626", "warning": "#ea580c", "info": "#2563eb"}


class MattermostSettings(StrictModel):
    enabled: bool = True
    # Name and icon shown on the posts (only if the server allows integrations to override them).
    username: str = "Vigie"
    icon_url: str = ""
    # Seconds before a call is abandoned.
    timeout: float = Field(default=15.0, gt=0)


def mattermost_inert(text: Any, limit: int | None = None) -> str:
    """Untrusted text made literal for Mattermost Markdown: no mention, channel link, link or format."""
    value = one_line(text, limit).replace("<", "‹").replace(">", "›")
    return markdown_inert(value).replace("~", "~\u200b")


def _plain(text: Any, limit: int | None = None) -> str:
    """For fields Mattermost shows as plain text (fallback, title): only mentions and links broken."""
    value = one_line(text, limit).replace("<", "‹").replace(">", "›")
    return value.replace("@", "@\u200b").replace("://", ":\u200b//").replace("www.", "www\u200b.")


def _link(url: str | None, label: str) -> str:
    safe = safe_url(url)
    if not safe:
        return mattermost_inert(label)
    return f"[{mattermost_inert(label)}]({safe.replace(')', '%29').replace(' ', '%20')})"


def render_post(n: Notification, settings: MattermostSettings) -> dict[str, Any]:
    """The webhook payload (JSON) for one notification."""
    headline = n.headline()
    attachment: dict[str, Any] = {
        "fallback": _plain(headline, 300),
        "color": COLORS.get(n.severity, "#64748b"),
        "title": _plain(headline, 250),
        "footer": _plain(f"Vigie — {n.institution}", 100),
    }
    if safe_url(n.ui_url):
        attachment["title_link"] = n.ui_url
    if n.alerts and n.kind in ("alert", "alert_update", "escalation"):
        first = n.alerts[0]
        lines = []
        if first.summary:
            lines.append(f"**Pourquoi :** {mattermost_inert(first.summary, 500)}")
        for ev in first.evidence[:3]:
            quote = f"> « {mattermost_inert(ev.text, 300)} » — {mattermost_inert(ev.author, 60)} ({ev.sentiment_fr})"
            if ev.url:
                quote += " · " + _link(ev.url, "voir le message")
            lines.append(quote)
        for other in n.alerts[1:4]:
            lines.append(f"+ {other.emoji} {mattermost_inert(other.title, 120)}")
        attachment["text"] = "\n".join(lines)
        fields = [("Gravité", f"{first.emoji} {first.severity_fr}"), ("Statut", mattermost_inert(first.status_fr))]
        if first.measure():
            fields.append(("Mesure", mattermost_inert(first.measure())))
        if first.window():
            fields.append(("Fenêtre", mattermost_inert(first.window())))
        fields.append(("Règle", mattermost_inert(first.rule, 80)))
        if first.topic:
            fields.append(("Sujet", mattermost_inert(first.topic_label, 80)))
        fields.append(("Alerte", f"n° {first.id} · {fr_num(first.fire_count)} déclenchement(s)"))
        attachment["fields"] = [{"short": True, "title": t, "value": v} for t, v in fields]
    else:
        body = format_notification(n).split("\n")[1:]
        attachment["text"] = "\n".join(mattermost_inert(line.strip(), 400) for line in body if line.strip())
    post: dict[str, Any] = {
        "text": (f"{n.alerts[0].emoji} {n.alerts[0].severity_fr} — " if n.alerts and n.kind != "crisis" else "")
        + mattermost_inert(headline, 300),
        "username": settings.username,
        "attachments": [attachment],
        "props": {"vigie_idempotency_key": n.row.idempotency_key, "vigie_kind": n.kind},
    }
    if settings.icon_url and safe_url(settings.icon_url):
        post["icon_url"] = settings.icon_url
    return post


class MattermostChannel:
    name = "mattermost"

    def __init__(self, settings: MattermostSettings, session=None) -> None:
        self.settings = settings
        self.http = HttpClient(session, timeout=settings.timeout)

    async def send(self, n: Notification) -> str | None:
        return await self.post(n.row.target, render_post(n, self.settings))

    async def send_digest(self, digest, target: str, key: str) -> str | None:
        from alerts.digest import render_text

        text = "\n".join(mattermost_inert(line, 400) if line.strip() else "" for line in render_text(digest).split("\n"))
        post = {"text": f"#### {mattermost_inert(digest.title, 200)}\n{text}", "username": self.settings.username,
                "props": {"vigie_idempotency_key": key, "vigie_kind": "digest"}}
        return await self.post(target, post)

    async def post(self, url: str, post: dict[str, Any]) -> str:
        if not safe_url(url):
            raise PermanentError(f"Mattermost : adresse de webhook invalide : {url[:80]}")
        answer = await self.http.request("POST", url, who="Mattermost", body=dumps(post),
                                         headers={"Content-Type": "application/json"})
        document = answer.json()
        detail = document.get("message") if isinstance(document, dict) else None
        check(answer, "Mattermost", detail)
        return answer.headers.get("X-Request-Id") or "ok"

    async def close(self) -> None:
        await self.http.close()


EXAMPLE = """
[alerts.mattermost]
enabled = true
# Name shown on the posts (if the server lets integrations override it).
username = "Vigie"
timeout = 15.0
# In a recipient group: mattermost = ["https://mattermost.mairie.example/hooks/xxxxxxxxxxxxxxxxxxxxxxxxxx"]
"""

PLUGIN = ChannelPlugin(
    name="mattermost",
    description="Mattermost : message par webhook entrant, pièce jointe colorée avec chiffres et exemples.",
    target="URL du webhook entrant (https://…/hooks/…)",
    settings=MattermostSettings,
    example=EXAMPLE,
    create=lambda settings, ctx: MattermostChannel(settings, ctx.http),
)
