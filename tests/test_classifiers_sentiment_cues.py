"""Sentiment on what real city posts do and UMSAB tweets rarely do: irony, information questions, long
posts, emoji. Through the shipped model, as `vigie classify` gives it."""

from __future__ import annotations

import numpy as np
import pytest

from classifiers import sentiment_cues as cues
from classifiers.sentiment import SentimentModel
from classifiers.text import prepare_many


@pytest.fixture(scope="module")
def model() -> SentimentModel:
    return SentimentModel.load()


def predict(model: SentimentModel, text: str) -> tuple[str, list[str]]:
    label, _, _, terms = model.predict(prepare_many([text]))[0]
    return label, terms


@pytest.mark.parametrize(("text", "marker"), [
    ("Bravo… encore en retard", "bravo"),
    ("Merci pour rien la mairie", "merci pour rien"),
    ("Quel « super » service", "« super »"),
    ("Génial, encore 2h de bus #ironie", "#ironie"),
    ("Super, le bus est enfin là 🙄", "🙄"),
])
def test_ironic_praise_is_negative_and_names_its_marker(model: SentimentModel, text: str, marker: str) -> None:
    label, terms = predict(model, text)
    assert label == "negative", (text, terms)
    assert marker in terms


@pytest.mark.parametrize("text", [
    "Merci pour votre aide, c'est très gentil",
    "Bravo aux agents, excellent travail ❤️",
    "Super initiative de la ville 👍",
])
def test_sincere_praise_stays_positive(model: SentimentModel, text: str) -> None:
    assert predict(model, text)[0] == "positive"


@pytest.mark.parametrize("text", [
    "À quelle heure ouvre la piscine ?",
    "Où peut-on déposer les encombrants ?",
    "Comment s'inscrire à la cantine ?",
    "@user quand est-ce que la mairie ouvre samedi ?",
])
def test_information_questions_are_neutral(model: SentimentModel, text: str) -> None:
    label, terms = predict(model, text)
    assert label == "neutral", (text, terms)
    assert any(term.endswith("… ?") for term in terms)


@pytest.mark.parametrize("text", [
    "Pourquoi c'est toujours aussi nul ?",
    "À quelle heure ouvre la piscine ? Ça fait une heure qu'on attend, c'est scandaleux !",
    "Quand est-ce que vous allez enfin réparer ce trottoir dangereux 😡 ?",
])
def test_complaints_phrased_as_questions_stay_negative(model: SentimentModel, text: str) -> None:
    assert predict(model, text)[0] == "negative"


LONG_NEUTRAL = (
    "Le conseil municipal se réunira jeudi à 18h dans la salle des fêtes. L'ordre du jour comprend le budget, "
    "les travaux de voirie, la rénovation de l'école et le plan vélo. Les habitants peuvent assister à la "
    "séance, qui sera retransmise sur le site de la ville. "
)


def test_a_long_post_is_decided_by_its_polar_sentence_wherever_it_stands(model: SentimentModel) -> None:
    angry = "Franchement, c'est une honte, je suis furieux."
    assert predict(model, LONG_NEUTRAL + angry)[0] == "negative"
    assert predict(model, angry + " " + LONG_NEUTRAL)[0] == "negative"
    assert predict(model, LONG_NEUTRAL + "Bravo, c'est une excellente nouvelle, merci !")[0] == "positive"


def test_sentence_scores_combine_so_that_length_does_not_drown_a_clear_sentence() -> None:
    neutral, negative = [0.1, 0.8, 0.1], [0.9, 0.05, 0.05]
    parts = np.array([neutral] * 4 + [negative])
    whole = parts.mean(axis=0)  # what one vector of the whole post tends to: neutral
    assert whole.argmax() == cues.NEU
    combined = cues.combine_sentences(whole, parts)
    assert combined.argmax() == cues.NEG and combined.sum() == pytest.approx(1.0)
    # A post made only of neutral sentences stays neutral.
    only_neutral = np.array([neutral] * 5)
    assert cues.combine_sentences(only_neutral.mean(axis=0), only_neutral).argmax() == cues.NEU


def test_sentences_split_after_end_punctuation_and_line_breaks() -> None:
    assert cues.sentences("Bonjour. Ça va ?Oui!\nMerci… à demain") == ["Bonjour.", "Ça va ?Oui!", "Merci…", "à demain"]
    assert cues.sentences("") == []


@pytest.mark.parametrize(("text", "label"), [
    ("😡", "negative"), ("🤬🤬", "negative"), ("😭", "negative"),
    ("👍", "positive"), ("❤️", "positive"), ("merci 🙏", "positive"),
])
def test_emoji_carry_their_meaning(model: SentimentModel, text: str, label: str) -> None:
    assert predict(model, text)[0] == label


def test_cues_keep_a_batch_aligned_and_probabilities_summing_to_one(model: SentimentModel) -> None:
    texts = ["", "Merci pour rien", LONG_NEUTRAL + "C'est une honte.", "À quelle heure ouvre la piscine ?", "xqzw"]
    rows = model.predict(prepare_many(texts))
    assert len(rows) == len(texts)
    assert [row[0] for row in rows[1:4]] == ["negative", "negative", "neutral"]
    for _, score, proba, _ in rows:
        assert sum(proba.values()) == pytest.approx(1.0) and score == pytest.approx(max(proba.values()))
    assert rows[1] == model.predict(prepare_many(["Merci pour rien"]))[0]
