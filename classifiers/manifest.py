"""The classifiers' two areas: understanding (the stack's commands, the team's topic labels) and detection
(the per-minute detectors, `vigie spikes`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from listener.host import AreaManifest, Command, Host


def _cli() -> Any:
    from classifiers import cli

    return cli


def _train_cli() -> Any:
    from classifiers import train_cli

    return train_cli


def _migrations() -> Sequence[Any]:
    from classifiers.schema import MIGRATIONS

    return MIGRATIONS


def _setup_detection(host: Host) -> Any:
    from classifiers.detection import area

    return area.setup(host)


def _spikes() -> Any:
    from classifiers.detection.cli import spikes

    return spikes


UNDERSTANDING = AreaManifest(
    name="classifiers",
    commands=(
        Command("classify", "Classe des textes (un par ligne, fichier ou entrée standard) : un objet JSON par ligne.",
                lambda: _cli().classify),
        Command("label", "Étiquette des mentions stockées par thème (entraîne le modèle de thèmes de l'équipe).",
                lambda: _cli().label),
        Command("train", "Réentraîne les modèles (sentiment, propos abusifs) et affiche le rapport.",
                lambda: _train_cli().train),
        Command("eval", "Évalue chaque étiquette sur les parts réservées (sentiment, abusif, menace, hostile, "
                        "crise).", lambda: _train_cli().eval_),
    ),
    migrations=_migrations,
)

DETECTION = AreaManifest(
    name="detection",
    setup=_setup_detection,
    commands=(
        Command("spikes", "Détecte les pics de volume dans des séries CSV avec le détecteur du service "
                          "(réglages par défaut).", _spikes),
    ),
    evaluation={"detection": 10},
)
