"""The rules engine: once per minute, turn new signals, new mentions and counters into alerts.

One pass (`evaluate(as_of)`) reads what detection and the pipeline wrote since the last pass, asks each rule
for matches, then for every match: silence? throttled? update of an open alert or a new one? It writes the
core `alerts` table, then hands the pass's alert events to the incidents (rules/incidents.py), which decide
what people are told (one message per incident and per material change, budget per group, escalation).
With deliver=False (backtests, `vigie replay`) alerts are still written to the (temporary) store but nothing
is queued for delivery: planned notifications are kept in memory (`self.notifications`).
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict, deque
from datetime import datetime, timedelta
from typing import Any

from listener.models import Mention
from listener.store import Store
from listener.timeutil import parse_time, to_iso
from rules import crisis
from rules.actions import Silences
from rules.alerts_repo import AlertsRepository
from rules.decide import Facts, decide, fingerprint, group_key, realert_minutes
from rules.filters import KeyIndex, evidence_for, mention_has_key, rank_evidence
from rules.incidents import IncidentBook
from rules.loader import load_rules
from rules.routing import notify_groups, planned_deliveries, rules_settings_of, timezone_of
from rules.settings import RulesConfig, SettingsView
from rules.throttle import Throttle
from rules.types import EvalContext, Match, RuleType
from rules.types.base import display_names

log = logging.getLogger("vigie.rules")

EVIDENCE_CACHE_SPAN = timedelta(hours=1)
RECENT_CAP = 20_000
_READ_BATCH = 10_000
CRISIS_RANK = {"normal": 0, "retour": 0, "vigilance": 1, "crise": 2}


class RulesEngine:
    def __init__(
        self, store: Store, settings: SettingsView, *, deliver: bool = True, rules: list[RuleType] | None = None
    ) -> None:
        self.store = store
        self.settings = settings
        self.rs = rules_settings_of(settings)
        self.tz = timezone_of(settings)
        self.deliver = deliver
        self.rules = load_rules(settings) if rules is None else rules
        self.names = display_names(settings)
        self.by_kind: dict[str, list[RuleType]] = defaultdict(list)
        self.mention_rules = [r for r in self.rules if r.uses_mentions]
        self.count_rules = [r for r in self.rules if r.uses_counts]
        for rule in self.rules:
            if rule.signal_kind:
                self.by_kind[rule.signal_kind].append(rule)
        self.throttle = Throttle(store)
        self.alerts = AlertsRepository(store)
        self._key_index: dict[str, KeyIndex] = {}
        self._rolling_sums: dict[int, Any] = {}
        self._count_window = max((r.window_minutes() for r in self.count_rules), default=0)
        self._count_thresholds: dict[int, int] = {}
        for rule in self.count_rules:
            window, floor = rule.window_minutes(), int(getattr(rule.options, "min_count", 0))
            self._count_thresholds[window] = min(self._count_thresholds.get(window, floor), floor)
        # People hear of incidents (alerts that belong together), not of each alert.
        self.incidents = IncidentBook(
            store, settings, send=self._send if deliver else None, plan=None if deliver else self._plan,
            institution=str(getattr(getattr(settings, "institution", None), "name", "") or ""), names=self.names)
        # Crisis level the rules asked for when nothing is delivered (backtests): only ever upwards.
        self.planned_crisis = "normal"
        self.incident_events: list[dict[str, Any]] = []
        self.primed = False
        # What fired (every pass appends); the backtest prints it. Bounded in the daemon.
        self.events: list[dict[str, Any]] = []
        # Notifications that would have been sent when deliver=False.
        self.notifications: list[dict[str, Any]] = []
        self.last_pass: dict[str, Any] = {}
        self.keep_events = not deliver
        self._now: datetime | None = None
        # Last hour of mentions (evidence); None until an alert first needs it.
        self._rolling: deque[Mention] | None = None
        self._recent: list[Mention] | None = None
        self._by_key: dict[str, list[Mention]] = {}
        # Mentions read ahead of the pass by `absorb()` (ids after `_intake_from`, read up to `_intake_last`).
        self._intake: list[Mention] = []
        self._intake_from: int | None = None
        self._intake_last = 0

    # -- progress -----------------------------------------------------------------------------------

    def _max_window(self) -> int:
        return max((r.window_minutes() for r in self.mention_rules), default=0)

    def _start_ids(self, as_of: datetime) -> tuple[int, int]:
        """Where to resume; a first start skips history older than the rules' windows (no alert storm)."""
        signal_id = self.alerts.progress("last_signal_id")
        mention_id = self.alerts.progress("last_mention_id")
        if signal_id is None:
            signal_id = self.store.last_signal_id(before=as_of - timedelta(minutes=15))
        if mention_id is None:
            mention_id = self.store.last_mention_id(as_of - timedelta(minutes=max(self._max_window(), 1)))
        return signal_id, mention_id

    def _prime(self, as_of: datetime, up_to_id: int, ctx: EvalContext) -> None:
        """After a restart, refill mention windows with what they held, without firing."""
        window = self._max_window()
        if not self.mention_rules or not window or not up_to_id:
            return
        recent = self.store.mentions_between(as_of - timedelta(minutes=window), as_of)
        recent = [m for m in recent if m.id is not None and m.id <= up_to_id]
        for rule in self.mention_rules:
            rule.on_mentions(recent, ctx, prime=True)

    # -- one pass -------------------------------------------------------------------------------------

    def evaluate(self, as_of: datetime) -> list[dict[str, Any]]:
        """Evaluate every rule as of a moment; returns what happened (new, updated, silenced… alerts)."""
        started = time.perf_counter()
        self._now = as_of
        self._recent: list[Mention] | None = None
        self._by_key: dict[str, list[Mention]] = {}
        ctx = EvalContext(self.store, as_of, self.tz, self._rolling_sums, names=self.names)
        signal_id, mention_id = self._start_ids(as_of)
        if not self.primed:
            self._prime(as_of, mention_id, ctx)
            self.primed = True
        if self._rolling is None and (self.mention_rules or self.count_rules):
            # The pass reads every new mention anyway: the evidence hour starts now and each pass feeds it,
            # instead of one read of up to RECENT_CAP mentions at the first alert of a busy hour (~2 s of
            # the GIL at 1,000 mentions/s, while ingest waits).
            self._start_rolling(as_of, up_to_id=mention_id)
        matches: list[tuple[RuleType, Match]] = []

        signals = self.store.signals_after(signal_id, as_of) if self.by_kind else []
        for signal in signals:
            for rule in self._candidates(signal.kind, signal.key):
                match = rule.on_signal(signal, ctx)
                if match is not None:
                    matches.append((rule, match))
        if signals:
            signal_id = max(signal_id, max(s.id or 0 for s in signals))
        elif not self.by_kind:
            signal_id = max(signal_id, self.store.last_signal_id())

        new_mentions = self._new_mentions(mention_id, as_of)
        if new_mentions:
            mention_id = max(m.id or 0 for m in new_mentions)
            if self._rolling is not None:
                self._rolling.extend(new_mentions)
            for rule in self.mention_rules:
                matches.extend((rule, m) for m in rule.on_mentions(new_mentions, ctx))
        if self.count_rules:
            ctx.changed_buckets = {int(m.created_at.timestamp()) // 60 for m in new_mentions}
            ctx.max_window = self._count_window
            ctx.thresholds = self._count_thresholds
        for rule in self.count_rules:
            matches.extend((rule, m) for m in rule.on_counts(ctx))

        events: list[dict[str, Any]] = []
        silences = Silences(self.store, as_of)
        self._read_evidence_ahead(matches)
        with self.store.transaction():
            for rule, match in matches:
                event = self._apply(rule, match, as_of, silences)
                if event is not None:
                    events.append(event)
            self.alerts.set_progress("last_signal_id", signal_id)
            self.alerts.set_progress("last_mention_id", mention_id)
            events.extend(self._resolve_stale(as_of))
        self._after_commit(events, as_of)
        # What people are told is decided per incident (rules/incidents.py); kept apart from alert events.
        self.incident_events = self.incidents.observe(events, as_of)
        for incident_id, level in self.incidents.escalate(as_of):
            self.incident_events.append({"at": as_of, "action": "escalation", "incident_id": incident_id,
                                         "level": level})
        if self.keep_events:
            self.events.extend(events)
            self.events.extend(self.incident_events)
        self.last_pass = {
            "as_of": to_iso(as_of), "signals": len(signals), "mentions": len(new_mentions), "matches": len(matches),
            "events": len(events), "seconds": round(time.perf_counter() - started, 4),
        }
        return events

    def _candidates(self, kind: str, key: str) -> list[RuleType]:
        """Rules of a signal kind whose `keys` accept this key, in rule order (the others would reject the
        signal in on_signal anyway): looked up in a per-kind index instead of asking every rule."""
        rules = self.by_kind.get(kind)
        if not rules:
            return []
        index = self._key_index.get(kind)
        if index is None:
            index = self._key_index[kind] = KeyIndex(rule.keys for rule in rules)
        return [rules[position] for position in index.candidates(key)]

    def _reads_mentions(self) -> bool:
        return bool(self.mention_rules or self.count_rules or self._rolling is not None)

    def absorb(self) -> int:
        """Between passes: read (and decode) the mentions stored since the last read, so the pass does not
        read a whole minute of them at once (seconds of CPU at 1,000 mentions/s, holding the GIL the
        pipeline and the event loop need). The pass takes exactly what it would have read itself."""
        if not self.primed or not self._reads_mentions():
            return 0
        after = self.alerts.progress("last_mention_id")
        if after is None:
            return 0
        if self._intake_from != after:
            self._intake, self._intake_from, self._intake_last = [], after, after
        return self._read_intake()

    def _read_intake(self) -> int:
        batch = self._stored_after(self._intake_last, None)
        self._intake.extend(batch)
        if batch:
            self._intake_last = batch[-1].id or self._intake_last
        return len(batch)

    def _stored_after(self, after_id: int, until: datetime | None) -> list[Mention]:
        """Every mention stored after `after_id` (and created before `until`), read _READ_BATCH at a time."""
        found: list[Mention] = []
        while True:
            batch = self.store.mentions_stored_after(after_id, until, _READ_BATCH)
            found.extend(batch)
            if len(batch) < _READ_BATCH:
                return found
            after_id = batch[-1].id or after_id

    def _new_mentions(self, after_id: int, as_of: datetime) -> list[Mention]:
        """Mentions stored after `after_id` and created before `as_of` (second precision, as stored)."""
        if not self._reads_mentions():
            return []
        if self._intake_from == after_id:
            # What absorb() read, plus what came since; those created later wait for their pass, those
            # created earlier than the newest taken are passed over, as a read of the store would.
            self._read_intake()
            until = parse_time(to_iso(as_of))
            found = [m for m in self._intake if m.created_at < until]
            newest = max((m.id or 0 for m in found), default=after_id)
            self._intake = [m for m in self._intake if m.created_at >= until and (m.id or 0) > newest]
            self._intake_from = newest
            return found
        self._intake, self._intake_from = [], None
        return self._stored_after(after_id, as_of)

    # -- alerts: facts → decide() → repository -------------------------------------------------------------

    def _evidence(self, rule: RuleType, match: Match) -> list[int]:
        if match.evidence or match.evidence_window is None:
            return match.evidence
        start, end = match.evidence_window
        key = match.key if ":" in match.key or match.key == "all" else "all"
        if self._in_recent_hour(match.evidence_window):
            # One read of the last hour per pass serves every alert of the pass (alert storms stay cheap).
            if self._recent is None:
                self._load_recent()
            keyed = self._by_key.get(key)
            if keyed is None:
                keyed = self._by_key[key] = [m for m in self._recent or () if mention_has_key(m, key)]
            found = [m for m in keyed if start <= m.created_at < end]
            if not rule.filter.empty:
                found = [m for m in found if rule.filter.accepts(m)]
            return rank_evidence(found, match.evidence_order)
        return evidence_for(self.store, key, start, end, rule.filter, order=match.evidence_order)

    def _read_evidence_ahead(self, matches: list[tuple[RuleType, Match]]) -> None:
        """Read the last hour's mentions for evidence before the pass takes the store's write lock: read
        inside it, the first read (up to RECENT_CAP mentions, seconds at 1,000 mentions/s) kept the
        pipeline from committing, and every ingest request waiting for « stored » waited with it."""
        if self._recent is not None or self._now is None:
            return
        if any(not match.evidence and self._in_recent_hour(match.evidence_window) for _, match in matches):
            self._load_recent()

    def _in_recent_hour(self, window: tuple[datetime, datetime] | None) -> bool:
        """Whether an evidence window lies in the hour the pass keeps in memory (else the store is read)."""
        return (window is not None and self._now is not None
                and window[0] >= self._now - EVIDENCE_CACHE_SPAN and window[1] <= self._now)

    def _start_rolling(self, as_of: datetime, up_to_id: int | None = None) -> None:
        """The newest RECENT_CAP mentions of the hour before `as_of` (a busy hour holds millions), stored up
        to `up_to_id` (None: all): those after it come with the pass."""
        self._rolling = deque(
            self.store.newest_mentions_between(as_of - EVIDENCE_CACHE_SPAN, as_of, RECENT_CAP, up_to_id=up_to_id),
            maxlen=RECENT_CAP)

    def _load_recent(self) -> None:
        """Mentions of the last hour for evidence: kept across passes, fed by each pass's new mentions."""
        cutoff = self._now - EVIDENCE_CACHE_SPAN
        if self._rolling is None:
            self._start_rolling(self._now)
        assert self._rolling is not None
        while self._rolling and self._rolling[0].created_at < cutoff:
            self._rolling.popleft()
        self._recent = [m for m in self._rolling if m.created_at < self._now]

    def _facts(self, rule: RuleType, match: Match, as_of: datetime, silences: Silences) -> Facts:
        """What decide() needs to know about this match, read from the store."""
        options = rule.options
        key = fingerprint(options, match)
        current = self.alerts.open_alert(key)
        inhibitor_open = (current is not None and current.status == "silenced"
                          and self.alerts.is_active(current.details.get("inhibited_by")))
        open_critical = None
        if current is None and self.rs.inhibit_lower_severity:
            open_critical = self.alerts.open_critical(group_key(options, match))
        return Facts(current=current, silence_id=silences.find(rule.name, match.key),
                     throttled=self.throttle.throttled(key, as_of, realert_minutes(options, self.rs)),
                     inhibitor_open=inhibitor_open, open_critical=open_critical)

    def _apply(self, rule: RuleType, match: Match, as_of: datetime, silences: Silences) -> dict[str, Any] | None:
        """Gather the facts, decide, write the outcome; returns the pass event (None: nothing happened)."""
        facts = self._facts(rule, match, as_of, silences)
        decision = decide(rule.options, match, facts, self.rs)
        current = facts.current
        base = {"at": as_of, "rule": rule.name, "rule_type": rule.type_name, "key": match.key}
        action = decision.action
        if action == "ignore":
            return None
        if action == "resolve":
            assert current is not None
            self.alerts.resolve(current.id, as_of)
            return {**base, "action": "resolved", "alert_id": current.id, "severity": current.severity, "title": ""}
        key = fingerprint(rule.options, match)
        if match.topic:  # alerts/ name the topic as people do, from what the rules wrote
            decision.details["topic_label"] = self.names.topic(match.topic)
        if current is not None:
            evidence = self._evidence(rule, match) or current.evidence
            self.alerts.fire_again(current.id, severity=decision.severity, title=match.title, summary=match.summary,
                                   details=decision.details, evidence=evidence, at=as_of,
                                   reopen=action == "reopen")
            alert_id, fire_count = current.id, current.fire_count + 1
        else:
            alert_id = self.alerts.insert(
                rule=rule.name, rule_type=rule.type_name, key=match.key, fingerprint=key,
                group_key=decision.group_key, severity=decision.severity, status=decision.status,
                title=match.title, summary=match.summary, topic=match.topic, details=decision.details,
                evidence=self._evidence(rule, match), routes=decision.routes, at=as_of)
            fire_count = 1
        if decision.notifies:
            self.throttle.record(key, as_of, decision.severity)
        event = {**base, "action": action, "alert_id": alert_id, "severity": decision.severity,
                 "title": match.title, "fire_count": fire_count, "routes": decision.routes,
                 "crisis": _crisis_of(rule, match)}
        if action in ("update", "quiet_update"):
            return {**event, "raised": decision.raised}
        event.update(group_key=decision.group_key)
        if action == "reopen":
            event.update(action="new", reopened=True)
        return event

    def _resolve_stale(self, as_of: datetime) -> list[dict[str, Any]]:
        stale = self.alerts.resolve_stale(as_of - timedelta(minutes=self.rs.resolve_after_minutes), as_of)
        return [{"at": as_of, "rule": rule, "key": key, "action": "resolved", "alert_id": alert_id,
                 "severity": severity, "title": ""} for alert_id, rule, key, severity in stale]

    # -- side effects after the alerts are committed ------------------------------------------------------

    def _after_commit(self, events: list[dict[str, Any]], as_of: datetime) -> None:
        """Crisis mode and the calm timer; messages are the incidents' business (rules/incidents.py)."""
        for event in list(events):
            action = event["action"]
            if action == "new" or (action in ("update", "quiet_update") and event.get("raised")):
                if event.get("crisis"):
                    planned = self._enter_crisis(event, as_of)
                    if planned is not None:
                        events.append(planned)
                if event["severity"] == "critical":
                    self._note_critical(as_of)

    def _send(self, **kwargs: Any) -> int:
        """notify_groups at the pass's moment (grouping and escalation call it without a time)."""
        return notify_groups(self.store, self.settings, at=self._now, **kwargs)

    def _plan(self, kind: str, ids: list[int], groups: list[str] | None, severity: str, at: datetime,
              **extra: Any) -> None:
        groups = list(self.rs.groups) if groups is None else groups
        self.notifications.append({"at": at, "kind": kind, "alert_ids": ids, "groups": groups, "severity": severity,
                                   "deliveries": planned_deliveries(self.settings, groups=groups, severity=severity,
                                                                    at=at), **extra})

    def _enter_crisis(self, event: dict[str, Any], as_of: datetime) -> dict[str, Any] | None:
        """The rule asks for a crisis state: only ever upwards (a vigilance rule never ends a crisis).
        Without delivery (backtests) the level is only planned: returns the planned change."""
        if not self.deliver:
            if CRISIS_RANK[event["crisis"]] <= CRISIS_RANK.get(self.planned_crisis, 0):
                return None
            event["crisis_planned"] = event["crisis"]
            self.planned_crisis = event["crisis"]
            announce = getattr(getattr(self.rs, "crisis", None), "announce_groups", None) or None
            self._plan("crisis", [], announce, "critical" if event["crisis"] == "crise" else "warning", as_of,
                       level=event["crisis"])
            return {"at": as_of, "action": "crisis", "level": event["crisis"], "rule": event.get("rule"),
                    "key": event.get("key"), "alert_id": event.get("alert_id"), "severity": event.get("severity")}
        try:
            state = crisis.current_state(self.store)["state"]
            if CRISIS_RANK.get(state, 0) >= CRISIS_RANK[event["crisis"]]:
                return None
            crisis.enter(self.store, self.settings, event["crisis"], f"règle {event['rule']}", event["title"], as_of)
        except Exception:
            log.exception("crisis transition asked by rule %s failed", event["rule"])
        return None

    def _note_critical(self, as_of: datetime) -> None:
        if not self.deliver:
            return
        try:
            crisis.note_critical_alert(self.store, as_of)
        except Exception:
            log.exception("note_critical_alert failed")


def _crisis_of(rule: RuleType, match: Match) -> str | None:
    """Crisis level asked for: the match's own (content rules scale it with what they saw), else the rule's."""
    level = match.details.get("crisis_level")
    return level if level in ("vigilance", "crise") else rule.options.crisis


def describe_rules(settings: RulesConfig) -> list[str]:
    """Lines for `vigie check-config`: loads (so validates) every rule and says what is routed where."""
    rules = load_rules(settings)
    rs = rules_settings_of(settings)
    lines = [f"Règles actives : {len(rules)} ({'moteur activé' if rs.enabled else 'moteur désactivé'})"]
    for rule in rules:
        routes = ", ".join(rule.options.routes or rs.default_routes)
        lines.append(f"  - {rule.name} ({rule.type_name}, {rule.options.severity}) → {routes}")
    lines.append("Groupes de destinataires : " + (", ".join(rs.groups) or "aucun"))
    return lines

