"""Publishes the due posts the policy lets out, to Mastodon and Bluesky, never twice.

- Mastodon: `POST {base_url}/api/v1/statuses` with `Authorization: Bearer <token>` and an
  `Idempotency-Key` fixed per post (the server answers a repeat with the first status, for an hour).
- Bluesky: `com.atproto.server.createSession` (handle + app password → accessJwt, did), then
  `com.atproto.repo.createRecord` of an `app.bsky.feed.post` record (text, createdAt, langs ["fr"]) with a
  record key (TID) fixed per post; a retry first asks `com.atproto.repo.getRecord` whether the record
  already exists, so an answer lost on the way never becomes a second post.
- dry-run: logs what would be published and marks the post `published-dry-run`; nothing leaves.
A post is marked `publishing` in a committed transaction before the request; a transient failure
(network, 5xx, 429) puts it back with a delay (Retry-After honoured); a permanent one (401, 403, 422,
account not configured) marks it `failed` with the reason.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any

import aiohttp

from listener.settings_base import secret_from_env
from listener.store import Store
from listener.timeutil import parse_time
from rules import crisis, posting_queue
from rules.crisis_settings import PostingSettings
from rules.settings import SettingsView

log = logging.getLogger("vigie.publisher")

POST_COLLECTION = "app.bsky.feed.post"


class PublishError(Exception):
    """A failed publication; `transient` ones are retried later with the same keys."""

    def __init__(self, message: str, *, transient: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.transient = transient
        self.retry_after = retry_after


def _created_at(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _retry_after(response: aiohttp.ClientResponse, now: datetime) -> float | None:
    """Seconds to wait from Retry-After, Mastodon's X-RateLimit-Reset (ISO) or Bluesky's ratelimit-reset (epoch)."""
    headers = response.headers
    if headers.get("Retry-After"):
        try:
            return max(0.0, float(headers["Retry-After"]))
        except ValueError:
            pass
    for name in ("X-RateLimit-Reset", "RateLimit-Reset"):
        value = headers.get(name)
        if value:
            try:
                reset = parse_time(float(value)) if value.replace(".", "", 1).isdigit() else parse_time(value)
            except ValueError:
                continue
            return max(0.0, (reset - now).total_seconds())
    return None


async def _error_text(response: aiohttp.ClientResponse) -> str:
    try:
        body = await response.json(content_type=None)
    except Exception:
        return f"HTTP {response.status}"
    if isinstance(body, dict):
        parts = [str(body.get(k)) for k in ("error", "message") if body.get(k)]
        return f"HTTP {response.status}: {' — '.join(parts)}" if parts else f"HTTP {response.status}"
    return f"HTTP {response.status}"


async def _raise_for(response: aiohttp.ClientResponse, what: str, now: datetime) -> None:
    if response.status < 400:
        return
    text = f"{what} : {await _error_text(response)}"
    transient = response.status in (408, 425, 429) or response.status >= 500
    raise PublishError(text, transient=transient, retry_after=_retry_after(response, now) if transient else None)


class Publisher:
    """One pass at a time: claim what the policy lets out, send it, record the outcome."""

    def __init__(self, store: Store, settings: SettingsView, *, http: aiohttp.ClientSession | None = None) -> None:
        self.store = store
        self.settings = settings
        self.config: PostingSettings = settings.rules.posting
        self._http = http
        self._own_http: aiohttp.ClientSession | None = None
        self._bsky_session: dict[str, str] | None = None
        self.published = 0
        self.failures = 0
        self.consecutive_failures = 0
        self.last_error: str | None = None
        self.last_pass: str | None = None

    @property
    def http(self) -> aiohttp.ClientSession:
        if self._http is not None and not self._http.closed:
            return self._http
        if self._own_http is None or self._own_http.closed:
            self._own_http = aiohttp.ClientSession()
        return self._own_http

    async def close(self) -> None:
        if self._own_http is not None:
            await self._own_http.close()

    async def publish_due(self, now: datetime) -> list[int]:
        """Publish every post due at `now` that the policy lets out; returns the ids published."""
        done: list[int] = []
        self.last_pass = now.isoformat()
        for post in self.claim_ready(now):
            if self.config.mode == "dry-run":
                log.info("dry-run: would publish post %s on %s: %s", post["id"], post["channel"], post["text"][:80])
                posting_queue.mark_published(self.store, post["id"], at=now, dry_run=True)
                done.append(post["id"])
                continue
            try:
                external_id, url = await asyncio.wait_for(self.send(post, now), self.config.timeout)
            except PublishError as exc:
                self._failed(post, str(exc), exc.transient, exc.retry_after, now)
            except (TimeoutError, aiohttp.ClientError, OSError, ValueError) as exc:
                self._failed(post, f"{post['channel']} : {type(exc).__name__} {exc}".strip(), True, None, now)
            else:
                posting_queue.mark_published(self.store, post["id"], at=now, dry_run=False, external_id=external_id,
                                       external_url=url)
                self.published += 1
                self.consecutive_failures = 0
                log.info("published post %s on %s: %s", post["id"], post["channel"], url or external_id)
                done.append(post["id"])
        return done

    def claim_ready(self, now: datetime) -> list[dict[str, Any]]:
        """The posts the policy in force lets out now, marked `publishing`; what it holds, the cell is told."""
        state = crisis.current_state(self.store)["state"]
        claimed, held = posting_queue.claim_ready(self.store, self.config, state, now)
        if held:
            crisis.announce_held(self.store, self.settings, now)
        return claimed

    def _failed(self, post: dict[str, Any], error: str, transient: bool, retry_after: float | None,
                now: datetime) -> None:
        self.failures += 1
        self.consecutive_failures += 1
        self.last_error = error
        if transient and post["attempts"] < self.config.max_attempts:
            delay = min(self.config.backoff_max, self.config.backoff_initial * 2 ** max(0, post["attempts"] - 1))
            if retry_after is not None:
                delay = max(delay, min(retry_after, 3600.0))
            log.warning("post %s not published (attempt %d), retry in %.0fs: %s", post["id"], post["attempts"],
                        delay, error)
            posting_queue.mark_retry(self.store, post["id"], error=error, next_attempt_at=now + timedelta(seconds=delay),
                               at=now)
        else:
            log.error("post %s failed for good after %d attempt(s): %s", post["id"], post["attempts"], error)
            posting_queue.mark_failed(self.store, post["id"], error=error, at=now)

    async def send(self, post: dict[str, Any], now: datetime) -> tuple[str, str | None]:
        if post["channel"] == "mastodon":
            return await self._mastodon(post, now)
        if post["channel"] == "bluesky":
            return await self._bluesky(post, now)
        raise PublishError(f"canal inconnu « {post['channel']} »", transient=False)

    # -- Mastodon ---------------------------------------------------------------------------------

    async def _mastodon(self, post: dict[str, Any], now: datetime) -> tuple[str, str | None]:
        account = self.config.accounts.mastodon
        token = secret_from_env(account.token_env)
        if not account.base_url or not token:
            raise PublishError(f"compte Mastodon non configuré (base_url, variable {account.token_env})",
                               transient=False)
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": post["idempotency_key"]}
        body = {"status": post["text"], "visibility": account.visibility, "language": "fr"}
        url = f"{account.base_url.rstrip('/')}/api/v1/statuses"
        async with self.http.post(url, json=body, headers=headers) as response:
            await _raise_for(response, "Mastodon", now)
            status = await response.json(content_type=None)
        return str(status["id"]), status.get("url")

    # -- Bluesky ----------------------------------------------------------------------------------

    def _pds(self) -> str:
        return self.config.accounts.bluesky.base_url.rstrip("/")

    async def _session(self, now: datetime, *, fresh: bool = False) -> dict[str, str]:
        if self._bsky_session is not None and not fresh:
            return self._bsky_session
        account = self.config.accounts.bluesky
        password = secret_from_env(account.app_password_env)
        if not account.base_url or not account.handle or not password:
            raise PublishError(
                f"compte Bluesky non configuré (base_url, handle, variable {account.app_password_env})",
                transient=False,
            )
        async with self.http.post(
            f"{self._pds()}/xrpc/com.atproto.server.createSession",
            json={"identifier": account.handle, "password": password},
        ) as response:
            await _raise_for(response, "Bluesky (connexion)", now)
            body = await response.json(content_type=None)
        self._bsky_session = {"accessJwt": body["accessJwt"], "did": body["did"]}
        return self._bsky_session

    async def _authorized(self, method: str, path: str, now: datetime, **kwargs: Any) -> tuple[int, Any, Any]:
        """One XRPC call with the session token; an expired or refused token opens a new session once."""
        for attempt in range(2):
            session = await self._session(now, fresh=attempt > 0)
            headers = {"Authorization": f"Bearer {session['accessJwt']}"}
            async with self.http.request(method, f"{self._pds()}{path}", headers=headers, **kwargs) as response:
                try:
                    body = await response.json(content_type=None)
                except (aiohttp.ContentTypeError, ValueError):
                    body = None
                error = body.get("error") if isinstance(body, dict) else None
                expired = response.status in (400, 401) and error in ("ExpiredToken", "InvalidToken")
                if expired and attempt == 0:
                    self._bsky_session = None
                    continue
                return response.status, body, response
        raise AssertionError("unreachable")

    async def _bluesky(self, post: dict[str, Any], now: datetime) -> tuple[str, str | None]:
        session = await self._session(now)
        if post["attempts"] > 1:
            found = await self._existing_record(post, now)
            if found is not None:
                return found
        record = {"$type": POST_COLLECTION, "text": post["text"], "createdAt": _created_at(now), "langs": ["fr"]}
        payload = {"repo": session["did"], "collection": POST_COLLECTION, "rkey": post["rkey"], "record": record}
        status, body, response = await self._authorized(
            "POST", "/xrpc/com.atproto.repo.createRecord", now, json=payload
        )
        if status >= 400:
            if status == 400 and post["attempts"] > 0:
                found = await self._existing_record(post, now)  # a lost answer: the record may be there
                if found is not None:
                    return found
            message = f"Bluesky : HTTP {status}"
            if isinstance(body, dict):
                message += ": " + " — ".join(str(body.get(k)) for k in ("error", "message") if body.get(k))
            transient = status in (408, 425, 429) or status >= 500
            raise PublishError(message, transient=transient, retry_after=_retry_after(response, now))
        return str(body["uri"]), self._web_url(body["uri"])

    async def _existing_record(self, post: dict[str, Any], now: datetime) -> tuple[str, str | None] | None:
        session = await self._session(now)
        status, body, response = await self._authorized(
            "GET", "/xrpc/com.atproto.repo.getRecord", now,
            params={"repo": session["did"], "collection": POST_COLLECTION, "rkey": post["rkey"]},
        )
        if status == 200 and isinstance(body, dict) and body.get("uri"):
            log.info("post %s already on Bluesky (%s): not sent again", post["id"], body["uri"])
            return str(body["uri"]), self._web_url(body["uri"])
        if status == 400 and isinstance(body, dict) and body.get("error") == "RecordNotFound":
            return None
        transient = status in (408, 425, 429) or status >= 500
        raise PublishError(f"Bluesky (vérification) : HTTP {status}", transient=transient,
                           retry_after=_retry_after(response, now))

    def _web_url(self, uri: str) -> str | None:
        # at://did/app.bsky.feed.post/rkey → https://bsky.app/profile/handle/post/rkey
        parts = uri.split("/")
        handle = self.config.accounts.bluesky.handle
        return f"https://bsky.app/profile/{handle}/post/{parts[-1]}" if handle and len(parts) >= 5 else None

    def health(self) -> dict[str, Any]:
        report: dict[str, Any] = {
            "mode": self.config.mode,
            "published": self.published,
            "failures": self.failures,
            "last_error": self.last_error,
            "last_pass": self.last_pass,
            "posts": posting_queue.summary(self.store),
        }
        if self.consecutive_failures >= 3:
            report["state"] = "failing"  # the accounts are unreachable or refuse us: someone should look
        return report
