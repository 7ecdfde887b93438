"""RSS/Atom collector: local press and news-search feeds, read with feedparser (well-formed plain feeds
by the faster reader of sources/feedfast.py, held equal to feedparser by a test).

Conditional GET: the feed's `ETag` and `Last-Modified` are kept in the source's cursor (per feed URL)
and sent back as `If-None-Match` / `If-Modified-Since`; a 304 costs nothing. They are stored only
after a feed parsed cleanly, so a truncated or malformed answer is fetched in full again next time
(entries parsed from it anyway are kept: the dedupe absorbs the repeat). feedparser is given the raw
bytes and the Content-Type, so the declared encoding (UTF-8, ISO-8859-1...) and HTML/XML entities
(&eacute;, &#233;) come out as proper French characters; summaries are turned into plain text.

Irregular but readable feeds are read, not failed: feedparser's `bozo` flag is raised for a `text/xml`
answer without charset, an undeclared windows-1252 body or a blank line before `<?xml` (stripped here
first). Only a document that ends before its root element closes (cut in transit) is refetched in
full; any other entries parsed are kept and the validators stored.
Each entry's identity is scoped to its feed when its guid is not a URI (`<guid>1234</guid>`), so two
feeds of one site numbering their items alike never collide. The article URL is its `alternate` link,
never an `enclosure` (podcast audio, image). The date is the entry's published/updated/created date,
else the feed's own date; an entry with none is skipped with a logged reason, never dated "now".
"""

from __future__ import annotations

import asyncio
import calendar
import hashlib
import re
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urljoin

import feedparser
from pydantic import Field

from classifiers.language import primary_subtag
from listener.models import Mention
from listener.sources.base import MentionSink, SourceContext, SourcePlugin
from listener.sources.feedfast import parse_feed
from listener.sources.http import FetchError, PollingSource, run_streams
from listener.sources.settings import PollingSourceSettings
from listener.sources.text import Matcher, html_to_text

# feedparser's bozo reasons that say nothing about the entries read (encoding and media-type quirks).
BENIGN_BOZO = (feedparser.CharacterEncodingOverride, feedparser.CharacterEncodingUnknown,
               feedparser.NonXMLContentType, feedparser.UndeclaredNamespace)
_ROOT_CLOSED = re.compile(rb"</(?:[\w.-]+:)?(?:rss|feed|rdf|RDF)\s*>\s*(?:<!--.*?-->\s*)*$", re.DOTALL)
_URI = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:\S")
ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"


def _moment(data: Any, keys: tuple[str, ...]) -> datetime | None:
    """The first of feedparser's parsed dates (UTC struct_time) that makes a real moment."""
    for key in keys:
        value = data.get(key)
        if value:
            try:
                return datetime.fromtimestamp(calendar.timegm(value), UTC)
            except (TypeError, ValueError, OverflowError, OSError):
                continue
    return None


def article_link(entry: Any, feed_url: str) -> str | None:
    """The article's web address: its alternate link (resolved against the feed's URL), never an
    enclosure (audio, image) or a non-web id."""
    enclosures = {urljoin(feed_url, e["href"]) for e in entry.get("enclosures") or []
                  if isinstance(e, dict) and isinstance(e.get("href"), str)}
    candidates = [link.get("href") for link in entry.get("links") or []
                  if isinstance(link, dict) and link.get("rel", "alternate") == "alternate"]
    candidates.append(entry.get("link"))
    if entry.get("guidislink"):
        candidates.append(entry.get("id"))
    for href in candidates:
        if not isinstance(href, str) or not href.strip():
            continue
        href = urljoin(feed_url, href.strip())
        if href.startswith(("http://", "https://")) and href not in enclosures:
            return href
    return None


