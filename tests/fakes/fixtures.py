"""Serve recorded real payloads (../shared/conformance/fixtures) to the real collectors.

`FixtureServer` answers any path it was given with the recorded bytes and headers (the Mastodon
Content-Type and Link header kept in `*.meta.json`, the `Header:` line a feedparser test file asks
for, an ETag so conditional GET can be checked). `run_poll()` builds a collector with the real
pipeline (dedupe, language, store in a real SQLite file) and runs one poll against it, on a clock
fixed far in the future, so any mention dated "now" instead of its own date is caught.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from listener.clock import Clock
from listener.metrics import Metrics
from listener.models import Mention
from listener.pipeline import Pipeline
from listener.settings_base import StrictModel
from listener.sources import SourceContext, registry
from listener.store import Store
from tests.conftest import SHARED
from tests.fakes import FakeServer

FIXTURES = SHARED / "conformance" / "fixtures"
# "Now" for the collectors under test: no real payload is dated 2099, so a mention dated this was
# dated from the clock instead of its payload.
NOW = datetime(2099, 1, 1, tzinfo=UTC)


class FixedClock(Clock):
    def now(self) -> datetime:
        return NOW


class FixtureServer(FakeServer):
    """Answers GET <path> with recorded bytes; 304 when If-None-Match carries the ETag served."""

    def __init__(self) -> None:
        self.bodies: dict[str, tuple[bytes, dict[str, str]]] = {}
        super().__init__()

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/{tail:.*}", self.serve)]

    def put(self, path: str, body: bytes, content_type: str = "application/json", **headers: str) -> None:
        etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        self.bodies[path] = (body, {"Content-Type": content_type, "ETag": etag, **headers})

    async def serve(self, request: web.Request) -> web.StreamResponse:
        if request.path not in self.bodies:
            return web.json_response({"error": "Record not found"}, status=404)
        body, headers = self.bodies[request.path]
        if request.headers.get("If-None-Match") == headers["ETag"]:
            return web.Response(status=304, headers={"ETag": headers["ETag"]})
        return web.Response(body=body, headers=headers)


class PipelineSink:
    """The daemon's pipeline, run inline: what it stores is what the daemon would store."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline

    async def put(self, mentions: list[Mention], *, source: str, cursor: str | None = None) -> None:
        self.pipeline.handle(mentions, source, cursor)


def feedparser_content_type(raw: bytes) -> str:
    """The Content-Type a feedparser test file asks to be served with (its `Header:` comment)."""
    match = re.search(rb"Header:\s*Content-type:\s*([^\r\n]+)", raw[:2000], re.IGNORECASE)
    return match.group(1).decode("latin-1").strip() if match else "application/xml"


def settings_for(source: dict[str, Any]) -> StrictModel:
    from pydantic import TypeAdapter

    from listener.sources.registry import SourceSettings

    return TypeAdapter(SourceSettings).validate_python(source)


class Harness:
    """One store, one pipeline, one collector: `poll()` runs a poll and returns what was stored."""

    def __init__(self, tmp_path: Path, source: dict[str, Any]) -> None:
        self.store = Store(tmp_path / "conformance.db")
        metrics = Metrics()
        self.pipeline = Pipeline(self.store, clock=FixedClock(), metrics=metrics, classifier=None, languages=["fr"])
        settings = settings_for(source)
        self.context = SourceContext(store=self.store, clock=FixedClock(), metrics=metrics)
        self.source = registry.create(settings, self.context)
        self.sink = PipelineSink(self.pipeline)

    async def poll(self) -> dict[str, Mention]:
        self.source.restore_cursors()
        await self.source.poll_once(self.sink)
        return self.stored()

    def stored(self) -> dict[str, Mention]:
        return {m.external_id: m for m in self.store.recent_mentions(100_000)}

    def rejected(self) -> list[tuple[str, str]]:
        return [(row[0], row[1]) for row in self.store.conn.execute("SELECT error, payload FROM rejected_payloads")]

    async def close(self) -> None:
        if self.source._own_session is not None:
            await self.source._own_session.close()
        self.store.close()


def load(relative: str) -> Any:
    return json.loads((FIXTURES / relative).read_text(encoding="utf-8"))


def meta(relative: str) -> dict[str, Any]:
    path = FIXTURES / relative.replace(".json", ".meta.json")
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
