"""Abusive language and threats in French, whoever they target, each explained by the words that fired.

Two layers, both reading the *squashed* form of a text (``squash``), so spelling tricks fall back onto
the words they hide: leet ("c0nnard"), spelled-out letters ("c o n n a s s e", "c.o.n"), masked letters
("c*nnard"), elongations and doubled letters ("connnnard" = "conard"), hyphenated imperatives
("tuez-les"), a few SMS contractions ("jte", "jvais"), accents folded ("crevé" = "creve").

- a lexicon (classifiers/data/abuse_fr.toml): insults, slurs, dehumanising comparisons ("ce sont des
  rats"), hateful generalisations, degrading words that count only when aimed at someone, and threats
  (explicit and implicit phrases, or a violence verb with a threat cue and a person as its object).
  Terms that are negated ("ce ne sont pas des rats"), reported ("il m'a traité de connard") or quoted
  in a condemnation (« les traiter de "rats" est indigne ») do not count: counter-speech is not abuse.
- a learned model (classifiers/models/abuse.joblib, `vigie train`): logistic regression over word and
  character n-grams of the squashed text plus the lexicon's findings, fitted on real tweets
  (mlma-fr, umsab-fr, see classifiers/abuse_training.py). It finds abuse the lexicon does not list.

A text is abusive when the lexicon score reaches 1 or the model's probability reaches its threshold;
a threat is always abusive. Scores are in [0, 1].
"""

from __future__ import annotations

import logging
import re
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import chain
from pathlib import Path
from typing import Any

from classifiers.lexicon import SKIP, Entry, Match, PhraseLexicon, View
from classifiers.text import NEGATORS, STOPWORDS, Memo, Prepared, prepare

log = logging.getLogger(__name__)

DEFAULT_LEXICON = Path(__file__).with_name("data") / "abuse_fr.toml"
DEFAULT_MODEL = Path(__file__).with_name("models") / "abuse.joblib"
MODEL_FORMAT = 1
# How far (tokens) a reporting cue may stand before the abuse it reports ("traité de gros connard").
REPORTED_WINDOW = 4
# How far (tokens) a person may stand from a degrading word for it to count as aimed at them.
AIM_WINDOW = 6
# Threat verbs: how far back the threat cue may be ("je vais vraiment te tuer").
INTENT_WINDOW = 4
# « que » then a determiner opens a clause whose subject is a noun phrase: its verb states what that thing
# does (« que le réchauffement climatique tue des animaux », a real tweet), it is no threat cue; « que je
# te tue », « qu'on les pende » still are.
_NOUN_PHRASE_OPENERS = frozenset({
    "le", "la", "les", "l'", "un", "une", "des", "du", "ce", "cet", "cette", "ces", "mon", "ma", "mes", "ton",
    "ta", "tes", "son", "sa", "ses", "notre", "nos", "votre", "vos", "leur", "leurs",
})
# Model probability needed when the only words found are degrading words aimed at nobody.
WEAK_ONLY_THRESHOLD = 0.75

_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "€": "e"})
_HAS_LEET_RE = re.compile(r"[0134578@$€]")
_DOUBLE_RE = re.compile(r"([^\W\d_])\1+")
_SEPARATORS = frozenset({".", "-", "_", "*", "/"})
_QUOTES = frozenset({"«", "»", "“", "”", '"', "„"})
_SMS: dict[str, tuple[str, ...]] = {
    "jte": ("je", "te"), "jvais": ("je", "vais"), "jvai": ("je", "vais"), "jvé": ("je", "vais"),
    "jv": ("je", "vais"), "jvous": ("je", "vous"), "jsais": ("je", "sais"), "jsui": ("je", "suis"),
    "jsuis": ("je", "suis"), "chui": ("je", "suis"), "jtue": ("je", "tue"), "jla": ("je", "la"),
    "jle": ("je", "le"), "jles": ("je", "les"), "vs": ("vous",), "ki": ("qui",), "ke": ("que",),
    "koi": ("quoi",), "tt": ("tout",), "ts": ("tous",), "tjr": ("toujours",), "tjrs": ("toujours",),
    "ptn": ("putain",), "fdp": ("fdp",), "ntm": ("ntm",), "tg": ("tg",), "batar": ("batard",),
    "enkule": ("encule",), "enculer": ("enculer",),
}
# Second-person words: the text speaks *to* someone.
_SECOND_PERSON = frozenset({"tu", "t'", "toi", "te", "ton", "ta", "tes", "vous", "votre", "vos", "etes", "es"})


