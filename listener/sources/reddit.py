"""Reddit collector: site searches and subreddit listings as JSON (`.json` listings, `sort=new`).

Listings are newest first and paged with `after` (the fullname of the last item); each search or
subreddit is a stream read with the shared backward pager (stored page token, high-water mark on
`created_utc`, overlap re-read). `raw_json=1` asks for unescaped text (no `&amp;`), and every request
carries a descriptive User-Agent, as Reddit's API rules require. The external id is the fullname (t3_…).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from listener.models import Mention
from listener.settings_base import secret_from_env
from listener.sources.base import MentionSink, SourceContext
from listener.sources.http import FetchError, PollingSource, run_streams
from listener.sources.settings import RedditSourceSettings
from listener.sources.text import Matcher, html_to_text


def created(item: Any) -> float | None:
    data = item.get("data") if isinstance(item, dict) else None
    value = data.get("created_utc") if isinstance(data, dict) else None
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


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
        for query in self.settings.queries:
            streams.append((f"search:{query}", lambda q=query: self._listing(
                sink, f"search:{q}", "/search.json", {"q": q, "sort": "new", "type": "link"}, q, filtered=False)))
        for name in self.settings.subreddits:
            name = name.removeprefix("r/").strip("/")
            streams.append((f"r/{name}", lambda n=name: self._listing(
                sink, f"r/{n}", f"/r/{quote(n)}/new.json", {}, f"r/{n}", filtered=True)))
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
