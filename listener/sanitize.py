"""Neutralising untrusted text before it reaches a log line, a terminal or a layout engine.

Post text, ids and handles come from anyone on the internet. Three things in them are dangerous
when shown as they are: a newline forges a second log line, an ESC sequence drives the operator's
terminal (colours, cursor moves, window title), and a bidi override (U+202E) makes a text read
backwards. `neutralise` makes each of them visible instead of active; the stored text is never
changed (it is evidence), only what is shown.
"""

from __future__ import annotations

import re

# C0 and C1 control characters except tab, DEL, and the bidi embedding / override / isolate controls.
_BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
_CONTROL = re.compile(f"[\x00-\x08\x0a-\x1f\x7f-\x9f{_BIDI}\u2028\u2029]")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    return {"\n": "\\n", "\r": "\\r"}.get(char, f"\\u{ord(char):04x}")


def neutralise(text: object, *, keep_newlines: bool = False) -> str:
    """Control characters and bidi controls become visible escapes (`\\n`, `\\u001b`, `\\u202e`).

    `keep_newlines` keeps line breaks where several lines are wanted (a post shown in a terminal);
    a log line never keeps them.
    """
    value = text if isinstance(text, str) else str(text)
    if keep_newlines:
        value = "\n".join(_CONTROL.sub(_escape, line) for line in value.split("\n"))
    else:
        value = _CONTROL.sub(_escape, value)
    return _LONE_SURROGATE.sub("\ufffd", value)


def has_control(text: str) -> bool:
    """True when a string holds a control or bidi character (never acceptable in an id)."""
    return _CONTROL.search(text) is not None


def without_lone_surrogates(text: str) -> str:
    """Lone surrogates (a `\\ud800` escape in JSON) cannot be stored as UTF-8: U+FFFD instead."""
    # isascii() is a flag read in CPython: most ids, urls and handles skip the regex.
    if text.isascii() or _LONE_SURROGATE.search(text) is None:
        return text
    return _LONE_SURROGATE.sub("\ufffd", text)


def has_lone_surrogate(text: str) -> bool:
    return not text.isascii() and _LONE_SURROGATE.search(text) is not None
