"""The workspace's manifest: named accounts (`vigie users`) and their tables."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from listener.host import AreaManifest, Command


def _migrations() -> Sequence[Any]:
    from listener.auth.schema import MIGRATIONS

    return MIGRATIONS


def _users() -> Any:
    from listener.auth.cli import users

    return users


WORKSPACE = AreaManifest(
    name="workspace",
    commands=(
        Command("users", "Comptes de l'espace de travail (rôles : lecture, cellule, cabinet, admin).", _users),
    ),
    migrations=_migrations,
)
