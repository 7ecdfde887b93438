"""`vigie spikes`: the daemon's spike detector run offline over `timestamp,value` CSV files.

Why a CLI: it lets an operator (or a benchmark such as NAB) check the detector on any recorded series
with exactly the daemon's class and default settings, causally (each row sees only the past).
"""

from __future__ import annotations

import csv
from pathlib import Path

import click
import numpy as np

from classifiers.detection.settings import SpikeSettings
from classifiers.detection.spikes import run_series
from listener.errors import VigieError
from listener.timeutil import parse_time


class SeriesError(VigieError):
    """A CSV that cannot be read as a regular time series."""


def read_series(path: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Timestamps as written, values, and epoch minutes of each row."""
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            if not reader.fieldnames or "timestamp" not in reader.fieldnames or "value" not in reader.fieldnames:
                raise SeriesError(f"{path} : colonnes « timestamp » et « value » attendues")
            stamps, values, minutes = [], [], []
            for number, row in enumerate(reader, start=2):
                try:
                    moment = parse_time(row["timestamp"])
                    value = float(row["value"]) if row["value"] not in ("", None) else 0.0
                except (ValueError, TypeError) as exc:
                    raise SeriesError(
                        f"{path}, ligne {number} : date ou valeur illisible "
                        f"(« {row.get('timestamp')} », « {row.get('value')} »)"
                    ) from exc
                stamps.append(row["timestamp"])
                values.append(value)
                minutes.append(int(moment.timestamp()) // 60)
    except OSError as exc:
        raise SeriesError(f"{path} : lecture impossible ({exc.strerror})") from exc
    if not stamps:
        raise SeriesError(f"{path} : aucune ligne de données")
    return stamps, np.asarray(values), np.asarray(minutes, dtype=np.int64)


def bucket_minutes_of(minutes: np.ndarray) -> int:
    """The series' regular step (median gap), in whole minutes."""
    if len(minutes) < 2:
        return 1
    return max(1, int(round(float(np.median(np.diff(minutes))))))


def score_file(source: Path, target: Path, settings: SpikeSettings | None = None) -> int:
    """Write `timestamp,anomaly_score,alert` for one series; return the number of alerts."""
    stamps, values, minutes = read_series(source)
    scores, alerts = run_series(values, minutes, bucket_minutes_of(minutes), settings)
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["timestamp", "anomaly_score", "alert"])
        for stamp, score, alert in zip(stamps, scores, alerts, strict=True):
            writer.writerow([stamp, f"{score:.6f}", int(alert)])
    return int(alerts.sum())


@click.command("spikes")
@click.option("--csv", "csv_path", type=click.Path(path_type=Path), help="Série à analyser (timestamp,value).")
@click.option("--dir", "dir_path", type=click.Path(path_type=Path), help="Dossier de séries CSV à analyser.")
@click.option("--out", "out_path", type=click.Path(path_type=Path), required=True,
              help="Fichier (avec --csv) ou dossier (avec --dir) de sortie.")
def spikes(csv_path: Path | None, dir_path: Path | None, out_path: Path) -> None:
    """Détecte les pics de volume dans des séries CSV avec le détecteur du service (réglages par défaut)."""
    if (csv_path is None) == (dir_path is None):
        raise SeriesError("indiquez soit --csv FICHIER, soit --dir DOSSIER")
    if csv_path is not None:
        if not csv_path.is_file():
            raise SeriesError(f"{csv_path} : fichier introuvable")
        count = score_file(csv_path, out_path)
        click.echo(f"{csv_path.name} : {count} alerte(s) → {out_path}")
        return
    assert dir_path is not None
    if not dir_path.is_dir():
        raise SeriesError(f"{dir_path} : dossier introuvable")
    files = sorted(dir_path.glob("*.csv"))
    if not files:
        raise SeriesError(f"{dir_path} : aucun fichier .csv")
    for path in files:
        count = score_file(path, out_path / path.name)
        click.echo(f"{path.name} : {count} alerte(s)")
    click.echo(f"{len(files)} série(s) analysée(s) → {out_path}")
