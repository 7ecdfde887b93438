"""Wires crisis mode and the posting policy into the daemon (the crisis area of rules/manifest.py).

- evaluation step "crisis" (order 25, after the rules engine): the calm-period step-down
  (`crisis.tick`, idempotent) and the posting policy on due posts, at the minute being evaluated, so a
  replay holds posts as the recorded day would; in dry-run mode it also "publishes" there (nothing leaves).
- component "posting:publisher": in live mode, publishes every `poll_interval` seconds what the policy
  lets out (network sends stay out of the per-minute evaluation).
- routes: GET /api/crisis, POST /api/crisis (API token), GET /api/posts.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web

from listener.french import CRISIS_STATE_FR
from listener.host import OUTBOX_QUEUED, Host, Key
from listener.web import get_app, identity_of, read, require_api_token, write
from rules import crisis, posting_queue
from rules.publisher import Publisher

log = logging.getLogger("vigie.posting")


class PostingService:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.publisher = Publisher(app.store, app.settings)
        self._recovered = False

    def _attach_http(self) -> None:
        if self.app.http is not None:
            self.publisher._http = self.app.http

    async def evaluate(self, as_of) -> None:
        """Per-minute step: calm-period step-down, then the policy on what falls due at `as_of`."""
        crisis.tick(self.app.store, self.app.settings, as_of)
        if not self.app.deliver:
            return  # backtest: nothing leaves, nothing is marked published
        if self.publisher.config.mode == "dry-run":
            await self.publisher.publish_due(as_of)
        else:
            # Live: hold and announce at the recorded minute; the component does the sending.
            crisis.announce_held(self.app.store, self.app.settings, as_of)

    async def run(self) -> None:
        """Supervised component: live publishing loop."""
        if not self._recovered:
            posting_queue.recover_in_flight(self.app.store, self.app.clock.now())
            self._recovered = True
        while True:
            if self.app.deliver and self.publisher.config.mode == "live":
                self._attach_http()
                await self.publisher.publish_due(self.app.clock.now())
            await asyncio.sleep(self.publisher.config.poll_interval)


async def api_crisis(request: web.Request) -> web.Response:
    app = get_app(request)

    def gather() -> dict[str, Any]:
        state = crisis.current_state(app.store)
        return {
            **state,
            "allowed": crisis.allowed_targets(app.settings.rules.crisis, state["state"]),
            "journal": crisis.journal(app.store, limit=20),
            "posts": posting_queue.summary(app.store),
        }

    return web.json_response(await read(request, gather))


async def api_crisis_change(request: web.Request) -> web.Response:
    """Change the level: {"state": "crise", "actor": "…", "reason": "…"} (French keys accepted too)."""
    require_api_token(request)
    app = get_app(request)
    try:
        body = await request.json()
    except ValueError:
        return web.json_response({"error": "corps JSON invalide"}, status=400)
    if not isinstance(body, dict):
        return web.json_response({"error": "un objet JSON est attendu"}, status=400)
    to_state = str(body.get("state") or body.get("niveau") or "")
    # A person's session decides under its account; a script says who decided.
    identity = identity_of(request)
    actor = identity.name if identity and identity.via == "session" else str(body.get("actor") or body.get("par") or "")
    reason = str(body.get("reason") or body.get("motif") or "")
    if not actor.strip():
        return web.json_response({"error": "indiquer qui décide du changement (actor)"}, status=400)
    now = app.clock.now()

    def change() -> tuple[bool, dict[str, Any]]:
        # One transaction: the level, its audit row, the announcement and the posts it holds, or nothing.
        changed = crisis.enter(app.store, app.settings, to_state, actor, reason, now)
        return changed, crisis.current_state(app.store)

    try:
        changed, state = await write(request, change)
    except crisis.CrisisTransitionError as exc:
        return web.json_response({"error": str(exc)}, status=409 if to_state in CRISIS_STATE_FR else 400)
    if changed and app.deliver:
        app.emit(OUTBOX_QUEUED)  # the announcement goes out now, not at the worker's next poll
    return web.json_response({"changed": changed, **state})


async def api_posts(request: web.Request) -> web.Response:
    app = get_app(request)
    states = [s for s in request.query.get("state", "").split(",") if s] or None
    posts, counts = await read(request, lambda: (posting_queue.list_posts(app.store, states=states),
                                                 posting_queue.summary(app.store)))
    return web.json_response({"posts": [posting_queue.as_public(p) for p in posts], "counts": counts})


POSTING: Key[PostingService] = Key("posting")


def setup(app: Host) -> PostingService:
    service = PostingService(app)
    app.add_evaluation_step("crisis", service.evaluate)
    app.provide(POSTING, service)
    app.add_component("posting:publisher", service.run, health=service.publisher.health)
    app.add_routes([
        web.get("/api/crisis", api_crisis),
        web.post("/api/crisis", api_crisis_change),
        web.get("/api/posts", api_posts),
    ])
    return service


setup_posting = setup
