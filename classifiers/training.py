"""Training and cross-validated evaluation of the sentiment model on the UMSAB French tweets.

Protocol (since issue 12): choices are made by stratified 5-fold CV on UMSAB train only; the model fitted
on train is scored once on val, which nothing is tuned on; the official test split is not in ../shared.
The shipped model is then fitted on train+val with the chosen settings. (Before: CV on train+val said
67.5 while the official test gave 63.3: it flattered.)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from classifiers.sentiment import DEFAULT_MODEL_PATH, FeatureConfig, SentimentFeatures, SentimentModel
from classifiers.text import Prepared, prepare_many
from classifiers.types import SENTIMENTS
from listener.errors import VigieError
from listener.french import SENTIMENT_FR

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA_DIR = REPO_ROOT.parent / "shared" / "data" / "umsab-fr"
SPLITS = ("train", "val")

# Chosen by stratified 5-fold CV on train+val (seed 13), macro-F1 mean over folds (std ≈ 1–1.5 points):
#   words+chars(2-5)+lexicon, LR C=4 ....................... 65.5   (first lexicon, 440 entries)
#   without lexicon 62.2 · without chars 61.6 · without words 66.5 · words weighted 0.5: 66.5
#   chars 3-5 / 3-6 / 2-4 / content words only / NEG-marked chars: within ±0.5 of each other
#   LinearSVC+sigmoid 66.3 · SGD modified-huber 65.2 · LR+SVC 66.5 · LR+SGD 66.5 (no gain from ensembles)
#   lexicon extended (580 words + 35 phrases such as "pas mal", "pas terrible"): words 0.5, chars 3-5, C=2 → 67.7
# Caveat: part of the lexicon extension was written after reading CV errors, so 67.7 is slightly optimistic.
# Issue 12, honest protocol (CV on train only, seed 13; val scored once, model fitted on train):
#   this configuration ........................ CV 66.4 ± 1.2 · val 65.2
#   + irony / information-question / long-text cues (classifiers.sentiment_cues): same figures (the
#     cues fire on 2 of 1,839 train tweets; they are for city posts, not DEFT tweets)
#   + mean fastText vector of content words (fr_core_news_md, CC0 vectors, 300 d), weight 1: CV 68.0 ± 1.6;
#     PCA 100 d float16: 68.4 ± 0.9; 50 d: 67.8 (an earlier helper's experiment)
#   shipped table (classifiers/wordvec_build.py: 351,626 folded words, 100 d float16, 5.3 MB), weight 1,
#     negated words and negators left out of the mean ... CV 68.1 ± 0.7 · val 68.5 (val looked at twice:
#     68.6 with negated words kept, 68.5 as shipped). Negated words kept 68.2, flipped 67.9; weight
#     0.7 / 1.5: 67.9 / 67.8; 64 / 150 d: 67.5 / 67.8; only the 200k most frequent words: 67.2 (CV)
BEST_CONFIG = FeatureConfig(vectors=True)
BEST_C = 2.0
BEST_KIND = "lr"


@dataclass
class SentimentReport:
    """What a training or an evaluation run found, ready to print for an operator."""

    kind: str  # "train" or "eval"
    n_texts: int
    folds: int = 0
    macro_f1_mean: float = 0.0
    macro_f1_std: float = 0.0
    fold_macro_f1: list[float] = field(default_factory=list)
    per_class_f1: dict[str, float] = field(default_factory=dict)
    confusion: list[list[int]] = field(default_factory=list)
    train_macro_f1: float | None = None
    # Held-out: the model fitted on train alone, scored once on val (val is never used to choose anything).
    n_val: int = 0
    val_macro_f1: float | None = None
    val_per_class_f1: dict[str, float] = field(default_factory=dict)
    model_path: str | None = None
    model_bytes: int | None = None
    n_features: int | None = None
    seconds: float = 0.0
    config: dict[str, Any] = field(default_factory=dict)


def load_umsab(
    data_dir: Path | str | None = None, splits: tuple[str, ...] = SPLITS,
) -> tuple[list[str], list[int]]:
    """Texts and labels (0 neg, 1 neutral, 2 pos) of the splits, in order; a French error when missing."""
    data_dir = Path(data_dir) if data_dir is not None else DEFAULT_DATA_DIR
    texts: list[str] = []
    labels: list[int] = []
    for split in splits:
        text_file = data_dir / f"{split}_text.txt"
        label_file = data_dir / f"{split}_labels.txt"
        if not text_file.exists() or not label_file.exists():
            raise VigieError(
                f"Données d'entraînement introuvables : {text_file.name} / {label_file.name} manquent dans "
                f"{data_dir}. Indiquez le dossier UMSAB français avec --data."
            )
        split_texts = text_file.read_text(encoding="utf-8").split("\n")
        split_labels = [line.strip() for line in label_file.read_text(encoding="utf-8").split("\n")]
        if split_texts and split_texts[-1] == "":
            split_texts.pop()
        while split_labels and split_labels[-1] == "":
            split_labels.pop()
        if len(split_texts) != len(split_labels):
            raise VigieError(
                f"{data_dir} : {text_file.name} a {len(split_texts)} lignes mais {label_file.name} en a "
                f"{len(split_labels)}."
            )
        try:
            split_ints = [int(label) for label in split_labels]
        except ValueError as exc:
            raise VigieError(f"{label_file} : étiquette invalide ({exc}); attendu 0, 1 ou 2.") from exc
        if any(label not in (0, 1, 2) for label in split_ints):
            raise VigieError(f"{label_file} : étiquettes attendues 0, 1 ou 2.")
        texts.extend(split_texts)
        labels.extend(split_ints)
    return texts, labels


def make_estimators(kind: str, c: float, seed: int) -> list[Any]:
    """The linear model(s) whose probabilities are averaged: "lr", "svm" (calibrated), "sgd", or "a+b"."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.linear_model import LogisticRegression, SGDClassifier
    from sklearn.svm import LinearSVC

    made: list[Any] = []
    for part in kind.split("+"):
        if part == "lr":
            made.append(LogisticRegression(C=c, max_iter=3000, random_state=seed))
        elif part == "svm":
            svc = LinearSVC(C=c / 16, random_state=seed, max_iter=5000)
            made.append(CalibratedClassifierCV(svc, cv=3, method="sigmoid"))
        elif part == "sgd":
            made.append(SGDClassifier(loss="modified_huber", alpha=1e-4 / c, max_iter=50, tol=None,
                                      random_state=seed, average=True))
        else:
            raise ValueError(f"unknown estimator {part!r}")
    return made


