"""The daemon's HTTP side: /healthz, /metrics, the JSON API, the login and the workspace's pages.

Areas add their own routes through `app.add_routes`; this module holds the core ones and puts every
route behind the guard (listener/auth/guard.py): closed by default, sessions for people, a bearer token
for scripts. Handlers reach the store only through listener/store_threads.py (`read`, `write`), never on
the event loop: a foreign write lock must not freeze the daemon. /healthz and /metrics stay on the loop
(memory and a few indexed counts that never wait for a lock in WAL mode): liveness must not queue behind
the store's threads.
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from listener.auth.guard import Guard, actor_of, identity_of
from listener.auth.oidc import OidcClient, OidcError
from listener.auth.sessions import COOKIE
from listener.auth.users import record_action
from listener.store_threads import STORE_THREADS, StoreThreads, read, write, write_each
from listener.workspace.api import WORKSPACE_KEY, Workspace
from listener.workspace.api import routes as workspace_routes
from rules.crisis_state import recorded_state

if TYPE_CHECKING:
    from listener.app import Vigie

log = logging.getLogger("vigie.web")

VIGIE_KEY: web.AppKey = web.AppKey("vigie", object)
GUARD_KEY: web.AppKey = web.AppKey("vigie.guard", Guard)
UI_DIR = Path(__file__).resolve().parent / "webui"
LOGIN_COOKIE = "vigie_login"
# Pages only run their own scripts and talk to their own origin; nothing may frame them.
SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                                "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
_TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(UI_DIR / "templates")), autoescape=True, undefined=jinja2.StrictUndefined
)
# The workspace's pages: path → (template, title, menu entry).
PAGES = {
    "/": ("dashboard.html", "Tableau de bord"),
    "/incidents": ("incidents.html", "Incidents"),
    "/mentions": ("explorer.html", "Mentions"),
    "/publications": ("desk.html", "Publications"),
}

__all__ = ["VIGIE_KEY", "actor_of", "build_web_app", "get_app", "identity_of", "read", "require_api_token", "write"]


def get_app(request: web.Request) -> Vigie:
    return request.app[VIGIE_KEY]  # type: ignore[return-value]


def require_api_token(request: web.Request) -> None:
    """Kept for the areas' handlers: the guard has already refused any write without a valid credential."""
    if identity_of(request) is None:
        raise web.HTTPUnauthorized(text='{"error": "jeton d\'API manquant ou invalide"}', content_type="application/json")


async def healthz(request: web.Request) -> web.Response:
    health = get_app(request).health()
    return web.json_response(health, status=200 if health["status"] == "ok" else 503)


async def metrics(request: web.Request) -> web.Response:
    body = get_app(request).metrics.render()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def api_status(request: web.Request) -> web.Response:
    app = get_app(request)
    stats, crisis = await read(request, lambda: (app.store.stats(), recorded_state(app.store)))
    return web.json_response(
        {
            "institution": app.settings.institution.name,
            "store": stats,
            "health": app.health(),
            "crisis": {k: crisis[k] for k in ("state", "since", "reason", "actor")} if crisis else {"state": "normal"},
        }
    )


async def api_me(request: web.Request) -> web.Response:
    """The caller's account, role, permissions and the CSRF token the page's scripts send with writes."""
    identity = identity_of(request)
    assert identity is not None
    if identity.user is None:
        return web.json_response({"username": identity.name, "role": identity.role, "via": identity.via})
    assert identity.session is not None
    return web.json_response({**identity.user.public(), "via": identity.via, "csrf_token": identity.session.csrf_token})


async def api_mentions(request: web.Request) -> web.Response:
    app = get_app(request)
    try:
        limit = min(int(request.query.get("limit", "50")), 500)
    except ValueError:
        raise web.HTTPBadRequest(text="limit doit être un entier") from None
    query = request.query.get("q", "").strip()
    mentions = await read(request, app.store.search, query, limit) if query else await read(
        request, app.store.recent_mentions, limit)
    return web.json_response({"mentions": [m.to_dict(with_raw=False) for m in mentions]})


# -- pages -------------------------------------------------------------------------------------------


def render(template: str, status: int = 200, **context: Any) -> web.Response:
    html = _TEMPLATES.get_template(template).render(**context)
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8",
                        headers={**SECURITY_HEADERS, "Cache-Control": "no-store"})


