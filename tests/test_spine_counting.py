"""The ingest path's shortcuts give what the plain definitions give.

Counters, stored dates and id checks are read by detectors, rules and the web UI: the per-bucket tally,
the table-built ISO date, the hashtag regex and the one-call id check must answer exactly as the
definitions they replace (sum of `keys_for`, `isoformat`, the lookbehind-first regex, the two regexes).
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone

import pytest

from classifiers.types import Classification, Label
from listener.counting import KeyCounter
from listener.errors import InvalidMention
from listener.models import Mention
from listener.textfold import folded_hashtags
from listener.timeutil import to_iso
from tests.conftest import SHARED

DEFINITION_HASHTAG = re.compile(r"(?<![\w&])#(\w{2,64})", re.UNICODE)


def _texts() -> list[str]:
    texts = ["#Grève au #tram", "la mairie ferme", "&#39;#ab a#bc ##ab #a #é日本 _#xy", "Tramway mairie-annexe #Tram"]
    if (SHARED / "data" / "crisislex-fr-dev" / "tweets.jsonl").exists():
        with (SHARED / "data" / "crisislex-fr-dev" / "tweets.jsonl").open(encoding="utf-8") as handle:
            texts += [json.loads(line).get("text") or "" for line in handle if line.strip()]
    return [text for text in texts if text.strip()]


def test_batch_counts_are_the_sum_of_each_mentions_keys() -> None:
    counter = KeyCounter(["mairie", "tram", "pont neuf", "東京"])
    rng = random.Random(14)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    labels = Classification(sentiment="negative", sentiment_score=-0.8, topics=[Label("transports", 0.9)],
                            hostile=True, crisis=[Label("inondation", 0.7)], abusive=True, threat=False)
    mentions = [
        Mention(source=rng.choice(["mastodon", "rss", "bluesky"]), external_id=str(i), text=text,
                created_at=start + timedelta(seconds=rng.randint(0, 600)),
                labels=labels if i % 3 == 0 else None)
        for i, text in enumerate(_texts())
    ]
    expected: Counter[tuple[str, int]] = Counter()
    for mention in mentions:
        bucket = int(mention.created_at.timestamp()) // 60
        for key in counter.keys_for(mention):
            expected[(key, bucket)] += 1
    got = counter.count(mentions)
    assert got == expected
    assert got[("all", int(start.timestamp()) // 60)] > 0
    assert any(key == "hashtag:greve" for key, _ in got) and any(key == "neg:topic:transports" for key, _ in got)


def test_hashtags_are_what_the_definition_finds() -> None:
    rng = random.Random(7)
    alphabet = "ab#&_ é1\n日"
    texts = _texts() + ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))) for _ in range(20_000)]
    for text in texts:
        assert folded_hashtags(text) == list(dict.fromkeys(DEFINITION_HASHTAG.findall(text))), repr(text)
    assert folded_hashtags("&#39; a#bc #ok ##ab") == ["ok", "ab"]


def test_stored_dates_are_isoformat_to_the_second_in_utc() -> None:
    rng = random.Random(3)
    paris = timezone(timedelta(hours=1))
    for _ in range(20_000):
        moment = datetime(rng.randint(1, 9999), 1, 1) + timedelta(seconds=rng.randint(0, 364 * 86400),
                                                                  microseconds=rng.randint(0, 999_999))
        for variant in (moment, moment.replace(tzinfo=UTC), moment.replace(tzinfo=paris)):
            if variant.tzinfo is paris and variant.year == 1 and variant.timetuple().tm_yday == 1:
                continue  # would fall before year 1 in UTC
            in_utc = variant.replace(tzinfo=UTC) if variant.tzinfo is None else variant.astimezone(UTC)
            assert to_iso(variant) == in_utc.isoformat(timespec="seconds")[:19] + "Z"


@pytest.mark.parametrize("bad, problem", [
    ("a\nb", "control characters are not allowed"), ("x\x1by", "control characters are not allowed"),
    ("\u202eevil", "control characters are not allowed"), ("ok\u2028x", "control characters are not allowed"),
    ("c1\x85x", "control characters are not allowed"), ("\ud800x", "invalid Unicode (lone surrogate)"),
    ("a" * 513, "at most 512 characters"), ("   ", "a non-empty string is required"),
])
def test_an_id_with_a_forbidden_character_is_refused_with_its_reason(bad: str, problem: str) -> None:
    with pytest.raises(InvalidMention) as caught:
        Mention.from_dict({"source": "s", "external_id": bad, "text": "t", "created_at": "2026-11-01T10:00:00Z"})
    assert (caught.value.field, caught.value.problem) == ("external_id", problem)


@pytest.mark.parametrize("odd", ["tab\there", "nb\u00a0sp", "zero\u200bwidth", "émoji😀", " padded "])
def test_an_id_that_is_odd_but_harmless_is_kept(odd: str) -> None:
    mention = Mention.from_dict({"source": "s", "external_id": odd, "text": "t", "created_at": "2026-11-01T10:00:00Z"})
    assert mention.external_id == odd.strip()


def test_a_date_reads_the_same_in_every_form() -> None:
    base = {"source": "s", "external_id": "1", "text": "t"}
    for stamp in ("2026-11-01T10:00:00Z", "2026-11-01T11:00:00+01:00", " 2026-11-01T10:00:00.000Z ", 1793527200):
        mention = Mention.from_dict({**base, "created_at": stamp}, now=datetime(2026, 11, 2, tzinfo=UTC))
        assert mention.created_at == datetime(2026, 11, 1, 10, tzinfo=UTC)
    with pytest.raises(InvalidMention, match="before 1971"):
        Mention.from_dict({**base, "created_at": "1960-01-01T00:00:00Z"})


def test_batches_of_any_size_are_stored_in_order_with_their_counts(tmp_path) -> None:
    from listener.store import Store

    store = Store(tmp_path / "vigie.db")
    start = datetime(2026, 11, 1, tzinfo=UTC)
    expected: Counter[tuple[str, int]] = Counter()
    sent = 0
    for size in (1, 2, 3, 127, 128, 129, 300, 1000):
        mentions = [Mention(source="s", external_id=f"{size}-{i}", text=f"texte {i}", created_at=start) for i in range(size)]
        inserted = store.insert_mentions(mentions)
        assert [m.external_id for m in inserted] == [m.external_id for m in mentions]
        rows = store.conn.execute("SELECT id, external_id FROM mentions WHERE id > ? ORDER BY id", [sent]).fetchall()
        assert rows == [(m.id, m.external_id) for m in mentions]
        sent += size
        counts = {(f"k{i % 257}", i): 1 + i % 3 for i in range(size)}
        store.add_counts(counts)
        store.add_counts(counts)
        for key, n in counts.items():
            expected[key] += 2 * n
    stored = {(key, bucket): n for key, bucket, n in store.conn.execute("SELECT key, bucket, n FROM counts")}
    assert stored == dict(expected)
    # A batch that meets ids already stored keeps only the new ones, in order.
    again = [Mention(source="s", external_id=eid, text="t", created_at=start) for eid in ("3-1", "new-1", "3-2", "new-2")]
    assert [m.external_id for m in store.insert_mentions(again)] == ["new-1", "new-2"]
    assert store.count_mentions() == sent + 2
    store.close()


def _definition_has_word(folded: str, term: str) -> bool:
    """A watched word counts where it is neither preceded nor followed by an ASCII letter or digit."""
    start = folded.find(term)
    while start != -1:
        end = start + len(term)
        before_ok = start == 0 or not (folded[start - 1].isalnum() and folded[start - 1].isascii())
        after_ok = end == len(folded) or not (folded[end].isalnum() and folded[end].isascii())
        if before_ok and after_ok:
            return True
        start = folded.find(term, start + 1)
    return False


def test_watched_words_match_whole_words_only() -> None:
    rng = random.Random(5)
    alphabet = "tramTRAM9 -é_日\n"
    terms = ["tram", "tra", "am", "a", "tramtram", "9"]
    counter = KeyCounter(terms)
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 20)))
        assert counter._keywords(text) == {term for term in terms if _definition_has_word(text, term)}, repr(text)
    assert KeyCounter(["tram"])._keywords("le tramway, la tram-bus, tram9") == {"tram"}
    assert KeyCounter(["tram"])._keywords("le tramway et le tram9") == set()
