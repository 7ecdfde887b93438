"""The shipped sentiment model on clear French examples: labels, negation, explanations, determinism."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest

from classifiers import sentiment
from classifiers.sentiment import DEFAULT_MODEL_PATH, SentimentModel
from classifiers.text import prepare_many
from classifiers.types import SENTIMENTS
from listener.errors import VigieError
from listener.textfold import fold


@pytest.fixture(scope="module")
def model() -> SentimentModel:
    return SentimentModel.load()


def label_of(model: SentimentModel, text: str) -> str:
    return model.predict(prepare_many([text]))[0][0]


@pytest.mark.parametrize("text", [
    "Service nul, une honte, je suis furieux 😡",
    "Encore des retards, ras-le-bol de cette ligne de bus",
    "Catastrophe : la pollution détruit la rivière, c'est inadmissible",
])
def test_clear_negative(model: SentimentModel, text: str) -> None:
    assert label_of(model, text) == "negative"


@pytest.mark.parametrize("text", [
    "C'est génial, merci beaucoup à la mairie !",
    "Super initiative de la ville 👍",
    "Bravo aux agents, excellent travail ❤️",
])
def test_clear_positive(model: SentimentModel, text: str) -> None:
    assert label_of(model, text) == "positive"


def test_negation_flips(model: SentimentModel) -> None:
    assert label_of(model, "c'est pas terrible") != "positive"
    assert label_of(model, "Je ne suis pas content du tout") == "negative"
    assert label_of(model, "aucun problème") != "negative"
    assert label_of(model, "Aucun problème avec la mairie, tout s'est bien passé") != "negative"
    assert label_of(model, "pas mal du tout !") != "negative"


def test_prediction_shape_and_explanations(model: SentimentModel) -> None:
    label, score, proba, terms = model.predict(prepare_many(["C'est génial, merci beaucoup !"]))[0]
    assert label in SENTIMENTS and set(proba) == set(SENTIMENTS)
    assert score == pytest.approx(max(proba.values()))
    assert sum(proba.values()) == pytest.approx(1.0)
    assert "génial" in terms and len(terms) <= 5
    negative_terms = model.predict(prepare_many(["Je ne suis pas content"]))[0][3]
    assert "NEG_content" in negative_terms
    assert "pas terrible" in model.predict(prepare_many(["c'est pas terrible"]))[0][3]
    # Punctuation and stop words alone are never offered as an explanation.
    for _, _, _, shown in model.predict(prepare_many(["... !!", "c'est le la les"])):
        assert all(any(ch.isalnum() for ch in term) for term in shown)


def test_explanations_are_words_people_wrote_not_placeholders(model: SentimentModel) -> None:
    texts = ["Notre enquête « la malédiction des éoliennes », photos et vidéo pour @user http",
             "Merci @user pour ce super article http"]
    for _, _, _, terms in model.predict(prepare_many(texts)):
        assert terms and not any("@user" in term or "http" in term.split() for term in terms), terms


def test_empty_batch_and_empty_texts_anywhere_in_a_batch(model: SentimentModel) -> None:
    assert model.predict([]) == []
    label, _, proba, terms = model.predict(prepare_many([""]))[0]
    assert label in SENTIMENTS and terms == []
    batch = model.predict(prepare_many(["", "Super initiative 👍", "", "xqzw", ""]))
    assert [row[0] for row in batch][1] == "positive" and len(batch) == 5
    assert model.predict(prepare_many(["Super initiative 👍"]))[0] == batch[1]


def test_deterministic(model: SentimentModel) -> None:
    texts = ["Super initiative 👍", "c'est pas terrible", "Le conseil se réunit jeudi"]
    again = SentimentModel.load()
    assert model.predict(prepare_many(texts)) == again.predict(prepare_many(texts))


def test_model_file_small_and_predicts_a_batch(model: SentimentModel) -> None:
    # Speed is measured by `make bench` (bench_classify), never by a timed unit test.
    assert DEFAULT_MODEL_PATH.stat().st_size <= 5_000_000
    texts = [f"Le bus {i} est encore en retard, c'est pas normal 😡 #transports" for i in range(1000)]
    assert len(model.predict(prepare_many(texts))) == len(texts)


def test_missing_model_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(VigieError, match="introuvable"):
        SentimentModel.load(tmp_path / "absent.joblib")


SHARED_UMSAB = Path(__file__).resolve().parents[2] / "shared" / "data" / "umsab-fr"


@pytest.fixture
def small_umsab(tmp_path: Path) -> Path:
    """A copy of the first tweets of each split: enough to run training and CV end to end quickly."""
    if not (SHARED_UMSAB / "train_text.txt").exists():
        pytest.skip("UMSAB French data not available")
    out = tmp_path / "umsab"
    out.mkdir()
    for split, n in (("train", 150), ("val", 30)):
        for kind in ("text", "labels"):
            lines = (SHARED_UMSAB / f"{split}_{kind}.txt").read_text(encoding="utf-8").split("\n")[:n]
            (out / f"{split}_{kind}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def test_train_and_eval_commands_in_french(small_umsab: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from listener.cli import main

    runner = CliRunner()
    trained = runner.invoke(main, ["train", "--data", str(small_umsab), "--out", str(tmp_path / "models")])
    assert trained.exit_code == 0, trained.output
    assert "modèle entraîné sur 180 tweets" in trained.output
    model_file = tmp_path / "models" / "sentiment.joblib"
    first = model_file.read_bytes()
    runner.invoke(main, ["train", "--data", str(small_umsab), "--out", str(tmp_path / "models")])
    assert model_file.read_bytes() == first  # same data + seed → same file
    assert SentimentModel.load(model_file).predict(prepare_many(["Super 👍"]))[0][0] in SENTIMENTS

    evaluated = runner.invoke(main, ["eval", "--data", str(small_umsab), "--folds", "3"])
    assert evaluated.exit_code == 0, evaluated.output
    assert "F1 macro" in evaluated.output and "Matrice de confusion" in evaluated.output
    assert "négatif" in evaluated.output
    assert "Part réservée UMSAB val (30 tweets" in evaluated.output


def test_missing_data_is_a_french_error(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from listener.cli import main

    result = CliRunner().invoke(main, ["eval", "--data", str(tmp_path / "nowhere")])
    assert result.exit_code == 2
    assert "Données d'entraînement introuvables" in result.output


def test_evaluation_report_figures(small_umsab: Path) -> None:
    from classifiers.training import evaluate_sentiment

    report = evaluate_sentiment(small_umsab, folds=3, seed=13)
    # CV on train only (150 tweets); val (30) is scored once by the model fitted on train.
    assert report.n_texts == 150 and len(report.fold_macro_f1) == 3
    assert 0.0 <= report.macro_f1_mean <= 1.0
    assert set(report.per_class_f1) == set(SENTIMENTS) == set(report.val_per_class_f1)
    assert sum(map(sum, report.confusion)) == 150
    assert report.n_val == 30 and report.val_macro_f1 is not None and 0.0 <= report.val_macro_f1 <= 1.0


_FEATURE_TEXTS = [
    "C'est pas terrible, trop de monde à la gare ce matin 😡 http",
    "@mairie_paris Franchement c'est pas terrible, troooop de monde à la #GrèveSNCF !!!! l'info est où ?",
    "Bravo la ville, super travail des agents ❤️ #Rivebelle",
    "ne pas plus jamais rien aucun sans ni personne", "", "?", "a", "Œuvre cœur ǅ İstanbul ﬁn façade",
]


def _reference_ids(block, docs: list[list[str]]) -> list[list[int]]:
    """Each doc's column ids looked up the plain way, sorted (what the fast lookups must give)."""
    return [sorted(block.vocabulary[key] for key in doc if key in block.vocabulary) for doc in docs]


