"""HTTP plumbing shared by the channels that talk to a JSON API with aiohttp (webhook, Teams, Matrix,
Mattermost, SMS providers): one session per channel, one reading of Retry-After, one mapping from an
HTTP status to "try again later" or "stop, with a French reason"."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from alerts.channels import PermanentError, TransientError

if TYPE_CHECKING:
    import aiohttp

RETRYABLE = {408, 425, 429}
STATUS_FR = {
    400: "requête refusée",
    401: "authentification refusée (jeton ou clé)",
    403: "accès refusé (droits insuffisants)",
    404: "adresse introuvable (supprimée ou mal copiée ?)",
    410: "adresse supprimée",
    413: "message trop long",
    422: "contenu refusé",
}


@dataclass
class Answer:
    status: int
    text: str
    headers: dict[str, str]

    def json(self) -> Any:
        try:
            return json.loads(self.text or "null")
        except ValueError:
            return None


def retry_after(headers: dict[str, str], now: float | None = None) -> float | None:
    """Seconds to wait: Retry-After (seconds or HTTP date), else X-RateLimit-Reset when it is a delay."""
    lowered = {k.lower(): v for k, v in headers.items()}
    value = lowered.get("retry-after")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            try:
                return max(0.0, parsedate_to_datetime(value).timestamp() - (now or time.time()))
            except (TypeError, ValueError):
                return None
    reset = lowered.get("x-ratelimit-reset")
    if reset:
        try:
            seconds = float(reset)
        except ValueError:
            return None
        current = now or time.time()
        return max(0.0, seconds - current) if seconds > 1e9 else max(0.0, seconds)  # epoch or delay
    return None


class HttpClient:
    """A lazily opened aiohttp session (or the daemon's shared one), closed with the channel."""

    def __init__(self, session: aiohttp.ClientSession | None = None, *, timeout: float = 15.0,
                 user_agent: str = "Vigie/1") -> None:
        self._session = session
        self._own: aiohttp.ClientSession | None = None
        self.timeout = timeout
        self.user_agent = user_agent

    def session(self) -> aiohttp.ClientSession:
        import aiohttp  # imported when a channel first talks, not when the settings are read

        if self._session is not None and not self._session.closed:
            return self._session
        if self._own is None or self._own.closed:
            self._own = aiohttp.ClientSession()
        return self._own

    async def request(self, method: str, url: str, *, who: str, body: bytes | None = None,
                      headers: dict[str, str] | None = None, params: dict[str, str] | None = None) -> Answer:
        """One HTTP exchange; a network failure is a TransientError naming `who`."""
        import aiohttp

        sent = {"User-Agent": self.user_agent, **(headers or {})}
        try:
            async with self.session().request(method, url, data=body, headers=sent, params=params,
                                              timeout=aiohttp.ClientTimeout(total=self.timeout)) as response:
                text = await response.text(errors="replace")
                return Answer(response.status, text, dict(response.headers))
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TransientError(f"{who} injoignable : {type(exc).__name__} {exc}".strip()) from exc

    async def close(self) -> None:
        if self._own is not None:
            await self._own.close()


def check(answer: Answer, who: str, detail: str | None = None) -> Answer:
    """2xx passes; 408/425/429/5xx are worth retrying (Retry-After honoured); anything else stops."""
    if 200 <= answer.status < 300:
        return answer
    said = (detail if detail is not None else answer.text)[:200].strip()
    if answer.status in RETRYABLE or answer.status >= 500:
        label = "limite de débit atteinte" if answer.status == 429 else f"HTTP {answer.status}"
        raise TransientError(f"{who} : {label}, nouvel essai plus tard" + (f" ({said})" if said else ""),
                             retry_after(answer.headers))
    reason = STATUS_FR.get(answer.status, "refus définitif")
    raise PermanentError(f"{who} : {reason} (HTTP {answer.status})" + (f" : {said}" if said else ""))


def dumps(document: Any) -> bytes:
    return json.dumps(document, ensure_ascii=False, default=str).encode("utf-8")
