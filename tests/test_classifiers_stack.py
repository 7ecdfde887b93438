"""The classifier stack as the pipeline sees it: one batch in, explained labels out."""

from __future__ import annotations

import json

import pytest

from classifiers import load_classifier
from classifiers.lexicon import View
from classifiers.schema import save_label
from classifiers.stack import ClassifierStack
from classifiers.text import prepare
from classifiers.topics import TopicClassifier, TopicLexicon, train_topics
from classifiers.types import SENTIMENTS, Classification
from listener.settings import load_settings
from tests.conftest import REPO_ROOT
from tests.helpers import mention


@pytest.fixture(scope="module")
def settings():
    return load_settings(REPO_ROOT / "config.toml")


@pytest.fixture(scope="module")
def stack(settings) -> ClassifierStack:
    return load_classifier(settings.classifiers, settings.institution)


TEXTS = [
    "Embouteillages monstres sur la rocade ce matin",
    "#TravauxRueDeLaPaix : rue fermée et poubelles qui débordent",
    "Madame la maire, démissionnez, vous êtes une incompétente !",
    "Les travaux durent trop longtemps, la mairie pourrait mieux communiquer.",
    "Incendie en cours rue Victor Hugo, les pompiers sont sur place",
    "Le feu d'artifice du 14 juillet était magnifique, bravo la ville !",
    "",
]


@pytest.fixture(scope="module")
def results(stack) -> list[Classification]:
    return stack.classify_batch(TEXTS)


def test_one_classification_per_text_in_order(results):
    assert len(results) == len(TEXTS)
    assert all(isinstance(r, Classification) for r in results)
    assert all(r.sentiment in SENTIMENTS for r in results)


def test_topics_are_multi_label_and_explained(results):
    assert results[0].topic_names == ["transport"]
    assert "embouteillages" in results[0].topics[0].terms
    assert set(results[1].topic_names) >= {"travaux", "proprete"}
    for result in results:
        for label in result.topics:
            assert label.terms and 0 < label.score <= 1


def test_hostility_has_target_and_terms_civil_criticism_does_not(results):
    hostile, civil = results[2], results[3]
    assert hostile.hostile and hostile.hostility_targets == ["Claire Marchand"]
    assert "incompétente" in hostile.hostility_terms and hostile.abusive and not hostile.threat
    assert not civil.hostile and civil.hostility_targets == [] and not civil.abusive


def test_crisis_fires_for_a_fire_not_for_fireworks(results):
    assert results[4].crisis_kinds == ["incendie"] and "incendie" in results[4].crisis[0].terms
    assert results[5].crisis == []
    assert "culture" in results[5].topic_names


def test_sentiment_model_is_used_when_shipped(stack, results):
    from classifiers.sentiment import DEFAULT_MODEL_PATH

    if not DEFAULT_MODEL_PATH.exists():
        pytest.skip("sentiment model not trained yet")
    assert stack.sentiment is not None
    assert results[2].sentiment == "negative" and results[2].sentiment_proba
    assert abs(sum(results[2].sentiment_proba.values()) - 1) < 1e-3


def test_labels_round_trip_as_json(results):
    again = Classification.from_dict(json.loads(json.dumps(results[1].to_dict())))
    assert again.topic_names == results[1].topic_names


def test_topic_labels_table_and_learned_topic_model(store, settings, tmp_path):
    """With ≥ 20 labelled mentions, a topic the seed terms miss ("le T2 à l'arrêt") is learned."""
    classifiers = settings.classifiers.model_copy(update={"topic_model_min_labels": 20})
    tram = ["Le T2 encore à l'arrêt au pont Neuf {i}", "T2 supprimé ce matin, quai bondé {i}",
            "Le T2 n'arrive pas, 25 minutes sur le quai {i}"]
    other = ["Belle expo photo au centre culturel {i}", "Réunion du comité de quartier jeudi {i}",
             "Quel beau soleil sur Rivebelle aujourd'hui {i}"]
    texts = [t.format(i=i) for i in range(10) for t in tram] + [t.format(i=i) for i in range(10) for t in other]
    inserted = store.insert_mentions([mention(i, text=text) for i, text in enumerate(texts)])
    for item in inserted:
        save_label(store, item.id, ["transport"] if "T2" in item.text else [])
    summary = train_topics(store, tmp_path / "topics.joblib", classifiers)
    assert summary["labelled"] == 60 and summary["positives"]["transport"] == 30
    assert summary["trained"] == ["transport"]

    import joblib

    model = joblib.load(tmp_path / "topics.joblib")
    topics = TopicClassifier(TopicLexicon(classifiers.topics), model=model)
    seen, unseen = topics.classify_many([View(prepare("Le T2 est encore à l'arrêt ce soir")),
                                         View(prepare("Très beau soleil au centre culturel"))])
    assert "transport" in [label.name for label in seen]
    assert next(label for label in seen if label.name == "transport").terms
    assert "transport" not in [label.name for label in unseen]


def test_no_topic_model_without_enough_labels(store, settings, tmp_path):
    inserted = store.insert_mentions([mention(i, text=f"Le T2 en retard {i}") for i in range(5)])
    for item in inserted:
        save_label(store, item.id, ["transport"])
    summary = train_topics(store, tmp_path / "topics.joblib", settings.classifiers)
    assert summary["trained"] == [] and not (tmp_path / "topics.joblib").exists()
