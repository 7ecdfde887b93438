"""Who is asking, and may they: the web server's gate (closed by default).

Every request passes here before its handler:
- the Host header must be an allowed name (DNS rebinding);
- `/api/...` needs a session cookie or the API bearer token (compared in constant time); the pages need a
  session and send the browser to the login page otherwise; `/healthz` and `/metrics` stay open unless
  configured otherwise; `/api/ingest` and `/slack/interactions` keep their own token and signature;
- a write (POST, PUT, PATCH, DELETE) needs a configured credential (without any, every write is refused),
  a JSON body, and from a browser session the CSRF token in `X-CSRF-Token` and no cross-site origin, so
  a form on another site changes nothing; the account's role must hold the permission of the route;
- every write is journalled with who made it and its outcome.
Its store reads and the journal run off the event loop (listener/store_threads.py).
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from aiohttp import web

from listener.auth.sessions import COOKIE, Session, Sessions
from listener.auth.users import PERMISSIONS, User, Users, record_action
from listener.settings_base import secret_from_env
from listener.store_threads import threads_of
from listener.timeutil import utcnow

log = logging.getLogger("vigie.web.auth")

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Paths that carry their own authentication (ingest token, Slack signature) or none by nature.
SELF_AUTHENTICATED = ("/api/ingest", "/slack/interactions")
PUBLIC_PREFIXES = ("/ui/", "/login", "/logout", "/auth/oidc/")
# The permission a write needs, by path prefix (first match); other writes are for administrators.
WRITE_PERMISSIONS: tuple[tuple[str, str], ...] = (
    ("/api/alerts", "alerts"),
    ("/api/silences", "alerts"),
    ("/api/incidents", "alerts"),
    ("/api/outbox", "alerts"),
    ("/api/crisis", "crisis"),
    ("/api/posts", "posts"),
    ("/api/users", "users"),
)
TOKEN_ACTOR = "api"
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "[::1]", "::1"})


@dataclass(frozen=True)
class Identity:
    """The caller: a named account through its session, or a script holding the API token."""

    name: str
    role: str
    via: str  # "session" | "token"
    session: Session | None = None

    @property
    def user(self) -> User | None:
        return self.session.user if self.session else None

    def can(self, permission: str) -> bool:
        return self.role in PERMISSIONS.get(permission, frozenset())


IDENTITY: web.RequestKey[Identity] = web.RequestKey("vigie.identity", Identity)


def identity_of(request: web.Request) -> Identity | None:
    return request.get(IDENTITY)


def actor_of(request: web.Request, body: dict[str, Any] | None = None) -> str:
    """Who an action is recorded under: the account's name for a session (whatever the body says);
    for the API token, the `actor` a script names (else "api")."""
    identity = identity_of(request)
    if identity is not None and identity.via == "session":
        return identity.name
    named = (body or {}).get("actor") or (body or {}).get("par")
    return str(named)[:80] if named else TOKEN_ACTOR


def _json_error(status: int, message: str, **headers: str) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers or None)


def host_name(host_header: str) -> str:
    """'Example.org:8080' → 'example.org'; '[::1]:80' → '[::1]'."""
    host = (host_header or "").strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def is_loopback(name: str) -> bool:
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        return False


class LoginThrottle:
    """At most `limit` failed logins per client address in `window` seconds, whatever the account name
    (password spraying across many accounts is slowed as well as guessing one)."""

    def __init__(self, limit: int = 30, window: float = 900.0) -> None:
        self.limit, self.window = limit, window
        self._failures: dict[str, deque[float]] = {}

    def blocked(self, client: str) -> bool:
        stamps = self._failures.get(client)
        if not stamps:
            return False
        cutoff = time.monotonic() - self.window
        while stamps and stamps[0] < cutoff:
            stamps.popleft()
        return len(stamps) >= self.limit

    def failed(self, client: str) -> None:
        self._failures.setdefault(client, deque()).append(time.monotonic())
        if len(self._failures) > 10_000:  # bounded memory under a flood of addresses
            self._failures.pop(next(iter(self._failures)))


class Guard:
    def __init__(self, app: Any) -> None:
        web_settings = app.settings.web
        self.app = app
        self.settings = web_settings
        self.users = Users(app.store, max_failures=web_settings.auth.max_failures,
                           lockout_minutes=web_settings.auth.lockout_minutes)
        self.sessions = Sessions(app.store, self.users, max_hours=web_settings.auth.session_hours,
                                 idle_minutes=web_settings.auth.idle_minutes)
        self.throttle = LoginThrottle()
        self._pending: set[asyncio.Task[None]] = set()  # journal lines waiting for the store
        self.allowed_hosts = {h.strip().lower() for h in web_settings.allowed_hosts}
        if web_settings.host not in ("0.0.0.0", "::", ""):
            self.allowed_hosts.add(web_settings.host.lower() if ":" not in web_settings.host
                                   else f"[{web_settings.host.lower()}]")

    # -- credentials -------------------------------------------------------------------------------

    def api_token(self) -> str | None:
        return secret_from_env(self.settings.api_token_env)

    def closed(self) -> bool:
        """No way to write at all: no API token in the environment and no active account."""
        return self.api_token() is None and self.users.active_count() == 0

    def report(self) -> dict[str, Any]:
        """Health entry: says plainly when the API is closed for lack of credentials."""
        accounts = self.users.active_count()
        token = self.api_token() is not None
        report: dict[str, Any] = {"state": "ok", "accounts": accounts, "api_token": token,
                                  "oidc": self.settings.oidc.enabled}
        if not token and not accounts:
            report["state"] = "closed"
            report["message"] = (f"aucun compte ni jeton d'API ({self.settings.api_token_env}) : écritures refusées, "
                                 "lectures réservées ; créer un compte avec « vigie users add »")
        return report

    def warn_if_closed(self) -> None:
        if self.closed():
            log.warning("web API closed: no %s in the environment and no user account; every write is refused "
                        "and personal data is not served (create an account with `vigie users add`)",
                        self.settings.api_token_env)

    async def identify(self, request: web.Request) -> Identity | None:
        header = request.headers.get("Authorization", "")
        if header:
            scheme, _, given = header.partition(" ")
            token = self.api_token()
            if token and scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
                return Identity(TOKEN_ACTOR, "admin", "token")
            return None  # a wrong token never falls back to the cookie
        cookie = request.cookies.get(COOKIE)
        if not cookie:
            return None
        session = await threads_of(request).read(self.sessions.lookup, cookie)
        if session is None:
            return None
        return Identity(session.user.username, session.user.role, "session", session)

    async def journal(self, request: web.Request, identity: Identity, status: int) -> None:
        """One line of the action journal, off the loop. The action itself is done: if the store cannot
        take the line now, it is written later (kept in memory meanwhile, and in the log)."""
        entry = {"actor": identity.name, "action": f"{request.method} {request.path}", "role": identity.role,
                 "target": request.match_info.get("id", ""), "status": status, "at": utcnow()}
        threads = threads_of(request)
        try:
            await threads.write(record_action, self.app.store, **entry)
        except web.HTTPServiceUnavailable:
            log.error("action journal: store unavailable, line kept for later: %s %s by %s (%s)", entry["action"],
                      entry["target"], entry["actor"], status)
            task = asyncio.create_task(self._journal_later(threads, entry))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def _journal_later(self, threads: Any, entry: dict[str, Any]) -> None:
        delay = 1.0
        while True:
            await asyncio.sleep(delay)
            try:
                await threads.write(record_action, self.app.store, **entry)
                return
            except web.HTTPServiceUnavailable:
                delay = min(delay * 2, 30.0)

    # -- the middleware ----------------------------------------------------------------------------

    def host_allowed(self, request: web.Request) -> bool:
        return host_name(request.headers.get("Host", "")) in self.allowed_hosts

    def secure_cookie(self, request: web.Request) -> bool:
        if self.settings.auth.secure_cookies == "always":
            return True
        return request.scheme == "https" or not is_loopback(host_name(request.host))

    def cross_site(self, request: web.Request) -> bool:
        """A browser write from another origin (Origin header, or Sec-Fetch-Site) is refused."""
        if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
            return True
        origin = request.headers.get("Origin")
        if origin is None:
            return False
        parts = urlsplit(origin)
        return origin == "null" or (parts.netloc or "").lower() != (request.headers.get("Host") or "").lower()

    @web.middleware
    async def middleware(self, request: web.Request,
                         handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
        if not self.host_allowed(request):
            return _json_error(421, "hôte non autorisé (web.allowed_hosts)")
        path = request.path
        if path.startswith(SELF_AUTHENTICATED) or path.startswith(PUBLIC_PREFIXES):
            return await handler(request)
        if (path == "/healthz" and self.settings.open_healthz) or (path == "/metrics" and self.settings.open_metrics):
            return await handler(request)
        identity = await self.identify(request)
        if identity is not None:
            request[IDENTITY] = identity
        is_api = path.startswith("/api/") or path in ("/healthz", "/metrics")
        # Without an identity, say whether that is because nothing is configured (an account count: a read).
        closed = (identity is None and (is_api or request.method in WRITE_METHODS)
                  and await threads_of(request).read(self.closed))
        if request.method in WRITE_METHODS:
            refusal = self._check_write(request, identity, closed)
            if refusal is not None:
                return refusal
            assert identity is not None
            try:
                response = await handler(request)
            except web.HTTPException as exc:  # a refusal or a 503 is journalled too
                await self.journal(request, identity, exc.status)
                raise
            await self.journal(request, identity, response.status)
            return response
        if identity is None:
            if is_api:
                message = ("aucun compte ni jeton configuré : données réservées" if closed
                           else "authentification requise (session ou jeton d'API)")
                return _json_error(401, message, **{"WWW-Authenticate": 'Bearer realm="vigie"'})
            if request.method == "GET" and "." not in path.rsplit("/", 1)[-1]:  # a page, not a stray /favicon.ico
                raise web.HTTPSeeOther(f"/login?next={quote(request.path_qs, safe='/')}")
            return _json_error(401, "authentification requise")
        return await handler(request)

    def _check_write(self, request: web.Request, identity: Identity | None, closed: bool) -> web.Response | None:
        if closed:
            return _json_error(403, "écriture refusée : aucun compte ni jeton d'API configuré "
                                    f"({self.settings.api_token_env} ou « vigie users add »)")
        if identity is None:
            return _json_error(401, "jeton d'API manquant ou invalide, ou session expirée",
                               **{"WWW-Authenticate": 'Bearer realm="vigie"'})
        if request.can_read_body and request.content_type != "application/json":
            return _json_error(415, "corps JSON attendu (Content-Type: application/json)")
        if identity.via == "session":
            given = request.headers.get("X-CSRF-Token", "")
            assert identity.session is not None
            if not given or not hmac.compare_digest(given.encode(), identity.session.csrf_token.encode()):
                return _json_error(403, "jeton CSRF manquant ou invalide : recharger la page")
            if self.cross_site(request):
                return _json_error(403, "requête d'un autre site refusée")
        permission = next((perm for prefix, perm in WRITE_PERMISSIONS if request.path.startswith(prefix)), "users")
        if not identity.can(permission):
            return _json_error(403, f"action non permise au rôle « {identity.role} »")
        return None
