"""The rules area in the daemon: the per-minute evaluation step, the alerts/silences web API, a health entry."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web

from listener.host import OUTBOX_QUEUED, Host, Key
from listener.timeutil import parse_time, to_iso
from listener.web import actor_of, get_app, read, require_api_token, write
from rules import actions, incidents
from rules.engine import RulesEngine

log = logging.getLogger("vigie.rules")

ALERT_COLUMNS = (
    "id, rule, rule_type, key, fingerprint, group_key, severity, status, title, summary, topic, details, evidence, "
    "routes, created_at, updated_at, fire_count, acked_by, acked_at, resolved_at, escalation_level"
)
_JSON_COLUMNS = ("details", "evidence", "routes")


@dataclass
class RulesExtension:
    engine: RulesEngine
    app: Host
    errors: int = 0
    last_error: str | None = None
    fired: dict[str, int] = field(default_factory=dict)

    def step(self, as_of: datetime) -> None:
        """Evaluation step (order 20, after detection): one engine pass, then wake the outbox worker."""
        try:
            events = self.engine.evaluate(as_of)
        except Exception as exc:
            self.errors += 1
            self.last_error = repr(exc)
            raise
        self.last_error = None
        metrics = getattr(self.app, "metrics", None)
        for event in events:
            if event["action"] == "new":
                self.fired[event["severity"]] = self.fired.get(event["severity"], 0) + 1
                if metrics is not None:
                    metrics.alerts_raised.labels(severity=event["severity"]).inc()
        if events and self.app.deliver:
            self.app.emit(OUTBOX_QUEUED)

    def absorb(self) -> int:
        """Between passes (the daemon's evaluation thread): read ahead the mentions the next pass needs."""
        return self.engine.absorb()

    def health(self) -> dict[str, Any]:
        open_alerts = self.engine.alerts.count_open()
        return {
            # Only the latest pass counts: a failure that recovered is history (see "errors").
            "state": "ok" if self.last_error is None else "failing",
            "rules": len(self.engine.rules),
            "open_alerts": open_alerts,
            "raised": dict(self.fired),
            "last_pass": self.engine.last_pass,
            "errors": self.errors,
            "last_error": self.last_error,
        }


RULES: Key[RulesExtension] = Key("rules")


def setup(app: Host) -> RulesExtension | None:
    if not app.settings.rules.enabled:
        return None
    engine = RulesEngine(app.store, app.settings, deliver=app.deliver)
    extension = RulesExtension(engine, app)
    app.add_evaluation_step("rules", extension.step, absorb=extension.absorb)
    app.add_health("rules", extension.health)
    app.provide(RULES, extension)
    app.add_routes([
        web.get("/api/alerts", api_alerts),
        web.post("/api/alerts/{id}/ack", api_ack),
        web.get("/api/incidents", api_incidents),
        web.get("/api/incidents/{id}", api_incident),
        web.post("/api/incidents/{id}/ack", api_incident_ack),
        web.post("/api/incidents/{id}/resolve", api_incident_resolve),
        web.post("/api/incidents/{id}/silence", api_incident_silence),
        web.get("/api/silences", api_silences),
        web.post("/api/silences", api_add_silence),
        web.delete("/api/silences/{id}", api_remove_silence),
    ])
    return extension


def alert_rows(store, *, status: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    sql = f"SELECT {ALERT_COLUMNS} FROM alerts"
    params: list[Any] = []
    if status:
        sql += " WHERE status = ?"
        params.append(status)
    sql += " ORDER BY id DESC LIMIT ?"
    params.append(limit)
    cursor = store.conn.execute(sql, params)
    names = [d[0] for d in cursor.description]
    rows = []
    for values in cursor:
        row = dict(zip(names, values, strict=True))
        for name in _JSON_COLUMNS:
            row[name] = json.loads(row[name] or ("{}" if name == "details" else "[]"))
        rows.append(row)
    return rows


def _bad(text: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=json.dumps({"error": text}, ensure_ascii=False), content_type="application/json")


async def api_alerts(request: web.Request) -> web.Response:
    app = get_app(request)
    status = request.query.get("status") or None
    if status is not None and status not in ("open", "acknowledged", "resolved", "silenced"):
        raise _bad("statut inconnu")
    try:
        limit = max(1, min(int(request.query.get("limit", "50")), 500))
    except ValueError:
        raise _bad("limit doit être un entier") from None
    return web.json_response({"alerts": await read(request, alert_rows, app.store, status=status, limit=limit)})


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise _bad("corps JSON invalide") from None
    if not isinstance(body, dict):
        raise _bad("un objet JSON est attendu")
    return body


def _actor(request: web.Request, body: dict[str, Any]) -> str:
    """The account of a session; for the API token, the actor a script names."""
    return actor_of(request, body)


async def api_ack(request: web.Request) -> web.Response:
    require_api_token(request)
    app = get_app(request)
    try:
        alert_id = int(request.match_info["id"])
    except ValueError:
        raise _bad("identifiant d'alerte invalide") from None
    body = await _body(request)
    actor, now = _actor(request, body), app.clock.now()

    def acknowledge() -> bool:
        if app.store.conn.execute("SELECT 1 FROM alerts WHERE id = ?", [alert_id]).fetchone() is None:
            raise web.HTTPNotFound(text=json.dumps({"error": f"alerte n° {alert_id} introuvable"}, ensure_ascii=False),
                                   content_type="application/json")
        return actions.acknowledge_alert(app.store, alert_id, actor, now)

    done = await write(request, acknowledge)
    message = "alerte prise en charge" if done else "alerte déjà prise en charge ou close"
    return web.json_response({"id": alert_id, "acknowledged": done, "message": message},
                             status=200 if done else 409)


async def api_silences(request: web.Request) -> web.Response:
    app = get_app(request)
    everything = request.query.get("all") in ("1", "true", "oui")
    items = await read(request, actions.list_silences, app.store, app.clock.now(), include_inactive=everything)
    return web.json_response({"silences": items})


async def api_add_silence(request: web.Request) -> web.Response:
    require_api_token(request)
    app = get_app(request)
    body = await _body(request)
    now = app.clock.now()
    rule, key = body.get("rule") or body.get("regle"), body.get("key") or body.get("cle")
    if not rule and not key:
        raise _bad("indiquez au moins une règle (rule) ou une clé (key)")
    try:
        if body.get("until"):
            until = parse_time(str(body["until"]))
        else:
            until = now + actions.parse_duration(str(body.get("duration") or body.get("duree") or "1h"))
    except ValueError as exc:
        raise _bad(str(exc)) from None
    if until <= now:
        raise _bad("la fin du silence doit être dans le futur")
    reason = str(body.get("reason") or body.get("motif") or "")[:500]
    silence_id = await write(request, actions.add_silence, app.store, rule=rule and str(rule), key=key and str(key), until=until,
                                     actor=_actor(request, body), reason=reason, at=now)
    return web.json_response({"id": silence_id, "until": to_iso(until)}, status=201)


async def api_remove_silence(request: web.Request) -> web.Response:
    require_api_token(request)
    app = get_app(request)
    try:
        silence_id = int(request.match_info["id"])
    except ValueError:
        raise _bad("identifiant de silence invalide") from None
    body = await _body(request)
    done = await write(request, actions.remove_silence, app.store, silence_id, _actor(request, body), app.clock.now())
    return web.json_response({"id": silence_id, "removed": done}, status=200 if done else 404)


# -- incidents (rules/incidents.py; shape documented in docs/ARCHITECTURE.md) -----------------------------


def _incident_id(request: web.Request) -> int:
    try:
        return int(request.match_info["id"])
    except ValueError:
        raise _bad("identifiant d'incident invalide") from None


def _not_found(incident_id: int) -> web.HTTPNotFound:
    return web.HTTPNotFound(text=json.dumps({"error": f"incident n° {incident_id} introuvable"}, ensure_ascii=False),
                            content_type="application/json")


async def api_incidents(request: web.Request) -> web.Response:
    """GET /api/incidents?status=open|acknowledged|silenced|resolved&limit=50 (default: open ones)."""
    app = get_app(request)
    status = request.query.get("status") or "open"
    if status not in ("open", "acknowledged", "silenced", "resolved", "all"):
        raise _bad("statut inconnu")
    try:
        limit = max(1, min(int(request.query.get("limit", "50")), 500))
    except ValueError:
        raise _bad("limit doit être un entier") from None
    rows = await read(request, incidents.incident_rows, app.store, status=None if status == "all" else status,
                      limit=limit)
    return web.json_response({"incidents": rows})


async def api_incident(request: web.Request) -> web.Response:
    app = get_app(request)
    incident_id = _incident_id(request)

    def load() -> dict[str, Any]:
        incident = incidents.load_incident(app.store, incident_id)
        if incident is None:
            raise _not_found(incident_id)
        return incidents.incident_dict(app.store, incident, timeline=True)

    return web.json_response({"incident": await read(request, load)})


async def _incident_action(request: web.Request, act, key: str, done_text: str, refused_text: str) -> web.Response:
    """Acknowledge or resolve one incident: 404 when unknown, 409 when already in that state or closed."""
    require_api_token(request)
    app = get_app(request)
    incident_id = _incident_id(request)
    body = await _body(request)
    actor, now = _actor(request, body), app.clock.now()

    def apply() -> bool:
        if incidents.load_incident(app.store, incident_id) is None:
            raise _not_found(incident_id)
        return act(app.store, incident_id, actor, now)

    done = await write(request, apply)
    message = done_text if done else refused_text
    return web.json_response({"id": incident_id, key: done, "message": message}, status=200 if done else 409)


async def api_incident_ack(request: web.Request) -> web.Response:
    return await _incident_action(request, incidents.acknowledge_incident, "acknowledged",
                                  "incident pris en charge", "incident déjà pris en charge ou clos")


async def api_incident_resolve(request: web.Request) -> web.Response:
    return await _incident_action(request, incidents.resolve_incident, "resolved",
                                  "incident clos", "incident déjà clos")


async def api_incident_silence(request: web.Request) -> web.Response:
    require_api_token(request)
    app = get_app(request)
    incident_id = _incident_id(request)
    body = await _body(request)
    now = app.clock.now()
    try:
        until = now + actions.parse_duration(str(body.get("duration") or body.get("duree") or "1h"))
    except ValueError as exc:
        raise _bad(str(exc)) from None
    reason = str(body.get("reason") or body.get("motif") or "")[:500]
    actor = _actor(request, body)

    def silence() -> bool:
        if incidents.load_incident(app.store, incident_id) is None:
            raise _not_found(incident_id)
        return incidents.silence_incident(app.store, incident_id, actor, until, now, reason)

    done = await write(request, silence)
    return web.json_response({"id": incident_id, "silenced": done, "until": to_iso(until)}, status=200 if done else 409)
