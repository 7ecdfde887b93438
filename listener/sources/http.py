"""Shared machinery of the HTTP polling collectors, written once.

- A poll loop per source, with jitter so sources do not poll in step; one failed poll is logged and
  recorded in `health`, and the next one runs at the usual interval (the daemon keeps going).
- `fetch()`: per-request timeout, retries with exponential backoff on network errors, timeouts,
  truncated or malformed bodies and 5xx; 429 honoured with `Retry-After` or the rate-limit headers of
  Mastodon (`X-RateLimit-Reset`, ISO time), Bluesky (`ratelimit-reset`, epoch seconds) and Reddit
  (`x-ratelimit-reset`, seconds from now); a quota at zero delays the next request until its reset.
- Cursors: a source keeps one JSON object of per-stream cursors; `emit()` hands a batch to the pipeline
  together with the cursor state that covers it, and the pipeline stores both in one transaction, so a
  crash resumes after the last stored batch: nothing is skipped, and the store's dedupe absorbs replays.
- Health: poll/request/retry/rate-limit counters, last HTTP status, whether the source is silent.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from multidict import CIMultiDictProxy

from listener.models import MAX_TEXT_LENGTH, Mention
from listener.sources.base import MentionSink, Source, SourceContext
from listener.sources.settings import PollingSourceSettings
from listener.sources.text import trim_raw


class FetchError(Exception):
    """A request that failed for good (after retries, or not worth retrying)."""

    def __init__(self, message: str, *, status: int | None = None, retryable: bool = True,
                 kind: str | None = None, body: bytes = b"") -> None:
        super().__init__(message)
        self.status = status
        self.retryable = retryable
        # "auth" (token expired or refused), "quota" (a budget spent until its reset), or None.
        self.kind = kind
        self.body = body


@dataclass
class ApiVerdict:
    """How a collector reads an API's own error answer (Graph API throttling is a 400, YouTube's
    quota a 403...): `kind` is "rate_limited" (wait `delay` and retry), "quota" or "auth" (give up)."""

    kind: str
    delay: float | None = None
    message: str = ""


@dataclass
class Fetched:
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes
    url: str
    links: dict[str, str]
    data: Any = None

    def json(self) -> Any:
        if self.data is None:
            try:
                self.data = json.loads(self.body)
            except (ValueError, UnicodeDecodeError) as exc:
                raise FetchError(f"malformed JSON from {self.url}: {exc}", status=self.status) from None
        return self.data


def _seconds_until(value: str | None, *, now: float) -> float | None:
    """Delay announced by a Retry-After or rate-limit reset header, in seconds from now."""
    if not value:
        return None
    value = value.strip()
    try:
        number = float(value)
    except ValueError:
        number = None
    if number is not None:
        return max(0.0, number - now) if number > 1e9 else max(0.0, number)  # epoch seconds or a delay
    moment: datetime | None = None
    try:
        moment = parsedate_to_datetime(value)  # HTTP date (Retry-After)
    except (TypeError, ValueError, IndexError):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))  # ISO (Mastodon)
        except ValueError:
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, moment.timestamp() - now)


def rate_limit_delay(headers: CIMultiDictProxy[str] | dict[str, str], *, now: float | None = None) -> float | None:
    """How long the server asks us to wait (429), from Retry-After first, then the reset headers."""
    now = time.time() if now is None else now
    delay = _seconds_until(headers.get("Retry-After"), now=now)
    if delay is not None:
        return delay
    for name in ("X-RateLimit-Reset", "RateLimit-Reset", "x-rate-limit-reset"):
        delay = _seconds_until(headers.get(name), now=now)
        if delay is not None:
            return delay
    return None


def quota_exhausted(headers: CIMultiDictProxy[str]) -> bool:
    for name in ("X-RateLimit-Remaining", "RateLimit-Remaining", "x-rate-limit-remaining"):
        value = headers.get(name)
        if value is not None:
            try:
                return float(value) < 1
            except ValueError:
                return False
    return False


class PollingSource(Source):
    """Base of the HTTP collectors: subclasses implement `poll(sink)` (one round over their streams)."""

    settings: PollingSourceSettings

    def __init__(self, settings: PollingSourceSettings, context: SourceContext) -> None:
        super().__init__(settings, context)
        self.cursors: dict[str, Any] = {}
        self._own_session: aiohttp.ClientSession | None = None
        self._not_before = 0.0  # monotonic time before which no request is sent (quota exhausted)
        self._auth_paused_until = 0.0  # monotonic time before which no poll is tried (token refused)
        self._seen: OrderedDict[str, None] = OrderedDict()
        self.health.extra.update(
            {"polls": 0, "requests": 0, "retries": 0, "rate_limited": 0, "last_status": None, "silent": False}
        )

    # -- lifecycle ------------------------------------------------------------------------------

    @property
    def session(self) -> aiohttp.ClientSession:
        if self.context.http is not None and not self.context.http.closed:
            return self.context.http
        if self._own_session is None or self._own_session.closed:
            self._own_session = aiohttp.ClientSession()
        return self._own_session

    def restore_cursors(self) -> None:
        stored = self.load_cursor()
        if not stored:
            self.cursors = {}
            return
        try:
            value = json.loads(stored)
        except ValueError:
            self.log.warning("stored cursor of %s is not JSON; starting afresh", self.name)
            value = {}
        self.cursors = value if isinstance(value, dict) else {}

    async def run(self, sink: MentionSink) -> None:
        self.restore_cursors()
        try:
            while True:
                await self.poll_once(sink)
                await asyncio.sleep(self.next_delay())
        finally:
            if self._own_session is not None:
                await self._own_session.close()

    def next_delay(self) -> float:
        spread = self.settings.jitter
        return self.settings.poll_interval * (1 + random.uniform(-spread, spread))

    async def poll_once(self, sink: MentionSink) -> None:
        """One poll; an error is recorded and logged, never raised (the loop carries on).

        A refused or expired token pauses the source for `auth_retry_seconds` (no hammering of an API
        that will say no); the secrets are read again before the next try, so a renewed token is used.
        """
        self.health.extra["polls"] += 1
        started = time.perf_counter()
        now = time.monotonic()
        if self._auth_paused_until > now:
            self.health.extra["auth_paused_seconds"] = round(self._auth_paused_until - now, 1)
            self.update_silence()
            return
        if self._auth_paused_until:
            self._auth_paused_until = 0.0
            self.health.extra.pop("auth_paused_seconds", None)
            self.reload_secrets()
        try:
            await self.poll(sink)
        except asyncio.CancelledError:
            raise
        except FetchError as exc:
            if exc.kind == "auth":
                self._auth_paused_until = time.monotonic() + self.settings.auth_retry_seconds
                self.health.extra["auth"] = "refused"
                self.health.consecutive_errors = max(self.health.consecutive_errors, 2)
            self.record_error(exc)
            self.log.warning("poll of %s failed: %s", self.name, self.health.last_error)
        except Exception as exc:
            self.record_error(exc)
            self.log.warning("poll of %s failed: %s", self.name, self.health.last_error)
        else:
            self.record_success([])
            if self.health.extra.get("auth") == "refused":
                self.health.extra["auth"] = "ok"
        finally:
            self.health.extra["last_poll_seconds"] = round(time.perf_counter() - started, 3)
            self.update_silence()

    async def poll(self, sink: MentionSink) -> None:
        raise NotImplementedError

    def reload_secrets(self) -> None:
        """Read the credentials again (after a refused token); subclasses holding secrets override it."""

    # -- handing mentions over ------------------------------------------------------------------

    def _remember(self, external_ids: Iterable[str]) -> None:
        for external_id in external_ids:
            self._seen[external_id] = None
        while len(self._seen) > 50_000:
            self._seen.popitem(last=False)

    def finish(self, mention: Mention, raw: dict[str, Any]) -> Mention:
        """Bound a mention's size: text is cut at the model's limit and `raw` is trimmed."""
        if len(mention.text) > MAX_TEXT_LENGTH:
            mention.text = mention.text[:MAX_TEXT_LENGTH]
        mention.raw = trim_raw(raw, self.settings.max_raw_chars)
        return mention

    async def emit(self, sink: MentionSink, mentions: list[Mention], **cursor_updates: Any) -> None:
        """Hand a batch over with the cursor state that covers it (stored in the same transaction)."""
        fresh: dict[str, Mention] = {}
        for mention in mentions:
            if mention.external_id not in self._seen and mention.external_id not in fresh:
                fresh[mention.external_id] = mention
        for key, value in cursor_updates.items():
            if value is None:
                self.cursors.pop(key, None)
            else:
                self.cursors[key] = value
        if fresh:  # already stored (e.g. before a restart): not news, so not counted as a mention
            for known in self.context.store.known_external_ids(self.name, list(fresh)):
                fresh.pop(known, None)
        batch = list(fresh.values())
        await sink.put(batch, source=self.name, cursor=json.dumps(self.cursors, sort_keys=True))
        self._remember(fresh)
        if batch:
            self.health.mentions += len(batch)
            self.health.last_mention_at = self.context.clock.now()

    async def page_backwards(
        self,
        sink: MentionSink,
        key: str,
        fetch_page: Callable[[str | None, float | None], Awaitable[tuple[list[Any], str | None]]],
        item_time: Callable[[Any], float | None],
        to_mentions: Callable[[list[Any]], list[Mention]],
        overlap: float,
        initial_pages: int | None = None,
    ) -> None:
        """Poll a newest-first listing paged with an opaque token (Bluesky `cursor`, Reddit `after`).

        The stream's cursor is {"hw": t} (everything sorted at or after t is stored) and, while a backlog
        is read across polls, {"hw": t, "resume": token, "next_hw": t2}: each page is stored with the
        state that resumes right after it, so `max_pages` and crashes never leave a gap. A poll stops at
        the first page whose last item is older than hw - overlap (late arrivals are re-read; duplicates
        are dropped). The first poll reads `initial_pages` pages (the setting, unless the caller says otherwise: a stream
        discovered later, such as a new post's comments, is read whole) and starts from there.
        """
        state = self.cursors.get(key) or {}
        hw: float | None = state.get("hw")
        token: str | None = state.get("resume")
        newest: float | None = state.get("next_hw")
        first = hw is None
        floor = hw - overlap if hw is not None else None
        pages = (initial_pages or self.settings.initial_pages) if first else self.settings.max_pages
        for page in range(pages):
            items, next_token = await fetch_page(token, floor)
            times = [t for t in (item_time(item) for item in items) if t is not None]
            if times and (newest is None or max(times) > newest):
                newest = max(times)
            last_time = item_time(items[-1]) if items else None
            reached = floor is not None and last_time is not None and last_time < floor
            done = not items or not next_token or reached or (first and page == pages - 1)
            if done:
                new_state: dict[str, Any] = {"hw": newest if newest is not None else hw}
                if new_state["hw"] is None:
                    new_state = {}
            else:
                new_state = {"hw": hw, "resume": next_token, "next_hw": newest}
            await self.emit(sink, to_mentions(items), **{key: new_state or None})
            if done:
                return
            token = next_token

    # -- HTTP -----------------------------------------------------------------------------------

    def same_origin(self, url: str, base: str) -> bool:
        """Pagination links are followed only on the configured host (never to a third party)."""
        a, b = urlsplit(url), urlsplit(base)
        return (a.scheme, a.netloc) == (b.scheme, b.netloc)

    def request_headers(self) -> dict[str, str]:
        return {"User-Agent": self.settings.user_agent, "Accept": "application/json"}

    async def fetch(
        self,
        url: str,
        params: dict[str, Any] | list[tuple[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        *,
        ok: tuple[int, ...] = (200,),
        parse_json: bool = True,
        method: str = "GET",
        json_body: Any = None,
    ) -> Fetched:
        """A request with timeout, retries, backoff and rate-limit handling; raises FetchError when it
        gives up. With `parse_json`, a truncated or malformed JSON body counts as a retryable failure too.
        An error answer is first read by `api_error()`, so each API's own throttling and token-expiry
        bodies are understood."""
        settings = self.settings
        all_headers = {**self.request_headers(), **(headers or {})}
        attempt = 0
        rate_limited = 0
        loop = asyncio.get_running_loop()
        while True:
            wait = self._not_before - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            problem: str
            retry_after: float | None = None
            status: int | None = None
            await self.before_attempt(url, attempt + rate_limited)
            self.health.extra["requests"] += 1
            try:
                timeout = aiohttp.ClientTimeout(total=settings.timeout)
                async with self.session.request(method, url, params=params, headers=all_headers, json=json_body,
                                                timeout=timeout) as response:
                    status = response.status
                    self.health.extra["last_status"] = status
                    if quota_exhausted(response.headers):
                        delay = rate_limit_delay(response.headers)
                        if delay is not None:
                            self._not_before = loop.time() + min(delay, settings.max_retry_after)
                    if status in ok:
                        body = await self._read_body(response)
                        links = {
                            str(rel): str(link.get("url"))
                            for rel, link in response.links.items()
                            if link.get("url") is not None
                        }
                        fetched = Fetched(status, response.headers, body, str(response.url), links)
                        if parse_json and status == 200:
                            fetched.json()
                        return fetched
                    error_body = await self._read_body(response, limit=20_000)
                    snippet = error_body.decode("utf-8", "replace")[:300]
                    verdict = self.api_error(status, error_body, response.headers)
                    if verdict is not None and verdict.kind in ("auth", "quota"):
                        raise FetchError(f"HTTP {status} from {urlsplit(url).netloc}: {verdict.message or snippet}",
                                         status=status, retryable=False, kind=verdict.kind, body=error_body)
                    if verdict is not None and verdict.kind == "rate_limited":
                        status = 429
                        retry_after = verdict.delay if verdict.delay is not None else rate_limit_delay(response.headers)
                        problem = f"HTTP 429 rate limited by {urlsplit(url).netloc}: {verdict.message}"
                    elif status == 429:
                        retry_after = rate_limit_delay(response.headers)
                        problem = f"HTTP 429 rate limited by {urlsplit(url).netloc}"
                    elif status >= 500:
                        problem = f"HTTP {status} from {urlsplit(url).netloc}"
                    else:
                        raise FetchError(f"HTTP {status} from {url}: {snippet}", status=status, retryable=False,
                                         body=error_body)
            except FetchError as exc:
                if not exc.retryable:
                    raise
                problem = str(exc)
            except (TimeoutError, aiohttp.ClientError, ConnectionError) as exc:
                problem = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            if status == 429:
                rate_limited += 1
                self.health.extra["rate_limited"] += 1
                delay = retry_after if retry_after is not None else self._backoff(rate_limited - 1)
                if rate_limited > settings.max_rate_limited or delay > settings.max_retry_after:
                    self._not_before = loop.time() + min(delay, settings.max_retry_after)
                    raise FetchError(f"{problem}; retry in {delay:.0f}s", status=429)
                self.log.info("%s: %s; waiting %.1fs", self.name, problem, delay)
            else:
                if attempt >= settings.max_retries:
                    raise FetchError(f"{problem} (after {attempt + 1} attempts)", status=status)
                delay = self._backoff(attempt)
                attempt += 1
                self.health.extra["retries"] += 1
                self.log.info("%s: %s; retry %d in %.2fs", self.name, problem, attempt, delay)
            await asyncio.sleep(delay)

    async def before_attempt(self, url: str, retry: int) -> None:
        """Called before every attempt of a request (`retry` = 0 for the first): metered APIs count here."""

    def api_error(self, status: int, body: bytes, headers: CIMultiDictProxy[str]) -> ApiVerdict | None:
        """The API's reading of an error answer; None keeps the generic rules (429, 5xx, others final)."""
        return None

    def _backoff(self, attempt: int) -> float:
        base = min(self.settings.backoff_max, self.settings.backoff_initial * (2**attempt))
        return base * random.uniform(0.75, 1.0)

    async def _read_body(self, response: aiohttp.ClientResponse, limit: int | None = None) -> bytes:
        cap = limit or self.settings.max_response_bytes
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.content.iter_chunked(65536):
            chunks.append(chunk)
            size += len(chunk)
            if size > cap:
                if limit is not None:
                    break
                raise FetchError(f"response from {response.url} larger than {cap} bytes", retryable=False)
        return b"".join(chunks)


async def run_streams(source: PollingSource, streams: Iterable[tuple[str, Any]]) -> None:
    """Poll each stream of a source in turn; one failing stream does not stop the others.

    `streams` yields (label, coroutine function); the poll fails (and health shows it) when any failed.
    """
    failures: list[str] = []
    for label, poll_stream in streams:
        try:
            await poll_stream()
        except asyncio.CancelledError:
            raise
        except FetchError as exc:
            if exc.kind == "auth":
                raise  # the token is refused for every stream: say so, and stop here
            failures.append(f"{label}: {type(exc).__name__}: {exc}")
        except Exception as exc:
            failures.append(f"{label}: {type(exc).__name__}: {exc}")
    if failures:
        raise FetchError("; ".join(failures))


def id_order(value: str) -> tuple[int, str]:
    """Sort key for snowflake-like ids kept as strings (numeric ids of any length, or same-length flakes)."""
    return (len(value), value)
