"""Text folding: the one form keys, hashtags and lexicon entries are compared in.

Floor 0 (see tests/test_architecture_layers.py): it imports nothing from Vigie, so every area (the
classifiers, the pipeline's counters, the rules' filters, the digest) can fold text the same way
without depending on one another.
"""

from __future__ import annotations

import re
import unicodedata

HASHTAG_RE = re.compile(r"(?<![\w&])#(\w{2,64})", re.UNICODE)


def _fold_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for code in range(0xC0, 0x250):
        char = chr(code)
        base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
        if base != char:
            table[code] = base.lower()
    table.update({ord("œ"): "oe", ord("Œ"): "oe", ord("æ"): "ae", ord("Æ"): "ae", ord("’"): "'"})
    return table


_FOLD = _fold_table()
_COMBINING_RE = re.compile("[\u0300-\u036f]")


def _strip_marks(lowered: str) -> str:
    """Decompose, drop the combining accents, recompose: C-speed, unlike str.translate with a dict."""
    return unicodedata.normalize("NFC", _COMBINING_RE.sub("", unicodedata.normalize("NFD", lowered)))


# Latin letters that lose more than an accent (ligatures such as "ĳ", "ǆ", "ŀ"): the table handles them.
_RARE_RE = re.compile(
    "[" + "".join(chr(code) for code, base in _FOLD.items() if _strip_marks(chr(code).lower()) != base) + "]"
)


def fold(text: str) -> str:
    """Lower-case and strip accents: the form keys are compared in (#Grève and #greve are one key)."""
    lowered = text.lower()
    if lowered.isascii():
        return lowered
    folded = _strip_marks(lowered)
    return folded.translate(_FOLD) if _RARE_RE.search(folded) else folded


def hashtags(text: str) -> list[str]:
    """Distinct hashtags of a text, folded, without '#'."""
    return folded_hashtags(fold(text))


def folded_hashtags(folded: str) -> list[str]:
    """Distinct hashtags of an already folded text (counting folds each mention once)."""
    return list(dict.fromkeys(HASHTAG_RE.findall(folded)))


def ascii_fold(text: str) -> str:
    """Fast lower-case ASCII skeleton for matching Latin-script keywords (drops emoji and other scripts)."""
    lowered = text.lower()
    if lowered.isascii():
        return lowered
    lowered = lowered.replace("œ", "oe").replace("æ", "ae").replace("’", "'")
    return unicodedata.normalize("NFD", lowered).encode("ascii", "ignore").decode("ascii")
