"""Local fakes of the external APIs (aiohttp servers on 127.0.0.1, port 0), with fault injection.

Every fake records the requests it received and can be told to misbehave on the next requests of a
path: `fake.inject("500", path="/api/v1/timelines/tag/", times=2)`. Faults:
- "500" / "503": a server error with a JSON body;
- "429": rate limited, with `Retry-After: <retry_after>` (and the API's own rate-limit headers);
- "429-bare": rate limited with no Retry-After at all (only the API's usual headers);
- "reset": the connection is dropped before any answer;
- "timeout": the answer is delayed by `delay` seconds (longer than the client's timeout);
- "truncated": the real answer is cut half-way (Content-Length promises more, then the socket closes);
- "malformed": the real answer's body cut in half, delivered as a complete but invalid document.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Fault:
    kind: str
    path: str | None = None
    times: int = 1
    retry_after: float = 0.05
    delay: float = 1.0


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str] = field(default_factory=dict)


class FakeServer:
    """Base of the fakes: subclasses add routes in `routes()` and rate-limit headers in `limit_headers()`."""

    def __init__(self) -> None:
        self.app = web.Application(middlewares=[self._middleware])
        self.app.add_routes(self.routes())
        self.faults: list[Fault] = []
        self.requests: list[Seen] = []
        self.faults_served: list[str] = []
        self.runner: web.AppRunner | None = None
        self.port: int | None = None

    def routes(self) -> list[web.RouteDef]:
        return []

    def limit_headers(self) -> dict[str, str]:
        return {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> FakeServer:
        self.runner = web.AppRunner(self.app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def close(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    async def __aenter__(self) -> FakeServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def inject(self, *kinds: str, path: str | None = None, times: int = 1, retry_after: float = 0.05,
               delay: float = 1.0) -> None:
        for kind in kinds:
            self.faults.append(Fault(kind, path, times, retry_after, delay))

    def hits(self, prefix: str) -> list[Seen]:
        return [seen for seen in self.requests if seen.path.startswith(prefix)]

    def _take_fault(self, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.path is None or path.startswith(fault.path):
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        query: dict[str, list[str]] = {}
        for key, value in request.query.items():
            query.setdefault(key, []).append(value)
        self.requests.append(Seen(request.method, request.path, query, dict(request.headers)))
        fault = self._take_fault(request.path)
        if fault is None:
            response = await handler(request)
            response.headers.update(self.limit_headers())
            return response
        self.faults_served.append(fault.kind)
        if fault.kind in ("500", "502", "503"):
            return web.json_response({"error": "Internal Server Error"}, status=int(fault.kind))
        if fault.kind == "429":
            headers = {**self.limit_headers(), **self.rate_limited_headers(fault.retry_after)}
            return web.json_response({"error": "Too many requests"}, status=429, headers=headers)
        if fault.kind == "429-bare":
            return web.json_response({"error": "Too many requests"}, status=429, headers=self.limit_headers())
        if fault.kind == "reset":
            assert request.transport is not None
            request.transport.abort()
            raise asyncio.CancelledError  # nothing is written: the client sees a dropped connection
        if fault.kind == "timeout":
            await asyncio.sleep(fault.delay)
            return await handler(request)
        real = await handler(request)
        assert isinstance(real, web.Response) and real.body is not None
        body = bytes(real.body)  # type: ignore[arg-type]
        if fault.kind == "malformed":
            return web.Response(body=body[: len(body) // 2], status=real.status, content_type=real.content_type)
        if fault.kind == "truncated":
            response = web.StreamResponse(status=real.status, headers={"Content-Type": real.content_type})
            response.content_length = len(body)
            await response.prepare(request)
            await response.write(body[: len(body) // 2])
            assert request.transport is not None
            request.transport.abort()
            return response
        raise AssertionError(f"unknown fault {fault.kind}")

    def rate_limited_headers(self, retry_after: float) -> dict[str, str]:
        return {"Retry-After": f"{retry_after:g}"}


# Settings that make a polling source fast enough for tests (seconds).
FAST = {
    "poll_interval": 0.05,
    "jitter": 0.0,
    "timeout": 0.5,
    "backoff_initial": 0.01,
    "backoff_max": 0.05,
    "max_retry_after": 2.0,
}


async def wait_for(predicate: Callable[[], bool], timeout: float = 30.0, interval: float = 0.01) -> None:
    """Wait until `predicate()` is true; fail the test with a clear message otherwise.

    The deadline only bounds a hung test: it is generous because a busy CI machine can be ten times slower
    than a quiet one, and a passing test never waits for it.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)
