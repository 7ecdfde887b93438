"""A fake X API v2: user mentions and recent search, with its rate-limit headers and problem bodies.

- `GET /2/users/:id/mentions` (max_results 5-100, `pagination_token`) and `GET /2/tweets/search/recent`
  (max_results 10-100, `next_token`), both with `since_id`; newest first; `expansions=author_id` adds
  `includes.users`. Answers `{"data", "includes", "meta": {"newest_id", "oldest_id", "result_count",
  "next_token"?}}`, or `{"meta": {"result_count": 0}}` when nothing matches.
- Headers `x-rate-limit-limit`, `x-rate-limit-remaining`, `x-rate-limit-reset` (epoch seconds).
- Problems: 401 `{"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}`;
  400 for an out-of-range parameter (`{"errors": [...], "title": "Invalid Request", ...}`).
- Billing: every post returned and every user object costs; `billed` is what the app was charged.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from listener.textfold import fold
from tests.fakes import FakeServer

T0 = datetime(2026, 11, 17, 8, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


class FakeX(FakeServer):
    def __init__(self, token: str = "x-token", price_post: float = 0.005, price_user: float = 0.01) -> None:
        self.tokens = {token}
        self.posts: list[dict[str, Any]] = []
        self.users: dict[str, dict[str, Any]] = {}
        self.mentions_of: dict[str, list[str]] = {}
        self.next_id = 1_860_000_000_000_000_000
        self.price_post, self.price_user = price_post, price_user
        self.billed = 0.0
        super().__init__()

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/2/users/{id}/mentions", self.mentions), web.get("/2/tweets/search/recent", self.search)]

    def limit_headers(self) -> dict[str, str]:
        return {"x-rate-limit-limit": "450", "x-rate-limit-remaining": "449",
                "x-rate-limit-reset": str(int(time.time()) + 900)}

    def rate_limited_headers(self, retry_after: float) -> dict[str, str]:
        return {"x-rate-limit-remaining": "0", "x-rate-limit-reset": f"{time.time() + retry_after:.3f}"}

    def add_post(self, text: str, when: datetime, *, username: str = "habitant", mentions: str | None = None,
                 lang: str = "fr") -> dict[str, Any]:
        self.next_id += 1000
        user_id = str(abs(hash(username)) % 10**12)
        self.users[user_id] = {"id": user_id, "username": username, "name": username.title(),
                               "public_metrics": {"followers_count": 120, "following_count": 80}}
        post = {"id": str(self.next_id), "text": text, "created_at": when.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "author_id": user_id, "lang": lang, "conversation_id": str(self.next_id),
                "edit_history_tweet_ids": [str(self.next_id)],
                "public_metrics": {"retweet_count": 1, "reply_count": 2, "like_count": 3, "quote_count": 0}}
        self.posts.append(post)
        if mentions:
            self.mentions_of.setdefault(mentions, []).append(post["id"])
        return post

    def problem(self, status: int, title: str, detail: str) -> web.Response:
        return web.json_response({"title": title, "type": "about:blank", "status": status, "detail": detail},
                                 status=status)

    def _answer(self, request: web.Request, posts: list[dict[str, Any]], lowest: int, token_name: str) -> web.Response:
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.tokens:
            return self.problem(401, "Unauthorized", "Unauthorized")
        size = int(request.query.get("max_results", "10"))
        if not lowest <= size <= 100:
            return web.json_response({"errors": [{"parameters": {"max_results": [str(size)]},
                                                  "message": f"The `max_results` query parameter value [{size}] is not "
                                                             f"between {lowest} and 100"}],
                                      "title": "Invalid Request", "detail": "One or more parameters to your request "
                                      "was invalid.", "type": "https://api.twitter.com/2/problems/invalid-request"},
                                     status=400)
        posts = sorted(posts, key=lambda p: int(p["id"]), reverse=True)
        if "since_id" in request.query:
            posts = [p for p in posts if int(p["id"]) > int(request.query["since_id"])]
        start = int(request.query[token_name][1:]) if token_name in request.query else 0
        page = posts[start:start + size]
        if not page:
            return web.json_response({"meta": {"result_count": 0}})
        meta: dict[str, Any] = {"newest_id": page[0]["id"], "oldest_id": page[-1]["id"], "result_count": len(page)}
        if start + size < len(posts):
            meta["next_token"] = f"t{start + size}"
        body: dict[str, Any] = {"data": page, "meta": meta}
        self.billed += len(page) * self.price_post
        if "author_id" in request.query.get("expansions", ""):
            users = list({p["author_id"]: self.users[p["author_id"]] for p in page}.values())
            body["includes"] = {"users": users}
            self.billed += len(users) * self.price_user
        return web.json_response(body)

    async def mentions(self, request: web.Request) -> web.Response:
        ids = set(self.mentions_of.get(request.match_info["id"], []))
        return self._answer(request, [p for p in self.posts if p["id"] in ids], 5, "pagination_token")

    async def search(self, request: web.Request) -> web.Response:
        words = [w for w in fold(request.query.get("query", "")).split() if ":" not in w and not w.startswith("-")]
        hits = [p for p in self.posts
                if all(re.search(r"(?<![\w@#])" + re.escape(w.strip('"')) + r"(?!\w)", fold(p["text"])) for w in words)]
        return self._answer(request, hits, 10, "next_token")