@lru_cache(maxsize=200_000)
def squash_word(folded: str) -> tuple[str, ...]:
    """The key(s) a folded token is matched on: leet decoded, hyphens split, doubled letters single."""
    if folded in ("@user", "http") or folded in NEGATORS or len(folded) < 2:
        return (folded,)
    word = folded
    if _HAS_LEET_RE.search(word) and any(c.isalpha() for c in word):
        decoded = word.translate(_LEET)
        if decoded.replace("-", "").replace("'", "").isalpha():
            word = decoded
    parts = word.split("-") if "-" in word and len(word) > 2 else [word]
    out: list[str] = []
    for part in parts:
        if not part:
            continue
        sms = _SMS.get(part)
        if sms is not None:
            out.extend(sms)
            continue
        out.append(_DOUBLE_RE.sub(r"\1", part) if len(part) > 2 else part)
    return tuple(out) or (folded,)


class _Same:
    """Source positions when every squashed token is its own source token (most texts)."""

    __slots__ = ("n",)

    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> tuple[int, int]:
        if not -self.n <= index < self.n:
            raise IndexError(index)
        index %= self.n
        return (index, index)

    def __iter__(self) -> Any:
        return ((i, i) for i in range(self.n))


# Every single-letter token ever seen (a few dozen): a text holding none has no letter run to merge.
_LETTERS: set[str] = set()


def _one_key(word: str) -> str:
    """A folded token's one squashed key, or "" when the token needs the slow path (split, SMS, "*")."""
    if len(word) == 1 and word.isalpha():
        _LETTERS.add(word)  # _ONE_KEY reads every token before _LETTERS is asked about it
    parts = squash_word(word)
    return parts[0] if len(parts) == 1 and word != "*" else ""


def _kind(word: str) -> str:
    """"l" for a single letter, "s" for a separator (".", "-"…), "w" for anything else."""
    if len(word) == 1 and word.isalpha():
        return "l"
    return "s" if word in _SEPARATORS else "w"


_ONE_KEY = Memo(_one_key, 300_000)
_KEYS = Memo(squash_word, 100_000)  # squash_word() at C speed, for the words of texts that split a token
_KINDS = Memo(_kind, 100_000)
# Three single letters with only separators between them: a spelled-out word ("c o n", "c.o.n").
_LETTER_RUN_RE = re.compile("ls*ls*l")


def squash(prepared: Prepared, wildcard: Any = None) -> tuple[Prepared, Any]:
    """The squashed copy of a prepared text, and for each of its tokens the source tokens it comes from
    (first, last).

    Runs of three or more single letters, spaced or dotted, become one word ("c o n n a r d"); a word
    masked with "*" ("c*nnard") becomes the lexicon word it can only be (``wildcard`` resolves it).
    """
    folded = prepared.folded
    keys = list(map(_ONE_KEY.__getitem__, folded))  # most texts: one key per token, at C speed
    if "" in keys or _LETTER_RUN_RE.search("".join(map(_KINDS.__getitem__, folded))):
        return _squash_slow(prepared, wildcard)
    return Prepared(prepared.text, prepared.tokens, keys, keys, prepared.negated, []), _Same(len(keys))


def plain_words(folded: list[str]) -> list[str] | None:
    """``squash(prepared)[0].folded`` without building the squashed text, or None when squash() has to
    merge letters or resolve a masked word ("c o n", "c*nnard": the full path is needed).

    Why: most texts hold no abuse word at all; their squashed words are all it takes to prove it (see
    AbuseDetector.detect_many). Tokens that split ("centre-ville", "jte") are the common case here: about
    10 % of texts, which squash() sends to its slow path.
    """
    keys = list(map(_ONE_KEY.__getitem__, folded))
    if "" in keys:
        if "*" in folded:
            return None
        keys = list(chain.from_iterable(map(_KEYS.__getitem__, folded)))
    # The letter-run pattern also accepts runs that _squash_slow() does not merge (several separators in
    # a row): a superset, so no run it merges is missed. Seven texts in ten hold no single letter at all.
    if not _LETTERS.isdisjoint(folded) and _LETTER_RUN_RE.search("".join(map(_KINDS.__getitem__, folded))):
        return None
    return keys


