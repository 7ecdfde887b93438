"""The threat rule: every threat is alerted from the first message, named by whom it aims at."""

from __future__ import annotations

from datetime import timedelta

from classifiers.types import Classification
from listener.models import Mention
from tests.test_rules_types import T0, alerts, engine_for, outbox


def threat(i: int, text: str, *, targets=(), at=T0) -> Mention:
    labels = Classification(abusive=True, abusive_score=1.0, threat=True, threat_score=1.0,
                            threat_terms=["je vais tuer"], abusive_terms=["je vais tuer"],
                            hostile=bool(targets), hostility_score=1.0 if targets else 0.0,
                            hostility_targets=list(targets))
    return Mention(source="mastodon", external_id=f"t{i}", text=text, created_at=at, author_handle=f"@a{i}",
                   lang="fr", labels=labels)


def test_one_threat_against_an_official_is_alerted_at_once_to_the_cabinet(store, make_settings):
    rule = {"name": "menace", "type": "threat", "severity": "critical", "routes": ["cellule", "cabinet"]}
    engine = engine_for(store, make_settings, rule)
    store.insert_mentions([threat(1, "Je vais tuer Marchand", targets=["Claire Marchand"],
                                  at=T0 - timedelta(minutes=1))])
    events = engine.evaluate(T0)
    assert [(e["action"], e["key"]) for e in events] == [("new", "target:Claire Marchand")]
    (alert,) = alerts(store)
    assert alert["title"] == "Menace visant Claire Marchand : 1 message"
    assert "police" in alert["summary"] and "je vais tuer" in alert["summary"]
    assert {r["group"] for r in outbox(store, "alert")} >= {"cellule"}


def test_threats_against_anyone_and_plain_mentions(store, make_settings):
    rule = {"name": "menace", "type": "threat", "targets": ["any"], "routes": ["cellule"]}
    engine = engine_for(store, make_settings, rule)
    quiet = Mention(source="mastodon", external_id="q", text="Bonne journée", created_at=T0 - timedelta(minutes=2),
                    author_handle="@q", lang="fr", labels=Classification())
    store.insert_mentions([quiet, threat(2, "Je vais te tuer", at=T0 - timedelta(minutes=1))])
    events = engine.evaluate(T0)
    assert [(e["action"], e["key"]) for e in events] == [("new", "target:any")]
    assert alerts(store)[0]["title"] == "Menace visant quelqu'un : 1 message"


def test_a_threat_rule_for_officials_ignores_threats_against_others(store, make_settings):
    rule = {"name": "menace-elus", "type": "threat", "targets": ["Claire Marchand"], "routes": ["cellule"]}
    engine = engine_for(store, make_settings, rule)
    store.insert_mentions([threat(3, "Je vais te tuer", at=T0 - timedelta(minutes=1))])
    assert engine.evaluate(T0) == []
