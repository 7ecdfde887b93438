"""The embedded store: one SQLite file in WAL mode, reached through sqlite-utils."""

from listener.store.store import Store

__all__ = ["Store"]