def _squash_slow(prepared: Prepared, wildcard: Any = None) -> tuple[Prepared, list[tuple[int, int]]]:
    """squash() for texts with letter runs, masked words or tokens that split."""
    src_tokens, src_folded, src_neg = prepared.tokens, prepared.folded, prepared.negated
    tokens: list[str] = []
    folded: list[str] = []
    negated: list[bool] = []
    source: list[tuple[int, int]] = []
    n = len(src_folded)
    i = 0
    while i < n:
        word = src_folded[i]
        if len(word) == 1 and word.isalpha():
            letters: list[str] = []
            j = i
            while j < n:
                w = src_folded[j]
                if len(w) == 1 and w.isalpha():
                    letters.append(w)
                    j += 1
                elif w in _SEPARATORS and letters and j + 1 < n and len(src_folded[j + 1]) == 1 \
                        and src_folded[j + 1].isalpha():
                    j += 1
                else:
                    break
            if len(letters) >= 3:
                tokens.append(" ".join(src_tokens[i:j]))
                folded.append(_DOUBLE_RE.sub(r"\1", "".join(letters)))
                negated.append(src_neg[i])
                source.append((i, j - 1))
                i = j
                continue
        if word == "*" and wildcard is not None and folded and i + 1 < n and src_folded[i + 1][:1].isalpha():
            first = source[-1][0]
            guess = wildcard(src_folded[first] + "*" + src_folded[i + 1])
            if guess:
                tokens[-1] = src_tokens[first] + "*" + src_tokens[i + 1]
                folded[-1] = guess
                source[-1] = (first, i + 1)
                i += 2
                continue
        for key in squash_word(word):
            tokens.append(src_tokens[i])
            folded.append(key)
            negated.append(src_neg[i])
            source.append((i, i))
        i += 1
    return Prepared(prepared.text, tokens, folded, folded, negated, []), source


def phrase_keys(phrase: str) -> tuple[str, ...]:
    """The squashed keys a lexicon phrase matches on (the same path as a text)."""
    squashed, _ = squash(prepare(phrase))
    return tuple(squashed.folded)


def _lexicon(items: list[tuple[str, str, float]]) -> PhraseLexicon:
    entries = [Entry(phrase, group, weight, phrase_keys(phrase)) for phrase, group, weight in items]
    return PhraseLexicon([e for e in entries if e.stems], on="words")


@dataclass(slots=True)
class AbuseResult:
    """What the abuse layer found in one text."""

    abusive: bool = False
    score: float = 0.0
    terms: list[str] = field(default_factory=list)
    threat: bool = False
    threat_score: float = 0.0
    threat_terms: list[str] = field(default_factory=list)
    lexicon_score: float = 0.0
    categories: dict[str, float] = field(default_factory=dict)
    # Token spans (in the source Prepared) of the words that made it abusive, to find who is aimed at.
    spans: list[tuple[int, int]] = field(default_factory=list)
    second_person: bool = False
    discounted: int = 0  # terms dropped as negated, reported or quoted


