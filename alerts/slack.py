"""Slack delivery with slack-sdk's AsyncWebClient: Block Kit messages in French.

Untrusted text (posts, authors, even alert titles made from hashtags) goes into `plain_text` objects
where Block Kit allows it; where it must be mrkdwn, `mrkdwn_inert` escapes &, <, > as Slack documents
and swaps the mrkdwn control characters for look-alikes, so a post can never ping (<!channel>,
<@U…>), link (<http://…|…>) or format. Links are only ones we build from validated http(s) URLs.

Updates to an alert edit the original message (chat.update) and add a line in its thread; the
original's channel id and ts are kept in `alerts_slack_messages` (and the ts in outbox.external_ref).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from pydantic import Field
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from alerts import outbox
from alerts.channels import ChannelPlugin, Deferred, PermanentError, TransientError
from alerts.render import CRISIS_EMOJI, AlertInfo, Notification, fr_num, one_line
from listener.settings_base import StrictModel, secret_from_env

if TYPE_CHECKING:
    from listener.store import Store

log = logging.getLogger("vigie.alerts.slack")


class SlackSettings(StrictModel):
    enabled: bool = True
    token_env: str = "VIGIE_SLACK_TOKEN"
    base_url: str = "https://slack.com/api/"
    signing_secret_env: str = "VIGIE_SLACK_SIGNING_SECRET"
    # How many times slack-sdk itself retries a 429 before handing back to the outbox.
    rate_limit_retries: int = Field(default=2, ge=0)
    # Longest Retry-After honoured inline (longer ones reschedule the outbox row).
    max_retry_after: float = Field(default=30.0, ge=0)
    # Link to the web UI shown in messages (empty: no link). Prefer [alerts] ui_url, read by every channel.
    ui_url: str = ""

    def problems(self) -> list[str]:
        """What is missing before this channel can deliver (French, for `vigie alerts channels`)."""
        return [] if secret_from_env(self.token_env) else [f"jeton absent ({self.token_env})"]


PERMANENT_ERRORS = {
    "channel_not_found", "invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired",
    "not_in_channel", "is_archived", "msg_too_long", "invalid_blocks", "invalid_blocks_format", "no_permission",
    "missing_scope", "restricted_action", "invalid_arguments", "team_access_not_granted", "ekm_access_denied",
    "channel_is_archived", "no_text", "too_many_attachments", "invalid_metadata_format",
}
_LOOKALIKE = str.maketrans({"*": "\u2217", "_": "\u02cd", "~": "\u223c", "`": "\u02cb"})


def mrkdwn_inert(text: Any, limit: int | None = None) -> str:
    """Untrusted text for a mrkdwn field: escape &, <, > (Slack's rule), neutralise * _ ~ ` and >."""
    value = one_line(text, limit)
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return value.translate(_LOOKALIKE)


def plain(text: Any, limit: int = 3000) -> dict[str, Any]:
    """A plain_text object: Slack shows it literally (no mentions, links or formatting)."""
    value = one_line(text, limit) or "—"
    return {"type": "plain_text", "text": value, "emoji": True}


def link(url: str | None, label: str) -> str:
    """A mrkdwn link we build ourselves: only a validated http(s) URL, with |, <, > encoded."""
    if not url:
        return mrkdwn_inert(label)
    safe = quote(url, safe=":/?#[]@!$&'()*+,;=%-._~")
    return f"<{safe}|{mrkdwn_inert(label)}>"


class CappedRateLimitHandler(AsyncRateLimitErrorRetryHandler):
    """slack-sdk's 429 handler, but only for short Retry-After: a long wait goes back to the outbox
    (rescheduled row) instead of holding a delivery slot."""

    def __init__(self, max_retry_count: int, max_wait: float) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait = max_wait

    async def _can_retry_async(self, *, state, request, response=None, error=None) -> bool:
        if response is None or response.status_code != 429:
            return False
        for name, values in response.headers.items():
            if name.lower() == "retry-after":
                try:
                    return float(values[0]) <= self.max_wait
                except (ValueError, IndexError):
                    return True
        return True


def _retry_after(error: SlackApiError) -> float | None:
    headers = getattr(error.response, "headers", None) or {}
    for name, value in headers.items():
        if name.lower() == "retry-after":
            try:
                return float(value[0] if isinstance(value, list) else value)
            except (ValueError, IndexError):
                return None
    return None


def classify_error(error: Exception) -> Exception:
    if isinstance(error, SlackApiError):
        code = str(error.response.get("error", "")) if error.response is not None else ""
        status = getattr(error.response, "status_code", 0)
        if status == 429 or code == "ratelimited":
            return TransientError("Slack : limite de débit (ratelimited), réessai plus tard", _retry_after(error))
        if code in PERMANENT_ERRORS:
            hint = {"channel_not_found": "canal introuvable", "invalid_auth": "jeton refusé",
                    "not_in_channel": "le robot n'est pas membre du canal",
                    "not_authed": "aucun jeton fourni"}.get(code, "erreur définitive")
            return PermanentError(f"Slack : {code} ({hint})")
        return TransientError(f"Slack : {code or 'HTTP ' + str(status)}")
    return TransientError(f"Slack injoignable : {type(error).__name__} {error}")


# -- blocks -------------------------------------------------------------------------------------------


def _alert_blocks(alert: AlertInfo, n: Notification, *, with_actions: bool = True) -> list[dict[str, Any]]:
    header = f"{alert.emoji} {alert.severity_fr} — {one_line(alert.title, 120)}"
    blocks: list[dict[str, Any]] = [{"type": "header", "text": plain(header, 150)}]
    why = []
    if alert.summary:
        why.append(f"*Pourquoi :* {mrkdwn_inert(alert.summary, 500)}")
    measure = alert.measure()
    if measure:
        line = f"*Mesure :* {mrkdwn_inert(measure)}"
        if alert.window():
            line += f" (fenêtre {mrkdwn_inert(alert.window())})"
        why.append(line)
    facts = [f"*Règle :* {mrkdwn_inert(alert.rule, 80)}"]
    if alert.topic:
        facts.append(f"*Sujet :* {mrkdwn_inert(alert.topic_label, 80)}")
    why.append(" · ".join(facts))
    blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(why)}})
    status = f"Statut : {alert.status_fr}"
    if alert.acked_by:
        status += f" par {mrkdwn_inert(alert.acked_by, 60)}"
    context = [
        status,
        f"déclenchée à {n.at_local()}" if n.kind == "alert" else f"mise à jour à {n.at_local()}",
        f"{fr_num(alert.fire_count)} déclenchement(s)",
        f"alerte n° {alert.id}",
    ]
    if alert.escalation_level:
        context.append(f"escalade niveau {alert.escalation_level}")
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(context)}]})
    if alert.evidence:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "*Exemples de mentions :*"}})
    for ev in alert.evidence[:3]:
        blocks.append({"type": "section", "text": plain(f"« {ev.text} »", 600)})
        meta = f"{mrkdwn_inert(ev.author, 60)} · {mrkdwn_inert(ev.source)} · sentiment {ev.sentiment_fr}"
        if ev.url:
            meta += " · " + link(ev.url, "voir le message")
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": meta}]})
    if with_actions and alert.status in ("open", "acknowledged"):
        elements = []
        if alert.status == "open":
            elements.append({"type": "button", "action_id": "vigie_ack", "style": "primary",
                             "text": plain("✅ Prendre en charge"), "value": str(alert.id)})
        elements += [
            {"type": "button", "action_id": "vigie_silence_1h", "text": plain("🔕 Silence 1 h"),
             "value": f"{alert.id}:60"},
            {"type": "button", "action_id": "vigie_silence_24h", "text": plain("🔕 Silence 24 h"),
             "value": f"{alert.id}:1440"},
        ]
        if n.ui_url:
            elements.append({"type": "button", "action_id": "vigie_open", "text": plain("Ouvrir Vigie"),
                             "url": n.ui_url})
        blocks.append({"type": "actions", "block_id": f"vigie_alert_{alert.id}", "elements": elements})
    return blocks


