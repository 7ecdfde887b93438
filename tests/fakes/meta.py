"""A fake of Meta's Graph APIs (Facebook Pages, Instagram Graph API, Threads API), as documented.

- Edges: `{"data": [...], "paging": {"cursors": {"before", "after"}, "next"?, "previous"?}}`, newest
  first, `limit` (default 25, at most 100), `after` / `before` opaque cursors (base64 here), `since` /
  `until` (unix seconds) on the item's date; `fields` is accepted (every field is returned).
- Token: `Authorization: Bearer <token>` or `access_token=`; an unknown token gets 400
  `{"error": {"message", "type": "OAuthException", "code": 190, "error_subcode": 463, "fbtrace_id"}}`.
- Usage: every answer carries `X-App-Usage` and `X-Business-Use-Case-Usage` (JSON percentages);
  `throttle()` makes the next answers 400 code 80001 ("There have been too many calls to this Page
  account") with `estimated_time_to_regain_access` in the BUC header (minutes, 0 = retry soon).
- Instagram: `/ig_hashtag_search?user_id&q` -> `{"data": [{"id"}]}`, at most 30 unique hashtags per
  rolling 7 days (code 24 subcode 2207051 beyond, as the docs' limit says); `/{hashtag-id}/recent_media`.
- Threads: `/keyword_search?q&search_type` (a query with results counts against 2,200 per 24 hours;
  beyond: code 4 "Application request limit reached"), `/me/threads`, `/{media-id}/conversation`,
  `/refresh_access_token?grant_type=th_refresh_token`.
"""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from listener.textfold import fold
from tests.fakes import FakeServer

T0 = datetime(2026, 11, 17, 8, 0, tzinfo=UTC)


def graph_iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S+0000")


def _cursor(offset: int) -> str:
    return base64.b64encode(f"offset:{offset}".encode()).decode()


def _offset(cursor: str) -> int:
    return int(base64.b64decode(cursor.encode()).decode().split(":")[1])


