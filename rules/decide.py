"""The alerting decision as a pure function: what the engine knows about a match (facts) → what to do.

Kept free of I/O so every case (silenced, throttled, inhibited, grew enough to tell again, reopened…)
is checked as a table in tests/test_rules_decide.py; the engine gathers the facts from the store and the
alerts repository (rules/alerts_repo.py) writes the outcome.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from rules.settings import SEVERITY_RANK, RulesSettings
from rules.types.base import Match, RuleOptions

Action = Literal["ignore", "resolve", "reopen", "update", "quiet_update", "new", "silenced", "inhibited"]


@dataclass(frozen=True)
class OpenAlert:
    """The open (or acknowledged, or silenced) alert of a rule + key, as stored."""

    id: int
    severity: str
    status: str
    fire_count: int
    details: dict[str, Any] = field(default_factory=dict)
    evidence: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Facts:
    """What the store says about one match at the moment it is decided."""

    current: OpenAlert | None = None
    # Active silence covering rule + key.
    silence_id: int | None = None
    # The fingerprint notified within its realert window.
    throttled: bool = False
    # The critical alert that held `current` back (details.inhibited_by) is still open.
    inhibitor_open: bool = False
    # An open critical alert of the same group key (only looked up for a new alert).
    open_critical: int | None = None


@dataclass(frozen=True)
class Decision:
    action: Action
    severity: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    group_key: str = ""
    routes: list[str] = field(default_factory=list)
    # Severity went up compared with the open alert.
    raised: bool = False

    @property
    def notifies(self) -> bool:
        """People will be told (the realert clock restarts)."""
        return self.action in ("new", "reopen", "update")

    @property
    def status(self) -> str:
        """Status of an alert row this decision writes (new, silenced, inhibited, reopen)."""
        return "silenced" if self.action in ("silenced", "inhibited") else "open"


IGNORE = Decision("ignore")


def fingerprint(options: RuleOptions, match: Match) -> str:
    return f"{options.name}|{match.key}"


def effective_severity(options: RuleOptions, match: Match) -> str:
    """The match's severity, never below the rule's own."""
    severity = match.severity or options.severity
    if SEVERITY_RANK.get(severity, 0) < SEVERITY_RANK[options.severity]:
        return options.severity
    return severity


def realert_minutes(options: RuleOptions, settings: RulesSettings) -> int:
    return settings.realert_minutes if options.realert_minutes is None else options.realert_minutes


def routes_of(options: RuleOptions, settings: RulesSettings) -> list[str]:
    return list(options.routes or settings.default_routes)


def group_key(options: RuleOptions, match: Match) -> str:
    by = options.group_by
    if by == "topic" and match.topic:
        return f"topic:{match.topic}"
    if by == "key":
        return f"{options.name}|{match.key}"
    return f"rule:{options.name}"


def grew(observed: Any, told: Any) -> bool:
    """Half as much again (and at least 3 more) than the figure last notified."""
    if not isinstance(observed, int | float) or not isinstance(told, int | float):
        return True  # no figure to compare: keep telling, as before
    return observed >= max(told * 1.5, told + 3)


def decide(options: RuleOptions, match: Match, facts: Facts, settings: RulesSettings) -> Decision:
    """What one match does to its alert: nothing, close it, update it (telling people or not), reopen it,
    or write a new one (open, silenced or inhibited)."""
    current = facts.current
    if match.episode == "end":
        return Decision("resolve", severity=current.severity) if current is not None else IGNORE
    severity = effective_severity(options, match)
    routes = routes_of(options, settings)
    key = group_key(options, match)
    if current is not None:
        return _on_open(current, match, facts, severity, routes, key)
    if facts.silence_id is None and facts.throttled:
        return IGNORE
    details = dict(match.details)
    details.setdefault("description", options.description)
    action: Action = "new"
    if facts.silence_id is not None:
        action = "silenced"
        details["silence_id"] = facts.silence_id
    elif settings.inhibit_lower_severity and severity != "critical" and facts.open_critical is not None:
        action = "inhibited"
        details["inhibited_by"] = facts.open_critical
    return Decision(action, severity=severity, details=details, group_key=key, routes=routes)


def _on_open(current: OpenAlert, match: Match, facts: Facts, severity: str, routes: list[str],
             key: str) -> Decision:
    raised = SEVERITY_RANK.get(severity, 0) > SEVERITY_RANK.get(current.severity, 0)
    if current.status == "silenced" and facts.silence_id is None and not facts.inhibitor_open:
        # Its silence (or inhibitor) has ended and it still matches: notify it now.
        details = {**current.details, **match.details}
        details.pop("silence_id", None)
        details.pop("inhibited_by", None)
        top = max(severity, current.severity, key=lambda s: SEVERITY_RANK.get(s, 0))
        return Decision("reopen", severity=top, details=details, group_key=key, routes=routes)
    # Within its realert window an alert is still kept current (its figures stay true for the incident it
    # belongs to); only telling people waits, and incidents decide that (rules/incidents.py).
    quiet = current.status == "silenced" or facts.silence_id is not None or (facts.throttled and not raised)
    details = {**current.details, **match.details}
    details["started_at"] = current.details.get("started_at", details.get("started_at"))
    # People are told again only when it got worse: a higher severity, or half as much again as what they
    # were last told. Otherwise the alert row is kept current without a new message.
    told = current.details.get("notified_observed", current.details.get("observed"))
    if not quiet and not raised and not grew(match.details.get("observed"), told):
        quiet = True
    if not quiet:
        details["notified_observed"] = match.details.get("observed")
    return Decision("quiet_update" if quiet else "update", severity=severity if raised else current.severity,
                    details=details, group_key=key, routes=routes, raised=raised)
