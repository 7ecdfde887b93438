"""Each rule type fires on what it should, stays quiet otherwise, and explains itself in French."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from classifiers.types import Classification, Label
from listener.errors import ConfigError
from listener.models import Mention, Signal
from listener.timeutil import minute_bucket
from rules.engine import RulesEngine
from rules.loader import load_rules

T0 = datetime(2026, 11, 17, 8, 0, tzinfo=UTC)  # 09:00 in Paris

GROUPS = {
    "cellule": {"label": "Cellule", "console": True, "emails": ["cellule@rivebelle.fr"]},
    "cabinet": {"label": "Cabinet", "emails": ["cabinet@rivebelle.fr"], "min_severity": "warning",
                "quiet_hours": "22:00-07:30"},
    "astreinte": {"label": "Astreinte", "emails": ["astreinte@rivebelle.fr"], "min_severity": "critical"},
}


def rules_settings(make_settings, *rules: dict, **extra):
    section = {"groups": GROUPS, "rules": list(rules), "group_wait_seconds": 0, "escalation_group": "astreinte",
               **extra}
    return make_settings(pipeline={"classify": False}, rules=section)


def engine_for(store, make_settings, *rules: dict, deliver: bool = True, **extra) -> RulesEngine:
    engine = RulesEngine(store, rules_settings(make_settings, *rules, **extra), deliver=deliver)
    store.conn.execute("INSERT INTO rules_state (name, value) VALUES ('last_signal_id', '0'), ('last_mention_id', '0')")
    return engine


def labelled(i: int, text: str, *, at: datetime, sentiment: str = "neutral", topics=(), hostile: bool = False,
             targets=(), crisis=(), followers: int | None = None, likes: int = 0, source: str = "mastodon",
             lang: str = "fr") -> Mention:
    labels = Classification(
        sentiment=sentiment, sentiment_proba={"negative": 0.9 if sentiment == "negative" else 0.1},
        topics=[Label(t, 0.9) for t in topics], hostile=hostile, hostility_score=0.8 if hostile else 0.0,
        hostility_targets=list(targets), crisis=[Label(k, 0.9) for k in crisis],
    )
    return Mention(source=source, external_id=f"m{i}", text=text, created_at=at, author_handle=f"@auteur{i}",
                   author_followers=followers, lang=lang, likes=likes, labels=labels)


def signal(kind: str, key: str, *, at: datetime = T0, score: float = 5.0, observed: float = 48, expected: float = 6,
           severity: str = "warning", **details) -> Signal:
    details.setdefault("episode", "start")
    return Signal(kind=kind, key=key, at=at, score=score, severity=severity, observed=observed, expected=expected,
                  started_at=at - timedelta(minutes=8), details=details)


def alerts(store) -> list[dict]:
    cursor = store.conn.execute("SELECT * FROM alerts ORDER BY id")
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor]


def outbox(store, kind: str | None = None) -> list[dict]:
    sql = "SELECT kind, channel, target, recipient_group, payload, not_before, alert_id FROM outbox"
    rows = store.conn.execute(sql + (" WHERE kind = ?" if kind else "") + " ORDER BY id", [kind] if kind else [])
    names = ("kind", "channel", "target", "group", "payload", "not_before", "alert_id")
    return [dict(zip(names, row, strict=True)) | {"payload": json.loads(row[4])} for row in rows]


SPIKE = {"name": "pic-transport", "type": "spike", "keys": ["topic:*"], "min_score": 3, "min_observed": 10}


def test_spike_rule_raises_an_explained_alert_with_the_most_engaging_mentions_first(store, make_settings):
    engine = engine_for(store, make_settings, SPIKE)
    store.insert_mentions([
        labelled(1, "tram bloqué", at=T0 - timedelta(minutes=5), topics=["transport"], likes=2),
        labelled(2, "encore le tram", at=T0 - timedelta(minutes=4), topics=["transport"], likes=90),
        labelled(3, "la culture", at=T0 - timedelta(minutes=4), topics=["culture"], likes=500),
    ])
    store.add_signals([signal("spike", "topic:transport", window_minutes=10)])
    events = engine.evaluate(T0 + timedelta(minutes=1))
    assert [e["action"] for e in events] == ["new"]
    (alert,) = alerts(store)
    assert alert["title"] == "Pic de mentions sur « transport » : 48 en 10 min (attendu 6)"
    assert "48 mentions en 10 min" in alert["summary"] and "08:52" in alert["summary"]
    assert alert["fingerprint"] == "pic-transport|topic:transport" and alert["topic"] == "transport"
    assert alert["status"] == "open" and alert["severity"] == "warning" and alert["rule_type"] == "spike"
    details = json.loads(alert["details"])
    assert details["observed"] == 48 and details["expected"] == 6 and details["window"] == 10
    assert details["signal_kind"] == "spike" and details["started_at"] == "2026-11-17T07:52:00Z"
    assert json.loads(alert["evidence"]) == [2, 1]  # most engagement first, culture excluded
    assert json.loads(alert["routes"]) == ["cellule"]
    sent = outbox(store, "alert")
    assert {(r["channel"], r["target"]) for r in sent} == {("console", "-"), ("email", "cellule@rivebelle.fr")}
    assert all(r["payload"]["alert_ids"] == [alert["id"]] for r in sent)


def test_spike_rule_ignores_weak_spikes_and_other_keys(store, make_settings):
    engine = engine_for(store, make_settings, SPIKE)
    store.add_signals([
        signal("spike", "topic:transport", score=2.0),  # below min_score
        signal("spike", "topic:culture", observed=4),  # below min_observed
        signal("spike", "hashtag:tram"),  # not a topic key
        signal("new_term", "topic:transport"),  # another kind
    ])
    assert engine.evaluate(T0 + timedelta(minutes=1)) == []
    assert alerts(store) == []


def test_severity_follows_the_detector_when_asked(store, make_settings):
    engine = engine_for(store, make_settings, {**SPIKE, "severity_from_signal": True, "severity": "info"})
    store.add_signals([signal("spike", "topic:transport", severity="critical")])
    engine.evaluate(T0 + timedelta(minutes=1))
    assert alerts(store)[0]["severity"] == "critical"


def test_spike_rule_with_a_minimum_severity_waits_for_a_critical_signal(store, make_settings):
    """The shipped crise-pic rule: a warning-level crisis spike is not enough to switch to crisis mode."""
    engine = engine_for(store, make_settings, {**SPIKE, "min_severity": "critical"})
    store.add_signals([signal("spike", "topic:transport", severity="warning")])
    assert engine.evaluate(T0 + timedelta(minutes=1)) == []
    store.add_signals([signal("spike", "topic:transport", at=T0 + timedelta(minutes=1), severity="critical",
                              episode="update")])
    events = engine.evaluate(T0 + timedelta(minutes=2))
    assert [e["action"] for e in events] == ["new"]
    assert alerts(store)[0]["severity"] == "warning"  # the rule's own severity; the filter only gates


def test_volume_rule_fires_over_its_threshold_only(store, make_settings):
    rule = {"name": "volume-mairie", "type": "volume", "keys": ["keyword:mairie"], "min_count": 200,
            "window_minutes": 60}
    engine = engine_for(store, make_settings, rule)
    end = minute_bucket(T0)
    store.add_counts({("keyword:mairie", end - 10): 150, ("keyword:maire", end - 5): 900})
    assert engine.evaluate(T0) == []
    # Late mentions (a polled source) add to a minute already evaluated: the window still sees them.
    store.add_counts({("keyword:mairie", end - 2): 80})
    store.insert_mentions([labelled(1, "la mairie", at=T0 - timedelta(minutes=2))])
    events = engine.evaluate(T0 + timedelta(minutes=1))
    assert [(e["action"], e["key"]) for e in events] == [("new", "keyword:mairie")]
    assert alerts(store)[0]["title"] == "Volume élevé sur « mairie » : 230 mentions en 60 min (seuil 200)"


def test_negative_share_rule(store, make_settings):
    rule = {"name": "climat", "type": "negative_share", "keys": ["topic:*", "all"], "min_share": 0.45,
            "min_delta": 0.15, "min_volume": 30}
    engine = engine_for(store, make_settings, rule)
    store.add_signals([
        signal("negative_shift", "topic:travaux", observed=0.62, expected=0.25, volume=80, negative=50),
        signal("negative_shift", "topic:culture", observed=0.5, expected=0.45, volume=80),  # +5 points only
        signal("negative_shift", "all", observed=0.7, expected=0.2, volume=10),  # too few mentions
    ])
    engine.evaluate(T0 + timedelta(minutes=1))
    (alert,) = alerts(store)
    assert alert["title"] == "Hausse des messages négatifs sur « travaux » : 62 % (habituellement 25 %)"
    assert "80 mentions" in alert["summary"]


def test_hostility_rule_watches_named_officials(store, make_settings):
    rule = {"name": "hostilite-elus", "type": "hostility", "targets": ["Claire Marchand"], "min_mentions": 2,
            "routes": ["cellule", "cabinet"]}
    engine = engine_for(store, make_settings, rule)
    store.insert_mentions([
        labelled(1, "Marchand dégage", at=T0 - timedelta(minutes=30), hostile=True, targets=["Claire Marchand"]),
        labelled(2, "Benali honte", at=T0 - timedelta(minutes=20), hostile=True, targets=["Karim Benali"]),
        labelled(3, "Marchand nulle", at=T0 - timedelta(minutes=20), targets=["Claire Marchand"]),  # not hostile
    ])
    assert engine.evaluate(T0) == []
    store.insert_mentions([labelled(4, "Marchand démission", at=T0 + timedelta(seconds=10), hostile=True,
                                    targets=["Claire Marchand"])])
    events = engine.evaluate(T0 + timedelta(minutes=1))
    assert [(e["action"], e["key"]) for e in events] == [("new", "target:Claire Marchand")]
    alert = alerts(store)[0]
    assert alert["title"] == "Hostilité envers Claire Marchand : 2 messages hostiles en 60 min"
    assert sorted(json.loads(alert["evidence"])) == [1, 4]
    assert {r["group"] for r in outbox(store, "alert")} == {"cellule", "cabinet"}


def test_keyword_rule_on_the_crisis_lexicon_and_crisis_labels(store, make_settings):
    rule = {"name": "crise-lexique", "type": "keyword", "terms": ["inondation", "fuite de gaz"],
            "crisis_kinds": ["incendie"], "min_mentions": 3, "window_minutes": 30, "severity": "critical",
            "key_by": "rule"}
    engine = engine_for(store, make_settings, rule)
    store.insert_mentions([
        labelled(1, "Inondation rue des Lilas !", at=T0 - timedelta(minutes=3)),
        labelled(2, "une FUITE DE GAZ près de l'école", at=T0 - timedelta(minutes=2)),
        labelled(3, "les inondations d'hier", at=T0 - timedelta(minutes=2)),  # not the whole word
    ])
    assert engine.evaluate(T0) == []
    store.insert_mentions([labelled(4, "ça brûle", at=T0 + timedelta(seconds=5), crisis=["incendie"])])
    events = engine.evaluate(T0 + timedelta(minutes=1))
    assert [(e["action"], e["severity"]) for e in events] == [("new", "critical")]
    assert alerts(store)[0]["title"] == "Mot-clé surveillé « crise-lexique » : 3 mentions en 30 min"


def test_keyword_rule_respects_source_and_language_filters(store, make_settings):
    rule = {"name": "greve", "type": "keyword", "terms": ["grève"], "sources": ["mastodon"], "languages": ["fr"]}
    engine = engine_for(store, make_settings, rule)
    store.insert_mentions([
        labelled(1, "Grève demain", at=T0 - timedelta(minutes=1), source="rss"),
        labelled(2, "greve demain", at=T0 - timedelta(minutes=1), lang="en"),
    ])
    assert engine.evaluate(T0) == []
    store.insert_mentions([labelled(3, "GRÈVE des bus", at=T0)])
    assert [e["key"] for e in engine.evaluate(T0 + timedelta(minutes=1))] == ["keyword:greve"]


def test_influencer_rule(store, make_settings):
    rule = {"name": "influenceur", "type": "influencer", "min_followers": 20000}
    engine = engine_for(store, make_settings, rule)
    store.insert_mentions([
        labelled(1, "La ville est nulle", at=T0, sentiment="negative", followers=500),
        labelled(2, "Bravo la ville", at=T0, sentiment="positive", followers=90000),
        labelled(3, "Rivebelle abandonne ses quartiers", at=T0, sentiment="negative", followers=52000),
    ])
    events = engine.evaluate(T0 + timedelta(minutes=1))
    assert [e["key"] for e in events] == ["author:@auteur3"]
    alert = alerts(store)[0]
    assert alert["title"] == "Compte influent @auteur3 (52\u202f000 abonnés) : message négatif"
    assert "Rivebelle abandonne ses quartiers" in alert["summary"]


def test_new_term_rule(store, make_settings):
    rule = {"name": "nouveau-hashtag", "type": "new_term", "keys": ["hashtag:*"], "min_mentions": 8,
            "min_authors": 5}
    engine = engine_for(store, make_settings, rule)
    store.add_signals([
        signal("new_term", "hashtag:sauvonslepont", observed=12, authors=7, sample_ids=[5, 3]),
        signal("new_term", "hashtag:spam", observed=40, authors=1),
        signal("new_term", "term:pont", observed=40, authors=20),
    ])
    engine.evaluate(T0 + timedelta(minutes=1))
    (alert,) = alerts(store)
    assert alert["title"] == "Nouveau mot-dièse « #sauvonslepont » : 12 mentions de 7 auteurs"
    assert json.loads(alert["evidence"]) == [5, 3]


def test_silence_rule_opens_then_closes_with_the_episode(store, make_settings):
    rule = {"name": "source-muette", "type": "silence", "min_silent_minutes": 30}
    engine = engine_for(store, make_settings, rule)
    store.add_signals([signal("silence", "source:rss", observed=0, expected=12, silent_minutes=20),
                       signal("silence", "source:mastodon", observed=0, expected=40, silent_minutes=45)])
    engine.evaluate(T0 + timedelta(minutes=1))
    (alert,) = alerts(store)
    assert alert["title"] == "Source silencieuse : « mastodon » muette depuis 45 min"
    store.add_signals([signal("silence", "source:mastodon", at=T0 + timedelta(minutes=5), episode="end")])
    events = engine.evaluate(T0 + timedelta(minutes=6))
    assert [e["action"] for e in events] == ["resolved"]
    assert alerts(store)[0]["status"] == "resolved"


def test_an_update_of_an_open_alert_updates_the_row_and_sends_an_alert_update(store, make_settings):
    engine = engine_for(store, make_settings, {**SPIKE, "realert_minutes": 10})
    store.add_signals([signal("spike", "topic:transport")])
    engine.evaluate(T0 + timedelta(minutes=1))
    store.add_signals([signal("spike", "topic:transport", at=T0 + timedelta(minutes=4), observed=60, episode="update")])
    # Within realert: the row keeps its figures true, nobody is told.
    assert [e["action"] for e in engine.evaluate(T0 + timedelta(minutes=5))] == ["quiet_update"]
    assert alerts(store)[0]["fire_count"] == 2 and outbox(store, "alert_update") == []
    store.add_signals([signal("spike", "topic:transport", at=T0 + timedelta(minutes=14), observed=150,
                              episode="update")])
    events = engine.evaluate(T0 + timedelta(minutes=15))
    assert [e["action"] for e in events] == ["update"]
    (alert,) = alerts(store)
    assert alert["fire_count"] == 3 and "150 en 10 min" in alert["title"]
    # The incident's figure grew by the stated factor (48 -> 150, x3): one update, carrying the new figure.
    updates = outbox(store, "alert_update")
    assert updates and all(r["payload"]["alert_ids"] == [alert["id"]] for r in updates)
    assert {r["payload"]["incident"]["headline"] for r in updates} == {150}
    assert len(outbox(store, "alert")) == 2  # the first message (console + e-mail), not repeated


def test_an_ongoing_alert_that_does_not_get_worse_is_kept_current_without_new_messages(store, make_settings):
    """A night of 2-3 hostile posts an hour must not wake the cabinet every 30 minutes."""
    engine = engine_for(store, make_settings, {**SPIKE, "realert_minutes": 10})
    store.add_signals([signal("spike", "topic:transport", observed=48)])
    engine.evaluate(T0 + timedelta(minutes=1))
    store.add_signals([signal("spike", "topic:transport", at=T0 + timedelta(minutes=14), observed=50,
                              episode="update")])
    events = engine.evaluate(T0 + timedelta(minutes=15))
    assert [e["action"] for e in events] == ["quiet_update"]
    assert alerts(store)[0]["fire_count"] == 2 and "50 en 10 min" in alerts(store)[0]["title"]
    assert outbox(store, "alert_update") == []
    # Half as much again is news for the alert row; people hear of it when the incident's figure grew by
    # the stated factor (x3 of what they were last told: 48 -> 144).
    store.add_signals([signal("spike", "topic:transport", at=T0 + timedelta(minutes=30), observed=75,
                              episode="update")])
    assert [e["action"] for e in engine.evaluate(T0 + timedelta(minutes=31))] == ["update"]
    assert outbox(store, "alert_update") == []
    store.add_signals([signal("spike", "topic:transport", at=T0 + timedelta(minutes=45), observed=150,
                              episode="update")])
    engine.evaluate(T0 + timedelta(minutes=46))
    assert {r["payload"]["incident"]["headline"] for r in outbox(store, "alert_update")} == {150}


def test_a_higher_severity_breaks_through_the_realert_window(store, make_settings):
    engine = engine_for(store, make_settings, {**SPIKE, "severity_from_signal": True})
    store.add_signals([signal("spike", "topic:transport")])
    engine.evaluate(T0 + timedelta(minutes=1))
    store.add_signals([signal("spike", "topic:transport", at=T0 + timedelta(minutes=2), severity="critical",
                              episode="update")])
    events = engine.evaluate(T0 + timedelta(minutes=3))
    assert [(e["action"], e["severity"]) for e in events] == [("update", "critical")]


def test_restart_does_not_fire_again_on_what_was_already_evaluated(store, make_settings):
    engine = engine_for(store, make_settings, SPIKE)
    store.add_signals([signal("spike", "topic:transport")])
    engine.evaluate(T0 + timedelta(minutes=1))
    again = RulesEngine(store, rules_settings(make_settings, SPIKE))
    assert again.evaluate(T0 + timedelta(minutes=2)) == []
    assert len(alerts(store)) == 1


def test_with_deliver_false_nothing_is_queued_but_the_plan_is_kept(store, make_settings):
    engine = engine_for(store, make_settings, SPIKE, deliver=False)
    store.add_signals([signal("spike", "topic:transport")])
    engine.evaluate(T0 + timedelta(minutes=1))
    assert outbox(store) == []
    assert [n["kind"] for n in engine.notifications] == ["alert"]
    assert [e["action"] for e in engine.events] == ["new", "incident_opened", "incident_notified"]


# -- loading and validation ------------------------------------------------------------------------------


def test_rule_files_are_loaded_and_errors_name_the_file_rule_and_key(tmp_path, make_settings):
    folder = tmp_path / "regles"
    folder.mkdir()
    (folder / "a.toml").write_text('[[rules]]\nname = "pic"\ntype = "spike"\nmin_score = 3\n', encoding="utf-8")
    settings = make_settings(rules={"rules_dir": str(folder), "groups": GROUPS})
    assert [r.name for r in load_rules(settings)] == ["pic"]

    bad = folder / "b.toml"
    bad.write_text('[[rules]]\nname = "volume-mairie"\ntype = "volume"\nmin_count = 10\nseuil = 3\n', encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_rules(settings)
    assert error.value.key == "rules[0](volume-mairie).seuil"
    assert str(bad) in str(error.value) and "clé inconnue" in str(error.value)


@pytest.mark.parametrize(
    ("rule", "key", "french"),
    [
        ({"name": "x", "type": "pic"}, "rules.rules[0](x).type", "type de règle inconnu"),
        ({"name": "x", "type": "volume"}, "rules.rules[0](x).min_count", "obligatoire"),
        ({"name": "x", "type": "spike", "severity": "grave"}, "rules.rules[0](x).severity", "non autorisée"),
        ({"name": "x", "type": "keyword"}, "rules.rules[0](x).(règle)", "valeur invalide"),
        ({"name": "x", "type": "spike", "routes": ["presse"]}, "rules.rules[0](x).routes", "groupe"),
    ],
)
def test_invalid_inline_rules_are_named(make_settings, rule, key, french):
    settings = make_settings(rules={"rules": [rule], "groups": GROUPS})
    with pytest.raises(ConfigError) as error:
        load_rules(settings)
    assert error.value.key == key
    assert french in str(error.value)


def test_duplicate_rule_names_are_refused(make_settings):
    settings = make_settings(rules={"rules": [SPIKE, SPIKE], "groups": GROUPS})
    with pytest.raises(ConfigError, match="double"):
        load_rules(settings)


def test_the_shipped_config_has_every_rule_type():
    from listener.settings import load_settings
    from rules.types import RULE_TYPES
    from tests.conftest import REPO_ROOT

    rules = load_rules(load_settings(REPO_ROOT / "config.toml"))
    assert {r.type_name for r in rules} == set(RULE_TYPES)
    assert any(r.options.crisis for r in rules)


def test_volume_windows_follow_late_counts_and_forget_old_buckets(store, make_settings):
    rule = {"name": "vol", "type": "volume", "keys": ["topic:*"], "min_count": 10, "window_minutes": 5}
    engine = engine_for(store, make_settings, rule)
    end = minute_bucket(T0)
    store.add_counts({("topic:eau", end - 1): 6})
    assert engine.evaluate(T0) == []
    store.add_counts({("topic:eau", end - 1): 4})  # late mentions of the previous minute
    assert [e["action"] for e in engine.evaluate(T0 + timedelta(minutes=1))] == ["new"]
    # Five minutes later the burst left the window: the episode ends.
    events = engine.evaluate(T0 + timedelta(minutes=6))
    assert [e["action"] for e in events] == ["resolved"]
    sums = engine._rolling_sums[5].sums
    assert sums.get("topic:eau", 0) == 0
