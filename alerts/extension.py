"""The alerts area in the daemon: the outbox worker, digest jobs, Slack interactions and GET /api/outbox."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from alerts import outbox
from alerts.delivery import build_worker, enqueue_digest
from alerts.interactions import slack_interactions
from alerts.worker import OutboxWorker
from listener.french import NOTIFICATION_KIND_FR, OUTBOX_STATE_FR
from listener.host import OUTBOX_QUEUED, Host, Key
from listener.web import get_app, read, require_api_token, write


@dataclass
class AlertsExtension:
    worker: OutboxWorker

    def health(self) -> dict[str, Any]:
        return self.worker.health()


ALERTS: Key[AlertsExtension] = Key("alerts")


def setup(app: Host) -> AlertsExtension:
    settings = app.settings
    worker = build_worker(app.store, settings, clock=app.clock, tz=app.tz, metrics=app.metrics,
                          deliver=lambda: app.deliver)
    extension = AlertsExtension(worker)
    app.add_component("alerts:outbox", worker.run)
    app.add_health("alerts", worker.health)
    app.on_shutdown(worker.close)
    app.subscribe(OUTBOX_QUEUED, worker.nudge)
    app.provide(ALERTS, extension)
    digest = settings.alerts.digest
    if digest.enabled:
        for group in digest.groups:
            async def run_digest(group=group) -> None:
                if not app.deliver:
                    return
                enqueue_digest(app.store, group, as_of=app.clock.now(), tz=app.tz)
                worker.nudge()

            app.add_job(f"digest:{group.name}", run_digest, cron=group.cron or digest.cron)
    app.add_routes([
        web.get("/api/outbox", api_outbox),
        web.post("/api/outbox/{id}/retry", api_outbox_retry),
        web.post("/slack/interactions", slack_interactions),
    ])
    return extension


async def api_outbox(request: web.Request) -> web.Response:
    """Delivery state: counts per state and the latest rows (optionally of one state)."""
    app = get_app(request)
    state = request.query.get("state") or None
    if state is not None and state not in outbox.STATES:
        raise web.HTTPBadRequest(text=f"état inconnu : {state[:20]}")
    try:
        limit = max(1, min(int(request.query.get("limit", "50")), 500))
    except ValueError:
        raise web.HTTPBadRequest(text="limit doit être un entier") from None
    rows, counts = await read(request, lambda: (outbox.list_rows(app.store, state=state, limit=limit),
                                                outbox.counts(app.store)))
    return web.json_response({
        "counts": counts,
        "items": [{k: v for k, v in row.as_dict().items() if k != "payload"}
                  | {"alert_ids": row.payload.get("alert_ids"), "kind_label": NOTIFICATION_KIND_FR.get(row.kind, row.kind),
                     "state_label": OUTBOX_STATE_FR.get(row.state, row.state)}
                  for row in rows],
    })


async def api_outbox_retry(request: web.Request) -> web.Response:
    require_api_token(request)
    app = get_app(request)
    try:
        row_id = int(request.match_info["id"])
    except ValueError:
        raise web.HTTPBadRequest(text="identifiant invalide") from None
    count = await write(request, outbox.requeue, app.store, [row_id])
    app.emit(OUTBOX_QUEUED)
    return web.json_response({"requeued": count})