class AbuseLexicon:
    """The abuse and threat lexicons, squashed once at load."""

    def __init__(self, data: dict[str, Any]) -> None:
        categories = data.get("categories", {})
        items: list[tuple[str, str, float]] = []
        self.targeted_weight: dict[str, float] = {}
        for name, spec in categories.items():
            items.extend((term, name, float(spec.get("weight", 1.0))) for term in spec.get("terms", []))
            if "targeted_weight" in spec:
                self.targeted_weight[name] = float(spec["targeted_weight"])
        comparisons = data.get("comparisons", {})
        for frame in comparisons.get("frames", []):
            items.extend((f"{frame} {noun}".replace("' ", "'"), "deshumanisation", 1.0)
                         for noun in comparisons.get("nouns", []))
        self.categories = sorted({group for _, group, _ in items} | {"menace"})
        self.terms = _lexicon(items)
        self.groups = frozenset(key for g in comparisons.get("groups", []) for key in phrase_keys(g))
        context = data.get("context", {})
        self.reported = _lexicon([(c, "reported", 1.0) for c in context.get("reported", [])])
        self.condemning = _lexicon([(c, "condemning", 1.0) for c in context.get("condemning", [])])
        self.fiction = _lexicon([(c, "fiction", 1.0) for c in context.get("fiction", [])])
        threat = data.get("threat", {})
        self.threats = _lexicon([(p, "menace", 1.0) for p in threat.get("phrases", [])])
        self.threat_figurative = _lexicon([(p, "figurative", 1.0) for p in threat.get("figurative", [])])
        self.verbs = frozenset(k for v in threat.get("verbs", []) for k in phrase_keys(v))
        self.intents = _lexicon([(p, "intent", 1.0) for p in threat.get("intents", [])])
        self.objects_before = frozenset(k for v in threat.get("objects_before", []) for k in phrase_keys(v))
        self.objects_after = frozenset(k for v in threat.get("objects_after", []) for k in phrase_keys(v))
        # A term or threat phrase matches only where all its keys are, and a threat verb only where it
        # is: a text holding none of the gate's words (one key per phrase, and the verbs) matches nothing.
        phrases = [e.stems for lexicon in (self.terms, self.threats) for e in lexicon.entries]
        self._needs: dict[str, list[frozenset[str]] | None] = {}
        for keys, first in zip(phrases, _rarest_keys(phrases), strict=True):
            self._needs.setdefault(first, []).append(frozenset(keys))
        self._needs.update(dict.fromkeys(self.verbs))  # a verb needs its context read: None
        self.gate = frozenset(self._needs)
        single = [e.stems[0] for e in self.terms.entries if len(e.stems) == 1 and e.stems[0].isalpha()]
        self._by_first: dict[str, list[str]] = {}
        for word in single:
            self._by_first.setdefault(word[0], []).append(word)

    def could_match(self, hits: set[str], words: list[str]) -> bool:
        """Whether a term, a threat phrase or a threat verb may match a text (False: none can), given its
        squashed words and those of them in the gate (``hits``)."""
        present: set[str] | None = None
        for word in hits:
            needs = self._needs[word]
            if needs is None:
                return True
            if present is None:
                present = set(words)
            if any(keys <= present for keys in needs):
                return True
        return False

    @classmethod
    def load(cls, path: Path | None = None) -> AbuseLexicon:
        return cls(tomllib.loads(Path(path or DEFAULT_LEXICON).read_text(encoding="utf-8")))

    def wildcard(self, masked: str) -> str | None:
        """The one lexicon word a masked word can be ("c*nnard" → "conard"), else None."""
        return _wildcard(self, masked)


def _rarest_keys(phrases: list[tuple[str, ...]]) -> list[str]:
    """For each phrase, the key least likely to be in a text: not a function word, a negator or a word of
    one or two letters ("pas des humains": "humains"), in the fewest phrases (a frame such as "espèce de"
    is in dozens, the noun after it in a few), the longest, the first of equals. Any key would be correct
    (AbuseLexicon.could_match); this one lets fewer texts through."""
    count = Counter(k for keys in phrases for k in set(keys))

    def rank(key: str) -> tuple[bool, int, int]:
        return key in STOPWORDS or key in SKIP or key in NEGATORS or len(key) < 3, count[key], -len(key)

    return [min(keys, key=rank) for keys in phrases]


@lru_cache(maxsize=20_000)
def _wildcard_pattern(masked: str) -> re.Pattern[str]:
    parts = [_DOUBLE_RE.sub(r"\1", re.escape(p)) for p in masked.split("*")]
    return re.compile(".{1,3}".join(parts) + r"\Z")


