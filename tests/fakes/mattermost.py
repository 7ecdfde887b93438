"""A fake Mattermost server for incoming webhooks, after developers.mattermost.com
(integrate/webhooks/incoming, reference/message-attachments):

- `POST /hooks/{key}` with a JSON body (or `payload=<json>` form data, the Slack-compatible form);
  success is `200 text/plain "ok"` with an `X-Request-Id` header;
- an unknown key, or a body that is neither, is an AppError JSON
  `{"id": "web.incoming_webhook.invalid.app_error", "message": …, "status_code": 400}`;
- a post needs `text` or `attachments`;
- rate limiting (`inject("429")`) answers 429 with `X-Ratelimit-Limit/Remaining/Reset` (seconds).
"""

from __future__ import annotations

import asyncio
import json
import secrets
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web

from tests.fakes import FakeServer


class FakeMattermost(FakeServer):
    def __init__(self, hooks: tuple[str, ...] = ("veille0000000000000000000000",), delay: float = 0.0) -> None:
        self.hooks = set(hooks)
        self.delay = delay
        self.posts: list[dict[str, Any]] = []  # answered with 200
        self.started: list[dict[str, Any]] = []
        super().__init__()

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/hooks/{key}", self.incoming)]

    def hook_url(self, key: str | None = None) -> str:
        return f"{self.url}/hooks/{key or next(iter(sorted(self.hooks)))}"

    def rate_limited_headers(self, retry_after: float) -> dict[str, str]:
        return {"X-Ratelimit-Limit": "10", "X-Ratelimit-Remaining": "0", "X-Ratelimit-Reset": f"{retry_after:g}"}

    @staticmethod
    def _error(message: str, status: int = 400, where: str = "web.incoming_webhook.invalid.app_error") -> web.Response:
        return web.json_response({"id": where, "message": message, "detailed_error": "",
                                  "request_id": secrets.token_hex(13), "status_code": status}, status=status)

    async def incoming(self, request: web.Request) -> web.Response:
        raw = await request.read()
        try:
            if request.content_type == "application/json":
                post = json.loads(raw)
            else:
                post = json.loads(parse_qs(raw.decode())["payload"][0])
        except (ValueError, KeyError, IndexError):
            return self._error("Unable to parse incoming data", where="web.incoming_webhook.parse.app_error")
        self.started.append(post)
        if request.match_info["key"] not in self.hooks:
            return self._error("Invalid webhook.")
        if not post.get("text") and not post.get("attachments"):
            return self._error("No text specified", where="web.incoming_webhook.text.app_error")
        if self.delay:
            await asyncio.sleep(self.delay)
        self.posts.append(post)
        return web.Response(text="ok", content_type="text/plain", headers={"X-Request-Id": secrets.token_hex(13)})

    def keys(self) -> list[str]:
        return [post.get("props", {}).get("vigie_idempotency_key") for post in self.posts]