class FakeMeta(FakeServer):
    def __init__(self, token: str = "page-token") -> None:
        self.tokens = {token}
        self.edges: dict[str, list[dict[str, Any]]] = {}
        self.time_field: dict[str, str] = {}
        self.hashtags: dict[str, str] = {}
        self.hashtag_queries: dict[str, float] = {}  # name -> first query time (7-day window)
        self.keyword_queries: list[float] = []
        self.keyword_limit = 2200
        self.throttled = 0
        self.regain_minutes = 0
        self.call_count = 5
        self.refreshed: list[str] = []
        self.next_id = 1000
        super().__init__()

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/{tail:.*}", self.dispatch)]

    # -- data -------------------------------------------------------------------------------------

    def new_id(self) -> str:
        self.next_id += 1
        return str(self.next_id)

    def add(self, edge: str, item: dict[str, Any], time_field: str = "created_time") -> dict[str, Any]:
        self.time_field[edge] = time_field
        self.edges.setdefault(edge, []).append(item)
        return item

    def fb_post(self, page: str, text: str, at: datetime, *, author: tuple[str, str] | None = None,
                edge: str = "feed") -> dict[str, Any]:
        post_id = f"{page}_{self.new_id()}"
        who = {"id": author[0], "name": author[1]} if author else {"id": page, "name": "Ville de Rivebelle"}
        return self.add(f"/{page}/{edge}", {"id": post_id, "message": text, "created_time": graph_iso(at),
                                            "permalink_url": f"https://www.facebook.com/{post_id}", "from": who})

    def fb_comment(self, post_id: str, text: str, at: datetime, *, author: tuple[str, str] = ("42", "Habitante"),
                   parent: str | None = None) -> dict[str, Any]:
        comment_id = f"{post_id.split('_')[-1]}_{self.new_id()}"
        item = {"id": comment_id, "message": text, "created_time": graph_iso(at),
                "permalink_url": f"https://www.facebook.com/{comment_id}", "from": {"id": author[0], "name": author[1]},
                "like_count": 1, "comment_count": 0}
        if parent:
            item["parent"] = {"id": parent}
        return self.add(f"/{post_id}/comments", item)

    def ig_media(self, edge: str, caption: str, at: datetime, *, username: str | None = "habitant") -> dict[str, Any]:
        media_id = "1789" + self.new_id()
        item = {"id": media_id, "caption": caption, "timestamp": graph_iso(at), "media_type": "IMAGE",
                "permalink": f"https://www.instagram.com/p/{media_id}/", "like_count": 3, "comments_count": 1}
        if username:
            item["username"] = username
        return self.add(edge, item, "timestamp")

    def ig_comment(self, media_id: str, text: str, at: datetime, *, username: str = "habitante",
                   replies: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        item = {"id": "1790" + self.new_id(), "text": text, "timestamp": graph_iso(at), "username": username,
                "like_count": 2}
        if replies:
            item["replies"] = {"data": replies}
        return self.add(f"/{media_id}/comments", item, "timestamp")

    def threads_post(self, edge: str, text: str, at: datetime, *, username: str = "habitant") -> dict[str, Any]:
        media_id = "1801" + self.new_id()
        return self.add(edge, {"id": media_id, "text": text, "timestamp": graph_iso(at), "media_type": "TEXT",
                               "permalink": f"https://www.threads.net/@{username}/post/{media_id}",
                               "username": username, "has_replies": False, "is_reply": edge.endswith("conversation")},
                        "timestamp")

    # -- protocol ---------------------------------------------------------------------------------

    def limit_headers(self) -> dict[str, str]:
        usage = {"call_count": self.call_count, "total_cputime": 1, "total_time": 1}
        buc = {"1234": [{"type": "pages", "call_count": self.call_count, "total_cputime": 1, "total_time": 1,
                         "estimated_time_to_regain_access": self.regain_minutes}]}
        return {"X-App-Usage": json.dumps(usage), "X-Business-Use-Case-Usage": json.dumps(buc)}

    @staticmethod
    def error(status: int, code: int, message: str, subcode: int | None = None,
              kind: str = "OAuthException") -> web.Response:
        body: dict[str, Any] = {"message": message, "type": kind, "code": code, "fbtrace_id": "AbCdEfGh123"}
        if subcode is not None:
            body["error_subcode"] = subcode
        return web.json_response({"error": body}, status=status)

    def _token(self, request: web.Request) -> str | None:
        auth = request.headers.get("Authorization", "")
        if auth.startswith(("Bearer ", "OAuth ")):
            return auth.split(" ", 1)[1]
        return request.query.get("access_token")

    def _page(self, request: web.Request, items: list[dict[str, Any]], field: str) -> web.Response:
        query = request.query
        try:
            limit = int(query.get("limit", "25"))
        except ValueError:
            return self.error(400, 100, "(#100) Param limit must be a number")
        limit = max(1, min(limit, 100))
        items = sorted(items, key=lambda i: i[field], reverse=True)
        if "since" in query:
            since = datetime.fromtimestamp(int(query["since"]), UTC)
            items = [i for i in items if datetime.strptime(i[field], "%Y-%m-%dT%H:%M:%S%z") >= since]
        if "until" in query:
            until = datetime.fromtimestamp(int(query["until"]), UTC)
            items = [i for i in items if datetime.strptime(i[field], "%Y-%m-%dT%H:%M:%S%z") < until]
        start = _offset(query["after"]) if "after" in query else 0
        page = items[start:start + limit]
        body: dict[str, Any] = {"data": page}
        if page:
            paging: dict[str, Any] = {"cursors": {"before": _cursor(start), "after": _cursor(start + len(page))}}
            base = f"{self.url}{request.path}?limit={limit}"
            if start + limit < len(items):
                paging["next"] = f"{base}&after={_cursor(start + len(page))}"
            if start:
                paging["previous"] = f"{base}&before={_cursor(start)}"
            body["paging"] = paging
        return web.json_response(body)

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["tail"]
        if path == "/refresh_access_token":
            old = request.query.get("access_token")
            if old not in self.tokens or request.query.get("grant_type") != "th_refresh_token":
                return self.error(400, 190, "Error validating access token", 463)
            new = f"{old}-r{len(self.refreshed) + 1}"
            self.tokens.add(new)
            self.refreshed.append(new)
            return web.json_response({"access_token": new, "token_type": "bearer", "expires_in": 5183944})
        if self._token(request) not in self.tokens:
            return self.error(400, 190, "Error validating access token: Session has expired.", 463)
        if self.throttled:
            self.throttled -= 1
            return self.error(400, 80001, "There have been too many calls to this Page account. Wait a bit and try again.")
        if path == "/ig_hashtag_search":
            return self._hashtag_search(request)
        if path == "/keyword_search":
            return self._keyword_search(request)
        if path in self.edges:
            return self._page(request, self.edges[path], self.time_field[path])
        if path.endswith(("/comments", "/tags", "/media", "/feed", "/tagged", "/conversation", "/threads",
                          "/recent_media")):
            return web.json_response({"data": []})
        return self.error(400, 100, f"Unsupported get request. Object with ID '{path.strip('/')}' does not exist",
                          33, "GraphMethodException")

    def _hashtag_search(self, request: web.Request) -> web.Response:
        name = fold(request.query.get("q", "")).lstrip("#")
        if not request.query.get("user_id") or not name:
            return self.error(400, 100, "(#100) The parameter user_id is required")
        now = time.time()
        self.hashtag_queries = {k: t for k, t in self.hashtag_queries.items() if now - t < 7 * 86400}
        if name not in self.hashtag_queries:
            if len(self.hashtag_queries) >= 30:
                return self.error(400, 24, "(#24) You have reached the maximum number of hashtags you can query "
                                  "within a 7 day period", 2207051)
            self.hashtag_queries[name] = now
        hashtag_id = self.hashtags.setdefault(name, "178" + str(abs(hash(name)) % 10**14))
        return web.json_response({"data": [{"id": hashtag_id}]})

    def _keyword_search(self, request: web.Request) -> web.Response:
        q = fold(request.query.get("q", ""))
        if not q:
            return self.error(400, 100, "(#100) The parameter q is required")
        hits = [i for i in self.edges.get("/keyword_search", []) if q in fold(i["text"])]
        now = time.time()
        self.keyword_queries = [t for t in self.keyword_queries if now - t < 86400]
        if hits:  # queries returning no results do not count against the limit
            if len(self.keyword_queries) >= self.keyword_limit:
                return self.error(400, 4, "Application request limit reached")
            self.keyword_queries.append(now)
        return self._page(request, hits, "timestamp")


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)
