"""A fake Reddit answering `.json` listings (`/search.json`, `/r/<sub>/new.json`) and the public Atom
feeds (`/search.rss`, `/r/<sub>/new/.rss`: entries with id = fullname, author `/u/name`, HTML content
ending with "submitted by /u/name [link] [comments]", `limit` up to 100, no paging).

Listings are `{"kind": "Listing", "data": {"after", "before", "dist", "modhash", "children": [{"kind": "t3",
"data": {...}}]}}`, newest first, `limit` (max 100, default 25), paged with `after=<fullname>`. Text is
HTML-escaped (`&amp;`) unless `raw_json=1`, as on reddit.com. A request without a descriptive
User-Agent gets 429 (Reddit's rule for generic clients). Rate-limit headers: x-ratelimit-used /
-remaining / -reset (seconds until the window ends).
"""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from listener.textfold import fold
from tests.fakes import FakeServer

T0 = datetime(2026, 11, 17, 8, 0, tzinfo=UTC)
GENERIC_AGENTS = ("python", "aiohttp", "curl", "requests")


class FakeReddit(FakeServer):
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        super().__init__()

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/search.json", self.search), web.get("/r/{sub}/new.json", self.subreddit_new),
                web.get("/search.rss", self.search_rss), web.get("/r/{sub}/new/.rss", self.subreddit_rss)]

    def limit_headers(self) -> dict[str, str]:
        return {"x-ratelimit-used": "1", "x-ratelimit-remaining": "99.0", "x-ratelimit-reset": "300"}

    def rate_limited_headers(self, retry_after: float) -> dict[str, str]:
        return {"x-ratelimit-used": "100", "x-ratelimit-remaining": "0.0", "x-ratelimit-reset": f"{retry_after:g}"}

    def add_post(self, title: str, selftext: str = "", *, subreddit: str = "rivebelle",
                 at: datetime | None = None) -> dict[str, Any]:
        n = len(self.items) + 1
        base36 = ""
        value = 1_000_000 + n
        while value:
            value, digit = divmod(value, 36)
            base36 = "0123456789abcdefghijklmnopqrstuvwxyz"[digit] + base36
        created = at or T0 + timedelta(seconds=30 * n)
        data = {
            "id": base36, "name": f"t3_{base36}", "title": title, "selftext": selftext,
            "author": f"habitant{n % 7}", "subreddit": subreddit, "subreddit_name_prefixed": f"r/{subreddit}",
            "created_utc": created.timestamp(), "created": created.timestamp(),
            "permalink": f"/r/{subreddit}/comments/{base36}/post_{n}/", "url": f"https://www.reddit.com/r/{subreddit}/comments/{base36}/",
            "score": 4, "ups": 4, "num_comments": 2, "over_18": False, "is_self": True,
        }
        self.items.append({"kind": "t3", "data": data})
        return data

    def _listing(self, request: web.Request, items: list[dict[str, Any]]) -> web.Response:
        agent = request.headers.get("User-Agent", "").lower()
        if not agent or any(agent.startswith(g) for g in GENERIC_AGENTS):
            return web.json_response({"message": "Too Many Requests", "error": 429}, status=429)
        try:
            limit = min(int(request.query.get("limit", "25")), 100)
        except ValueError:
            limit = 25
        items = sorted(items, key=lambda i: i["data"]["created_utc"], reverse=True)
        if "after" in request.query:
            names = [i["data"]["name"] for i in items]
            after = request.query["after"]
            items = items[names.index(after) + 1:] if after in names else []
        page = items[:limit]
        raw = request.query.get("raw_json") == "1"
        children = []
        for item in page:
            data = dict(item["data"])
            if not raw:
                data["title"], data["selftext"] = html.escape(data["title"], quote=False), html.escape(data["selftext"], quote=False)
            children.append({"kind": item["kind"], "data": data})
        after_name = page[-1]["data"]["name"] if len(page) == limit and len(items) > limit else None
        return web.json_response({"kind": "Listing", "data": {
            "after": after_name, "dist": len(children), "modhash": "", "geo_filter": "", "children": children,
            "before": None}})

    async def search(self, request: web.Request) -> web.Response:
        q = fold(request.query.get("q", ""))
        hits = [i for i in self.items if all(w in fold(i["data"]["title"] + " " + i["data"]["selftext"]) for w in q.split())]
        return self._listing(request, hits)

    async def subreddit_new(self, request: web.Request) -> web.Response:
        sub = request.match_info["sub"].lower()
        return self._listing(request, [i for i in self.items if i["data"]["subreddit"].lower() == sub])

    def _atom(self, request: web.Request, items: list[dict[str, Any]], feed_id: str) -> web.Response:
        agent = request.headers.get("User-Agent", "").lower()
        if not agent or any(agent.startswith(g) for g in GENERIC_AGENTS):
            return web.Response(text="Too Many Requests", status=429)
        limit = min(int(request.query.get("limit", "25")), 100)
        items = sorted(items, key=lambda i: i["data"]["created_utc"], reverse=True)[:limit]
        entries = []
        for item in items:
            data = item["data"]
            at = datetime.fromtimestamp(data["created_utc"], UTC).isoformat()
            body = (f"<!-- SC_OFF --><div class=\"md\"><p>{html.escape(data['selftext'])}</p></div><!-- SC_ON --> "
                    f"&#32; submitted by &#32; <a href=\"https://www.reddit.com/user/{data['author']}\"> "
                    f"/u/{data['author']} </a> <br/> <span><a href=\"{data['url']}\">[link]</a></span>")
            entries.append(
                f"<entry><author><name>/u/{data['author']}</name><uri>https://www.reddit.com/user/{data['author']}</uri>"
                f"</author><category term=\"{data['subreddit']}\" label=\"r/{data['subreddit']}\"/>"
                f"<content type=\"html\">{html.escape(body)}</content><id>{data['name']}</id>"
                f"<link href=\"https://www.reddit.com{data['permalink']}\" /><updated>{at}</updated>"
                f"<published>{at}</published><title>{html.escape(data['title'])}</title></entry>")
        feed = ('<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom" '
                f'xmlns:media="http://search.yahoo.com/mrss/"><id>{feed_id}</id><title>reddit</title>'
                f'<updated>{T0.isoformat()}</updated>{"".join(entries)}</feed>')
        return web.Response(text=feed, content_type="application/atom+xml")

    async def search_rss(self, request: web.Request) -> web.Response:
        q = fold(request.query.get("q", ""))
        hits = [i for i in self.items if all(w in fold(i["data"]["title"] + " " + i["data"]["selftext"]) for w in q.split())]
        return self._atom(request, hits, "/search.rss")

    async def subreddit_rss(self, request: web.Request) -> web.Response:
        sub = request.match_info["sub"].lower()
        return self._atom(request, [i for i in self.items if i["data"]["subreddit"].lower() == sub], f"/r/{sub}/new/.rss")
