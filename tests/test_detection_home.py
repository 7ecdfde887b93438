"""Detection has one home (classifiers/detection/), writes no SQL of its own, and hands the digest typed items."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path

from classifiers.detection.trending import compute_trending
from listener.models import Mention
from listener.timeutil import minute_bucket

REPO = Path(__file__).resolve().parent.parent
HOME = REPO / "classifiers" / "detection"


def test_detection_lives_in_one_package():
    old = ["classifiers/spikes.py", "classifiers/shift.py", "classifiers/silence.py", "classifiers/newterms.py",
           "classifiers/trends.py", "classifiers/detector_settings.py", "classifiers/detector_cli.py",
           "listener/detection.py", "listener/trending.py"]
    assert [path for path in old if (REPO / path).exists()] == []
    assert {p.stem for p in HOME.glob("*.py")} >= {"spikes", "shift", "silence", "newterms", "trends", "settings",
                                                   "service", "trending", "cli", "area"}


def test_detection_reaches_the_store_only_through_its_methods():
    offenders = []
    for path in HOME.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in ("conn", "execute", "executemany", "db"):
                offenders.append(f"{path.name}:{node.lineno} .{node.attr}")
    assert offenders == []


def test_a_trending_item_names_the_counter_series_the_digest_charts(store):
    as_of = datetime(2026, 11, 20, 12, tzinfo=UTC)
    everyday = "Le marché du samedi place centrale, belle ambiance ce matin"
    mentions = [Mention(source="mastodon", external_id=f"b{i}", text=everyday,
                        created_at=as_of - timedelta(days=3, minutes=i), author_handle=f"@b{i % 20}")
                for i in range(200)]
    story = "Effondrement du pont Neuf, les secours sur place #PontNeuf"
    mentions += [Mention(source="mastodon", external_id=f"r{i}", text=story,
                         created_at=as_of - timedelta(minutes=10 + i), author_handle=f"@r{i}") for i in range(30)]
    store.insert_mentions(mentions)
    bucket = minute_bucket(as_of - timedelta(minutes=20))
    store.add_counts({("hashtag:pontneuf", bucket): 30})
    [item] = compute_trending(store, as_of)
    assert item.term == "#pontneuf" and "effondrement" in item.terms
    assert item.volume == 30 and item.sample_ids and item.neutral == 1.0
    assert item.key == "hashtag:pontneuf"  # the digest charts this series, it does not guess it


def test_a_topic_counter_wins_over_a_keyword_of_the_same_name(store):
    from classifiers.detection.trending import series_key

    store.add_counts({("keyword:inondation", 100): 3, ("topic:inondation", 101): 5})
    assert series_key(store, "inondation", 90, 120) == "topic:inondation"
    assert series_key(store, "inondation", 200, 260) is None  # nothing counted in that window


def test_a_read_only_store_reads_but_never_writes(tmp_path):
    import sqlite3

    import pytest

    from listener.store import Store

    writer = Store(tmp_path / "v.db")
    writer.insert_mentions([Mention(source="rss", external_id="1", text="Coupure d'eau rue Haute",
                                    created_at=datetime(2026, 11, 20, 9, tzinfo=UTC))])
    reader = Store.read_only(tmp_path / "v.db")
    try:
        assert reader.last_mention_id() == 1
        with pytest.raises(sqlite3.OperationalError):
            reader.add_counts({("all", 1): 1})
    finally:
        reader.close()
        writer.close()
