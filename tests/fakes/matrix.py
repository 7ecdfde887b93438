"""A fake Matrix homeserver (client-server API v3, spec.matrix.org/latest/client-server-api), enough for
a bot posting to rooms, as Tchap or Synapse answer it:

- `PUT /_matrix/client/v3/rooms/{roomId}/send/{eventType}/{txnId}` → `{"event_id": "$…"}`. The
  transaction id is scoped to the access token: the same (token, txnId) again returns the same event id
  and stores nothing new (the spec's idempotency rule);
- `GET /_matrix/client/v3/directory/room/{roomAlias}` → `{"room_id", "servers"}`, or 404 M_NOT_FOUND;
- errors are `{"errcode", "error"}`: 401 M_MISSING_TOKEN / M_UNKNOWN_TOKEN, 403 M_FORBIDDEN when the user
  is not in the room, 400 M_BAD_JSON / M_NOT_JSON;
- rate limiting (`limit(times, retry_after_ms)`): 429 M_LIMIT_EXCEEDED with `retry_after_ms` and
  `Retry-After`.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from html.parser import HTMLParser
from typing import Any

from aiohttp import web

from tests.fakes import FakeServer

# Tags and attributes the spec lets clients render in org.matrix.custom.html (m.room.message formats).
ALLOWED_TAGS = {"font", "del", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "p", "a", "ul", "ol", "sup", "sub",
                "li", "b", "i", "u", "strong", "em", "s", "code", "hr", "br", "div", "table", "thead", "tbody", "tr",
                "th", "td", "caption", "pre", "span", "img", "details", "summary"}
ALLOWED_ATTRS = {"font": {"data-mx-bg-color", "data-mx-color", "color"}, "span": {"data-mx-bg-color", "data-mx-color",
                 "data-mx-spoiler"}, "a": {"href", "target"}, "img": {"width", "height", "alt", "title", "src"},
                 "ol": {"start"}, "code": {"class"}}


class _Audit(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.links: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            self.problems.append(f"tag {tag}")
        for name, value in attrs:
            if name not in ALLOWED_ATTRS.get(tag, set()):
                self.problems.append(f"attribute {tag}.{name}")
            if tag == "a" and name == "href":
                self.links.append(value or "")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def audit_html(formatted: str) -> _Audit:
    """What a spec-following client would render: disallowed tags/attributes, links, visible text."""
    parser = _Audit()
    parser.feed(formatted)
    parser.close()
    return parser


class FakeMatrix(FakeServer):
    def __init__(self, token: str = "syt_vigie_test", server: str = "agent.rivebelle.tchap.gouv.fr",
                 delay: float = 0.0) -> None:
        self.token = token
        self.server = server
        self.delay = delay
        self.rooms = {f"!veille:{server}": {f"#veille:{server}"}, f"!cabinet:{server}": set()}
        self.events: list[dict[str, Any]] = []  # stored events (each once)
        self.puts: list[str] = []  # every PUT received (txn ids), repeats included
        self.transactions: dict[tuple[str, str], str] = {}
        self.limited = 0
        self.retry_after_ms = 50
        super().__init__()

    @property
    def homeserver(self) -> str:
        return self.url

    def room(self, name: str = "veille") -> str:
        return f"!{name}:{self.server}"

    def alias(self, name: str = "veille") -> str:
        return f"#{name}:{self.server}"

    def limit(self, times: int = 1, retry_after_ms: int = 50) -> None:
        self.limited, self.retry_after_ms = times, retry_after_ms

    def routes(self) -> list[web.RouteDef]:
        return [
            web.put("/_matrix/client/v3/rooms/{room}/send/{type}/{txn}", self.send),
            web.get("/_matrix/client/v3/directory/room/{alias}", self.directory),
        ]

    @staticmethod
    def _error(status: int, code: str, message: str, **extra: Any) -> web.Response:
        return web.json_response({"errcode": code, "error": message, **extra}, status=status,
                                 headers={"Retry-After": str(max(1, extra["retry_after_ms"] // 1000))}
                                 if "retry_after_ms" in extra else None)

    def _auth(self, request: web.Request) -> web.Response | None:
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ") if header.startswith("Bearer ") else request.query.get("access_token")
        if not token:
            return self._error(401, "M_MISSING_TOKEN", "Missing access token")
        if token != self.token:
            return self._error(401, "M_UNKNOWN_TOKEN", "Unrecognised access token", soft_logout=False)
        return None

    async def directory(self, request: web.Request) -> web.Response:
        denied = self._auth(request)
        if denied:
            return denied
        alias = request.match_info["alias"]
        for room, aliases in self.rooms.items():
            if alias in aliases:
                return web.json_response({"room_id": room, "servers": [self.server]})
        return self._error(404, "M_NOT_FOUND", f"Room alias {alias} not found")

    async def send(self, request: web.Request) -> web.Response:
        denied = self._auth(request)
        if denied:
            return denied
        txn = request.match_info["txn"]
        self.puts.append(txn)
        if self.limited > 0:
            self.limited -= 1
            return self._error(429, "M_LIMIT_EXCEEDED", "Too Many Requests", retry_after_ms=self.retry_after_ms)
        room = request.match_info["room"]
        if room not in self.rooms:
            return self._error(403, "M_FORBIDDEN", f"User @vigie:{self.server} not in room {room}")
        try:
            content = json.loads(await request.read())
        except ValueError:
            return self._error(400, "M_NOT_JSON", "Content not JSON.")
        if not isinstance(content, dict) or not isinstance(content.get("body"), str) or "msgtype" not in content:
            return self._error(400, "M_BAD_JSON", "'body' and 'msgtype' are required for m.room.message")
        if self.delay:
            await asyncio.sleep(self.delay)
        known = self.transactions.get((self.token, txn))
        if known is not None:
            return web.json_response({"event_id": known})  # same transaction: same event, not posted twice
        event_id = "$" + secrets.token_urlsafe(16)
        self.transactions[(self.token, txn)] = event_id
        self.events.append({"event_id": event_id, "room_id": room, "type": request.match_info["type"],
                            "txn_id": txn, "content": content})
        return web.json_response({"event_id": event_id})
