"""French tweet preparation shared by every classifier: tokens, folded forms, stems, negation scope.

Why a compiled regex rather than nltk's TweetTokenizer: the whole classifier stack must handle
≥ 10,000 mentions/s on one core; one ``re.findall`` over the lower-cased text is several times faster
than TweetTokenizer (measured: see ``bench_prepare`` below) and lets us handle French elision directly.

Conventions (what downstream features can rely on):
- tokens are lower-cased, accents kept; ``’`` is normalised to ``'``; HTML entities are unescaped.
- handles (``@foo``, ``@foo@instance.social``) become ``@user``; links (``https://…``, ``www.…``, and
  the bare ``http`` left by anonymised corpora) become ``http``.
- elongations are squeezed to two repeats (``troooop`` → ``troop``, ``!!!!`` → ``!!``); ``...`` → ``…``.
- French elision splits *and keeps* the elided word with its apostrophe: ``l'eau`` → ``l'``, ``eau``;
  ``n'est`` → ``n'``, ``est`` (``n'`` is a negator). ``aujourd'hui`` stays one token.
- hyphenated words stay one token (``peut-être``, ``ho-chi-minh-ville``).
- emoji are tokens (variation selectors and skin tones removed); emoticons (``:)``, ``<3``) too.
- hashtags are kept (``#grèvesncf``) and followed by their words when the original casing or digits
  show boundaries (``#GrèveSNCF`` → ``#grèvesncf``, ``grève``, ``sncf``).
"""

from __future__ import annotations

import html
import re
import threading
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any, NamedTuple

import Stemmer

from listener.textfold import fold

__all__ = [
    "NEGATORS",
    "STOPWORDS",
    "Prepared",
    "is_stopword",
    "prepare",
    "prepare_many",
    "stem",
]


@dataclass(slots=True)
class Prepared:
    """One text, tokenised once and shared by sentiment, topics, crisis and hostility."""

    text: str
    tokens: list[str]
    folded: list[str]
    stems: list[str]
    negated: list[bool]
    hashtags: list[str]


def _load_stopwords() -> frozenset[str]:
    raw = resources.files("classifiers").joinpath("data/stopwords_fr.txt").read_text(encoding="utf-8")
    words = (line.strip() for line in raw.splitlines())
    return frozenset(fold(word) for word in words if word and not word.startswith("#"))


STOPWORDS: frozenset[str] = _load_stopwords()


def is_stopword(folded_token: str) -> bool:
    """True for function words that carry no topic or polarity (negators are *not* stop words)."""
    return folded_token in STOPWORDS


# Folded negators. "plus" and "personne" are ambiguous, see _opens_scope.
NEGATORS: frozenset[str] = frozenset(
    {"ne", "n'", "pas", "plus", "jamais", "rien", "aucun", "aucune", "sans", "personne", "ni"}
)
# Words that close a negation scope like punctuation does ("pas cher mais nul").
_SCOPE_BREAKERS = frozenset({"mais", "car", "donc", "pourtant", "cependant", "sinon", "alors"})
_MAX_SCOPE_CONTENT = 3
# "plus"/"personne" are not negators in "le plus", "plus de", "plus que", "une personne".
_PLUS_NOT_NEG_BEFORE = frozenset({"le", "la", "les", "de", "du", "des", "au", "aux", "en", "un", "une", "et"})
_PLUS_NOT_NEG_AFTER = frozenset({"que", "qu'", "de", "d'", "en", "ou", "et", "grand", "grande", "grands",
                                 "grandes", "haut", "haute", "fort", "forte", "tard", "tot", "loin", "gros"})
_PERSONNE_NOT_NEG_BEFORE = frozenset({"la", "une", "les", "des", "cette", "chaque", "toute", "de",
                                      "quelle", "meme", "seule", "aucune", "par", "en"})

