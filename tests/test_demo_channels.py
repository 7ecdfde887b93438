"""`make demo-canaux`: the demo's crisis reaches every channel, each against its local fake, while
`make demo` stays console-only (tests/test_demo_e2e.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHANNELS = ["Slack", "Courriel", "Webhook", "Teams", "Tchap/Matrix", "Mattermost", "SMS (OVHcloud)"]


def test_demo_routes_its_crisis_to_every_channel(tmp_path):
    done = subprocess.run([sys.executable, "-m", "tests.fakes.all_channels", "--out", str(tmp_path / "out")],
                          cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = done.stdout.split("Ce que chaque canal a reçu")[-1]
    for name in CHANNELS:
        (line,) = [line for line in report.splitlines() if line.strip().startswith(name)]
        assert "passage en crise reçu" in line, line
        assert int(line.split("message(s)")[0].split()[-1]) >= 1
    assert "VIGIE MODE DE CRISE" in report  # the SMS, in GSM-7
