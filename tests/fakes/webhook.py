"""A fake webhook receiver (Mattermost, Teams or a home-made endpoint) that checks Vigie's signature and
keeps a receipt log keyed by idempotency key. It can answer slowly (to be caught mid-delivery by a
SIGKILL) and fail on demand (see FakeServer.inject)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections import Counter
from typing import Any

from aiohttp import web

from tests.fakes import FakeServer


class FakeWebhook(FakeServer):
    def __init__(self, secret: str = "webhook-secret", delay: float = 0.0) -> None:
        self.secret = secret
        self.delay = delay
        self.receipts: list[dict[str, Any]] = []  # fully answered (2xx written back)
        self.started: list[str] = []  # requests received, answered or not
        super().__init__()

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/{tail:.*}", self.receive)]

    def verify(self, headers: dict[str, str], body: bytes) -> bool:
        timestamp = headers.get("X-Vigie-Timestamp", "")
        signature = headers.get("X-Vigie-Signature", "")
        expected = "sha256=" + hmac.new(self.secret.encode(), timestamp.encode() + b"." + body,
                                        hashlib.sha256).hexdigest()
        fresh = timestamp.isdigit() and abs(time.time() - int(timestamp)) < 300
        return fresh and hmac.compare_digest(expected, signature)

    async def receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        key = request.headers.get("X-Vigie-Idempotency-Key", "")
        self.started.append(key)
        if self.delay:
            await asyncio.sleep(self.delay)
        self.receipts.append({
            "key": key, "path": request.path, "headers": dict(request.headers), "body": json.loads(body),
            "signed": self.verify(dict(request.headers), body), "at": time.time(),
        })
        return web.json_response({"ok": True})

    def counts(self) -> Counter:
        return Counter(receipt["key"] for receipt in self.receipts)