def _per_doc(ids, lengths) -> list[list[int]]:
    ends = list(itertools.accumulate(int(n) for n in lengths))
    return [sorted(ids[end - n : end].tolist()) for end, n in zip(ends, lengths, strict=True)]


def test_fast_column_lookups_match_the_feature_strings(model: SentimentModel) -> None:
    """Word and char columns found in numpy (no bigram strings, char n-grams gathered by token) are the
    columns of word_keys()/char n-gram strings looked up in the vocabulary, text by text."""
    from classifiers.sentiment import _char_ngrams, char_tokens, word_keys

    features = model.features
    prepared = prepare_many(_FEATURE_TEXTS * 3)
    words = features.word_block
    docs = [sentiment._marked(p, False) for p in prepared]
    assert _per_doc(*words.key_ids(docs, True)) == _reference_ids(words, [word_keys(p) for p in prepared])
    chars = features.char_block
    low, high = features.config.char_range
    tokens = [char_tokens(p, False, False) for p in prepared]
    expected = _reference_ids(chars, [[g for t in doc for g in _char_ngrams(t, low, high)] for doc in tokens])
    assert _per_doc(*chars.char_ids(tokens, low, high)) == expected


def test_char_gram_table_is_bounded(model: SentimentModel, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past its limit the token table starts again, and still gives the same columns."""
    from classifiers.sentiment import _GramTable

    block = model.features.char_block
    low, high = model.features.config.char_range
    table = _GramTable(block.vocabulary, low, high)
    monkeypatch.setattr(_GramTable, "LIMIT", 5)
    docs = [p.folded for p in prepare_many(_FEATURE_TEXTS)]
    first = _per_doc(*table.ids(docs))
    assert len(table) > 5
    assert _per_doc(*table.ids(docs)) == first
    assert len(table) <= len({t for doc in docs for t in doc})


def test_folded_tokens_hold_no_space() -> None:
    """The word lookups find bigrams by their two words, which holds because no token has a space:
    tokens are runs of non-space characters and folding turns no other character into a space."""
    every = "".join(chr(code) for code in range(0x110000) if not chr(code).isspace() and not 0xD800 <= code < 0xE000)
    assert not any(character.isspace() for character in fold(every))


def test_probabilities_read_from_the_blocks_are_those_of_the_joined_matrix(model: SentimentModel) -> None:
    from bench.bench_classify import texts

    prepared = prepare_many(texts(600)[::3] + ["", "pas mal", "http @x ?", "Merci pour rien 🙄"])
    blocks = model.features.blocks(prepared)
    joined = model.features.transform(prepared)
    assert np.array_equal(model._proba_of(blocks, len(prepared)), model._proba(joined))
    assert sentiment._nnz(blocks) == joined.nnz


def test_strongest_first_is_lexsorts_order() -> None:
    rng = np.random.default_rng(5)
    for n_rows in (1, 7, 500, 40_000):
        row_of = rng.integers(0, n_rows, size=3000)
        strength = rng.integers(1, 6, size=3000) / 4.0  # many ties
        order, rank = sentiment._strongest_first(row_of, strength, n_rows)
        expected = np.lexsort((-strength, row_of))
        assert np.array_equal(order, expected)
        ordered = row_of[expected]
        assert np.array_equal(rank, np.arange(3000) - np.searchsorted(ordered, ordered, side="left"))


def test_explanations_taken_in_numpy_are_those_of_the_term_by_term_loop(model: SentimentModel,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from bench.bench_classify import texts

    prepared = prepare_many(texts(3000)[::5] + ["à l'école a l'heure", "pas mal", "Merci pour rien 🙄"])
    fast = model.predict(prepared)
    monkeypatch.setattr(model, "_plain_word", np.zeros_like(model._plain_word))  # every row one by one
    assert model.predict(prepared) == fast


def _lexicon_row(prep, hits: list[tuple[int, float, int]]) -> list[float]:
    """The lexicon block of one text, as it was computed text by text before _lexicon_rows."""
    pos = neg = 0.0
    for _, weight, _ in hits:
        if weight > 0:
            pos += weight
        else:
            neg -= weight
    folded = prep.folded
    exclaim = folded.count("!") + folded.count("!!")
    question = folded.count("?") + folded.count("??")
    negations = prep.negated.count(True)
    log_pos, log_neg = math.log1p(pos), math.log1p(neg)
    return [
        log_pos,
        log_neg,
        log_pos - log_neg,
        float(pos > neg),
        float(neg > pos),
        min(exclaim, 3) / 3,
        min(question, 3) / 3,
        min(negations, 3) / 3,
        float(bool(prep.hashtags)),
        float("http" in folded),
    ]


def _described_sum(prep, hits: list[tuple[int, float, int]], name: str) -> tuple[str, ...]:
    """The words that explained a lexicon sum before _hit_terms (the per-text describer it replaced)."""
    hits = sorted(hits, key=lambda hit: -abs(hit[1]))
    if name in ("lex:pos", "lex:pos>neg"):
        hits = [h for h in hits if h[1] > 0]
    elif name in ("lex:neg", "lex:neg>pos"):
        hits = [h for h in hits if h[1] < 0]
    elif name != "lex:balance":
        return ()
    terms = dict.fromkeys(sentiment.hit_text(prep, i, length) for i, _, length in hits)
    return tuple(t for t in terms if sentiment._readable(t))


def test_lexicon_rows_of_a_batch_are_the_rows_text_by_text() -> None:
    from bench.bench_classify import texts

    prepared = prepare_many(texts(2000)[::4] + ["", "!! ?? ! ? http://x.fr pas content", "pas mal du tout !!!",
                                                "n'importe quoi, ce n'est pas terrible ni génial #ville"])
    hits = [sentiment.lexicon_hits(p) for p in prepared]
    expected = np.array([_lexicon_row(p, h) for p, h in zip(prepared, hits, strict=True)])
    assert np.array_equal(sentiment._lexicon_rows(prepared, hits), expected)
    assert sentiment._lexicon_rows([], []).shape == (0, len(sentiment.LEXICON_FEATURES))


def test_one_token_lookup_for_both_blocks_gives_the_blocks_looked_up_apart(model: SentimentModel) -> None:
    from bench.bench_classify import texts

    features = model.features
    prepared = prepare_many(texts(3000)[::2] + ["", "pas mal du tout", "ce n'est pas terrible, pas content",
                                                "jamais plus rien", "a a a a"])
    blocks = features.blocks(prepared)
    docs = [sentiment._marked(p, False) for p in prepared]
    words = features.word_block.matrix(*features.word_block.key_ids(docs, True), features.config.word_weight)
    chars = sentiment._TfIdfBlock.__new__(sentiment._TfIdfBlock)  # a copy of the block with its own tables
    chars.__setstate__(features.char_block.__getstate__())
    low, high = features.config.char_range
    expected = chars.matrix(*chars.char_ids([p.folded for p in prepared], low, high), features.config.char_weight)
    for got, want in ((blocks["words"], words), (blocks["chars"], expected)):
        assert got.shape == want.shape
        for name in ("indptr", "indices", "data"):
            assert np.array_equal(getattr(got, name), getattr(want, name))


def test_hit_terms_are_what_the_describer_gave_each_lexicon_sum() -> None:
    from bench.bench_classify import texts

    prepared = prepare_many(texts(3000)[::3] + ["pas mal mais nul et pas content", "super super génial nul"])
    for prep in prepared:
        hits = sentiment.lexicon_hits(prep)
        described = sentiment._hit_terms(prep, hits)
        for name in sentiment.LEXICON_FEATURES:
            kind = sentiment._HIT_KINDS.get(name)
            assert (described[kind] if kind is not None else ()) == _described_sum(prep, hits, name), (prep.text, name)


def test_word_vector_rows_from_the_token_table_are_the_lookup_s(model: SentimentModel) -> None:
    from bench.bench_classify import texts
    from classifiers import wordvec

    prepared = prepare_many(texts(2000)[::2] + ["", "pas content du tout", "exécrable zzzqx"])
    _, found = model.features.blocks_and_lookup(prepared)
    expected = wordvec.load().lookup(prepared)
    for got, want in zip(found, expected, strict=True):
        assert np.array_equal(got, want)
    table = wordvec.load()
    assert [table.find(w) for w in ("content", "zzzqx")] == [table.row_of("content"), -1]


def test_counts_by_scipy_s_routines_are_the_matrix_methods_counts() -> None:
    rng = np.random.default_rng(11)
    for n_rows, n_cols, per_row in ((500, 20_000, 200), (3, 10, 0), (0, 5, 0), (40, 7, 30)):
        lengths = rng.integers(0, per_row + 1, size=n_rows)
        cols = rng.integers(0, n_cols, size=int(lengths.sum()))
        got = sentiment._counts(cols, lengths, n_cols)
        want = sentiment._counts_by_scipy(cols, lengths, n_cols)
        assert got.shape == want.shape
        for name in ("indptr", "indices", "data"):
            assert np.array_equal(getattr(got, name), getattr(want, name))
            assert getattr(got, name).dtype == getattr(want, name).dtype


def test_without_scipy_s_private_routines_the_labels_are_the_same(monkeypatch) -> None:
    """The private scipy routines are checked once at import and replaced by the public methods when they
    change: the labels, scores and words must be the same either way."""
    from classifiers import linear

    texts = ["Franchement c'est pas terrible, trop de monde à la gare 😡", "Merci la mairie pour le feu d'artifice !",
             "Le bus 12 a encore 20 minutes de retard #ligne12", "", "À quelle heure ouvre la piscine ?"]
    model = SentimentModel.load()
    fast = model.predict(prepare_many(texts))
    assert linear._csr_matvecs is not None and sentiment._sparsetools is not None  # this scipy passes the check
    monkeypatch.setattr(linear, "_csr_matvecs", None)
    monkeypatch.setattr(sentiment, "_sparsetools", None)
    assert model.predict(prepare_many(texts)) == fast
