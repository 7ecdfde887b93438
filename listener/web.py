"""The daemon's HTTP side: /healthz, /metrics, the JSON API and the small web UI.

Areas add their own routes through `app.add_routes`; this module holds only the core ones.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from listener.settings_base import secret_from_env

if TYPE_CHECKING:
    from listener.app import Vigie

VIGIE_KEY: web.AppKey = web.AppKey("vigie", object)
UI_DIR = Path(__file__).resolve().parent / "webui"
# The UI only runs its own script and talks to its own origin.
_UI_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'",
    "X-Content-Type-Options": "nosniff",
}


def get_app(request: web.Request) -> Vigie:
    return request.app[VIGIE_KEY]  # type: ignore[return-value]


def require_api_token(request: web.Request) -> None:
    """Write endpoints need the API bearer token when one is configured (always in production)."""
    token = secret_from_env(get_app(request).settings.web.api_token_env)
    if token is None:
        return
    if request.headers.get("Authorization", "") != f"Bearer {token}":
        raise web.HTTPUnauthorized(
            text='{"error": "jeton d\'API manquant ou invalide"}', content_type="application/json"
        )


async def healthz(request: web.Request) -> web.Response:
    health = get_app(request).health()
    return web.json_response(health, status=200 if health["status"] == "ok" else 503)


async def metrics(request: web.Request) -> web.Response:
    body = get_app(request).metrics.render()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def api_status(request: web.Request) -> web.Response:
    app = get_app(request)
    crisis = app.store.conn.execute("SELECT state, since, reason, actor FROM crisis_state WHERE id = 1").fetchone()
    return web.json_response(
        {
            "institution": app.settings.institution.name,
            "store": app.store.stats(),
            "health": app.health(),
            "crisis": dict(zip(("state", "since", "reason", "actor"), crisis, strict=True)) if crisis else {"state": "normal"},
        }
    )


async def index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(UI_DIR / "index.html", headers=_UI_HEADERS)


async def api_mentions(request: web.Request) -> web.Response:
    app = get_app(request)
    try:
        limit = min(int(request.query.get("limit", "50")), 500)
    except ValueError:
        raise web.HTTPBadRequest(text="limit doit être un entier") from None
    query = request.query.get("q", "").strip()
    mentions = app.store.search(query, limit) if query else app.store.recent_mentions(limit)
    return web.json_response({"mentions": [m.to_dict(with_raw=False) for m in mentions]})


def build_web_app(app: Vigie) -> web.Application:
    application = web.Application(client_max_size=8 * 1024 * 1024)
    application[VIGIE_KEY] = app
    application.add_routes(
        [
            web.get("/", index),
            web.get("/healthz", healthz),
            web.get("/metrics", metrics),
            web.get("/api/status", api_status),
            web.get("/api/mentions", api_mentions),
        ]
    )
    application.router.add_static("/ui/", UI_DIR)
    application.add_routes(app.routes)
    return application
