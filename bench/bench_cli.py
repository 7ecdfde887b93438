"""`vigie --help` start-up time: the median of 7 runs of the installed command, each a fresh process.
Target: ≤ 0.6 s. Also prints which Vigie modules the help imports (none of the areas' code should load)."""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

RUNS = 7
TARGET_SECONDS = 0.6


def _command() -> list[str]:
    installed = Path(sys.executable).with_name("vigie")
    if installed.exists():
        return [str(installed)]
    found = shutil.which("vigie")
    return [found] if found else [sys.executable, "-m", "listener.cli"]


def main() -> None:
    command = [*_command(), "--help"]
    subprocess.run(command, check=True, capture_output=True)  # warm the file cache once, not counted
    timings = []
    for _ in range(RUNS):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        timings.append(time.perf_counter() - started)
    median = statistics.median(timings)
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys; from listener.cli import main; "
         "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in "
         "('listener', 'classifiers', 'rules', 'alerts'))))"],
        check=True, capture_output=True, text=True).stdout.split()
    print(f"vigie --help: median {median:.3f} s over {RUNS} runs (min {min(timings):.3f} s, max {max(timings):.3f} s)"
          f" — target ≤ {TARGET_SECONDS} s: {'OK' if median <= TARGET_SECONDS else 'MISSED'}")
    print(f"Vigie modules imported by the help ({len(loaded)}): {' '.join(loaded)}")


if __name__ == "__main__":
    main()
