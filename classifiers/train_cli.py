"""`vigie train` and `vigie eval`: rebuild the shipped models (sentiment, hostility) deterministically, and
measure them (sentiment: cross-validation on UMSAB train+val; hostility: the labelled set's fixed 30 % split
and the blind set)."""

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
    """Réentraîne les modèles (sentiment, hostilité) et affiche le rapport."""
    from classifiers import hostility
    from classifiers.training import format_report, train_all

    click.echo("Entraînement en cours…", err=True)
    for report in train_all(data_dir, out_dir, seed):
        click.echo(format_report(report))
    model_path = (out_dir / hostility.DEFAULT_MODEL.name) if out_dir is not None else hostility.DEFAULT_MODEL
    figures = hostility.train(out=model_path)
    click.echo(format_hostility("Hostilité — modèle réentraîné sur tout le jeu étiqueté ; "
                                f"mesure sur les 30 % réservés ({figures['test']} messages)", figures))
    click.echo(format_hostility("Hostilité — jeu « aveugle » (jamais utilisé pour régler quoi que ce soit)",
                                hostility.evaluate_blind(model_path)))


def format_hostility(title: str, figures: dict) -> str:
    """Precision / recall / F1 of the lexicon alone and with the learned model, in French."""
    lines = [title]
    for name, label in (("lexicon", "lexique seul"), ("lexicon+model", "lexique + modèle")):
        prf = figures[name]
        lines.append(f"  {label:<17} précision {100 * prf['precision']:.1f} · rappel {100 * prf['recall']:.1f} · "
                     f"F1 {100 * prf['f1']:.1f}")
    return "\n".join(lines)


@click.command(name="eval")
@click.option("--data", "data_dir", type=click.Path(path_type=Path), default=None, help=_DATA_HELP)
@click.option("--folds", type=click.IntRange(min=2, max=20), default=5, show_default=True,
              help="Nombre de plis de la validation croisée.")
@click.option("--seed", type=int, default=13, show_default=True, help="Graine du découpage en plis.")
def eval_(data_dir: Path | None, folds: int, seed: int) -> None:
    """Évalue le sentiment par validation croisée (F1 macro, F1 par classe, confusion) et l'hostilité."""
    from classifiers import hostility
    from classifiers.training import evaluate_sentiment, format_report

    click.echo("Validation croisée en cours…", err=True)
    click.echo(format_report(evaluate_sentiment(data_dir, folds=folds, seed=seed)))
    figures = hostility.evaluate()
    click.echo(format_hostility(f"Hostilité — jeu étiqueté à la main, {figures['test']} messages réservés (30 %)",
                                figures))
    click.echo(format_hostility("Hostilité — jeu « aveugle » (jamais utilisé pour régler quoi que ce soit)",
                                hostility.evaluate_blind()))
