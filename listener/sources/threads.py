"""Threads collector: keyword search and replies to the institution's posts (Threads API).

- Search: `/keyword_search?q&search_type=RECENT&fields&since&limit`, newest first, paged with `after`,
  read with the shared backward pager (time floor = stored high-water mark minus an overlap).
  Threads allows 2,200 queries per user per rolling 24 hours (across every app of that user; a query
  that returns nothing is free). The collector keeps the times of its counted queries in its cursor,
  never sends one beyond `daily_query_budget`, and shows `search_budget` in health.
- Replies: the account's recent posts (`/me/threads`), then `/{media-id}/conversation` (every reply,
  nested ones too) for each of the last `watched_posts`; the account's own replies are not mentions.
- Token: a long-lived Threads token (60 days) is renewed with `GET /refresh_access_token?grant_type=
  th_refresh_token` once a day while the daemon runs; a refused token (code 190) pauses the source.
"""

from __future__ import annotations

import time
from typing import Any, Literal

from pydantic import Field

from listener.models import Mention
from listener.sources.base import MentionSink, SourceContext, SourcePlugin
from listener.sources.graph import GraphSource, GraphSourceSettings, graph_time
from listener.sources.http import FetchError, run_streams

FIELDS = "id,text,media_type,permalink,timestamp,username,has_replies,is_reply,is_quote_post"
DAILY_QUERY_LIMIT = 2200
WINDOW = 86400


class ThreadsSourceSettings(GraphSourceSettings):
    type: Literal["threads"] = "threads"
    # Threads API host and version (tests point it at a fake).
    base_url: str = "https://graph.threads.net/v1.0"
    # Keyword searches (search_type=RECENT), each a stream.
    queries: list[str] = Field(default_factory=list)
    # Search queries sent per rolling 24 hours at most (Threads allows 2,200 per user, all apps together).
    daily_query_budget: int = Field(default=2000, ge=0, le=DAILY_QUERY_LIMIT)
    # Replies are read on this many of the account's most recent posts (0: no replies).
    watched_posts: int = Field(default=10, ge=0)
    # Renew the long-lived token every this many seconds while running (0: never).
    token_refresh_seconds: float = Field(default=86400.0, ge=0)
    # Seconds between two polls (keep queries x polls per day under the budget).
    poll_interval: float = Field(default=300.0, gt=0)


