"""Classifier stack throughput on one core (batches of 500, like the pipeline) and on-disk size of the
shipped models and lexicons, and `vigie classify` of 2,000 texts from a cold start. Targets: ≥ 10,000
mentions/s, ≤ 20 MB, ≤ 3 s.

Texts: the umsab-fr French tweets (train + val) plus crisis, topic and hostility sentences, repeated with
a varying suffix (so no two texts are identical) up to 22,000 mentions.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one core, as the daemon's pipeline runs

import random  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
UMSAB = ROOT.parent / "shared" / "data" / "umsab-fr"
TARGET_RATE = 10_000
TARGET_CLI_S = 3.0
CLI_TEXTS = 2_000
TARGET_MB = 20.0
COUNT = 22_000
BATCH = 500

EXTRA = [
    "Embouteillages monstres sur la rocade ce matin, le bus 12 a 20 minutes de retard",
    "Incendie en cours rue Victor Hugo, les pompiers sont sur place",
    "Coupure d'eau dans tout le quartier nord depuis 6h, aucune info de la mairie",
    "Exercice d'évacuation à l'école Jean Jaurès ce matin, pas d'inquiétude",
    "Le feu d'artifice du 14 juillet était magnifique, bravo la ville !",
    "Madame la maire, démissionnez, vous êtes une incompétente !",
    "Les travaux durent trop longtemps, la mairie pourrait mieux communiquer",
    "#TravauxRueDeLaPaix : rue fermée et poubelles qui débordent",
    "Vigilance orange orages cet après-midi sur Rivebelle",
    "Quelle honte pour les supporters adverses, ils ont sifflé l'hymne",
    "La cantine de l'école Pasteur est fermée jeudi, grève des agents",
    "Plus d'électricité dans tout le centre-ville depuis une heure",
]


def texts(count: int = COUNT) -> list[str]:
    base: list[str] = []
    for name in ("train_text.txt", "val_text.txt"):
        path = UMSAB / name
        if path.exists():
            base.extend(line.rstrip("\n") for line in path.open(encoding="utf-8") if line.strip())
    base.extend(EXTRA * 5)
    rng = random.Random(3)
    out: list[str] = []
    while len(out) < count:
        for text in base:
            out.append(f"{text} #{rng.choice(('rivebelle', 'info', 'ville'))} {rng.randint(1, 999)}")
    return out[:count]


def asset_bytes() -> dict[str, int]:
    folders = [ROOT / "classifiers" / "models", ROOT / "classifiers" / "data"]
    sizes: dict[str, int] = {}
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                sizes[str(path.relative_to(ROOT))] = path.stat().st_size
    return sizes


def cli_seconds(count: int = CLI_TEXTS) -> tuple[float, int]:
    """Wall time of `vigie classify --field hostile` on `count` texts, start-up included, and the lines out."""
    import subprocess
    import sys

    data = ("\n".join(texts(count)) + "\n").encode("utf-8")
    vigie = Path(sys.executable).with_name("vigie")
    started = time.perf_counter()
    done = subprocess.run([str(vigie), "classify", "--field", "hostile", "--config", str(ROOT / "config.toml")],
                          input=data, capture_output=True, check=True)
    return time.perf_counter() - started, done.stdout.count(b"\n")


def main() -> None:
    from classifiers.lexicon import View
    from classifiers.stack import ClassifierStack
    from classifiers.text import prepare_many
    from listener.settings import load_settings

    settings = load_settings(ROOT / "config.toml")
    started = time.perf_counter()
    stack = ClassifierStack.load(settings.classifiers, settings.institution)
    load_s = time.perf_counter() - started
    corpus = texts()
    batches = [corpus[i : i + BATCH] for i in range(0, len(corpus), BATCH)]
    stack.classify_batch(batches[0])  # warm-up (first-use imports)

    started, cpu_started = time.perf_counter(), time.process_time()
    hostile = crisis = with_topic = 0
    for batch in batches:
        for labels in stack.classify_batch(batch):
            hostile += labels.hostile
            crisis += bool(labels.crisis)
            with_topic += bool(labels.topics)
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    wall_rate = len(corpus) / elapsed
    # CPU time of this process: the figure for "one core" even when other jobs share the machine.
    rate = len(corpus) / cpu

    # Where the time goes, stage by stage (same batches).
    stages = dict.fromkeys(("prepare", "sentiment", "topics", "abuse+hostility", "crisis"), 0.0)
    clock = time.process_time
    for batch in batches:
        t0 = clock()
        prepared = prepare_many(batch)
        views = [View(item) for item in prepared]
        t1 = clock()
        if stack.sentiment is not None:
            stack.sentiment.predict(prepared)
        t2 = clock()
        stack.topics.classify_many(views)
        t3 = clock()
        stack.hostility.classify_many(views)
        t4 = clock()
        stack.crisis.detect_many(views)
        t5 = clock()
        for name, spent in zip(stages, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4), strict=True):
            stages[name] += spent

    sizes = asset_bytes()
    total_mb = sum(sizes.values()) / 1e6
    print(f"stack load: {load_s:.2f} s (sentiment model: {'yes' if stack.sentiment else 'MISSING'}, "
          f"abuse model: {'yes' if stack.hostility.model else 'no'}, "
          f"topic model: {'yes' if stack.topics.model else 'no'})")
    print(f"texts: {len(corpus)} in batches of {BATCH}; with topic {with_topic}, hostile {hostile}, "
          f"crisis {crisis}")
    print(f"full stack: {rate:,.0f} mentions/s per core (CPU time; wall clock {wall_rate:,.0f}/s) "
          f"(target ≥ {TARGET_RATE:,}) {'OK' if rate >= TARGET_RATE else 'BELOW TARGET'}")
    per_text = {name: spent / len(corpus) * 1e6 for name, spent in stages.items()}
    print("per mention: " + ", ".join(f"{name} {us:.1f} µs" for name, us in per_text.items()))
    for name, size in sizes.items():
        print(f"  {name}: {size / 1e3:,.1f} kB")
    print(f"models + data: {total_mb:.2f} MB (target ≤ {TARGET_MB:.0f}) {'OK' if total_mb <= TARGET_MB else 'ABOVE'}")
    seconds, lines = cli_seconds()
    print(f"vigie classify of {CLI_TEXTS:,} texts (start-up included, wall clock): {seconds:.2f} s, {lines:,} lines "
          f"(target ≤ {TARGET_CLI_S:.0f} s) {'OK' if seconds <= TARGET_CLI_S and lines == CLI_TEXTS else 'ABOVE'}")


if __name__ == "__main__":
    main()
