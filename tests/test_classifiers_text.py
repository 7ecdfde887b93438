"""French text preparation: what the classifiers (and so the operators) see of a mention."""

from __future__ import annotations

import html
import random
import unicodedata

from classifiers import text as text_module
from classifiers.text import STOPWORDS, Memo, Prepared, is_stopword, prepare, prepare_many
from listener.textfold import fold


def negated_words(prep: Prepared) -> set[str]:
    return {token for token, neg in zip(prep.tokens, prep.negated, strict=True) if neg}


def test_hashtag_kept_and_split_on_case_boundaries() -> None:
    prep = prepare("Encore la #GrèveSNCF ce matin")
    i = prep.tokens.index("#grèvesncf")
    assert prep.tokens[i + 1 : i + 3] == ["grève", "sncf"]
    assert prep.folded[i : i + 3] == ["#grevesncf", "greve", "sncf"]
    assert prep.hashtags == ["grevesncf"]


def test_hashtag_digits_split_and_lowercase_tag_unsplit() -> None:
    prep = prepare("#JO2024 et #grèvesncf")
    assert prep.tokens[:3] == ["#jo2024", "jo", "2024"]
    assert prep.tokens[-1] == "#grèvesncf"
    assert prep.hashtags == ["jo2024", "grevesncf"]


def test_accents_kept_in_tokens_and_folded_alongside() -> None:
    prep = prepare("Élève déçu à l'école")
    assert prep.tokens == ["élève", "déçu", "à", "l'", "école"]
    assert prep.folded == ["eleve", "decu", "a", "l'", "ecole"]
    assert len(prep.stems) == len(prep.tokens) == len(prep.negated)


def test_elision_keeps_the_article_as_its_own_token() -> None:
    assert prepare("l’eau d'ici").tokens == ["l'", "eau", "d'", "ici"]
    assert prepare("aujourd'hui quelqu'un").tokens == ["aujourd'hui", "quelqu'un"]


def test_elongation_squeezed() -> None:
    prep = prepare("troooop bieeen !!!!! ???")
    assert prep.tokens == ["troop", "bieen", "!!", "??"]


def test_handles_links_normalised_emoji_kept() -> None:
    prep = prepare("@Mairie_Paris voir https://t.co/AbC et www.paris.fr 😡👍🏽 ❤️ :)")
    assert prep.tokens == ["@user", "voir", "http", "et", "http", "😡", "👍", "❤", ":)"]


def test_fediverse_handle_is_one_user() -> None:
    assert prepare("@alice@mastodon.social merci").tokens == ["@user", "merci"]


def test_numbers_and_times_not_squeezed() -> None:
    assert prepare("1000 personnes à 18h30").tokens == ["1000", "personnes", "à", "18h30"]


def test_negation_scope_pas_terrible() -> None:
    prep = prepare("c'est pas terrible")
    assert negated_words(prep) == {"terrible"}
    assert prep.negated[prep.tokens.index("pas")] is False


def test_negation_aucun_probleme_and_scope_limits() -> None:
    assert negated_words(prepare("aucun problème")) == {"problème"}
    # Punctuation closes the scope.
    assert negated_words(prepare("pas cher, génial")) == {"cher"}
    # "mais" closes it too.
    assert "nul" not in negated_words(prepare("pas cher mais nul"))
    # At most three content words.
    prep = prepare("je ne trouve vraiment aucun bus gratuit rapide propre")
    assert "propre" not in negated_words(prep)
    assert {"bus", "gratuit", "rapide"} <= negated_words(prep)


def test_negation_ne_and_ambiguous_plus_personne() -> None:
    assert "content" in negated_words(prepare("je ne suis pas content"))
    assert negated_words(prepare("de plus en plus cher")) == set()
    assert negated_words(prepare("une personne contente")) == set()
    assert "content" in negated_words(prepare("personne content"))


def test_stopwords_folded_without_negators() -> None:
    assert is_stopword("le") and is_stopword("etait") and is_stopword("l'")
    for negator in ("ne", "pas", "plus", "jamais", "rien", "aucun", "sans", "ni", "n'"):
        assert negator not in STOPWORDS
    assert all(word == word.lower() and word.isascii() for word in STOPWORDS)


def test_prepare_many_matches_prepare() -> None:
    # Speed is measured by `make bench` (bench_classify), never by a timed unit test.
    texts = ["@user c'est pas terrible, trop de monde à la gare ce matin, aucun train depuis 2h 😡 http"] * 500
    batch = prepare_many(texts)
    assert len(batch) == len(texts) and all(item == prepare(texts[0]) for item in batch)


