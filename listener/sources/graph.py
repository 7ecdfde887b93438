"""What Meta's Graph APIs share (Facebook Pages, Instagram, Threads), written once.

- Edges answer `{"data": [...], "paging": {"cursors": {"before", "after"}, "next"?, "previous"?}}`; a
  page is followed with `after` while `paging.next` is present (the documented cursor-based paging).
- Errors answer `{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}`: code 190 (or
  102, or an OAuthException without code) means the token expired or was revoked; codes 4, 17, 32, 613
  and 80001-80014 are throttling (the usage headers' `estimated_time_to_regain_access`, in minutes,
  says how long); other 4xx are final.
- Usage headers (`X-App-Usage`, `X-Business-Use-Case-Usage`, `X-Page-Usage`): JSON percentages of
  the quota used; the highest is shown in health, and at `usage_ceiling` % the source stops asking
  until the announced time has passed, so it never reaches the hard limit.
- Dates are ISO 8601 with a "+0000" offset; the token travels in the Authorization header, never in
  a logged URL.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any

from pydantic import Field

from listener.settings_base import secret_from_env
from listener.sources.http import ApiVerdict, FetchError, PollingSource
from listener.sources.settings import PollingSourceSettings
from listener.timeutil import parse_time

THROTTLING_CODES = frozenset({4, 17, 32, 613, *range(80001, 80015)})
AUTH_CODES = frozenset({102, 190})
USAGE_HEADERS = ("X-App-Usage", "X-Business-Use-Case-Usage", "X-Page-Usage", "X-Ad-Account-Usage")


class GraphSourceSettings(PollingSourceSettings):
    """Settings every Graph API collector shares."""

    # Environment variable holding the access token (a Page, Instagram or Threads user token).
    token_env: str | None = None
    # Items asked per page (`limit`).
    page_size: int = Field(default=50, ge=1, le=100)
    # Percentage of a usage header at which the source pauses until the quota recovers.
    usage_ceiling: float = Field(default=90.0, gt=0, le=100)
    # Seconds of overlap re-read on each poll, for items published late (duplicates are dropped).
    overlap_seconds: float = Field(default=300.0, ge=0)


def graph_error(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except ValueError:
        return {}
    error = data.get("error") if isinstance(data, dict) else None
    return error if isinstance(error, dict) else {}


def usage_of(headers: Any) -> tuple[float | None, float | None]:
    """(highest percentage used, seconds until access is regained) read from the usage headers."""
    highest: float | None = None
    regain: float | None = None

    def visit(value: Any) -> None:
        nonlocal highest, regain
        if isinstance(value, dict):
            for key, item in value.items():
                if key in ("call_count", "total_cputime", "total_time", "acc_id_util_pct") and \
                        isinstance(item, int | float):
                    highest = max(highest or 0.0, float(item))
                elif key == "estimated_time_to_regain_access" and isinstance(item, int | float) and item > 0:
                    regain = max(regain or 0.0, float(item) * 60)
                else:
                    visit(item)
        elif isinstance(value, list):
            for item in value:
                visit(item)

    for name in USAGE_HEADERS:
        raw = headers.get(name)
        if raw:
            try:
                visit(json.loads(raw))
            except ValueError:
                continue
    return highest, regain


def graph_time(value: Any) -> datetime | None:
    try:
        return parse_time(value) if isinstance(value, str) else None
    except (ValueError, OverflowError):
        return None


class GraphSource(PollingSource):
    """Base of the Meta collectors: token in the header, Graph errors and usage headers understood."""

    settings: GraphSourceSettings

    def __init__(self, settings: GraphSourceSettings, context: Any) -> None:
        super().__init__(settings, context)
        self.base = settings.base_url.rstrip("/")  # type: ignore[attr-defined]
        self.token = secret_from_env(settings.token_env)
        self.health.extra.update({"usage_percent": None})

    def reload_secrets(self) -> None:
        self.token = secret_from_env(self.settings.token_env) or self.token

    def request_headers(self) -> dict[str, str]:
        headers = super().request_headers()
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def api_error(self, status: int, body: bytes, headers: Any) -> ApiVerdict | None:
        error = graph_error(body)
        code = error.get("code")
        message = str(error.get("message") or "")[:200]
        if code in AUTH_CODES or (status == 401 and error.get("type") == "OAuthException"):
            return ApiVerdict("auth", message=f"token refused (code {code}, subcode {error.get('error_subcode')}): {message}")
        if code in THROTTLING_CODES:
            _, regain = usage_of(headers)
            return ApiVerdict("rate_limited", delay=regain, message=f"throttled (code {code}): {message}")
        return None

    async def graph_get(self, path_or_url: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """One Graph request; the usage headers are noted (and obeyed) on every answer."""
        if not self.token:
            raise FetchError(f"{self.name}: no access token (set {self.settings.token_env or 'token_env'})",
                             retryable=False, kind="auth")
        url = path_or_url if path_or_url.startswith("http") else self.base + path_or_url
        fetched = await self.fetch(url, params)
        used, regain = usage_of(fetched.headers)
        if used is not None:
            self.health.extra["usage_percent"] = used
            if used >= self.settings.usage_ceiling:
                pause = regain if regain is not None else 300.0
                self._not_before = max(self._not_before, time.monotonic() + min(pause, self.settings.max_retry_after))
                self.health.extra["usage_paused_until"] = round(time.time() + pause)
        data = fetched.json()
        if not isinstance(data, dict):
            raise FetchError(f"{url}: a JSON object was expected", retryable=False)
        return data

    async def edge_page(self, path: str, params: dict[str, Any], after: str | None) -> tuple[list[Any], str | None]:
        """One page of an edge, and the `after` cursor of the next one (None at the end)."""
        query = {**params, "limit": str(self.settings.page_size)}
        if after:
            query["after"] = after
        data = await self.graph_get(path, query)
        items = data.get("data")
        if not isinstance(items, list):
            raise FetchError(f"{path}: no 'data' array in the answer", retryable=False)
        paging = data.get("paging") if isinstance(data.get("paging"), dict) else {}
        cursors = paging.get("cursors") if isinstance(paging.get("cursors"), dict) else {}
        following = cursors.get("after") if paging.get("next") else None
        return items, following if isinstance(following, str) and following else None
