"""Spike detector on synthetic count series (fixed seeds): what an operator would notice."""

from __future__ import annotations

import numpy as np
import pytest

from classifiers.detection.settings import SpikeSettings
from classifiers.detection.spikes import SpikeDetector, nb_upper_tail

DAY = 1440
START = 29_000_000  # an epoch minute (2025), midnight-aligned enough for a daily rhythm


def daily(minutes: np.ndarray, base: float, amplitude: float = 0.6) -> np.ndarray:
    """A daily rhythm: busy afternoons, quiet nights."""
    phase = 2 * np.pi * ((minutes % DAY) / DAY - 0.375)
    return base * (1 + amplitude * np.sin(phase))


def run(detector: SpikeDetector, matrix: np.ndarray, start: int = START):
    """Feed a (buckets, keys) matrix; return the events per key as (offset, episode)."""
    found: dict[str, list[tuple[int, str]]] = {key: [] for key in detector.keys}
    for offset, row in enumerate(matrix):
        for event in detector.step(start + offset * detector.bucket_minutes, row).events:
            found[detector.keys[event.index]].append((offset, event.episode))
    return found


@pytest.fixture(scope="module")
def minute_run():
    """Four days of minute buckets, several behaviours side by side (one vectorised detector)."""
    rng = np.random.default_rng(7)
    n = 4 * DAY
    minutes = START + np.arange(n)
    detector = SpikeDetector(bucket_minutes=1)
    columns = {}
    rate = daily(minutes, 6.0)
    flood = rate.copy()
    flood_at = 3 * DAY + 600
    flood[flood_at: flood_at + 40] *= 8
    columns["crisis:inondation"] = rng.poisson(flood)
    columns["topic:voirie"] = rng.poisson(rate)  # gentle rhythm, nothing else
    surge = rate.copy()
    surge_at = 3 * DAY + 300
    surge[surge_at: surge_at + 180] *= 4
    columns["hashtag:greve"] = rng.poisson(surge)
    columns["keyword:tram"] = rng.choice([0, 0, 0, 1, 1, 2, 3], size=n)  # low-volume noise, 0–3/min
    for key in columns:
        detector.key_index(key)
    matrix = np.column_stack([columns[key] for key in detector.keys]).astype(float)
    return run(detector, matrix), flood_at, surge_at, detector


def test_flood_is_found_within_two_buckets_of_its_start(minute_run):
    events, flood_at, _, _ = minute_run
    starts = [offset for offset, kind in events["crisis:inondation"] if kind == "start"]
    assert starts, "the flood was missed"
    assert flood_at <= starts[0] <= flood_at + 1


def test_gentle_daily_rhythm_is_not_flagged(minute_run):
    events, *_ = minute_run
    assert events["topic:voirie"] == []


def test_sustained_surge_is_one_episode_not_one_alert_per_bucket(minute_run):
    events, _, surge_at, _ = minute_run
    starts = [offset for offset, kind in events["hashtag:greve"] if kind == "start"]
    updates = [offset for offset, kind in events["hashtag:greve"] if kind == "update"]
    ends = [offset for offset, kind in events["hashtag:greve"] if kind == "end"]
    assert len(starts) == 1 and surge_at <= starts[0] <= surge_at + 5
    assert len(updates) <= 180 // 60 + 3  # severity rises and hourly reminders only
    assert len(ends) == 1 and ends[0] > surge_at + 180


def test_low_volume_noise_is_not_flagged(minute_run):
    events, *_ = minute_run
    assert events["keyword:tram"] == []


def test_a_spike_carries_its_numbers(minute_run):
    *_, detector = minute_run
    assert detector.ready().all()
    assert (detector.expected_rate() > 0).all()


