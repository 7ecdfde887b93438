"""Tchap / Matrix through the client-server API: `PUT /_matrix/client/v3/rooms/{roomId}/send/
m.room.message/{txnId}` with the access token from the environment. Works with Tchap (the State's
Matrix-based messenger: the agents' homeserver) or any homeserver.

The transaction id is derived from the outbox idempotency key: a resend after a crash carries the same
txnId and the homeserver answers with the event it already has instead of posting it twice. Room aliases
(#veille:serveur) are resolved once with `GET /directory/room/{alias}`.

The event has a plain `body` and an HTML `formatted_body` (org.matrix.custom.html) that we build
ourselves from the allowed tags; untrusted text is HTML-escaped, and @, :// and www. are broken with a
zero-width space in both. `m.mentions: {}` says the event mentions nobody, which also turns off the
legacy push rules that would ping on "@room" or a display name found in the text. An update to an
alert goes in the thread of its first message; an escalation replies to it in the room.
"""

from __future__ import annotations

import hashlib
import html
from typing import Any, Literal
from urllib.parse import quote

from pydantic import Field

from alerts import outbox
from alerts.channels import ChannelPlugin, Deferred, PermanentError
from alerts.console import format_notification
from alerts.http import HttpClient, check, dumps
from alerts.render import AlertInfo, Notification, fr_num, one_line, safe_url
from listener.settings_base import StrictModel, secret_from_env

HINTS = {
    "M_FORBIDDEN": "le compte de Vigie n'est pas membre du salon ou n'a pas le droit d'y écrire",
    "M_UNKNOWN_TOKEN": "jeton d'accès refusé ou expiré",
    "M_MISSING_TOKEN": "jeton d'accès absent",
    "M_NOT_FOUND": "salon introuvable",
    "M_TOO_LARGE": "message trop long",
    "M_BAD_JSON": "message refusé par le serveur",
    "M_NOT_JSON": "message refusé par le serveur",
}


class MatrixSettings(StrictModel):
    enabled: bool = True
    # Homeserver of Vigie's account, e.g. "https://matrix.agent.<ministère>.tchap.gouv.fr" for Tchap.
    homeserver: str = ""
    # Environment variable holding the account's access token.
    token_env: str = "VIGIE_MATRIX_TOKEN"
    # m.text notifies room members as a person's message would; m.notice is quieter (bots' notices).
    msgtype: Literal["m.text", "m.notice"] = "m.text"
    # Seconds before a call is abandoned.
    timeout: float = Field(default=15.0, gt=0)

    def problems(self) -> list[str]:
        """What is missing before this channel can deliver (French, for `vigie alerts channels`)."""
        found = [] if safe_url(self.homeserver) else ["serveur (homeserver)"]
        return found + ([] if secret_from_env(self.token_env) else [f"jeton absent ({self.token_env})"])


def inert(text: Any, limit: int | None = None) -> str:
    """Untrusted text with mentions and auto-links broken, < > as look-alikes (bridges to Slack or IRC
    forward the plain body); still to be HTML-escaped for formatted_body."""
    value = one_line(text, limit).replace("<", "‹").replace(">", "›")
    return value.replace("@", "@\u200b").replace("://", ":\u200b//").replace("www.", "www\u200b.")


def h(text: Any, limit: int | None = None) -> str:
    return html.escape(inert(text, limit), quote=True)


def _link(url: str | None, label: str) -> str:
    safe = safe_url(url)
    return f'<a href="{html.escape(safe, quote=True)}">{h(label)}</a>' if safe else h(label)


def txn_id(key: str) -> str:
    """Stable per outbox row: the homeserver drops a repeat of the same transaction."""
    return "vigie-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:40]


def _alert_html(alert: AlertInfo, n: Notification) -> list[str]:
    parts = [f"<p><b>{alert.emoji} {h(alert.severity_fr)} — {h(n.headline(), 200)}</b></p>"]
    if alert.summary:
        parts.append(f"<p>{h(alert.summary, 500)}</p>")
    facts = []
    if alert.measure():
        facts.append(("Mesure", alert.measure() + (f" (fenêtre {alert.window()})" if alert.window() else "")))
    facts.append(("Règle", alert.rule))
    if alert.topic:
        facts.append(("Sujet", alert.topic_label))
    facts.append(("Statut", f"{alert.status_fr} · {fr_num(alert.fire_count)} déclenchement(s) · alerte n° {alert.id}"))
    parts.append("<ul>" + "".join(f"<li><b>{t} :</b> {h(v, 200)}</li>" for t, v in facts) + "</ul>")
    for ev in alert.evidence[:3]:
        meta = f"{h(ev.author, 60)} · {h(ev.source)} · sentiment {h(ev.sentiment_fr)}"
        if ev.url:
            meta += " · " + _link(ev.url, "voir le message")
        parts.append(f"<blockquote>« {h(ev.text, 400)} »<br>{meta}</blockquote>")
    return parts


def render_event(n: Notification, msgtype: str = "m.text") -> dict[str, Any]:
    """The m.room.message content for one notification."""
    body = "\n".join(inert(line, 500) for line in format_notification(n).split("\n"))
    if n.alerts and n.kind in ("alert", "alert_update", "escalation"):
        parts = _alert_html(n.alerts[0], n)
        parts += [f"<p>+ {other.emoji} {h(other.title, 120)}</p>" for other in n.alerts[1:4]]
    else:
        lines = format_notification(n).split("\n")
        parts = [f"<p><b>{h(lines[0], 200)}</b></p>"]
        parts += [f"<p>{h(line.strip(), 400)}</p>" for line in lines[1:] if line.strip()]
    if safe_url(n.ui_url):
        parts.append(f"<p>{_link(n.ui_url, 'Ouvrir dans Vigie')}</p>")
        body += f"\n{n.ui_url}"
    return {"msgtype": msgtype, "body": body, "format": "org.matrix.custom.html",
            "formatted_body": "".join(parts), "m.mentions": {}}


