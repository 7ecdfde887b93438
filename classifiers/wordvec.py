"""French word vectors at run time: the mean vector of a text's content words, for the sentiment model.

The table (classifiers/data/wordvec_fr.npz, CC0 fastText vectors of spaCy's fr_core_news_md, 100 d,
float16; see classifiers/wordvec_build.py and classifiers/data/wordvec_fr.md) is read with numpy only.
Why a mean of vectors: it carries the polarity of words the training tweets never had. Unknown words
(typos, names) simply add nothing.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable, Sequence
from functools import lru_cache
from itertools import chain, compress, repeat
from pathlib import Path
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from classifiers.text import NEGATORS, STOPWORDS, Prepared

DEFAULT_TABLE = Path(__file__).with_name("data") / "wordvec_fr.npz"
KNOWN_LIMIT = 100_000  # words remembered between batches (~10 MiB); the everyday vocabulary fits
_HASH_SLICE = 20_000
_UNSEEN = -2  # a word the bounded memo of rows does not hold (-1: held, not in the table)


class WordVectors:
    """Folded word → row of a (rows × dimensions) float32 table.

    Why not a dict of the 351,626 words: as Python objects it costs ~105 MiB of every process that classifies.
    The words are kept as a sorted array of their hashes (2.8 MB) and a batch's unknown-to-us words are
    looked up in it at once (numpy searchsorted); the words met lately are remembered in a bounded dict, so
    the everyday vocabulary costs one dict lookup as before. A word absent from the table whose 64-bit hash
    equals a table word's would take its vector: about 1 chance in 5·10^13 per word (and two table words
    sharing a hash, 1 in 3·10^8 per start, would share a row)."""

    __slots__ = ("_hashes", "_rows", "_known", "table", "digest")

    def __init__(self, hashes: np.ndarray, rows: np.ndarray, table: np.ndarray, digest: str) -> None:
        order = np.argsort(hashes, kind="stable")
        self._hashes = hashes[order]  # fancy indexing copies: contiguous already
        self._rows = rows[order].astype(np.int64, copy=False)
        self._known: dict[str, int] = {}  # -1: not in the table
        self.table = table
        self.digest = digest

    @property
    def dimensions(self) -> int:
        return int(self.table.shape[1])

    def __len__(self) -> int:
        return len(self._hashes)

    def row_of(self, word: str) -> int | None:
        """The table row of one folded word (None: not in the table)."""
        known = self._known
        row = known[word] if word in known else self._remember({word}, [word])[word]
        return row if row >= 0 else None

    def _remember(self, batch: Iterable[str], unseen: list[str]) -> dict[str, int]:
        """`known` with the rows of a batch's `unseen` words found in the sorted hashes. Past KNOWN_LIMIT
        words, a fresh dict keeps only this batch's (a thread still holding the old one reads it unchanged)."""
        known = self._known
        if len(known) + len(unseen) > KNOWN_LIMIT:
            known = {word: known[word] for word in batch if word in known}
            self._known = known
        known.update(zip(unseen, self._table_rows(unseen).tolist(), strict=True))
        return known

    def _table_rows(self, words: list[str]) -> np.ndarray:
        """The table rows of words, -1 for those not in it, found in the sorted hashes."""
        hashes = _hashes_of(words)
        at = np.minimum(np.searchsorted(self._hashes, hashes), len(self._hashes) - 1)
        return np.where(self._hashes[at] == hashes, self._rows[at], -1)

    def lookup(self, prepared: Sequence[Prepared]) -> Lookup:
        """The vector rows of each text's content words: (rows, where each text starts, token positions).

        Words inside a negation scope are left out: « aucun problème » is not about a problem (CV on UMSAB
        train: left out 67.8, kept 68.2, sign flipped 67.9: alike, and leaving them out keeps negation right).
        Stop words and negators are not in the table (removed at load): "le", "de" would pull every text
        alike, and "aucun" alone reads negative."""
        # The whole batch in a few C-level passes: every token's row (-1: none), kept unless negated.
        folded = list(chain.from_iterable(prep.folded for prep in prepared))
        lengths = np.fromiter(map(len, (prep.folded for prep in prepared)), dtype=np.int64, count=len(prepared))
        rows = np.fromiter(map(self._known.get, folded, repeat(_UNSEEN)), dtype=np.int64, count=len(folded))
        missing = rows == _UNSEEN
        if missing.any():  # words not met lately: looked up in the table, then read again
            unseen = list(dict.fromkeys(compress(folded, missing.tolist())))
            known = self._remember(folded, unseen)
            rows[missing] = np.fromiter(map(known.__getitem__, compress(folded, missing.tolist())),
                                        dtype=np.int64, count=int(missing.sum()))
        negated = np.fromiter(chain.from_iterable(prep.negated for prep in prepared), dtype=bool, count=len(folded))
        return Lookup.of(rows, lengths, negated)

    def find(self, word: str) -> int:
        """The table row of one folded word, -1 when it is not in the table; for callers that remember the
        answer themselves (nothing is added to the memo of rows)."""
        row = self._known.get(word)
        return row if row is not None else int(self._table_rows([word])[0])

    def mean_vectors(self, prepared: Sequence[Prepared], found: Lookup | None = None) -> np.ndarray:
        """One l2-normalised row per text: the mean vector of its content words (zeros when none known).

        Vectorised: the word lookups build a sparse (texts × rows) count matrix, multiplied by the table."""
        found = found if found is not None else self.lookup(prepared)
        counts = sp.csr_matrix(
            (np.ones(len(found.rows), dtype=np.float32), found.rows, found.indptr),
            shape=(len(prepared), self.table.shape[0]),
        )
        means = np.asarray(counts @ self.table, dtype=np.float64)
        norms = np.sqrt(np.einsum("ij,ij->i", means, means))
        norms[norms == 0] = 1.0
        return means / norms[:, None]


