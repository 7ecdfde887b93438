"""What every collector is: a long-running task that hands batches of mentions to the pipeline.

A source passes the cursor that covers a batch along with it; the pipeline saves that cursor in the
same transaction as the mentions, so a crash never skips mentions (resume from the last stored batch)
and never doubles them (the store de-duplicates on source and external id).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from listener.clock import Clock
from listener.models import Mention
from listener.timeutil import to_iso

if TYPE_CHECKING:
    import aiohttp

    from listener.metrics import Metrics
    from listener.sources.settings import BaseSourceSettings
    from listener.store import Store


class MentionSink(Protocol):
    async def put(self, mentions: list[Mention], *, source: str, cursor: str | None = None) -> None: ...


@dataclass
class SourceContext:
    store: Store
    clock: Clock
    metrics: Metrics
    http: aiohttp.ClientSession | None = None
    # Replays call this before handing over the first mention of a new minute: everything handed over is
    # stored and every earlier minute evaluated first (rules never see mentions from their future).
    replay_gate: Callable[[datetime], Awaitable[None]] | None = None


@dataclass
class SourceHealth:
    """What /healthz and `vigie status` say about a source."""

    state: str = "starting"  # starting | ok | degraded | failing | finished | stopped
    last_poll_at: datetime | None = None
    last_success_at: datetime | None = None
    last_mention_at: datetime | None = None
    last_error: str | None = None
    consecutive_errors: int = 0
    mentions: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "last_poll_at": to_iso(self.last_poll_at) if self.last_poll_at else None,
            "last_success_at": to_iso(self.last_success_at) if self.last_success_at else None,
            "last_mention_at": to_iso(self.last_mention_at) if self.last_mention_at else None,
            "last_error": self.last_error,
            "consecutive_errors": self.consecutive_errors,
            "mentions": self.mentions,
            **self.extra,
        }


class Source(ABC):
    """Base class: subclasses implement `run`, loop until cancelled, and keep `health` up to date."""

    type: str = ""

    def __init__(self, settings: BaseSourceSettings, context: SourceContext) -> None:
        self.settings = settings
        self.name = settings.name
        self.context = context
        self.health = SourceHealth()
        self.log = logging.getLogger(f"vigie.source.{self.name}")

    @abstractmethod
    async def run(self, sink: MentionSink) -> None:
        """Collect until cancelled (or, for finite sources, until done)."""

    def load_cursor(self) -> str | None:
        return self.context.store.get_cursor(self.name)

    def record_success(self, mentions: list[Mention]) -> None:
        now = self.context.clock.now()
        self.health.last_poll_at = now
        self.health.last_success_at = now
        self.health.consecutive_errors = 0
        self.health.state = "ok"
        if mentions:
            self.health.mentions += len(mentions)
            self.health.last_mention_at = now

    def update_silence(self) -> None:
        """Keep `health.extra["silent"]` accurate for sources with `silence_after`: true when nothing has
        been handed over for longer than that (the detection area raises the actual silence Signal)."""
        limit = getattr(self.settings, "silence_after", None)
        if not limit:
            return
        now = self.context.clock.now()
        since = self.health.last_mention_at or self.__dict__.setdefault("_watching_since", now)
        self.health.extra["silent"] = (now - since).total_seconds() > limit

    def record_error(self, error: BaseException | str) -> None:
        self.health.last_poll_at = self.context.clock.now()
        self.health.consecutive_errors += 1
        self.health.last_error = str(error) if isinstance(error, str) else f"{type(error).__name__}: {error}"
        self.health.state = "failing" if self.health.consecutive_errors >= 3 else "degraded"
        self.context.metrics.source_errors.labels(source=self.name).inc()


@dataclass(frozen=True)
class SourcePlugin:
    """What a source module says about itself (huginn's agents are the model): the registry lists these,
    `vigie sources types` prints them, and config.toml's examples come from them."""

    # The `type` key of a [[sources]] block.
    type: str
    # One line in French, shown by `vigie sources types`.
    description: str
    # The settings model (a pydantic model whose `type` is Literal[type]).
    settings: type
    # A [[sources]] block to copy into config.toml (commented, disabled until configured).
    example: str
    create: Callable[[Any, SourceContext], Source]
