"""Reddit collector: site searches and subreddit listings as JSON (`.json` listings, `sort=new`), or
as the public Atom feeds (`format = "rss"`) when no OAuth approval exists (Reddit asks for one since 2024).

Listings are newest first and paged with `after` (the fullname of the last item); each search or
subreddit is a stream read with the shared backward pager (stored page token, high-water mark on
`created_utc`, overlap re-read). `raw_json=1` asks for unescaped text (no `&amp;`), and every request
carries a descriptive User-Agent, as Reddit's API rules require. The external id is the fullname (t3_…).
"""

from __future__ import annotations

import asyncio
import calendar
import re
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import quote

from pydantic import Field

from listener.models import Mention
from listener.settings_base import secret_from_env
from listener.sources.base import MentionSink, SourceContext, SourcePlugin
from listener.sources.feedfast import parse_feed
from listener.sources.http import FetchError, PollingSource, run_streams
from listener.sources.rss import BENIGN_BOZO
from listener.sources.settings import PollingSourceSettings
from listener.sources.text import Matcher, html_to_text


def created(item: Any) -> float | None:
    data = item.get("data") if isinstance(item, dict) else None
    value = data.get("created_utc") if isinstance(data, dict) else None
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


# Reddit's feeds end each entry with "submitted by /u/name [link] [comments]".
_FOOTER = re.compile(r"\s*submitted by\s+/u/")


class RedditSourceSettings(PollingSourceSettings):
    type: Literal["reddit"] = "reddit"
    # Reddit host answering the .json listings (tests point it at a fake).
    base_url: str = "https://www.reddit.com"
    # Site-wide searches (/search.json?q=...&sort=new).
    queries: list[str] = Field(default_factory=list)
    # Subreddits whose new posts are read (/r/<name>/new.json), without "r/".
    subreddits: list[str] = Field(default_factory=list)
    # Keep only subreddit posts containing one of these keywords; empty keeps every post.
    keywords: list[str] = Field(default_factory=list)
    # Posts per page (the API allows at most 100).
    page_size: int = Field(default=100, ge=1, le=100)
    # Seconds of overlap re-read on each poll (duplicates are dropped).
    overlap_seconds: float = Field(default=120.0, ge=0)
    # Environment variable holding an OAuth bearer token (then use base_url https://oauth.reddit.com).
    token_env: str | None = None
    # Seconds between two polls (Reddit's anonymous quota is small).
    poll_interval: float = Field(default=120.0, gt=0)
    # "json" (the .json listings, paged) or "rss" (the public Atom feeds: /search.rss, /r/<name>/new/.rss),
    # for when the JSON listings are refused to clients without an approved OAuth access.
    format: Literal["json", "rss"] = "json"