def fit_model(
    prepared: list[Prepared], labels: list[int], config: FeatureConfig | None = None,
    c: float = BEST_C, seed: int = 13, kind: str | None = None,
) -> SentimentModel:
    """Fit features and the linear model(s) on prepared texts."""
    config = config or BEST_CONFIG
    kind = kind or BEST_KIND
    features = SentimentFeatures(config=FeatureConfig(**_config_dict(config))).fit(prepared)
    matrix = features.transform(prepared)
    from threadpoolctl import threadpool_limits

    y = np.asarray(labels)
    # One BLAS thread: L-BFGS on this small problem is ~10x faster without thread hand-offs (measured
    # 0.2 s vs 2 s on 180 tweets), and the result does not depend on the machine's core count.
    with threadpool_limits(limits=1):
        estimators = [est.fit(matrix, y) for est in make_estimators(kind, c, seed)]
    meta = {"labels": SENTIMENTS, "seed": seed, "C": c, "kind": kind, "config": _config_dict(config),
            "n_train": len(labels)}
    return SentimentModel(features, estimators, meta)


def _config_dict(config: FeatureConfig) -> dict[str, Any]:
    return {name: getattr(config, name) for name in FeatureConfig.__slots__}


def cross_validate(
    prepared: list[Prepared], labels: list[int], folds: int = 5, seed: int = 13,
    config: FeatureConfig | None = None, c: float = BEST_C, kind: str | None = None,
) -> tuple[list[float], np.ndarray, np.ndarray]:
    """Per-fold macro-F1, out-of-fold predictions, and the labels, with stratified folds."""
    from sklearn.metrics import f1_score
    from sklearn.model_selection import StratifiedKFold

    y = np.asarray(labels)
    oof = np.zeros(len(y), dtype=np.int64)
    scores: list[float] = []
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train_idx, test_idx in splitter.split(np.zeros(len(y)), y):
        model = fit_model([prepared[i] for i in train_idx], y[train_idx].tolist(), config, c, seed, kind)
        pred = _predict_indices(model, [prepared[i] for i in test_idx])
        oof[test_idx] = pred
        scores.append(float(f1_score(y[test_idx], pred, average="macro")))
    return scores, oof, y


def _predict_indices(model: SentimentModel, prepared: list[Prepared]) -> np.ndarray:
    """Class indices as `vigie classify` gives them (model + irony, question and long-text cues)."""
    index = {label: i for i, label in enumerate(SENTIMENTS)}
    return np.array([index[row[0]] for row in model.predict(prepared)], dtype=np.int64)


def evaluate_sentiment(
    data_dir: Path | str | None = None, folds: int = 5, seed: int = 13,
    config: FeatureConfig | None = None, c: float = BEST_C,
) -> SentimentReport:
    """The protocol choices are made with: stratified k-fold CV on **train only** (macro-F1 mean ± std,
    per-class F1, out-of-fold confusion matrix), then the model fitted on train is scored once on val.

    Why not CV over train+val as before: it said 67.5 while the official test gave 63.3; val now stays
    out of every choice, so its figure is the honest one."""
    from sklearn.metrics import confusion_matrix, f1_score

    started = time.perf_counter()
    texts, labels = load_umsab(data_dir, ("train",))
    val_texts, val_labels = load_umsab(data_dir, ("val",))
    prepared = prepare_many(texts)
    scores, oof, y = cross_validate(prepared, labels, folds, seed, config, c)
    per_class = f1_score(y, oof, average=None, labels=[0, 1, 2])
    model = fit_model(prepared, labels, config, c, seed)
    val_pred = _predict_indices(model, prepare_many(val_texts))
    val_per_class = f1_score(val_labels, val_pred, average=None, labels=[0, 1, 2])
    return SentimentReport(
        kind="eval",
        n_texts=len(texts),
        folds=folds,
        macro_f1_mean=float(np.mean(scores)),
        macro_f1_std=float(np.std(scores)),
        fold_macro_f1=scores,
        per_class_f1={SENTIMENTS[i]: float(per_class[i]) for i in range(3)},
        confusion=confusion_matrix(y, oof, labels=[0, 1, 2]).tolist(),
        n_val=len(val_texts),
        val_macro_f1=float(f1_score(val_labels, val_pred, average="macro")),
        val_per_class_f1={SENTIMENTS[i]: float(val_per_class[i]) for i in range(3)},
        seconds=time.perf_counter() - started,
        config={**_config_dict(config or BEST_CONFIG), "C": c, "seed": seed},
    )