def test_three_to_nine_is_noise_but_three_hundred_to_nine_hundred_is_a_spike():
    """Same ratio, very different evidence: the count-aware test tells them apart (5-minute buckets)."""
    rng = np.random.default_rng(11)
    n = 3 * 288
    detector = SpikeDetector(bucket_minutes=5)
    small, big = detector.key_index("hashtag:petit"), detector.key_index("all")
    matrix = np.zeros((n, 2))
    matrix[:, small] = rng.poisson(3.0, n)
    matrix[:, big] = rng.negative_binomial(50, 50 / (50 + 300.0), n)  # mean 300, mildly overdispersed
    at = n - 20
    matrix[at, small] = 9
    matrix[at, big] = 900
    events = run(detector, matrix)
    assert not [e for e in events["hashtag:petit"] if e[1] == "start"]
    assert (at, "start") in events["all"]


def test_nb_tail_is_poisson_without_overdispersion_and_heavier_with_it():
    poisson = nb_upper_tail(np.array([9.0]), np.array([3.0]), np.array([0.0]))[0]
    assert poisson == pytest.approx(0.0038, abs=2e-4)
    assert nb_upper_tail(np.array([9.0]), np.array([3.0]), np.array([0.5]))[0] > poisson
    assert nb_upper_tail(np.array([0.0]), np.array([3.0]), np.array([0.0]))[0] == 1.0


def test_keys_can_be_added_while_running():
    detector = SpikeDetector(SpikeSettings(warmup_minutes=0), bucket_minutes=1, capacity=2)
    for i in range(100):
        detector.key_index(f"hashtag:t{i}")
        detector.step(START + i, np.ones(len(detector.keys)))
    assert len(detector.keys) == 100 and detector.capacity >= 100


def test_idle_keys_can_be_forgotten_without_disturbing_the_others():
    detector = SpikeDetector(SpikeSettings(warmup_minutes=0), bucket_minutes=1)
    keep, drop = detector.key_index("all"), detector.key_index("hashtag:old")
    for i in range(30):
        detector.step(START + i, np.array([5.0, 1.0 if i < 5 else 0.0]))
    level = detector.level[keep]
    assert detector.idle_keys(START + 30, 20, ("hashtag:",)) == {"hashtag:old"}
    detector.forget({"hashtag:old"})
    assert detector.keys == ["all"] and detector.index == {"all": 0} and detector.level[0] == level
    assert drop == 1 and detector.key_index("hashtag:new") == 1 and detector.level[1] == 0


def _two_bursts(settings: SpikeSettings, gap: int, second: float) -> list[int]:
    """Steady 20/min, a x5 burst on day 1, then a `second`x burst `gap` minutes later: start offsets."""
    rng = np.random.default_rng(3)
    rate = np.full(3 * DAY, 20.0)
    first_at = DAY + 600
    rate[first_at: first_at + 20] *= 5
    rate[first_at + gap: first_at + gap + 20] *= second
    detector = SpikeDetector(settings, bucket_minutes=1)
    detector.key_index("all")
    events = run(detector, rng.poisson(rate).astype(float)[:, None])
    return [offset - first_at for offset, kind in events["all"] if kind == "start"]


def test_refractory_period_holds_back_even_a_stronger_second_burst():
    assert len(_two_bursts(SpikeSettings(), gap=180, second=8)) == 2  # escalation re-opens by default
    starts = _two_bursts(SpikeSettings(refractory_minutes=DAY), gap=180, second=8)
    assert len(starts) == 1 and 0 <= starts[0] <= 2


def test_return_period_rarity_blocks_bursts_that_are_routine_for_the_key():
    often = _two_bursts(SpikeSettings(calibration_return_days=0.25), gap=DAY, second=4)
    rare = _two_bursts(SpikeSettings(calibration_return_days=10.0), gap=DAY, second=4)
    assert len(often) == 2 and len(rare) < len(often)
    detector = SpikeDetector(SpikeSettings(calibration_return_days=5.0), bucket_minutes=5)
    detector.key_index("all")
    for i in range(288):  # one day of 5-minute buckets: one day of history (7-day half-life)
        detector.step(START + 5 * i, np.array([3.0]))
    history_days = detector.calibration_time[0] / detector.calibration_weight
    assert history_days == pytest.approx(1.0, rel=0.1)
