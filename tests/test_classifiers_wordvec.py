"""The shipped word-vector table and what it gives the sentiment model: words no training tweet had."""

from __future__ import annotations

import numpy as np
import pytest

from classifiers import wordvec
from classifiers.sentiment import LEXICON, SentimentModel
from classifiers.text import NEGATORS, STOPWORDS, prepare_many


@pytest.fixture(scope="module")
def vectors() -> wordvec.WordVectors:
    return wordvec.load()


@pytest.fixture(scope="module")
def model() -> SentimentModel:
    return SentimentModel.load()


def test_table_loads_folded_french_words(vectors: wordvec.WordVectors) -> None:
    assert len(vectors) > 100_000 and vectors.dimensions == 100
    for word in ("execrable", "formidable", "mairie", "inondation", "degoutant"):  # folded, no accents
        assert vectors.row_of(word) is not None
    assert vectors.row_of("le") is None and vectors.row_of("pas") is None  # stop words and negators add nothing


def test_every_word_gets_the_row_the_table_file_gives_it(vectors: wordvec.WordVectors) -> None:
    """The words are held as hashes (memory): each still finds exactly its own row, and only its own."""
    with np.load(wordvec.DEFAULT_TABLE) as archive:
        words = archive["words"].tobytes().decode("utf-8").split("\n")
        rows = archive["rows"].tolist()
    skip = STOPWORDS | NEGATORS
    for word, row in list(zip(words, rows, strict=True))[::97]:
        assert vectors.row_of(word) == (None if word in skip else row), word
    # Python's str hash reads code units: « ❤ » (one 2-byte unit) hashes as « d' » (two 1-byte units).
    assert "❤" in words and "d'" not in words
    assert vectors.row_of("❤") is not None and vectors.row_of("d'") is None
    assert vectors.row_of("xqzwvkblorptf") is None


def test_the_words_remembered_are_bounded_and_renewing_them_changes_nothing(monkeypatch) -> None:
    first = ["Quelle honte ce maire, incompétent et menteur"] * 3
    second = ["Bravo aux pompiers, formidable travail"] * 3
    expected = [wordvec.load().mean_vectors(prepare_many(texts)) for texts in (first, second, first)]
    fresh = wordvec._load.__wrapped__(wordvec.DEFAULT_TABLE)
    monkeypatch.setattr(wordvec, "KNOWN_LIMIT", 8)
    for texts, rows in zip((first, second, first), expected, strict=True):
        np.testing.assert_allclose(fresh.mean_vectors(prepare_many(texts)), rows, rtol=1e-6)
        assert len(fresh._known) <= 8
    assert "honte" in fresh._known and "pompiers" not in fresh._known  # the second batch's words were let go


def test_similar_words_are_close(vectors: wordvec.WordVectors) -> None:
    excellent, formidable, horrible = vectors.mean_vectors(prepare_many(["excellent", "formidable", "horrible"]))
    assert excellent @ formidable > excellent @ horrible


def test_unknown_empty_and_odd_texts_give_zero_or_unit_rows(vectors: wordvec.WordVectors) -> None:
    texts = ["xqzwvk blorptf", "", "le la les", "\x00\x01 ☃ 漢字", "Génial " * 50_000, "Très bien"]
    rows = vectors.mean_vectors(prepare_many(texts))
    assert rows.shape == (len(texts), vectors.dimensions) and np.isfinite(rows).all()
    norms = np.linalg.norm(rows, axis=1)
    assert norms[:3] == pytest.approx([0.0, 0.0, 0.0])
    assert norms[4:] == pytest.approx([1.0, 1.0])


def test_negated_words_do_not_pull_the_mean(vectors: wordvec.WordVectors) -> None:
    plain, negated = vectors.mean_vectors(prepare_many(["problème", "aucun problème"]))
    assert np.linalg.norm(plain) == pytest.approx(1.0)
    assert np.linalg.norm(negated) == pytest.approx(0.0)


@pytest.mark.parametrize(("text", "label", "words"), [
    ("Franchement exécrable et exaspérant, c'est épouvantable", "negative",
     ("execrable", "exasperant", "epouvantable")),
    ("Des bénévoles chaleureux, un spectacle éblouissant, nous sommes enchantés", "positive",
     ("chaleureux", "eblouissant", "enchantes")),
])
def test_words_no_training_tweet_had_still_count_and_explain(
    model: SentimentModel, text: str, label: str, words: tuple[str, ...],
) -> None:
    known = set(model.features.word_block.names)
    assert not any(w in known or w in LEXICON for w in words)  # the n-grams and the lexicon do not know them
    got, _, _, terms = model.predict(prepare_many([text]))[0]
    assert got == label, terms
    assert any(term in text for term in terms) and len(terms) <= 5


def test_a_model_built_with_another_table_is_refused(tmp_path, model: SentimentModel) -> None:
    from listener.errors import VigieError

    model.features.vectors_digest, saved = "0" * 16, model.features.vectors_digest
    try:
        path = tmp_path / "sentiment.joblib"
        model.save(path)
    finally:
        model.features.vectors_digest = saved
    with pytest.raises(VigieError, match="autre table de vecteurs"):
        SentimentModel.load(path)
