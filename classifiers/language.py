"""A small, fast language guess for short posts, from function words (no model to download).

Sources that report a language (Mastodon, Bluesky) are trusted; this is for RSS, Reddit and ingest.
"""

from __future__ import annotations

import re

_WORD_RE = re.compile(r"[a-zà-ÿœæ']+", re.IGNORECASE)

_FUNCTION_WORDS = {
    "fr": set(
        ["le", "la", "les", "un", "une", "des", "du", "de", "et", "est", "sont", "pas", "ne", "au", "aux", "ce", "cette", "ces", "qui", "que", "quoi", "pour", "dans", "sur", "avec", "il", "elle", "ils", "elles", "nous", "vous", "je", "tu", "on", "mais", "ou", "donc", "car", "très", "plus", "être", "avoir", "fait", "été", "c'est", "j'ai", "ça", "sa", "son", "ses", "leur", "leurs", "mes", "tes", "nos", "vos", "y", "en", "à", "où", "même", "aussi", "encore", "déjà", "rien", "tout", "toute", "tous"]
    ),
    "en": set(
        ["the", "a", "an", "and", "is", "are", "not", "no", "of", "to", "in", "on", "for", "with", "it", "this", "that", "these", "those", "was", "were", "be", "been", "have", "has", "i", "you", "he", "she", "we", "they", "my", "your", "our", "their", "but", "or", "so", "very", "more", "just", "what", "which", "who", "all", "from", "at", "by"]
    ),
    "es": set(["el", "la", "los", "las", "un", "una", "y", "es", "son", "no", "de", "del", "en", "por", "para", "con", "que", "muy", "pero", "como", "esta", "este"]),
    "de": set(["der", "die", "das", "und", "ist", "sind", "nicht", "ein", "eine", "mit", "von", "zu", "auf", "für", "ich", "du", "wir", "sie", "es", "auch", "aber"]),
    "it": set(["il", "lo", "la", "gli", "le", "un", "una", "e", "è", "sono", "non", "di", "del", "della", "per", "con", "che", "molto", "ma", "come", "questo"]),
}


def detect_language(text: str, default: str = "fr") -> str:
    """Best guess among a few languages; ties and empty texts fall back to `default`."""
    words = [word.lower() for word in _WORD_RE.findall(text)]
    if not words:
        return default
    scores = {lang: sum(1 for word in words if word in vocab) for lang, vocab in _FUNCTION_WORDS.items()}
    best = max(scores, key=lambda lang: (scores[lang], lang == default))
    if scores[best] == 0 or scores[best] == scores.get(default, 0):
        return default
    return best