def render_blocks(n: Notification) -> tuple[str, list[dict[str, Any]]]:
    """(fallback text for notifications, blocks). The fallback text is escaped like any mrkdwn."""
    kind = n.kind
    if kind == "crisis":
        to = str(n.payload.get("to", ""))
        head = f"{CRISIS_EMOJI.get(to, '⚠️')} {n.headline()}"
        blocks = [{"type": "header", "text": plain(head, 150)}]
        lines = [mrkdwn_inert(line) for line in n.crisis_lines()]
        if lines:
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}})
        if to == "crise":
            blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": (
                "Les publications programmées sont retenues ; coordination de crise activée.")}]})
        return mrkdwn_inert(head), blocks
    if kind == "held_posts":
        head = f"⏸️ {n.headline()}"
        blocks = [{"type": "header", "text": plain(head, 150)}]
        if n.payload.get("reason"):
            blocks.append({"type": "section", "text": {"type": "mrkdwn",
                                                       "text": f"*Motif :* {mrkdwn_inert(n.payload['reason'], 300)}"}})
        for post in n.held_posts()[:10]:
            blocks.append({"type": "section", "text": plain(f"« {post['text']} »", 600)})
            blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": (
                f"{mrkdwn_inert(post['channel'])} · {mrkdwn_inert(post['category'])} · "
                f"prévue le {mrkdwn_inert(post['scheduled_at'])}")}]})
        return mrkdwn_inert(head), blocks
    if not n.alerts:
        return mrkdwn_inert(n.headline()), [{"type": "section", "text": plain(n.headline())}]
    first = n.alerts[0]
    text = f"{first.emoji} {first.severity_fr} — {mrkdwn_inert(n.headline(), 200)}"
    blocks = _alert_blocks(first, n)
    for other in n.alerts[1:5]:
        blocks.append({"type": "divider"})
        blocks += _alert_blocks(other, n)
    return text, blocks[:50]


