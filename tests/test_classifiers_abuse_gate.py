"""The shortcuts of the abuse and hostility layers give exactly what the full path gives: texts proved to
hold nothing (AbuseDetector.gate) and targets found only where they are read (HostilityClassifier)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from classifiers.abuse import AbuseDetector, plain_words, squash
from classifiers.hostility import HostilityClassifier, HostilityLexicon, training_institution
from classifiers.lexicon import View
from classifiers.text import prepare, prepare_many

DATA = Path(__file__).resolve().parent.parent / "classifiers" / "data"

TRICKY = [
    "", " ", "?", "c o n n a r d", "c.o.n.n.a.r.d", "c*nnard de maire", "C0NNARD", "jte bute", "tuez-les tous",
    "Le centre-ville est fermé cet après-midi", "a b c d", "a . . b . c", "l'ex-maire est un v*leur",
    "Vous êtes des rats", "ce ne sont pas des rats", "il m'a traité de connard", "Je vais tuer les élus",
    "Tuer les élus.", "on sait où tu habites", "Madame la maire, démissionnez, vous êtes une incompétente !",
    "espèce de c.o.n", "ж ы ф", "α . β . γ", "q w e r t y", "Benali, ce menteur", "@villederivebelle vous êtes nuls", "troooop bieeeen",
]


def corpus() -> list[str]:
    texts = list(TRICKY)
    for name in ("abuse_train_fr.jsonl", "abuse_blind_fr.jsonl"):
        with (DATA / name).open(encoding="utf-8") as lines:
            texts += [json.loads(line)["text"] for line in lines if line.strip()]
    rng = random.Random(11)
    words = [word for text in texts for word in text.split()]
    texts += [" ".join(rng.choice(words) for _ in range(rng.randint(1, 30))) for _ in range(1500)]
    return texts


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return corpus()


@pytest.fixture(scope="module")
def detector() -> AbuseDetector:
    return AbuseDetector.load()


def test_plain_words_are_the_squashed_words_or_none(texts, detector):
    merged = 0
    for prepared in prepare_many(texts):
        words = plain_words(prepared.folded)
        squashed = squash(prepared, detector.lexicon.wildcard)[0].folded
        if words is None:
            merged += 1
        else:
            assert words == squashed, prepared.text
    assert merged  # letter runs and masked words take the full path


def test_every_phrase_of_the_lexicon_passes_the_gate(detector):
    lexicon = detector.lexicon
    gate, triggers = detector.gate()
    for entry in [*lexicon.terms.entries, *lexicon.threats.entries]:
        words = list(entry.stems)
        assert not detector.quiet(words, gate, triggers), entry.phrase
    for verb in lexicon.verbs:
        assert not detector.quiet([verb], gate, triggers), verb


def fields(result) -> tuple:
    return tuple(getattr(result, name) for name in result.__slots__)


@pytest.mark.parametrize("use_model", [True, False])
def test_the_gate_changes_no_result(texts, use_model, monkeypatch):
    detector = AbuseDetector.load(use_model=use_model)
    prepared = prepare_many(texts)
    aimed = [{0, 1} if k % 3 == 0 else set() for k in range(len(texts))]
    gated = detector.detect_many(prepared, aimed)
    monkeypatch.setattr(detector, "gate", lambda: None)
    full = detector.detect_many(prepared, aimed)
    assert [fields(r) for r in gated] == [fields(r) for r in full]
    assert sum(r.abusive for r in gated) > 50


def test_a_threshold_of_zero_reads_every_text():
    detector = AbuseDetector.load(model_threshold=0.0)
    assert detector.gate() is None
    assert detector.detect_many([prepare("Bonne journée à tous")])[0].abusive


def test_lazy_targets_give_what_eager_targets_give(texts, monkeypatch):
    classifier = HostilityClassifier(HostilityLexicon.load(training_institution()), AbuseDetector.load())
    views = [View(p) for p in prepare_many(texts)]
    lazy = classifier.classify_many(views)

    def eager(views: list[View]):
        named = [classifier.targets(view) for view in views]
        aimed = [{i for _, start, end in found if start >= 0 for i in range(start, end + 1)} for found in named]
        abuses = classifier.abuse.detect_many([view.prepared for view in views], aimed)
        return [classifier._combine(abuse, found) for abuse, found in zip(abuses, named, strict=True)]

    assert [fields(r) for r in lazy] == [fields(r) for r in eager(views)]
    assert sum(r.hostile for r in lazy) > 20


def test_findings_are_detect_many_with_none_for_empty_results(texts, detector):
    from classifiers.abuse import AbuseResult

    prepared = prepare_many(texts)
    found = detector.findings(prepared)
    full = detector.detect_many(prepared)
    assert 100 < sum(r is None for r in found) < len(texts)  # an abuse-heavy corpus: a fifth is empty
    for short, result in zip(found, full, strict=True):
        if short is None:
            assert fields(result) == fields(AbuseResult(second_person=result.second_person))
        else:
            assert fields(short) == fields(result)


@pytest.mark.parametrize("rows", [(0, 1), (3, 40), (0, 300)])
def test_model_proba_read_by_blocks_is_predict_proba_of_the_matrix(texts, detector, rows):
    from classifiers.abuse import model_matrix, model_proba

    model = detector.model
    pairs = [detector.lexicon_result(p) for p in prepare_many(texts[rows[0] : rows[1]])]
    squashed, results = [sq for _, sq in pairs], [r for r, _ in pairs]
    expected = model["classifier"].predict_proba(model_matrix(model, squashed, results))[:, 1].tolist()
    assert model_proba(model, squashed, results) == expected
