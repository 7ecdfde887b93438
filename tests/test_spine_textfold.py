"""Text folding: one form for keys, hashtags and lexicon entries, whatever path computes it.

`fold` has a fast path for texts that are Latin-1 once "’", "œ" and "æ" are spelt out; everything it
returns must be exactly what the general path (decompose, drop the accents, recompose, ligature table)
returns, since counters, rules and classifiers all compare words in this form.
"""

from __future__ import annotations

import json
import random

from listener.textfold import _fold_lowered, fold, hashtags
from tests.conftest import SHARED, needs_shared


def general(text: str) -> str:
    """The general path alone (what fold returned for every text before the fast path)."""
    lowered = text.lower()
    return lowered if lowered.isascii() else _fold_lowered(lowered)


def test_french_words_fold_as_users_expect() -> None:
    assert fold("Grève à l’École, CŒUR brisé, Ætna") == "greve a l'ecole, coeur brise, aetna"
    assert fold("ÇA SUFFIT ! Où est passée la médiathèque ?") == "ca suffit ! ou est passee la mediatheque ?"
    assert hashtags("#Grève #greve #GRÈVE et #Mairie") == ["greve", "mairie"]


def test_every_pair_of_latin1_and_spelt_out_characters_folds_as_the_general_path() -> None:
    alphabet = [chr(code) for code in range(256)] + ["’", "œ", "Œ"]
    for first in alphabet:
        for second in alphabet:
            pair = first + second
            assert fold(pair) == general(pair), repr(pair)


def test_mixed_random_texts_fold_as_the_general_path() -> None:
    rng = random.Random(14)
    pieces = [chr(code) for code in range(32, 256)] + list("’œŒæÆ…“”€😀\u0301\u0300\u0327\u202fİıſ") + ["e\u0301"]
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 40)))
        assert fold(text) == general(text), repr(text)


@needs_shared
def test_real_french_posts_fold_as_the_general_path() -> None:
    texts = (SHARED / "data" / "umsab-fr" / "train_text.txt").read_text(encoding="utf-8").splitlines()
    with (SHARED / "data" / "crisislex-fr-dev" / "tweets.jsonl").open(encoding="utf-8") as handle:
        texts += [json.loads(line).get("text") or "" for line in handle if line.strip()]
    assert len(texts) > 1000
    for text in texts:
        assert fold(text) == general(text), repr(text)
