"""A fake YouTube Data API v3: `commentThreads` and `search`, with the documented quota and errors.

- `GET /commentThreads?part=snippet,replies&allThreadsRelatedToChannelId&order=time&maxResults(1-100)
  &pageToken&textFormat&key`: `{"kind": "youtube#commentThreadListResponse", "nextPageToken"?,
  "pageInfo": {"totalResults", "resultsPerPage"}, "items": [commentThread...]}`, newest first.
- `GET /search?part=snippet&type=video&q&order=date&publishedAfter&maxResults(0-50)&pageToken&key`.
- Quota: each request costs its method's units (commentThreads 1, search 100) out of `daily_quota`;
  beyond, 403 with reason `quotaExceeded` (domain youtube.quota).
- Errors: `{"error": {"code", "message", "errors": [{"message", "domain", "reason"}]}}`; an unknown key
  gets 400 `keyInvalid` ("API key not valid. Please pass a valid API key.").
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from listener.textfold import fold
from tests.fakes import FakeServer

T0 = datetime(2026, 11, 17, 8, 0, tzinfo=UTC)
COST = {"/commentThreads": 1, "/search": 100}


def yt_iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


class FakeYoutube(FakeServer):
    def __init__(self, key: str = "yt-key", daily_quota: int = 10_000) -> None:
        self.keys = {key}
        self.daily_quota = daily_quota
        self.spent = 0
        self.threads: list[dict[str, Any]] = []
        self.videos: list[dict[str, Any]] = []
        self.n = 0
        super().__init__()

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/commentThreads", self.comment_threads), web.get("/search", self.search)]

    @staticmethod
    def error(status: int, reason: str, message: str, domain: str = "global") -> web.Response:
        return web.json_response({"error": {"code": status, "message": message,
                                            "errors": [{"message": message, "domain": domain, "reason": reason}]}},
                                 status=status)

    def add_comment(self, channel: str, text: str, when: datetime, *, video: str = "vid00000001",
                    author: str = "Habitant", author_channel: str = "UCauthor", replies: list[dict] | None = None):
        self.n += 1
        comment = {"kind": "youtube#comment", "etag": f"e{self.n}", "id": f"Ugz{self.n:08d}",
                   "snippet": {"channelId": channel, "videoId": video, "textDisplay": text, "textOriginal": text,
                               "authorDisplayName": f"@{author}", "authorChannelUrl": f"http://www.youtube.com/@{author}",
                               "authorChannelId": {"value": author_channel}, "canRate": True, "viewerRating": "none",
                               "likeCount": 2, "publishedAt": yt_iso(when), "updatedAt": yt_iso(when)}}
        thread = {"kind": "youtube#commentThread", "etag": f"t{self.n}", "id": comment["id"],
                  "snippet": {"channelId": channel, "videoId": video, "topLevelComment": comment, "canReply": True,
                              "totalReplyCount": len(replies or []), "isPublic": True}}
        if replies:
            thread["replies"] = {"comments": replies}
        self.threads.append(thread)
        return thread

    def reply(self, parent: str, text: str, when: datetime, *, author: str = "Voisin",
              author_channel: str = "UCvoisin") -> dict[str, Any]:
        self.n += 1
        return {"kind": "youtube#comment", "id": f"{parent}.r{self.n}",
                "snippet": {"textDisplay": text, "textOriginal": text, "parentId": parent,
                            "authorDisplayName": f"@{author}", "authorChannelId": {"value": author_channel},
                            "likeCount": 0, "publishedAt": yt_iso(when), "updatedAt": yt_iso(when)}}

    def add_video(self, title: str, description: str, when: datetime, channel: str = "UCpresse") -> dict[str, Any]:
        self.n += 1
        video = {"kind": "youtube#searchResult", "etag": f"v{self.n}", "id": {"kind": "youtube#video",
                                                                             "videoId": f"v{self.n:010d}"},
                 "snippet": {"publishedAt": yt_iso(when), "channelId": channel, "title": title,
                             "description": description, "channelTitle": "Télé locale", "liveBroadcastContent": "none"}}
        self.videos.append(video)
        return video

    def _guard(self, request: web.Request) -> web.Response | None:
        if request.query.get("key") not in self.keys:
            return self.error(400, "keyInvalid", "API key not valid. Please pass a valid API key.")
        cost = COST[request.path]
        if self.spent + cost > self.daily_quota:
            return self.error(403, "quotaExceeded", "The request cannot be completed because you have exceeded "
                              "your <a href=\"/youtube/v3/getting-started#quota\">quota</a>.", "youtube.quota")
        self.spent += cost
        return None

    def _page(self, request: web.Request, items: list[dict[str, Any]], kind: str, most: int) -> web.Response:
        try:
            size = int(request.query.get("maxResults", "5" if kind == "search" else "20"))
        except ValueError:
            return self.error(400, "invalidParameter", "Invalid value for parameter maxResults")
        if not 1 <= size <= most:
            return self.error(400, "invalidParameter", f"maxResults must be between 1 and {most}")
        start = int(request.query["pageToken"][1:]) if "pageToken" in request.query else 0
        page = items[start:start + size]
        body: dict[str, Any] = {"kind": f"youtube#{kind}ListResponse", "etag": "x",
                                "pageInfo": {"totalResults": len(items), "resultsPerPage": size}, "items": page}
        if start + size < len(items):
            body["nextPageToken"] = f"P{start + size}"
        return web.json_response(body)

    async def comment_threads(self, request: web.Request) -> web.Response:
        refused = self._guard(request)
        if refused is not None:
            return refused
        channel = request.query.get("allThreadsRelatedToChannelId")
        if not channel or "snippet" not in request.query.get("part", ""):
            return self.error(400, "missingRequiredParameter", "No filter selected.")
        items = sorted((t for t in self.threads if t["snippet"]["channelId"] == channel),
                       key=lambda t: t["snippet"]["topLevelComment"]["snippet"]["publishedAt"], reverse=True)
        return self._page(request, items, "commentThread", 100)

    async def search(self, request: web.Request) -> web.Response:
        refused = self._guard(request)
        if refused is not None:
            return refused
        q = fold(request.query.get("q", ""))
        items = [v for v in self.videos if q in fold(v["snippet"]["title"] + " " + v["snippet"]["description"])]
        if "publishedAfter" in request.query:
            items = [v for v in items if v["snippet"]["publishedAt"] >= request.query["publishedAfter"]]
        items.sort(key=lambda v: v["snippet"]["publishedAt"], reverse=True)
        return self._page(request, items, "search", 50)