def _jsonable(value: Any) -> Any:
    """feedparser's dicts hold time.struct_time and other non-JSON values; keep what JSON can hold."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items() if not str(k).endswith("_parsed")}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


class RssSourceSettings(PollingSourceSettings):
    type: Literal["rss"] = "rss"
    # Feed URLs (RSS or Atom): local press, news-search feeds.
    feeds: list[str] = Field(default_factory=list)
    # Keep only entries containing one of these keywords; empty keeps every entry.
    keywords: list[str] = Field(default_factory=list)
    # Language assumed for entries when the feed does not say (None lets the pipeline detect it).
    lang: str | None = None
    # Seconds between two polls (feeds change slowly).
    poll_interval: float = Field(default=300.0, gt=0)


class RssSource(PollingSource):
    type = "rss"
    settings: RssSourceSettings

    def __init__(self, settings: RssSourceSettings, context: SourceContext) -> None:
        super().__init__(settings, context)
        self.matcher = Matcher(settings.keywords)
        self.health.extra.update({"not_modified": 0})
        self._undated: set[str] = set()

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
        # No content-location: feedparser would resolve a bare guid ("292") against the feed URL, and two
        # feeds of one directory would then collide; links are resolved against the feed URL here instead.
        response_headers = {"content-type": fetched.headers.get("Content-Type", "application/xml")}
        body = fetched.body.lstrip(b" \t\r\n")  # a blank line before <?xml makes the XML ill-formed
        parsed = await asyncio.to_thread(parse_feed, body, response_headers["content-type"])
        problem = parsed.get("bozo_exception") if parsed.get("bozo") else None
        if problem is not None and isinstance(problem, BENIGN_BOZO):
            problem = None
        cut = problem is not None and not _ROOT_CLOSED.search(body)
        if problem is not None and not parsed.get("entries"):
            raise FetchError(f"malformed feed {url}: {problem}")
        feed_info = parsed.get("feed", {})
        lang = primary_subtag(feed_info.get("language") or self.settings.lang)
        label = feed_info.get("title") or url
        feed_date = _moment(feed_info, ("updated_parsed", "published_parsed"))
        mentions = [m for m in (self._mention(entry, lang, label, url, feed_date) for entry in parsed.get("entries", []))
                    if m is not None]
        if not cut:
            if problem is not None:
                self.health.extra["irregular_feeds"] = sorted({*self.health.extra.get("irregular_feeds", []), url})
                self.log.info("%s: feed %s is irregular (%s); %d entries read", self.name, url, problem, len(mentions))
            new_state = {key: value for key, value in (("etag", fetched.headers.get("ETag")),
                                                        ("modified", fetched.headers.get("Last-Modified"))) if value}
            await self.emit(sink, mentions, **{url: new_state or None})
        else:
            self.log.warning("%s: feed %s is cut short (%s); %d entries kept, will fetch in full again",
                             self.name, url, problem, len(mentions))
            await self.emit(sink, mentions)
            raise FetchError(f"malformed feed {url}: {problem}")

    def _mention(self, entry: Any, lang: str | None, label: str, feed_url: str,
                 feed_date: datetime | None) -> Mention | None:
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
            link = article_link(entry, feed_url)
            guid = entry.get("id")
            if guid and _URI.match(str(guid)):
                external_id = str(guid)
            elif guid:
                external_id = f"{feed_url}#{guid}"  # "1234" is only unique within its feed
            elif link:
                external_id = link
            else:
                external_id = f"{feed_url}#sha1:" + hashlib.sha1(text.encode("utf-8")).hexdigest()
            created_at = _moment(entry, ("published_parsed", "updated_parsed", "created_parsed")) or feed_date
            if created_at is None:
                raw_dates = {k: entry.get(k) for k in ("published", "updated", "created") if entry.get(k)}
                reason = f"no readable date ({raw_dates or 'none given'})"
                if external_id not in self._undated:  # said once, not at every poll of the same feed
                    self._undated.add(external_id)
                    self.log.warning("%s: entry %s of %s skipped: %s", self.name, external_id, feed_url, reason)
                    self.context.store.reject(self.name, f"undated entry: {reason}", _jsonable(dict(entry)))
                return None
            entry_lang = None
            detail = entry.get("title_detail") or entry.get("summary_detail") or {}
            if detail.get("language"):
                entry_lang = primary_subtag(detail["language"])
            mention = Mention(
                source=self.name,
                external_id=external_id,
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


EXAMPLE = """
[[sources]]
name = "presse-locale"
type = "rss"
enabled = false
feeds = ["https://www.exemple-presse.fr/ma-ville/rss.xml"]
keywords = ["Ma Ville", "mairie"]
"""

PLUGIN = SourcePlugin(
    type="rss",
    description="Flux RSS/Atom : presse locale, alertes d'actualité, sites institutionnels.",
    settings=RssSourceSettings,
    example=EXAMPLE,
    create=RssSource,
)
