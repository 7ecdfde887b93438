"""A fitted logistic regression reduced to its weights, for run time.

Why: the shipped models were pickled scikit-learn estimators, so loading them imported scikit-learn, and
scikit-learn imports scipy.stats on start-up: about 2 s of every `vigie classify` and daemon start. The
weights are all prediction needs; scikit-learn stays a training-time dependency (`vigie train`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def _private_matvecs() -> Any:
    """scipy's private csr_matvecs (the routine behind CSR @ dense; it adds into the output it is given),
    if it still is what decision_of_blocks assumes: checked once on a small product against the public
    one. None otherwise (a scipy that moved or changed it): decision_of_blocks then joins the blocks."""
    try:
        import scipy.sparse as sp
        from scipy.sparse._sparsetools import csr_matvecs

        matrix = sp.random(6, 9, density=0.4, format="csr", random_state=3)
        weights = np.random.default_rng(3).standard_normal((9, 3))
        out = np.zeros((6, 3))
        csr_matvecs(6, 9, 3, matrix.indptr, matrix.indices, matrix.data, weights.ravel(), out.ravel())
        return csr_matvecs if np.array_equal(out, matrix @ weights) else None
    except Exception:  # noqa: BLE001 - any surprise means: do not use it
        return None


_csr_matvecs = _private_matvecs()

# One block of a sparse matrix's columns, in CSR form: (indptr, indices, data, width).
Block = tuple[np.ndarray, np.ndarray, np.ndarray, int]


class LinearProba:
    """Weights, intercepts and classes of a logistic regression; `predict_proba` gives the same
    probabilities as scikit-learn's (sigmoid for two classes, softmax for more)."""

    __slots__ = ("coef_", "intercept_", "classes_", "_by_column")

    def __init__(self, coef: np.ndarray, intercept: np.ndarray, classes: np.ndarray) -> None:
        self.coef_ = np.asarray(coef, dtype=np.float64)
        self.intercept_ = np.asarray(intercept, dtype=np.float64)
        self.classes_ = np.asarray(classes)
        self._by_column: np.ndarray | None = None

    @classmethod
    def of(cls, estimator: Any) -> Any:
        """The run-time form of a fitted scikit-learn LogisticRegression; any other estimator (calibrated
        SVM, SGD: their probabilities are not a plain sigmoid/softmax) is returned as it is."""
        if type(estimator).__name__ != "LogisticRegression":
            return estimator
        return cls(estimator.coef_, estimator.intercept_, estimator.classes_)

    def __getstate__(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.coef_, self.intercept_, self.classes_

    def __setstate__(self, state: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
        self.coef_, self.intercept_, self.classes_ = state
        self._by_column = None

    def decision_function(self, matrix: Any) -> np.ndarray:
        scores = np.asarray(matrix @ self.coef_.T) + self.intercept_
        return scores.ravel() if scores.shape[1] == 1 else scores

    def decision_of_blocks(self, blocks: Sequence[Block], n_rows: int) -> np.ndarray:
        """decision_function() of the matrix whose columns are `blocks` side by side, bit for bit, without
        building it (scipy's hstack of a batch cost more than the product itself).

        Why the same floats: scipy's CSR @ dense adds each row's entries one at a time, in their order, into
        a row of zeros (csr_matvecs), and a row of the joined matrix is the blocks' rows one after the other.
        Here the same routine adds each block's entries into the row the previous blocks left. Explicit zeros
        in a block (dense blocks are passed whole) add nothing: y + 0.0 == y, and a -0.0 left by them only
        meets the intercept, to the same sum."""
        by_column = self._by_column
        if by_column is None:  # (columns × classes), C order: the layout the routine reads
            by_column = self._by_column = np.ascontiguousarray(self.coef_.T)
        n_classes = by_column.shape[1]
        if sum(block[3] for block in blocks) != by_column.shape[0]:
            raise ValueError(f"blocks of {sum(block[3] for block in blocks)} columns for a model of "
                             f"{by_column.shape[0]}")
        if _csr_matvecs is None:
            import scipy.sparse as sp

            joined = sp.hstack([sp.csr_matrix((data, indices, indptr), shape=(n_rows, width))
                                for indptr, indices, data, width in blocks], format="csr")
            return self.decision_function(joined)
        scores = np.zeros((n_rows, n_classes), dtype=np.float64)
        flat = scores.ravel()
        start = 0
        for indptr, indices, data, width in blocks:
            if indptr.dtype != indices.dtype:
                indptr, indices = indptr.astype(np.int64), indices.astype(np.int64)
            _csr_matvecs(n_rows, width, n_classes, indptr, indices, np.asarray(data, dtype=np.float64),
                         by_column[start : start + width].ravel(), flat)
            start += width
        scores += self.intercept_
        return scores.ravel() if n_classes == 1 else scores

    def predict_proba(self, matrix: Any) -> np.ndarray:
        return self.proba_of_scores(self.decision_function(matrix))

    def predict_proba_of_blocks(self, blocks: Sequence[Block], n_rows: int) -> np.ndarray:
        """predict_proba() of the blocks side by side (see decision_of_blocks)."""
        return self.proba_of_scores(self.decision_of_blocks(blocks, n_rows))

    @staticmethod
    def proba_of_scores(scores: np.ndarray) -> np.ndarray:
        """Probabilities from decision scores (a 1-d array: two classes)."""
        if scores.ndim == 1:
            positive = np.exp(-np.logaddexp(0.0, -scores))  # the sigmoid, without overflow warnings
            return np.column_stack([1.0 - positive, positive])
        scores = scores - scores.max(axis=1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=1, keepdims=True)
        return scores
