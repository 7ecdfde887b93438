"""A fake news site serving RSS 2.0 and Atom feeds with conditional GET, as a real web server does.

`/feeds/<name>` answers the feed with `ETag` and `Last-Modified`; a request whose `If-None-Match`
matches the ETag (or whose `If-Modified-Since` is not older than Last-Modified) gets 304 Not Modified
with no body. Feeds can be served in ISO-8859-1 (declared in the XML prolog and the Content-Type),
and descriptions carry escaped HTML with entities (&amp;eacute;), like many French press CMSs.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any
from xml.sax.saxutils import escape

from aiohttp import web

from tests.fakes import FakeServer

T0 = datetime(2026, 11, 17, 8, 0, tzinfo=UTC)


class FakeFeeds(FakeServer):
    def __init__(self) -> None:
        self.feeds: dict[str, dict[str, Any]] = {}
        self.not_modified = 0
        super().__init__()

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/feeds/{name}", self.serve)]

    def feed(self, name: str, *, kind: str = "rss", encoding: str = "utf-8", title: str = "Le Petit Rivebellois") -> None:
        self.feeds[name] = {"kind": kind, "encoding": encoding, "title": title, "items": [],
                            "modified": T0}

    def add_item(self, name: str, title: str, description_html: str, *, guid: str | None = None,
                 at: datetime | None = None) -> dict[str, Any]:
        feed = self.feeds[name]
        n = len(feed["items"]) + 1
        slug = name.split(".")[0]
        item = {"title": title, "html": description_html, "guid": guid or f"https://lepetitrivebellois.fr/{slug}/{n}",
                "link": f"https://lepetitrivebellois.fr/{slug}/{n}", "at": at or T0 + timedelta(minutes=n)}
        feed["items"].append(item)
        feed["modified"] = max(feed["modified"], item["at"]) + timedelta(seconds=1)
        return item

    def render(self, name: str) -> bytes:
        feed = self.feeds[name]
        items = sorted(feed["items"], key=lambda i: i["at"], reverse=True)
        encoding = feed["encoding"]
        if feed["kind"] == "atom":
            entries = "".join(
                f"<entry><title>{escape(i['title'])}</title><id>{escape(i['guid'])}</id>"
                f"<link href=\"{escape(i['link'])}\"/><updated>{i['at'].strftime('%Y-%m-%dT%H:%M:%SZ')}</updated>"
                f"<author><name>Rédaction</name></author><summary type=\"html\">{escape(i['html'])}</summary></entry>"
                for i in items)
            text = (f'<?xml version="1.0" encoding="{encoding}"?><feed xmlns="http://www.w3.org/2005/Atom" xml:lang="fr">'
                    f"<title>{escape(feed['title'])}</title><id>urn:fake:{name}</id>"
                    f"<updated>{feed['modified'].strftime('%Y-%m-%dT%H:%M:%SZ')}</updated>{entries}</feed>")
        else:
            entries = "".join(
                f"<item><title>{escape(i['title'])}</title><link>{escape(i['link'])}</link>"
                f"<guid isPermaLink=\"true\">{escape(i['guid'])}</guid><pubDate>{format_datetime(i['at'])}</pubDate>"
                f"<description>{escape(i['html'])}</description></item>"
                for i in items)
            text = (f'<?xml version="1.0" encoding="{encoding}"?><rss version="2.0"><channel>'
                    f"<title>{escape(feed['title'])}</title><link>https://lepetitrivebellois.fr/</link>"
                    f"<language>fr-FR</language><description>Actualités</description>{entries}</channel></rss>")
        return text.encode(encoding, errors="xmlcharrefreplace")

    async def serve(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in self.feeds:
            return web.Response(status=404, text="Not Found")
        feed = self.feeds[name]
        body = self.render(name)
        etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        last_modified = format_datetime(feed["modified"], usegmt=True)
        headers = {"ETag": etag, "Last-Modified": last_modified}
        if request.headers.get("If-None-Match") == etag:
            self.not_modified += 1
            return web.Response(status=304, headers=headers)
        since = request.headers.get("If-Modified-Since")
        if since and "If-None-Match" not in request.headers and parsedate_to_datetime(since) >= feed["modified"].replace(microsecond=0):
            self.not_modified += 1
            return web.Response(status=304, headers=headers)
        content_type = "application/atom+xml" if feed["kind"] == "atom" else "application/rss+xml"
        return web.Response(body=body, headers={**headers, "Content-Type": f"{content_type}; charset={feed['encoding']}"})
