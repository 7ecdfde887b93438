"""X collector: mentions of the institution's account and recent search (X API v2, pay-per-use).

- `GET /2/users/:id/mentions` and `GET /2/tweets/search/recent`, with `since_id` (the newest id stored),
  `max_results`, `tweet.fields=created_at,lang,author_id,public_metrics,conversation_id`,
  `expansions=author_id`, `user.fields=username,name,public_metrics`. Answers `{"data": [...],
  "includes": {"users": [...]}, "meta": {"newest_id", "oldest_id", "result_count", "next_token"?}}`,
  newest first; a backlog is followed with `pagination_token` (mentions) / `next_token` (search), and
  each page is stored with the state that resumes right after it.
- Spend: X bills each post read (and each user object expanded) from prepaid credits. The collector
  keeps the month's spend in its cursor (stored in the same transaction as the posts), reserves the
  worst case of a request before sending it (and stores that reservation first, so a crash cannot make
  it forget money spent), sizes `max_results` to what the cap leaves, and never sends a request that
  could take the spend past `monthly_spend_cap`. Health shows `spend` (spent, cap, month).
- Rate limits: `x-rate-limit-limit/-remaining/-reset` (epoch seconds); 429 waited out. Errors are
  problem documents (`{"title", "detail", "type", "status"}`); 401/403 pause the source (token refused),
  402 / "CreditsDepleted" stops it until the month's reset.
"""

from __future__ import annotations

import json
import math
from typing import Any, Literal

from pydantic import Field

from listener.models import Mention
from listener.settings_base import secret_from_env
from listener.sources.base import MentionSink, SourceContext, SourcePlugin
from listener.sources.http import ApiVerdict, FetchError, PollingSource, id_order, run_streams
from listener.sources.settings import PollingSourceSettings
from listener.timeutil import parse_time

TWEET_FIELDS = "created_at,lang,author_id,public_metrics,conversation_id,referenced_tweets"
USER_FIELDS = "username,name,public_metrics"
MIN_RESULTS = {"mentions": 5, "search": 10}


class XSourceSettings(PollingSourceSettings):
    type: Literal["x"] = "x"
    # X API host (tests point it at a fake).
    base_url: str = "https://api.x.com/2"
    # Environment variable holding the app's bearer token.
    token_env: str | None = None
    # Numeric id of the institution's account: its mentions are read (none: no mentions stream).
    user_id: str | None = None
    # Recent-search queries (X's query syntax, e.g. "Rivebelle lang:fr -is:retweet").
    queries: list[str] = Field(default_factory=list)
    # Posts per request at most (the API allows 100).
    page_size: int = Field(default=100, ge=5, le=100)
    # Monthly spend cap in USD: the collector never sends a request that could go past it.
    monthly_spend_cap: float = Field(default=20.0, ge=0)
    # Price of one post read, in USD (X's pay-per-use price list).
    price_per_post: float = Field(default=0.005, ge=0)
    # Price of one user object read (an expanded author), in USD.
    price_per_user: float = Field(default=0.01, ge=0)
    # Ask for the authors' user objects (handle, name, followers); each costs price_per_user.
    expand_authors: bool = True
    # Seconds between two polls.
    poll_interval: float = Field(default=300.0, gt=0)