def _wildcard(lexicon: AbuseLexicon, masked: str) -> str | None:
    if not masked[:1].isalpha():
        return None
    pattern = _wildcard_pattern(masked)
    found = [w for w in lexicon._by_first.get(masked[0], []) if pattern.match(w)]
    return found[0] if len(found) == 1 or len(set(found)) == 1 else (min(found, key=len) if found else None)


def _surface(prepared: Prepared, source: list[tuple[int, int]], match: Match) -> str:
    """The matched words as written in the source text (a split or merged token shown once)."""
    if match.start == match.end:
        return match.surface  # one squashed token: its display form ("c*nnard", "c o n n a r d")
    tokens = prepared.tokens[source[match.start][0] : source[match.end][1] + 1]
    return " ".join(tokens).replace("' ", "'")


def _quoted(folded: list[str]) -> list[bool]:
    """Whether each token sits inside quotation marks (« », “ ”, straight quotes toggling)."""
    inside = [False] * len(folded)
    depth = 0
    straight = False
    for i, word in enumerate(folded):
        if word in ("«", "“", "„"):
            depth += 1
        elif word in ("»", "”"):
            depth = max(0, depth - 1)
        elif word == '"':
            straight = not straight
        else:
            inside[i] = depth > 0 or straight
    return inside


