"""The composition root: the one module that names every area, in the order they are set up.

Nothing below this floor knows which areas exist (tests/test_architecture_layers.py holds that true):
the store receives its migrations from here, the daemon its set-up functions and evaluation order, the
CLI its commands. Adding an area means writing its manifest and adding it to AREAS, nowhere else.
Importing this module is cheap (manifests import their area only when used): `vigie --help` reads it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from alerts.manifest import ALERTS
from classifiers.manifest import DETECTION, UNDERSTANDING
from listener.auth.manifest import WORKSPACE
from listener.host import AreaManifest, Command
from listener.manifest import SPINE
from rules.manifest import CRISIS, RULES

if TYPE_CHECKING:
    from listener.store import Store
    from listener.store.migrations import Migration

# Set-up order: detection before the rules that read its signals, the posting policy after the rules,
# then delivery, the workspace's accounts, then the spine's ingest endpoint.
AREAS: tuple[AreaManifest, ...] = (UNDERSTANDING, DETECTION, RULES, CRISIS, ALERTS, WORKSPACE, SPINE)


def migrations(areas: tuple[AreaManifest, ...] = AREAS) -> list[Migration]:
    """Every area's migrations, in the order they apply: the store's core tables first, then the areas'
    in AREAS order (each area's tables stand alone, so their relative order does not matter)."""
    from listener.store.migrations import MIGRATIONS as CORE

    return [*CORE, *(migration for area in areas if area.migrations for migration in area.migrations())]


def evaluation_order(areas: tuple[AreaManifest, ...] = AREAS) -> dict[str, int]:
    """Every per-minute step by name -> order; two steps may not share a name."""
    orders: dict[str, int] = {}
    for area in areas:
        for name, order in area.evaluation.items():
            if name in orders:
                raise ValueError(f"evaluation step {name!r} declared by two areas")
            orders[name] = order
    return orders


def commands(areas: tuple[AreaManifest, ...] = AREAS) -> dict[str, Command]:
    found: dict[str, Command] = {}
    for area in areas:
        for command in area.commands:
            if command.name in found:
                raise ValueError(f"command {command.name!r} declared by two areas")
            found[command.name] = command
    return found


def open_store(path: Path | str, *, migrate_schema: bool = True, busy_timeout_ms: int = 5000) -> Store:
    """The store with every area's tables (what the daemon, the CLI and the benchmarks open)."""
    from listener.store import Store

    return Store(path, migrate_schema=migrate_schema, migrations=migrations(), busy_timeout_ms=busy_timeout_ms)
