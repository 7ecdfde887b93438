"""NAB realTweets (5 dev series): `vigie spikes --dir` with the daemon's default settings, then the shared
scorer on the binary `alert` column (threshold fixed in advance, the honest figure).
Published (threshold optimised on the labels, standard profile, 10 series): ARTime 83.2, contextOSE 74.5,
HTM 69.3, twitterADVec 59.6; naive z-score ≈ 25.

`python -m bench.bench_nab score_threshold=9 calibration_events=1.5` scores other spike settings (the
sensitivity table in classifiers/detection/spikes.py was made so); `python -m bench nab` uses the defaults."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from classifiers.detection.cli import score_file
from classifiers.detection.settings import SpikeSettings

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
DATA = SHARED / "data" / "nab-tweets-dev" / "data" / "realTweets"
SCORER = SHARED / "bench" / "nab_score.py"


def parse_overrides(arguments: list[str]) -> dict[str, object]:
    """`key=value` pairs (values read as JSON when they parse, e.g. 7, 1.5, [5, 15])."""
    overrides: dict[str, object] = {}
    for argument in arguments:
        key, _, raw = argument.partition("=")
        try:
            overrides[key] = json.loads(raw)
        except json.JSONDecodeError:
            overrides[key] = raw
    return overrides


def main(overrides: dict[str, object] | None = None) -> None:
    if not DATA.is_dir() or not SCORER.is_file():
        print(f"NAB data or scorer missing ({DATA}, {SCORER}): skipped")
        return
    settings = SpikeSettings(**overrides) if overrides else None
    if overrides:
        print(f"settings: {overrides}")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        for path in sorted(DATA.glob("*.csv")):
            alerts = score_file(path, out / path.name, settings)
            print(f"{path.name}: {alerts} alert(s)")
        result = subprocess.run(
            [sys.executable, str(SCORER), str(out), "--column", "alert", "--per-file"],
            capture_output=True, text=True, check=False,
        )
    print(result.stdout.strip() or result.stderr.strip())


if __name__ == "__main__":
    main(parse_overrides(sys.argv[1:]))
