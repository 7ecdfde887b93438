"""What an area sees of the daemon while it sets up, and how areas reach each other without names.

- `Host`: the typed protocol an area's `setup(host)` receives (the daemon, `listener.app.Vigie`, is one).
- `Key[T]`: a typed name for what one area provides (`host.provide(KEY, value)`); another reads it with
  `host.get(KEY)` (or `host.find(KEY)` when the area may be disabled) and gets a `T`, not a string look-up.
- `Event`: something that happened, raised by one area (`host.emit(EVENT)`) and handled by whoever
  subscribed (`host.subscribe(EVENT, fn)`): rules tell "rows were queued" without knowing alerts exist.
- `AreaManifest`: what an area brings — set-up, CLI commands, migrations, evaluation order — listed once
  in the composition root (listener/areas.py). `lazy_command`, `lazy_setup` and `lazy_migrations` name
  the module that holds each piece, imported only when used (the layering test reads those names too).

Registration is frozen once every area is set up: a late `add_*` is a bug, so it raises.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, runtime_checkable

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    import aiohttp
    import click
    from aiohttp import web

    from listener.clock import Clock
    from listener.metrics import Metrics
    from listener.pipeline import Pipeline
    from listener.settings import Settings
    from listener.store import Store
    from listener.store.migrations import Migration

T = TypeVar("T")


class Key(Generic[T]):
    """A typed key: `Key[AlertsExtension]("alerts")`. Two keys with the same name are still different keys."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"Key({self.name!r})"


@dataclass(frozen=True, eq=False)
class Event:
    """A named happening; handlers take no argument (they read the store, which holds the facts)."""

    name: str


# Rows were queued in the outbox (alerts, crisis announcements, held posts): deliver them now.
OUTBOX_QUEUED = Event("outbox.queued")


@runtime_checkable
class Host(Protocol):
    """The daemon as an area's set-up sees it (checked against `Vigie` by tests/test_spine_areas.py)."""

    settings: Settings
    store: Store
    clock: Clock
    metrics: Metrics
    pipeline: Pipeline
    tz: ZoneInfo
    deliver: bool
    http: aiohttp.ClientSession | None

    def add_component(self, name: str, run: Callable[[], Awaitable[None]], health: Any = None,
                      finite: bool = False) -> None: ...

    def add_evaluation_step(self, name: str, run: Callable[[datetime], Any], *,
                            absorb: Callable[[], Any] | None = None) -> None:
        """A per-minute step; its order is the one the area's manifest declares for `name`. `absorb` reads
        ahead between passes (live, every few seconds, on the evaluation thread)."""

    def add_job(self, name: str, func: Callable[[], Any], *, cron: str | None = None,
                interval_seconds: float | None = None) -> None: ...

    def add_routes(self, routes: list[web.RouteDef]) -> None: ...

    def add_health(self, name: str, report: Callable[[], dict[str, Any]]) -> None: ...

    def on_shutdown(self, hook: Callable[[], Awaitable[None] | None]) -> None: ...

    def provide(self, key: Key[T], value: T) -> None: ...

    def get(self, key: Key[T]) -> T: ...

    def find(self, key: Key[T]) -> T | None: ...

    def subscribe(self, event: Event, handler: Callable[[], None]) -> None: ...

    def emit(self, event: Event) -> None: ...


@dataclass(frozen=True)
class Command:
    """A top-level CLI command. `summary` is what `vigie --help` prints without importing the area (the
    CLI reference test checks it is the command's own first sentence); `load` imports it when it runs."""

    name: str
    summary: str
    load: Callable[[], click.Command]


def lazy_command(name: str, summary: str, module: str, attr: str) -> Command:
    """The command `attr` of `module`, imported only when it runs (listing commands imports no area code)."""

    def load() -> click.Command:
        return getattr(importlib.import_module(module), attr)

    return Command(name, summary, load)


def lazy_setup(module: str) -> Callable[[Host], object]:
    """The `setup(host)` of `module`, imported when the daemon sets the area up."""

    def setup(host: Host) -> object:
        return importlib.import_module(module).setup(host)

    return setup


def lazy_migrations(*modules: str) -> Callable[[], Sequence[Migration]]:
    """The `MIGRATIONS` of each module in turn, imported when a store opens."""

    def migrations() -> list[Migration]:
        return [migration for module in modules for migration in importlib.import_module(module).MIGRATIONS]

    return migrations


@dataclass(frozen=True)
class AreaManifest:
    """Everything an area brings to the daemon and the CLI, in one value."""

    name: str
    setup: Callable[[Host], object] | None = None
    commands: Sequence[Command] = ()
    migrations: Callable[[], Sequence[Migration]] | None = None
    # Per-minute steps this area registers, by name -> order (lower runs first: detection, rules, posting).
    evaluation: Mapping[str, int] = field(default_factory=dict)
