"""A fake Jetstream: `GET /subscribe` upgraded to a websocket streaming JSON events, as the real one.

- `wantedCollections` filters commit events by collection (identity/account events always pass);
- `cursor` (unix microseconds) replays from the first event with `time_us >= cursor`; without it the
  stream is a live tail (only events published after connecting);
- `drop_every = N` drops the connection abruptly after every N messages sent on it (fault injection);
- `junk_every = N` sends a malformed frame after every N events; `publish()` adds live events.

`make_post()` builds events shaped like Jetstream's: {did, time_us, kind: "commit", commit: {rev,
operation: "create", collection, rkey, record: {$type, text, createdAt, langs, facets}, cid}}.
"""

from __future__ import annotations

import asyncio
import bisect
import json
from datetime import UTC, datetime
from typing import Any

from aiohttp import WSMsgType, web

from tests.fakes import FakeServer

T0_US = int(datetime(2026, 11, 17, 8, 0, tzinfo=UTC).timestamp() * 1_000_000)


def make_post(i: int, text: str, *, langs: list[str] | None = None, tags: list[str] = (),  # type: ignore[assignment]
              time_us: int | None = None, created_at: str | None = None, did: str | None = None) -> dict[str, Any]:
    time_us = time_us if time_us is not None else T0_US + i * 1000
    record: dict[str, Any] = {
        "$type": "app.bsky.feed.post",
        "text": text,
        "createdAt": created_at or datetime.fromtimestamp(time_us / 1_000_000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "langs": ["fr"] if langs is None else langs,
    }
    if tags:
        record["facets"] = [
            {"index": {"byteStart": 0, "byteEnd": 1}, "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": t}]}
            for t in tags
        ]
    return {
        "did": did or f"did:plc:user{i % 997:04d}",
        "time_us": time_us,
        "kind": "commit",
        "commit": {
            "rev": f"3l{i:011d}",
            "operation": "create",
            "collection": "app.bsky.feed.post",
            "rkey": f"3k{i:011d}",
            "record": record,
            "cid": f"bafyrei{i:020d}",
        },
    }


def make_other(i: int, kind: str = "like", time_us: int | None = None) -> dict[str, Any]:
    time_us = time_us if time_us is not None else T0_US + i * 1000
    if kind == "identity":
        return {"did": "did:plc:x", "time_us": time_us, "kind": "identity",
                "identity": {"did": "did:plc:x", "handle": "x.bsky.social", "seq": i, "time": "2026-11-17T08:00:00Z"}}
    return {"did": "did:plc:x", "time_us": time_us, "kind": "commit",
            "commit": {"rev": "r", "operation": "create", "collection": "app.bsky.feed.like", "rkey": f"l{i}",
                       "record": {"$type": "app.bsky.feed.like"}, "cid": "c"}}


class FakeJetstream(FakeServer):
    def __init__(self, events: list[dict[str, Any]] | None = None, *, serialized: list[str] | None = None) -> None:
        self.times: list[int] = []
        self.frames: list[str] = []
        self.collections: list[str | None] = []
        self.drop_every: int | None = None
        self.junk_every: int | None = None
        self.connections: list[dict[str, str]] = []
        self.sent = 0
        self._new = asyncio.Event()
        self.sockets: set[web.WebSocketResponse] = set()
        super().__init__()
        self.app.on_shutdown.append(self._close_sockets)
        for event in events or ():
            self.add(event)
        for frame in serialized or ():
            self.add_frame(frame)

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/subscribe", self.subscribe)]

    async def _close_sockets(self, _app: web.Application) -> None:
        for ws in list(self.sockets):
            await ws.close()

    def add(self, event: dict[str, Any]) -> None:
        self.add_frame(json.dumps(event, ensure_ascii=False), event)

    def add_frame(self, frame: str, event: dict[str, Any] | None = None) -> None:
        event = event if event is not None else json.loads(frame)
        self.times.append(event["time_us"])
        self.frames.append(frame)
        commit = event.get("commit") if event.get("kind") == "commit" else None
        self.collections.append(commit.get("collection") if isinstance(commit, dict) else None)

    def publish(self, event: dict[str, Any]) -> None:
        self.add(event)
        self._new.set()

    async def subscribe(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(compress=False)
        await ws.prepare(request)
        self.sockets.add(ws)
        self.connections.append(dict(request.query))
        wanted = set(request.query.getall("wantedCollections", []))
        if "cursor" in request.query:
            index = bisect.bisect_left(self.times, int(request.query["cursor"]))
        else:
            index = len(self.frames)
        sent_here = 0
        try:
            while not ws.closed:
                if index >= len(self.frames):
                    self._new.clear()
                    waiter = asyncio.ensure_future(self._new.wait())
                    reader = asyncio.ensure_future(ws.receive())
                    done, _ = await asyncio.wait({waiter, reader}, return_when=asyncio.FIRST_COMPLETED)
                    waiter.cancel()
                    if reader in done:
                        if reader.result().type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.ERROR):
                            break
                    else:
                        reader.cancel()
                    continue
                collection = self.collections[index]
                frame = self.frames[index]
                index += 1
                if wanted and collection is not None and collection not in wanted:
                    continue
                await ws.send_str(frame)
                sent_here += 1
                self.sent += 1
                if self.junk_every and sent_here % self.junk_every == 0:
                    await ws.send_str('{"did": "did:plc:broken", "time_us": ')
                if self.drop_every and sent_here % self.drop_every == 0:
                    assert request.transport is not None
                    request.transport.abort()
                    return ws
                if sent_here % 256 == 0:
                    await asyncio.sleep(0)  # let other connections and the test breathe
        except ConnectionResetError:
            pass
        finally:
            self.sockets.discard(ws)
        return ws