async def page(request: web.Request) -> web.Response:
    """A workspace page: the shell is server-rendered (escaped); the data comes from the JSON API."""
    app = get_app(request)
    identity = identity_of(request)
    if identity is None or identity.user is None or identity.session is None:
        raise web.HTTPSeeOther("/login")
    path = request.path
    incident_id = request.match_info.get("id")
    template, title = PAGES.get(path, ("incident.html", "Incident"))
    return render(template, title=title, path="/incidents" if incident_id else path, pages=PAGES,
                  user=identity.user.public(), csrf_token=identity.session.csrf_token,
                  institution=app.settings.institution.name, incident_id=incident_id or "")


def _safe_next(value: str | None) -> str:
    """Only a local path (never //host or a scheme) is followed after login."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


async def _login_page(request: web.Request, *, error: str | None = None, status: int = 200,
                      username: str = "") -> web.Response:
    app = get_app(request)
    guard = request.app[GUARD_KEY]
    # One login token per browser while it is fresh: a second tab or a stray request keeps the first valid.
    token = request.cookies.get(LOGIN_COOKIE, "")
    if not (30 <= len(token) <= 64 and token.replace("-", "").replace("_", "").isalnum()):
        token = secrets.token_urlsafe(24)
    response = render("login.html", status=status, error=error, username=username, csrf_token=token,
                      next=_safe_next(request.query.get("next")), institution=app.settings.institution.name,
                      closed=await read(request, guard.users.active_count) == 0, oidc=app.settings.web.oidc)
    response.set_cookie(LOGIN_COOKIE, token, max_age=1800, path="/", httponly=True, samesite="Strict",
                        secure=guard.secure_cookie(request))
    return response


async def login_form(request: web.Request) -> web.Response:
    guard = request.app[GUARD_KEY]
    if await read(request, guard.sessions.lookup, request.cookies.get(COOKIE)) is not None:
        raise web.HTTPSeeOther(_safe_next(request.query.get("next")))
    return await _login_page(request)


async def login_submit(request: web.Request) -> web.Response:
    app = get_app(request)
    guard = request.app[GUARD_KEY]
    form = await request.post()
    username = str(form.get("username", ""))[:100]
    given = str(form.get("csrf_token", ""))
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if guard.cross_site(request) or not expected or not secrets.compare_digest(given, expected):
        return await _login_page(request, error="formulaire expiré : merci de réessayer", status=403, username=username)
    client = request.remote or "?"
    if guard.throttle.blocked(client):
        return await _login_page(request, error="trop d'échecs depuis cette adresse : réessayer dans quelques minutes",
                           status=429, username=username)
    # The password check hashes outside any transaction (write_each); the session and its journal line are one.
    result = await write_each(request, guard.users.authenticate, username, str(form.get("password", "")))
    if result.user is None:
        guard.throttle.failed(client)
        await write(request, record_action, app.store, username or "?", "login-failed", detail=client, status=401)
        return await _login_page(request, error=result.error, status=401, username=username)
    token = await write(request, _open_session, app, guard, result.user, via="password", detail=client, status=303)
    target = _safe_next(str(form.get("next", "/")))
    return session_response(request, token, target)


def _open_session(app: Vigie, guard: Guard, user: Any, *, via: str, detail: str, status: int) -> str:
    """(On a writer thread, in one transaction) a new session for the account and its journal line."""
    token, _ = guard.sessions.open(user, via=via)
    record_action(app.store, user.username, "login", role=user.role, detail=detail, status=status)
    return token


def session_response(request: web.Request, token: str, target: str) -> web.Response:
    """Redirect after a successful login, setting the session cookie (HttpOnly, SameSite=Strict)."""
    guard = request.app[GUARD_KEY]
    response = web.Response(status=303, headers={"Location": target})
    response.set_cookie(COOKIE, token, max_age=int(guard.settings.auth.session_hours * 3600), path="/",
                        httponly=True, samesite="Strict", secure=guard.secure_cookie(request))
    response.del_cookie(LOGIN_COOKIE, path="/")
    return response


async def logout(request: web.Request) -> web.Response:
    """POST with the session's CSRF token (a cross-site form cannot end a session either)."""
    app = get_app(request)
    guard = request.app[GUARD_KEY]
    token = request.cookies.get(COOKIE)
    session = await read(request, guard.sessions.lookup, token)
    form = await request.post()
    if session is not None:
        if not secrets.compare_digest(str(form.get("csrf_token", "")), session.csrf_token) or guard.cross_site(request):
            raise web.HTTPForbidden(text="jeton CSRF invalide")

        def close() -> None:
            guard.sessions.close(token)
            record_action(app.store, session.user.username, "logout", role=session.user.role, status=303)

        await write(request, close)
    response = web.Response(status=303, headers={"Location": "/login"})
    response.del_cookie(COOKIE, path="/")
    return response