class AbuseDetector:
    """Lexicon + learned model: abusive and threat labels with the words that explain them."""

    def __init__(self, lexicon: AbuseLexicon, model: dict[str, Any] | None = None,
                 model_threshold: float | None = None) -> None:
        self.lexicon = lexicon
        self.model = model
        threshold = model_threshold if model_threshold is not None else (model or {}).get("threshold", 0.5)
        self.model_threshold = float(threshold)
        self._gate: tuple[Any, frozenset[str]] = (None, frozenset())  # (triggers, gate words) of the model

    def gate(self) -> tuple[frozenset[str], frozenset[str]] | None:
        """The words a text must hold for either layer to find anything in it (the lexicon's gate and the
        model's triggers) and the triggers; None when every text must be read (a model threshold <= 0
        calls a text the model gives 0 abusive)."""
        model = self.model
        if model is not None and not self.model_threshold > 0:
            return None
        triggers = (model.get("triggers") if model is not None else None) or frozenset()
        if self._gate[0] is not triggers:  # the union is built once per model
            self._gate = (triggers, self.lexicon.gate | triggers)
        return self._gate[1], triggers

    def quiet(self, words: list[str], gate: frozenset[str], triggers: frozenset[str]) -> bool:
        """Whether a text with these squashed words is certain to give nothing: no lexicon term, threat
        or trigger of the model (see gate())."""
        hits = gate.intersection(words)
        return not hits or triggers.isdisjoint(hits) and not self.lexicon.could_match(hits, words)

    @classmethod
    def load(cls, lexicon_path: Path | None = None, model_path: Path | None = None, *, use_model: bool = True,
             model_threshold: float | None = None) -> AbuseDetector:
        lexicon = AbuseLexicon.load(lexicon_path)
        model = None
        path = Path(model_path or DEFAULT_MODEL)
        if use_model and path.exists():
            import joblib

            payload = joblib.load(path)
            if payload.get("format") == MODEL_FORMAT:
                model = payload
            else:
                log.warning("abuse model %s: format %r not supported, lexicon only", path, payload.get("format"))
        elif use_model:
            log.warning("abuse model %s not found: lexicon only", path)
        return cls(lexicon, model, model_threshold)

    # ------------------------------------------------------------------ lexicon layer

    def squashed(self, prepared: Prepared) -> tuple[Prepared, list[tuple[int, int]]]:
        return squash(prepared, self.lexicon.wildcard)

    def lexicon_result(self, prepared: Prepared, aimed: set[int] | None = None) -> tuple[AbuseResult, Prepared]:
        """Lexicon findings for one text. ``aimed``: source token indices naming the institution or an
        official (a degrading word near them counts as aimed at someone)."""
        lex = self.lexicon
        sq, source = self.squashed(prepared)
        view = View.every_token(sq)
        folded = sq.folded
        result = AbuseResult()
        result.second_person = not _SECOND_PERSON.isdisjoint(folded)
        matches = [m for m in lex.terms.match(view) if not _reflexive_verb(m, folded)]
        threats = lex.threats.match(view) + self._threat_verbs(view)
        if not matches and not threats:
            return result, sq
        reported = lex.reported.match(view)
        quoted = _quoted(folded) if any(w in _QUOTES for w in folded) else None
        condemned = bool(lex.condemning.match(view)) if quoted else False

        def discounted(match: Match) -> bool:
            if match.negated:
                return True
            if any(r.end < match.start <= r.end + REPORTED_WINDOW or r.start <= match.start <= r.end
                   for r in reported):
                return True
            return bool(quoted and quoted[match.start] and (reported or condemned))

        aimed_keys = [i for i, w in enumerate(folded) if w in lex.groups]
        if aimed:
            aimed_keys += [i for i, (first, _) in enumerate(source) if first in aimed]
        seen: set[str] = set()
        for match in matches:
            if discounted(match):
                result.discounted += 1
                continue
            if match.entry.phrase in seen:
                continue
            seen.add(match.entry.phrase)
            group = match.entry.group
            weight = match.entry.weight
            if group in lex.targeted_weight and (
                result.second_person
                or any(abs(k - match.start) <= AIM_WINDOW or abs(k - match.end) <= AIM_WINDOW for k in aimed_keys)
            ):
                weight = lex.targeted_weight[group]
            result.lexicon_score += weight
            result.categories[group] = result.categories.get(group, 0.0) + weight
            surface = _surface(prepared, source, match)
            if surface not in result.terms:
                result.terms.append(surface)
            result.spans.append((source[match.start][0], source[match.end][1]))
        figurative = lex.threat_figurative.match(view) if threats else []
        if threats and lex.fiction.match(view):
            result.discounted += len(threats)
            threats = []
        for match in threats:
            if match.negated or (quoted and quoted[match.start] and (reported or condemned)):
                result.discounted += 1
                continue
            if any(f.start <= match.end and match.start <= f.end for f in figurative):
                continue
            result.threat = True
            result.threat_score = 1.0
            surface = _surface(prepared, source, match)
            if surface not in result.threat_terms:
                result.threat_terms.append(surface)
            result.spans.append((source[match.start][0], source[match.end][1]))
        if result.threat:
            result.categories["menace"] = 1.0
            result.lexicon_score += 1.0
            for term in result.threat_terms:
                if term not in result.terms:
                    result.terms.append(term)
        return result, sq

    def _threat_verbs(self, view: View) -> list[Match]:
        """A violence verb with a threat cue before it and a person as its object ("je vais tuer les élus",
        "on va te buter", "il faudrait les pendre")."""
        lex = self.lexicon
        words = view.words
        if lex.verbs.isdisjoint(words):
            return []
        found: list[Match] = []
        intents: list[Match] | None = None
        tokens = view.prepared.tokens
        for i, word in enumerate(words):
            if word not in lex.verbs:
                continue
            before = words[i - 1] if i else ""
            after = words[i + 1] if i + 1 < len(words) else ""
            has_object = before in lex.objects_before or after in lex.objects_after
            if not has_object:
                continue
            if intents is None:
                intents = lex.intents.match(view)
            cue = next((m for m in intents if m.end < i and i - m.end <= INTENT_WINDOW
                        and not _opens_noun_clause(m, words)), None)
            if cue is None and i > 0 and before not in lex.objects_before:
                continue  # a bare verb is a call only at the start of a sentence ("Tuer les élus.")
            if cue is None and i > 0:
                continue
            start = cue.start if cue is not None else i
            end = i + 1 if after in lex.objects_after else i
            surface = " ".join(tokens[start : end + 1]).replace("' ", "'")
            found.append(Match(Entry(surface, "menace", 1.0, ()), start, end, surface, view.negated(start, end)))
        return found

    # ------------------------------------------------------------------ both layers

    def detect_many(self, prepared: list[Prepared], aimed: Any = None) -> list[AbuseResult]:
        """Both layers for a batch. ``aimed``: per text, the source token indices naming the institution or
        an official (read only for the texts the lexicon finds something in, so it may compute lazily)."""
        return self._detect(prepared, aimed, True)  # type: ignore[return-value]

    def findings(self, prepared: list[Prepared], aimed: Any = None) -> list[AbuseResult | None]:
        """detect_many() with None for the texts proved to hold nothing (not abusive, no threat, score 0,
        no terms): most texts, and a caller that only needs the labels skips building their results."""
        return self._detect(prepared, aimed, False)

    def _detect(self, prepared: list[Prepared], aimed: Any, fill: bool) -> list[AbuseResult | None]:
        model = self.model
        # Most texts (about 93 % of ordinary tweets) hold none of the words that can make a lexicon term,
        # a threat or a model trigger match: the squashed words prove it, and their result is known without
        # squashing the text, matching every lexicon or reading the model (a model that may call a text
        # with probability 0 abusive, threshold <= 0, reads every text).
        gate = self.gate()
        gate_words, triggers = gate if gate is not None else (frozenset(), frozenset())
        results: list[AbuseResult | None] = []
        pairs: list[tuple[AbuseResult, Prepared]] = []
        for k, prep in enumerate(prepared):
            if gate is not None:
                words = plain_words(prep.folded)
                if words is not None and (gate_words.isdisjoint(words) or self.quiet(words, gate_words, triggers)):
                    results.append(AbuseResult(second_person=not _SECOND_PERSON.isdisjoint(words)) if fill else None)
                    continue
            pair = self.lexicon_result(prep, aimed[k] if aimed else None)
            results.append(pair[0])
            pairs.append(pair)
        if model is not None and pairs:
            # The model reads candidates only: texts where the lexicon found something or holding one of
            # the words that mostly appear in abusive training texts (about 7 % of ordinary tweets).
            triggers = model.get("triggers") or frozenset()
            chosen = [i for i, (result, sq) in enumerate(pairs)
                      if result.terms or result.threat or result.discounted or not triggers.isdisjoint(sq.folded)]
            probas = [0.0] * len(pairs)
            if chosen:
                scores = model_proba(model, [pairs[i][1] for i in chosen], [pairs[i][0] for i in chosen])
                for i, proba in zip(chosen, scores, strict=True):
                    probas[i] = proba
            threshold = self.model_threshold
            for (result, sq), proba in zip(pairs, probas, strict=True):
                # Counter-speech: when every term was discounted, the model alone must be very sure.
                needed = max(threshold, 0.9) if result.discounted and not result.terms else threshold
                # Degrading words aimed at nobody ("le temps est pourri") are ordinary words: the
                # model alone must be surer.
                if result.terms and result.lexicon_score < 1.0 and not result.threat and all(
                    c in self.lexicon.targeted_weight for c in result.categories
                ):
                    needed = max(needed, WEAK_ONLY_THRESHOLD)
                model_says = proba >= needed
                # Rescaled so that 0.5 is the decision point whatever the threshold.
                scaled = 0.5 * proba / needed if proba < needed else 0.5 + 0.5 * (proba - needed) / (1 - needed)
                result.abusive = result.lexicon_score >= 1.0 or result.threat or model_says
                result.score = max(min(1.0, result.lexicon_score), scaled)
                if model_says and not result.terms:
                    result.terms = model_terms(model, sq)
        else:
            for result, _ in pairs:
                result.abusive = result.lexicon_score >= 1.0 or result.threat
                result.score = min(1.0, result.lexicon_score)
        # A text without any finding: not abusive, score 0.0 (the defaults), as the rounding below gives it.
        for result, _ in pairs:
            result.score = round(max(result.score, 0.5) if result.abusive else min(result.score, 0.499), 4)
        return results


