"""A small town's week, replayable: ordinary French posts (20 to 50 a day), then a crisis reported by a
handful of residents. Used by tests/test_smalltown.py (a fire written here) and `bench/bench_smalltown.py`
(the real French tweets of the West, Texas fertilizer plant explosion, a town of 2,800, from
crisislex-fr-dev, among real ordinary French tweets from umsab-fr).

Deterministic (seeded): the same call writes the same file byte for byte.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

START = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # a Monday
SEED = 20_000  # Cahors' population, roughly

# A fire at the cooperative, as residents write it (written for this test, not from any corpus).
FIRE = [
    (0, "incendie_1", "Gros incendie à la coopérative agricole route de Figeac, fumée noire partout 😨"),
    (9, "incendie_2", "On voit les flammes depuis le pont, la coopérative brûle, les pompiers arrivent"),
    (21, "incendie_3", "Incendie à la coop, ça explose par moments, restez chez vous fenêtres fermées"),
    (34, "incendie_4", "Le feu a pris dans le hangar des engrais, plusieurs blessés d'après les voisins"),
    (47, "incendie_1", "L'incendie continue, la route de Figeac est coupée, évitez le secteur"),
    (58, "incendie_5", "Des pompiers de tout le département sont là, énorme incendie, on a peur"),
    (75, "incendie_6", "Incendie de la coopérative : la mairie ouvre la salle des fêtes pour les évacués"),
]


def ordinary_texts(shared: Path) -> list[str]:
    """Real ordinary French tweets (umsab-fr train + val): the town's everyday chatter."""
    folder = shared / "data" / "umsab-fr"
    texts: list[str] = []
    for name in ("train_text.txt", "val_text.txt"):
        texts += [line.strip() for line in (folder / name).read_text(encoding="utf-8").splitlines() if line.strip()]
    return texts


def west_texas_reports(shared: Path) -> list[str]:
    """The French tweets about the West, Texas explosion (17 April 2013, 15 dead), in file order."""
    lines = (shared / "data" / "crisislex-fr-dev" / "tweets.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines if line.strip()]
    return [row["text"] for row in rows if row["event"] == "2013_West_Texas_explosion"]


def _line(number: int, text: str, at: datetime, author: str) -> dict:
    return {"source": "mastodon", "external_id": f"st{number}", "text": text, "lang": "fr",
            "created_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"), "author_handle": f"@{author}@ville.example",
            "url": f"https://ville.example/@{author}/{number}", "likes": 0, "reposts": 0, "replies": 0}


def write_week(path: Path, shared: Path, *, days: int = 7, crisis: list[tuple[int, str, str]] | None = None,
               crisis_day: int | None = None, crisis_hour: int = 10, seed: int = SEED) -> dict:
    """Write `days` ordinary days, then (on `crisis_day`, default the day after) the crisis posts at their
    minute offsets from `crisis_hour`:00 UTC, ordinary posts going on around them. Returns what was written:
    {"lines", "crisis_at": [ISO times of the crisis posts], "first_report", "end"}."""
    rng = random.Random(seed)
    texts = ordinary_texts(shared)
    rng.shuffle(texts)
    crisis = crisis if crisis is not None else []
    crisis_day = days if crisis_day is None else crisis_day
    entries: list[tuple[datetime, str, str]] = []
    for day in range(days + (1 if crisis else 0)):
        base = START + timedelta(days=day)
        for _ in range(rng.randint(20, 50)):
            # Daytime mostly: 07:00-23:00 local (06:00-22:00 UTC), a few at night.
            hour = rng.randint(6, 21) if rng.random() < 0.9 else rng.randint(0, 23)
            at = base + timedelta(hours=hour, minutes=rng.randint(0, 59), seconds=rng.randint(0, 59))
            entries.append((at, texts.pop() if texts else "Belle journée au marché", f"habitant{rng.randint(1, 400)}"))
    crisis_times = []
    for offset, author, text in crisis:
        at = START + timedelta(days=crisis_day, hours=crisis_hour, minutes=offset, seconds=7)
        entries.append((at, text, author))
        crisis_times.append(at)
    entries.sort(key=lambda item: item[0])
    with path.open("w", encoding="utf-8") as out:
        for number, (at, text, author) in enumerate(entries, 1):
            out.write(json.dumps(_line(number, text, at, author), ensure_ascii=False) + "\n")
    return {"lines": len(entries), "crisis_at": crisis_times, "first_report": crisis_times[0] if crisis_times else None,
            "end": entries[-1][0]}


def west_texas(shared: Path) -> list[tuple[int, str, str]]:
    """The West, Texas tweets paced as a small town's first reports: one every 6 to 14 minutes."""
    rng = random.Random(2013)
    offsets, minute = [], 0
    for _ in west_texas_reports(shared):
        offsets.append(minute)
        minute += rng.randint(6, 14)
    return [(offset, f"temoin{i}", text) for i, (offset, text) in enumerate(zip(offsets, west_texas_reports(shared),
                                                                                strict=True), 1)]
