"""The alerts area: outbox delivery, digests, Slack interactions, `vigie alerts` and `vigie digest`."""

from __future__ import annotations

from listener.host import AreaManifest, lazy_command, lazy_migrations, lazy_setup

ALERTS = AreaManifest(
    name="alerts",
    setup=lazy_setup("alerts.extension"),
    commands=(
        lazy_command("alerts", "Alertes : état des envois (outbox), relance des envois abandonnés.",
                     "alerts.cli", "alerts_group"),
        lazy_command("digest", "Synthèse du matin pour les élus : aperçu HTML (--preview) ou envoi immédiat "
                               "(--send).", "alerts.cli", "digest"),
    ),
    migrations=lazy_migrations("alerts.schema"),
)
