"""Crisis labels measured on real French text: recall on real crisis reports, false alarms on ordinary text.

- Crisis reports: ../shared/data/crisislex-fr-dev (71 real French tweets from crisis events). Which tweets
  *report* a crisis (occurring or its immediate aftermath: damage, casualties, rescue) was labelled by
  hand once, for every tweet, before measuring (classifiers/data/crisislex_fr_labels.jsonl); the crowd's
  "informativeness" label is too noisy to use as is. The events are split in two with a fixed seed: the
  lexicon was only ever adjusted while looking at the "dev" events; "held_out" events are the figure.
- Ordinary text: umsab-fr val (324 tweets) and the MLMA test tweets labelled "normal" (kept apart in
  classifiers/abuse_training.split_mlma): the share that gets any crisis label is the false-alarm rate.
  The lexicon's rules were adjusted on the other ordinary tweets (umsab train, MLMA train and dev), whose
  rate is printed beside it.
- Both settings are measured: a town's default (crises located abroad dropped) and `crisis_abroad`.
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


def ordinary_texts(data_root: Path | None = None) -> dict[str, list[str]]:
    """Ordinary real text: "held_out" (umsab val, MLMA test "normal") is the figure; "tuning" (umsab
    train, MLMA train and dev, every tweet) is where the lexicon's rules were adjusted."""
    mlma = split_mlma(load_mlma(data_root))
    return {
        "held_out": load_umsab_texts("val", data_root)
        + [row["text"] for row in mlma["test"] if row["labels"] == "normal"],
        "tuning": load_umsab_texts("train", data_root) + [row["text"] for row in mlma["train"] + mlma["dev"]],
    }


def detectors() -> dict[str, CrisisDetector]:
    """The two settings an institution chooses between: a town's default (crises abroad dropped) and
    `crisis_abroad = true`. Every CrisisLex event is abroad, so recall on its reports is measured with
    the second: it says whether a report is recognised, as it would be for a local event."""
    return {"default": CrisisDetector.load(), "abroad": CrisisDetector.load(abroad=True)}


def evaluate(data_root: Path | None = None, detector: CrisisDetector | None = None) -> dict[str, Any]:
    """Per setting: precision/recall on CrisisLex held-out and dev events, false alarms on ordinary text."""
    rows = load_crisislex(data_root)
    dev, held = split_events(rows)
    ordinary = ordinary_texts(data_root)
    report: dict[str, Any] = {}
    for setting, chosen in ({"given": detector} if detector else detectors()).items():

        def fired(texts: list[str], chosen: CrisisDetector = chosen) -> list[bool]:
            return [bool(labels) for labels in chosen.detect_many([View(p) for p in prepare_many(texts)])]

        figures: dict[str, Any] = {}
        for name, events in (("held_out", held), ("dev", dev)):
            part = [row for row in rows if row["event"] in events]
            figures[name] = prf([bool(row["report"]) for row in part], fired([row["text"] for row in part]))
            figures[name]["events"] = len(events)
        for name, texts in ordinary.items():
            flags = fired(texts)
            figures[f"ordinary_{name}"] = {"n": len(flags), "flagged": sum(flags),
                                           "rate": round(sum(flags) / max(1, len(flags)), 4)}
        report[setting] = figures
    return report


_SETTINGS = {"default": "réglage par défaut (crises à l'étranger écartées)",
             "abroad": "crisis_abroad = true (crises à l'étranger comptées)", "given": "détecteur fourni"}


def format_report(report: dict[str, Any]) -> str:
    """The crisis figures in French, one block per setting."""
    lines = ["Crise — signalements réels (CrisisLex, tweets français, tous à l'étranger) et textes ordinaires"]
    for setting, figures in report.items():
        lines.append(f"  {_SETTINGS.get(setting, setting)}")
        for name, label in (("held_out", "événements réservés"), ("dev", "événements de mise au point")):
            part = figures[name]
            lines.append(f"    {label:<28} rappel {100 * part['recall']:5.1f} · précision {100 * part['precision']:5.1f}"
                         f" · F1 {100 * part['f1']:5.1f}  ({part['support']} signalements / {part['n']} tweets,"
                         f" {part['events']} événements)")
        for name, label in (("held_out", "UMSAB val + MLMA test « normal », réservés"),
                            ("tuning", "UMSAB train + MLMA train/dev, mise au point")):
            part = figures[f"ordinary_{name}"]
            lines.append(f"    fausses alertes sur textes ordinaires ({label}) : "
                         f"{100 * part['rate']:.2f} % ({part['flagged']}/{part['n']})")
    return "\n".join(lines)