class ThreadsSource(GraphSource):
    type = "threads"
    settings: ThreadsSourceSettings

    def __init__(self, settings: ThreadsSourceSettings, context: SourceContext) -> None:
        super().__init__(settings, context)
        self._refreshed_at = 0.0
        self.health.extra["search_budget"] = {"used": 0, "limit": settings.daily_query_budget, "window_hours": 24,
                                              "exhausted": False}

    async def poll(self, sink: MentionSink) -> None:
        await self._refresh_token()
        streams: list[tuple[str, Any]] = [(f"q:{q}", lambda q=q: self._search(sink, q)) for q in self.settings.queries]
        if self.settings.watched_posts:
            streams.append(("replies", lambda: self._replies(sink)))
        await run_streams(self, streams)

    async def _refresh_token(self) -> None:
        every = self.settings.token_refresh_seconds
        if not every or not self.token or time.monotonic() - self._refreshed_at < every and self._refreshed_at:
            return
        self._refreshed_at = time.monotonic()
        url = self.base.rsplit("/v", 1)[0] + "/refresh_access_token"
        try:
            fetched = await self.fetch(url, {"grant_type": "th_refresh_token", "access_token": self.token})
            token = fetched.json().get("access_token")
        except (FetchError, AttributeError) as exc:
            self.log.info("%s: token not renewed (%s)", self.name, exc)  # too young, or already refused
            return
        if isinstance(token, str) and token:
            self.token = token
            self.health.extra["token_renewed_at"] = round(time.time())

    # -- search within the daily query budget ---------------------------------------------------

    def _queries_counted(self) -> list[float]:
        now = self.context.clock.now().timestamp()
        counted = [t for t in self.cursors.get("search_calls") or [] if now - t < WINDOW]
        self.cursors["search_calls"] = counted
        return counted

    async def _search(self, sink: MentionSink, query: str) -> None:
        budget = self.health.extra["search_budget"]

        async def fetch_page(token: str | None, floor: float | None) -> tuple[list[Any], str | None]:
            counted = self._queries_counted()
            if len(counted) >= self.settings.daily_query_budget:
                budget.update(used=len(counted), exhausted=True)
                raise FetchError(f"daily Threads query budget spent ({len(counted)}/"
                                 f"{self.settings.daily_query_budget} in 24 h)", retryable=False, kind="quota")
            params = {"q": query, "search_type": "RECENT", "fields": FIELDS}
            if floor is not None:
                params["since"] = str(int(floor))
            items, following = await self.edge_page("/keyword_search", params, token)
            if items:  # a query that finds nothing does not count
                counted.append(self.context.clock.now().timestamp())
            budget.update(used=len(counted), exhausted=False)
            return items, following

        try:
            await self.page_backwards(sink, f"q:{query}", fetch_page, _time, lambda items: self._mentions(
                items, [query], None), self.settings.overlap_seconds)
        except FetchError as exc:
            if exc.kind != "quota":
                raise
            self.log.info("%s: %s; %r waits", self.name, exc, query)
            await self.emit(sink, [])  # the counted queries are stored even if nothing else is

    # -- replies to the account's posts -----------------------------------------------------------

    async def _replies(self, sink: MentionSink) -> None:
        posts, _ = await self.edge_page("/me/threads", {"fields": FIELDS}, None)
        posts = [p for p in posts if isinstance(p, dict) and isinstance(p.get("id"), str)][: self.settings.watched_posts]
        own = {p.get("username") for p in posts if p.get("username")}
        ids = {p["id"] for p in posts}
        for key in [k for k in self.cursors if k.startswith("replies:") and k[8:] not in ids]:
            self.cursors.pop(key)
        for post in posts:
            path = f"/{post['id']}/conversation"

            async def fetch_page(token: str | None, floor: float | None, path: str = path):
                return await self.edge_page(path, {"fields": FIELDS, "reverse": "false"}, token)

            await self.page_backwards(sink, f"replies:{post['id']}", fetch_page, _time,
                                      lambda items: self._mentions(items, ["threads:réponse"], own),
                                      self.settings.overlap_seconds, initial_pages=self.settings.max_pages)

    # -- items -----------------------------------------------------------------------------------

    def _mentions(self, items: list[Any], matched: list[str], own: set[str] | None) -> list[Mention]:
        mentions = []
        for item in items:
            try:
                if own and item.get("username") in own:
                    continue
                text = (item.get("text") or "").strip()
                if not text:
                    continue
                created = graph_time(item.get("timestamp"))
                if created is None:
                    self.log.warning("%s: %s skipped: unreadable timestamp %r", self.name, item.get("id"),
                                     item.get("timestamp"))
                    self.context.store.reject(self.name, "undated Threads post", item)
                    continue
                username = item.get("username")
                mention = Mention(
                    source=self.name,
                    external_id=str(item["id"]),
                    text=text,
                    created_at=created,
                    url=item.get("permalink"),
                    author_handle=f"@{username}" if username else None,
                    matched=list(matched),
                )
                mentions.append(self.finish(mention, item))
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                self.context.metrics.invalid_payloads.labels(source=self.name).inc()
                self.log.warning("%s: item skipped (%s: %s)", self.name, type(exc).__name__, exc)
                self.context.store.reject(self.name, f"invalid Threads post: {type(exc).__name__}: {exc}", item)
        return mentions


def _time(item: Any) -> float | None:
    moment = graph_time(item.get("timestamp")) if isinstance(item, dict) else None
    return moment.timestamp() if moment else None


EXAMPLE = """
[[sources]]
name = "threads-ville"
type = "threads"
enabled = false                    # activer une fois le jeton Threads en place
base_url = "https://graph.threads.net/v1.0"
token_env = "VIGIE_THREADS_TOKEN"  # jeton longue durée (renouvelé chaque jour)
queries = ["Ma Ville"]
daily_query_budget = 2000          # Threads permet 2 200 recherches par 24 h
watched_posts = 10                 # réponses aux 10 dernières publications du compte
"""

PLUGIN = SourcePlugin(
    type="threads",
    description="Threads : recherche par mots-clés (2 200 requêtes par 24 h) et réponses aux publications du compte.",
    settings=ThreadsSourceSettings,
    example=EXAMPLE,
    create=ThreadsSource,
)
