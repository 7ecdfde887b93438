"""Bluesky Jetstream collector: the network's posts as a websocket stream, filtered here.

It subscribes with `wantedCollections=app.bsky.feed.post`, keeps new posts (`commit` / `create`) whose
language (declared, else identified) is wanted and whose text or tags match the configured keywords/hashtags, and hands
them over in batches of `batch_size` or every `flush_interval` seconds.

Resume: the cursor is the `time_us` of the last event handed over (matching or not); the pipeline stores
it with the batch. On a reconnect the stream restarts at that cursor minus `rewind_seconds` (on a fresh
start, at the stored cursor minus the same margin); the overlap is dropped by the dedupe, so a dropped
connection neither loses nor doubles a post. A batch not yet handed over when the task is cancelled
is not covered by any stored cursor, so it is simply read again on the next start.
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import aiohttp
from pydantic import Field
from yarl import URL

from classifiers.language import UNDETERMINED, detect_language, primary_subtag
from listener.models import MAX_TEXT_LENGTH, Mention
from listener.sources.base import MentionSink, Source, SourceContext, SourcePlugin
from listener.sources.settings import DEFAULT_USER_AGENT, BaseSourceSettings
from listener.sources.text import Matcher, trim_raw
from listener.timeutil import parse_time

POST = "app.bsky.feed.post"
TAG_FACET = "app.bsky.richtext.facet#tag"


class ConnectionLost(Exception):
    pass


class JetstreamSourceSettings(BaseSourceSettings):
    type: Literal["jetstream"] = "jetstream"
    # Jetstream websocket endpoint (tests point it at a fake).
    url: str = "wss://jetstream2.us-east.bsky.network/subscribe"
    # Keywords that pick posts out of the stream (accents and case ignored, whole words).
    keywords: list[str] = Field(default_factory=list)
    # Hashtags that pick posts out of the stream (without '#').
    hashtags: list[str] = Field(default_factory=list)
    # Keep only posts in one of these languages; empty keeps all. Posts without `langs` are identified
    # (py3langid): another language is dropped, an undetermined one ("und") is kept.
    languages: list[str] = Field(default_factory=lambda: ["fr"])
    # Mentions handed to the pipeline per batch.
    batch_size: int = Field(default=500, ge=1)
    # Seconds after which a partial batch (and the cursor) is handed over anyway.
    flush_interval: float = Field(default=1.0, gt=0)
    # Seconds replayed before the last stored event when reconnecting (duplicates are dropped).
    rewind_seconds: float = Field(default=5.0, ge=0)
    # First reconnect delay in seconds; doubles up to reconnect_max while the connection keeps failing.
    reconnect_initial: float = Field(default=1.0, ge=0)
    # Longest reconnect delay in seconds.
    reconnect_max: float = Field(default=60.0, ge=0)
    # Seconds without any message before the connection is considered dead and reopened.
    idle_timeout: float = Field(default=60.0, gt=0)
    # Seconds allowed to open the websocket.
    connect_timeout: float = Field(default=20.0, gt=0)
    # Largest message accepted (bytes).
    max_message_bytes: int = Field(default=4_000_000, ge=1024)
    # Largest `raw` payload kept per mention (characters of JSON).
    max_raw_chars: int = Field(default=20_000, ge=500)
    # User-Agent sent when connecting.
    user_agent: str = DEFAULT_USER_AGENT


class JetstreamSource(Source):
    type = "jetstream"
    settings: JetstreamSourceSettings

    def __init__(self, settings: JetstreamSourceSettings, context: SourceContext) -> None:
        super().__init__(settings, context)
        self.matcher = Matcher(settings.keywords, settings.hashtags)
        self.languages = {lang.lower() for lang in settings.languages}
        self.batch: list[Mention] = []
        self.cursor: int | None = None  # time_us of the last event seen
        self.handed_cursor: int | None = None  # time_us covered by what was handed to the pipeline
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._own_session: aiohttp.ClientSession | None = None
        self.rewind_us = int(settings.rewind_seconds * 1_000_000)
        self.health.extra.update(
            {"connected": False, "connections": 0, "events": 0, "posts": 0, "matched": 0, "malformed": 0,
             "cursor": None, "lag_seconds": None, "silent": False}
        )

    @property
    def session(self) -> aiohttp.ClientSession:
        if self.context.http is not None and not self.context.http.closed:
            return self.context.http
        if self._own_session is None or self._own_session.closed:
            self._own_session = aiohttp.ClientSession()
        return self._own_session

    def connect_url(self) -> str:
        url = URL(self.settings.url)
        query: list[tuple[str, str]] = [(k, v) for k, v in url.query.items() if k not in ("wantedCollections", "cursor")]
        query.append(("wantedCollections", POST))
        resume = self.handed_cursor
        if resume is not None:
            query.append(("cursor", str(max(0, resume - self.rewind_us))))
        return str(url.with_query(query))

    async def run(self, sink: MentionSink) -> None:
        stored = self.load_cursor()
        self.handed_cursor = int(stored) if stored and stored.isdigit() else None
        self.cursor = self.handed_cursor
        delay = self.settings.reconnect_initial
        self.rewind_us = int(self.settings.rewind_seconds * 1_000_000)
        try:
            while True:
                received = 0
                started_at = self.handed_cursor
                try:
                    received = await self._connection(sink)
                    raise ConnectionLost("the server closed the stream")
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    self.health.extra["connected"] = False
                    self.record_error(exc)
                    self.log.warning("jetstream %s: %s; reconnecting in %.1fs", self.name, self.health.last_error, delay)
                    # Events received in full before the drop are good: hand them over with their cursor.
                    await self.flush(sink)
                self._adapt_rewind(started_at)
                if received:
                    delay = self.settings.reconnect_initial
                await asyncio.sleep(delay)
                delay = min(max(delay * 2, 0.01), self.settings.reconnect_max)
        finally:
            self.health.extra["connected"] = False
            if self._own_session is not None:
                await self._own_session.close()

    def _adapt_rewind(self, started_at: int | None) -> None:
        """Keep the rewind below what the last connection achieved, so a server that drops the stream
        every few messages cannot trap us re-reading the same window: progress is guaranteed."""
        full = int(self.settings.rewind_seconds * 1_000_000)
        if started_at is None or self.handed_cursor is None:
            self.rewind_us = full
            return
        progress = self.handed_cursor - started_at
        self.rewind_us = max(0, min(full, progress // 2))

    async def _connection(self, sink: MentionSink) -> int:
        """Read one websocket connection until it ends; returns the number of messages received."""
        settings = self.settings
        loop = asyncio.get_running_loop()
        received = 0
        async with self.session.ws_connect(
            self.connect_url(),
            headers={"User-Agent": settings.user_agent},
            max_msg_size=settings.max_message_bytes,
            timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=5.0),
            autoping=True,
        ) as ws:
            self.health.extra["connected"] = True
            self.health.extra["connections"] += 1
            self.health.state = "ok"
            self.log.info("jetstream %s connected (%s)", self.name, self.connect_url())
            flush_at = loop.time() + settings.flush_interval
            last_message = loop.time()
            while True:
                now = loop.time()
                if now >= flush_at:
                    await self.flush(sink)
                    flush_at = now + settings.flush_interval
                    if now - last_message > settings.idle_timeout:
                        raise ConnectionLost(f"no message for {settings.idle_timeout:g}s")
                try:
                    message = await ws.receive(timeout=max(0.001, flush_at - now))
                except TimeoutError:
                    continue
                if message.type == aiohttp.WSMsgType.TEXT:
                    received += 1
                    last_message = loop.time()
                    self.handle(message.data)
                    if len(self.batch) >= settings.batch_size:
                        await self.flush(sink)
                        flush_at = loop.time() + settings.flush_interval
                elif message.type == aiohttp.WSMsgType.BINARY:
                    received += 1
                    self.health.extra["malformed"] += 1  # zstd-compressed frames are not requested
                elif message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED):
                    break
                elif message.type == aiohttp.WSMsgType.ERROR:
                    raise ConnectionLost(f"websocket error: {ws.exception()}")
            await self.flush(sink)
        return received

    def handle(self, data: str) -> None:
        """One Jetstream event: move the cursor, keep the post if it is wanted."""
        try:
            event = json.loads(data)
            time_us = event["time_us"]
        except (ValueError, TypeError, KeyError):
            self.health.extra["malformed"] += 1
            self.context.metrics.invalid_payloads.labels(source=self.name).inc()
            return
        if not isinstance(time_us, int):
            self.health.extra["malformed"] += 1
            return
        self.health.extra["events"] += 1
        if self.cursor is None or time_us > self.cursor:
            self.cursor = time_us
        if event.get("kind") != "commit":
            return
        commit = event.get("commit")
        if not isinstance(commit, dict) or commit.get("operation") != "create" or commit.get("collection") != POST:
            return
        self.health.extra["posts"] += 1
        mention = self.to_mention(event, commit, time_us)
        if mention is not None:
            self.batch.append(mention)

    def to_mention(self, event: dict[str, Any], commit: dict[str, Any], time_us: int) -> Mention | None:
        record = commit.get("record")
        if not isinstance(record, dict):
            return None
        text = record.get("text")
        if not isinstance(text, str) or not text.strip():
            return None
        langs = record.get("langs") or []
        declared = [p for p in (primary_subtag(lang) for lang in langs) if p] if isinstance(langs, list) else []
        if self.languages and declared and not any(lang in self.languages for lang in declared):
            return None
        tags: list[str] = []
        for facet in record.get("facets") or ():
            if isinstance(facet, dict):
                for feature in facet.get("features") or ():
                    if isinstance(feature, dict) and feature.get("$type") == TAG_FACET and isinstance(feature.get("tag"), str):
                        tags.append(feature["tag"])
        matched = self.matcher.match(text, tags) if not self.matcher.empty else ["*"]
        if not matched:
            return None
        # No declared language: identified here (after the match, so only wanted posts pay for it),
        # and a post in another language is dropped like a declared one; "und" is kept.
        lang = declared[0] if declared else detect_language(text)
        if self.languages and not declared and lang != UNDETERMINED and lang not in self.languages:
            return None
        did, rkey = event.get("did"), commit.get("rkey")
        if not isinstance(did, str) or not isinstance(rkey, str):
            self.health.extra["malformed"] += 1
            return None
        uri = f"at://{did}/{POST}/{rkey}"
        if uri in self._seen:
            return None  # already handed over (the rewind after a reconnect)
        self._seen[uri] = None
        if len(self._seen) > 100_000:
            self._seen.popitem(last=False)
        seen_at = datetime.fromtimestamp(time_us / 1_000_000, UTC)
        try:
            created_at = parse_time(record["createdAt"])
        except (KeyError, TypeError, ValueError, OverflowError, OSError):
            created_at = seen_at
        if created_at > seen_at + timedelta(minutes=5):
            created_at = seen_at  # a client clock in the future must not pollute future minute buckets
        self.health.extra["matched"] += 1
        return Mention(
            source=self.name,
            external_id=uri,
            text=text[:MAX_TEXT_LENGTH],
            created_at=created_at,
            url=f"https://bsky.app/profile/{did}/post/{rkey}",
            author_handle=did,
            lang=lang,
            matched=matched,
            raw=trim_raw(event, self.settings.max_raw_chars),
        )

    async def flush(self, sink: MentionSink) -> None:
        """Hand the batch and the cursor that covers it to the pipeline (also when only the cursor moved)."""
        if not self.batch and self.cursor == self.handed_cursor:
            self.update_silence()
            return
        batch, self.batch = self.batch, []
        cursor = self.cursor
        await sink.put(batch, source=self.name, cursor=str(cursor) if cursor is not None else None)
        self.handed_cursor = cursor
        self.record_success(batch)
        if cursor is not None:
            self.health.extra["cursor"] = cursor
            lag = self.context.clock.now().timestamp() - cursor / 1_000_000
            self.health.extra["lag_seconds"] = round(lag, 3)
        self.update_silence()


EXAMPLE = """
[[sources]]
name = "bluesky-direct"
type = "jetstream"
enabled = false
url = "wss://jetstream2.us-east.bsky.network/subscribe"
keywords = ["Ma Ville"]
hashtags = ["MaVille"]
languages = ["fr"]
"""

PLUGIN = SourcePlugin(
    type="jetstream",
    description="Bluesky en continu (Jetstream) : tout le réseau filtré ici par mots-clés, hashtags et langue.",
    settings=JetstreamSourceSettings,
    example=EXAMPLE,
    create=JetstreamSource,
)