_EMOJI = r"[\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF\u2300-\u23FF]"
# Order matters and is tuned for speed (plain words first after links): one findall per text.
_TOKEN_RE = re.compile(
    r"(?:https?://|www?\.)\S+"  # links ("www." is "ww." once elongations are squeezed)
    r"|aujourd'hui|quelqu'une?"  # apostrophes inside a word
    r"|[^\W\d_]+(?:-[^\W\d_]+)*(?:'(?=[^\W\d_])|\w*)"  # words, hyphenated words, elided "l'"
    r"|@\w+(?:@[\w.-]*\w)?"  # handles, incl. fediverse @user@instance
    r"|#\w+"  # hashtags
    r"|\d+(?:[.,:]\d+)*\w*%?"  # numbers, times (2h30), ordinals, percentages
    r"|(?:<3|[<>]?[:;=8][-o*']?[()\[\]dpo/\\|*])(?!\w)"  # emoticons (text is lower-cased)
    r"|\.{2,}|…|[!?]+"  # ellipsis, bursts
    r"|" + _EMOJI + r"(?:\u200d" + _EMOJI + r")*"  # emoji, with ZWJ sequences
    r"|\S",  # any other symbol
)
# Three or more of the same character; a callback keeps digits (a plain class regex is 4x slower).
_ELONGATED_RE = re.compile(r"(.)\1\1+")
_EMOJI_NOISE_RE = re.compile("[\ufe0e\ufe0f\U0001F3FB-\U0001F3FF]")
_HASHTAG_RE = re.compile(r"#(\w+)")
# Camel-case / digit boundaries of a hashtag in its original casing: SNCFGrève → SNCF, Grève.
_UP = "A-ZÀ-ÖØ-ÞŒ"
_LOW = "a-zß-öø-ÿœ"
_HASHTAG_PART_RE = re.compile(rf"[{_UP}]+(?=[{_UP}][{_LOW}])|[{_UP}]?[{_LOW}]+|[{_UP}]+|\d+|[^\W\d_]+")
_PUNCT_START = frozenset(".,;:!?…()[]{}\"«»—–/|")

# Snowball's French algorithm through PyStemmer (libstemmer in C): 8x faster than nltk's pure-Python
# FrenchStemmer, and importing it does not import nltk (whose __init__ pulls scipy.stats: ~3 s of start-up).
# A Stemmer object is not thread-safe, so each thread gets its own.
_stemmers = threading.local()


def _stemmer() -> Stemmer.Stemmer:
    stemmer = getattr(_stemmers, "french", None)
    if stemmer is None:
        stemmer = _stemmers.french = Stemmer.Stemmer("french", 0)  # no internal cache: stem() has one
    return stemmer


def _snowball(folded_token: str) -> str:
    """Snowball stem of a plain word; other tokens (#tags, @user, emoji, punctuation) stay as they are."""
    if folded_token.isalpha() and len(folded_token) > 2:
        return _stemmer().stemWord(folded_token)
    return folded_token


def _hashtag_parts(tag: str) -> list[str]:
    """Words of a hashtag, from its original casing and digits; [] when no boundary is visible."""
    parts = _HASHTAG_PART_RE.findall(tag)
    if len(parts) < 2:
        return []
    return [part.lower() for part in parts]


def _normalise_chunk(chunk: str) -> str:
    """One whitespace-free piece of a text in the form the tokenizer reads (HTML entities are unescaped
    before the text is cut: « &nbsp; » is whitespace)."""
    if not chunk.isascii():
        # Composed accents: "a" + U+0300 and "à" must be one token, the same token.
        chunk = unicodedata.normalize("NFC", chunk).replace("’", "'")
        if _EMOJI_NOISE_RE.search(chunk):
            chunk = _EMOJI_NOISE_RE.sub("", chunk)
    return _ELONGATED_RE.sub(_squeeze, chunk)


def _squeeze(match: re.Match[str]) -> str:
    """troooop → troop, !!!! → !!; digit runs (1000) stay as they are."""
    char = match.group(1)
    return match.group(0) if char.isdigit() else char + char


class Memo(dict):
    """A bounded memo of a pure function of one string, read with ``map(memo.__getitem__, keys)`` at C
    speed (a miss calls the function once). Why: the same words come back in every batch, and a dict
    lookup is several times cheaper than tokenising, folding or stemming them again. A miss empties it
    first when it is full: a long-running daemon sees new words forever. Keys longer than MAX_KEY
    characters (a megabyte without a space) are computed every time, never held."""

    __slots__ = ("function", "limit")
    MAX_KEY = 200

    def __init__(self, function: Callable[[str], Any], limit: int) -> None:
        super().__init__()
        self.function = function
        self.limit = limit

    def __missing__(self, key: str) -> Any:
        if len(key) > self.MAX_KEY:
            return self.function(key)
        if len(self) >= self.limit:
            self.clear()
        value = self[key] = self.function(key)
        return value


