"""The composition root: the one module that names every area, in order.

Nothing below this floor knows which areas exist (tests/test_architecture_layers.py holds that true):
the store receives its migrations from here, the daemon its set-up functions, the CLI its commands.
Adding an area means adding it here, and nowhere else.
"""

from __future__ import annotations

from pathlib import Path

from listener.store import Store
from listener.store.migrations import MIGRATIONS as CORE_MIGRATIONS
from listener.store.migrations import Migration


def migrations() -> list[Migration]:
    """Every area's migrations, in the order they apply: the core tables first, then each area's."""
    from alerts.schema import MIGRATIONS as ALERTS
    from classifiers.schema import MIGRATIONS as CLASSIFIERS
    from listener.auth.schema import MIGRATIONS as AUTH
    from rules.crisis_schema import MIGRATIONS as CRISIS
    from rules.schema import MIGRATIONS as RULES

    return [*CORE_MIGRATIONS, *AUTH, *RULES, *CRISIS, *ALERTS, *CLASSIFIERS]


def open_store(path: Path | str, *, migrate_schema: bool = True) -> Store:
    """The store with every area's tables (what the daemon, the CLI and the benchmarks open)."""
    return Store(path, migrate_schema=migrate_schema, migrations=migrations())
