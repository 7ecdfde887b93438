"""The rules' two areas: the rules engine (alerts, silences) and crisis mode with the posting policy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from listener.host import AreaManifest, Command, Host


def _setup_rules(host: Host) -> Any:
    from rules import extension

    return extension.setup(host)


def _setup_crisis(host: Host) -> Any:
    from rules import posting_service

    return posting_service.setup(host)


def _rules_migrations() -> Sequence[Any]:
    from rules.incidents_schema import MIGRATIONS as INCIDENTS
    from rules.schema import MIGRATIONS

    return [*MIGRATIONS, *INCIDENTS]


def _crisis_migrations() -> Sequence[Any]:
    from rules.crisis_schema import MIGRATIONS

    return MIGRATIONS


def _cli() -> Any:
    from rules import cli

    return cli


def _incidents_cli() -> Any:
    from rules import incidents_cli

    return incidents_cli


def _crisis_cli() -> Any:
    from rules import crisis_cli

    return crisis_cli


RULES = AreaManifest(
    name="rules",
    setup=_setup_rules,
    commands=(
        Command("rules", "Règles d'alerte : liste, vérification, rejeu d'essai (backtest).", lambda: _cli().rules_group),
        Command("ack", "Prend en charge une alerte (arrête l'escalade).", lambda: _cli().ack_command),
        Command("silences", "Silences : suspendre les notifications d'une règle ou d'une clé pendant une durée.",
                lambda: _cli().silences_group),
        Command("incidents", "Incidents : alertes liées regroupées (liste, détail, prise en charge, clôture, silence).",
                lambda: _incidents_cli().incidents_group),
    ),
    migrations=_rules_migrations,
    evaluation={"rules": 20},
)

CRISIS = AreaManifest(
    name="crisis",
    setup=_setup_crisis,
    commands=(
        Command("crise", "Mode de crise : niveau en vigueur, changements (tracés) et journal.",
                lambda: _crisis_cli().crise),
        Command("posts", "Publications programmées (Mastodon, Bluesky) et politique de crise.",
                lambda: _crisis_cli().posts),
    ),
    migrations=_crisis_migrations,
    evaluation={"crisis": 25},
)
