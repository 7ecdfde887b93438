"""A fake Mastodon instance: tag and public timelines, notifications, as the API documentation says.

Paging: `limit` (default 20, max 40), `max_id` (older than), `since_id` (newer than, newest page),
`min_id` (immediately newer than, i.e. paging forward); results are always newest first and carry a
`Link` header with `rel="next"` (max_id = oldest in page) and `rel="prev"` (min_id = newest in page).
Every answer has `X-RateLimit-Limit/Remaining/Reset` (ISO time). Notifications need the bearer token.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from yarl import URL

from tests.fakes import FakeServer

T0 = datetime(2026, 11, 17, 8, 0, tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


class FakeMastodon(FakeServer):
    def __init__(self, token: str = "secret-token") -> None:
        self.statuses: list[dict[str, Any]] = []
        self.notifications: list[dict[str, Any]] = []
        self.token = token
        self.next_id = 109_000_000_000_000_000
        self.remaining = 300
        # A server bug to reproduce: min_id answered inclusively (the cursor status comes back again).
        self.inclusive_min_id = False
        super().__init__()

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/api/v1/timelines/tag/{hashtag}", self.tag_timeline),
            web.get("/api/v1/timelines/public", self.public_timeline),
            web.get("/api/v1/notifications", self.notifications_list),
        ]

    def limit_headers(self) -> dict[str, str]:
        self.remaining = max(0, self.remaining - 1)
        return {
            "X-RateLimit-Limit": "300",
            "X-RateLimit-Remaining": str(max(self.remaining, 1)),
            "X-RateLimit-Reset": _iso(datetime.now(UTC) + timedelta(minutes=5)),
        }

    def rate_limited_headers(self, retry_after: float) -> dict[str, str]:
        reset = datetime.now(UTC) + timedelta(seconds=retry_after)
        return {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset.isoformat()}

    # -- data -------------------------------------------------------------------------------------

    def add_status(
        self,
        text: str,
        *,
        tags: list[str] = (),  # type: ignore[assignment]
        lang: str | None = "fr",
        created_at: datetime | None = None,
        local: bool = True,
        acct: str = "habitant@rivebelle.social",
        content_html: str | None = None,
        spoiler: str = "",
    ) -> dict[str, Any]:
        self.next_id += 1000 + len(self.statuses)
        sid = str(self.next_id)
        tag_links = " ".join(
            f'<a href="https://rivebelle.social/tags/{t}" class="mention hashtag" rel="tag">#<span>{t}</span></a>'
            for t in tags
        )
        content = content_html if content_html is not None else f"<p>{html.escape(text)} {tag_links}</p>".replace(" </p>", "</p>")
        status = {
            "id": sid,
            "uri": f"https://rivebelle.social/users/habitant/statuses/{sid}",
            "url": f"https://rivebelle.social/@habitant/{sid}",
            "created_at": _iso(created_at or T0 + timedelta(seconds=len(self.statuses) * 10)),
            "account": {
                "id": "1",
                "username": acct.split("@")[0],
                "acct": acct,
                "display_name": "Un habitant",
                "followers_count": 42,
            },
            "content": content,
            "spoiler_text": spoiler,
            "visibility": "public",
            "sensitive": False,
            "language": lang,
            "replies_count": 1,
            "reblogs_count": 2,
            "favourites_count": 3,
            "reblog": None,
            "tags": [{"name": t.lower(), "url": f"https://rivebelle.social/tags/{t.lower()}"} for t in tags],
            "mentions": [],
            "media_attachments": [],
            "_local": local,
        }
        self.statuses.append(status)
        return status

    def mention_institution(self, text: str) -> dict[str, Any]:
        status = self.add_status(f"@villederivebelle {text}")
        self.next_id += 1
        notification = {
            "id": str(len(self.notifications) + 1),
            "type": "mention",
            "created_at": status["created_at"],
            "account": status["account"],
            "status": status,
        }
        self.notifications.append(notification)
        return notification

    # -- paging as the API does -------------------------------------------------------------------

    def _page(self, request: web.Request, items: list[dict[str, Any]]) -> web.Response:
        try:
            limit = min(int(request.query.get("limit", "20")), 40)
        except ValueError:
            return web.json_response({"error": "limit must be an integer"}, status=422)
        key = lambda item: int(item["id"])  # noqa: E731
        items = sorted(items, key=key, reverse=True)
        if "max_id" in request.query:
            items = [i for i in items if key(i) < int(request.query["max_id"])]
        if "since_id" in request.query:
            items = [i for i in items if key(i) > int(request.query["since_id"])]
        if "min_id" in request.query:
            floor = int(request.query["min_id"])
            newer = [i for i in items if key(i) > floor or (self.inclusive_min_id and key(i) == floor)]
            page = sorted(newer, key=key)[:limit]  # immediately newer than min_id
            page.sort(key=key, reverse=True)
        else:
            page = items[:limit]
        body = [{k: v for k, v in item.items() if not k.startswith("_")} for item in page]
        headers = {}
        if page:
            base = URL(str(request.url)).with_query(None)
            keep = {k: v for k, v in request.query.items() if k not in ("max_id", "min_id", "since_id")}
            next_url = base.with_query({**keep, "max_id": page[-1]["id"]})
            prev_url = base.with_query({**keep, "min_id": page[0]["id"]})
            headers["Link"] = f'<{next_url}>; rel="next", <{prev_url}>; rel="prev"'
        return web.json_response(body, headers=headers)

    async def tag_timeline(self, request: web.Request) -> web.Response:
        tag = request.match_info["hashtag"].lower()
        items = [s for s in self.statuses if any(t["name"] == tag for t in s["tags"])]
        if request.query.get("local") in ("true", "1"):
            items = [s for s in items if s["_local"]]
        return self._page(request, items)

    async def public_timeline(self, request: web.Request) -> web.Response:
        items = list(self.statuses)
        if request.query.get("local") in ("true", "1"):
            items = [s for s in items if s["_local"]]
        return self._page(request, items)

    async def notifications_list(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response({"error": "The access token is invalid"}, status=401)
        types = request.query.getall("types[]", [])
        items = [n for n in self.notifications if not types or n["type"] in types]
        return self._page(request, items)
