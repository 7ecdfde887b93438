"""Bluesky search collector: polls `app.bsky.feed.searchPosts` on an AppView for each query.

Each query is a stream read newest first (`sort=latest`, `lang`, `since` = the stored high-water mark
minus an overlap, `limit`, then `cursor` page after page) with the shared backward pager, so a poll cut
by `max_pages` or a crash resumes from the stored page token. The time compared is the post's sort time
(the earlier of `indexedAt` and `record.createdAt`), as the AppView sorts and filters on it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from listener.models import Mention
from listener.settings_base import secret_from_env
from listener.sources.base import MentionSink, SourceContext
from listener.sources.http import FetchError, PollingSource, run_streams
from listener.sources.settings import BlueskySourceSettings
from listener.sources.text import Matcher
from listener.timeutil import parse_time

SEARCH = "/xrpc/app.bsky.feed.searchPosts"


def _time(value: Any) -> datetime | None:
    try:
        return parse_time(value) if isinstance(value, str) else None
    except (ValueError, OverflowError, OSError):
        return None


def _query_matcher(query: str) -> Matcher:
    """The terms of a search query, to say in `matched` which of them a post contains."""
    words = [w.strip('"()') for w in query.split()]
    words = [w for w in words if w and w not in ("AND", "OR", "NOT") and ":" not in w]
    return Matcher(keywords=[w for w in words if not w.startswith("#")], hashtags=[w for w in words if w.startswith("#")])


def sort_time(post: Any) -> float | None:
    if not isinstance(post, dict):
        return None
    indexed = _time(post.get("indexedAt"))
    record = post.get("record") if isinstance(post.get("record"), dict) else {}
    created = _time(record.get("createdAt"))
    times = [t for t in (indexed, created) if t is not None]
    return min(times).timestamp() if times else None


class BlueskySource(PollingSource):
    type = "bluesky"
    settings: BlueskySourceSettings

    def __init__(self, settings: BlueskySourceSettings, context: SourceContext) -> None:
        super().__init__(settings, context)
        self.base = settings.base_url.rstrip("/")
        self.token = secret_from_env(settings.token_env)
        self.matchers = {query: _query_matcher(query) for query in settings.queries}

    def request_headers(self) -> dict[str, str]:
        headers = super().request_headers()
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    async def poll(self, sink: MentionSink) -> None:
        await run_streams(self, [(f"q:{q}", lambda q=q: self._query(sink, q)) for q in self.settings.queries])

    async def _query(self, sink: MentionSink, query: str) -> None:
        async def fetch_page(token: str | None, floor: float | None) -> tuple[list[Any], str | None]:
            params: dict[str, str] = {"q": query, "sort": self.settings.sort, "limit": str(self.settings.page_size)}
            if self.settings.lang:
                params["lang"] = self.settings.lang
            if floor is not None:
                since = datetime.fromtimestamp(floor, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
                params["since"] = since[:-4] + "Z"  # milliseconds
            if token:
                params["cursor"] = token
            data = (await self.fetch(self.base + SEARCH, params)).json()
            if not isinstance(data, dict) or not isinstance(data.get("posts"), list):
                raise FetchError(f"{SEARCH}: no 'posts' array in the answer", retryable=False)
            cursor = data.get("cursor")
            return data["posts"], cursor if isinstance(cursor, str) and cursor else None

        await self.page_backwards(
            sink, f"q:{query}", fetch_page, sort_time,
            lambda posts: [m for m in (self._mention(p, query) for p in posts) if m is not None],
            self.settings.overlap_seconds,
        )

    def _mention(self, post: Any, query: str) -> Mention | None:
        try:
            record = post["record"]
            text = record.get("text") or ""
            if not text.strip():
                return None
            uri = post["uri"]
            author = post.get("author") or {}
            handle = author.get("handle") or author.get("did")
            indexed = _time(post.get("indexedAt")) or self.context.clock.now()
            created = _time(record.get("createdAt")) or indexed
            if created > indexed + timedelta(minutes=5):
                created = indexed  # a client clock in the future must not pollute future minute buckets
            langs = record.get("langs") or []
            lang = langs[0].split("-")[0].lower() if langs and isinstance(langs[0], str) else None
            tags = [f.get("tag", "") for facet in record.get("facets") or []
                    for f in facet.get("features") or [] if isinstance(f, dict)]
            matched = [query]
            for term in self.matchers[query].match(text, tags):
                if term not in matched:
                    matched.append(term)
            mention = Mention(
                source=self.name,
                external_id=uri,
                text=text,
                created_at=created,
                url=f"https://bsky.app/profile/{handle}/post/{uri.rsplit('/', 1)[-1]}",
                author_handle=handle,
                author_name=author.get("displayName") or None,
                lang=lang,
                likes=_count(post.get("likeCount")),
                reposts=_count(post.get("repostCount")) + _count(post.get("quoteCount")),
                replies=_count(post.get("replyCount")),
                matched=matched,
            )
            return self.finish(mention, post)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            self.context.metrics.invalid_payloads.labels(source=self.name).inc()
            self.log.warning("%s: post skipped (%s: %s)", self.name, type(exc).__name__, exc)
            self.context.store.reject(self.name, f"invalid post: {type(exc).__name__}: {exc}", post)
            return None


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0
