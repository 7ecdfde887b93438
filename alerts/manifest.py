"""The alerts area: outbox delivery, digests, Slack interactions, `vigie alerts` and `vigie digest`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from listener.host import AreaManifest, Command, Host


def _setup(host: Host) -> Any:
    from alerts import extension

    return extension.setup(host)


def _migrations() -> Sequence[Any]:
    from alerts.schema import MIGRATIONS

    return MIGRATIONS


def _cli() -> Any:
    from alerts import cli

    return cli


ALERTS = AreaManifest(
    name="alerts",
    setup=_setup,
    commands=(
        Command("alerts", "Alertes : état des envois (outbox), relance des envois abandonnés.",
                lambda: _cli().alerts_group),
        Command("digest", "Synthèse du matin pour les élus : aperçu HTML (--preview) ou envoi immédiat (--send).",
                lambda: _cli().digest),
    ),
    migrations=_migrations,
)
