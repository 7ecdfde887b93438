"""Text helpers shared by the collectors: HTML to plain text, keyword/hashtag matching, raw trimming.

HTML from APIs and feeds is untrusted: it is only ever tokenised by the standard library's
`html.parser`, never evaluated or rendered, and entities (&eacute;, &#233;, &amp;) become characters.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from typing import Any

from listener.textfold import fold

_BLOCK_TAGS = {"p", "div", "li", "ul", "ol", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "pre"}
_SKIP_TAGS = {"script", "style", "template", "head", "title"}


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self.skip_depth += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self.skip_depth = max(0, self.skip_depth - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self.skip_depth:
            self.parts.append(data)


_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")


def html_to_text(markup: str | None) -> str:
    """Plain text of an HTML fragment: tags dropped, entities decoded, paragraphs kept as blank lines."""
    if not markup:
        return ""
    if "<" not in markup and "&" not in markup:
        return markup.strip()
    parser = _TextExtractor()
    try:
        parser.feed(markup)
        parser.close()
    except Exception:  # html.parser is lenient; this is a last resort for pathological input
        return re.sub(r"<[^>]*>", " ", markup).strip()
    text = "".join(parser.parts)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    text = "\n".join(lines)
    return _BLANK_LINES.sub("\n\n", text).strip()


class Matcher:
    """Which configured keywords and hashtags a text contains, accents and case ignored.

    Keywords match on word boundaries ("tram" does not match "tramway"... unless configured so);
    hashtags match `#tag` in the text or in the post's own tag list. One compiled regex per kind
    keeps the per-post cost low (the Jetstream source runs it on the whole network's posts).
    """

    def __init__(self, keywords: list[str] | tuple[str, ...] = (), hashtags: list[str] | tuple[str, ...] = ()) -> None:
        self.keywords = {fold(k).strip(): k for k in keywords if k.strip()}
        self.hashtags = {fold(h).lstrip("#").strip(): h for h in hashtags if h.strip("# ")}
        self._keyword_re = (
            re.compile(r"(?<!\w)(" + "|".join(re.escape(k) for k in sorted(self.keywords, key=len, reverse=True)) + r")(?!\w)")
            if self.keywords
            else None
        )
        self._hashtag_re = (
            re.compile(r"#(" + "|".join(re.escape(h) for h in sorted(self.hashtags, key=len, reverse=True)) + r")(?!\w)")
            if self.hashtags
            else None
        )

    @property
    def empty(self) -> bool:
        return not self.keywords and not self.hashtags

    def match(self, text: str, tags: list[str] | tuple[str, ...] = ()) -> list[str]:
        """Matched terms as configured (hashtags with their '#'); empty if nothing matched."""
        folded = fold(text)
        found: dict[str, None] = {}
        if self._hashtag_re is not None:
            for tag in tags:
                key = fold(tag).lstrip("#")
                if key in self.hashtags:
                    found["#" + self.hashtags[key].lstrip("#")] = None
            if "#" in folded:
                for key in self._hashtag_re.findall(folded):
                    found["#" + self.hashtags[key].lstrip("#")] = None
        if self._keyword_re is not None:
            for key in self._keyword_re.findall(folded):
                found[self.keywords[key]] = None
        return list(found)


def trim_raw(raw: dict[str, Any], max_chars: int) -> dict[str, Any]:
    """Keep a payload for audit but bound its size: long strings are cut, then whole keys dropped."""
    try:
        size = len(json.dumps(raw, ensure_ascii=False, default=str))
    except (TypeError, ValueError):
        return {"_unserialisable": True}
    if size <= max_chars:
        return raw
    limit = max(200, max_chars // 8)

    def cut(value: Any) -> Any:
        if isinstance(value, str) and len(value) > limit:
            return value[:limit] + "…"
        if isinstance(value, dict):
            return {k: cut(v) for k, v in value.items()}
        if isinstance(value, list):
            return [cut(v) for v in value[:50]]
        return value

    trimmed = cut(raw)
    trimmed["_trimmed"] = size
    if len(json.dumps(trimmed, ensure_ascii=False, default=str)) > max_chars:
        return {"_trimmed": size, "keys": sorted(raw)[:50]}
    return trimmed
