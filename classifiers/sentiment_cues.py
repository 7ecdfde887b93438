"""Cues the linear sentiment model cannot learn from 1,800 tweets: irony, neutral information questions,
and long posts, whose sentences are scored one by one.

Why rules on top of the model: UMSAB has almost no ironic praise (« merci pour rien ») and its questions
are mostly complaints, so the model reads « À quelle heure ouvre la piscine ? » as negative. The cues
are few, explainable (they name the words that fired) and cost nothing on texts without them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np

from classifiers.text import Prepared, prepare_many

# Indices in SENTIMENTS order: negative, neutral, positive.
NEG, NEU, POS = 0, 1, 2

IRONY_TAGS = frozenset({"#ironie", "#ironique", "#sarcasme", "#sarcastique", "#irony", "#sarcasm"})
# 🙄 eye roll, 🙃 upside-down face, 😒 unamused, 😏 smirk: they say "I do not mean it".
IRONY_EMOJI = frozenset({"🙄", "🙃", "😒", "😏"})
# Praise that irony turns round (folded forms).
PRAISE = frozenset({"bravo", "merci", "super", "genial", "geniale", "top", "chapeau", "felicitations", "parfait",
                    "parfaite", "formidable", "magnifique", "excellent", "excellente", "genialissime", "sympa",
                    "bien", "belle", "beau"})
# "… again": the praise is followed by a complaint about something recurring.
_AGAIN = frozenset({"encore", "toujours", "re", "comme"})
_QUOTE_OPEN = frozenset({"«", '"', "“"})
_QUOTE_CLOSE = frozenset({"»", '"', "”"})
# Praise for nothing: « merci pour rien », « bravo pour rien », « merci du cadeau ».
_FOR_NOTHING = (("pour", "rien"), ("du", "cadeau"))

# A text can only carry an irony cue if it holds one of these (a set test keeps the other texts free).
IRONY_TRIGGERS = IRONY_TAGS | IRONY_EMOJI | PRAISE

# A question asking for information starts with one of these (folded) and carries no polar word.
_QUESTION_OPENERS = frozenset({"quand", "ou", "comment", "combien", "quel", "quelle", "quels", "quelles", "qui",
                               "est-ce", "lequel", "laquelle", "a", "au", "y", "peut-on", "sait-on", "savez-vous",
                               "pouvez-vous", "connaissez-vous", "existe-t-il", "faut-il", "doit-on", "est-il",
                               "sont-ils", "bonjour", "salut", "svp"})
_SKIP_START = frozenset({"@user", "http", ",", ":"})

# Long posts: split when a text has at least this many tokens and two sentences.
LONG_TEXT_TOKENS = 35
_SENTENCE_END_RE = re.compile(r"(?<=[.!?…])\s+(?=\S)|\n+")
# Share of the whole-text prediction kept when a long post is scored by its sentences.
WHOLE_TEXT_SHARE = 0.3

LexiconHits = Callable[[Prepared], list[tuple[int, float, int]]]


def may_have_cue(prep: Prepared) -> bool:
    """Cheap gate: only texts ending with "?" or holding an irony trigger are looked at further."""
    folded = prep.folded
    return bool(folded) and (folded[-1] in ("?", "??") or not IRONY_TRIGGERS.isdisjoint(folded))


def irony_markers(prep: Prepared, hits: list[tuple[int, float, int]]) -> list[str]:
    """The words that mark this text as ironic, as written; [] when none.

    Markers: an irony hashtag (#ironie), an eye-roll emoji (🙄), praise for nothing (« merci pour
    rien »), praise in scare quotes (« super »), praise followed by "encore"/"toujours" in a text that
    also says something negative (« Bravo… encore en retard »).
    """
    folded, tokens = prep.folded, prep.tokens
    found: list[str] = []
    for i, word in enumerate(folded):
        if word in IRONY_TAGS or word in IRONY_EMOJI:
            found.append(tokens[i])
    negative = any(weight < 0 for _, weight, _ in hits)
    n = len(folded)
    for i, word in enumerate(folded):
        if word not in PRAISE:
            continue
        after = folded[i + 1 : i + 3]
        if word in ("merci", "bravo", "felicitations") and tuple(after) in _FOR_NOTHING:
            found.append(" ".join(tokens[i : i + 3]))
        elif 0 < i < n - 1 and folded[i - 1] in _QUOTE_OPEN and folded[i + 1] in _QUOTE_CLOSE:
            found.append(f"{tokens[i - 1]} {tokens[i]} {tokens[i + 1]}")
        elif negative and any(w in _AGAIN for w in folded[i + 1 : i + 4]):
            found.append(tokens[i])
    return list(dict.fromkeys(found))


def is_information_question(prep: Prepared, hits: list[tuple[int, float, int]]) -> bool:
    """« À quelle heure ouvre la piscine ? »: ends with "?", opens with a question word, no polar word,
    no negation, no emoji. "Pourquoi" questions are left to the model: they are mostly complaints."""
    folded = prep.folded
    if not folded or folded[-1] not in ("?", "??") or hits or any(prep.negated):
        return False
    if folded.count("?") + folded.count("??") > 1 or "!" in folded or "!!" in folded:
        return False
    words = [w for w in folded if w not in _SKIP_START]
    if not words or words[0] not in _QUESTION_OPENERS:
        return False
    # No emoji or emoticon (they carry a mood); letters, digits, apostrophes and plain punctuation only.
    return all(w[0].isalnum() or w[0] in "@#'-?.,:;()" for w in folded)


def sentences(text: str) -> list[str]:
    """Sentences of a text, split after . ! ? … and at line breaks; empty pieces dropped."""
    return [part for part in (p.strip() for p in _SENTENCE_END_RE.split(text)) if part]


def combine_sentences(whole: np.ndarray, parts: np.ndarray) -> np.ndarray:
    """One distribution for a long post from its sentences' distributions.

    Each sentence weighs (1 - P(neutral))²: a clearly negative sentence among four neutral ones
    decides the post (its length does not drown it), while a post of neutral sentences stays
    neutral. The whole-text prediction keeps a 30 % share."""
    weights = (1.0 - parts[:, NEU]) ** 2 + 1e-3
    by_sentence = (weights[:, None] * parts).sum(axis=0) / weights.sum()
    return WHOLE_TEXT_SHARE * whole + (1.0 - WHOLE_TEXT_SHARE) * by_sentence


def long_text_pieces(prepared: Sequence[Prepared]) -> list[tuple[int, list[Prepared]]]:
    """(index, prepared sentences) of every text long enough to be scored by its sentences."""
    out: list[tuple[int, list[Prepared]]] = []
    for i, prep in enumerate(prepared):
        if len(prep.tokens) < LONG_TEXT_TOKENS:
            continue
        parts = sentences(prep.text)
        if len(parts) >= 2:
            pieces = [p for p in prepare_many(parts) if p.tokens]
            if len(pieces) >= 2:
                out.append((i, pieces))
    return out


def turn_irony(row: np.ndarray) -> np.ndarray:
    """Ironic praise is a complaint: the positive share goes to negative, and so does half of the neutral
    share (a marked praise word is a stance, not information: « Génial, encore 2h de bus #ironie »)."""
    out = row.copy()
    out[NEG] += out[POS] + 0.5 * out[NEU]
    out[NEU] *= 0.5
    out[POS] = 0.0
    return out


def make_neutral(row: np.ndarray) -> np.ndarray:
    """Half of the mass moves to neutral, which then wins (≥ 0.5)."""
    out = 0.5 * row
    out[NEU] += 0.5
    return out
