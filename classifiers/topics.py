"""Multi-label topics from the configured taxonomy, plus a model learned from the team's own labels.

Why both: seed terms (ClassifierSettings.topics) work from day one and explain themselves
("embouteillages" → transport); a one-vs-rest LogisticRegression fitted on the mentions the team
labelled with `vigie label` catches what the seed list misses ("le T2 encore à l'arrêt"). The model is
only fitted for topics with at least `topic_model_min_labels` labelled mentions, and the stack keeps a
topic when either source reaches `topic_threshold` (the score shown is the higher of the two).

Lexicon score: 1 - 0.4^n for n distinct seed terms found (one term 0.6, two 0.84, three 0.94).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from classifiers.lexicon import Entry, PhraseLexicon, View
from classifiers.types import Label

if TYPE_CHECKING:
    from classifiers.settings import ClassifierSettings

log = logging.getLogger(__name__)

DEFAULT_MODEL = Path(__file__).with_name("models") / "topics.joblib"
MODEL_FILE = "topics.joblib"
_N_FEATURES = 2**16
# How many explaining words a model-only topic shows.
_MODEL_TERMS = 3


_SCORES = [round(1.0 - 0.4**n, 3) for n in range(12)]


def lexicon_score(n_terms: int) -> float:
    return _SCORES[n_terms] if n_terms < len(_SCORES) else 1.0


class TopicLexicon:
    """Seed terms of every topic, one phrase matcher for all of them."""

    def __init__(self, topics: list[Any]) -> None:
        self.names = [topic.name for topic in topics]
        self.labels = {topic.name: topic.label or topic.name for topic in topics}
        self.lexicon = PhraseLexicon(Entry(term, topic.name) for topic in topics for term in topic.terms)

    def hits(self, view: View) -> dict[str, list[str]]:
        """Topic → distinct matched terms as written (negated matches count: "pas de bus" is transport)."""
        found: dict[str, dict[str, None]] = {}
        for match in self.lexicon.match(view):
            found.setdefault(match.entry.group, {})[match.surface] = None
        return {topic: list(terms) for topic, terms in found.items()}


def _model_text(view: View) -> str:
    return " ".join(view.stems)


def _hasher() -> Any:
    from sklearn.feature_extraction.text import HashingVectorizer

    return HashingVectorizer(
        token_pattern=r"\S+", lowercase=False, ngram_range=(1, 2), n_features=_N_FEATURES,
        alternate_sign=False, norm="l2",
    )


def _features(model: dict[str, Any], views: list[View], hits: list[dict[str, list[str]]]) -> Any:
    from scipy.sparse import csr_matrix, hstack

    hashed = _hasher().transform([_model_text(view) for view in views])
    names = model["seed_topics"]
    seed = csr_matrix([[min(len(h.get(name, ())), 3) / 3.0 for name in names] for h in hits])
    return hstack([hashed, seed]).tocsr()


class TopicClassifier:
    """Seed-term topics, combined with the learned model when one is loaded."""

    def __init__(self, lexicon: TopicLexicon, *, threshold: float = 0.5, model: dict[str, Any] | None = None):
        self.lexicon = lexicon
        self.threshold = threshold
        self.model = model if model and model.get("seed_topics") == lexicon.names else None
        if model is not None and self.model is None:
            log.warning("topic model ignored: it was trained for another taxonomy")

    @classmethod
    def load(cls, settings: ClassifierSettings) -> TopicClassifier:
        lexicon = TopicLexicon(settings.topics)
        path = Path(settings.model_dir) / MODEL_FILE if settings.model_dir else DEFAULT_MODEL
        model = None
        if path.exists() and lexicon.names:
            import joblib

            model = joblib.load(path)
        return cls(lexicon, threshold=settings.topic_threshold, model=model)

    def classify_many(self, views: list[View]) -> list[list[Label]]:
        hits = [self.lexicon.hits(view) for view in views]
        if self.model is None:  # the common case, kept lean: most mentions have 0 or 1 topic
            threshold = self.threshold
            results: list[list[Label]] = []
            for h in hits:
                if not h:
                    results.append([])
                    continue
                labels = [Label(topic, lexicon_score(len(found)), found) for topic, found in h.items()]
                if len(labels) > 1:
                    labels.sort(key=lambda label: -label.score)
                results.append([label for label in labels if label.score >= threshold])
            return results
        scores: list[dict[str, float]] = [
            {topic: lexicon_score(len(terms)) for topic, terms in h.items()} for h in hits
        ]
        terms: list[dict[str, list[str]]] = [dict(h) for h in hits]
        self._add_model(views, hits, scores, terms)
        results = []
        for score, term in zip(scores, terms, strict=True):
            labels = [
                Label(topic, round(value, 3), term.get(topic, []))
                for topic, value in score.items()
                if value >= self.threshold
            ]
            labels.sort(key=lambda label: -label.score)
            results.append(labels)
        return results

    def _add_model(self, views: list[View], hits: list, scores: list, terms: list) -> None:
        model = self.model
        assert model is not None
        matrix = _features(model, views, hits)
        for topic, learner in model["classifiers"].items():
            probas = learner.predict_proba(matrix)[:, 1]
            for i, proba in enumerate(probas):
                if proba <= scores[i].get(topic, 0.0):
                    continue
                scores[i][topic] = float(proba)
                if proba >= self.threshold and not terms[i].get(topic):
                    terms[i][topic] = _explain(model, topic, views[i])


def _explain(model: dict[str, Any], topic: str, view: View) -> list[str]:
    """Words of the text with the largest positive weights for this topic (model-only explanations)."""
    weights = model["word_weights"][topic]
    ranked = sorted(
        {(weights.get(stem, 0.0), view.prepared.tokens[pos]) for stem, pos in zip(view.stems, view.positions,
                                                                                strict=True)},
        reverse=True,
    )
    return [token for weight, token in ranked[:_MODEL_TERMS] if weight > 0]


# --------------------------------------------------------------------------- training


def labelled_mentions(store: Any) -> list[tuple[str, list[str]]]:
    """(text, topics) of every labelled mention still in the store."""
    rows = store.conn.execute(
        "SELECT m.text, t.topics FROM topic_labels t JOIN mentions m ON m.id = t.mention_id ORDER BY t.mention_id"
    ).fetchall()
    return [(text, json.loads(topics)) for text, topics in rows]


def train_topics(store: Any, out: Path | None, settings: ClassifierSettings) -> dict[str, Any]:
    """Fit one LogisticRegression per topic with ≥ topic_model_min_labels positive labels; save to `out`.

    Returns what was done: labelled count, positives per topic, topics trained. Nothing is written when
    no topic has enough labels.
    """
    from sklearn.linear_model import LogisticRegression

    from classifiers.text import prepare

    lexicon = TopicLexicon(settings.topics)
    rows = labelled_mentions(store)
    positives = {name: sum(name in topics for _, topics in rows) for name in lexicon.names}
    summary: dict[str, Any] = {"labelled": len(rows), "positives": positives, "trained": [], "path": None}
    eligible = [
        name for name, n in positives.items()
        if n >= settings.topic_model_min_labels and len(rows) - n >= 1
    ]
    if not eligible:
        return summary
    views = [View(prepare(text)) for text, _ in rows]
    hits = [lexicon.hits(view) for view in views]
    model: dict[str, Any] = {"seed_topics": lexicon.names, "classifiers": {}, "word_weights": {}}
    matrix = _features(model, views, hits)
    vocabulary = sorted({stem for view in views for stem in view.stems})
    columns = _hasher().transform(vocabulary)  # one row per stem: its hashed column
    for name in eligible:
        target = [int(name in topics) for _, topics in rows]
        learner = LogisticRegression(C=2.0, class_weight="balanced", max_iter=2000)
        learner.fit(matrix, target)
        model["classifiers"][name] = learner
        coef = learner.coef_[0]
        weights: dict[str, float] = {}
        for row, stem in enumerate(vocabulary):
            start, end = columns.indptr[row], columns.indptr[row + 1]
            if end > start:
                weight = float(coef[columns.indices[start]])
                if weight > 0:
                    weights[stem] = round(weight, 4)
        model["word_weights"][name] = weights
    path = Path(out) if out else (
        Path(settings.model_dir) / MODEL_FILE if settings.model_dir else DEFAULT_MODEL
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    import joblib

    joblib.dump(model, path, compress=3)
    summary["trained"] = eligible
    summary["path"] = str(path)
    return summary
