"""Small town, real disaster: the French tweets of the West, Texas fertilizer plant explosion (a town of
2,800; 15 dead), paced as a small town's first reports, among a week of real ordinary French tweets at
20-50 a day, through the real backtest (`vigie rules test --json`, shipped config.toml, fixed defaults).

Prints, for a few ordinary weeks (seeds): when vigilance and crise came relative to the first and the
third report, the alerts and crisis levels raised on the ordinary days (false alarms), and the messages
the cell would have received about the disaster in its first hour.
"""

from __future__ import annotations

import json
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from click.testing import CliRunner

from bench.smalltown import FIRE, west_texas, write_week
from listener.cli import main as vigie

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
SEEDS = (20_000, 1, 2)


def town_config(folder: Path, name: str, places: list[str]) -> Path:
    """The shipped config.toml for another town: its name and its own places (so its crisis is local)."""
    text = (ROOT / "config.toml").read_text(encoding="utf-8")
    text = text.replace('name = "Ville de Rivebelle"', f'name = "{name}"', 1)
    text = text.replace('crisis_local_places = ["Rivebelle Métropole", "Val-de-Belle"]',
                        f"crisis_local_places = {json.dumps(places, ensure_ascii=False)}", 1)
    path = folder / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def run(crisis: list, seed: int, folder: Path, config: Path) -> dict:
    recording = folder / f"semaine-{seed}.jsonl"
    info = write_week(recording, SHARED, crisis=crisis, seed=seed)
    started = time.perf_counter()
    result = CliRunner().invoke(vigie, ["rules", "test", "--replay", str(recording), "--json",
                                       "--config", str(config)])
    seconds = time.perf_counter() - started
    if result.exit_code != 0:
        raise RuntimeError(result.output[-2000:])
    events = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    first = info["first_report"].strftime("%Y-%m-%dT%H:%M:%SZ")
    third = info["crisis_at"][2]
    levels = {e["level"]: e["at"] for e in reversed(events) if e["event"] == "crisis"}
    ordinary = [e for e in events if e["at"] < first]
    hour = (info["first_report"] + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    told = {(e["at"], e.get("kind")) for e in events if e["event"] == "notification" and e["group"] == "cellule"
            and first <= e["at"] < hour}

    def after(level: str, moment) -> str:
        if level not in levels:
            return "jamais"
        from listener.timeutil import parse_time

        return f"{(parse_time(levels[level]) - moment).total_seconds() / 60:+.0f} min"

    return {"lines": info["lines"], "seconds": seconds,
            "vigilance_after_first": after("vigilance", info["first_report"]),
            "vigilance_after_third": after("vigilance", third), "crise_after_first": after("crise", info["first_report"]),
            "false_alerts": sum(1 for e in ordinary if e["event"] == "alert"),
            "false_critical": sum(1 for e in ordinary if e["event"] == "alert" and e["severity"] == "critical"),
            "false_crisis": sum(1 for e in ordinary if e["event"] == "crisis"),
            "messages_first_hour": len(told),
            "title": next((e.get("title") for e in events if e["event"] == "notification" and e.get("kind") == "alert"
                           and e["at"] >= first), None)}


def main() -> None:
    if not (SHARED / "data" / "crisislex-fr-dev").exists():
        print("skipped: ../shared/data not found")
        return
    with tempfile.TemporaryDirectory(prefix="vigie-bench-smalltown-") as name:
        folder = Path(name)
        # The town is West's (Texas is then its own place, not abroad); the fire is Rivebelle's.
        west = town_config(folder, "Ville de West", ["West", "Texas", "Waco"])
        for label, crisis, config in (("West, Texas (crisislex-fr-dev, 7 tweets)", west_texas(SHARED), west),
                                      ("incendie écrit pour le test (7 messages, 6 habitants)", FIRE,
                                       ROOT / "config.toml")):
            print(f"{label} parmi une semaine de tweets ordinaires (umsab-fr, 20-50/jour) :")
            for seed in SEEDS:
                r = run(crisis, seed, folder, config)
                print(f"  graine {seed:>6} : {r['lines']} mentions ; vigilance {r['vigilance_after_first']} après le "
                      f"1er signalement ({r['vigilance_after_third']} après le 3e), crise {r['crise_after_first']} ; "
                      f"jours ordinaires : {r['false_alerts']} alerte(s) dont {r['false_critical']} critique(s), "
                      f"{r['false_crisis']} niveau(x) de crise ; {r['messages_first_hour']} message(s) à la cellule "
                      f"la 1re heure ; « {r['title']} » ; rejeu {r['seconds']:.1f} s", flush=True)


if __name__ == "__main__":
    main()
