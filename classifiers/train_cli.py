"""`vigie train` and `vigie eval`: rebuild the shipped sentiment model, and measure it by cross-validation."""

from __future__ import annotations

from pathlib import Path

import click

_DATA_HELP = "Dossier des données UMSAB françaises (défaut : ../shared/data/umsab-fr à côté du dépôt)."


@click.command()
@click.option("--data", "data_dir", type=click.Path(path_type=Path), default=None, help=_DATA_HELP)
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None,
              help="Dossier où écrire les modèles (défaut : classifiers/models du paquet).")
@click.option("--seed", type=int, default=13, show_default=True, help="Graine (résultat identique à graine égale).")
def train(data_dir: Path | None, out_dir: Path | None, seed: int) -> None:
    """Réentraîne les modèles (sentiment) et affiche le rapport."""
    from classifiers.training import format_report, train_all

    click.echo("Entraînement en cours…", err=True)
    for report in train_all(data_dir, out_dir, seed):
        click.echo(format_report(report))


@click.command(name="eval")
@click.option("--data", "data_dir", type=click.Path(path_type=Path), default=None, help=_DATA_HELP)
@click.option("--folds", type=click.IntRange(min=2, max=20), default=5, show_default=True,
              help="Nombre de plis de la validation croisée.")
@click.option("--seed", type=int, default=13, show_default=True, help="Graine du découpage en plis.")
def eval_(data_dir: Path | None, folds: int, seed: int) -> None:
    """Évalue le modèle de sentiment par validation croisée (F1 macro, F1 par classe, confusion)."""
    from classifiers.training import evaluate_sentiment, format_report

    click.echo("Validation croisée en cours…", err=True)
    click.echo(format_report(evaluate_sentiment(data_dir, folds=folds, seed=seed)))


commands = [train, eval_]