def _chunk_tokens(chunk: str) -> tuple[str, ...]:
    """Tokens of one normalised, lower-cased, whitespace-free piece of text, handles and links replaced."""
    out: list[str] = []
    append = out.append
    for token in _TOKEN_RE.findall(chunk):
        first = token[0]
        if first == "@" and len(token) > 1:
            append("@user")
        elif first == "h" and token.startswith("http") or first == "w" and token.startswith("ww."):
            append("http")
        elif first == ".":
            append("…" if len(token) > 1 else token)
        else:
            append(token)
    return tuple(out)


def _is_tag(token: str) -> bool:
    return token[0] == "#" and len(token) > 1


class _Tags(NamedTuple):
    """The hashtags of one chunk: what joining it with the other chunks of its text needs."""

    plain: tuple[str, ...]  # the chunk's tokens without the hashtags' words
    split: dict[str, list[str]]  # "#tag" (lower-cased) → its words, read in the chunk's own casing
    folded: tuple[str, ...]  # the folded hashtags, in order
    keys: frozenset[str]  # every "#tag" the chunk holds or splits


def _with_words(tokens: tuple[str, ...], split: dict[str, list[str]]) -> list[str]:
    """Tokens with each hashtag followed by its words."""
    out: list[str] = []
    for token in tokens:
        out.append(token)
        if _is_tag(token):
            parts = split.get(token)
            if parts:
                out.extend(parts)
    return out


def _read_chunk(raw: str) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], _Tags | None]:
    """(tokens, folded, stems, hashtags) of one whitespace-free piece of a text: everything the tokenizer,
    the folding and the stemmer can say of it without its neighbours (the negation scope crosses pieces)."""
    chunk = _normalise_chunk(raw)
    tokens = _chunk_tokens(chunk.lower())
    tags = None
    if "#" in chunk:
        split: dict[str, list[str]] = {}
        for tag in _HASHTAG_RE.findall(chunk):
            parts = _hashtag_parts(tag)
            if parts:
                split["#" + tag.lower()] = parts
        hashtags = [token for token in tokens if _is_tag(token)]
        tags = _Tags(tokens, split, tuple(fold(token[1:]) for token in hashtags), frozenset([*hashtags, *split]))
        tokens = tuple(_with_words(tokens, split))
    folded = tuple(map(_FOLDED.__getitem__, tokens))
    return tokens, folded, tuple(map(_STEMS.__getitem__, folded)), tags


# No token holds or needs whitespace (every pattern of _TOKEN_RE stops at it, none looks across it), and
# normalising, folding and stemming act within a piece too, so a text is read piece by piece and a piece
# seen before costs one lookup. Only a hashtag's words may come from another piece (the same tag twice).
# 50,000 pieces: 300,000 random texts (each with its own link, handle and tag) peak at +125 MiB against
# +115 MiB for the memo of bare tokens before it (100,000 pieces: +153 MiB).
_CHUNKS = Memo(_read_chunk, 50_000)


def _read(text: str) -> tuple[list[str], list[str], list[str], list[str]]:
    """Tokens (lower-cased), folded forms, stems and folded hashtags of a text."""
    if "&" in text:
        text = html.unescape(text)
    chunks = list(map(_CHUNKS.__getitem__, text.split()))
    tokens: list[str] = []
    folded: list[str] = []
    stems: list[str] = []
    tagged: list[_Tags] = []
    for chunk_tokens, chunk_folded, chunk_stems, tags in chunks:  # a plain loop: twice as fast as chain()
        tokens += chunk_tokens
        folded += chunk_folded
        stems += chunk_stems
        if tags is not None:
            tagged.append(tags)
    if not tagged:
        return tokens, folded, stems, []
    hashtags = [tag for tags in tagged for tag in tags.folded]
    if len(tagged) > 1 and sum(len(tags.keys) for tags in tagged) > len(frozenset().union(
            *(tags.keys for tags in tagged))):
        tokens = _joined_tags(chunks)  # a tag in two pieces: its words are the text's last reading of it
        folded = list(map(_FOLDED.__getitem__, tokens))
        stems = list(map(_STEMS.__getitem__, folded))
    return tokens, folded, stems, hashtags


