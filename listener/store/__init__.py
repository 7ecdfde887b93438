"""The embedded store: one SQLite file in WAL mode, reached through sqlite-utils."""

from listener.store.store import Store, StoreUnavailable, store_fault

__all__ = ["Store", "StoreUnavailable", "store_fault"]
