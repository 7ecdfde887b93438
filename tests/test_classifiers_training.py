"""`vigie train` rebuilds the shipped hostility model exactly (reproducible, no download).

The comparison is on the model's content (vocabulary, weights): pickle bytes also depend on which equal
strings happen to be the same object in memory, which other loaded models change."""

from __future__ import annotations

import joblib
import numpy as np
from click.testing import CliRunner

from classifiers import hostility
from listener.cli import main


def test_retraining_hostility_gives_the_shipped_file(tmp_path):
    out = tmp_path / "hostility.joblib"
    figures = hostility.train(out=out)
    rebuilt, shipped = joblib.load(out), joblib.load(hostility.DEFAULT_MODEL)
    assert rebuilt["vectorizer"].vocabulary_ == shipped["vectorizer"].vocabulary_
    assert np.array_equal(rebuilt["vectorizer"].idf_, shipped["vectorizer"].idf_)
    assert np.array_equal(rebuilt["classifier"].coef_, shipped["classifier"].coef_)
    assert np.array_equal(rebuilt["classifier"].intercept_, shipped["classifier"].intercept_)
    assert rebuilt["categories"] == shipped["categories"] and rebuilt["dense_scale"] == shipped["dense_scale"]
    # The held-out 30 % of the hand-labelled set: the learned model must stay useful.
    assert figures["lexicon+model"]["f1"] >= 0.9


def test_eval_prints_hostility_scores_in_french(monkeypatch):
    import classifiers.training as training

    monkeypatch.setattr(training, "evaluate_sentiment", lambda *a, **k: "Sentiment — (remplacé pour ce test)")
    result = CliRunner().invoke(main, ["eval"])
    assert result.exit_code == 0, result.output
    assert "Hostilité — jeu étiqueté à la main" in result.output
    assert "lexique + modèle  précision" in result.output
