"""Crisis labels measured on real French text: recall on real crisis reports, false alarms on ordinary text.

- Crisis reports: ../shared/data/crisislex-fr-dev (71 real French tweets from crisis events). Which tweets
  *report* a crisis (occurring or its immediate aftermath: damage, casualties, rescue) was labelled by
  hand once, for every tweet, before measuring (classifiers/data/crisislex_fr_labels.jsonl); the crowd's
  "informativeness" label is too noisy to use as is. The events are split in two with a fixed seed: the
  lexicon was only ever adjusted while looking at the "dev" events; "held_out" events are the figure.
- Ordinary text: umsab-fr val (324 tweets) and the MLMA test tweets labelled "normal" (kept apart in
  classifiers/abuse_training.split_mlma): the share that gets any crisis label is the false-alarm rate.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from classifiers.abuse_training import DATA_ROOT, load_mlma, load_umsab_texts, prf, split_mlma
from classifiers.crisis import CrisisDetector
from classifiers.lexicon import View
from classifiers.text import prepare_many

LABELS = Path(__file__).with_name("data") / "crisislex_fr_labels.jsonl"
SEED = 13


def load_crisislex(data_root: Path | None = None) -> list[dict[str, Any]]:
    """The crisislex tweets joined with the hand labels (report 1/0)."""
    from listener.errors import VigieError

    path = (data_root or DATA_ROOT) / "crisislex-fr-dev" / "tweets.jsonl"
    if not path.exists():
        raise VigieError(f"Données CrisisLex introuvables : {path}. Indiquez le dossier des données avec --data.")
    labels = {row["id"]: row for row in map(json.loads, LABELS.read_text(encoding="utf-8").splitlines()) if row}
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [{**row, "report": labels[row["id"]]["report"]} for row in rows if row["id"] in labels]


def split_events(rows: list[dict[str, Any]], seed: int = SEED) -> tuple[set[str], set[str]]:
    """(dev events, held-out events): a fixed shuffle of the event names, half each."""
    events = sorted({row["event"] for row in rows})
    random.Random(seed).shuffle(events)
    half = len(events) // 2
    return set(events[:half]), set(events[half:])


def evaluate(data_root: Path | None = None, detector: CrisisDetector | None = None) -> dict[str, Any]:
    detector = detector or CrisisDetector.load()
    rows = load_crisislex(data_root)
    dev, held = split_events(rows)

    def fired(texts: list[str]) -> list[bool]:
        return [bool(labels) for labels in detector.detect_many([View(p) for p in prepare_many(texts)])]

    report: dict[str, Any] = {}
    for name, events in (("held_out", held), ("dev", dev)):
        part = [row for row in rows if row["event"] in events]
        report[name] = prf([bool(row["report"]) for row in part], fired([row["text"] for row in part]))
        report[name]["events"] = len(events)
    ordinary = load_umsab_texts("val", data_root)
    normal = [row["text"] for row in split_mlma(load_mlma(data_root))["test"] if row["labels"] == "normal"]
    flags = fired(ordinary + normal)
    report["ordinary"] = {"n": len(flags), "flagged": sum(flags), "rate": round(sum(flags) / len(flags), 4),
                          "examples": [t for t, f in zip(ordinary + normal, flags, strict=True) if f][:5]}
    return report


def format_report(report: dict[str, Any]) -> str:
    """The crisis figures in French."""
    lines = ["Crise — signalements réels (CrisisLex, tweets français) et textes ordinaires"]
    for name, label in (("held_out", "événements réservés"), ("dev", "événements de mise au point")):
        figures = report[name]
        lines.append(f"  {label:<28} rappel {100 * figures['recall']:5.1f} · précision {100 * figures['precision']:5.1f}"
                     f" · F1 {100 * figures['f1']:5.1f}  ({figures['support']} signalements / {figures['n']} tweets,"
                     f" {figures['events']} événements)")
    ordinary = report["ordinary"]
    lines.append(f"  fausses alertes sur textes ordinaires (UMSAB val + MLMA test « normal ») : "
                 f"{100 * ordinary['rate']:.2f} % ({ordinary['flagged']}/{ordinary['n']})")
    return "\n".join(lines)
