"""Microsoft Teams through a Workflows (Power Automate) webhook: the « Post to a channel when a webhook
request is received » flow takes `{"type": "message", "attachments": [Adaptive Card]}` and posts the
card. The card is in French: the incident's title, severity, figures (FactSet), evidence and a link to
the web UI (Action.OpenUrl, only with a validated http(s) URL).

Adaptive Card TextBlocks and FactSet values render a Markdown subset (bold, italic, lists, links);
untrusted text goes through `card_inert`, which swaps Markdown and markup characters for look-alikes and
breaks @, :// and www. with a zero-width space, so a post cannot format, link or mention (Teams only
mentions through `msteams.entities`, which we never send). Answers: 202/200 accepted; 429 (Retry-After)
and 5xx retried; the retired Office 365 connectors answer 200 with "Microsoft Teams endpoint returned
HTTP error 429" in the body, also retried; other 4xx stop with a French reason. Workflows webhooks have no
idempotency key: a send interrupted by a crash may be posted twice (at-least-once).
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field

from alerts.channels import ChannelPlugin, PermanentError, TransientError
from alerts.console import format_notification
from alerts.http import HttpClient, check, dumps, retry_after
from alerts.render import AlertInfo, Notification, fr_num, one_line, safe_url
from listener.settings_base import StrictModel

CARD_VERSION = "1.4"
COLORS = {"critical": "Attention", "warning": "Warning", "info": "Accent"}
_LOOKALIKE = str.maketrans({"*": "∗", "_": "ˍ", "[": "［", "]": "］", "<": "‹", ">": "›", "`": "ˋ", "~": "∼",
                            "|": "ǀ", "\\": "⧵"})
_LIST_START = re.compile(r"^(\s*)([-+]|\d+[.)])(\s)")


class TeamsSettings(StrictModel):
    enabled: bool = True
    # Seconds before a call is abandoned.
    timeout: float = Field(default=15.0, gt=0)
    # Full-width cards (Teams desktop and web).
    full_width: bool = True


def card_inert(text: Any, limit: int | None = None) -> str:
    """Untrusted text for an Adaptive Card TextBlock or fact: literal, no link, mention or formatting."""
    value = one_line(text, limit).translate(_LOOKALIKE)
    value = _LIST_START.sub(lambda m: f"{m.group(1)}\u200b{m.group(2)}{m.group(3)}", value)
    return value.replace("@", "@\u200b").replace("://", ":\u200b//").replace("www.", "www\u200b.")


def _text(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def _alert_items(alert: AlertInfo, n: Notification) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    if alert.summary:
        items.append(_text(card_inert(alert.summary, 500)))
    facts = [("Gravité", f"{alert.emoji} {alert.severity_fr}"), ("Statut", card_inert(alert.status_fr))]
    if alert.measure():
        facts.append(("Mesure", card_inert(alert.measure())))
    if alert.window():
        facts.append(("Fenêtre", card_inert(alert.window())))
    facts.append(("Règle", card_inert(alert.rule, 80)))
    if alert.topic:
        facts.append(("Sujet", card_inert(alert.topic_label, 80)))
    facts.append(("Déclenchée", f"{n.at_local()} · {fr_num(alert.fire_count)} fois"))
    facts.append(("Alerte", f"n° {alert.id}"))
    items.append({"type": "FactSet", "facts": [{"title": t, "value": v} for t, v in facts]})
    if alert.evidence:
        items.append(_text("Exemples de mentions", weight="Bolder", spacing="Medium"))
    for ev in alert.evidence[:3]:
        container: dict[str, Any] = {"type": "Container", "style": "emphasis", "items": [
            _text(f"« {card_inert(ev.text, 400)} »"),
            _text(f"{card_inert(ev.author, 60)} · {card_inert(ev.source)} · sentiment {ev.sentiment_fr}",
                  isSubtle=True, size="Small", spacing="None"),
        ]}
        if safe_url(ev.url):
            container["selectAction"] = {"type": "Action.OpenUrl", "url": ev.url, "title": "Voir le message"}
        items.append(container)
    return items


def render_card(n: Notification, settings: TeamsSettings) -> dict[str, Any]:
    """The Adaptive Card (the `content` of the attachment) for one notification."""
    head = f"{n.alerts[0].emoji} {n.alerts[0].severity_fr} — " if n.alerts and n.kind != "crisis" else ""
    body: list[dict[str, Any]] = [_text(head + card_inert(n.headline(), 200), weight="Bolder", size="Medium",
                                        style="heading", color=COLORS.get(n.severity, "Default"))]
    if n.alerts and n.kind in ("alert", "alert_update", "escalation"):
        body += _alert_items(n.alerts[0], n)
        for other in n.alerts[1:4]:
            body.append(_text(f"+ {other.emoji} {card_inert(other.title, 120)} ({card_inert(other.measure())})",
                              spacing="Small"))
    else:
        for line in format_notification(n).split("\n")[1:]:
            if line.strip():
                body.append(_text(card_inert(line.strip(), 400), spacing="Small"))
    body.append(_text(card_inert(f"Vigie — {n.institution}", 100), isSubtle=True, size="Small"))
    card: dict[str, Any] = {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard",
                            "version": CARD_VERSION, "lang": "fr", "body": body}
    if safe_url(n.ui_url):
        card["actions"] = [{"type": "Action.OpenUrl", "title": "Ouvrir dans Vigie", "url": n.ui_url}]
    if settings.full_width:
        card["msteams"] = {"width": "Full"}
    return card


def message(card: dict[str, Any]) -> dict[str, Any]:
    """The Workflows webhook body: one Adaptive Card attachment."""
    return {"type": "message", "attachments": [
        {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}]}


class TeamsChannel:
    name = "teams"

    def __init__(self, settings: TeamsSettings, session=None) -> None:
        self.settings = settings
        self.http = HttpClient(session, timeout=settings.timeout)

    async def send(self, n: Notification) -> str | None:
        return await self.post(n.row.target, message(render_card(n, self.settings)))

    async def send_digest(self, digest, target: str, key: str) -> str | None:
        from alerts.digest import render_text

        lines = [line for line in render_text(digest).split("\n") if line.strip()]
        body = [_text(card_inert(digest.title, 200), weight="Bolder", size="Medium", style="heading")]
        body += [_text(card_inert(line, 400), spacing="Small") for line in lines[1:60]]
        card = {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard",
                "version": CARD_VERSION, "lang": "fr", "body": body}
        return await self.post(target, message(card))

    async def post(self, url: str, document: dict[str, Any]) -> str:
        if not safe_url(url):
            raise PermanentError(f"Teams : adresse du webhook Workflows invalide : {url[:80]}")
        answer = await self.http.request("POST", url, who="Teams", body=dumps(document),
                                         headers={"Content-Type": "application/json"})
        if "returned HTTP error 429" in answer.text:  # retired connectors: 200 with the 429 in the body
            raise TransientError("Teams : limite de débit atteinte, nouvel essai plus tard",
                                 retry_after(answer.headers))
        error = answer.json()
        detail = None
        if isinstance(error, dict) and isinstance(error.get("error"), dict):
            detail = " ".join(str(error["error"].get(k, "")) for k in ("code", "message")).strip()
        check(answer, "Teams", detail)
        return answer.headers.get("x-ms-workflow-run-id") or f"HTTP {answer.status}"

    async def close(self) -> None:
        await self.http.close()


EXAMPLE = """
[alerts.teams]
enabled = true
timeout = 15.0
# In Teams: channel ⋯ > Workflows > « Post to a channel when a webhook request is received »; copy its URL.
# In a recipient group: teams = ["https://prod-00.westeurope.logic.azure.com:443/workflows/…/invoke?…&sig=…"]
"""

PLUGIN = ChannelPlugin(
    name="teams",
    description="Microsoft Teams : carte adaptative en français par un webhook Workflows (Power Automate).",
    target="URL du webhook Workflows du canal Teams",
    settings=TeamsSettings,
    example=EXAMPLE,
    create=lambda settings, ctx: TeamsChannel(settings, ctx.http),
)
