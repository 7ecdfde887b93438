"""YouTube collector: comments on the institution's channel's videos, and video search (Data API v3).

- Comments: `commentThreads?part=snippet,replies&allThreadsRelatedToChannelId=<channel>&order=time
  &textFormat=plainText&maxResults=100`, newest first, paged with `pageToken`/`nextPageToken`; a thread's
  first replies come with it (`replies.comments`). Cost: 1 quota unit per request.
- Search: `search?part=snippet&type=video&q&order=date&publishedAfter&maxResults=50`: videos that talk
  about the institution (title and description). Cost: 100 units per request.
- Quota: a project has 10,000 units a day, reset at midnight Pacific time. The collector counts the
  units it spends (kept in its cursor, so a restart does not forget them), never sends a request that
  would go past `daily_quota`, and shows `quota` (spent, budget, reset time) in health; a
  `quotaExceeded` answer (403) stops it until the reset.
- Errors: `{"error": {"code", "message", "errors": [{"domain", "reason", "message"}]}}`;
  `rateLimitExceeded` / `userRateLimitExceeded` are waited out, `keyInvalid` / `keyExpired` / 401 pause
  the source until the key is renewed.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import Field

from listener.models import Mention
from listener.settings_base import secret_from_env
from listener.sources.base import MentionSink, SourceContext, SourcePlugin
from listener.sources.http import ApiVerdict, FetchError, PollingSource, run_streams
from listener.sources.settings import PollingSourceSettings
from listener.timeutil import parse_time

PACIFIC = ZoneInfo("America/Los_Angeles")
COST = {"commentThreads": 1, "search": 100}


class YoutubeSourceSettings(PollingSourceSettings):
    type: Literal["youtube"] = "youtube"
    # YouTube Data API v3 host (tests point it at a fake).
    base_url: str = "https://www.googleapis.com/youtube/v3"
    # Environment variable holding the API key (Google Cloud console, YouTube Data API v3 enabled).
    key_env: str | None = None
    # The institution's channel id (UC...): comments on all its videos are read.
    channel_id: str | None = None
    # Video searches (100 quota units each request: keep them few).
    queries: list[str] = Field(default_factory=list)
    # Search results restricted to this region (ISO 3166 code; empty: no restriction).
    region_code: str | None = "FR"
    # Search results most relevant to this language (ISO 639-1 code; empty: no preference).
    relevance_language: str | None = "fr"
    # Quota units the collector may spend per day (Pacific time); the project default is 10,000.
    daily_quota: int = Field(default=9000, ge=0)
    # Comment threads per page (the API allows at most 100).
    page_size: int = Field(default=100, ge=1, le=100)
    # Seconds of overlap re-read on each poll (duplicates are dropped).
    overlap_seconds: float = Field(default=300.0, ge=0)
    # Seconds between two polls (a search costs 100 units: 15 minutes x 2 queries = 19,200 a day is too much).
    poll_interval: float = Field(default=900.0, gt=0)


def _reset_after(moment: datetime) -> datetime:
    """The next midnight, Pacific time, after `moment` (when the daily quota is renewed)."""
    local = moment.astimezone(PACIFIC)
    midnight = datetime(local.year, local.month, local.day, tzinfo=PACIFIC) + timedelta(days=1)
    return midnight.astimezone(UTC)


def _time(value: Any) -> datetime | None:
    try:
        return parse_time(value) if isinstance(value, str) else None
    except (ValueError, OverflowError):
        return None


class YoutubeSource(PollingSource):
    type = "youtube"
    settings: YoutubeSourceSettings

    def __init__(self, settings: YoutubeSourceSettings, context: SourceContext) -> None:
        super().__init__(settings, context)
        self.base = settings.base_url.rstrip("/")
        self.key = secret_from_env(settings.key_env)
        self._metered: tuple[MentionSink, dict[str, Any], int] | None = None
        self.health.extra["quota"] = {"spent": 0, "daily_quota": settings.daily_quota, "resets_at": None,
                                      "exhausted": False}

    async def before_attempt(self, url: str, retry: int) -> None:
        if self._metered is None:
            return
        sink, state, cost = self._metered
        if state["spent"] + cost > self.settings.daily_quota:
            self.health.extra["quota"]["exhausted"] = True
            raise FetchError(f"YouTube quota budget spent ({state['spent']}/{self.settings.daily_quota} units) "
                             f"until {state['resets_at']}", retryable=False, kind="quota")
        state["spent"] += cost
        self.health.extra["quota"].update(spent=state["spent"], exhausted=False)
        await self.emit(sink, [])

    def reload_secrets(self) -> None:
        self.key = secret_from_env(self.settings.key_env) or self.key

    def api_error(self, status: int, body: bytes, headers: Any) -> ApiVerdict | None:
        try:
            error = json.loads(body).get("error")
        except (ValueError, AttributeError):
            return None
        if not isinstance(error, dict):
            return None
        reasons = {e.get("reason") for e in error.get("errors") or [] if isinstance(e, dict)}
        message = str(error.get("message") or "")[:200]
        if reasons & {"quotaExceeded", "dailyLimitExceeded"}:
            return ApiVerdict("quota", message=f"daily quota exceeded: {message}")
        if reasons & {"rateLimitExceeded", "userRateLimitExceeded"}:
            return ApiVerdict("rate_limited", message=message)
        if status == 401 or reasons & {"keyInvalid", "keyExpired", "authError"} or "API key" in message:
            return ApiVerdict("auth", message=f"API key refused: {message}")
        return None

    # -- quota ------------------------------------------------------------------------------------

    def _quota(self) -> dict[str, Any]:
        """Units spent since the last Pacific midnight (reset when the day turns)."""
        now = self.context.clock.now()
        state = self.cursors.get("quota") or {}
        resets = _time(state.get("resets_at"))
        if resets is None or now >= resets:
            state = {"spent": 0, "resets_at": _reset_after(now).isoformat()}
        self.cursors["quota"] = state
        self.health.extra["quota"].update(spent=state["spent"], resets_at=state["resets_at"])
        return state

    async def _call(self, sink: MentionSink, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if not self.key:
            raise FetchError(f"{self.name}: no API key (set {self.settings.key_env or 'key_env'})",
                             retryable=False, kind="auth")
        state = self._quota()
        cost = COST[method]
        if state.get("exhausted") or state["spent"] + cost > self.settings.daily_quota:  # checked again per attempt
            self.health.extra["quota"]["exhausted"] = True
            raise FetchError(f"YouTube quota budget spent ({state['spent']}/{self.settings.daily_quota} units) "
                             f"until {state['resets_at']}", retryable=False, kind="quota")
        # Units are counted before each attempt (a retried request costs again) and stored at once:
        # a crash cannot make them forgotten.
        self._metered = (sink, state, cost)
        try:
            fetched = await self.fetch(f"{self.base}/{method}", {**params, "key": self.key})
        except FetchError as exc:
            if exc.kind == "quota" and exc.status is not None:  # the API says the project's quota is spent
                state["exhausted"] = True
                self.health.extra["quota"]["exhausted"] = True
                await self.emit(sink, [])
            raise
        finally:
            self._metered = None
        data = fetched.json()
        if not isinstance(data, dict) or not isinstance(data.get("items"), list):
            raise FetchError(f"{method}: no 'items' array in the answer", retryable=False)
        return data

    async def poll(self, sink: MentionSink) -> None:
        streams: list[tuple[str, Any]] = []
        if self.settings.channel_id:
            streams.append(("comments", lambda: self._comments(sink)))
        for query in self.settings.queries:
            streams.append((f"q:{query}", lambda q=query: self._search(sink, q)))
        try:
            await run_streams(self, streams)
        except FetchError as exc:
            if "quota budget spent" not in str(exc) or "HTTP" in str(exc):
                raise
            self.log.info("%s: %s", self.name, exc)  # waiting for the reset is normal, not a failure

    # -- streams ----------------------------------------------------------------------------------

    async def _comments(self, sink: MentionSink) -> None:
        async def fetch_page(token: str | None, floor: float | None) -> tuple[list[Any], str | None]:
            params = {"part": "snippet,replies", "allThreadsRelatedToChannelId": self.settings.channel_id,
                      "order": "time", "textFormat": "plainText", "maxResults": str(self.settings.page_size)}
            if token:
                params["pageToken"] = token
            data = await self._call(sink, "commentThreads", params)
            following = data.get("nextPageToken")
            return data["items"], following if isinstance(following, str) and following else None

        def thread_time(item: Any) -> float | None:
            top = ((item.get("snippet") or {}).get("topLevelComment") or {}) if isinstance(item, dict) else {}
            moment = _time((top.get("snippet") or {}).get("publishedAt"))
            return moment.timestamp() if moment else None

        await self.page_backwards(sink, "comments", fetch_page, thread_time, self._thread_mentions,
                                  self.settings.overlap_seconds)

    async def _search(self, sink: MentionSink, query: str) -> None:
        async def fetch_page(token: str | None, floor: float | None) -> tuple[list[Any], str | None]:
            params = {"part": "snippet", "type": "video", "q": query, "order": "date", "maxResults": "50"}
            if self.settings.region_code:
                params["regionCode"] = self.settings.region_code
            if self.settings.relevance_language:
                params["relevanceLanguage"] = self.settings.relevance_language
            if floor is not None:
                params["publishedAfter"] = datetime.fromtimestamp(floor, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            if token:
                params["pageToken"] = token
            data = await self._call(sink, "search", params)
            following = data.get("nextPageToken")
            return data["items"], following if isinstance(following, str) and following else None

        def video_time(item: Any) -> float | None:
            moment = _time(((item.get("snippet") or {}) if isinstance(item, dict) else {}).get("publishedAt"))
            return moment.timestamp() if moment else None

        await self.page_backwards(sink, f"q:{query}", fetch_page, video_time,
                                  lambda items: [m for m in (self._video(i, query) for i in items) if m],
                                  self.settings.overlap_seconds)

    # -- items -----------------------------------------------------------------------------------

    def _thread_mentions(self, threads: list[Any]) -> list[Mention]:
        mentions = []
        for thread in threads:
            try:
                snippet = thread["snippet"]
                top = snippet["topLevelComment"]
                mention = self._comment(top, snippet.get("videoId"), snippet.get("totalReplyCount"))
                if mention is not None:
                    mentions.append(mention)
                for reply in (thread.get("replies") or {}).get("comments") or []:
                    answer = self._comment(reply, snippet.get("videoId"), None, reply=True)
                    if answer is not None:
                        mentions.append(answer)
            except (KeyError, TypeError, AttributeError) as exc:
                self._reject(thread, exc)
        return mentions

    def _comment(self, comment: dict[str, Any], video_id: Any, replies: Any, reply: bool = False) -> Mention | None:
        snippet = comment.get("snippet") or {}
        channel = (snippet.get("authorChannelId") or {}).get("value")
        if channel and channel == self.settings.channel_id:
            return None  # the institution answering on its own videos
        text = (snippet.get("textOriginal") or snippet.get("textDisplay") or "").strip()
        created = _time(snippet.get("publishedAt"))
        if not text:
            return None
        if created is None:
            self.log.warning("%s: comment %s skipped: unreadable publishedAt", self.name, comment.get("id"))
            self.context.store.reject(self.name, "undated YouTube comment", comment)
            return None
        video = snippet.get("videoId") or video_id
        url = f"https://www.youtube.com/watch?v={video}&lc={comment['id']}" if video else None
        mention = Mention(
            source=self.name,
            external_id=str(comment["id"]),
            text=text,
            created_at=created,
            url=url,
            author_handle=snippet.get("authorDisplayName") or None,
            author_name=snippet.get("authorDisplayName") or None,
            likes=_count(snippet.get("likeCount")),
            replies=_count(replies),
            matched=["youtube:réponse" if reply else "youtube:commentaire"],
        )
        return self.finish(mention, comment)

    def _video(self, item: Any, query: str) -> Mention | None:
        try:
            video = item["id"]["videoId"]
            snippet = item["snippet"]
            text = "\n\n".join(p for p in (snippet.get("title", "").strip(), snippet.get("description", "").strip()) if p)
            created = _time(snippet.get("publishedAt"))
            if not text or created is None:
                return None
            mention = Mention(
                source=self.name,
                external_id=f"video:{video}",
                text=text,
                created_at=created,
                url=f"https://www.youtube.com/watch?v={video}",
                author_handle=snippet.get("channelId") or None,
                author_name=snippet.get("channelTitle") or None,
                matched=[query],
            )
            return self.finish(mention, item)
        except (KeyError, TypeError, AttributeError) as exc:
            self._reject(item, exc)
            return None

    def _reject(self, item: Any, exc: Exception) -> None:
        self.context.metrics.invalid_payloads.labels(source=self.name).inc()
        self.log.warning("%s: item skipped (%s: %s)", self.name, type(exc).__name__, exc)
        self.context.store.reject(self.name, f"invalid YouTube item: {type(exc).__name__}: {exc}", item)


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


EXAMPLE = """
[[sources]]
name = "youtube-ville"
type = "youtube"
enabled = false                    # activer une fois la clé d'API créée
base_url = "https://www.googleapis.com/youtube/v3"
key_env = "VIGIE_YOUTUBE_KEY"
channel_id = "UCxxxxxxxxxxxxxxxxxxxxxx"  # chaîne de l'institution : commentaires de ses vidéos
queries = ["Ma Ville"]             # recherche de vidéos : 100 unités par requête
daily_quota = 9000                 # unités par jour (le projet en a 10 000)
"""

PLUGIN = SourcePlugin(
    type="youtube",
    description="YouTube : commentaires des vidéos de la chaîne et recherche de vidéos, dans le quota journalier.",
    settings=YoutubeSourceSettings,
    example=EXAMPLE,
    create=YoutubeSource,
)
