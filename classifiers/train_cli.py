"""`vigie train` and `vigie eval`: rebuild the shipped models (sentiment, abuse) deterministically from
../shared/data, and measure every label on parts kept apart from training and tuning."""

from __future__ import annotations

from pathlib import Path

import click

_DATA_HELP = "Dossier des données (défaut : ../shared/data à côté du dépôt : umsab-fr, mlma-fr, crisislex-fr-dev)."


def _data_dirs(data_dir: Path | None) -> tuple[Path | None, Path | None]:
    """(the UMSAB folder, the data root holding mlma-fr and crisislex-fr-dev). --data may name the root or,
    as before, a UMSAB folder (the other corpora are then looked for beside it, else in the default root)."""
    if data_dir is None:
        return None, None
    if (data_dir / "train_text.txt").exists():
        root = data_dir.parent if (data_dir.parent / "mlma-fr").exists() else None
        return data_dir, root
    return data_dir / "umsab-fr", data_dir


@click.command()
@click.option("--data", "data_dir", type=click.Path(path_type=Path), default=None, help=_DATA_HELP)
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None,
              help="Dossier où écrire les modèles (défaut : classifiers/models du paquet).")
@click.option("--seed", type=int, default=13, show_default=True, help="Graine (résultat identique à graine égale).")
def train(data_dir: Path | None, out_dir: Path | None, seed: int) -> None:
    """Réentraîne les modèles (sentiment, propos abusifs) et affiche le rapport."""
    from classifiers import abuse_training
    from classifiers.abuse import DEFAULT_MODEL
    from classifiers.training import format_report, train_all

    umsab, root = _data_dirs(data_dir)
    click.echo("Entraînement en cours…", err=True)
    for report in train_all(umsab, out_dir, seed):
        click.echo(format_report(report))
    out = (out_dir / DEFAULT_MODEL.name) if out_dir is not None else DEFAULT_MODEL
    done = abuse_training.train(root, out, seed)
    click.echo(f"Propos abusifs — modèle entraîné sur {done['train_texts']} textes (MLMA train 70 %, UMSAB "
               f"train, exemples écrits à la main) ; seuil {done['threshold']:.3f} choisi sur MLMA dev (15 %)")
    click.echo(f"  Fichier : {done['path']} ({done['bytes'] / 1e6:.2f} Mo)")
    click.echo("  Lancez « vigie eval » pour les scores sur les parts réservées.")


def _prf(name: str, figures: dict) -> str:
    return (f"  {name:<34} précision {100 * figures['precision']:5.1f} · rappel {100 * figures['recall']:5.1f} · "
            f"F1 {100 * figures['f1']:5.1f}  ({figures['support']} positifs / {figures['n']})")


def format_abuse(report: dict) -> str:
    """The abuse report in French."""
    lines = ["Propos abusifs, menaces, hostilité — parts jamais utilisées pour entraîner ni régler"]
    lines.append(_prf("abusif, MLMA test 15 % (lexique)", report["mlma_test"]["lexicon"]))
    lines.append(_prf("abusif, MLMA test 15 % (+ modèle)", report["mlma_test"]["lexicon+model"]))
    normal, ordinary = report["mlma_test_normal_flagged"], report["umsab_val_flagged"]
    lines.append(f"  abusif à tort : {100 * normal['rate']:.1f} % des tweets MLMA « normal » du test "
                 f"({normal['flagged']}/{normal['n']}), {100 * ordinary['rate']:.1f} % des tweets ordinaires "
                 f"UMSAB val ({ordinary['flagged']}/{ordinary['n']})")
    for label, name in (("abusive", "abusif"), ("threat", "menace"), ("hostile", "hostile")):
        lines.append(_prf(f"{name}, jeu écrit à la main « aveugle »", report["blind"][label]))
    for split, name in (("test", "test"), ("dev", "dev (mise au point)")):
        lines.append(_prf(f"hostile, MLMA {name}, tweets nommant des politiques", report["officials"][split]))
    lines.append("    (étiquettes « visé » posées par l'équipe sur des tweets réels, classifiers/data/"
                 "mlma_officials_fr.jsonl ; échantillon très petit)")
    lines.append(f"  Seuil du modèle : {report['threshold']:.3f}")
    return "\n".join(lines)


@click.command(name="eval")
@click.option("--data", "data_dir", type=click.Path(path_type=Path), default=None, help=_DATA_HELP)
@click.option("--folds", type=click.IntRange(min=2, max=20), default=5, show_default=True,
              help="Nombre de plis de la validation croisée du sentiment.")
@click.option("--seed", type=int, default=13, show_default=True, help="Graine des découpages.")
def eval_(data_dir: Path | None, folds: int, seed: int) -> None:
    """Évalue chaque étiquette sur les parts réservées (sentiment, abusif, menace, hostile, crise)."""
    from classifiers import abuse_training, crisis_eval
    from classifiers.training import evaluate_sentiment, format_report

    umsab, root = _data_dirs(data_dir)
    click.echo("Évaluation en cours…", err=True)
    click.echo(format_report(evaluate_sentiment(umsab, folds=folds, seed=seed)))
    click.echo(format_abuse(abuse_training.evaluate(root, seed=seed)))
    click.echo(crisis_eval.format_report(crisis_eval.evaluate(root)))
