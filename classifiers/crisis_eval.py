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
- Both settings are measured: a town's default (crises located abroad found but counted apart, never
  alerted) and `crisis_abroad = true` (alerted like the others). A false alarm is any crisis label found
  on ordinary text, counted apart or not; the share alerted is printed beside it.
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


SETTINGS = ("default", "abroad")


def _outcomes(detector: CrisisDetector, texts: list[str]) -> list[tuple[bool, bool]]:
    """Per text: (a crisis label found anywhere, located abroad)."""
    return [(bool(labels), bool(labels) and bool(places))
            for labels, places in detector.locate_many([View(p) for p in prepare_many(texts)])]


def _split(outcomes: list[tuple[bool, bool]], setting: str) -> tuple[list[bool], list[bool]]:
    """(alerted, found): a town's default alerts on local crises and counts those abroad apart;
    `crisis_abroad = true` alerts on both."""
    found = [any_label for any_label, _ in outcomes]
    if setting == "abroad":
        return found, found
    return [any_label and not abroad for any_label, abroad in outcomes], found


def evaluate(data_root: Path | None = None, detector: CrisisDetector | None = None) -> dict[str, Any]:
    """Per setting: recall/precision on CrisisLex held-out and dev events of the crises found (alerted or
    counted apart as abroad) and of those alerted; false alarms on ordinary text, both ways. One detector
    serves both settings: `crisis_abroad` only decides where a crisis abroad goes, not whether it is found."""
    rows = load_crisislex(data_root)
    dev, held = split_events(rows)
    ordinary = ordinary_texts(data_root)
    chosen = detector or CrisisDetector.load()
    events = {name: [row for row in rows if row["event"] in part] for name, part in (("held_out", held), ("dev", dev))}
    outcomes = {name: _outcomes(chosen, [row["text"] for row in part]) for name, part in events.items()}
    ordinary_outcomes = {name: _outcomes(chosen, texts) for name, texts in ordinary.items()}
    report: dict[str, Any] = {}
    for setting in SETTINGS:
        figures: dict[str, Any] = {}
        for name, part in events.items():
            alerted, found = _split(outcomes[name], setting)
            truth = [bool(row["report"]) for row in part]
            figures[name] = {**prf(truth, found), "events": len({row["event"] for row in part})}
            figures[f"{name}_alerted"] = prf(truth, alerted)
        for name, part_outcomes in ordinary_outcomes.items():
            alerted, found = _split(part_outcomes, setting)
            figures[f"ordinary_{name}"] = {"n": len(found), "flagged": sum(found), "alerted": sum(alerted),
                                           "rate": round(sum(found) / max(1, len(found)), 4),
                                           "alerted_rate": round(sum(alerted) / max(1, len(alerted)), 4)}
        report[setting] = figures
    return report


_SETTINGS = {"default": "réglage par défaut (crisis_abroad = false : crises à l'étranger comptées à part, sans alerte)",
             "abroad": "crisis_abroad = true (crises à l'étranger alertées comme les autres)"}


def format_report(report: dict[str, Any]) -> str:
    """The crisis figures in French, one block per setting: crises found (alerted or counted apart) and,
    in brackets, those alerted."""
    lines = ["Crise — signalements réels (CrisisLex, tweets français, tous à l'étranger) et textes ordinaires",
             "  « trouvées » = alertées ou comptées à part (à l'étranger) ; « alertées » = envoyées à la cellule"]
    for setting, figures in report.items():
        lines.append(f"  {_SETTINGS.get(setting, setting)}")
        for name, label in (("held_out", "événements réservés"), ("dev", "événements de mise au point")):
            part, alerted = figures[name], figures[f"{name}_alerted"]
            lines.append(f"    {label:<28} trouvées : rappel {100 * part['recall']:5.1f} · précision "
                         f"{100 * part['precision']:5.1f} · F1 {100 * part['f1']:5.1f} ; alertées : rappel "
                         f"{100 * alerted['recall']:5.1f}  ({part['support']} signalements / {part['n']} tweets,"
                         f" {part['events']} événements)")
        for name, label in (("held_out", "UMSAB val + MLMA test « normal », réservés"),
                            ("tuning", "UMSAB train + MLMA train/dev, mise au point")):
            part = figures[f"ordinary_{name}"]
            lines.append(f"    fausses alertes sur textes ordinaires ({label}) : trouvées "
                         f"{100 * part['rate']:.2f} % ({part['flagged']}/{part['n']}), alertées "
                         f"{100 * part['alerted_rate']:.2f} % ({part['alerted']}/{part['n']})")
    return "\n".join(lines)
