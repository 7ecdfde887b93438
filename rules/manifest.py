"""The rules' two areas: the rules engine (alerts, silences) and crisis mode with the posting policy."""

from __future__ import annotations

from listener.host import AreaManifest, lazy_command, lazy_migrations, lazy_setup

RULES = AreaManifest(
    name="rules",
    setup=lazy_setup("rules.extension"),
    commands=(
        lazy_command("rules", "Règles d'alerte : liste, vérification, rejeu d'essai (backtest).",
                     "rules.cli", "rules_group"),
        lazy_command("ack", "Prend en charge une alerte (arrête l'escalade).", "rules.cli", "ack_command"),
        lazy_command("silences", "Silences : suspendre les notifications d'une règle ou d'une clé pendant une durée.",
                     "rules.cli", "silences_group"),
        lazy_command("incidents", "Incidents : alertes liées regroupées (liste, détail, prise en charge, clôture, "
                                  "silence).", "rules.incidents_cli", "incidents_group"),
    ),
    migrations=lazy_migrations("rules.schema", "rules.incidents_schema"),
    evaluation={"rules": 20},
)

CRISIS = AreaManifest(
    name="crisis",
    setup=lazy_setup("rules.posting_service"),
    commands=(
        lazy_command("crise", "Mode de crise : niveau en vigueur, changements (tracés) et journal.",
                     "rules.crisis_cli", "crise"),
        lazy_command("posts", "Publications programmées (Mastodon, Bluesky) et politique de crise.",
                     "rules.crisis_cli", "posts"),
    ),
    migrations=lazy_migrations("rules.crisis_schema"),
    evaluation={"crisis": 25},
)
