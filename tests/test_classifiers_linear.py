"""The shipped models load without scikit-learn (it costs ~2 s of start-up) and give scikit-learn's
probabilities."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression

from classifiers.linear import LinearProba


def test_plain_weights_give_the_same_probabilities_as_scikit_learn():
    rng = np.random.default_rng(7)
    matrix = sp.random(200, 40, density=0.2, format="csr", random_state=7)
    for classes in (2, 3):
        labels = rng.integers(0, classes, size=200)
        fitted = LogisticRegression(max_iter=500).fit(matrix, labels)
        reduced = LinearProba.of(fitted)
        assert np.allclose(reduced.predict_proba(matrix), fitted.predict_proba(matrix), atol=1e-12)
        assert np.allclose(reduced.predict_proba(matrix).sum(axis=1), 1.0)
    huge = sp.csr_matrix(np.full((1, 40), 1e6))  # no overflow: a certain answer, not NaN
    assert np.isfinite(reduced.predict_proba(huge)).all()


def test_other_estimators_are_kept_as_they_are():
    from sklearn.linear_model import SGDClassifier

    sgd = SGDClassifier()
    assert LinearProba.of(sgd) is sgd


def test_loading_the_classifier_stack_does_not_import_scikit_learn():
    code = ("import sys\nfrom classifiers.stack import ClassifierStack\n"
            "stack = ClassifierStack.load()\n"
            "assert stack.sentiment is not None and stack.hostility is not None\n"
            "print(sorted(m for m in ('sklearn', 'scipy.stats', 'nltk') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr


def test_scores_read_block_by_block_are_the_joined_matrix_scores_bit_for_bit():
    rng = np.random.default_rng(3)
    sparse = [sp.random(300, width, density=0.1, format="csr", random_state=seed)
              for seed, width in ((1, 50), (2, 80))]
    dense = rng.normal(size=(300, 10)) * (rng.random((300, 10)) < 0.5)  # explicit zeros too
    dense[::7] = 0.0
    joined = sp.hstack([*sparse, sp.csr_matrix(dense)], format="csr")
    blocks = [(m.indptr, m.indices, m.data, m.shape[1]) for m in sparse]
    blocks.append((np.arange(0, 300 * 10 + 1, 10, dtype=np.int32), np.tile(np.arange(10, dtype=np.int32), 300),
                   dense.ravel(), 10))
    for classes in (1, 3):
        model = LinearProba(rng.normal(size=(classes, 140)), rng.normal(size=classes), np.arange(max(classes, 2)))
        assert np.array_equal(model.decision_of_blocks(blocks, 300), model.decision_function(joined))
        assert np.array_equal(model.predict_proba_of_blocks(blocks, 300), model.predict_proba(joined))