class Lookup(NamedTuple):
    """Vector rows of a batch's content words, concatenated; text i owns rows[indptr[i]:indptr[i + 1]],
    found at token `positions` of its text."""

    rows: np.ndarray
    indptr: np.ndarray
    positions: np.ndarray

    @classmethod
    def of(cls, rows: np.ndarray, lengths: np.ndarray, negated: np.ndarray) -> Lookup:
        """From every token's row (-1: none), the texts' token counts and the tokens' negation marks."""
        keep = (rows >= 0) & ~negated
        owner = np.repeat(np.arange(len(lengths)), lengths)[keep]
        starts = np.concatenate(([0], np.cumsum(lengths)))
        indptr = np.concatenate(([0], np.cumsum(np.bincount(owner, minlength=len(lengths)))))
        return cls(rows[keep], indptr, np.flatnonzero(keep) - starts[owner])


def _hashes_of(words: list[str]) -> np.ndarray:
    """64-bit hashes of words, of their UTF-8 bytes: str hashes read the internal code units, so « ❤ »
    (one 2-byte unit) and « d' » (two 1-byte units) share one (seen here)."""
    return np.fromiter(map(hash, map(str.encode, words)), dtype=np.int64, count=len(words))


def load(path: Path | None = None) -> WordVectors:
    """The table shipped in the package (cached: every model shares one copy)."""
    return _load(Path(path) if path is not None else DEFAULT_TABLE)


@lru_cache(maxsize=4)
def _load(path: Path) -> WordVectors:
    raw = path.read_bytes()
    with np.load(io.BytesIO(raw), allow_pickle=False) as archive:  # one read serves the digest and the table
        blob = archive["words"]
        rows = archive["rows"].astype(np.int64)
        table = archive["vectors"].astype(np.float32)
    skip = STOPWORDS | NEGATORS  # negation is the sparse features' job (NEG_ words, lexicon flips)
    # Words are hashed a slice at a time, so the 351,626 strings never all exist at once (peak memory).
    ends = np.flatnonzero(blob == ord("\n"))
    starts = np.concatenate(([0], ends + 1))
    ends = np.concatenate((ends, [len(blob)]))
    if len(starts) != len(rows):
        raise ValueError(f"{path}: {len(starts)} words for {len(rows)} rows")
    hashes = np.empty(len(rows), dtype=np.int64)
    keep = np.ones(len(rows), dtype=bool)
    data = blob.tobytes()
    for first in range(0, len(rows), _HASH_SLICE):
        last = min(first + _HASH_SLICE, len(rows))
        words = data[starts[first]:ends[last - 1]].decode("utf-8").split("\n")
        hashes[first:last] = _hashes_of(words)
        keep[first:last] = [word not in skip for word in words]
    return WordVectors(hashes[keep], rows[keep], table, hashlib.sha256(raw).hexdigest()[:16])
