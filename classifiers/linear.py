"""A fitted logistic regression reduced to its weights, for run time.

Why: the shipped models were pickled scikit-learn estimators, so loading them imported scikit-learn, and
scikit-learn imports scipy.stats on start-up: about 2 s of every `vigie classify` and daemon start. The
weights are all prediction needs; scikit-learn stays a training-time dependency (`vigie train`).
"""

from __future__ import annotations

from typing import Any

import numpy as np


class LinearProba:
    """Weights, intercepts and classes of a logistic regression; `predict_proba` gives the same
    probabilities as scikit-learn's (sigmoid for two classes, softmax for more)."""

    __slots__ = ("coef_", "intercept_", "classes_")

    def __init__(self, coef: np.ndarray, intercept: np.ndarray, classes: np.ndarray) -> None:
        self.coef_ = np.asarray(coef, dtype=np.float64)
        self.intercept_ = np.asarray(intercept, dtype=np.float64)
        self.classes_ = np.asarray(classes)

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

    def decision_function(self, matrix: Any) -> np.ndarray:
        scores = np.asarray(matrix @ self.coef_.T) + self.intercept_
        return scores.ravel() if scores.shape[1] == 1 else scores

    def predict_proba(self, matrix: Any) -> np.ndarray:
        scores = self.decision_function(matrix)
        if scores.ndim == 1:
            positive = np.exp(-np.logaddexp(0.0, -scores))  # the sigmoid, without overflow warnings
            return np.column_stack([1.0 - positive, positive])
        scores = scores - scores.max(axis=1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=1, keepdims=True)
        return scores
