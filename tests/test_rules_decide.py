"""decide() is the whole alerting decision, with no store: each row of the table is one situation a
community manager would recognise (silenced, throttled, held back by a critical alert, grew enough to be
told again…) and what Vigie must do about it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from rules.decide import Facts, OpenAlert, decide, effective_severity, grew
from rules.settings import RulesSettings
from rules.types.base import Match, RuleOptions

AT = datetime(2026, 11, 17, 8, 0, tzinfo=UTC)
RS = RulesSettings(default_routes=["cellule"])
RULE = RuleOptions(name="pic", type="spike", description="Pic de mentions", severity="warning")


def match(*, episode: str = "start", severity: str | None = None, observed: float | None = 40,
          topic: str | None = "transport") -> Match:
    details = {"observed": observed, "started_at": "2026-11-17T07:52:00Z"} if observed is not None else {}
    return Match(key="topic:transport", at=AT, title="Pic", summary="40 mentions", episode=episode,
                 severity=severity, topic=topic, details=details)


def alert(*, status: str = "open", severity: str = "warning", told: float | None = 40, **details) -> OpenAlert:
    stored = {"started_at": "2026-11-17T07:40:00Z", "notified_observed": told, **details}
    return OpenAlert(id=7, severity=severity, status=status, fire_count=2, details=stored, evidence=[1, 2])


# (situation, match, facts, expected action, expected severity)
TABLE = [
    ("first match: a new alert", match(), Facts(), "new", "warning"),
    ("first match, notified a minute ago: nothing", match(), Facts(throttled=True), "ignore", ""),
    ("first match under a silence: recorded silenced", match(), Facts(silence_id=3), "silenced", "warning"),
    ("silence wins over throttle", match(), Facts(silence_id=3, throttled=True), "silenced", "warning"),
    ("a critical alert of the topic is open: held back", match(), Facts(open_critical=11), "inhibited", "warning"),
    ("a critical match is never held back", match(severity="critical"), Facts(open_critical=11), "new", "critical"),
    ("detector says info, rule says warning: warning", match(severity="info"), Facts(), "new", "warning"),
    ("end of episode without an alert: nothing", match(episode="end"), Facts(), "ignore", ""),
    ("end of episode: resolved", match(episode="end"), Facts(current=alert()), "resolve", "warning"),
    ("open, grew by half: told again", match(observed=60), Facts(current=alert()), "update", "warning"),
    ("open, barely moved: row kept current quietly", match(observed=45), Facts(current=alert()),
     "quiet_update", "warning"),
    ("open, grew but throttled: row kept current, nobody told", match(observed=60),
     Facts(current=alert(), throttled=True), "quiet_update", "warning"),
    ("open, severity rose: told even when throttled", match(severity="critical", observed=41),
     Facts(current=alert(), throttled=True), "update", "critical"),
    ("open, lower severity match keeps the higher one", match(severity="warning", observed=80),
     Facts(current=alert(severity="critical")), "update", "critical"),
    ("open, no figure to compare: told", match(observed=None), Facts(current=alert()), "update", "warning"),
    ("open but silenced since: quiet update", match(observed=90), Facts(current=alert(), silence_id=3),
     "quiet_update", "warning"),
    ("silenced, silence still on: quiet update", match(observed=90),
     Facts(current=alert(status="silenced"), silence_id=3), "quiet_update", "warning"),
    ("silenced, silence ended: reopened", match(observed=41), Facts(current=alert(status="silenced", silence_id=3)),
     "reopen", "warning"),
    ("inhibited, critical still open: quiet", match(observed=90),
     Facts(current=alert(status="silenced", inhibited_by=11), inhibitor_open=True), "quiet_update", "warning"),
    ("inhibited, critical closed: reopened", match(observed=41),
     Facts(current=alert(status="silenced", inhibited_by=11)), "reopen", "warning"),
]


@pytest.mark.parametrize(("situation", "m", "facts", "action", "severity"), TABLE, ids=[row[0] for row in TABLE])
def test_decide_table(situation, m, facts, action, severity):
    decision = decide(RULE, m, facts, RS)
    assert decision.action == action
    assert decision.severity == severity


def test_new_alert_carries_routes_group_and_description():
    decision = decide(RULE, match(), Facts(), RS)
    assert decision.routes == ["cellule"]
    assert decision.group_key == "topic:transport"
    assert decision.status == "open" and decision.notifies
    assert decision.details["description"] == "Pic de mentions"
    routed = RuleOptions(name="pic", type="spike", routes=["cabinet"], group_by="key")
    decision = decide(routed, match(topic=None), Facts(), RS)
    assert decision.routes == ["cabinet"] and decision.group_key == "pic|topic:transport"
    assert decide(RuleOptions(name="r", type="spike"), match(topic=None), Facts(), RS).group_key == "rule:r"


def test_silenced_and_inhibited_alerts_are_written_silenced_and_say_why():
    silenced = decide(RULE, match(), Facts(silence_id=3), RS)
    assert silenced.status == "silenced" and not silenced.notifies and silenced.details["silence_id"] == 3
    held = decide(RULE, match(), Facts(open_critical=11), RS)
    assert held.status == "silenced" and held.details["inhibited_by"] == 11
    no_inhibition = RulesSettings(inhibit_lower_severity=False)
    assert decide(RULE, match(), Facts(open_critical=11), no_inhibition).action == "new"


def test_update_remembers_what_people_were_told_and_when_it_started():
    told = decide(RULE, match(observed=60), Facts(current=alert()), RS)
    assert told.details["notified_observed"] == 60
    assert told.details["started_at"] == "2026-11-17T07:40:00Z"  # the episode's start, not the match's
    assert told.notifies and not told.raised
    quiet = decide(RULE, match(observed=45), Facts(current=alert()), RS)
    assert quiet.details["notified_observed"] == 40 and not quiet.notifies
    raised = decide(RULE, match(severity="critical", observed=41), Facts(current=alert()), RS)
    assert raised.raised and raised.notifies


def test_reopen_drops_the_silence_marks():
    decision = decide(RULE, match(), Facts(current=alert(status="silenced", silence_id=3, inhibited_by=11)), RS)
    assert decision.action == "reopen" and decision.notifies and decision.status == "open"
    assert "silence_id" not in decision.details and "inhibited_by" not in decision.details


def test_decide_does_not_change_its_inputs():
    current = alert()
    before = dict(current.details)
    m = match(observed=90)
    decide(RULE, m, Facts(current=current), RS)
    assert current.details == before and m.details == {"observed": 90, "started_at": "2026-11-17T07:52:00Z"}


def test_grew_needs_half_again_and_at_least_three_more():
    assert grew(15, 10) and not grew(14, 10)
    assert grew(5, 2) and not grew(4, 2)  # +3 at least on small figures
    assert grew(None, 10) and grew(10, None)
    assert effective_severity(RULE, match(severity="critical")) == "critical"
