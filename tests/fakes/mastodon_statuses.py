"""A fake Mastodon instance accepting `POST /api/v1/statuses`, as the API documentation describes.

- `Authorization: Bearer <token>` required: otherwise 401 `{"error": "The access token is invalid"}`;
- form or JSON body; `status` blank → 422 `{"error": "Validation failed: Text can't be blank"}`;
- `Idempotency-Key`: a repeat with the same key (same token) answers the status created the first time
  and creates nothing (Mastodon keeps keys for an hour);
- rate limit: `X-RateLimit-Limit/Remaining/Reset` on every answer; `inject("429")` gives a 429 with them;
- `drop_answer_once`: the status is created but the connection is dropped before the answer
  (the case a retry must not turn into a second post).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from tests.fakes import FakeServer


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


class FakeMastodonStatuses(FakeServer):
    def __init__(self, token: str = "masto-token", domain: str = "rivebelle.social") -> None:
        self.token = token
        self.domain = domain
        self.created: list[dict[str, Any]] = []
        self.bodies: list[dict[str, Any]] = []
        self.idempotency: dict[tuple[str, str], dict[str, Any]] = {}
        self.next_id = 110_000_000_000_000_000
        self.remaining = 300
        self.drop_answer_once = False
        super().__init__()

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/api/v1/statuses", self.create_status)]

    def limit_headers(self) -> dict[str, str]:
        self.remaining = max(0, self.remaining - 1)
        return {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": str(self.remaining),
                "X-RateLimit-Reset": _iso(datetime.now(UTC) + timedelta(hours=3))}

    def rate_limited_headers(self, retry_after: float) -> dict[str, str]:
        reset = datetime.now(UTC) + timedelta(seconds=retry_after)
        return {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset.isoformat()}

    async def create_status(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response({"error": "The access token is invalid"}, status=401)
        if request.content_type == "application/json":
            body = await request.json()
        else:
            body = dict(await request.post())
        self.bodies.append(body)
        key = request.headers.get("Idempotency-Key")
        if key and (self.token, key) in self.idempotency:
            return web.json_response(self.idempotency[(self.token, key)])
        text = str(body.get("status") or "").strip()
        if not text:
            return web.json_response({"error": "Validation failed: Text can't be blank"}, status=422)
        self.next_id += 1
        sid = str(self.next_id)
        status = {
            "id": sid,
            "created_at": _iso(datetime.now(UTC)),
            "uri": f"https://{self.domain}/users/ville/statuses/{sid}",
            "url": f"https://{self.domain}/@ville/{sid}",
            "content": f"<p>{text}</p>",
            "visibility": body.get("visibility") or "public",
            "language": body.get("language"),
            "account": {"id": "1", "username": "ville", "acct": "ville"},
            "application": {"name": "Vigie", "website": None},
        }
        self.created.append(status)
        if key:
            self.idempotency[(self.token, key)] = status
        if self.drop_answer_once:
            self.drop_answer_once = False
            assert request.transport is not None
            request.transport.abort()
            raise asyncio.CancelledError  # the client sees a dropped connection
        return web.json_response(status)