def update_line(n: Notification) -> str:
    """Short thread reply saying what changed."""
    alert = n.alerts[0]
    if n.kind == "escalation":
        level = int(n.payload.get("level") or alert.escalation_level or 1)
        return f"⬆️ Escalade niveau {level} : alerte toujours {mrkdwn_inert(alert.status_fr)} ({mrkdwn_inert(alert.measure())})"
    parts = [f"🔄 Statut : {mrkdwn_inert(alert.status_fr)}"]
    if alert.acked_by:
        parts.append(f"par {mrkdwn_inert(alert.acked_by, 60)}")
    if alert.measure():
        parts.append(f"· {mrkdwn_inert(alert.measure())}")
    parts.append(f"· {fr_num(alert.fire_count)} déclenchement(s)")
    return " ".join(parts)


# -- channel --------------------------------------------------------------------------------------


class SlackChannel:
    name = "slack"

    def __init__(self, settings: SlackSettings, store: Store, client: AsyncWebClient | None = None) -> None:
        self.settings = settings
        self.store = store
        self._client = client

    def client(self) -> AsyncWebClient:
        if self._client is None:
            token = secret_from_env(self.settings.token_env)
            if not token:
                raise PermanentError(f"Slack : jeton absent (variable d'environnement {self.settings.token_env})")
            handlers: list[AsyncRetryHandler] = [
                CappedRateLimitHandler(self.settings.rate_limit_retries, self.settings.max_retry_after)
            ]
            self._client = AsyncWebClient(token=token, base_url=self.settings.base_url, timeout=30,
                                          retry_handlers=handlers)
        return self._client

    async def close(self) -> None:
        return None

    def _metadata(self, n: Notification) -> dict[str, Any]:
        return {"event_type": "vigie_notification",
                "event_payload": {"idempotency_key": n.row.idempotency_key, "outbox_id": n.row.id,
                                  "kind": n.kind, "alert_ids": [a.id for a in n.alerts]}}

    async def _call(self, method: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = await getattr(self.client(), method)(**kwargs)
        except (SlackApiError, OSError, TimeoutError) as exc:
            raise classify_error(exc) from exc
        except Exception as exc:  # aiohttp errors and friends
            if exc.__class__.__module__.startswith("aiohttp"):
                raise classify_error(exc) from exc
            raise
        return response.data if hasattr(response, "data") else dict(response)  # type: ignore[return-value]

    def original_message(self, alert_id: int, target: str) -> tuple[str, str] | None:
        found = self.store.conn.execute(
            "SELECT channel_id, ts FROM alerts_slack_messages WHERE alert_id = ? AND target = ?", [alert_id, target]
        ).fetchone()
        return (found[0], found[1]) if found else None

    def _original_pending(self, alert_id: int, target: str, row_id: int) -> bool:
        first = outbox.first_delivery(self.store, channel=self.name, target=target, alert_id=alert_id,
                                      before_id=row_id)
        return first is not None and first.state in ("pending", "sending")

    def _remember(self, n: Notification, channel_id: str, ts: str) -> None:
        with self.store.transaction():
            for alert in n.alerts:
                self.store.conn.execute(
                    "INSERT OR REPLACE INTO alerts_slack_messages (alert_id, target, channel_id, ts, outbox_id) "
                    "VALUES (?, ?, ?, ?, ?)", [alert.id, n.row.target, channel_id, ts, n.row.id])

    async def _post(self, n: Notification, text: str, blocks: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        return await self._call(
            "chat_postMessage", channel=n.row.target, text=text, blocks=blocks, metadata=self._metadata(n),
            unfurl_links=False, unfurl_media=False, link_names=False, parse="none", **extra)

    async def send(self, n: Notification) -> str | None:
        text, blocks = render_blocks(n)
        if n.kind in ("alert_update", "escalation") and n.alerts:
            alert = n.alerts[0]
            original = self.original_message(alert.id, n.row.target)
            if original is None and self._original_pending(alert.id, n.row.target, n.row.id):
                raise Deferred("message d'origine pas encore envoyé")
            if original is not None:
                channel_id, ts = original
                try:
                    await self._call("chat_update", channel=channel_id, ts=ts, text=text,
                                     blocks=render_blocks(_as_original(n))[1], parse="none", link_names=False)
                except PermanentError as exc:
                    if "message_not_found" not in str(exc) and "cant_update_message" not in str(exc):
                        raise
                except TransientError as exc:
                    if "message_not_found" not in str(exc) and "cant_update_message" not in str(exc):
                        raise
                    original = None
                if original is not None:
                    reply = await self._call(
                        "chat_postMessage", channel=channel_id, thread_ts=ts, text=update_line(n),
                        reply_broadcast=n.kind == "escalation", metadata=self._metadata(n),
                        unfurl_links=False, unfurl_media=False, link_names=False, parse="none")
                    return str(reply.get("ts") or ts)
        response = await self._post(n, text, blocks)
        ts = str(response.get("ts", ""))
        channel_id = str(response.get("channel") or n.row.target)
        if n.alerts and n.kind in ("alert", "alert_update", "escalation"):
            self._remember(n, channel_id, ts)
        return ts

    async def send_digest(self, digest, target: str, key: str) -> str:
        from alerts.digest import slack_blocks

        text, blocks = slack_blocks(digest)
        response = await self._call(
            "chat_postMessage", channel=target, text=text, blocks=blocks,
            metadata={"event_type": "vigie_digest", "event_payload": {"idempotency_key": key}},
            unfurl_links=False, unfurl_media=False, link_names=False, parse="none")
        return str(response.get("ts", ""))


def _as_original(n: Notification) -> Notification:
    """The original message re-rendered with the alert's current state (chat.update)."""
    from dataclasses import replace

    return replace(n, row=replace(n.row, kind="alert"))


EXAMPLE = """
[alerts.slack]
enabled = true
# Environment variable holding the bot token (xoxb-…, scope chat:write).
token_env = "VIGIE_SLACK_TOKEN"
# Environment variable holding the app's signing secret (buttons: POST /slack/interactions).
signing_secret_env = "VIGIE_SLACK_SIGNING_SECRET"
# In a recipient group: slack = ["#veille"]
"""

PLUGIN = ChannelPlugin(
    name="slack",
    description="Slack : message Block Kit avec boutons « Prendre en charge » et « Silence », mis à jour en fil.",
    target="canal Slack (#nom ou identifiant C…)",
    settings=SlackSettings,
    example=EXAMPLE,
    create=lambda settings, ctx: SlackChannel(settings, ctx.store),
)
