"""POST /slack/interactions: the buttons of an alert message (prendre en charge, silence 1 h / 24 h).

Every request is checked against Slack's signing secret (HMAC-SHA256 of "v0:<timestamp>:<body>", at
most 5 minutes old) before anything is read from it. The actions themselves belong to rules/
(`rules.actions.acknowledge_alert`, `add_silence`); the message is then edited through the outbox
(an `alert_update` row), like any other update.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
from datetime import timedelta
from urllib.parse import parse_qs

from aiohttp import web

from alerts.outbox import enqueue
from listener.host import OUTBOX_QUEUED
from listener.settings_base import secret_from_env
from listener.web import get_app, write

log = logging.getLogger("vigie.alerts.interactions")

MAX_AGE_SECONDS = 300
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,20}$")


def slack_signature(secret: str, timestamp: str, body: bytes) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def verify(secret: str, headers, body: bytes, now: float | None = None) -> bool:
    timestamp = headers.get("X-Slack-Request-Timestamp", "")
    signature = headers.get("X-Slack-Signature", "")
    if not timestamp.isdigit():
        return False
    # Freshness is about the real request, so wall time (not the replay clock).
    if abs((now if now is not None else time.time()) - int(timestamp)) > MAX_AGE_SECONDS:
        return False
    return hmac.compare_digest(slack_signature(secret, timestamp, body), signature)


def _reply(text: str, status: int = 200) -> web.Response:
    return web.json_response({"response_type": "ephemeral", "replace_original": False, "text": text}, status=status)


async def slack_interactions(request: web.Request) -> web.Response:
    app = get_app(request)
    settings = app.settings.alerts.slack
    body = await request.read()
    secret = secret_from_env(settings.signing_secret_env)
    if not secret:
        return _reply("Vigie : secret de signature Slack non configuré.", 503)
    if not verify(secret, request.headers, body):
        log.warning("slack interaction refused: bad or stale signature")
        return _reply("Signature invalide.", 401)
    try:
        payload = json.loads(parse_qs(body.decode("utf-8"))["payload"][0])
        action = payload["actions"][0]
        action_id = str(action["action_id"])
        value = str(action.get("value", ""))
    except (KeyError, IndexError, ValueError, TypeError):
        return _reply("Requête Slack illisible.", 400)
    user = payload.get("user") or {}
    user_id = str(user.get("id", ""))
    actor = "slack:" + str(user.get("username") or user.get("name") or user_id or "inconnu")[:60]
    mention = f"<@{user_id}>" if _USER_ID.match(user_id) else "quelqu'un"
    channel_id = str((payload.get("channel") or {}).get("id", ""))
    now = app.clock.now()
    try:
        alert_id = int(value.split(":")[0])
    except ValueError:
        return _reply("Alerte inconnue.", 400)
    if action_id.startswith("vigie_silence"):
        try:
            minutes = max(1, min(int(value.split(":")[1]), 7 * 24 * 60))
        except (IndexError, ValueError):
            return _reply("Durée de silence invalide.", 400)
    elif action_id != "vigie_ack":
        return _reply("Action inconnue.", 400)
    else:
        minutes = 0
    # The action and the message edits it queues: one transaction, off the event loop.
    text, done = await write(request, _act, app, alert_id, action_id, minutes, actor, mention, channel_id,
                             payload, now)
    if done:
        app.emit(OUTBOX_QUEUED)
    return _reply(text)


def _act(app, alert_id: int, action_id: str, minutes: int, actor: str, mention: str, channel_id: str,
         payload: dict, now) -> tuple[str, bool]:
    import rules.actions as actions

    row = app.store.conn.execute("SELECT rule, key FROM alerts WHERE id = ?", [alert_id]).fetchone()
    if row is None:
        return f"Alerte n° {alert_id} introuvable.", False
    if action_id == "vigie_ack":
        done = actions.acknowledge_alert(app.store, alert_id, actor, now)
        text = (f"✅ Alerte n° {alert_id} prise en charge par {mention}." if done
                else f"L'alerte n° {alert_id} était déjà prise en charge ou close.")
    else:
        hours = f"{minutes // 60} h" if minutes >= 60 else f"{minutes} min"
        from rules.incidents import incident_of_alert, silence_incident

        incident_id = incident_of_alert(app.store, alert_id)
        if incident_id is not None:  # the message is the incident's: silence the incident
            silence_incident(app.store, incident_id, actor, now + timedelta(minutes=minutes), now,
                             reason=f"depuis Slack (alerte n° {alert_id})")
            text = f"🔕 Incident n° {incident_id} mis en silence pour {hours} par {mention}."
        else:
            actions.add_silence(app.store, rule=row[0], key=row[1], until=now + timedelta(minutes=minutes),
                                actor=actor, reason=f"mise en silence depuis Slack (alerte n° {alert_id})", at=now)
            text = f"🔕 Règle mise en silence pour {hours} par {mention} (alerte n° {alert_id})."
        done = True
    if done:
        _enqueue_update(app, alert_id, channel_id, payload, now)
    return text, done


def _enqueue_update(app, alert_id: int, channel_id: str, payload: dict, now) -> None:
    """Edit the alert's message(s) through the outbox so the new status shows where people look."""
    targets = [r[0] for r in app.store.conn.execute(
        "SELECT target FROM alerts_slack_messages WHERE alert_id = ?", [alert_id])]
    stamp = str(payload.get("trigger_id") or (payload.get("actions") or [{}])[0].get("action_ts") or now.timestamp())
    from rules.incidents import incident_payload

    # An incident's message is re-rendered from the incident as it is now (its new status included).
    body = incident_payload(app.store, alert_id, now) or {"alert_ids": [alert_id]}
    for target in targets:
        enqueue(app.store, kind="alert_update", channel="slack", target=target, payload=body,
                idempotency_key=f"slack-action:{alert_id}:{target}:{stamp}", at=now, alert_id=alert_id)
