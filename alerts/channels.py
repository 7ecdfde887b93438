"""What every delivery channel promises the worker: `send` returns an external reference once the
receiver confirmed, or raises one of these errors so the worker knows whether to retry."""

from __future__ import annotations

from typing import Protocol

from alerts.render import Notification


class DeliveryError(Exception):
    """Base: `retry_after` (seconds) when the receiver asked for a delay."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TransientError(DeliveryError):
    """Worth trying again later (timeouts, 5xx, rate limits)."""


class PermanentError(DeliveryError):
    """Trying again cannot help (bad credentials, unknown channel, refused address): the row goes dead."""


class Deferred(DeliveryError):
    """Not an error: wait for something else first (an update whose original message is not sent yet)."""


class Channel(Protocol):
    name: str

    async def send(self, notification: Notification) -> str | None: ...

    async def close(self) -> None: ...