class XSource(PollingSource):
    type = "x"
    settings: XSourceSettings

    def __init__(self, settings: XSourceSettings, context: SourceContext) -> None:
        super().__init__(settings, context)
        self.base = settings.base_url.rstrip("/")
        self.token = secret_from_env(settings.token_env)
        self.health.extra["spend"] = {"spent_usd": 0.0, "cap_usd": settings.monthly_spend_cap, "month": None,
                                      "capped": False}

    def reload_secrets(self) -> None:
        self.token = secret_from_env(self.settings.token_env) or self.token

    def request_headers(self) -> dict[str, str]:
        headers = super().request_headers()
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def api_error(self, status: int, body: bytes, headers: Any) -> ApiVerdict | None:
        try:
            problem = json.loads(body)
        except ValueError:
            problem = {}
        problem = problem if isinstance(problem, dict) else {}
        detail = str(problem.get("detail") or problem.get("title") or "")[:200]
        if status == 402 or "CreditsDepleted" in str(problem.get("type", "")) + str(problem.get("title", "")):
            return ApiVerdict("quota", message=f"credits depleted: {detail}")
        if status in (401, 403):
            return ApiVerdict("auth", message=f"token refused: {detail}")
        return None

    # -- the monthly spend ------------------------------------------------------------------------

    def _spend(self) -> dict[str, Any]:
        month = self.context.clock.now().strftime("%Y-%m")
        state = self.cursors.get("spend") or {}
        if state.get("month") != month:
            state = {"month": month, "usd": 0.0}
        self.cursors["spend"] = state
        self.health.extra["spend"].update(spent_usd=round(state["usd"], 4), month=month)
        return state

    def _unit(self) -> float:
        return self.settings.price_per_post + (self.settings.price_per_user if self.settings.expand_authors else 0)

    async def _get(self, sink: MentionSink, kind: str, path: str, params: dict[str, str]) -> dict[str, Any]:
        """One paid request: sized to what the cap leaves, reserved (and stored) before it is sent."""
        if not self.token:
            raise FetchError(f"{self.name}: no bearer token (set {self.settings.token_env or 'token_env'})",
                             retryable=False, kind="auth")
        state = self._spend()
        left = self.settings.monthly_spend_cap - state["usd"]
        unit = self._unit()
        affordable = math.floor(left / unit + 1e-9) if unit > 0 else self.settings.page_size
        size = min(self.settings.page_size, affordable)
        if size < MIN_RESULTS[kind]:
            self.health.extra["spend"]["capped"] = True
            raise FetchError(f"monthly spend cap reached ({state['usd']:.2f}/{self.settings.monthly_spend_cap:.2f}"
                             " USD)", retryable=False, kind="quota")
        reserved = size * unit
        state["usd"] += reserved
        await self.emit(sink, [])  # the reservation is stored before the money can be spent
        query = {**params, "max_results": str(size), "tweet.fields": TWEET_FIELDS}
        if self.settings.expand_authors:
            query.update({"expansions": "author_id", "user.fields": USER_FIELDS})
        try:
            data = (await self.fetch(self.base + path, query)).json()
        except FetchError as exc:
            if exc.status is not None and exc.status < 500 and exc.kind != "quota":
                state["usd"] -= reserved  # refused before any post was read: nothing billed
            raise
        if not isinstance(data, dict):
            raise FetchError(f"{path}: a JSON object was expected", retryable=False)
        posts = data.get("data") if isinstance(data.get("data"), list) else []
        users = (data.get("includes") or {}).get("users") if isinstance(data.get("includes"), dict) else []
        actual = len(posts) * self.settings.price_per_post + len(users or []) * self.settings.price_per_user
        state["usd"] += min(actual, reserved) - reserved
        self.health.extra["spend"].update(spent_usd=round(state["usd"], 4), capped=False)
        return data

    # -- streams ----------------------------------------------------------------------------------

    async def poll(self, sink: MentionSink) -> None:
        streams: list[tuple[str, Any]] = []
        if self.settings.user_id:
            streams.append(("mentions", lambda: self._stream(
                sink, f"mentions:{self.settings.user_id}", "mentions", f"/users/{self.settings.user_id}/mentions", {}, "pagination_token",
                "@mention")))
        for query in self.settings.queries:
            streams.append((f"q:{query}", lambda q=query: self._stream(
                sink, f"q:{q}", "search", "/tweets/search/recent", {"query": q}, "next_token", q)))
        try:
            await run_streams(self, streams)
        except FetchError as exc:
            if "monthly spend cap reached" not in str(exc) or "HTTP" in str(exc):
                raise
            self.log.info("%s: %s", self.name, exc)

    async def _stream(self, sink: MentionSink, key: str, kind: str, path: str, params: dict[str, str],
                      token_name: str, label: str) -> None:
        """Newest first since `since_id`; a backlog is paged and each page stored with its resume state."""
        state = self.cursors.get(key) or {}
        since = state.get("since_id")
        token = state.get("resume")
        newest = state.get("next_since")
        first = since is None and token is None
        pages = self.settings.initial_pages if first else self.settings.max_pages
        for page in range(pages):
            query = dict(params)
            if since:
                query["since_id"] = since
            if token:
                query[token_name] = token
            data = await self._get(sink, kind, path, query)
            meta = data.get("meta") if isinstance(data.get("meta"), dict) else {}
            page_newest = meta.get("newest_id")
            if isinstance(page_newest, str) and (newest is None or id_order(page_newest) > id_order(newest)):
                newest = page_newest
            following = meta.get("next_token")
            following = following if isinstance(following, str) and following else None
            mentions = self._mentions(data, label)
            done = following is None or (first and page == pages - 1)
            new_state = ({"since_id": newest or since} if done
                         else {"since_id": since, "resume": following, "next_since": newest})
            await self.emit(sink, mentions, **{key: new_state if new_state.get("since_id") or not done else None})
            if done:
                return
            token = following

    # -- items -----------------------------------------------------------------------------------

    def _mentions(self, data: dict[str, Any], label: str) -> list[Mention]:
        users = {u.get("id"): u for u in (data.get("includes") or {}).get("users") or [] if isinstance(u, dict)}
        mentions = []
        for post in data.get("data") or []:
            try:
                text = (post.get("text") or "").strip()
                if not text:
                    continue
                try:
                    created = parse_time(post["created_at"])
                except (KeyError, TypeError, ValueError):
                    self.log.warning("%s: post %s skipped: no readable created_at", self.name, post.get("id"))
                    self.context.store.reject(self.name, "undated X post", post)
                    continue
                author = users.get(post.get("author_id")) or {}
                username = author.get("username")
                metrics = post.get("public_metrics") or {}
                followers = (author.get("public_metrics") or {}).get("followers_count")
                mention = Mention(
                    source=self.name,
                    external_id=str(post["id"]),
                    text=text,
                    created_at=created,
                    url=f"https://x.com/{username or 'i/web'}/status/{post['id']}",
                    author_handle=f"@{username}" if username else None,
                    author_name=author.get("name") or None,
                    author_followers=followers if isinstance(followers, int) and followers >= 0 else None,
                    lang=post.get("lang") if post.get("lang") not in (None, "und", "zxx", "qme", "qht") else None,
                    likes=_count(metrics.get("like_count")),
                    reposts=_count(metrics.get("retweet_count")) + _count(metrics.get("quote_count")),
                    replies=_count(metrics.get("reply_count")),
                    matched=[label],
                )
                mentions.append(self.finish(mention, post))
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                self.context.metrics.invalid_payloads.labels(source=self.name).inc()
                self.log.warning("%s: post skipped (%s: %s)", self.name, type(exc).__name__, exc)
                self.context.store.reject(self.name, f"invalid X post: {type(exc).__name__}: {exc}", post)
        return mentions


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


EXAMPLE = """
[[sources]]
name = "x-ville"
type = "x"
enabled = false                    # activer une fois le jeton et le plafond choisis
base_url = "https://api.x.com/2"
token_env = "VIGIE_X_BEARER_TOKEN"
user_id = "1234567890"             # compte de l'institution : ses mentions
queries = ["\\"Ma Ville\\" lang:fr -is:retweet"]
monthly_spend_cap = 20.0           # dollars par mois, jamais dépassés
"""

PLUGIN = SourcePlugin(
    type="x",
    description="X : mentions du compte et recherche récente, paiement à l'usage sous un plafond mensuel.",
    settings=XSourceSettings,
    example=EXAMPLE,
    create=XSource,
)