def test_decomposed_accents_read_like_composed_ones() -> None:
    """Some clients send "a" + U+0300 instead of "à" (a real UMSAB tweet does): same tokens, no crash."""
    composed, decomposed = prepare("à la mairie, c'est grave"), prepare("a\u0300 la mairie, c'est gra\u0300ve")
    assert decomposed.tokens[0] == composed.tokens[0] == "à"
    assert decomposed.folded[:3] == composed.folded[:3] == ["a", "la", "mairie"]
    assert prepare("un accent tout seul \u0300 ici").tokens  # a lone combining mark is not an empty token


def _whole_text_normalised(text: str) -> str:
    """The normalisation as it was written before pieces were memoised: over the whole text."""
    if "&" in text:
        text = html.unescape(text)
    if not text.isascii():
        text = unicodedata.normalize("NFC", text).replace("’", "'")
        text = text_module._EMOJI_NOISE_RE.sub("", text)
    return text_module._ELONGATED_RE.sub(text_module._squeeze, text)


def _whole_text_tokens(text: str) -> list[str]:
    """The tokenizer as it was written before chunks were memoised: one findall over the whole text."""
    split = {"#" + tag.lower(): parts for tag in text_module._HASHTAG_RE.findall(text)
             if (parts := text_module._hashtag_parts(tag))}
    tokens: list[str] = []
    for token in text_module._TOKEN_RE.findall(text.lower()):
        if token[0] == "@" and len(token) > 1:
            tokens.append("@user")
        elif token.startswith(("http", "ww.")):
            tokens.append("http")
        elif token[0] == "#" and len(token) > 1:
            tokens += [token, *split.get(token, [])]
        elif token[0] == ".":
            tokens.append("…" if len(token) > 1 else token)
        else:
            tokens.append(token)
    return tokens


def test_tokens_by_chunk_are_the_whole_text_tokens() -> None:
    """Normalising, tokenising, folding and stemming each whitespace-separated chunk (memoised) gives what
    one pass over the text gives: random texts built from the characters and pieces where the patterns
    meet (accents to compose, elongations, entities, hashtags repeated in another casing)."""
    pieces = ["l'", "eau", "aujourd'hui", "quelqu'un", "#GrèveSNCF", "#grèvesncf", "#JO2024", "@a@b.social",
              "http://x.fr/a?b", "www.ville.fr", "...", "…", "!!", "?", ":)", "<3", ":-(", "2h30", "10,5%",
              "😡", "👍🏽", "peut-être", "'", "-", "é", "Σ", "ΣΑΣ", "İ", "\u0301", "&amp;", "a", "8)", "\u200d",
              "ß", "ǅ", "ﬁ", "’", "#", "@", "x_y", "_", "1", ".", ",", "(", "»", "e\u0301", "&nbsp;", "&#35;Tag",
              "ooo", "OoO", "!!!!", "\ufe0f", "🏽", "#Paris2024", "#paris2024", "#PARISjo", "#ParisJO", "&lt;3"]
    rng = random.Random(5)
    for _ in range(3000):
        text = "".join(rng.choice(pieces) + rng.choice(["", "", " ", "  ", "\n", "\t", "\u00a0", "\u2009"])
                       for _ in range(rng.randint(1, 12)))
        tokens = _whole_text_tokens(_whole_text_normalised(text))
        folded = [token if token.isascii() else (fold(token) or token) for token in tokens]
        assert prepare(text).tokens == tokens, text
        assert prepare(text).folded == folded, text
        assert prepare(text).stems == [text_module._snowball(word) for word in folded], text


def test_memo_is_bounded() -> None:
    memo = Memo(str.upper, 3)
    assert list(map(memo.__getitem__, ["a", "b", "a", "c"])) == ["A", "B", "A", "C"]
    assert len(memo) == 3
    assert memo["d"] == "D" and len(memo) == 1  # full: emptied before the new word
    assert memo["d"] == "D" and memo["e"] == "E" and len(memo) == 2
    huge = "x" * (Memo.MAX_KEY + 1)
    assert memo[huge] == huge.upper() and huge not in memo  # computed, never held


def test_a_huge_text_without_spaces_is_read_and_not_held() -> None:
    text = "éabc" * 250_000  # 1 MB, one word (no letter three times in a row to squeeze)
    assert prepare(text).tokens == [text]
    assert all(text not in memo for memo in (text_module._CHUNKS, text_module._FOLDED, text_module._STEMS))
