"""Rules evaluation cost per minute: 200 rules of every type over 10,000 counter keys.

Each measured minute brings 10,000 fresh counter rows (one per key), 1,000 detector signals spread over
those keys and 500 labelled mentions; a handful of them match. Target: < 100 ms per minute pass.
A second figure adds one hour of counter history (what 60-minute volume windows read).

Like the daemon (classifiers/stack.py calls gc.freeze() once models and modules are loaded), what exists
once start-up is done is frozen out of the cyclic GC before the measured minutes; full (generation 2)
collections that still happen during a measured pass stay in its figure and are counted in the output.
"""

from __future__ import annotations

import gc
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from classifiers.types import Classification, Label
from listener.areas import open_store
from listener.models import Mention, Signal
from listener.settings import settings_from_dict
from listener.timeutil import minute_bucket
from rules.engine import RulesEngine

KEYS = 10_000
RULES = 200
MINUTES = 15
START = datetime(2026, 11, 17, 8, 0, tzinfo=UTC)
TOPICS = [f"sujet{i}" for i in range(40)]
PREFIXES = ("topic", "hashtag", "keyword", "crisis", "source")


def counter_keys() -> list[str]:
    keys = ["all"] + [f"topic:{t}" for t in TOPICS] + [f"neg:topic:{t}" for t in TOPICS]
    i = 0
    while len(keys) < KEYS:
        keys.append(f"{PREFIXES[i % len(PREFIXES)]}:terme{i}")
        i += 1
    return keys


def build_rules(rng: random.Random) -> list[dict]:
    rules: list[dict] = []
    plan = [("spike", 40), ("volume", 30), ("negative_share", 30), ("new_term", 25), ("silence", 15),
            ("keyword", 20), ("crisis_reports", 5), ("hostility", 20), ("influencer", 15)]
    for kind, count in plan:
        for n in range(count):
            rule: dict = {"name": f"{kind}-{n}", "type": kind}
            prefix = PREFIXES[n % len(PREFIXES)]
            if kind == "spike":
                rule |= {"keys": [f"{prefix}:terme{n}*"] if n % 2 else [f"{prefix}:terme{n * 7}", "all"], "min_score": 9.9}
            elif kind == "volume":
                rule |= {"keys": [f"{prefix}:*"], "min_count": 150 + n, "window_minutes": 10 if n % 2 else 60}
            elif kind == "negative_share":
                rule |= {"keys": [f"topic:{TOPICS[n]}"], "min_share": 0.9, "min_volume": 20}
            elif kind == "new_term":
                rule |= {"keys": ["hashtag:*"], "min_authors": 11 + n}
            elif kind == "silence":
                rule |= {"keys": ["source:*"], "min_silent_minutes": 49 + n}
            elif kind == "keyword":
                rule |= {"terms": [f"crise{n}", f"alerte {n}"], "min_mentions": 3}
            elif kind == "crisis_reports":
                rule |= {"crisis_kinds": [["incendie", "explosion", "inondation", "evacuation", "attentat"][n]],
                         "vigilance_authors": 3 + n, "crise_authors": 20 + n}
            elif kind == "hostility":
                rule |= {"targets": [f"Élu {n}"], "min_mentions": 2}
            else:
                rule |= {"min_followers": 20_000 + n * 3000}
            rules.append(rule)
    assert len(rules) == RULES
    return rules


def minute_data(rng: random.Random, keys: list[str], minute: int, storm: float) -> tuple[dict, list[Signal], list[Mention]]:
    at = START + timedelta(minutes=minute)
    bucket = minute_bucket(at) - 1
    counts = {(key, bucket): rng.choice((1, 1, 1, 2, 2, 3, 5, 8)) for key in keys}
    signals = []
    kinds = ["spike"] * 6 + ["negative_shift"] * 2 + ["new_term", "silence"]
    for i in range(1000):
        kind = kinds[i % len(kinds)]
        key = rng.choice(keys)
        details: dict = {"episode": "start", "window_minutes": 10}
        observed, expected = float(rng.randint(5, 60)), float(rng.randint(1, 10))
        if kind == "negative_shift":
            key = f"topic:{rng.choice(TOPICS)}"
            observed, expected = (0.95 if rng.random() < 0.01 * storm else rng.uniform(0.2, 0.6)), 0.3
            details |= {"volume": rng.randint(5, 80)}
        elif kind == "new_term":
            key = f"hashtag:nouveau{minute}_{i}"
            details |= {"authors": rng.randint(1, 11), "sample_ids": []}
        elif kind == "silence":
            key = f"source:terme{rng.randrange(0, KEYS, 5)}"
            details |= {"silent_minutes": rng.randint(5, 50)}
        signals.append(Signal(kind=kind, key=key, at=at - timedelta(seconds=1), score=rng.uniform(1, 10),
                              severity="warning", observed=observed, expected=expected, details=details))
    mentions = []
    for i in range(500):
        hostile = rng.random() < 0.02
        labels = Classification(
            sentiment=rng.choice(["negative", "neutral", "positive"]), topics=[Label(rng.choice(TOPICS), 0.8)],
            hostile=hostile, hostility_score=0.8 if hostile else 0.0,
            hostility_targets=[f"Élu {rng.randrange(40)}"] if hostile else [],
            crisis=[Label(rng.choice(["incendie", "inondation", "accident_grave"]), 0.9)]
            if rng.random() < 0.004 * storm else [],
        )
        words = " ".join(f"mot{rng.randrange(400)}" for _ in range(12))
        if rng.random() < 0.02:
            words += f" crise{rng.randrange(25)}"
        mentions.append(Mention(
            source=rng.choice(["mastodon", "bluesky", "rss"]), external_id=f"{minute}-{i}", text=words,
            created_at=at - timedelta(seconds=rng.uniform(1, 59)), author_handle=f"@u{rng.randrange(3000)}",
            author_followers=60_000 if rng.random() < 0.003 * storm else rng.choice([100, 800, 5000]), lang="fr", likes=rng.randrange(30),
            labels=labels,
        ))
    return counts, signals, mentions


