"""What every source's settings share; each source module holds its own model (with its `type`), and the
registry (listener/sources/registry.py) joins them so `type` picks the model and a typo in a key is named."""

from __future__ import annotations

from pydantic import Field

from listener.settings_base import StrictModel

DEFAULT_USER_AGENT = "Vigie/0.1 (veille des réseaux sociaux d'une institution publique; +https://github.com/vigie)"


class BaseSourceSettings(StrictModel):
    # Unique name of this source (its cursor, its `source:<name>` counter and health line).
    name: str
    # false: the source is configured but not polled.
    enabled: bool = True
    # Raise a silence signal when the source has produced nothing for this long (seconds).
    silence_after: float | None = Field(default=None, gt=0)


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
    # Seconds a source waits after its token was refused or expired before trying again (secrets re-read).
    auth_retry_seconds: float = Field(default=900.0, ge=0)
    # User-Agent sent with every request (Reddit asks for a descriptive one).
    user_agent: str = DEFAULT_USER_AGENT
