"""What every delivery channel promises the worker, and what a channel plugin declares.

`send` returns an external reference once the receiver confirmed, or raises one of these errors so the
worker knows whether to retry. A channel module (alerts/<name>.py) exports `PLUGIN`, a ChannelPlugin
naming its settings model ([alerts.<name>]), its French description and an example configuration;
alerts/registry.py lists the plugins. Recipient groups name the channel by the same name
(rules/recipients.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import aiohttp

    from alerts.digest import Digest
    from alerts.render import Notification
    from listener.store import Store


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

    async def send_digest(self, digest: Digest, target: str, key: str) -> str | None: ...

    async def close(self) -> None: ...


@dataclass
class ChannelContext:
    """What a channel may need besides its own settings."""

    store: Store
    http: aiohttp.ClientSession | None = None


@dataclass(frozen=True)
class ChannelPlugin:
    # Key of [alerts.<name>] and of the recipient groups.
    name: str
    # One line in French, shown by `vigie alerts channels`.
    description: str
    # What a target of this channel is, in French ("adresse e-mail", "URL du webhook"…).
    target: str
    # The [alerts.<name>] model; it has `enabled`.
    settings: type
    # A configuration block to copy into config.toml.
    example: str
    create: Callable[[Any, ChannelContext], Channel]
