"""`vigie classify` and `vigie label` as an operator uses them."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from listener.areas import open_store
from listener.cli import main
from tests.conftest import REPO_ROOT
from tests.helpers import mention


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    """The shipped config (taxonomy, officials) with a store of its own."""
    folder = tmp_path_factory.mktemp("cfg")
    text = (REPO_ROOT / "config.toml").read_text(encoding="utf-8")
    text = text.replace('path = "vigie.db"', f'path = "{folder / "vigie.db"}"', 1)
    path = folder / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_classify_prints_one_json_object_per_line_with_explanations(config, tmp_path):
    source = tmp_path / "in.txt"
    source.write_text("Embouteillages monstres sur la rocade\nMadame la maire, démissionnez, incompétente !\n",
                      encoding="utf-8")
    result = CliRunner().invoke(main, ["classify", str(source), "--config", str(config)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 2
    assert lines[0]["text"] == "Embouteillages monstres sur la rocade"
    assert lines[0]["topics"][0]["name"] == "transport" and lines[0]["topics"][0]["terms"]
    assert lines[1]["hostile"] is True and lines[1]["hostility_targets"] == ["Claire Marchand"]
    assert lines[1]["abusive"] is True and "incompétente" in lines[1]["abusive_terms"]
    assert {"sentiment", "sentiment_proba", "sentiment_terms", "crisis", "abusive", "abusive_score", "threat",
            "threat_score", "threat_terms", "hostility_score", "hostility_terms"} <= set(lines[0])
    assert "é" in result.stdout  # not escaped


def test_classify_field_sentiment_prints_only_labels(config):
    texts = ["Super concert hier soir, merci la ville !", "Encore en retard ce bus, ras le bol", "Réunion jeudi"] * 400
    result = CliRunner().invoke(main, ["classify", "-", "--field", "sentiment", "--config", str(config)],
                                input="\n".join(texts) + "\n")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert len(lines) == len(texts)
    assert set(lines) <= {"negative", "neutral", "positive"}


CONTRACT = [
    ("Je vais tuer les élus", {"abusive": "1", "threat": "1", "hostile": "1", "crisis": ""}),
    ("Les élus sont des ordures", {"abusive": "1", "threat": "0", "hostile": "1"}),
    ("Je déteste les élus", {"abusive": "1", "hostile": "1"}),
    ("Les supporters adverses sont des chiens", {"abusive": "1", "threat": "0", "hostile": "0"}),
    ("Du terrorisme intellectuel, encore", {"crisis": "", "abusive": "0"}),
    ("", {"sentiment": "neutral", "abusive": "0", "threat": "0", "hostile": "0", "crisis": ""}),
    ("Incendie en cours rue Victor Hugo, les pompiers sont sur place", {"crisis": "incendie", "hostile": "0"}),
    ("Séisme ressenti à Rivebelle, magnitude 4,2 : des fissures dans les immeubles",
     {"crisis": "seisme", "crisis_abroad": ""}),
    # A crisis abroad: no crisis for the town, counted apart.
    ("Séisme au Japon : des milliers de sinistrés", {"crisis": "", "crisis_abroad": "seisme"}),
]


@pytest.mark.parametrize("field", ["sentiment", "abusive", "threat", "hostile", "crisis", "crisis_abroad"])
def test_classify_field_prints_exactly_one_line_per_input_line_in_order(config, field):
    texts = [text for text, _ in CONTRACT] * 3
    result = CliRunner().invoke(main, ["classify", "-", "--field", field, "--config", str(config)],
                                input="\n".join(texts) + "\n")
    assert result.exit_code == 0, result.output
    lines = result.stdout.split("\n")
    assert lines[-1] == "" and len(lines) - 1 == len(texts)
    for line, (_, expected) in zip(lines, CONTRACT * 3, strict=False):
        if field in expected:
            assert line == expected[field]
        elif field == "sentiment":
            assert line in ("negative", "neutral", "positive")
        elif field not in ("crisis", "crisis_abroad"):
            assert line in ("0", "1")


def test_label_saves_the_topics_chosen(config):
    from listener.settings import load_settings

    settings = load_settings(config)
    db = open_store(settings.resolve(settings.store.path))
    db.insert_mentions([mention(i, text=text) for i, text in enumerate([
        "Le tram T2 en panne et les poubelles débordent",
        "Belle exposition au musée",
        "Rien à voir",
    ])])
    db.close()
    topics = [t.name for t in settings.classifiers.topics]
    choice = f"{topics.index('transport') + 1}, {topics.index('proprete') + 1}"
    result = CliRunner().invoke(
        main, ["label", "--config", str(config), "--n", "3", "--seed", "1", "--no-train"],
        input=f"{choice}\n\nbof\nq\n",
    )
    assert result.exit_code == 0, result.output
    assert "Thèmes" in result.output and "Réponse non comprise" in result.output
    assert "2 mention(s) étiquetée(s)" in result.output
    db = open_store(settings.resolve(settings.store.path))
    rows = db.conn.execute("SELECT mention_id, topics FROM topic_labels").fetchall()
    db.close()
    assert sorted(sorted(json.loads(topics)) for _, topics in rows) == [[], ["proprete", "transport"]]

    again = CliRunner().invoke(main, ["label", "--config", str(config), "--n", "5", "--no-train"], input="q\n")
    assert again.exit_code == 0 and "1 mention(s) à étiqueter" in again.output


def test_label_rejects_an_unknown_topic(config):
    result = CliRunner().invoke(main, ["label", "--config", str(config), "--topic", "cuisine"])
    assert result.exit_code == 2 and "Thème inconnu" in result.output


def test_classify_keeps_one_output_line_per_input_line(config):
    """A stray carriage return inside a post must not shift the labels of the following lines."""
    result = CliRunner().invoke(main, ["classify", "--field", "crisis", "--config", str(config)],
                                input="Bonjour\rà tous\nIncendie rue Pasteur, les pompiers arrivent\n")
    assert result.exit_code == 0
    assert result.stdout.split("\n")[:2] == ["", "incendie"]


# Libraries `vigie classify` must not import: each costs seconds of start-up (bench/bench_classify.py).
NOT_AT_START_UP = ("nltk",)


def test_classify_starts_without_the_heavy_libraries_it_does_not_need(config):
    import subprocess
    import sys

    code = ("import sys\nfrom click.testing import CliRunner\nfrom listener.cli import main\n"
            f"result = CliRunner().invoke(main, ['classify', '--field', 'hostile', '--config', {str(config)!r}],"
            " input='Je vais tuer les élus\\n')\n"
            "assert result.exit_code == 0 and result.stdout == '1\\n', result.output\n"
            "print('\\n'.join(sorted(sys.modules)))")
    loaded = set(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True,
                                cwd=REPO_ROOT).stdout.split())
    assert not [name for name in NOT_AT_START_UP if name in loaded]
