"""A fake Bluesky PDS for publishing, following the atproto lexicons.

- `com.atproto.server.createSession` {identifier, password} → {accessJwt, refreshJwt, handle, did};
  a wrong password → 401 `{"error": "AuthenticationRequired", "message": "Invalid identifier or password"}`;
- `com.atproto.repo.createRecord` {repo, collection, rkey?, validate?, record} with `Authorization: Bearer
  accessJwt` → {uri, cid}; no/unknown token → 401 AuthenticationRequired / InvalidToken; an expired one
  (`expire_tokens()`) → 400 ExpiredToken; an existing rkey → 400 InvalidRequest (nothing created);
  an app.bsky.feed.post without text/createdAt or over 300 characters → 400 InvalidRequest;
- `com.atproto.repo.getRecord` ?repo&collection&rkey → {uri, cid, value} or 400 RecordNotFound;
- rate-limit headers ratelimit-limit / -remaining / -reset (epoch seconds) / -policy; 429 via `inject`;
- `drop_answer_once`: the record is created but the connection drops before the answer.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

from aiohttp import web

from tests.fakes import FakeServer


def _error(status: int, error: str, message: str) -> web.Response:
    return web.json_response({"error": error, "message": message}, status=status)


class FakeBlueskyPds(FakeServer):
    def __init__(self, handle: str = "rivebelle.fr", password: str = "app-pass-1234",
                 did: str = "did:plc:rivebelle0000000000000") -> None:
        self.handle = handle
        self.password = password
        self.did = did
        self.tokens: set[str] = set()
        self.expired: set[str] = set()
        self.records: dict[str, dict[str, Any]] = {}  # rkey -> record
        self.created: list[dict[str, Any]] = []  # createRecord inputs that created something
        self.sessions = 0
        self._counter = itertools.count(1)
        self.drop_answer_once = False
        super().__init__()

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/xrpc/com.atproto.server.createSession", self.create_session),
            web.post("/xrpc/com.atproto.repo.createRecord", self.create_record),
            web.get("/xrpc/com.atproto.repo.getRecord", self.get_record),
        ]

    def limit_headers(self) -> dict[str, str]:
        return {"ratelimit-limit": "5000", "ratelimit-remaining": "4999",
                "ratelimit-reset": str(int(time.time()) + 3600), "ratelimit-policy": "5000;w=3600"}

    def rate_limited_headers(self, retry_after: float) -> dict[str, str]:
        return {"ratelimit-remaining": "0", "ratelimit-reset": f"{time.time() + retry_after:.3f}"}

    def expire_tokens(self) -> None:
        self.expired |= self.tokens

    async def create_session(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("identifier") not in (self.handle, self.did) or body.get("password") != self.password:
            return _error(401, "AuthenticationRequired", "Invalid identifier or password")
        self.sessions += 1
        token = f"jwt-access-{next(self._counter)}"
        self.tokens.add(token)
        return web.json_response({"accessJwt": token, "refreshJwt": f"jwt-refresh-{self.sessions}",
                                  "handle": self.handle, "did": self.did, "active": True})

    def _auth(self, request: web.Request) -> web.Response | None:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return _error(401, "AuthenticationRequired", "Authentication Required")
        token = header.removeprefix("Bearer ")
        if token in self.expired:
            return _error(400, "ExpiredToken", "Token has expired")
        if token not in self.tokens:
            return _error(401, "InvalidToken", "Token could not be verified")
        return None

    async def create_record(self, request: web.Request) -> web.StreamResponse:
        refused = self._auth(request)
        if refused is not None:
            return refused
        body = await request.json()
        if body.get("repo") not in (self.did, self.handle):
            return _error(400, "InvalidRequest", "Invalid repo")
        collection = body.get("collection")
        record = body.get("record") or {}
        if collection == "app.bsky.feed.post":
            text = record.get("text")
            if not isinstance(text, str) or "createdAt" not in record:
                return _error(400, "InvalidRequest", 'Record/text must be a string; Record/createdAt is required')
            if len(text) > 300:
                return _error(400, "InvalidRequest", "Record/text must not be longer than 300 graphemes")
        rkey = body.get("rkey") or f"3l{next(self._counter):011d}"
        if rkey in self.records:
            return _error(400, "InvalidRequest", f"Record already exists at at://{self.did}/{collection}/{rkey}")
        n = next(self._counter)
        stored = {"uri": f"at://{self.did}/{collection}/{rkey}", "cid": f"bafyreirecord{n:010d}", "value": record}
        self.records[rkey] = stored
        self.created.append(body)
        if self.drop_answer_once:
            self.drop_answer_once = False
            assert request.transport is not None
            request.transport.abort()
            raise asyncio.CancelledError  # the client sees a dropped connection
        return web.json_response({"uri": stored["uri"], "cid": stored["cid"],
                                  "commit": {"cid": f"bafyreicommit{n:010d}", "rev": f"3l{n:011d}"},
                                  "validationStatus": "valid"})

    async def get_record(self, request: web.Request) -> web.Response:
        rkey = request.query.get("rkey", "")
        found = self.records.get(rkey)
        if found is None or request.query.get("repo") not in (self.did, self.handle):
            return _error(400, "RecordNotFound", f"Could not locate record: at://{request.query.get('repo')}/"
                          f"{request.query.get('collection')}/{rkey}")
        return web.json_response(found)