def _joined_tags(chunks: list[tuple[Any, ...]]) -> list[str]:
    """The tokens of a text where one hashtag appears in several pieces: each occurrence is followed by the
    words of the last occurrence that shows any (read over the whole text, in order)."""
    split: dict[str, list[str]] = {}
    for *_, tags in chunks:
        if tags is not None:
            split.update(tags.split)
    tokens: list[str] = []
    for chunk_tokens, *_, tags in chunks:
        tokens.extend(chunk_tokens if tags is None else _with_words(tags.plain, split))
    return tokens


def _opens_scope(index: int, folded: list[str]) -> bool:
    """Whether the negator at `index` starts a negation scope (ambiguous "plus"/"personne" checked)."""
    word = folded[index]
    if word == "plus":
        before = folded[index - 1] if index else ""
        after = folded[index + 1] if index + 1 < len(folded) else ""
        return before not in _PLUS_NOT_NEG_BEFORE and after not in _PLUS_NOT_NEG_AFTER
    if word == "personne":
        before = folded[index - 1] if index else ""
        return before not in _PERSONNE_NOT_NEG_BEFORE
    return True


def _negation(folded: list[str]) -> list[bool]:
    """Negation scope: after a negator until punctuation, an emoji, "mais", or 3 content tokens."""
    negated = [False] * len(folded)
    if NEGATORS.isdisjoint(folded):  # most texts: one C-level pass
        return negated
    active = False
    content = 0
    for i, word in enumerate(folded):
        if word in NEGATORS:
            if _opens_scope(i, folded):
                active = True
                content = 0
            continue
        if not active:
            continue
        first = word[0]
        if first in _PUNCT_START or word in _SCOPE_BREAKERS or not (first.isalnum() or first in "#@"):
            active = False
            continue
        negated[i] = True
        if word not in STOPWORDS:
            content += 1
            if content >= _MAX_SCOPE_CONTENT:
                active = False
    return negated


def _fold_token(token: str) -> str:
    return token if token.isascii() else (fold(token) or token)


_FOLDED = Memo(_fold_token, 100_000)
_STEMS = Memo(_snowball, 200_000)  # the one memo of stems: prepare() reads it directly, at C speed


def stem(folded_token: str) -> str:
    """Snowball stem of a plain word; other tokens (#tags, @user, emoji, punctuation) stay as they are."""
    return _STEMS[folded_token]


def folded_tokens(text: str) -> list[str]:
    """`prepare(text).folded` alone, without the negation scope: what term extraction (trends, the
    new-term detector) reads."""
    return _read(text)[1]


def prepare(text: str) -> Prepared:
    """Tokenise one text for every classifier (see the module docstring for the conventions)."""
    tokens, folded, stems, tags = _read(text)
    return Prepared(text, tokens, folded, stems, _negation(folded), tags)


def prepare_many(texts: list[str]) -> list[Prepared]:
    """Prepare a batch (a plain loop: the per-text cost is dominated by Python, not by call overhead)."""
    return [prepare(text) for text in texts]


def bench_prepare(repeat: int = 2000) -> dict[str, float]:
    """Microseconds per tweet for prepare() and for nltk's TweetTokenizer alone (why we use a regex)."""
    import time
    import timeit

    from nltk.tokenize.casual import TweetTokenizer

    plain = ("@mairie_paris franchement c'est pas terrible, trop de monde à la gare ce matin, "
             "aucun train depuis 2h 😡 http")  # 20 words, 22 tokens
    hard = ("@mairie_paris Franchement c'est pas terrible, troooop de monde à la #GrèveSNCF !!!! "
            "Aucun bus depuis 2h, on n'en peut plus 😡 https://t.co/xyz l'info est où ?")  # 33 tokens
    tweet = TweetTokenizer(preserve_case=False, reduce_len=True, strip_handles=False)

    def best(fn) -> float:
        fn()
        # CPU time, not wall time: the figure must not depend on what else the machine runs.
        return min(timeit.repeat(fn, number=repeat, repeat=5, timer=time.process_time)) / repeat * 1e6

    return {
        "prepare_20_words_us": best(lambda: prepare(plain)),
        "prepare_hard_us": best(lambda: prepare(hard)),
        "tweet_tokenizer_20_words_us": best(lambda: tweet.tokenize(plain)),
    }
