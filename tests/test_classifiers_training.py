"""`vigie train` rebuilds the shipped abuse model exactly (reproducible, no download), and `vigie eval`
reports every label on parts kept apart.

The comparison is on the model's content (vocabulary, weights, threshold): pickle bytes also depend on
which equal strings happen to be the same object in memory, which other loaded models change."""

from __future__ import annotations

import joblib
import numpy as np
from click.testing import CliRunner

from classifiers import abuse_training
from classifiers.abuse import DEFAULT_MODEL
from listener.cli import main
from tests.conftest import needs_shared

pytestmark = needs_shared


def test_retraining_abuse_gives_the_shipped_model(tmp_path):
    out = tmp_path / "abuse.joblib"
    done = abuse_training.train(out=out)
    rebuilt, shipped = joblib.load(out), joblib.load(DEFAULT_MODEL)
    assert rebuilt["features"].word_block.names == shipped["features"].word_block.names
    assert rebuilt["features"].char_block.names == shipped["features"].char_block.names
    assert np.array_equal(rebuilt["classifier"].coef_, shipped["classifier"].coef_)
    assert rebuilt["threshold"] == shipped["threshold"] == done["threshold"]
    assert done["bytes"] < 2_000_000  # small enough to ship


def test_mlma_split_is_fixed_and_disjoint():
    rows = abuse_training.load_mlma()
    first, second = abuse_training.split_mlma(rows), abuse_training.split_mlma(rows)
    assert [r["text"] for r in first["test"]] == [r["text"] for r in second["test"]]
    sizes = {name: len(part) for name, part in first.items()}
    assert sum(sizes.values()) == len(rows) and abs(sizes["test"] - 0.15 * len(rows)) < 3
    texts = {name: {id(r) for r in part} for name, part in first.items()}
    assert not texts["train"] & texts["test"] and not texts["dev"] & texts["test"]


def test_eval_prints_every_label_on_held_out_parts_in_french(monkeypatch):
    import classifiers.training as training

    monkeypatch.setattr(training, "evaluate_sentiment", lambda *a, **k: "Sentiment — (remplacé pour ce test)")
    result = CliRunner().invoke(main, ["eval"])
    assert result.exit_code == 0, result.output
    assert "abusif, MLMA test 15 % (+ modèle)" in result.output
    assert "menace, jeu écrit à la main « aveugle »" in result.output
    assert "hostile, MLMA test, tweets nommant des politiques" in result.output
    assert "événements réservés" in result.output and "fausses alertes sur textes ordinaires" in result.output
