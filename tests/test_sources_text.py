"""Helpers shared by the collectors: HTML to text, keyword matching, rate-limit headers, raw trimming."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from listener.sources.http import quota_exhausted, rate_limit_delay
from listener.sources.text import Matcher, html_to_text, trim_raw


def test_html_to_text_is_safe_and_keeps_french_text():
    markup = ('<p>L&#39;&eacute;cole &amp; la cr&egrave;che<br/>ferment&nbsp;!</p><p><a href="https://x.fr/tags/greve" '
              'class="mention hashtag">#<span>Grève</span></a></p><script>alert("x")</script><style>p{}</style>'
              '<a href="https://example.com/page"><span class="invisible">https://</span><span class="ellipsis">'
              'example.com/pa</span><span class="invisible">ge</span></a>')
    assert html_to_text(markup) == "L'école & la crèche\nferment !\n\n#Grève\n\nhttps://example.com/page"
    assert html_to_text("<p>unclosed <b>bold") == "unclosed bold"
    assert html_to_text("texte brut") == "texte brut"
    assert html_to_text(None) == ""


def test_matcher_ignores_accents_and_case_and_respects_word_boundaries():
    matcher = Matcher(["Rivebelle", "grève", "mairie"], ["TramRivebelle"])
    assert matcher.match("GREVE à la Mairie de rivebelle") == ["grève", "mairie", "Rivebelle"]
    assert matcher.match("Les mairies et #tramrivebelle") == ["#TramRivebelle"]
    assert matcher.match("rien", tags=["tramrivebelle"]) == ["#TramRivebelle"]
    assert matcher.match("Rivebelleoise") == []
    assert Matcher().empty


def test_rate_limit_headers_of_each_api():
    now = 1_800_000_000.0
    assert rate_limit_delay({"Retry-After": "7"}, now=now) == 7
    eight = datetime(2027, 1, 15, 8, 0, tzinfo=UTC).timestamp()
    assert rate_limit_delay({"Retry-After": "Fri, 15 Jan 2027 08:00:10 GMT"}, now=eight) == 10
    # Mastodon: ISO time; Bluesky: epoch seconds; Reddit: seconds from now.
    assert rate_limit_delay({"X-RateLimit-Reset": "2027-01-15T08:00:30.000Z"}, now=eight) == 30
    assert rate_limit_delay({"RateLimit-Reset": str(int(now) + 12)}, now=now) == 12
    assert rate_limit_delay({"X-RateLimit-Reset": "42"}, now=now) == 42
    assert rate_limit_delay({}, now=now) is None
    assert rate_limit_delay({"Retry-After": "n'importe quoi"}, now=now) is None
    from multidict import CIMultiDict, CIMultiDictProxy

    assert quota_exhausted(CIMultiDictProxy(CIMultiDict({"x-ratelimit-remaining": "0.0"})))
    assert not quota_exhausted(CIMultiDictProxy(CIMultiDict({"ratelimit-remaining": "12"})))


def test_trim_raw_bounds_huge_payloads():
    raw = {"content": "x" * 100_000, "tags": list(range(500)), "id": "1"}
    trimmed = trim_raw(raw, 5_000)
    assert len(json.dumps(trimmed)) <= 5_000 and trimmed["_trimmed"] > 100_000 and trimmed["id"] == "1"
    small = {"id": "1"}
    assert trim_raw(small, 5_000) is small
