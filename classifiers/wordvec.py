"""French word vectors at run time: the mean vector of a text's content words, for the sentiment model.

The table (classifiers/data/wordvec_fr.npz, CC0 fastText vectors of spaCy's fr_core_news_md, 100 d,
float16; see classifiers/wordvec_build.py and classifiers/data/wordvec_fr.md) is read with numpy only.
Why a mean of vectors: it carries the polarity of words the training tweets never had. Unknown words
(typos, names) simply add nothing.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from classifiers.text import NEGATORS, STOPWORDS, Prepared

DEFAULT_TABLE = Path(__file__).with_name("data") / "wordvec_fr.npz"


class WordVectors:
    """Folded word → row of a (rows × dimensions) float32 table."""

    __slots__ = ("index", "table", "digest")

    def __init__(self, index: dict[str, int], table: np.ndarray, digest: str) -> None:
        self.index = index
        self.table = table
        self.digest = digest

    @property
    def dimensions(self) -> int:
        return int(self.table.shape[1])

    def lookup(self, prepared: Sequence[Prepared]) -> Lookup:
        """The vector rows of each text's content words: (rows, where each text starts, token positions).

        Words inside a negation scope are left out: « aucun problème » is not about a problem (CV on UMSAB
        train: left out 67.8, kept 68.2, sign flipped 67.9: alike, and leaving them out keeps negation right).
        Stop words and negators are not in `index` (removed at load): "le", "de" would pull every text
        alike, and "aucun" alone reads negative."""
        get = self.index.get
        cols: list[int] = []
        positions: list[int] = []
        indptr = [0]
        for prep in prepared:
            rows = list(map(get, prep.folded))
            negated = prep.negated
            if True in negated:
                found = [i for i, row in enumerate(rows) if row is not None and not negated[i]]
            else:
                found = [i for i, row in enumerate(rows) if row is not None]
            cols.extend([rows[i] for i in found])
            positions.extend(found)
            indptr.append(len(cols))
        return Lookup(np.asarray(cols, dtype=np.int64), np.asarray(indptr, dtype=np.int64),
                      np.asarray(positions, dtype=np.int64))

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


def load(path: Path | None = None) -> WordVectors:
    """The table shipped in the package (cached: every model shares one copy)."""
    return _load(Path(path) if path is not None else DEFAULT_TABLE)


@lru_cache(maxsize=4)
def _load(path: Path) -> WordVectors:
    raw = path.read_bytes()
    with np.load(io.BytesIO(raw), allow_pickle=False) as archive:  # one read serves the digest and the table
        words = archive["words"].tobytes().decode("utf-8").split("\n")
        rows = archive["rows"].tolist()
        table = archive["vectors"].astype(np.float32)
    skip = STOPWORDS | NEGATORS  # negation is the sparse features' job (NEG_ words, lexicon flips)
    index = {word: row for word, row in zip(words, rows, strict=True) if word not in skip}
    return WordVectors(index, table, hashlib.sha256(raw).hexdigest()[:16])
