"""Settings of each source type; `type` picks the model, so a typo in a source's key is named."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field

from listener.settings_base import StrictModel

DEFAULT_USER_AGENT = "Vigie/0.1 (veille des réseaux sociaux d'une institution publique; +https://github.com/vigie)"


class BaseSourceSettings(StrictModel):
    name: str
    enabled: bool = True
    # Raise a silence signal when the source has produced nothing for this long (seconds).
    silence_after: float | None = Field(default=None, gt=0)


class ReplaySourceSettings(BaseSourceSettings):
    type: Literal["replay"] = "replay"
    path: Path
    # "max" replays as fast as possible; a number is a speed factor (1 = real time, 60 = a minute a second).
    speed: float | Literal["max"] = "max"
    batch_size: int = Field(default=500, ge=1)


class PollingSourceSettings(BaseSourceSettings):
    """What every HTTP polling collector shares (loop, timeouts, retries, rate limits, paging)."""

    # Seconds between two polls (wall clock).
    poll_interval: float = Field(default=60.0, gt=0)
    # Random spread of the poll interval, as a fraction (0.1 = ±10 %), so sources do not poll in step.
    jitter: float = Field(default=0.1, ge=0, le=1)
    # Seconds before one HTTP request is abandoned (then retried).
    timeout: float = Field(default=20.0, gt=0)
    # Retries of one request after a network error, a timeout, a 5xx or a malformed body.
    max_retries: int = Field(default=3, ge=0)
    # First retry delay in seconds; doubles on each retry up to backoff_max.
    backoff_initial: float = Field(default=1.0, ge=0)
    # Longest retry delay in seconds.
    backoff_max: float = Field(default=60.0, ge=0)
    # Longest wait honoured for a 429 Retry-After or a rate-limit reset (seconds); longer ones fail the poll.
    max_retry_after: float = Field(default=900.0, ge=0)
    # 429 answers accepted in a row within one request before the poll gives up until the next one.
    max_rate_limited: int = Field(default=5, ge=0)
    # Most pages fetched per stream in one poll; the rest is picked up by the next poll (cursor kept).
    max_pages: int = Field(default=5, ge=1)
    # Pages fetched on the very first poll (no cursor yet): 1 = start from now, more = some history.
    initial_pages: int = Field(default=1, ge=1)
    # Largest response body accepted (bytes); a bigger one is an error, not a memory blow-up.
    max_response_bytes: int = Field(default=10_000_000, ge=1024)
    # Largest `raw` payload kept per mention (characters of JSON); bigger ones are trimmed.
    max_raw_chars: int = Field(default=20_000, ge=500)
    # User-Agent sent with every request (Reddit asks for a descriptive one).
    user_agent: str = DEFAULT_USER_AGENT


class MastodonSourceSettings(PollingSourceSettings):
    type: Literal["mastodon"] = "mastodon"
    # The instance to ask (tests point it at a fake).
    base_url: str = "https://mastodon.social"
    # Hashtags followed through /api/v1/timelines/tag/:hashtag (without '#').
    hashtags: list[str] = Field(default_factory=list)
    # Also read the public timeline, keeping only statuses with one of `keywords` (or `hashtags`).
    public_timeline: bool = False
    # Public timeline restricted to the instance's own accounts.
    public_local: bool = False
    # Keywords that pick statuses out of the public timeline (accents and case ignored).
    keywords: list[str] = Field(default_factory=list)
    # Environment variable holding the institution account's access token (mentions via notifications).
    token_env: str | None = None
    # Read the institution's mentions through /api/v1/notifications when a token is available.
    notifications: bool = True
    # Statuses per page (the API allows at most 40).
    page_size: int = Field(default=40, ge=1, le=40)


class BlueskySourceSettings(PollingSourceSettings):
    type: Literal["bluesky"] = "bluesky"
    # The PDS that opens the session and proxies app.bsky.feed.searchPosts (tests point it at a fake).
    base_url: str = "https://bsky.social"
    # Handle (or DID/email) of the account that searches (searchPosts needs a session since 2025).
    identifier: str | None = None
    # Environment variable holding that account's app password (Settings > App passwords).
    app_password_env: str | None = None
    # Search queries (Lucene-like syntax, e.g. "Rivebelle", "#rivebelle", "\"mairie de Rivebelle\"").
    queries: list[str] = Field(default_factory=list)
    # Only posts in this language (the `lang` parameter); empty for all languages.
    lang: str | None = "fr"
    # "latest" (newest first, what polling needs) or "top".
    sort: Literal["latest", "top"] = "latest"
    # Posts per page (the API allows at most 100).
    page_size: int = Field(default=100, ge=1, le=100)
    # Seconds of overlap re-read on each poll, for posts indexed late (duplicates are dropped).
    overlap_seconds: float = Field(default=120.0, ge=0)
    # Environment variable holding a ready access token instead of a session (rarely useful).
    token_env: str | None = None


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


class RssSourceSettings(PollingSourceSettings):
    type: Literal["rss"] = "rss"
    # Feed URLs (RSS or Atom): local press, news-search feeds.
    feeds: list[str] = Field(default_factory=list)
    # Keep only entries containing one of these keywords; empty keeps every entry.
    keywords: list[str] = Field(default_factory=list)
    # Language assumed for entries when the feed does not say (None lets the pipeline detect it).
    lang: str | None = None
    # Seconds between two polls (feeds change slowly).
    poll_interval: float = Field(default=300.0, gt=0)


class RedditSourceSettings(PollingSourceSettings):
    type: Literal["reddit"] = "reddit"
    # Reddit host answering the .json listings (tests point it at a fake).
    base_url: str = "https://www.reddit.com"
    # Site-wide searches (/search.json?q=...&sort=new).
    queries: list[str] = Field(default_factory=list)
    # Subreddits whose new posts are read (/r/<name>/new.json), without "r/".
    subreddits: list[str] = Field(default_factory=list)
    # Keep only subreddit posts containing one of these keywords; empty keeps every post.
    keywords: list[str] = Field(default_factory=list)
    # Posts per page (the API allows at most 100).
    page_size: int = Field(default=100, ge=1, le=100)
    # Seconds of overlap re-read on each poll (duplicates are dropped).
    overlap_seconds: float = Field(default=120.0, ge=0)
    # Environment variable holding an OAuth bearer token (then use base_url https://oauth.reddit.com).
    token_env: str | None = None
    # Seconds between two polls (Reddit's anonymous quota is small).
    poll_interval: float = Field(default=120.0, gt=0)


SourceSettings = Annotated[
    ReplaySourceSettings
    | MastodonSourceSettings
    | BlueskySourceSettings
    | JetstreamSourceSettings
    | RssSourceSettings
    | RedditSourceSettings,
    Field(discriminator="type"),
]