class RedditSource(PollingSource):
    type = "reddit"
    settings: RedditSourceSettings

    def __init__(self, settings: RedditSourceSettings, context: SourceContext) -> None:
        super().__init__(settings, context)
        self.base = settings.base_url.rstrip("/")
        self.token = secret_from_env(settings.token_env)
        self.matcher = Matcher(settings.keywords)

    def request_headers(self) -> dict[str, str]:
        headers = super().request_headers()
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    async def poll(self, sink: MentionSink) -> None:
        streams: list[tuple[str, Any]] = []
        rss = self.settings.format == "rss"
        read = self._feed if rss else self._listing
        for query in self.settings.queries:
            streams.append((f"search:{query}", lambda q=query: read(
                sink, f"search:{q}", "/search.rss" if rss else "/search.json",
                {"q": q, "sort": "new", "type": "link"}, q, filtered=False)))
        for name in self.settings.subreddits:
            name = name.removeprefix("r/").strip("/")
            streams.append((f"r/{name}", lambda n=name: read(
                sink, f"r/{n}", f"/r/{quote(n)}/new/.rss" if rss else f"/r/{quote(n)}/new.json", {}, f"r/{n}",
                filtered=True)))
        await run_streams(self, streams)

    async def _listing(self, sink: MentionSink, key: str, path: str, params: dict[str, str], label: str,
                       *, filtered: bool) -> None:
        async def fetch_page(token: str | None, floor: float | None) -> tuple[list[Any], str | None]:
            query = {**params, "limit": str(self.settings.page_size), "raw_json": "1"}
            if token:
                query["after"] = token
            data = (await self.fetch(self.base + path, query)).json()
            listing = data.get("data") if isinstance(data, dict) and data.get("kind") == "Listing" else None
            if not isinstance(listing, dict) or not isinstance(listing.get("children"), list):
                raise FetchError(f"{path}: not a Reddit Listing", retryable=False)
            after = listing.get("after")
            return listing["children"], after if isinstance(after, str) and after else None

        def to_mentions(children: list[Any]) -> list[Mention]:
            mentions = []
            for child in children:
                mention = self._mention(child, label, filtered)
                if mention is not None:
                    mentions.append(mention)
            return mentions

        await self.page_backwards(sink, key, fetch_page, created, to_mentions, self.settings.overlap_seconds)

    async def _feed(self, sink: MentionSink, key: str, path: str, params: dict[str, str], label: str,
                    *, filtered: bool) -> None:
        """One Atom feed (newest 25-100 entries, no paging): new entries are kept, the dedupe drops the rest."""
        query = {**params, "limit": str(self.settings.page_size)}
        fetched = await self.fetch(self.base + path, query, headers={"Accept": "application/atom+xml"},
                                   parse_json=False)
        parsed = await asyncio.to_thread(parse_feed, fetched.body, fetched.headers.get("Content-Type", ""))
        if parsed.get("bozo") and not parsed.get("entries") and not isinstance(parsed.get("bozo_exception"), BENIGN_BOZO):
            raise FetchError(f"{path}: not a readable Atom feed ({parsed.get('bozo_exception')})")
        mentions = [m for m in (self._entry(entry, label, filtered) for entry in parsed.get("entries", [])) if m is not None]
        newest = max((m.created_at.timestamp() for m in mentions), default=None)
        state = self.cursors.get(key) or {}
        await self.emit(sink, mentions, **{key: {"hw": max(newest, state.get("hw") or 0)} if newest else state or None})

    def _entry(self, entry: Any, label: str, filtered: bool) -> Mention | None:
        """An Atom entry of a Reddit feed: id = fullname, content = the post's HTML plus a footer."""
        try:
            fullname = entry.get("id") or ""
            if not fullname.startswith(("t3_", "t1_")):
                return None
            title = html_to_text(entry.get("title") or "")
            markup = (entry["content"][0].get("value") or "") if entry.get("content") else ""
            cut = markup.find("submitted by")  # the feed's footer: dropped before the (costly) HTML parsing
            content = html_to_text(markup[:cut] if cut > 0 else markup)
            content = _FOOTER.split(content, maxsplit=1)[0].strip()
            text = f"{title}\n\n{content}".strip() if content else title
            if not text:
                return None
            matched = self.matcher.match(text) if not self.matcher.empty else []
            if filtered and not self.matcher.empty and not matched:
                return None
            moment = entry.get("published_parsed") or entry.get("updated_parsed")
            if not moment:
                self.log.warning("%s: feed entry %s skipped: no readable date", self.name, fullname)
                return None
            author = (entry.get("author") or "").removeprefix("/u/") or None
            mention = Mention(
                source=self.name,
                external_id=fullname,
                text=text,
                created_at=datetime.fromtimestamp(calendar.timegm(moment), UTC),
                url=entry.get("link") if str(entry.get("link", "")).startswith("https://") else None,
                author_handle=f"u/{author}" if author and author != "[deleted]" else None,
                matched=[label, *[m for m in matched if m != label]],
            )
            return self.finish(mention, {"id": fullname, "title": entry.get("title"), "link": entry.get("link"),
                                         "author": entry.get("author"), "published": entry.get("published")})
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
            self.context.metrics.invalid_payloads.labels(source=self.name).inc()
            self.log.warning("%s: feed entry skipped (%s: %s)", self.name, type(exc).__name__, exc)
            return None

    def _mention(self, child: Any, label: str, filtered: bool) -> Mention | None:
        try:
            if child.get("kind") not in ("t3", "t1"):
                return None
            data = child["data"]
            title = data.get("title") or ""
            body = data.get("selftext") or data.get("body") or ""
            if not body and data.get("body_html"):
                body = html_to_text(data["body_html"])
            text = f"{title}\n\n{body}".strip() if title else body.strip()
            if not text:
                return None
            matched = self.matcher.match(text) if not self.matcher.empty else []
            if filtered and not self.matcher.empty and not matched:
                return None
            matched = [label, *[m for m in matched if m != label]]
            author = data.get("author")
            # Listings give a permalink; inbox mentions only their `context` (permalink + "?context=3").
            permalink = data.get("permalink") or (data.get("context") or "").split("?")[0] or None
            mention = Mention(
                source=self.name,
                external_id=data["name"],
                text=text,
                created_at=datetime.fromtimestamp(float(data["created_utc"]), UTC),
                url=f"https://www.reddit.com{permalink}" if permalink else data.get("url"),
                author_handle=f"u/{author}" if author and author != "[deleted]" else None,
                likes=max(0, int(data.get("score") or 0)),
                replies=max(0, int(data.get("num_comments") or 0)),
                matched=matched,
            )
            return self.finish(mention, child)
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
            self.context.metrics.invalid_payloads.labels(source=self.name).inc()
            self.log.warning("%s: item skipped (%s: %s)", self.name, type(exc).__name__, exc)
            self.context.store.reject(self.name, f"invalid listing item: {type(exc).__name__}: {exc}", child)
            return None


EXAMPLE = """
[[sources]]
name = "reddit"
type = "reddit"
enabled = false
base_url = "https://www.reddit.com"
format = "json"                    # "json" ou "rss" (flux Atom publics)
queries = ['"Ma Ville"']
subreddits = ["france"]
keywords = ["Ma Ville"]
"""

PLUGIN = SourcePlugin(
    type="reddit",
    description="Reddit : recherches et subreddits par les flux publics JSON ou RSS (sans accès OAuth approuvé).",
    settings=RedditSourceSettings,
    example=EXAMPLE,
    create=RedditSource,
)
