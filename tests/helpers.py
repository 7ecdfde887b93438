"""Small builders shared by tests."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from listener.models import Mention

T0 = datetime(2026, 11, 17, 8, 0, tzinfo=UTC)


def mention(i: int, *, source: str = "mastodon", text: str | None = None, at: datetime | None = None) -> Mention:
    return Mention(
        source=source,
        external_id=f"id-{i}",
        text=text or f"Le tram T2 est encore en retard ce matin, numéro {i} #Rivebelle",
        created_at=at or T0 + timedelta(seconds=30 * i),
        author_handle=f"@habitant{i % 17}",
        lang="fr",
    )


def write_jsonl(path: Path, count: int, *, start: datetime = T0, step_seconds: float = 30.0) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        for i in range(count):
            item = mention(i, at=start + timedelta(seconds=step_seconds * i)).to_dict()
            handle.write(json.dumps(item, ensure_ascii=False) + "\n")
    return path
