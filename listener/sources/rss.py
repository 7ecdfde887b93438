"""RSS/Atom collector: local press and news-search feeds, read with feedparser.

Conditional GET: the feed's `ETag` and `Last-Modified` are kept in the source's cursor (per feed URL)
and sent back as `If-None-Match` / `If-Modified-Since`; a 304 costs nothing. They are stored only
after a feed parsed cleanly, so a truncated or malformed answer is fetched in full again next time
(entries parsed from it anyway are kept: the dedupe absorbs the repeat). feedparser is given the raw
bytes and the Content-Type, so the declared encoding (UTF-8, ISO-8859-1...) and HTML/XML entities
(&eacute;, &#233;) come out as proper French characters; summaries are turned into plain text.
"""

from __future__ import annotations

import asyncio
import calendar
import hashlib
from datetime import UTC, datetime
from typing import Any

import feedparser

from listener.models import Mention
from listener.sources.base import MentionSink, SourceContext
from listener.sources.http import FetchError, PollingSource, run_streams
from listener.sources.settings import RssSourceSettings
from listener.sources.text import Matcher, html_to_text

ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"


def _jsonable(value: Any) -> Any:
    """feedparser's dicts hold time.struct_time and other non-JSON values; keep what JSON can hold."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items() if not str(k).endswith("_parsed")}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


class RssSource(PollingSource):
    type = "rss"
    settings: RssSourceSettings

    def __init__(self, settings: RssSourceSettings, context: SourceContext) -> None:
        super().__init__(settings, context)
        self.matcher = Matcher(settings.keywords)
        self.health.extra.update({"not_modified": 0})

    async def poll(self, sink: MentionSink) -> None:
        await run_streams(self, [(url, lambda url=url: self._feed(sink, url)) for url in self.settings.feeds])

    async def _feed(self, sink: MentionSink, url: str) -> None:
        state = self.cursors.get(url) or {}
        headers = {"Accept": ACCEPT}
        if state.get("etag"):
            headers["If-None-Match"] = state["etag"]
        if state.get("modified"):
            headers["If-Modified-Since"] = state["modified"]
        fetched = await self.fetch(url, headers=headers, ok=(200, 304), parse_json=False)
        if fetched.status == 304:
            self.health.extra["not_modified"] += 1
            return
        response_headers = {"content-type": fetched.headers.get("Content-Type", "application/xml"),
                            "content-location": url}
        parsed = await asyncio.to_thread(feedparser.parse, fetched.body, response_headers=response_headers,
                                         sanitize_html=True, resolve_relative_uris=True)
        clean = not parsed.get("bozo")
        if not clean and not parsed.entries:
            raise FetchError(f"malformed feed {url}: {parsed.get('bozo_exception')}")
        feed_info = parsed.get("feed", {})
        lang = (feed_info.get("language") or self.settings.lang or "").split("-")[0].lower() or None
        label = feed_info.get("title") or url
        mentions = [m for m in (self._mention(entry, lang, label) for entry in parsed.entries) if m is not None]
        if clean:
            new_state = {key: value for key, value in (("etag", fetched.headers.get("ETag")),
                                                        ("modified", fetched.headers.get("Last-Modified"))) if value}
            await self.emit(sink, mentions, **{url: new_state or None})
        else:
            self.log.warning("%s: feed %s is malformed (%s); %d entries kept, will fetch in full again",
                             self.name, url, parsed.get("bozo_exception"), len(mentions))
            await self.emit(sink, mentions)
            raise FetchError(f"malformed feed {url}: {parsed.get('bozo_exception')}")

    def _mention(self, entry: Any, lang: str | None, label: str) -> Mention | None:
        try:
            title = html_to_text(entry.get("title") or "")
            summary = ""
            if entry.get("content"):
                summary = html_to_text(entry["content"][0].get("value") or "")
            if not summary:
                summary = html_to_text(entry.get("summary") or "")
            text = f"{title}\n\n{summary}".strip() if summary and summary != title else title
            if not text:
                return None
            matched = self.matcher.match(text) if not self.matcher.empty else [label]
            if not matched:
                return None
            link = entry.get("link")
            external_id = entry.get("id") or link
            if not external_id:
                external_id = "sha1:" + hashlib.sha1(text.encode("utf-8")).hexdigest()
            moment = entry.get("published_parsed") or entry.get("updated_parsed")
            created_at = (datetime.fromtimestamp(calendar.timegm(moment), UTC) if moment
                          else self.context.clock.now())
            entry_lang = None
            detail = entry.get("title_detail") or entry.get("summary_detail") or {}
            if detail.get("language"):
                entry_lang = detail["language"].split("-")[0].lower()
            mention = Mention(
                source=self.name,
                external_id=str(external_id),
                text=text,
                created_at=created_at,
                url=link,
                author_name=entry.get("author") or None,
                lang=entry_lang or lang,
                matched=matched,
            )
            return self.finish(mention, _jsonable(dict(entry)))
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
            self.context.metrics.invalid_payloads.labels(source=self.name).inc()
            self.log.warning("%s: feed entry skipped (%s: %s)", self.name, type(exc).__name__, exc)
            return None
