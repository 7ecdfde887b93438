"""Commands on stored data: search, purge."""

from __future__ import annotations

from pathlib import Path

import click

from listener.cli.common import config_option, open_store, settings_for
from listener.sanitize import neutralise


@click.command()
@config_option
@click.argument("query")
@click.option("-n", "--limit", default=20, show_default=True, help="Nombre de résultats.")
@click.option("--json", "as_json", is_flag=True, help="Une mention JSON par ligne.")
def search(config_path: Path | None, query: str, limit: int, as_json: bool) -> None:
    """Recherche plein texte dans les mentions (accents ignorés)."""
    import json

    settings = settings_for(config_path)
    store = open_store(settings)
    results = store.search(query, limit)
    if not results:
        click.echo("Aucune mention ne correspond.")
    for mention in results:
        if as_json:
            click.echo(json.dumps(mention.to_dict(with_raw=False), ensure_ascii=False))
            continue
        when = mention.created_at.astimezone(__import__("zoneinfo").ZoneInfo(settings.institution.timezone))
        sentiment = mention.labels.sentiment if mention.labels else "—"
        # Post text is untrusted: escapes and bidi overrides are shown, never obeyed by the terminal.
        click.echo(f"[{when:%d/%m %H:%M}] {neutralise(mention.source)} {neutralise(mention.author_handle or '')} "
                   f"({sentiment})")
        click.echo(f"    {neutralise(mention.text.replace(chr(10), ' ')[:200])}")
        if mention.url:
            click.echo(f"    {neutralise(mention.url)}")
    store.close()


@click.command()
@config_option
@click.option("--older-than", "days", type=click.FloatRange(min=0), default=None,
              help="Âge en jours (défaut : retention_days de la configuration).")
@click.option("--yes", is_flag=True, help="Ne pas demander de confirmation.")
def purge(config_path: Path | None, days: float | None, yes: bool) -> None:
    """Supprime les mentions plus anciennes que N jours (données personnelles)."""
    settings = settings_for(config_path)
    days = settings.store.retention_days if days is None else days
    if not yes:
        click.confirm(f"Supprimer définitivement les mentions de plus de {days:g} jours ?", abort=True)
    store = open_store(settings)
    deleted = store.purge_older_than(days)
    store.close()
    click.echo(f"{deleted} mention(s) supprimée(s).")
