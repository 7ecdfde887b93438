"""Three-class sentiment (negative / neutral / positive) for short, noisy French text.

A linear model over three feature blocks built from `classifiers.text.Prepared`:
- words: folded 1–2-grams where tokens inside a negation scope carry a ``NEG_`` prefix
  ("c'est pas terrible" gives ``NEG_terrible`` and the bigram ``pas NEG_terrible``);
- characters: 2–5-grams of each folded token padded with spaces (like scikit-learn's ``char_wb``),
  computed once per distinct token and cached, which is what keeps inference fast;
- a polarity lexicon (classifiers/data/polarity_fr.txt) summed per text, flipped under negation;
- the mean word vector of the text's content words (classifiers.wordvec: CC0 fastText vectors, 100 d),
  which carries the polarity of words the training tweets never had.

Why linear and hand-rolled vectorisers: ≥ 10,000 mentions/s on one core for the whole stack, a small
deterministic model file, and explanations that are plain words (the features pushing towards the label).
"""

from __future__ import annotations

import math
import sys
import threading
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields
from functools import lru_cache
from importlib import resources
from itertools import chain, repeat
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from classifiers import sentiment_cues as cues
from classifiers import wordvec
from classifiers.linear import LinearProba
from classifiers.text import STOPWORDS, Memo, Prepared, is_stopword, prepare
from classifiers.text import stem as stem_word
from classifiers.types import SENTIMENTS
from listener.textfold import fold

DEFAULT_MODEL_PATH = Path(__file__).resolve().parent / "models" / "sentiment.joblib"
MODEL_FORMAT = 2  # 2: word-vector block


Phrases = dict[str, list[tuple[tuple[str, ...], float]]]


def _load_lexicon() -> tuple[dict[str, float], dict[str, float], Phrases]:
    """Folded word → weight; stem → weight (stems whose entries agree in sign); phrases by first token.

    Phrases ("pas mal", "n'importe quoi") carry their own negator, so negation does not flip them.
    """
    raw = resources.files("classifiers").joinpath("data/polarity_fr.txt").read_text(encoding="utf-8")
    words: dict[str, float] = {}
    phrases: Phrases = {}
    for line in raw.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        entry, _, weight = line.partition("\t")
        tokens = tuple(prepare(entry.strip()).folded)
        if len(tokens) > 1:
            phrases.setdefault(tokens[0], []).append((tokens, float(weight)))
        elif tokens:
            words[tokens[0]] = float(weight)
    for options in phrases.values():
        options.sort(key=lambda option: -len(option[0]))  # longest match first
    by_stem: dict[str, list[float]] = {}
    for word, weight in words.items():
        if word.isalpha() and len(word) > 3:
            by_stem.setdefault(stem_word(word), []).append(weight)
    stems = {
        stem: sum(weights) / len(weights)
        for stem, weights in by_stem.items()
        if all(w > 0 for w in weights) or all(w < 0 for w in weights)
    }
    return words, stems, phrases


LEXICON, LEXICON_STEMS, LEXICON_PHRASES = _load_lexicon()


def _weight(word: str) -> float:
    """A folded word's lexicon weight (0.0 when absent): its own entry, else its stem's."""
    weight = LEXICON.get(word)
    return LEXICON_STEMS.get(stem_word(word), 0.0) if weight is None else weight


_WEIGHTS = Memo(_weight, 300_000)
_PHRASE_STARTS = frozenset(LEXICON_PHRASES)


def lexicon_hits(prep: Prepared) -> list[tuple[int, float, int]]:
    """(first token index, signed weight, tokens covered) of every lexicon word or phrase in the text.

    A word inside a negation scope counts for -0.8 × its weight ("pas content" leans negative).
    """
    folded = prep.folded
    negated = prep.negated
    if _PHRASE_STARTS.isdisjoint(folded):  # no phrase can start here: words alone, at C speed
        found = list(map(_WEIGHTS.__getitem__, folded))
        if not any(found):
            return []
        return [(i, -0.8 * weight if negated[i] else weight, 1) for i, weight in enumerate(found) if weight]
    hits: list[tuple[int, float, int]] = []
    weights = _WEIGHTS
    skip = 0
    for i, word in enumerate(folded):
        if i < skip:
            continue
        options = LEXICON_PHRASES.get(word)
        if options is not None:
            for tokens, phrase_weight in options:
                if tuple(folded[i : i + len(tokens)]) == tokens:
                    hits.append((i, phrase_weight, len(tokens)))
                    skip = i + len(tokens)
                    break
            if skip > i:
                continue
        weight = weights[word]
        if weight:
            hits.append((i, -0.8 * weight if negated[i] else weight, 1))
    return hits


def hit_text(prep: Prepared, index: int, length: int) -> str:
    """A lexicon hit as a person reads it: "NEG_content", "pas mal", "n'importe quoi"."""
    tokens = prep.tokens
    if length == 1:
        return ("NEG_" if prep.negated[index] else "") + tokens[index]
    out = tokens[index]
    for token in tokens[index + 1 : index + length]:
        out += token if out.endswith("'") else " " + token
    return out


LEXICON_FEATURES = (
    "lex:pos", "lex:neg", "lex:balance", "lex:pos>neg", "lex:neg>pos",
    "punct:!", "punct:?", "negations", "has:hashtag", "has:link",
)

# Token kinds the lexicon block counts (see _lexicon_rows).
_EXCLAIM, _QUESTION, _LINK = 1, 2, 3
_TOKEN_KINDS = {"!": _EXCLAIM, "!!": _EXCLAIM, "?": _QUESTION, "??": _QUESTION, "http": _LINK}


