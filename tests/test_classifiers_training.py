"""`vigie train` rebuilds the shipped hostility model byte for byte (reproducible, no download)."""

from __future__ import annotations

from click.testing import CliRunner

from classifiers import hostility
from listener.cli import main


def test_retraining_hostility_gives_the_shipped_file(tmp_path):
    out = tmp_path / "hostility.joblib"
    figures = hostility.train(out=out)
    assert out.read_bytes() == hostility.DEFAULT_MODEL.read_bytes()
    # The held-out 30 % of the hand-labelled set: the learned model must stay useful.
    assert figures["lexicon+model"]["f1"] >= 0.9


def test_eval_prints_hostility_scores_in_french(monkeypatch):
    import classifiers.training as training

    monkeypatch.setattr(training, "evaluate_sentiment", lambda *a, **k: "Sentiment — (remplacé pour ce test)")
    result = CliRunner().invoke(main, ["eval"])
    assert result.exit_code == 0, result.output
    assert "Hostilité — jeu étiqueté à la main" in result.output
    assert "lexique + modèle  précision" in result.output
