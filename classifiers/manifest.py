"""The classifiers' two areas: understanding (the stack's commands, the team's topic labels) and detection
(the per-minute detectors, `vigie spikes`)."""

from __future__ import annotations

from listener.host import AreaManifest, lazy_command, lazy_migrations, lazy_setup

UNDERSTANDING = AreaManifest(
    name="classifiers",
    commands=(
        lazy_command("classify", "Classe des textes (un par ligne, fichier ou entrée standard) : un objet JSON par "
                                 "ligne.", "classifiers.cli", "classify"),
        lazy_command("label", "Étiquette des mentions stockées par thème (entraîne le modèle de thèmes de "
                              "l'équipe).", "classifiers.cli", "label"),
        lazy_command("train", "Réentraîne les modèles (sentiment, propos abusifs) et affiche le rapport.",
                     "classifiers.train_cli", "train"),
        lazy_command("eval", "Évalue chaque étiquette sur les parts réservées (sentiment, abusif, menace, hostile, "
                             "crise).", "classifiers.train_cli", "eval_"),
    ),
    migrations=lazy_migrations("classifiers.schema"),
)

DETECTION = AreaManifest(
    name="detection",
    setup=lazy_setup("classifiers.detection.area"),
    commands=(
        lazy_command("spikes", "Détecte les pics de volume dans des séries CSV avec le détecteur du service "
                               "(réglages par défaut).", "classifiers.detection.cli", "spikes"),
    ),
    evaluation={"detection": 10},
)