def _lexicon_rows(prepared: Sequence[Prepared], hits: Sequence[list[tuple[int, float, int]]]) -> np.ndarray:
    """The lexicon block of every text, as one (texts × 10) array (LEXICON_FEATURES: log positive and negative
    weight sums, their balance and comparison, !, ?, negations capped at 3, has a hashtag, has a link), in a
    few passes over the whole batch instead of a Python function per text. The same floats: the sums add each text's hit weights in their order into
    0.0 (np.bincount adds one by one, like the loop), logs are math.log1p's, the rest exact arithmetic."""
    n = len(prepared)
    n_hits = np.fromiter(map(len, hits), dtype=np.int64, count=n)
    weights = np.fromiter((hit[1] for hit in chain.from_iterable(hits)), dtype=np.float64, count=int(n_hits.sum()))
    owner = np.repeat(np.arange(n), n_hits)
    positive = weights > 0
    pos = np.bincount(owner[positive], weights=weights[positive], minlength=n)
    neg = np.bincount(owner[~positive], weights=-weights[~positive], minlength=n)
    lengths = np.fromiter(map(len, (p.folded for p in prepared)), dtype=np.int64, count=n)
    kinds = np.fromiter(map(_TOKEN_KINDS.get, chain.from_iterable(p.folded for p in prepared), repeat(0)),
                        dtype=np.int64, count=int(lengths.sum()))
    by_kind = np.bincount(np.repeat(np.arange(n), lengths) * 4 + kinds, minlength=4 * n).reshape(n, 4)
    negations = np.fromiter(map(sum, (p.negated for p in prepared)), dtype=np.int64, count=n)
    out = np.empty((n, len(LEXICON_FEATURES)), dtype=np.float64)
    out[:, 0] = list(map(math.log1p, pos.tolist()))
    out[:, 1] = list(map(math.log1p, neg.tolist()))
    out[:, 2] = out[:, 0] - out[:, 1]
    out[:, 3] = pos > neg
    out[:, 4] = neg > pos
    out[:, 5] = np.minimum(by_kind[:, _EXCLAIM], 3) / 3
    out[:, 6] = np.minimum(by_kind[:, _QUESTION], 3) / 3
    out[:, 7] = np.minimum(negations, 3) / 3
    out[:, 8] = np.fromiter(map(bool, (p.hashtags for p in prepared)), dtype=bool, count=n)
    out[:, 9] = by_kind[:, _LINK] > 0
    return out


def _marked(prep: Prepared, use_stems: bool) -> list[str]:
    """The words with ``NEG_`` before those in a negation scope (the text's own list when none is: read only)."""
    base = prep.stems if use_stems else prep.folded
    if True not in prep.negated:
        return base
    return [("NEG_" + w) if n else w for w, n in zip(base, prep.negated, strict=True)]


def word_keys(prep: Prepared, use_stems: bool = False, bigrams: bool = True) -> list[str]:
    """Word feature strings: non-stop-word unigrams and all bigrams, negated words prefixed ``NEG_``."""
    marked = _marked(prep, use_stems)
    keys = [w for w in marked if w not in STOPWORDS]
    if bigrams and len(marked) > 1:
        keys.extend([a + " " + b for a, b in zip(marked, marked[1:], strict=False)])
    return keys


def char_tokens(prep: Prepared, content_only: bool, neg: bool) -> list[str]:
    """The folded tokens the char block reads (negated ones prefixed with "~" when asked)."""
    folded = prep.folded
    if content_only:
        keep = [i for i, w in enumerate(folded) if w not in STOPWORDS and (w[0].isalnum() or w[0] in "#@")]
    else:
        keep = range(len(folded))
    if neg:
        negated = prep.negated
        return [("~" + folded[i]) if negated[i] else folded[i] for i in keep]
    return [folded[i] for i in keep] if content_only else folded


def _word_surfaces(prep: Prepared, use_stems: bool, bigrams: bool) -> list[tuple[str, str]]:
    """(feature key, the words as written) pairs, used at fit time to name columns for people."""
    marked = _marked(prep, use_stems)
    tokens = prep.tokens
    shown = [("NEG_" + t) if n else t for t, n in zip(tokens, prep.negated, strict=True)]
    pairs = [(key, shown[i]) for i, key in enumerate(marked) if key not in STOPWORDS]
    if bigrams:
        for i in range(len(marked) - 1):
            first = tokens[i]
            pairs.append((marked[i] + " " + marked[i + 1],
                          first + ("" if first.endswith("'") else " ") + tokens[i + 1]))
    return pairs


def _char_ngrams(token: str, low: int, high: int) -> list[str]:
    padded = f" {token} "
    size = len(padded)
    return [padded[i : i + n] for n in range(low, high + 1) for i in range(size - n + 1)]


