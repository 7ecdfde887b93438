"""Replays a JSONL file of recorded mentions through the real pipeline.

Speed "max" goes as fast as the pipeline takes them; a number N plays the recording N times faster
than it happened. The daemon's clock follows the recorded timestamps either way, so detectors, rules,
throttling and quiet hours behave as they would have on the day. A malformed line is logged, counted
and skipped; the rest of the file still plays. The cursor is the line number reached, so a replay that
is stopped and restarted resumes where it stopped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Literal

import orjson
from pydantic import Field

from listener.errors import InvalidMention
from listener.models import Mention
from listener.sources.base import MentionSink, Source, SourceContext, SourcePlugin
from listener.sources.settings import BaseSourceSettings
from listener.timeutil import minute_bucket


def read_jsonl(
    path: Path, source_name: str, on_error: Callable[[int, str, str], None]
) -> Iterator[tuple[int, Mention]]:
    """Yield (line number, mention) for every valid line; report bad lines through `on_error`."""
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                payload = orjson.loads(line)
                yield number, Mention.from_dict(payload, default_source=source_name)
            except orjson.JSONDecodeError as exc:
                on_error(number, f"invalid JSON: {exc}", line.decode("utf-8", errors="replace"))
            except InvalidMention as exc:
                on_error(number, f"invalid mention: {exc}", line.decode("utf-8", errors="replace"))
            except Exception as exc:  # one unreadable line must never stop (or loop) the whole replay
                on_error(number, f"unreadable line: {type(exc).__name__}: {exc}", line.decode("utf-8", errors="replace"))


class ReplaySourceSettings(BaseSourceSettings):
    type: Literal["replay"] = "replay"
    # JSONL file of recorded mentions, one Mention object per line (relative to the config file).
    path: Path
    # "max" replays as fast as possible; a number is a speed factor (1 = real time, 60 = a minute a second).
    speed: float | Literal["max"] = "max"
    # Mentions handed to the pipeline per batch.
    batch_size: int = Field(default=500, ge=1)


class ReplaySource(Source):
    type = "replay"
    settings: ReplaySourceSettings

    def __init__(self, settings: ReplaySourceSettings, context: SourceContext, *, path: Path | None = None) -> None:
        super().__init__(settings, context)
        self.path = path or settings.path
        self.done = asyncio.Event()
        self.lines_read = 0
        self.rejected = 0
        self.total_lines: int | None = None
        self.progress: Callable[[int], None] | None = None

    def _reject(self, number: int, problem: str, line: str) -> None:
        self.rejected += 1
        self.context.metrics.invalid_payloads.labels(source=self.name).inc()
        self.log.warning("%s line %d skipped: %s", self.path, number, problem)
        self.context.store.reject(self.name, f"{self.path}:{number}: {problem}", line.rstrip("\n"))

    async def run(self, sink: MentionSink) -> None:
        start_line = int(self.load_cursor() or 0)
        speed = self.settings.speed
        batch: list[Mention] = []
        first_recorded: datetime | None = None
        loop = asyncio.get_running_loop()
        wall_start = loop.time()
        self.health.state = "ok"
        last_line = start_line
        gate = self.context.replay_gate
        minute: int | None = None
        for number, mention in read_jsonl(self.path, self.name, self._reject):
            if number <= start_line:
                continue
            if gate is not None and (minute is None or minute_bucket(mention.created_at) > minute):
                # A new minute of recorded time: what came before is stored and evaluated first, at any speed.
                if batch:
                    await self._emit(sink, batch, last_line)
                    batch = []
                await gate(mention.created_at)
                minute = minute_bucket(mention.created_at)
            if speed != "max":
                if first_recorded is None:
                    first_recorded = mention.created_at
                due = (mention.created_at - first_recorded).total_seconds() / float(speed)
                delay = due - (loop.time() - wall_start)
                if delay > 0:
                    if batch:
                        await self._emit(sink, batch, last_line)
                        batch = []
                    await asyncio.sleep(delay)
            batch.append(mention)
            last_line = number
            if len(batch) >= self.settings.batch_size:
                await self._emit(sink, batch, last_line)
                batch = []
        if batch or last_line > start_line:
            await self._emit(sink, batch, last_line)
        self.health.state = "finished"
        self.health.extra["rejected_lines"] = self.rejected
        self.done.set()

    async def _emit(self, sink: MentionSink, batch: list[Mention], line: int) -> None:
        await sink.put(batch, source=self.name, cursor=str(line))
        self.record_success(batch)
        if batch:
            self.health.last_mention_at = batch[-1].created_at
        self.lines_read = line
        if self.progress is not None:
            self.progress(len(batch))
        await asyncio.sleep(0)  # let the pipeline and the web server breathe between batches


EXAMPLE = """
[[sources]]
name = "rejeu"
type = "replay"
path = "demo-out/mentions.jsonl"   # fichier JSONL de mentions
speed = "max"                      # "max" ou un facteur (60 = une minute par seconde)
"""

PLUGIN = SourcePlugin(
    type="replay",
    description="Rejoue un fichier JSONL de mentions enregistrées (démonstration, essais, reprise d'un export).",
    settings=ReplaySourceSettings,
    example=EXAMPLE,
    create=ReplaySource,
)