# ---------------------------------------------------------------------- learned model


def dense_features(result: AbuseResult, categories: list[str]) -> list[float]:
    """The lexicon's findings as numbers the model reads (before any model decision)."""
    return [min(2.0, result.categories.get(c, 0.0)) for c in categories] + [
        min(2.0, result.lexicon_score),
        1.0 if result.threat else 0.0,
        1.0 if result.second_person else 0.0,
        min(3, result.discounted) / 3,
    ]


def mask(prepared: Prepared, masked: frozenset[str]) -> Prepared:
    """The text without the corpus's collection keywords (see abuse_training.collection_keywords): words
    that tell MLMA tweets from ordinary ones but not toxic tweets from the others ("terrorisme", "migrants")."""
    if masked.isdisjoint(prepared.folded):
        return prepared
    keep = [i for i, word in enumerate(prepared.folded) if word not in masked]
    return Prepared(prepared.text, [prepared.tokens[i] for i in keep], [prepared.folded[i] for i in keep],
                    [prepared.stems[i] for i in keep], [prepared.negated[i] for i in keep], [])


def model_matrix(model: dict[str, Any], squashed: list[Prepared], results: list[AbuseResult]) -> Any:
    import numpy as np
    import scipy.sparse as sp

    masked = model.get("masked") or frozenset()
    if masked:
        squashed = [mask(p, masked) for p in squashed]
    sparse = model["features"].transform(squashed)
    dense = np.array([dense_features(r, model["categories"]) for r in results], dtype=np.float64)
    dense = dense.reshape(len(results), -1) * model["dense_scale"]
    return sp.hstack([sparse, sp.csr_matrix(dense)], format="csr")


