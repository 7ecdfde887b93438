"""Fixture data for the alerts tests: alerts as rules/ writes them, mentions with hostile text."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from classifiers.detection.trending import TrendingItem
from classifiers.types import Classification, Label
from listener.models import Mention
from listener.store import Store
from listener.timeutil import minute_bucket, to_iso

T0 = datetime(2026, 11, 17, 13, 32, tzinfo=UTC)  # 14:32 in Paris

HOSTILE = (
    "<!channel> <@U024BE7LH> *URGENT* _lisez_ ~barré~ `code` > citation "
    "<http://evil.example/phish|cliquez ici> <script>alert(1)</script> <img src=x onerror=alert(2)> "
    "www.arnaque.example & http://evil.example/x"
)


def add_mentions(store: Store, texts: list[str], *, at: datetime = T0, sentiment: str = "negative",
                 topic: str = "inondation", url: str | None = "https://rivebelle.social/@habitant/1") -> list[int]:
    mentions = [
        Mention(source="mastodon", external_id=f"m-{at.timestamp()}-{i}", text=text,
                created_at=at - timedelta(minutes=i), author_handle=f"@habitant{i}", lang="fr", url=url,
                likes=10 - i, reposts=i,
                labels=Classification(sentiment=sentiment, topics=[Label(topic, 0.9)]))
        for i, text in enumerate(texts)
    ]
    return [m.id for m in store.insert_mentions(mentions)]


def add_alert(store: Store, *, title: str = "Pic de mentions « inondation »", severity: str = "critical",
              evidence: list[int] | None = None, status: str = "open", at: datetime = T0, **extra: Any) -> int:
    details = extra.pop("details", {"observed": 38, "expected": 1.2, "score": 9.4, "window": 10,
                                    "signal_kind": "spike"})
    row = {
        "rule": extra.pop("rule", "pic-inondation"), "rule_type": "spike", "key": extra.pop("key", "topic:inondation"),
        "fingerprint": "pic-inondation|topic:inondation", "severity": severity, "status": status, "title": title,
        "summary": extra.pop("summary", "Le sujet « inondation » est 30 fois plus cité que d'habitude."),
        "topic": extra.pop("topic", "inondation"), "details": json.dumps(details),
        "evidence": json.dumps(evidence or []), "routes": json.dumps(["cellule"]), "created_at": to_iso(at),
        "updated_at": to_iso(at), **extra,
    }
    columns = ", ".join(row)
    with store.transaction():
        cursor = store.conn.execute(f"INSERT INTO alerts ({columns}) VALUES ({', '.join('?' * len(row))})",
                                    list(row.values()))
    return cursor.lastrowid


def add_counts(store: Store, key: str, per_hour: list[int], end: datetime) -> None:
    start = end - timedelta(hours=len(per_hour))
    counts = {}
    for hour, n in enumerate(per_hour):
        if n:
            counts[(key, minute_bucket(start + timedelta(hours=hour, minutes=5)))] = n
    store.add_counts(counts)


# -- a morning digest scenario -------------------------------------------------------------------------

DIGEST_TOPICS = [
    # name, kind, counter key, volume, change, (neg, neu, pos), hourly profile (24 values, oldest first)
    ("inondation", "topic", "topic:inondation", 412, 3.1, (0.58, 0.34, 0.08),
     [1, 0, 0, 0, 0, 0, 1, 2, 3, 2, 4, 6, 9, 14, 22, 38, 61, 70, 55, 41, 30, 24, 16, 13]),
    ("transports", "topic", "topic:transports", 186, 0.4, (0.44, 0.46, 0.10),
     [2, 1, 0, 0, 0, 1, 9, 17, 14, 8, 6, 7, 8, 6, 7, 9, 15, 19, 12, 7, 5, 4, 3, 2]),
    ("marché de Noël", "topic", "topic:marche de noel", 95, -0.2, (0.07, 0.33, 0.60),
     [0, 0, 0, 0, 0, 0, 0, 1, 2, 4, 6, 8, 9, 10, 9, 8, 9, 10, 8, 5, 3, 2, 1, 0]),
    ("#travauxgare", "hashtag", "hashtag:travauxgare", 77, 0.9, (0.52, 0.41, 0.07),
     [0, 0, 0, 0, 0, 0, 2, 5, 6, 5, 4, 4, 3, 5, 6, 5, 4, 6, 7, 5, 4, 3, 2, 1]),
]

DIGEST_MENTIONS = [
    ("inondation", "negative", "La rue de la Gare est complètement sous l'eau, les voitures ne passent plus ! #Rivebelle"),
    ("inondation", "negative", "Toujours aucune info de la mairie sur l'inondation du quartier Saint-Roch ?"),
    ("transports", "negative", "Tram T2 à l'arrêt depuis 7h, merci pour l'info @rivebelle…"),
    ("transports", "neutral", "Bus de substitution entre Gare et Hôtel de Ville toutes les 10 min."),
    ("marché de Noël", "positive", "Le marché de Noël de Rivebelle ouvre ce week-end, hâte ! 🎄"),
    ("#travauxgare", "negative", HOSTILE),
]


def digest_scenario(store: Store, end: datetime):
    """Counters, mentions, alerts for a digest; returns (trending, crisis_state) callables."""
    sample_ids: dict[str, list[int]] = {}
    for i, (topic, sentiment, text) in enumerate(DIGEST_MENTIONS):
        mention = Mention(source=["mastodon", "bluesky", "rss"][i % 3], external_id=f"digest-{i}", text=text,
                          created_at=end - timedelta(hours=2 + i), author_handle=f"@voisin{i}", lang="fr",
                          url=f"https://rivebelle.social/@voisin{i}/{100 + i}" if i != 5 else "javascript:alert(1)",
                          likes=120 - 15 * i, reposts=40 - 5 * i,
                          labels=Classification(sentiment=sentiment, topics=[Label(topic, 0.9)]))
        (stored,) = store.insert_mentions([mention])
        sample_ids.setdefault(topic, []).append(stored.id)
    everything = [sum(values) * 2 for values in zip(*(t[6] for t in DIGEST_TOPICS), strict=True)]
    add_counts(store, "all", everything, end)
    add_counts(store, "neg:all", [round(n * 0.41) for n in everything], end)
    for _name, _, key, _, _, (neg, _, _), profile in DIGEST_TOPICS:
        add_counts(store, key, profile, end)
        if key.startswith("topic:"):
            add_counts(store, "neg:" + key, [round(n * neg) for n in profile], end)
    open_id = add_alert(store, at=end - timedelta(hours=9), evidence=sample_ids["inondation"])
    add_alert(store, title="Hostilité envers Claire Marchand", severity="warning", status="acknowledged",
              at=end - timedelta(hours=5), acked_by="marie", rule="hostilite-elus", key="hostile:Claire Marchand")
    add_alert(store, title="Pic de mentions « tram T2 »", severity="warning", status="resolved",
              at=end - timedelta(hours=14), resolved_at=to_iso(end - timedelta(hours=10)), rule="pic-transports")

    def trending(store_, as_of, hours=24, background_days=28):
        return [TrendingItem(term=name, key=key, volume=volume, change=change, negative=neg, neutral=neu,
                             positive=pos, sample_ids=sample_ids.get(name, []))
                for name, _kind, key, volume, change, (neg, neu, pos), _ in DIGEST_TOPICS]

    def crisis_state(store_):
        return {"state": "vigilance", "since": to_iso(end - timedelta(hours=8)),
                "reason": "pic « inondation » et alerte météo orange", "actor": "système"}

    assert open_id
    return trending, crisis_state
