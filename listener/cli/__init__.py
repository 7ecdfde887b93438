"""The `vigie` command. Each area contributes its commands from its own module (COMMAND_MODULES);
operator messages are in French."""

from __future__ import annotations

import importlib
import logging
import sys

import click

from listener.errors import VigieError

COMMAND_MODULES = [
    "listener.cli.service",
    "listener.cli.store",
    "listener.auth.cli",
    "listener.cli.sources",
    "classifiers.cli",
    "classifiers.train_cli",
    "classifiers.detector_cli",
    "rules.cli",
    "rules.crisis_cli",
    "alerts.cli",
]


class VigieGroup(click.Group):
    """Shows operator errors (bad config, bad input) as one clear message, never a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except VigieError as exc:
            click.echo(f"Erreur : {exc}", err=True)
            sys.exit(2)


@click.group(cls=VigieGroup)
@click.option("-v", "--verbose", is_flag=True, help="Journal détaillé (debug).")
@click.version_option(package_name="vigie")
def main(verbose: bool) -> None:
    """Vigie : veille des réseaux sociaux et alertes de crise pour les institutions publiques."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


for _module_name in COMMAND_MODULES:
    try:
        _module = importlib.import_module(_module_name)
    except ModuleNotFoundError as _exc:
        if _exc.name != _module_name:
            raise
        continue
    for _command in getattr(_module, "commands", []):
        main.add_command(_command)