def model_proba(model: dict[str, Any], squashed: list[Prepared], results: list[AbuseResult]) -> list[float]:
    """Probability of abuse per text (the model's own n-grams plus the lexicon's findings)."""
    if not squashed:
        return []
    classifier = model["classifier"]
    if not hasattr(classifier, "predict_proba_of_blocks"):  # an estimator other than LinearProba
        return classifier.predict_proba(model_matrix(model, squashed, results))[:, 1].tolist()
    import numpy as np

    # The same probabilities as predict_proba(model_matrix(...)), read block by block: the model reads
    # about 30 texts a batch, and joining [words | chars] then [features | findings] in scipy cost
    # ~300 µs a batch of checks and conversions (see LinearProba.decision_of_blocks).
    masked = model.get("masked") or frozenset()
    if masked:
        squashed = [mask(p, masked) for p in squashed]
    blocks = [_block(b) for b in model["features"].blocks(squashed).values()]
    categories = model["categories"]
    dense = np.fromiter(chain.from_iterable(dense_features(r, categories) for r in results), dtype=np.float64)
    blocks.append(_block(dense.reshape(len(results), -1) * model["dense_scale"]))
    return classifier.predict_proba_of_blocks(blocks, len(results))[:, 1].tolist()


def _block(block: Any) -> tuple[Any, Any, Any, int]:
    """A CSR matrix or a dense array as LinearProba.decision_of_blocks reads it: (indptr, indices, data,
    width); a dense array's zeros are passed too (they add nothing to a score)."""
    import numpy as np

    if isinstance(block, np.ndarray):
        n_rows, width = block.shape
        indptr = np.arange(0, n_rows * width + 1, width, dtype=np.int64)
        return indptr, np.tile(np.arange(width, dtype=np.int64), n_rows), block.ravel(), width
    return block.indptr, block.indices, block.data, block.shape[1]


def model_terms(model: dict[str, Any], squashed: Prepared, limit: int = 3) -> list[str]:
    """The written words whose learned weight pushes this text most towards abuse."""
    weights: dict[str, float] = model["word_weights"]
    scored: dict[str, float] = {}
    squashed = mask(squashed, model.get("masked") or frozenset())
    for token, key in zip(squashed.tokens, squashed.folded, strict=True):
        weight = weights.get(key, 0.0)
        if weight > 0 and token not in scored:
            scored[token] = weight
    return [t for t, _ in sorted(scored.items(), key=lambda item: -item[1])[:limit]]


def _reflexive_verb(match: Match, words: list[str]) -> bool:
    """A one-word term right after « s' » is a verb, not an insult: « il s'attarde sur des futilités »
    (real MLMA dev and test tweets) is not « attardé »."""
    return match.start == match.end and match.start > 0 and words[match.start - 1] == "s'"


def _opens_noun_clause(cue: Match, words: list[str]) -> bool:
    """Whether a threat cue is « que » opening a clause about a thing (see _NOUN_PHRASE_OPENERS)."""
    return cue.entry.phrase == "que" and cue.end + 1 < len(words) and words[cue.end + 1] in _NOUN_PHRASE_OPENERS
