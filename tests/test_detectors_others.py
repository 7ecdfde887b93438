"""New terms, negative shift, silence and trending on small synthetic data (fixed seeds)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from classifiers.detection.newterms import NewTermDetector
from classifiers.detection.settings import NewTermSettings, ShiftSettings, SilenceSettings
from classifiers.detection.shift import ShiftDetector
from classifiers.detection.silence import SilenceDetector
from classifiers.detection.spikes import SpikeDetector
from classifiers.detection.trending import compute_trending
from classifiers.detection.trends import log_likelihood_ratio, terms_of
from listener.models import Mention

START = 29_000_000
EVERYDAY = ["Le tram est en retard ce matin", "Belle journée au marché de Rivebelle #rivebelle",
            "La mairie ouvre la piscine demain", "Travaux rue Victor Hugo, circulation difficile"]


def test_a_new_hashtag_used_by_several_people_is_found():
    detector = NewTermDetector(NewTermSettings())
    rng = np.random.default_rng(3)
    mention_id = 0
    events = []
    for minute in range(START, START + 600):
        for _ in range(rng.poisson(2)):
            mention_id += 1
            text = EVERYDAY[rng.integers(len(EVERYDAY))]
            detector.observe(minute, mention_id, f"@h{rng.integers(50)}", terms_of(text, phrases=True))
        if minute >= START + 500 and minute % 2 == 0:  # a new hashtag, 10 authors, from minute 500
            mention_id += 1
            text = "Le pont Neuf s'est effondré !! #PontNeuf"
            detector.observe(minute, mention_id, f"@temoin{minute % 10}", terms_of(text, phrases=True))
        events.extend(detector.evaluate(minute))
    starts = [e for e in events if e.episode == "start"]
    assert [e.key for e in starts] == ["hashtag:pontneuf"]  # one story, one signal (phrases folded into it)
    assert starts[0].authors >= 4 and starts[0].mentions >= 8 and starts[0].sample_ids


def test_one_account_repeating_a_hashtag_is_not_news():
    detector = NewTermDetector(NewTermSettings(warmup_minutes=0))
    events = []
    for i, minute in enumerate(range(START, START + 60)):
        detector.observe(minute, i, "@bot", {"#promo"})
        events.extend(detector.evaluate(minute))
    assert events == []


def test_negative_shift_on_a_topic_is_found_and_small_volumes_are_not():
    detector = ShiftDetector(ShiftSettings())
    rng = np.random.default_rng(5)
    events = []
    for minute in range(START, START + 2 * 1440):
        late = minute >= START + 2 * 1440 - 90
        share = 0.7 if late else 0.2
        total = int(rng.poisson(2))
        negative = int(rng.binomial(total, share))
        small = (1, 1, 0) if late and minute % 20 == 0 else (0, 0, 0)  # a few angry mentions on a quiet topic
        events.extend(detector.step(minute, {"topic:transport": (total, negative, 0), "topic:culture": small}))
    starts = [e for e in events if e.episode == "start"]
    assert [e.key for e in starts] == ["topic:transport"]
    assert starts[0].share > starts[0].baseline + 0.15 and starts[0].volume >= 30


def test_a_silent_source_is_found():
    spikes = SpikeDetector(bucket_minutes=1)
    silence = SilenceDetector(SilenceSettings(), bucket_minutes=1)
    busy, quiet = spikes.key_index("source:mastodon"), spikes.key_index("source:rss")
    silence.watch(busy)
    silence.watch(quiet)
    rng = np.random.default_rng(9)
    stop = 1440 + 600
    events = []
    for offset in range(stop + 60):
        counts = np.array([rng.poisson(10) if offset < stop else 0, rng.poisson(0.01)], dtype=float)
        spikes.step(START + offset, counts)
        events.extend(silence.step(START + offset, counts, spikes.expected_rate(), spikes.dispersion(0),
                                   spikes.ready()))
    starts = [e for e in events if e.episode == "start"]
    assert [spikes.keys[e.index] for e in starts] == ["source:mastodon"]
    assert stop + 14 <= starts[0].minute - START <= stop + 20 and starts[0].expected > 50


def test_log_likelihood_ratio_is_zero_without_difference():
    assert log_likelihood_ratio(10, 100, 1000, 10000) < 1e-9
    assert log_likelihood_ratio(50, 10, 1000, 10000) > 10.83


def test_trending_finds_a_new_group_of_terms(store):
    as_of = datetime(2026, 11, 20, 12, tzinfo=UTC)
    rng = np.random.default_rng(1)
    mentions = []
    for i in range(600):  # background: 5 days of ordinary talk
        at = as_of - timedelta(days=6) + timedelta(minutes=int(rng.integers(0, 5 * 1440)))
        mentions.append(Mention(source="mastodon", external_id=f"b{i}", text=EVERYDAY[i % 4], created_at=at,
                                author_handle=f"@h{i % 40}"))
    for i in range(120):  # last day: ordinary talk plus a story
        at = as_of - timedelta(minutes=int(rng.integers(1, 1400)))
        text = EVERYDAY[i % 4] if i % 3 else "Effondrement du pont Neuf, les secours sur place #PontNeuf"
        mentions.append(Mention(source="mastodon", external_id=f"r{i}", text=text, created_at=at,
                                author_handle=f"@r{i % 30}"))
    store.insert_mentions(mentions)
    trending = compute_trending(store, as_of)
    assert trending, "nothing trending"
    top = trending[0]
    assert "#pontneuf" in top.terms and "effondrement" in top.terms
    assert top.volume == 40 and top.previous_volume == 0 and top.change >= 40
    assert abs(top.negative + top.neutral + top.positive - 1) < 0.01 and top.sample_ids
    assert top.key is None  # no counters in this store: the digest draws no chart for it
    assert all("tram" not in group.terms for group in trending)


def test_hostility_rising_from_nothing_is_a_shift_even_when_negativity_barely_moves():
    detector = ShiftDetector(ShiftSettings())
    rng = np.random.default_rng(6)
    events = []
    for minute in range(START, START + 1440):
        late = minute >= START + 1440 - 60
        total = int(rng.poisson(4))
        negative = int(rng.binomial(total, 0.45 if late else 0.4))
        hostile = int(rng.binomial(total, 0.15)) if late else 0
        events.extend(detector.step(minute, {"all": (total, negative, hostile)}))
    starts = [e for e in events if e.episode == "start"]
    assert [(e.key, e.measure) for e in starts] == [("all", "hostile")]
    assert starts[0].baseline < 0.03 and starts[0].share >= 0.07
