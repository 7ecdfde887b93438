"""Text folding: the one form keys, hashtags and lexicon entries are compared in.

Floor 0 (see tests/test_architecture_layers.py): it imports nothing from Vigie, so every area (the
classifiers, the pipeline's counters, the rules' filters, the digest) can fold text the same way
without depending on one another.
"""

from __future__ import annotations

import re
import unicodedata

# A "#" not preceded by a word character or "&" (an HTML entity), then 2 to 64 word characters. The
# lookbehind comes after the "#" so the regex engine jumps from "#" to "#" instead of trying every position.
HASHTAG_RE = re.compile(r"#(?<![\w&]#)(\w{2,64})", re.UNICODE)


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


def _fold_lowered(lowered: str) -> str:
    """The general fold of a lower-cased text: any script, combining marks included."""
    folded = _strip_marks(lowered)
    return folded.translate(_FOLD) if _RARE_RE.search(folded) else folded


# The fast path, for the texts that are Latin-1 once "’", "œ" and "æ" are spelt out (over nine French
# posts in ten): without a combining mark in the text, folding is character by character, so one bytes
# table gives exactly what `_fold_lowered` gives (tests/test_textfold.py compares the two).
_SPELT_OUT = (("\u2019", "'"), ("œ", "oe"), ("æ", "ae"))


def _latin1_table() -> bytes:
    table = bytearray()
    for code in range(256):
        char = chr(code)
        # "æ" is spelt out before the table is used (and "Æ" is lower-cased away).
        table += (char if char in "æÆ" else _fold_lowered(char)).encode("latin-1")
    if len(table) != 256:
        raise AssertionError("a Latin-1 character folds to more than one character")
    return bytes(table)


_LATIN1 = _latin1_table()


def fold(text: str) -> str:
    """Lower-case and strip accents: the form keys are compared in (#Grève and #greve are one key)."""
    lowered = text.lower()
    if lowered.isascii():
        return lowered
    spelt = lowered
    for char, letters in _SPELT_OUT:
        if char in spelt:
            spelt = spelt.replace(char, letters)
    try:
        return spelt.encode("latin-1").translate(_LATIN1).decode("latin-1")
    except UnicodeEncodeError:
        return _fold_lowered(lowered)


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
