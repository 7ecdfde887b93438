"""`vigie sources`: what each source type collects, and a configuration block to start from."""

from __future__ import annotations

from pathlib import Path

import click

from listener.cli.common import config_option, settings_for
from listener.errors import VigieError


@click.group(name="sources")
def sources_group() -> None:
    """Sources de collecte (réseaux sociaux, flux, ingestion)."""


@sources_group.command(name="types")
@click.option("--exemple", "example", default=None, metavar="TYPE",
              help="Afficher le bloc de configuration d'exemple de ce type de source.")
@config_option
def types_command(example: str | None, config_path: Path | None) -> None:
    """Liste les types de source avec leur description, et ceux que la configuration utilise."""
    from listener.sources import registry

    if example:
        plugin = registry.get(example)
        if plugin is None:
            raise VigieError(f"type de source inconnu : {example} (types : {', '.join(registry.BY_TYPE)})")
        click.echo(plugin.example.strip())
        return
    used: dict[str, list[str]] = {}
    try:
        for source in settings_for(config_path).sources:
            used.setdefault(source.type, []).append(source.name + ("" if source.enabled else " (désactivée)"))
    except VigieError:
        pass  # no readable configuration: describe the types anyway
    width = max(len(p.type) for p in registry.PLUGINS)
    for plugin in registry.PLUGINS:
        click.echo(f"{plugin.type:<{width}}  {plugin.description}")
        if plugin.type in used:
            click.echo(f"{'':<{width}}  configurées : {', '.join(used[plugin.type])}")
    click.echo("\nExemple de configuration : vigie sources types --exemple TYPE")