def train_sentiment(
    data_dir: Path | str | None = None, out_path: Path | str | None = None, seed: int = 13,
) -> SentimentReport:
    """Fit on all of train+val with the chosen configuration and write the model file."""
    from sklearn.metrics import f1_score

    started = time.perf_counter()
    texts, labels = load_umsab(data_dir)
    prepared = prepare_many(texts)
    model = fit_model(prepared, labels, BEST_CONFIG, BEST_C, seed)
    out = Path(out_path) if out_path is not None else DEFAULT_MODEL_PATH
    if out.suffix != ".joblib":
        out = out / DEFAULT_MODEL_PATH.name
    size = model.save(out)
    fitted = model.predict_proba(prepared).argmax(axis=1)
    return SentimentReport(
        kind="train",
        n_texts=len(texts),
        train_macro_f1=float(f1_score(labels, fitted, average="macro")),
        model_path=str(out),
        model_bytes=size,
        n_features=model.features.n_word + model.features.n_char,
        seconds=time.perf_counter() - started,
        config={**_config_dict(BEST_CONFIG), "C": BEST_C, "seed": seed},
    )


def train_all(
    data_dir: Path | str | None = None, out_dir: Path | str | None = None, seed: int = 13,
) -> list[SentimentReport]:
    """Every model `vigie train` rebuilds; other classifiers append their own step here."""
    out_dir = Path(out_dir) if out_dir is not None else DEFAULT_MODEL_PATH.parent
    return [train_sentiment(data_dir, out_dir / DEFAULT_MODEL_PATH.name, seed)]




def format_report(report: Any) -> str:
    """The report in French, for the terminal."""
    if not isinstance(report, SentimentReport):
        return str(report)
    lines: list[str] = []
    if report.kind == "eval":
        lines.append(
            f"Sentiment — validation croisée stratifiée en {report.folds} plis sur les {report.n_texts} tweets "
            "de UMSAB français train (les réglages sont choisis ainsi ; val et le test officiel n'y servent pas)"
        )
        lines.append(
            f"  F1 macro : {100 * report.macro_f1_mean:.1f} ± {100 * report.macro_f1_std:.1f} "
            f"(plis : {', '.join(f'{100 * s:.1f}' for s in report.fold_macro_f1)})"
        )
        lines.append("  F1 par classe : " + ", ".join(
            f"{SENTIMENT_FR[name]} {100 * value:.1f}" for name, value in report.per_class_f1.items()
        ))
        lines.append("  Matrice de confusion (lignes = vérité, colonnes = prédiction) :")
        header = "".join(f"{SENTIMENT_FR[name]:>10}" for name in SENTIMENTS)
        lines.append(f"    {'':>10}{header}")
        for name, row in zip(SENTIMENTS, report.confusion, strict=True):
            lines.append(f"    {SENTIMENT_FR[name]:>10}" + "".join(f"{n:>10}" for n in row))
        if report.val_macro_f1 is not None:
            lines.append(
                f"  Part réservée UMSAB val ({report.n_val} tweets, modèle entraîné sur train seul, jamais réglé "
                f"sur val) : F1 macro {100 * report.val_macro_f1:.1f} ("
                + ", ".join(f"{SENTIMENT_FR[name]} {100 * value:.1f}" for name, value in report.val_per_class_f1.items())
                + ")"
            )
        lines.append("  Repères publiés sur le test officiel (F1 macro) : FastText 54,8 ; XLM-T 71,2 ; XLM-R 72,0.")
    else:
        lines.append(f"Sentiment — modèle entraîné sur {report.n_texts} tweets (UMSAB français, train + val)")
        lines.append(f"  Fichier : {report.model_path} ({(report.model_bytes or 0) / 1e6:.2f} Mo, "
                     f"{report.n_features} variables)")
        if report.train_macro_f1 is not None:
            lines.append(f"  F1 macro sur les données d'entraînement (optimiste) : {100 * report.train_macro_f1:.1f}"
                         " — lancez « vigie eval » pour la validation croisée.")
    lines.append(f"  Durée : {report.seconds:.1f} s")
    return "\n".join(lines)
