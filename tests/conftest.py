"""Shared fixtures: real SQLite files in tmp dirs, settings built from dicts, loopback only."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from listener.areas import open_store
from listener.settings import Settings, settings_from_dict
from listener.store import Store

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = REPO_ROOT.parent / "shared"
# Tests that read the real data and recorded payloads of ../shared skip, saying so, in a clone kept elsewhere.
needs_shared = pytest.mark.skipif(not (SHARED / "data").is_dir() or not (SHARED / "conformance").is_dir(),
                                  reason="needs ../shared (real labelled data and recorded API payloads)")


@pytest.fixture
def store(tmp_path: Path) -> Store:
    db = open_store(tmp_path / "vigie.db")
    yield db
    with contextlib.suppress(Exception):
        db.close()


@pytest.fixture
def make_settings(tmp_path: Path):
    """Settings for a test daemon: its own store file, web on a free loopback port, no delivery."""

    def build(**sections) -> Settings:
        data = {
            "store": {"path": str(tmp_path / "vigie.db")},
            "web": {"port": 0, "host": "127.0.0.1"},
        }
        for name, value in sections.items():
            if isinstance(value, dict) and isinstance(data.get(name), dict):
                data[name] = {**data[name], **value}
            else:
                data[name] = value
        return settings_from_dict(data)

    return build

