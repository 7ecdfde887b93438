"""Bluesky search collector: polls `app.bsky.feed.searchPosts` on an AppView for each query.

Each query is a stream read newest first (`sort=latest`, `lang`, `since` = the stored high-water mark
minus an overlap, `limit`, then `cursor` page after page) with the shared backward pager, so a poll cut
by `max_pages` or a crash resumes from the stored page token. The time compared is the post's sort time
(the earlier of `indexedAt` and `record.createdAt`), as the AppView sorts and filters on it.

Authentication: since 2025 searchPosts answers only authenticated callers. With `identifier` and
`app_password_env`, the collector opens a session (`com.atproto.server.createSession`, once), sends
its `accessJwt`, and on `ExpiredToken` renews it with `com.atproto.server.refreshSession` (the
`refreshJwt` as bearer); a refused refresh opens a new session. The PDS proxies the search to the AppView.

Authors whose handle does not resolve (`handle.invalid`) are named and linked by their DID; a post
whose dates are unreadable (year 0) is skipped with a logged reason, never dated "now".
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import Field

from classifiers.language import primary_subtag
from listener.models import Mention
from listener.settings_base import secret_from_env
from listener.sources.base import MentionSink, SourceContext, SourcePlugin
from listener.sources.http import ApiVerdict, FetchError, PollingSource, run_streams
from listener.sources.settings import PollingSourceSettings
from listener.sources.text import Matcher
from listener.timeutil import parse_time

SEARCH = "/xrpc/app.bsky.feed.searchPosts"
CREATE_SESSION = "/xrpc/com.atproto.server.createSession"
REFRESH_SESSION = "/xrpc/com.atproto.server.refreshSession"
INVALID_HANDLE = "handle.invalid"


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


class BlueskySourceSettings(PollingSourceSettings):
    type: Literal["bluesky"] = "bluesky"
    # The PDS that opens the session and proxies app.bsky.feed.searchPosts (tests point it at a fake).
    base_url: str = "https://bsky.social"
    # Handle (or DID/email) of the account that searches (searchPosts needs a session since 2025).
    identifier: str | None = None
    # Environment variable holding that account's app password (Settings > App passwords).
    app_password_env: str | None = None
    # Search queries (Lucene-like syntax, e.g. "Rivebelle", "#rivebelle", "\"mairie de Rivebelle\"").
    queries: list[str] = Field(default_factory=list)
    # Only posts in this language (the `lang` parameter); empty for all languages.
    lang: str | None = "fr"
    # "latest" (newest first, what polling needs) or "top".
    sort: Literal["latest", "top"] = "latest"
    # Posts per page (the API allows at most 100).
    page_size: int = Field(default=100, ge=1, le=100)
    # Seconds of overlap re-read on each poll, for posts indexed late (duplicates are dropped).
    overlap_seconds: float = Field(default=120.0, ge=0)
    # Environment variable holding a ready access token instead of a session (rarely useful).
    token_env: str | None = None


class BlueskySource(PollingSource):
    type = "bluesky"
    settings: BlueskySourceSettings

    def __init__(self, settings: BlueskySourceSettings, context: SourceContext) -> None:
        super().__init__(settings, context)
        self.base = settings.base_url.rstrip("/")
        self.token = secret_from_env(settings.token_env)
        self.password = secret_from_env(settings.app_password_env)
        self.refresh_token: str | None = None
        self.matchers = {query: _query_matcher(query) for query in settings.queries}
        self.health.extra.update({"authenticated": False, "sessions_created": 0, "sessions_refreshed": 0})

    def request_headers(self) -> dict[str, str]:
        headers = super().request_headers()
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def api_error(self, status: int, body: bytes, headers: Any) -> ApiVerdict | None:
        error = _xrpc_error(body)
        if status in (400, 401) and error in ("ExpiredToken", "InvalidToken", "AuthenticationRequired", "AuthMissing"):
            return ApiVerdict("auth", message=error)
        return None

    async def _open_session(self) -> None:
        """createSession with the app password (rate limited by the PDS: done once, not per poll)."""
        if not (self.settings.identifier and self.password):
            raise FetchError("Bluesky: searchPosts needs a session (identifier and app_password_env)",
                             retryable=False, kind="auth")
        self.token = None
        data = (await self.fetch(self.base + CREATE_SESSION, method="POST",
                                 json_body={"identifier": self.settings.identifier, "password": self.password})).json()
        self._take_session(data)
        self.health.extra["sessions_created"] += 1

    async def _refresh_session(self) -> None:
        if not self.refresh_token:
            await self._open_session()
            return
        self.token = self.refresh_token
        try:
            data = (await self.fetch(self.base + REFRESH_SESSION, method="POST")).json()
        except FetchError as exc:
            if exc.kind != "auth" and exc.status not in (400, 401):
                raise
            self.log.info("%s: refresh token refused (%s); opening a new session", self.name, exc)
            self.refresh_token = None
            await self._open_session()
            return
        self._take_session(data)
        self.health.extra["sessions_refreshed"] += 1

    def _take_session(self, data: Any) -> None:
        if not isinstance(data, dict) or not isinstance(data.get("accessJwt"), str):
            raise FetchError("Bluesky: session answer without accessJwt", retryable=False, kind="auth")
        self.token = data["accessJwt"]
        refresh = data.get("refreshJwt")
        self.refresh_token = refresh if isinstance(refresh, str) else None
        self.health.extra["authenticated"] = True

    async def search(self, params: dict[str, str]) -> Any:
        """searchPosts with the session kept alive: an expired access token is refreshed once."""
        if self.token is None and self.settings.identifier:
            await self._open_session()
        try:
            return (await self.fetch(self.base + SEARCH, params)).json()
        except FetchError as exc:
            if exc.kind != "auth" or not self.settings.identifier:
                raise
            self.log.info("%s: access token refused (%s); refreshing the session", self.name, exc)
            await self._refresh_session()
            return (await self.fetch(self.base + SEARCH, params)).json()

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
            data = await self.search(params)
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
            did = author.get("did") or uri.split("/")[2]
            handle = author.get("handle")
            if not isinstance(handle, str) or not handle or handle == INVALID_HANDLE:
                handle = did  # an unresolvable handle: the DID is the stable name and link
            indexed = _time(post.get("indexedAt"))
            created = _time(record.get("createdAt")) or indexed
            if created is None:
                reason = f"no readable date (createdAt {record.get('createdAt')!r}, indexedAt {post.get('indexedAt')!r})"
                self.log.warning("%s: post %s skipped: %s", self.name, uri, reason)
                self.context.store.reject(self.name, f"undated post: {reason}", post)
                return None
            if indexed is not None and created > indexed + timedelta(minutes=5):
                created = indexed  # a client clock in the future must not pollute future minute buckets
            langs = record.get("langs") or []
            lang = primary_subtag(langs[0]) if isinstance(langs, list) and langs else None
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


def _xrpc_error(body: bytes) -> str | None:
    """The `error` name of an XRPC error body ({"error": "ExpiredToken", "message": ...})."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    return data.get("error") if isinstance(data, dict) and isinstance(data.get("error"), str) else None


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


EXAMPLE = """
[[sources]]
name = "bluesky-recherche"
type = "bluesky"
enabled = false
base_url = "https://bsky.social"   # PDS : ouvre la session et relaie la recherche
identifier = "mairie.bsky.social"  # compte qui cherche
app_password_env = "VIGIE_BLUESKY_APP_PASSWORD"
queries = ['"Ma Ville"', "#MaVille"]
lang = "fr"
"""

PLUGIN = SourcePlugin(
    type="bluesky",
    description="Bluesky : recherche de publications (searchPosts) avec une session par mot de passe d'application.",
    settings=BlueskySourceSettings,
    example=EXAMPLE,
    create=BlueskySource,
)
