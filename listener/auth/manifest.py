"""The workspace's manifest: named accounts (`vigie users`) and their tables."""

from __future__ import annotations

from listener.host import AreaManifest, lazy_command, lazy_migrations

WORKSPACE = AreaManifest(
    name="workspace",
    commands=(
        lazy_command("users", "Comptes de l'espace de travail (rôles : lecture, cellule, cabinet, admin).",
                     "listener.auth.cli", "users"),
    ),
    migrations=lazy_migrations("listener.auth.schema"),
)