def run(history_minutes: int, storm: float = 1.0) -> dict:
    rng = random.Random(11)
    keys = counter_keys()
    with tempfile.TemporaryDirectory() as folder:
        store = open_store(Path(folder) / "bench.db")
        settings = settings_from_dict({
            "store": {"path": str(Path(folder) / "bench.db")},
            "rules": {"rules": build_rules(rng), "groups": {"cellule": {"console": True, "emails": ["c@x.fr"]}},
                      "escalation_group": "cellule"},
        })
        engine = RulesEngine(store, settings)
        first = minute_bucket(START)
        for back in range(history_minutes, 0, -1):
            store.add_counts({(key, first - back): rng.choice((0, 1, 1, 2)) for key in keys})
        engine.evaluate(START)  # first pass: sets the engine's starting point
        gc.collect()
        gc.freeze()  # start-up done: as the daemon does once its classifiers are loaded
        full_gc: list[float] = []
        gc_started: list[float] = []
        measuring = False

        def watch_gc(phase: str, info: dict) -> None:
            if info["generation"] != 2 or not measuring:
                return
            if phase == "start":
                gc_started.append(time.perf_counter())
            elif gc_started:
                full_gc.append((time.perf_counter() - gc_started.pop()) * 1000)

        gc.callbacks.append(watch_gc)
        timings, alerts = [], 0
        try:
            for minute in range(1, MINUTES + 1):
                counts, signals, mentions = minute_data(rng, keys, minute, storm)
                store.add_counts(counts)
                store.add_signals(signals)
                store.insert_mentions(mentions)
                measuring = True
                started = time.perf_counter()
                events = engine.evaluate(START + timedelta(minutes=minute))
                timings.append((time.perf_counter() - started) * 1000)
                measuring = False
                alerts += sum(1 for e in events if e["action"] == "new")
        finally:
            gc.callbacks.remove(watch_gc)
            gc.unfreeze()
        outbox = store.conn.execute("SELECT count(*) FROM outbox").fetchone()[0]
        store.close()
    return {"timings": timings, "alerts": alerts, "outbox": outbox, "full_gc": full_gc}


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


def main() -> None:
    print(f"Rules evaluation: {RULES} rules (9 types, incidents included), {KEYS:,} counter keys, 1,000 signals and 500 mentions per minute")
    print(f"Cost of one per-minute pass over {MINUTES} measured minutes (every minute counted, the first "
          f"included; start-up heap frozen out of the GC as in the daemon); target < 100 ms")
    print(f"  {'scenario':<32} {'median':>8} {'p95':>8} {'max':>8}   full GCs in passes   alerts / outbox rows")
    cases = [("one minute of counters", 0, 1.0), ("plus 60 min of counter history", 60, 1.0),
             ("alert storm (x10 matches)", 0, 10.0)]
    for label, history, storm in cases:
        result = run(history, storm)
        timings, full_gc = result["timings"], result["full_gc"]
        gcs = f"{len(full_gc)} ({sum(full_gc):.1f} ms)" if full_gc else "0"
        print(f"  {label:<32} {statistics.median(timings):5.1f} ms {p95(timings):5.1f} ms {max(timings):5.1f} ms   "
              f"{gcs:<20} {result['alerts']} / {result['outbox']}"
              + ("" if max(timings) < 100 else "   OVER TARGET"))


if __name__ == "__main__":
    main()