OIDC_COOKIE = "vigie_oidc"
OIDC_KEY: web.AppKey = web.AppKey("vigie.oidc", object)


async def oidc_login(request: web.Request) -> web.Response:
    """Send the browser to the identity provider; the state rides in a short-lived cookie (SameSite=Lax:
    the provider's redirect back is a cross-site navigation)."""
    client = request.app.get(OIDC_KEY)
    if client is None:
        raise web.HTTPNotFound(text="connexion unique non configurée")
    try:
        url, state = await client.authorization_url(_safe_next(request.query.get("next")))
    except OidcError as exc:
        return await _login_page(request, error=str(exc), status=502)
    response = web.Response(status=303, headers={"Location": url})
    response.set_cookie(OIDC_COOKIE, state, max_age=600, path="/auth/oidc/", httponly=True, samesite="Lax",
                        secure=request.app[GUARD_KEY].secure_cookie(request))
    return response


async def oidc_callback(request: web.Request) -> web.Response:
    app = get_app(request)
    client = request.app.get(OIDC_KEY)
    if client is None:
        raise web.HTTPNotFound(text="connexion unique non configurée")
    guard = request.app[GUARD_KEY]
    if "error" in request.query:
        return await _login_page(request, error="connexion refusée par le fournisseur d'identité", status=401)
    try:
        claims, target = await client.complete(state=request.query.get("state", ""),
                                               cookie_state=request.cookies.get(OIDC_COOKIE),
                                               code=request.query.get("code", ""))
        user = await write(request, client.account, claims)
    except OidcError as exc:
        await write(request, record_action, app.store, "?", "login-failed", detail=f"oidc: {exc}", status=401)
        return await _login_page(request, error=str(exc), status=401)

    def open_session() -> str:
        guard.users.touch_login(user)
        return _open_session(app, guard, user, via="oidc", detail="oidc", status=200)

    token = await write(request, open_session)
    # A page of our own that moves on: the session cookie is SameSite=Strict, so it must not be set on
    # the tail of the provider's cross-site redirect chain, or the first page would not see it.
    response = render("continue.html", target=_safe_next(target), institution=app.settings.institution.name)
    response.set_cookie(COOKIE, token, max_age=int(guard.settings.auth.session_hours * 3600), path="/",
                        httponly=True, samesite="Strict", secure=guard.secure_cookie(request))
    response.del_cookie(OIDC_COOKIE, path="/auth/oidc/")
    return response


@web.middleware
async def security_headers(request: web.Request, handler):
    response = await handler(request)
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.path.startswith("/api/"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response


async def _close_workspace(application: web.Application) -> None:
    application[WORKSPACE_KEY].close()
    await application[STORE_THREADS].close()


def build_web_app(app: Vigie) -> web.Application:
    guard = Guard(app)
    guard.warn_if_closed()
    app.health_reports["web"] = guard.report  # the core's own entry, made at start (areas register in setup)
    application = web.Application(client_max_size=8 * 1024 * 1024, middlewares=[security_headers, guard.middleware])
    application[VIGIE_KEY] = app
    application[GUARD_KEY] = guard
    application[STORE_THREADS] = StoreThreads(app.store)
    routes = [web.get(path, page) for path in PAGES]
    application.add_routes(
        [
            *routes,
            web.get("/incidents/{id}", page),
            web.get("/login", login_form),
            web.post("/login", login_submit),
            web.post("/logout", logout),
            web.get("/healthz", healthz),
            web.get("/metrics", metrics),
            web.get("/api/me", api_me),
            web.get("/api/status", api_status),
            web.get("/api/mentions", api_mentions),
        ]
    )
    if app.settings.web.oidc.enabled:
        client = OidcClient(app.settings.web.oidc, guard.users)
        application[OIDC_KEY] = client
        application.on_cleanup.append(lambda _: client.close())
        application.add_routes([web.get("/auth/oidc/login", oidc_login), web.get("/auth/oidc/callback", oidc_callback)])
    workspace = Workspace(app)
    application[WORKSPACE_KEY] = workspace
    application.on_cleanup.append(_close_workspace)
    application.add_routes(workspace_routes())
    application.router.add_static("/ui/", UI_DIR / "static", show_index=False)
    application.add_routes(app.routes)
    return application
