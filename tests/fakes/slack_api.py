"""A fake Slack Web API for slack-sdk's real AsyncWebClient(base_url=fake.base_url).

Modelled on slack-sdk's own test mock servers (tests/slack_sdk/web/mock_web_api_server*.py): JSON
answers `{"ok": true, ...}`, errors as HTTP 200 with `{"ok": false, "error": "..."}` (invalid_auth,
channel_not_found, message_not_found), rate limiting as HTTP 429 with `Retry-After` (whole seconds,
as slack-sdk's handler parses it) and `{"ok": false, "error": "ratelimited"}`.
Implements chat.postMessage (with thread_ts, metadata), chat.update and auth.test.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web

from tests.fakes import FakeServer


class FakeSlack(FakeServer):
    def __init__(self, token: str = "xoxb-vigie-test", channels: dict[str, str] | None = None) -> None:
        self.token = token
        # name or id → channel id
        self.channels = channels or {"alertes": "C0ALERTES", "#alertes": "C0ALERTES", "C0ALERTES": "C0ALERTES",
                                     "elus": "C0ELUS", "#elus": "C0ELUS", "C0ELUS": "C0ELUS"}
        self.messages: list[dict[str, Any]] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.updates: list[dict[str, Any]] = []
        self.ratelimited_times = 0
        self.retry_after = 1
        self.delay = 0.0
        self.next_ts = 1_700_000_000
        super().__init__()

    @property
    def base_url(self) -> str:
        return f"{self.url}/api/"

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/api/chat.postMessage", self.post_message),
            web.post("/api/chat.update", self.update),
            web.post("/api/auth.test", self.auth_test),
        ]

    def ratelimit(self, times: int = 1, retry_after: int = 1) -> None:
        self.ratelimited_times = times
        self.retry_after = retry_after

    async def _args(self, request: web.Request) -> dict[str, Any]:
        raw = await request.read()
        if request.content_type == "application/json":
            return json.loads(raw or b"{}")
        form = parse_qs(raw.decode())
        args: dict[str, Any] = {k: v[0] for k, v in form.items()}
        for key in ("blocks", "metadata"):
            if isinstance(args.get(key), str):
                args[key] = json.loads(args[key])
        return args

    async def _common(self, request: web.Request, method: str) -> tuple[dict[str, Any] | None, web.Response | None]:
        args = await self._args(request)
        self.calls.append((method, args))
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.ratelimited_times > 0:
            self.ratelimited_times -= 1
            return None, web.json_response({"ok": False, "error": "ratelimited"}, status=429,
                                           headers={"Retry-After": str(self.retry_after)})
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return None, web.json_response({"ok": False, "error": "invalid_auth"})
        return args, None

    async def auth_test(self, request: web.Request) -> web.Response:
        args, error = await self._common(request, "auth.test")
        return error or web.json_response({"ok": True, "team": "Rivebelle", "user": "vigie", "bot_id": "B0VIGIE"})

    async def post_message(self, request: web.Request) -> web.Response:
        args, error = await self._common(request, "chat.postMessage")
        if error:
            return error
        assert args is not None
        channel = self.channels.get(str(args.get("channel")))
        if channel is None:
            return web.json_response({"ok": False, "error": "channel_not_found"})
        self.next_ts += 1
        ts = f"{self.next_ts}.000100"
        message = {"channel": channel, "ts": ts, "text": args.get("text"), "blocks": args.get("blocks"),
                   "thread_ts": args.get("thread_ts"), "metadata": args.get("metadata"),
                   "reply_broadcast": args.get("reply_broadcast"), "args": args}
        self.messages.append(message)
        return web.json_response({"ok": True, "channel": channel, "ts": ts,
                                  "message": {"text": args.get("text"), "ts": ts}})

    async def update(self, request: web.Request) -> web.Response:
        args, error = await self._common(request, "chat.update")
        if error:
            return error
        assert args is not None
        for message in self.messages:
            if message["channel"] == args.get("channel") and message["ts"] == args.get("ts"):
                message["text"] = args.get("text")
                message["blocks"] = args.get("blocks")
                self.updates.append(args)
                return web.json_response({"ok": True, "channel": message["channel"], "ts": message["ts"]})
        return web.json_response({"ok": False, "error": "message_not_found"})

    def top_level(self) -> list[dict[str, Any]]:
        return [m for m in self.messages if not m.get("thread_ts")]

    def replies(self, ts: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m.get("thread_ts") == ts]
