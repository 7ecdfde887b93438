"""Spike detector throughput: 10,000 counter keys × 28 days of minute buckets (synthetic Poisson and
negative-binomial series with a daily rhythm), and the time of one minute's pass over 10,000 keys.
Target: one pass < 1 s (the daemon runs one per minute). VIGIE_BENCH_DAYS shortens the run."""

from __future__ import annotations

import os
import time

import numpy as np

from classifiers.detection.spikes import SpikeDetector

KEYS = 10_000
DAY = 1440


def main() -> None:
    days = float(os.environ.get("VIGIE_BENCH_DAYS", "28"))
    buckets = int(days * DAY)
    rng = np.random.default_rng(42)
    detector = SpikeDetector(bucket_minutes=1, capacity=KEYS)
    for i in range(KEYS):
        detector.key_index(f"hashtag:k{i}" if i % 3 else f"topic:t{i}")
    base = rng.lognormal(mean=-1.0, sigma=1.5, size=KEYS)  # from a few per day to hundreds per minute
    overdispersed = rng.random(KEYS) < 0.5
    size = 5.0  # NB shape for the overdispersed half (variance = mu + mu²/5)
    start = 29_000_000
    generated = 0.0
    passes = []
    events = 0
    total_started = time.perf_counter()
    for offset in range(buckets):
        minute = start + offset
        t0 = time.perf_counter()
        rhythm = 1.0 + 0.7 * np.sin(2 * np.pi * ((minute % DAY) / DAY - 0.375))
        mu = base * rhythm
        counts = rng.poisson(mu).astype(float)
        gamma = rng.gamma(size, 1.0 / size, KEYS)
        counts[overdispersed] = rng.poisson(mu[overdispersed] * gamma[overdispersed])
        t1 = time.perf_counter()
        generated += t1 - t0
        result = detector.step(minute, counts)
        passes.append(time.perf_counter() - t1)
        events += sum(1 for event in result.events if event.episode == "start")
    total = time.perf_counter() - total_started - generated
    passes_ms = np.asarray(passes) * 1000
    print(f"keys: {KEYS:,}  buckets: {buckets:,} ({days:g} days of minutes)")
    print(f"detection time: {total:.1f} s  → {KEYS * buckets / total:,.0f} key-buckets/s")
    print(f"one minute's pass over {KEYS:,} keys: median {np.median(passes_ms):.1f} ms, "
          f"p99 {np.percentile(passes_ms, 99):.1f} ms, max {passes_ms.max():.1f} ms (target < 1000 ms)")
    print(f"episodes opened on pure noise: {events} ({events / KEYS / max(days, 1e-9) * 7:.3f} per key per week)")


if __name__ == "__main__":
    main()
