"""A fake Bluesky AppView answering `app.bsky.feed.searchPosts` as the lexicon describes.

Parameters: `q` (required), `sort` (latest | top), `since` / `until` (on the post's sort time, the
earlier of indexedAt and createdAt; `since` inclusive), `lang`, `limit` (1..100, default 25) and an
opaque `cursor` (here an offset). Answers `{"posts": [postView...], "cursor"?, "hitsTotal"}`; errors are
`{"error": "...", "message": "..."}` with status 400. Rate-limit headers: ratelimit-limit / -remaining /
-reset (epoch seconds) / -policy. Matching: every word of `q` (accents and case ignored; `#tag` also
matches the post's tag facets).
With `require_auth`, searchPosts answers 401 `AuthMissing` without a bearer token, and the PDS side is
there: `com.atproto.server.createSession` ({identifier, password} -> {accessJwt, refreshJwt, handle,
did}), `com.atproto.server.refreshSession` (the refreshJwt as bearer); an expired access token gets 400
`{"error": "ExpiredToken", "message": "Token has expired"}`.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from listener.textfold import fold
from tests.fakes import FakeServer

T0 = datetime(2026, 11, 17, 8, 0, tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class FakeBluesky(FakeServer):
    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.require_auth = False
        self.accounts = {"veille.bsky.social": "app-pass-word"}
        self.access: set[str] = set()
        self.refresh: set[str] = set()
        self.sessions_created = 0
        self.sessions_refreshed = 0
        super().__init__()

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/xrpc/app.bsky.feed.searchPosts", self.search),
                web.post("/xrpc/com.atproto.server.createSession", self.create_session),
                web.post("/xrpc/com.atproto.server.refreshSession", self.refresh_session)]

    def _session(self, handle: str) -> dict[str, Any]:
        n = self.sessions_created + self.sessions_refreshed
        access, refresh = f"access-{n}", f"refresh-{n}"
        self.access.add(access)
        self.refresh.add(refresh)
        return {"accessJwt": access, "refreshJwt": refresh, "handle": handle, "did": "did:plc:veille",
                "active": True}

    async def create_session(self, request: web.Request) -> web.Response:
        body = await request.json()
        if self.accounts.get(body.get("identifier")) != body.get("password"):
            return web.json_response({"error": "AuthenticationRequired", "message": "Invalid identifier or password"},
                                     status=401)
        self.sessions_created += 1
        return web.json_response(self._session(body["identifier"]))

    async def refresh_session(self, request: web.Request) -> web.Response:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token not in self.refresh:
            return web.json_response({"error": "ExpiredToken", "message": "Token has expired"}, status=400)
        self.refresh.discard(token)  # refresh tokens are single-use
        self.sessions_refreshed += 1
        return web.json_response(self._session("veille.bsky.social"))

    def expire_access(self) -> None:
        self.access.clear()

    def limit_headers(self) -> dict[str, str]:
        return {"ratelimit-limit": "3000", "ratelimit-remaining": "2999",
                "ratelimit-reset": str(int(time.time()) + 300), "ratelimit-policy": "3000;w=300"}

    def rate_limited_headers(self, retry_after: float) -> dict[str, str]:
        # Bluesky announces the reset as epoch seconds; sub-second waits keep the tests fast.
        return {"ratelimit-remaining": "0", "ratelimit-reset": f"{time.time() + retry_after:.3f}"}

    def add_post(self, text: str, *, at: datetime | None = None, created_at: datetime | None = None,
                 langs: list[str] | None = None, tags: list[str] = (),  # type: ignore[assignment]
                 handle: str = "habitant.bsky.social") -> dict[str, Any]:
        n = len(self.posts) + 1
        indexed = at or T0 + timedelta(seconds=10 * n)
        record: dict[str, Any] = {"$type": "app.bsky.feed.post", "text": text,
                                  "createdAt": _iso(created_at or indexed), "langs": ["fr"] if langs is None else langs}
        if tags:
            record["facets"] = [{"index": {"byteStart": 0, "byteEnd": 1},
                                 "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": t}]} for t in tags]
        post = {
            "uri": f"at://did:plc:author{n % 13}/app.bsky.feed.post/3kpost{n:07d}",
            "cid": f"bafyreipost{n:012d}",
            "author": {"did": f"did:plc:author{n % 13}", "handle": handle, "displayName": "Habitant",
                       "labels": [], "createdAt": "2024-01-01T00:00:00.000Z"},
            "record": record,
            "replyCount": 1, "repostCount": 2, "likeCount": 5, "quoteCount": 1,
            "indexedAt": _iso(indexed),
            "labels": [],
        }
        self.posts.append(post)
        return post

    @staticmethod
    def sort_at(post: dict[str, Any]) -> datetime:
        return min(_parse(post["indexedAt"]), _parse(post["record"]["createdAt"]))

    def _matches(self, post: dict[str, Any], q: str) -> bool:
        text = fold(post["record"]["text"])
        tags = {fold(f["tag"]) for facet in post["record"].get("facets", []) for f in facet["features"]}
        for word in q.split():
            word = fold(word.strip('"'))
            if word.startswith("#") and word[1:] in tags:
                continue
            if word not in text:
                return False
        return True

    async def search(self, request: web.Request) -> web.Response:
        if self.require_auth:
            token = request.headers.get("Authorization", "").removeprefix("Bearer ")
            if not token:
                return web.json_response({"error": "AuthMissing", "message": "Authentication Required"}, status=401)
            if token not in self.access:
                return web.json_response({"error": "ExpiredToken", "message": "Token has expired"}, status=400)
        query = request.query
        q = query.get("q", "").strip()
        if not q:
            return web.json_response({"error": "InvalidRequest", "message": 'Error: Params must have the property "q"'},
                                     status=400)
        try:
            limit = int(query.get("limit", "25"))
            offset = int(query.get("cursor", "0"))
        except ValueError:
            return web.json_response({"error": "InvalidRequest", "message": "Error: limit must be an integer"}, status=400)
        if not 1 <= limit <= 100:
            return web.json_response({"error": "InvalidRequest", "message": "Error: limit must be <= 100"}, status=400)
        hits = [p for p in self.posts if self._matches(p, q)]
        if "lang" in query:
            hits = [p for p in hits if any(lang.split("-")[0] == query["lang"] for lang in p["record"].get("langs", []))]
        if "since" in query:
            hits = [p for p in hits if self.sort_at(p) >= _parse(query["since"])]
        if "until" in query:
            hits = [p for p in hits if self.sort_at(p) < _parse(query["until"])]
        if query.get("sort", "latest") == "latest":
            hits.sort(key=self.sort_at, reverse=True)
        else:
            hits.sort(key=lambda p: p["likeCount"], reverse=True)
        page = hits[offset: offset + limit]
        body: dict[str, Any] = {"posts": page, "hitsTotal": len(hits)}
        if offset + limit < len(hits):
            body["cursor"] = str(offset + limit)
        return web.json_response(body)
