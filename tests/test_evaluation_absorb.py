"""Reading ahead between passes (`Vigie.absorb`, live every few seconds) changes when the evaluation reads
the store, never what it decides: the demo's 36 hours, stored as they would arrive (late and early
mentions included), raise the same signals, alerts and incident messages whether the detection and
rules steps read ahead between every batch or only at each pass."""

from __future__ import annotations

import json
import random
import re
from datetime import datetime, timedelta
from pathlib import Path

from classifiers import classifier_settings, load_classifier
from listener.app import Vigie
from listener.clock import ReplayClock
from listener.errors import InvalidMention
from listener.models import Mention
from listener.settings import load_settings
from listener.timeutil import bucket_start, minute_bucket
from rules.extension import RULES
from tests.conftest import REPO_ROOT


def shipped_settings(tmp: Path):
    """The shipped config.toml with its own store and no collectors."""
    text = (REPO_ROOT / "config.toml").read_text(encoding="utf-8")
    text = re.sub(r"# ==== BEGIN sources.*?# ==== END sources ====\n", "", text, flags=re.S)
    text = text.replace('path = "vigie.db"', f'path = "{tmp / "vigie.db"}"', 1)
    path = tmp / "config.toml"
    path.write_text(text, encoding="utf-8")
    return load_settings(path)


def arrivals() -> list[tuple[datetime, Mention]]:
    """The demo day's readable mentions with the moment each reaches Vigie, in arrival order: most at once,
    some a minute or two late (a slow collector), some two minutes before their own timestamp (a source
    whose clock is ahead)."""
    rng = random.Random(14)
    found = []
    for line in (REPO_ROOT / "listener" / "demo" / "rivebelle.jsonl").read_text(encoding="utf-8").split("\n"):
        try:
            mention = Mention.from_dict(json.loads(line), now=None)
        except (ValueError, InvalidMention):
            continue  # the recording keeps a few broken lines (the replay skips them)
        delay = rng.choice([0, 0, 0, 0, 0, 0, 30, 70, 150, -120])
        found.append((mention.created_at + timedelta(seconds=delay), mention))
    found.sort(key=lambda item: item[0])
    return found


async def replay(tmp: Path, classifier, *, read_ahead: bool) -> dict:
    """Each minute's pass is taken 30 s into the next minute, as a busy daemon would: by then some
    mentions of the new minute are stored (the pass must leave them to the next one)."""
    settings = shipped_settings(tmp)
    items = arrivals()
    first, last = minute_bucket(items[0][0]), minute_bucket(items[-1][0])
    app = Vigie(settings, clock=ReplayClock(start=bucket_start(first - 1)), classifier=classifier, deliver=False,
                web_enabled=False)
    try:
        position = 0
        for minute in range(first, last + 3):
            taken_at = bucket_start(minute + 1) + timedelta(seconds=30)
            arrived = []
            while position < len(items) and items[position][0] < taken_at:
                arrived.append(items[position][1])
                position += 1
            for start in range(0, len(arrived), 3):
                app.pipeline.handle(arrived[start:start + 3], "demo")
                if read_ahead:
                    await app.absorb()
            await app.evaluate(bucket_start(minute + 1))
        engine = app.get(RULES).engine
        signals = [(s.kind, s.key, s.at, s.severity, s.details.get("episode")) for s in app.store.signals_after(0)]
        alerts = app.store.conn.execute(
            "SELECT rule, key, severity, status, fire_count, created_at, evidence FROM alerts ORDER BY id").fetchall()
        return {"signals": signals, "alerts": alerts,
                "events": json.dumps(engine.events, default=str, sort_keys=True),
                "notifications": json.dumps(engine.notifications, default=str, sort_keys=True)}
    finally:
        app.store.close()


async def test_reading_ahead_between_passes_decides_exactly_what_the_pass_alone_decides(tmp_path):
    settings = shipped_settings(tmp_path)
    classifier = load_classifier(classifier_settings(settings.classifiers, settings.resolve), settings.institution)
    (tmp_path / "alone").mkdir()
    (tmp_path / "ahead").mkdir()
    alone = await replay(tmp_path / "alone", classifier, read_ahead=False)
    ahead = await replay(tmp_path / "ahead", classifier, read_ahead=True)
    # The day is not quiet: the flood raises new terms, spikes and critical alerts.
    assert {kind for kind, *_ in alone["signals"]} >= {"spike", "new_term"}
    assert any(severity == "critical" for _, _, severity, *_ in alone["alerts"])
    assert ahead["signals"] == alone["signals"]
    assert ahead["alerts"] == alone["alerts"]
    assert ahead["events"] == alone["events"]
    assert ahead["notifications"] == alone["notifications"]
