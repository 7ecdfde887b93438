"""Fake SMS providers.

FakeOvh follows the OVHcloud API as its documentation and official client (ovh/python-ovh) describe it:
- `GET /1.0/auth/time` → the server's Unix time (JSON number), unauthenticated;
- every other call carries X-Ovh-Application, X-Ovh-Consumer, X-Ovh-Timestamp and
  X-Ovh-Signature = "$1$" + SHA1(secret+consumer+METHOD+URL+BODY+TIMESTAMP); an unknown application key
  is 403 INVALID_KEY, an unknown consumer key 403 INVALID_CREDENTIAL, a wrong signature 400 "Invalid
  signature", a timestamp off by more than the tolerance 400 "Query out of time";
- `POST /1.0/sms/{serviceName}/jobs` {message, receivers, sender | senderForResponse, coding, tag…} →
  SmsSendingReport {ids, validReceivers, invalidReceivers, totalCreditsRemoved, tag}; an unknown account
  is 404 "The requested object (serviceName = …) does not exist";
- `GET /1.0/sms/{serviceName}/outgoing?receiver=&tag=` → ids of the SMS sent.

FakeSmsGateway is the generic HTTP provider's other end: POST /send with a bearer token, repeats of an
Idempotency-Key answered with the first id.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from typing import Any

from aiohttp import web

from alerts.sms import GSM7_BASIC, GSM7_EXTENDED, gsm_length
from tests.fakes import FakeServer


class FakeOvh(FakeServer):
    def __init__(self, service: str = "sms-rv12345-1", app_key: str = "appkey", secret: str = "appsecret",
                 consumer: str = "consumerkey", skew: int = 0, delay: float = 0.0) -> None:
        self.service, self.app_key, self.secret, self.consumer = service, app_key, secret, consumer
        self.skew = skew  # the server's clock minus ours
        self.delay = delay
        self.unreachable: set[str] = set()
        self.sms: list[dict[str, Any]] = []  # accepted jobs, one per receiver
        self.next_id = 100_000
        super().__init__()

    @property
    def endpoint(self) -> str:
        return f"{self.url}/1.0"

    def env(self) -> dict[str, str]:
        return {"VIGIE_OVH_APPLICATION_KEY": self.app_key, "VIGIE_OVH_APPLICATION_SECRET": self.secret,
                "VIGIE_OVH_CONSUMER_KEY": self.consumer}

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/1.0/auth/time", self.auth_time),
            web.post("/1.0/sms/{service}/jobs", self.jobs),
            web.get("/1.0/sms/{service}/outgoing", self.outgoing),
        ]

    @staticmethod
    def _error(status: int, message: str, code: str | None = None) -> web.Response:
        body: dict[str, Any] = {"message": message}
        if code:
            body |= {"errorCode": code, "httpCode": f"{status} Forbidden"}
        return web.json_response(body, status=status)

    async def auth_time(self, request: web.Request) -> web.Response:
        return web.json_response(int(time.time()) + self.skew)

    async def _signed(self, request: web.Request) -> tuple[bytes, web.Response | None]:
        body = await request.read()
        if request.headers.get("X-Ovh-Application") != self.app_key:
            return body, self._error(403, "Invalid application key", "INVALID_KEY")
        if request.headers.get("X-Ovh-Consumer") != self.consumer:
            return body, self._error(403, "This credential does not exist", "INVALID_CREDENTIAL")
        stamp = request.headers.get("X-Ovh-Timestamp", "")
        if not stamp.isdigit() or abs(int(stamp) - (time.time() + self.skew)) > 30:
            return body, self._error(400, "Query out of time")
        url = f"http://{request.host}{request.raw_path}"
        expected = "$1$" + hashlib.sha1("+".join([self.secret, self.consumer, request.method, url,
                                                   body.decode("utf-8"), stamp]).encode("utf-8")).hexdigest()
        if request.headers.get("X-Ovh-Signature") != expected:
            return body, self._error(400, "Invalid signature")
        if request.match_info["service"] != self.service:
            return body, self._error(404, f"The requested object (serviceName = {request.match_info['service']}) "
                                          "does not exist")
        return body, None

    async def jobs(self, request: web.Request) -> web.Response:
        raw, denied = await self._signed(request)
        if denied:
            return denied
        job = json.loads(raw)
        message, receivers = job.get("message"), job.get("receivers")
        if not isinstance(message, str) or not message or not isinstance(receivers, list) or not receivers:
            return self._error(400, "Missing parameter(s): message, receivers")
        if job.get("coding") == "7bit" and any(c not in GSM7_BASIC and c not in GSM7_EXTENDED for c in message):
            return self._error(400, "Message contains characters outside the GSM 03.38 alphabet")
        if self.delay:
            await asyncio.sleep(self.delay)
        length = gsm_length(message)
        parts = 1 if length <= 160 else -(-length // 153)
        ids, valid, invalid = [], [], []
        for receiver in receivers:
            if receiver in self.unreachable:
                invalid.append(receiver)
                continue
            self.next_id += 1
            ids.append(self.next_id)
            valid.append(receiver)
            self.sms.append({"id": self.next_id, "receiver": receiver, "message": message, "tag": job.get("tag"),
                             "sender": job.get("sender"), "parts": parts, "job": job})
        return web.json_response({"totalCreditsRemoved": parts * len(ids), "invalidReceivers": invalid, "ids": ids,
                                  "validReceivers": valid, "tag": job.get("tag")})

    async def outgoing(self, request: web.Request) -> web.Response:
        _, denied = await self._signed(request)
        if denied:
            return denied
        found = [s["id"] for s in self.sms
                 if s["receiver"] == request.query.get("receiver", s["receiver"])
                 and s["tag"] == request.query.get("tag", s["tag"])]
        return web.json_response(found)


class FakeSmsGateway(FakeServer):
    def __init__(self, token: str = "gateway-token") -> None:
        self.token = token
        self.sms: list[dict[str, Any]] = []
        self.by_key: dict[str, str] = {}
        super().__init__()

    @property
    def send_url(self) -> str:
        return f"{self.url}/send"

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/send", self.send)]

    async def send(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response({"error": "unauthorized"}, status=401)
        body = await request.json()
        key = request.headers.get("Idempotency-Key", "")
        if key in self.by_key:
            return web.json_response({"id": self.by_key[key]})
        if not str(body.get("to", "")).startswith("+"):
            return web.json_response({"error": "invalid number"}, status=422)
        self.by_key[key] = f"gw-{len(self.sms) + 1}"
        self.sms.append({**body, "id": self.by_key[key]})
        return web.json_response({"id": self.by_key[key]}, status=201)