class MatrixChannel:
    name = "matrix"

    def __init__(self, settings: MatrixSettings, store=None, session=None) -> None:
        self.settings = settings
        self.store = store
        self.http = HttpClient(session, timeout=settings.timeout)
        self._rooms: dict[str, str] = {}

    def _base(self) -> str:
        server = self.settings.homeserver.rstrip("/")
        if not safe_url(server):
            raise PermanentError("Matrix : serveur non configuré ([alerts.matrix] homeserver)")
        return server + "/_matrix/client/v3"

    def _headers(self) -> dict[str, str]:
        token = secret_from_env(self.settings.token_env)
        if not token:
            raise PermanentError(f"Matrix : jeton d'accès absent (variable d'environnement {self.settings.token_env})")
        return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def _check(self, answer) -> Any:
        document = answer.json()
        detail = None
        if isinstance(document, dict) and document.get("errcode"):
            code = str(document["errcode"])
            detail = f"{code}, {HINTS[code]}" if code in HINTS else f"{code} {document.get('error', '')}".strip()
            if answer.status == 429 and "retry_after_ms" in document and "retry-after" not in {
                    k.lower() for k in answer.headers}:
                answer.headers["Retry-After"] = str(float(document["retry_after_ms"]) / 1000)
        check(answer, "Matrix", detail)
        return document

    async def room_id(self, target: str) -> str:
        if target.startswith("!"):
            return target
        if target not in self._rooms:
            url = f"{self._base()}/directory/room/{quote(target, safe='')}"
            answer = await self.http.request("GET", url, who="Matrix", headers=self._headers())
            document = self._check(answer)
            room = document.get("room_id") if isinstance(document, dict) else None
            if not isinstance(room, str) or not room.startswith("!"):
                raise PermanentError(f"Matrix : l'alias {target[:80]} ne désigne aucun salon")
            self._rooms[target] = room
        return self._rooms[target]

    async def put_event(self, target: str, content: dict[str, Any], key: str) -> str:
        room = await self.room_id(target)
        url = (f"{self._base()}/rooms/{quote(room, safe='')}/send/m.room.message/"
               f"{quote(txn_id(key), safe='')}")
        answer = await self.http.request("PUT", url, who="Matrix", body=dumps(content), headers=self._headers())
        document = self._check(answer)
        event = document.get("event_id") if isinstance(document, dict) else None
        return str(event or f"HTTP {answer.status}")

    def relation(self, n: Notification) -> dict[str, Any] | None:
        """An update goes in the thread of the alert's first message, an escalation replies to it in the
        room (so it is seen); None when there is no first message to hang on."""
        if self.store is None or not n.alerts or n.kind not in ("alert_update", "escalation"):
            return None
        first = outbox.first_delivery(self.store, channel=self.name, target=n.row.target, alert_id=n.alerts[0].id,
                                      before_id=n.row.id)
        if first is None or first.state == "dead":
            return None
        if first.state != "sent":
            raise Deferred("message d'origine pas encore envoyé")
        event = first.external_ref or ""
        if not event.startswith("$"):
            return None
        if n.kind == "escalation":
            return {"m.in_reply_to": {"event_id": event}}
        return {"rel_type": "m.thread", "event_id": event, "is_falling_back": True,
                "m.in_reply_to": {"event_id": event}}

    async def send(self, n: Notification) -> str | None:
        content = render_event(n, self.settings.msgtype)
        relation = self.relation(n)
        if relation:
            content["m.relates_to"] = relation
        return await self.put_event(n.row.target, content, n.row.idempotency_key)

    async def send_digest(self, digest, target: str, key: str) -> str | None:
        from alerts.digest import render_text

        lines = render_text(digest).split("\n")
        body = "\n".join(inert(line, 500) for line in lines)
        formatted = f"<h4>{h(digest.title, 200)}</h4>" + "".join(
            f"<p>{h(line, 500)}</p>" for line in lines[1:] if line.strip())
        content = {"msgtype": self.settings.msgtype, "body": body, "format": "org.matrix.custom.html",
                   "formatted_body": formatted, "m.mentions": {}}
        return await self.put_event(target, content, key)

    async def close(self) -> None:
        await self.http.close()


EXAMPLE = """
[alerts.matrix]
enabled = true
# Homeserver of Vigie's account (Tchap: your ministry's agents' homeserver).
homeserver = "https://matrix.agent.exemple.tchap.gouv.fr"
# Environment variable holding the account's access token (invite the account to the rooms first).
token_env = "VIGIE_MATRIX_TOKEN"
msgtype = "m.text"
# In a recipient group: matrix = ["!AbCdEf:agent.exemple.tchap.gouv.fr", "#veille:agent.exemple.tchap.gouv.fr"]
"""

PLUGIN = ChannelPlugin(
    name="matrix",
    description="Tchap / Matrix : message dans un salon (texte et HTML assaini), sans doublon après une panne.",
    target="salon Matrix (!identifiant:serveur ou #alias:serveur)",
    settings=MatrixSettings,
    example=EXAMPLE,
    create=lambda settings, ctx: MatrixChannel(settings, ctx.store, ctx.http),
)
