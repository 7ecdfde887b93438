"""The spine's manifest: the daemon and store commands, and POST /api/ingest (its only set-up)."""

from __future__ import annotations

from typing import Any

from listener.host import AreaManifest, Command, Host


def _setup(host: Host) -> Any:
    from listener.sources import ingest

    return ingest.setup(host)


def _service() -> Any:
    from listener.cli import service

    return service


def _sources() -> Any:
    from listener.cli.sources import sources_group

    return sources_group


def _store() -> Any:
    from listener.cli import store

    return store


SPINE = AreaManifest(
    name="listener",
    setup=_setup,
    commands=(
        Command("run", "Lance le démon de veille (arrêt propre sur SIGTERM ou Ctrl-C).", lambda: _service().run),
        Command("demo", "Rejoue 36 h de mentions d'une ville fictive dans le démon complet et montre les alertes.",
                lambda: _service().demo),
        Command("replay", "Rejoue un fichier JSONL de mentions enregistrées dans la base configurée "
                          "(pipeline complet).", lambda: _service().replay),
        Command("check-config", "Vérifie la configuration et dit ce qui sera lancé.", lambda: _service().check_config),
        Command("status", "État : sources, dernière collecte, volumes, mode de crise.", lambda: _service().status),
        Command("search", "Recherche plein texte dans les mentions (accents ignorés).", lambda: _store().search),
        Command("sources", "Sources de collecte (réseaux sociaux, flux, ingestion).", _sources),
        Command("purge", "Supprime les mentions plus anciennes que N jours (données personnelles).",
                lambda: _store().purge),
    ),
)