class _TfIdfBlock:
    """A minimal TF-IDF over precomputed feature strings: min_df vocabulary, sublinear tf, l2 rows."""

    def __init__(self, min_df: int) -> None:
        self.min_df = min_df
        self.vocabulary: dict[str, int] = {}
        self.idf = np.zeros(0)
        self.names: list[str] = []
        self._token_cache: dict[str, np.ndarray] = {}  # kept (empty) in the pickled state, unused
        self._reset_lookups()

    def _reset_lookups(self) -> None:
        self._words: _WordIndex | None = None
        self._grams: _GramTable | None = None

    def __getstate__(self) -> dict[str, Any]:
        """The same state as models saved before the lookup tables existed (model files stay identical)."""
        return {"min_df": self.min_df, "vocabulary": self.vocabulary, "idf": self.idf, "names": self.names,
                "_token_cache": {}}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._reset_lookups()

    def fit(self, docs: Sequence[Iterable[str]]) -> _TfIdfBlock:
        df: Counter[str] = Counter()
        for doc in docs:
            df.update(set(doc))
        # Interned: the pickled model must not depend on which equal strings happen to be one object
        # (the tokenizer's memos share them across texts and trainings), or the same data gives another file.
        self.names = sorted(sys.intern(term) for term, n in df.items() if n >= self.min_df)
        self.vocabulary = {term: i for i, term in enumerate(self.names)}
        n_docs = len(docs)
        counts = np.array([df[t] for t in self.names], dtype=np.float64)
        self.idf = np.log((1 + n_docs) / (1 + counts)) + 1.0
        self._reset_lookups()
        return self

    def matrix(self, cols: np.ndarray, lengths: Sequence[int] | np.ndarray, weight: float = 1.0) -> sp.csr_matrix:
        """Rows from concatenated column ids: sublinear tf × idf, l2-normalised, times the block weight."""
        n_rows = len(lengths)
        matrix = _counts(np.asarray(cols), np.asarray(lengths, dtype=np.int64), len(self.names))
        values = (1.0 + np.log(matrix.data)) * self.idf[matrix.indices]
        per_row = np.diff(matrix.indptr)
        row_of = np.repeat(np.arange(n_rows), per_row)
        norms = np.sqrt(np.bincount(row_of, weights=values * values, minlength=n_rows))
        norms[norms == 0] = 1.0
        matrix.data = values * (weight / norms)[row_of]
        return matrix

    def key_ids(self, docs: Sequence[list[str]], bigrams: bool) -> tuple[np.ndarray, np.ndarray]:
        """Column ids of the word keys of every doc (its marked tokens, see word_keys), concatenated, and
        how many belong to each doc."""
        if self._words is None:
            self._words = _WordIndex(self.vocabulary)
        return self._words.ids(docs, bigrams)

    def char_ids(self, docs: Sequence[list[str]], low: int, high: int) -> tuple[np.ndarray, np.ndarray]:
        """Like key_ids for the char n-grams of each doc's tokens."""
        if self._grams is None:
            self._grams = _GramTable(self.vocabulary, low, high)
        return self._grams.ids(docs)

    def word_index(self) -> _WordIndex:
        """The lookup tables of key_ids (built once)."""
        if self._words is None:
            self._words = _WordIndex(self.vocabulary)
        return self._words

    def char_ids_and_codes(self, flat: list[str], doc_tokens: np.ndarray, low: int, high: int,
                           codes: Callable[[str], tuple[int, int, int]]
                           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """char_ids() of docs given as their tokens concatenated (`flat`) and their token counts, plus each
        token's `codes` (three numbers per token, remembered with its n-grams: one dict lookup serves all)."""
        grams = self._grams
        if grams is None or grams.codes != codes:
            grams = self._grams = _GramTable(self.vocabulary, low, high, codes)
        return grams.gather(flat, doc_tokens)


def _counts(cols: np.ndarray, lengths: np.ndarray, n_cols: int) -> sp.csr_matrix:
    """Rows of counts from concatenated column ids (row i: the next lengths[i] ids), columns sorted.

    Two transpositions sort every row by column in linear time (counting sort), about 3x faster than sorting
    each row; sum_duplicates then only adds up repeated ids of the sorted rows. Called as scipy's own
    routines on plain arrays: what csr_matrix.tocsc().tocsr().sum_duplicates() runs, without the three
    matrices' format checks (the same matrix: tested against it)."""
    n_rows, nnz = len(lengths), len(cols)
    if _sparsetools is None or max(nnz, n_cols, n_rows) >= np.iinfo(np.int32).max:
        return _counts_by_scipy(cols, lengths, n_cols)
    indptr = np.zeros(n_rows + 1, dtype=np.int32)
    indptr[1:] = np.cumsum(lengths)
    by_col = (np.empty(n_cols + 1, dtype=np.int32), np.empty(nnz, dtype=np.int32), np.empty(nnz))
    _sparsetools.csr_tocsc(n_rows, n_cols, indptr, cols.astype(np.int32), np.ones(nnz), *by_col)
    by_row = (np.empty(n_rows + 1, dtype=np.int32), np.empty(nnz, dtype=np.int32), np.empty(nnz))
    _sparsetools.csr_tocsc(n_cols, n_rows, *by_col, *by_row)
    _sparsetools.csr_sum_duplicates(n_rows, n_cols, *by_row)
    indptr, indices, data = by_row
    kept = int(indptr[-1])
    return sp.csr_matrix((data[:kept], indices[:kept], indptr), shape=(n_rows, n_cols))


def _private_sparsetools() -> Any:
    """scipy's private routines behind its CSR conversions, if _counts() still gives what scipy's public
    methods give with them (checked once on a small batch); None otherwise: _counts() then uses the methods."""
    global _sparsetools
    try:
        from scipy.sparse import _sparsetools as routines

        _sparsetools = routines
        cols = np.array([4, 1, 4, 0, 2, 2, 2, 5, 1], dtype=np.int64)
        lengths = np.array([3, 0, 4, 2], dtype=np.int64)
        fast, slow = _counts(cols, lengths, 6), _counts_by_scipy(cols, lengths, 6)
        same = all(np.array_equal(getattr(fast, name), getattr(slow, name)) for name in ("indptr", "indices", "data"))
        _sparsetools = routines if same else None
    except Exception:  # noqa: BLE001 - any surprise means: do not use them
        _sparsetools = None
    return _sparsetools


def _counts_by_scipy(cols: np.ndarray, lengths: np.ndarray, n_cols: int) -> sp.csr_matrix:
    """_counts() through scipy's matrix methods."""
    indptr = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    matrix = sp.csr_matrix((np.ones(len(cols)), cols, indptr), shape=(len(lengths), n_cols))
    matrix = matrix.tocsc().tocsr()
    matrix.sum_duplicates()
    return matrix


_sparsetools: Any = None
_sparsetools = _private_sparsetools()


def _flatten(docs: Sequence[list[str]]) -> tuple[list[str], np.ndarray]:
    """Every doc's tokens in one list, and the doc lengths."""
    flat: list[str] = []
    extend = flat.extend
    for doc in docs:
        extend(doc)
    return flat, np.fromiter(map(len, docs), dtype=np.int64, count=len(docs))


class _WordIndex:
    """Columns of word keys found without building the bigram strings: each marked token maps to one
    packed number (its unigram column, its id as a bigram word), and a batch's bigrams are looked up in
    numpy. Same columns as looking up word_keys() in the vocabulary, because tokens hold no space."""

    _SHIFT = 32

    def __init__(self, vocabulary: dict[str, int]) -> None:
        ids: dict[str, int] = {}
        unigrams: dict[str, int] = {}
        pairs: list[tuple[str, str, int]] = []
        for key, col in vocabulary.items():
            parts = key.split(" ")
            if len(parts) == 1:
                if key not in STOPWORDS:  # word_keys() drops stop-word unigrams
                    unigrams[key] = col
            elif len(parts) == 2:
                for part in parts:
                    ids.setdefault(part, len(ids))
                pairs.append((parts[0], parts[1], col))
        self.n_ids = max(len(ids), 1)
        self.vectors: wordvec.WordVectors | None = None  # set by SentimentFeatures when it reads vectors
        self.packed = {word: ((unigrams.get(word, -1) + 1) << self._SHIFT) | (ids.get(word, -1) + 1)
                       for word in unigrams.keys() | ids.keys()}
        codes = np.array([ids[a] * self.n_ids + ids[b] for a, b, _ in pairs], dtype=np.int64)
        order = np.argsort(codes)
        self.pair_codes = codes[order]
        self.pair_cols = np.array([col for _, _, col in pairs], dtype=np.int64)[order]

    def codes_of(self, token: str) -> tuple[int, int, int]:
        """The packed numbers of a folded token as it is and inside a negation scope ("NEG_" before it), and
        its word-vector row (-1: none, or no vectors: see `vectors`)."""
        packed = self.packed
        row = self.vectors.find(token) if self.vectors is not None else -1
        return packed.get(token, 0), packed.get("NEG_" + token, 0), row

    def ids_of_codes(self, codes: np.ndarray, lengths: np.ndarray, bigrams: bool) -> tuple[np.ndarray, np.ndarray]:
        """ids() of docs given as their marked tokens' packed numbers, concatenated, and their lengths."""
        n_docs = len(lengths)
        doc_of = np.repeat(np.arange(n_docs), lengths)
        unigram = (codes >> self._SHIFT) - 1
        found = unigram >= 0
        rows, cols = [doc_of[found]], [unigram[found]]
        if bigrams and len(self.pair_codes) and len(codes) > 1:
            word = (codes & ((1 << self._SHIFT) - 1)) - 1
            first, second = word[:-1], word[1:]
            both = (first >= 0) & (second >= 0) & (doc_of[:-1] == doc_of[1:])  # no bigram across two docs
            wanted = first[both] * self.n_ids + second[both]
            at = np.minimum(np.searchsorted(self.pair_codes, wanted), len(self.pair_codes) - 1)
            hit = self.pair_codes[at] == wanted
            rows.append(doc_of[:-1][both][hit])
            cols.append(self.pair_cols[at[hit]])
        row_of = np.concatenate(rows)
        order = np.argsort(row_of, kind="stable")
        return np.concatenate(cols)[order], np.bincount(row_of, minlength=n_docs)

    def ids(self, docs: Sequence[list[str]], bigrams: bool) -> tuple[np.ndarray, np.ndarray]:
        """Column ids of the word keys of every doc (its marked tokens), concatenated, and how many per doc."""
        flat, lengths = _flatten(docs)
        codes = np.fromiter(map(self.packed.get, flat, repeat(0)), dtype=np.int64, count=len(flat))
        return self.ids_of_codes(codes, lengths, bigrams)


class _GramTable(dict):
    """Token → slot of its char n-gram columns in flat arrays, filled the first time a token is seen, so
    that a batch's columns are gathered in numpy instead of concatenated token by token. Bounded (a
    long-running daemon sees new tokens forever); a lock keeps the arrays whole if threads share it."""

    LIMIT = 100_000

    def __init__(self, vocabulary: dict[str, int], low: int, high: int,
                 codes: Callable[[str], tuple[int, int, int]] | None = None) -> None:
        super().__init__()
        self.vocabulary = vocabulary
        self.low, self.high = low, high
        self.codes = codes  # three more numbers remembered per token (see _TfIdfBlock.char_ids_and_codes)
        self.lock = threading.Lock()
        self._clear()

    def _clear(self) -> None:
        self.clear()
        self.starts = np.zeros(1024, dtype=np.int64)
        self.lengths = np.zeros(1024, dtype=np.int64)
        self.token_codes = np.zeros((1024, 3), dtype=np.int64)
        self.grams = np.zeros(16_384, dtype=np.int64)
        self.used = 0  # how much of `grams` is filled

    def __missing__(self, token: str) -> int:
        vocab = self.vocabulary
        ids = [vocab[g] for g in _char_ngrams(token, self.low, self.high) if g in vocab]
        slot = len(self)
        if slot == len(self.starts):
            self.starts = np.resize(self.starts, 2 * slot)
            self.lengths = np.resize(self.lengths, 2 * slot)
            self.token_codes = np.resize(self.token_codes, (2 * slot, 3))
        if self.codes is not None:
            self.token_codes[slot] = self.codes(token)
        end = self.used + len(ids)
        if end > len(self.grams):
            self.grams = np.resize(self.grams, max(2 * len(self.grams), end))
        self.grams[self.used : end] = ids
        self.starts[slot], self.lengths[slot] = self.used, len(ids)
        self.used = end
        self[token] = slot
        return slot

    def ids(self, docs: Sequence[list[str]]) -> tuple[np.ndarray, np.ndarray]:
        flat, doc_tokens = _flatten(docs)
        ids, lengths, _ = self.gather(flat, doc_tokens)
        return ids, lengths

    def gather(self, flat: list[str], doc_tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(n-gram columns, how many per doc, each token's three codes) of docs given as their tokens
        concatenated and their token counts."""
        with self.lock:
            if len(self) > self.LIMIT:
                self._clear()
            slots = np.fromiter(map(self.__getitem__, flat), dtype=np.int64, count=len(flat))
            starts, lengths, grams = self.starts[slots], self.lengths[slots], self.grams
            codes = self.token_codes[slots]
        ends = np.cumsum(lengths)
        # Position k of token t reads grams[starts[t] + k]: one arange shifted token by token.
        where = np.arange(ends[-1] if len(ends) else 0) + np.repeat(starts - (ends - lengths), lengths)
        token_ends = np.concatenate(([0], ends))[np.cumsum(doc_tokens)]
        return grams[where], np.diff(np.concatenate(([0], token_ends))), codes


@dataclass(slots=True)
class FeatureConfig:
    """What the model looks at; chosen by cross-validation in classifiers.training."""

    words: bool = True
    bigrams: bool = True
    use_stems: bool = False
    word_min_df: int = 2
    chars: bool = True
    char_range: tuple[int, int] = (3, 5)
    char_min_df: int = 2
    # Char n-grams only of words that are not stop words (faster; punctuation is left to the word block).
    char_content_only: bool = False
    # Char n-grams of negated words get their own columns ("~" prefix), like NEG_ for words.
    char_neg: bool = False
    lexicon: bool = True
    # Relative weights of the blocks (each block is l2-normalised first).
    word_weight: float = 0.5
    char_weight: float = 1.0
    lexicon_weight: float = 1.0
    # Mean word vector of the content words (classifiers.wordvec), l2-normalised, times this weight.
    # Off by default: the abuse model shares these features and was chosen without it.
    vectors: bool = False
    vector_weight: float = 1.0

    def __setstate__(self, state: Any) -> None:
        """Models pickled before a field existed load with that field's default."""
        defaults = FeatureConfig()
        values = {item.name: getattr(defaults, item.name) for item in fields(self)}
        if isinstance(state, tuple):  # (instance dict, slot values), as pickle gives slotted objects
            state = {**(state[0] or {}), **(state[1] or {})}
        values.update(state)
        for name, value in values.items():
            setattr(self, name, value)


@dataclass
class SentimentFeatures:
    """Turns prepared texts into the sparse matrix the linear model reads: [words | chars | lexicon | vectors]."""

    config: FeatureConfig = field(default_factory=FeatureConfig)
    word_block: _TfIdfBlock | None = None
    char_block: _TfIdfBlock | None = None
    # How each word column reads for a person: its most frequent written form in the training texts.
    word_surfaces: list[str] = field(default_factory=list)
    # Which word-vector table the model was fitted with (the table is shipped apart, not in the model).
    vectors_digest: str = ""

    def _word_docs(self, prepared: Sequence[Prepared]) -> list[list[str]]:
        cfg = self.config
        return [word_keys(p, cfg.use_stems, cfg.bigrams) for p in prepared]

    def _char_docs(self, prepared: Sequence[Prepared]) -> list[list[str]]:
        cfg = self.config
        return [char_tokens(p, cfg.char_content_only, cfg.char_neg) for p in prepared]

    def fit(self, prepared: Sequence[Prepared]) -> SentimentFeatures:
        cfg = self.config
        if cfg.words:
            self.word_block = _TfIdfBlock(cfg.word_min_df).fit(self._word_docs(prepared))
            vocab = self.word_block.vocabulary
            seen: dict[str, Counter[str]] = {}
            for prep in prepared:
                for key, surface in _word_surfaces(prep, cfg.use_stems, cfg.bigrams):
                    if key in vocab:
                        seen.setdefault(key, Counter())[surface] += 1
            self.word_surfaces = [
                sys.intern(min(seen[name].items(), key=lambda item: (-item[1], item[0]))[0])
                for name in self.word_block.names
            ]
        if cfg.chars:
            low, high = cfg.char_range
            docs = [[g for t in doc for g in _char_ngrams(t, low, high)] for doc in self._char_docs(prepared)]
            self.char_block = _TfIdfBlock(cfg.char_min_df).fit(docs)
        self.vectors_digest = wordvec.load().digest if cfg.vectors else ""
        return self

    @property
    def n_word(self) -> int:
        return len(self.word_block.names) if self.word_block else 0

    @property
    def n_char(self) -> int:
        return len(self.char_block.names) if self.char_block else 0

    @property
    def n_lexicon(self) -> int:
        return len(LEXICON_FEATURES) if self.config.lexicon else 0

    @property
    def n_vector(self) -> int:
        return wordvec.load().dimensions if self.config.vectors else 0

    def transform(self, prepared: Sequence[Prepared], found: wordvec.Lookup | None = None) -> sp.csr_matrix:
        """The feature matrix of a batch, one row per text: [words | chars | lexicon | vectors]
        (`found`: the batch's word-vector lookup, when the caller already has it)."""
        return _joined(self.blocks(prepared, found))

    def blocks(self, prepared: Sequence[Prepared], found: wordvec.Lookup | None = None,
               hits: Sequence[list[tuple[int, float, int]]] | None = None) -> dict[str, Any]:
        """See blocks_and_lookup (this is its first half)."""
        return self.blocks_and_lookup(prepared, found, hits)[0]

    def blocks_and_lookup(self, prepared: Sequence[Prepared], found: wordvec.Lookup | None = None,
                          hits: Sequence[list[tuple[int, float, int]]] | None = None
                          ) -> tuple[dict[str, Any], wordvec.Lookup | None]:
        """transform()'s blocks by name, before they are joined, and the batch's word-vector lookup (None
        without vectors; `found`, `hits`: the lookup and each text's lexicon_hits, when the caller already
        has them). Words and chars are CSR matrices; the lexicon and vector blocks are
        dense arrays (every row has them), made sparse only by _joined: the model's scores are read from the
        blocks as they are (SentimentModel._proba_of)."""
        cfg = self.config
        blocks: dict[str, Any] = {}
        if (self.word_block is not None and self.char_block is not None and not cfg.use_stems
                and not cfg.char_content_only and not cfg.char_neg):
            # Both blocks read the folded tokens: one lookup per token gives its n-grams and its word
            # numbers (as it is and negated), instead of marking, flattening and looking up the words apart.
            low, high = cfg.char_range
            flat = list(chain.from_iterable(p.folded for p in prepared))
            n_tokens = np.fromiter(map(len, (p.folded for p in prepared)), dtype=np.int64, count=len(prepared))
            words = self.word_block.word_index()
            if cfg.vectors and words.vectors is None:  # the token table remembers word-vector rows too
                words.vectors = wordvec.load()
            gram_ids, gram_lengths, codes = self.char_block.char_ids_and_codes(flat, n_tokens, low, high,
                                                                               words.codes_of)
            negated = np.fromiter(chain.from_iterable(p.negated for p in prepared), dtype=bool, count=len(flat))
            ids, lengths = words.ids_of_codes(np.where(negated, codes[:, 1], codes[:, 0]), n_tokens, cfg.bigrams)
            if cfg.vectors and found is None:
                found = wordvec.Lookup.of(codes[:, 2], n_tokens, negated)
            blocks["words"] = self.word_block.matrix(ids, lengths, cfg.word_weight)
            blocks["chars"] = self.char_block.matrix(gram_ids, gram_lengths, cfg.char_weight)
        elif self.word_block is not None:
            docs = [_marked(p, cfg.use_stems) for p in prepared]
            ids, lengths = self.word_block.key_ids(docs, cfg.bigrams)
            blocks["words"] = self.word_block.matrix(ids, lengths, cfg.word_weight)
        if self.char_block is not None and "chars" not in blocks:
            low, high = cfg.char_range
            ids, lengths = self.char_block.char_ids(self._char_docs(prepared), low, high)
            blocks["chars"] = self.char_block.matrix(ids, lengths, cfg.char_weight)
        if cfg.lexicon:
            if hits is None:
                hits = [lexicon_hits(p) for p in prepared]
            blocks["lexicon"] = _lexicon_rows(prepared, hits) * cfg.lexicon_weight
        if cfg.vectors:
            if found is None:
                found = wordvec.load().lookup(prepared)
            blocks["vectors"] = wordvec.load().mean_vectors(prepared, found) * cfg.vector_weight
        return blocks, found


def _sparse(name: str, block: Any) -> sp.csr_matrix:
    """A block of SentimentFeatures.blocks() as the CSR matrix transform() has always given."""
    if name == "lexicon":
        return sp.csr_matrix(block)  # zeros left out
    if name == "vectors":  # every value kept, zeros too (sp.csr_matrix(dense) would scan for them)
        n_rows, width = block.shape
        return sp.csr_matrix((block.ravel(), np.tile(np.arange(width), n_rows),
                              np.arange(0, n_rows * width + 1, width)), shape=block.shape)
    return block


def _joined(blocks: dict[str, Any]) -> sp.csr_matrix:
    """The blocks side by side, in the order they were built."""
    parts = [_sparse(name, block) for name, block in blocks.items()]
    return sp.hstack(parts, format="csr") if len(parts) > 1 else parts[0].tocsr()


@lru_cache(maxsize=64)
def _dense_layout(n_rows: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """(indptr, indices) of a dense (n_rows × width) block read as CSR (read-only, shared)."""
    indptr = np.arange(0, n_rows * width + 1, width, dtype=np.int32)
    indices = np.tile(np.arange(width, dtype=np.int32), n_rows)
    indptr.flags.writeable = indices.flags.writeable = False
    return indptr, indices


def _block_arrays(blocks: dict[str, Any]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, int]]:
    """Each block as (indptr, indices, data, width), for LinearProba.decision_of_blocks."""
    out = []
    for block in blocks.values():
        if isinstance(block, np.ndarray):
            n_rows, width = block.shape
            out.append((*_dense_layout(n_rows, width), block.ravel(), width))
        else:
            out.append((block.indptr, block.indices, block.data, block.shape[1]))
    return out


def _nnz(blocks: dict[str, Any]) -> int:
    """Stored values of the joined matrix (see _sparse)."""
    return sum(int(np.count_nonzero(block)) if name == "lexicon" else block.size if name == "vectors"
               else block.nnz for name, block in blocks.items())


# _hit_terms' lists: 0 the positive hits, 1 the negative ones, 2 all, by lexicon sum.
_HIT_KINDS = {"lex:pos": 0, "lex:pos>neg": 0, "lex:neg": 1, "lex:neg>pos": 1, "lex:balance": 2}


def _hit_terms(prep: Prepared, hits: list[tuple[int, float, int]]) -> tuple[tuple[str, ...], ...]:
    """The readable terms that explain the positive, negative and all lexicon sums of a text: its hits as
    written, strongest first, each once; built at once (each hit written out once, not once per sum a row's
    candidates name)."""
    if len(hits) == 1:  # most texts with a hit: no order, no dedupe
        i, weight, length = hits[0]
        term = hit_text(prep, i, length)
        one = (term,) if _readable(term) else ()
        return (one, (), one) if weight > 0 else ((), one, one) if weight < 0 else ((), (), one)
    ordered = sorted(hits, key=lambda hit: -abs(hit[1]))
    readable = [(term, weight) for term, weight in
                [(hit_text(prep, i, length), weight) for i, weight, length in ordered] if _readable(term)]
    return (tuple(dict.fromkeys([term for term, weight in readable if weight > 0])),
            tuple(dict.fromkeys([term for term, weight in readable if weight < 0])),
            tuple(dict.fromkeys([term for term, _ in readable])))


@lru_cache(maxsize=50_000)
def _readable(term: str) -> bool:
    """Worth showing a person: has a letter, digit or emoji, is not only stop words, and holds no
    placeholder ("@user", "http": not words anyone wrote)."""
    words = term.replace("'", "' ").split()
    if any(w.removeprefix("NEG_") in _PLACEHOLDERS for w in words):
        return False
    return any(
        not is_stopword(fold(w.removeprefix("NEG_"))) and any(c.isalnum() or unicodedata.category(c) == "So" for c in w)
        for w in words
    )


# What text preparation puts in place of handles and links: not words anyone wrote.
_PLACEHOLDERS = frozenset({"@user", "http"})


def _explainable_columns(features: SentimentFeatures) -> np.ndarray:
    """Columns that can be shown to a person: readable word n-grams and the lexicon sums."""
    readable = [_readable(surface) for surface in features.word_surfaces]
    shown_lexicon = {"lex:pos", "lex:neg", "lex:balance", "lex:pos>neg", "lex:neg>pos"}
    lexicon = [name in shown_lexicon for name in LEXICON_FEATURES] if features.config.lexicon else []
    return np.array(readable + [False] * features.n_char + lexicon + [False] * features.n_vector, dtype=bool)


def _strongest_first(row_of: np.ndarray, strength: np.ndarray, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """The order np.lexsort((-strength, row_of)) gives (by row, strongest first, ties as they come) and the
    rank of each ordered entry within its row. Two stable argsorts like lexsort's, but the second is over
    small integers, where numpy sorts by radix (lexsort took ~100 ns per candidate here)."""
    order = np.argsort(-strength, kind="stable")
    small = np.int16 if n_rows <= np.iinfo(np.int16).max else np.int64
    order = order[np.argsort(row_of[order].astype(small), kind="stable")]
    counts = np.bincount(row_of, minlength=n_rows)
    starts = np.cumsum(counts) - counts
    return order, np.arange(len(order)) - starts[row_of[order]]


def _coef_of(estimator: Any) -> np.ndarray | None:
    """Linear weights (classes × columns) of a fitted estimator, calibrated wrappers included."""
    coef = getattr(estimator, "coef_", None)
    if coef is not None:
        coef = np.asarray(coef)
        return coef / (np.abs(coef).max() or 1.0)
    inner = [_coef_of(c.estimator) for c in getattr(estimator, "calibrated_classifiers_", [])]
    inner = [c for c in inner if c is not None]
    return np.mean(inner, axis=0) if inner else None


class SentimentModel:
    """The shipped sentiment classifier: features + a linear probabilistic model (or an average of them)."""

    def __init__(self, features: SentimentFeatures, estimators: list[Any], meta: dict[str, Any]) -> None:
        self.features = features
        self.estimators = estimators
        self.meta = meta
        self.labels = tuple(meta.get("labels", SENTIMENTS))
        # Per class, how much each column pushes towards it compared with the other classes.
        coefs = [coef for coef in (_coef_of(est) for est in estimators) if coef is not None]
        if coefs:
            coef = np.mean(coefs, axis=0)
            self._push = coef - coef.mean(axis=0, keepdims=True)
        else:
            self._push = None
        self._explainable = _explainable_columns(features)
        # Word columns whose surface no other column shares: a row made only of them needs no dedupe (_explain).
        shared = Counter(features.word_surfaces)
        self._surfaces = np.array(features.word_surfaces, dtype=object)
        self._plain_word = np.zeros(len(self._explainable), dtype=bool)
        self._plain_word[: features.n_word] = [shared[surface] == 1 for surface in features.word_surfaces]
        # Per column, which of _hit_terms' lists describes it (-1: none).
        self._lexicon_kinds = [-1] * len(self._explainable)
        if features.config.lexicon:
            start = features.n_word + features.n_char
            for offset, name in enumerate(LEXICON_FEATURES):
                self._lexicon_kinds[start + offset] = _HIT_KINDS.get(name, -1)
        # Per word-vector row, how much the word alone pushes towards each class (explains the vector block).
        self._word_push: np.ndarray | None = None
        if self._push is not None and features.config.vectors:
            start = features.n_word + features.n_char + features.n_lexicon
            block = self._push[:, start : start + features.n_vector]
            self._word_push = wordvec.load().table @ block.T.astype(np.float32)

    @classmethod
    def load(cls, path: Path | None = None) -> SentimentModel:
        """Load the model shipped in the package (or a retrained one); refuses files of another format."""
        import joblib

        from listener.errors import VigieError

        path = Path(path) if path is not None else DEFAULT_MODEL_PATH
        if not path.exists():
            raise VigieError(f"Modèle de sentiment introuvable : {path}. Lancez « vigie train » pour le créer.")
        payload = joblib.load(path)
        if payload.get("format") != MODEL_FORMAT:
            raise VigieError(f"Modèle de sentiment {path} : format {payload.get('format')!r} non pris en charge.")
        features = payload["features"]
        if features.config.vectors and features.vectors_digest != wordvec.load().digest:
            raise VigieError(f"Modèle de sentiment {path} : entraîné avec une autre table de vecteurs de mots "
                             f"que {wordvec.DEFAULT_TABLE.name}. Relancez « vigie train ».")
        return cls(features, payload["estimators"], payload["meta"])

    def save(self, path: Path) -> int:
        """Write the model (compressed, deterministic content); returns the file size in bytes."""
        import joblib

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Saved as plain weights, so that loading the model does not import scikit-learn (classifiers.linear).
        estimators = [LinearProba.of(estimator) for estimator in self.estimators]
        payload = {"format": MODEL_FORMAT, "features": self.features, "estimators": estimators,
                   "meta": self.meta}
        joblib.dump(payload, path, compress=("xz", 6))
        return path.stat().st_size

    def predict_proba(self, prepared: Sequence[Prepared]) -> np.ndarray:
        return self._proba(self.features.transform(prepared))

    def _proba(self, matrix: sp.csr_matrix) -> np.ndarray:
        probas = [est.predict_proba(matrix) for est in self.estimators]
        return np.mean(probas, axis=0) if len(probas) > 1 else probas[0]

    def _proba_of(self, blocks: dict[str, Any], n_rows: int) -> np.ndarray:
        """_proba() of the joined blocks; for one plain linear model (the shipped one), read from the
        blocks without joining them (the same floats: LinearProba.decision_of_blocks)."""
        if len(self.estimators) == 1 and isinstance(self.estimators[0], LinearProba):
            return self.estimators[0].predict_proba_of_blocks(_block_arrays(blocks), n_rows)
        return self._proba(_joined(blocks))

    def predict(self, prepared: list[Prepared]) -> list[tuple[str, float, dict[str, float], list[str]]]:
        """(label, its probability, {label: probability}, up to 5 readable terms pushing towards it)."""
        if not prepared:
            return []
        # Computed once per text: the lexicon block, the cues and the explanations all read them.
        hits = [lexicon_hits(p) for p in prepared]
        blocks, found = self.features.blocks_and_lookup(prepared, None, hits)
        proba = self._proba_of(blocks, len(prepared))
        cue_terms = self._apply_cues(prepared, proba, hits)
        best = proba.argmax(axis=1)
        explained = self._explain(prepared, blocks, best, found, hits) if _nnz(blocks) else [[] for _ in prepared]
        for i, terms in cue_terms.items():
            explained[i] = list(dict.fromkeys(terms + explained[i]))[:5]
        labels = self.labels
        return [
            (labels[k], row[k], dict(zip(labels, row, strict=True)), terms)
            for k, row, terms in zip(best.tolist(), proba.tolist(), explained, strict=True)
        ]

    def _apply_cues(self, prepared: Sequence[Prepared], proba: np.ndarray,
                    hits: Sequence[list[tuple[int, float, int]]]) -> dict[int, list[str]]:
        """Long posts scored by their sentences, irony, information questions (classifiers.sentiment_cues),
        in place on `proba`; returns the words that fired, by text index (`hits`: each text's lexicon_hits)."""
        if tuple(self.labels) != tuple(SENTIMENTS):
            return {}
        pieces = cues.long_text_pieces(prepared)
        if pieces:
            flat = [p for _, parts in pieces for p in parts]
            part_proba = self._proba_of(self.features.blocks(flat), len(flat))
            start = 0
            for i, parts in pieces:
                proba[i] = cues.combine_sentences(proba[i], part_proba[start : start + len(parts)])
                start += len(parts)
        fired: dict[int, list[str]] = {}
        for i, prep in enumerate(prepared):
            if not cues.may_have_cue(prep):
                continue
            markers = cues.irony_markers(prep, hits[i])
            if markers:
                proba[i] = cues.turn_irony(proba[i])
                fired[i] = markers
            elif cues.is_information_question(prep, hits[i]):
                proba[i] = cues.make_neutral(proba[i])
                words = [t for t in prep.tokens if t not in ("@user", "http")]
                opener = " ".join(words[:2]) if words[0] in ("à", "a", "au") and len(words) > 1 else words[0]
                fired[i] = [opener + " … ?"]
        return fired

    def _candidates(self, blocks: dict[str, Any], best: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(row, column, contribution) of the explainable entries pushing towards each row's label, in
        column order within a row. Only the word and lexicon blocks can explain: the char and vector
        blocks, nine entries in ten, are not even looked at."""
        assert self._push is not None
        features = self.features
        starts = {"words": 0, "lexicon": features.n_word + features.n_char}
        parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        for name, start in starts.items():
            block = blocks.get(name)
            if block is None:
                continue
            if isinstance(block, np.ndarray):  # dense: its zeros contribute 0, and are dropped below
                n_rows, width = block.shape
                row_of = np.repeat(np.arange(n_rows), width)
                cols = np.tile(np.arange(start, start + width), n_rows)
                data = block.ravel()
            else:
                row_of = np.repeat(np.arange(block.shape[0]), np.diff(block.indptr))
                cols = block.indices + start
                data = block.data
            contrib = data * self._push[best[row_of], cols]
            keep = (contrib > 0) & self._explainable[cols]
            parts.append((row_of[keep], cols[keep], contrib[keep]))
        if not parts:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, np.zeros(0)
        row_of, cols, contrib = (np.concatenate(column) for column in zip(*parts, strict=True))
        return row_of, cols, contrib

    def _explain(self, prepared: Sequence[Prepared], blocks: dict[str, Any], best: np.ndarray,
                 found: wordvec.Lookup | None = None, hits: Sequence[list[tuple[int, float, int]]] | None = None
                 ) -> list[list[str]]:
        """Per text, the readable features whose weight × value pushes most towards the chosen label."""
        out: list[list[str]] = [[] for _ in prepared]
        if self._push is None:
            return out
        features = self.features
        row_of, cols, contrib = self._candidates(blocks, best)
        # By row, strongest first; stable (word columns before lexicon ones on ties), so deterministic.
        # Only the 7 strongest candidates of each row are looked at (5 terms are kept).
        order, rank = _strongest_first(row_of, contrib, len(prepared))
        top = rank < 7
        order, rank = order[top], rank[top]
        row_of, cols = row_of[order], cols[order]
        # A row whose 7 are all word columns of a surface of their own has for terms its first 5 surfaces:
        # taken in numpy. The others (a lexicon sum to describe, a surface two columns share) go one by one.
        slow_row = np.zeros(len(prepared), dtype=bool)
        slow_row[row_of[~self._plain_word[cols]]] = True
        slow = slow_row[row_of]
        fast = ~slow & (rank < 5)
        fast_rows = row_of[fast]
        if len(fast_rows):
            words = self._surfaces[cols[fast]].tolist()
            cuts = (np.flatnonzero(fast_rows[1:] != fast_rows[:-1]) + 1).tolist()
            for row, first, last in zip(fast_rows[[0, *cuts]].tolist(), [0, *cuts], [*cuts, len(words)],
                                        strict=True):
                out[row] = words[first:last]
        n_word = features.n_word
        surfaces = features.word_surfaces
        lexicon_kinds = self._lexicon_kinds
        last_row = -1
        described: tuple[tuple[str, ...], ...] = ()
        for row, col in zip(row_of[slow].tolist(), cols[slow].tolist(), strict=True):
            terms = out[row]
            if len(terms) >= 5:
                continue
            if col < n_word:  # readable by construction (see _explainable_columns)
                term = surfaces[col]
                if term not in terms:
                    terms.append(term)
                continue
            kind = lexicon_kinds[col]
            if kind < 0:  # not a lexicon sum that names words: nothing to describe
                continue
            if row != last_row:
                last_row = row
                prep = prepared[row]
                described = _hit_terms(prep, hits[row] if hits is not None else lexicon_hits(prep))
            for term in described[kind]:
                if term not in terms:
                    terms.append(term)
            del terms[5:]
        if self._word_push is not None and found is not None:
            self._explain_vectors(prepared, best, found, out)
        return out

    def _explain_vectors(self, prepared: Sequence[Prepared], best: np.ndarray, found: wordvec.Lookup,
                         out: list[list[str]]) -> None:
        """Adds, after the n-gram terms, the words whose vectors push towards the label (« exécrable »
        when no training tweet had it); vectorised, only the 3 strongest of each text are looked at."""
        assert self._word_push is not None
        row_of = np.repeat(np.arange(len(prepared)), np.diff(found.indptr))
        push = self._word_push[found.rows, best[row_of]]
        room = np.fromiter(map(len, out), dtype=np.int64, count=len(out)) < 5  # rows still short of 5 terms
        keep = (push > 0) & room[row_of]
        row_of, push, positions = row_of[keep], push[keep], found.positions[keep]
        order, rank = _strongest_first(row_of, push, len(prepared))
        order = order[rank < 3]
        for row, position in zip(row_of[order].tolist(), positions[order].tolist(), strict=True):
            terms = out[row]
            if len(terms) < 5:
                term = prepared[row].tokens[position]
                if term not in terms and _readable(term):
                    terms.append(term)
