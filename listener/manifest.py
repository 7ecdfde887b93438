"""The spine's manifest: the daemon and store commands, and POST /api/ingest (its only set-up)."""

from __future__ import annotations

from listener.host import AreaManifest, lazy_command, lazy_setup

SERVICE = "listener.cli.service"

SPINE = AreaManifest(
    name="listener",
    setup=lazy_setup("listener.sources.ingest"),
    commands=(
        lazy_command("run", "Lance le démon de veille (arrêt propre sur SIGTERM ou Ctrl-C).", SERVICE, "run"),
        lazy_command("demo", "Rejoue 36 h de mentions d'une ville fictive dans le démon complet et montre les "
                             "alertes.", SERVICE, "demo"),
        lazy_command("replay", "Rejoue un fichier JSONL de mentions enregistrées dans la base configurée "
                               "(pipeline complet).", SERVICE, "replay"),
        lazy_command("check-config", "Vérifie la configuration et dit ce qui sera lancé.", SERVICE, "check_config"),
        lazy_command("status", "État : sources, dernière collecte, volumes, mode de crise.", SERVICE, "status"),
        lazy_command("search", "Recherche plein texte dans les mentions (accents ignorés).",
                     "listener.cli.store", "search"),
        lazy_command("sources", "Sources de collecte (réseaux sociaux, flux, ingestion).",
                     "listener.cli.sources", "sources_group"),
        lazy_command("purge", "Supprime les mentions plus anciennes que N jours (données personnelles).",
                     "listener.cli.store", "purge"),
    ),
)
