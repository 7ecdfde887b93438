"""Mastodon collector: hashtag timelines, the public timeline filtered by keywords, and the
institution's own mentions (notifications, with a token).

Each stream pages *forward* from its cursor with `min_id` (following the `Link: rel="prev"` URL the
server gives, as the API guidelines describe), so every page can be stored with a cursor that covers
exactly what was stored: a crash or `max_pages` cut resumes where it stopped, never leaving a gap.
On the very first poll there is no cursor: the newest page (or `initial_pages` pages, going back with
`max_id` through `rel="next"`) is read and the cursor starts at the newest status.
Status HTML is turned into plain text with html.parser; the `language` field is kept (a status without
one is left for the pipeline's language identifier). Only `public` and `unlisted` statuses are kept:
a `private` (followers-only) or `direct` status is a private message even when it mentions the
institution. Local accounts' `acct` has no instance (`Gargron`): the instance is taken from the
account's profile URL, so every handle reads `@user@instance`.
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import quote, urlsplit

from pydantic import Field

from listener.models import Mention
from listener.settings_base import secret_from_env
from listener.sources.base import MentionSink, SourceContext, SourcePlugin
from listener.sources.http import FetchError, PollingSource, id_order, run_streams
from listener.sources.settings import PollingSourceSettings
from listener.sources.text import Matcher, html_to_text
from listener.timeutil import parse_time


class MastodonSourceSettings(PollingSourceSettings):
    type: Literal["mastodon"] = "mastodon"
    # The instance to ask (tests point it at a fake).
    base_url: str = "https://mastodon.social"
    # Hashtags followed through /api/v1/timelines/tag/:hashtag (without '#').
    hashtags: list[str] = Field(default_factory=list)
    # Also read the public timeline, keeping only statuses with one of `keywords` (or `hashtags`).
    public_timeline: bool = False
    # Public timeline restricted to the instance's own accounts.
    public_local: bool = False
    # Keywords that pick statuses out of the public timeline (accents and case ignored).
    keywords: list[str] = Field(default_factory=list)
    # Environment variable holding the institution account's access token (mentions via notifications).
    token_env: str | None = None
    # Read the institution's mentions through /api/v1/notifications when a token is available.
    notifications: bool = True
    # Statuses per page (the API allows at most 40).
    page_size: int = Field(default=40, ge=1, le=40)


class MastodonSource(PollingSource):
    type = "mastodon"
    settings: MastodonSourceSettings

    def __init__(self, settings: MastodonSourceSettings, context: SourceContext) -> None:
        super().__init__(settings, context)
        self.base = settings.base_url.rstrip("/")
        self.matcher = Matcher(settings.keywords, settings.hashtags)
        self.token = secret_from_env(settings.token_env)

    def request_headers(self) -> dict[str, str]:
        headers = super().request_headers()
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    async def poll(self, sink: MentionSink) -> None:
        streams: list[tuple[str, Any]] = []
        for tag in self.settings.hashtags:
            tag = tag.lstrip("#")
            streams.append(
                (f"tag:{tag}", lambda tag=tag: self._stream(sink, f"tag:{tag.lower()}",
                                                            f"/api/v1/timelines/tag/{quote(tag)}", {}, f"#{tag}"))
            )
        if self.settings.public_timeline:
            params = {"local": "true"} if self.settings.public_local else {}
            streams.append(("public", lambda: self._stream(sink, "public", "/api/v1/timelines/public", params, None)))
        if self.settings.notifications and self.token:
            streams.append(
                ("notifications", lambda: self._stream(
                    sink, "notifications", "/api/v1/notifications", {"types[]": "mention"}, "@mention"))
            )
        await run_streams(self, streams)

    async def _stream(self, sink: MentionSink, key: str, path: str, params: dict[str, str], tag: str | None) -> None:
        cursor: str | None = self.cursors.get(key)
        limit = self.settings.page_size
        query: dict[str, Any] | None = {**params, "limit": str(limit)}
        if cursor:
            query["min_id"] = cursor
        url = self.base + path
        max_pages = self.settings.max_pages if cursor else self.settings.initial_pages
        first_newest: str | None = None
        for _page in range(max_pages):
            fetched = await self.fetch(url, query)
            items = fetched.json()
            if not isinstance(items, list):
                raise FetchError(f"{path}: a JSON array was expected", retryable=False)
            ids = [str(item["id"]) for item in items if isinstance(item, dict) and item.get("id") is not None]
            if not ids:
                if cursor is None and first_newest is None:
                    return
                break
            newest = max(ids, key=id_order)
            mentions = [m for m in (self._mention(item, tag, key) for item in items) if m is not None]
            if cursor is not None:
                # Forward paging: this page covers everything between the cursor and `newest`.
                await self.emit(sink, mentions, **{key: newest})
                cursor = newest
                if len(items) < limit:
                    break
                prev = fetched.links.get("prev")
                if prev and self.same_origin(prev, self.base):
                    url, query = prev, None
                else:
                    url, query = self.base + path, {**params, "limit": str(limit), "min_id": newest}
            else:
                # First poll: start from now; older pages (initial_pages > 1) go back with max_id.
                first_newest = first_newest or newest
                await self.emit(sink, mentions, **{key: first_newest})
                following = fetched.links.get("next")
                if len(items) < limit or not following or not self.same_origin(following, self.base):
                    break
                url, query = following, None

    def _mention(self, item: dict[str, Any], tag: str | None, key: str) -> Mention | None:
        try:
            status = item.get("status") if key == "notifications" else item
            if key == "notifications" and item.get("type") != "mention":
                return None
            if not isinstance(status, dict):
                return None
            status = status.get("reblog") or status
            visibility = status.get("visibility")
            if visibility not in PUBLIC_VISIBILITIES:
                self.health.extra["private_skipped"] = self.health.extra.get("private_skipped", 0) + 1
                self.log.debug("%s: status %s skipped (visibility %s)", self.name, status.get("id"), visibility)
                return None
            text = html_to_text(status.get("content"))
            spoiler = (status.get("spoiler_text") or "").strip()
            if spoiler:
                text = f"{spoiler}\n\n{text}".strip()
            if not text:
                return None
            tags = [t.get("name", "") for t in status.get("tags") or [] if isinstance(t, dict)]
            matched = self.matcher.match(text, tags)
            if tag is None and not matched:
                return None  # public timeline: only what the keywords pick
            if tag is not None and tag not in matched:
                matched.insert(0, tag)
            account = status.get("account") or {}
            mention = Mention(
                source=self.name,
                external_id=str(status["id"]),
                text=text,
                created_at=parse_time(status["created_at"]),
                url=status.get("url") or status.get("uri"),
                author_handle=full_handle(account, self.base),
                author_name=account.get("display_name") or None,
                author_followers=_count(account.get("followers_count")),
                lang=status.get("language") or None,
                likes=_count(status.get("favourites_count")) or 0,
                reposts=_count(status.get("reblogs_count")) or 0,
                replies=_count(status.get("replies_count")) or 0,
                matched=matched,
            )
            return self.finish(mention, item)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            self.context.metrics.invalid_payloads.labels(source=self.name).inc()
            self.log.warning("%s: status skipped (%s: %s)", self.name, type(exc).__name__, exc)
            self.context.store.reject(self.name, f"invalid status: {type(exc).__name__}: {exc}", item)
            return None


PUBLIC_VISIBILITIES = frozenset({"public", "unlisted"})


def full_handle(account: dict[str, Any], base_url: str) -> str | None:
    """`@user@instance` for every account: a local account's `acct` lacks the instance, so it comes
    from the profile URL (`https://mastodon.social/@Gargron`), else from the instance asked."""
    acct = account.get("acct") or account.get("username")
    if not isinstance(acct, str) or not acct:
        return None
    acct = acct.lstrip("@")
    if "@" not in acct:
        host = urlsplit(account.get("url") or "").netloc or urlsplit(base_url).netloc
        if host:
            acct = f"{acct}@{host}"
    return "@" + acct


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


EXAMPLE = """
[[sources]]
name = "mastodon-ville"
type = "mastodon"
enabled = false                    # activer une fois configuré
base_url = "https://mastodon.social"
hashtags = ["MaVille"]
public_timeline = false
keywords = ["mairie de Ma Ville"]
token_env = "VIGIE_MASTODON_TOKEN" # jeton du compte de l'institution (notifications)
"""

PLUGIN = SourcePlugin(
    type="mastodon",
    description="Mastodon : hashtags, fil public filtré par mots-clés et mentions du compte de l'institution.",
    settings=MastodonSourceSettings,
    example=EXAMPLE,
    create=MastodonSource,
)
