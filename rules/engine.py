"""The rules engine: once per minute, turn new signals, new mentions and counters into alerts.

One pass (`evaluate(as_of)`) reads what detection and the pipeline wrote since the last pass, asks each rule
for matches, then for every match: silence? throttled? update of an open alert or a new one? It writes the
core `alerts` table, queues notifications for grouping, sends due groups and escalations. With
deliver=False (backtests, `vigie replay`) alerts are still written to the (temporary) store but nothing
is queued for delivery: planned notifications are kept in memory (`self.notifications`).
"""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict, deque
from datetime import datetime, timedelta
from typing import Any

from listener.models import Mention
from listener.store import Store
from listener.timeutil import to_iso
from rules.actions import OPEN_STATES, Silences
from rules.escalation import escalate
from rules.filters import KeyIndex, evidence_for, mention_has_key, rank_evidence
from rules.grouping import Grouper
from rules.loader import load_rules
from rules.routing import notify_groups, planned_deliveries, rules_settings_of, timezone_of
from rules.settings import SEVERITY_RANK
from rules.throttle import Throttle
from rules.types import EvalContext, Match, RuleType
from rules.types.base import register_display_names

log = logging.getLogger("vigie.rules")

EVIDENCE_CACHE_SPAN = timedelta(hours=1)
RECENT_CAP = 20_000
CRISIS_RANK = {"normal": 0, "retour": 0, "vigilance": 1, "crise": 2}


class RulesEngine:
    def __init__(
        self, store: Store, settings: Any, *, deliver: bool = True, rules: list[RuleType] | None = None
    ) -> None:
        self.store = store
        self.settings = settings
        self.rs = rules_settings_of(settings)
        self.tz = timezone_of(settings)
        self.deliver = deliver
        self.rules = load_rules(settings) if rules is None else rules
        register_display_names(settings)
        self.by_kind: dict[str, list[RuleType]] = defaultdict(list)
        self.mention_rules = [r for r in self.rules if r.uses_mentions]
        self.count_rules = [r for r in self.rules if r.uses_counts]
        for rule in self.rules:
            if rule.signal_kind:
                self.by_kind[rule.signal_kind].append(rule)
        self.throttle = Throttle(store)
        self._key_index: dict[str, KeyIndex] = {}
        self._rolling_sums: dict[int, Any] = {}
        self._count_window = max((r.window_minutes() for r in self.count_rules), default=0)
        self._count_thresholds: dict[int, int] = {}
        for rule in self.count_rules:
            window, floor = rule.window_minutes(), int(getattr(rule.options, "min_count", 0))
            self._count_thresholds[window] = min(self._count_thresholds.get(window, floor), floor)
        self.grouper = Grouper(store, self.rs)
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

    # -- progress -----------------------------------------------------------------------------------

    def _state(self, name: str) -> int | None:
        row = self.store.conn.execute("SELECT value FROM rules_state WHERE name = ?", [name]).fetchone()
        return int(row[0]) if row else None

    def _set_state(self, name: str, value: int) -> None:
        self.store.conn.execute(
            "INSERT INTO rules_state (name, value) VALUES (?, ?) "
            "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
            [name, str(value)],
        )

    def _max_window(self) -> int:
        return max((r.window_minutes() for r in self.mention_rules), default=0)

    def _start_ids(self, as_of: datetime) -> tuple[int, int]:
        """Where to resume; a first start skips history older than the rules' windows (no alert storm)."""
        signal_id = self._state("last_signal_id")
        mention_id = self._state("last_mention_id")
        if signal_id is None:
            row = self.store.conn.execute(
                "SELECT max(id) FROM signals WHERE at < ?", [to_iso(as_of - timedelta(minutes=15))]
            ).fetchone()
            signal_id = row[0] or 0
        if mention_id is None:
            horizon = as_of - timedelta(minutes=max(self._max_window(), 1))
            row = self.store.conn.execute("SELECT max(id) FROM mentions WHERE created_at < ?", [to_iso(horizon)]).fetchone()
            mention_id = row[0] or 0
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
        ctx = EvalContext(self.store, as_of, self.tz, self._rolling_sums)
        signal_id, mention_id = self._start_ids(as_of)
        if not self.primed:
            self._prime(as_of, mention_id, ctx)
            self.primed = True
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
            row = self.store.conn.execute("SELECT max(id) FROM signals").fetchone()
            signal_id = max(signal_id, row[0] or 0)

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
        with self.store.transaction():
            for rule, match in matches:
                event = self._apply(rule, match, as_of, silences)
                if event is not None:
                    events.append(event)
            self._set_state("last_signal_id", signal_id)
            self._set_state("last_mention_id", mention_id)
            events.extend(self._resolve_stale(as_of))
        self._after_commit(events, as_of)
        self.grouper.flush(as_of, self._send)
        escalated = escalate(self.store, self.rs, as_of, self._send if self.deliver else None)
        for alert_id, level in escalated:
            events.append({"at": as_of, "action": "escalation", "alert_id": alert_id, "level": level})
            if not self.deliver:
                self._plan("escalation", [alert_id], [self.rs.escalation_group], "critical", as_of)
        if self.keep_events:
            self.events.extend(events)
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

    def _new_mentions(self, after_id: int, as_of: datetime) -> list[Mention]:
        if not self.mention_rules and not self.count_rules and self._rolling is None:
            return []
        found: list[Mention] = []
        while True:
            batch = self.store.mentions_stored_after(after_id, as_of)
            found.extend(batch)
            if len(batch) < 10_000:
                return found
            after_id = batch[-1].id or after_id

    # -- alerts ---------------------------------------------------------------------------------------

    def _routes(self, rule: RuleType) -> list[str]:
        return list(rule.options.routes or self.rs.default_routes)

    def _group_key(self, rule: RuleType, match: Match) -> str:
        by = rule.options.group_by
        if by == "topic" and match.topic:
            return f"topic:{match.topic}"
        if by == "key":
            return f"{rule.name}|{match.key}"
        return f"rule:{rule.name}"

    def _open_alert(self, fingerprint: str) -> tuple | None:
        marks = ",".join("?" * len(OPEN_STATES))
        return self.store.conn.execute(
            f"SELECT id, severity, status, fire_count, details, evidence FROM alerts "
            f"WHERE fingerprint = ? AND status IN ({marks}) ORDER BY id DESC LIMIT 1",
            [fingerprint, *OPEN_STATES],
        ).fetchone()

    def _evidence(self, rule: RuleType, match: Match) -> list[int]:
        if match.evidence or match.evidence_window is None:
            return match.evidence
        start, end = match.evidence_window
        key = match.key if ":" in match.key or match.key == "all" else "all"
        if start >= self._now - EVIDENCE_CACHE_SPAN and end <= self._now:
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

    def _load_recent(self) -> None:
        """Mentions of the last hour for evidence: kept across passes, fed by each pass's new mentions."""
        cutoff = self._now - EVIDENCE_CACHE_SPAN
        if self._rolling is None:
            self._rolling = deque(self.store.mentions_between(cutoff, self._now)[-RECENT_CAP:], maxlen=RECENT_CAP)
        while self._rolling and self._rolling[0].created_at < cutoff:
            self._rolling.popleft()
        self._recent = [m for m in self._rolling if m.created_at < self._now]

    def _apply(self, rule: RuleType, match: Match, as_of: datetime, silences: Silences) -> dict[str, Any] | None:
        fingerprint = f"{rule.name}|{match.key}"
        current = self._open_alert(fingerprint)
        now = to_iso(as_of)
        base = {"at": as_of, "rule": rule.name, "rule_type": rule.type_name, "key": match.key}
        if match.episode == "end":
            if current is None:
                return None
            self.store.conn.execute(
                "UPDATE alerts SET status = 'resolved', resolved_at = ?, updated_at = ? WHERE id = ?",
                [now, now, current[0]],
            )
            self.store.conn.execute("DELETE FROM rules_pending WHERE alert_id = ?", [current[0]])
            return {**base, "action": "resolved", "alert_id": current[0], "severity": current[1], "title": ""}
        severity = match.severity or rule.options.severity
        if SEVERITY_RANK.get(severity, 0) < SEVERITY_RANK[rule.options.severity]:
            severity = rule.options.severity
        realert = rule.options.realert_minutes
        realert = self.rs.realert_minutes if realert is None else realert
        silence_id = silences.find(rule.name, match.key)
        routes = self._routes(rule)

        if current is not None:
            alert_id, old_severity, status, fire_count = current[0], current[1], current[2], current[3]
            raised = SEVERITY_RANK.get(severity, 0) > SEVERITY_RANK.get(old_severity, 0)
            old_details = json.loads(current[4] or "{}")
            if status == "silenced" and silence_id is None and not self._inhibitor(old_details.get("inhibited_by")):
                return self._reopen(rule, match, current, severity, routes, as_of, base)
            quiet = status == "silenced" or silence_id is not None
            if not quiet and not raised and self.throttle.throttled(fingerprint, as_of, realert):
                return None
            new_severity = severity if raised else old_severity
            details = {**old_details, **match.details}
            details["started_at"] = old_details.get("started_at", details.get("started_at"))
            # People are told again only when it got worse: a higher severity, or half as much again as
            # what they were last told. Otherwise the alert row is kept current without a new message.
            if not quiet and not raised and not _grew(match.details.get("observed"),
                                                     old_details.get("notified_observed", old_details.get("observed"))):
                quiet = True
            if not quiet:
                details["notified_observed"] = match.details.get("observed")
            evidence = self._evidence(rule, match) or json.loads(current[5] or "[]")
            self.store.conn.execute(
                "UPDATE alerts SET fire_count = fire_count + 1, severity = ?, title = ?, summary = ?, details = ?, "
                "evidence = ?, updated_at = ? WHERE id = ?",
                [new_severity, match.title, match.summary, _dumps(details), _dumps(evidence), now, alert_id],
            )
            event = {**base, "action": "quiet_update" if quiet else "update", "alert_id": alert_id,
                     "severity": new_severity, "title": match.title, "fire_count": fire_count + 1,
                     "routes": routes, "raised": raised}
            if not quiet:
                self.throttle.record(fingerprint, as_of, new_severity)
            return event

        if silence_id is None and self.throttle.throttled(fingerprint, as_of, realert):
            return None
        group_key = self._group_key(rule, match)
        action = "new"
        details = dict(match.details)
        details.setdefault("description", rule.options.description)
        if silence_id is not None:
            action = "silenced"
            details["silence_id"] = silence_id
        elif self.rs.inhibit_lower_severity and severity != "critical":
            inhibitor = self.store.conn.execute(
                "SELECT id FROM alerts WHERE group_key = ? AND severity = 'critical' AND status IN ('open', "
                "'acknowledged') LIMIT 1",
                [group_key],
            ).fetchone()
            if inhibitor is not None:
                action = "inhibited"
                details["inhibited_by"] = inhibitor[0]
        evidence = self._evidence(rule, match)
        cursor = self.store.conn.execute(
            "INSERT INTO alerts (rule, rule_type, key, fingerprint, group_key, severity, status, title, summary, "
            "topic, details, evidence, routes, created_at, updated_at, fire_count) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)",
            [rule.name, rule.type_name, match.key, fingerprint, group_key, severity,
             "open" if action == "new" else "silenced", match.title, match.summary, match.topic,
             _dumps(details), _dumps(evidence), _dumps(routes), now, now],
        )
        alert_id = int(cursor.lastrowid)
        if action == "new":
            self.throttle.record(fingerprint, as_of, severity)
            if self.deliver:
                self.grouper.add(alert_id, routes, group_key, severity, as_of)
        return {**base, "action": action, "alert_id": alert_id, "severity": severity, "title": match.title,
                "fire_count": 1, "routes": routes, "group_key": group_key, "crisis": rule.options.crisis}

    def _inhibitor(self, alert_id: int | None) -> bool:
        """Whether the critical alert that held this one back is still open."""
        if not alert_id:
            return False
        row = self.store.conn.execute("SELECT status FROM alerts WHERE id = ?", [alert_id]).fetchone()
        return row is not None and row[0] in ("open", "acknowledged")

    def _reopen(self, rule: RuleType, match: Match, current: tuple, severity: str, routes: list[str],
                as_of: datetime, base: dict[str, Any]) -> dict[str, Any]:
        """A silenced alert whose silence (or inhibitor) has ended and still matches: notify it now."""
        alert_id = current[0]
        severity = max(severity, current[1], key=lambda s: SEVERITY_RANK.get(s, 0))
        evidence = self._evidence(rule, match) or json.loads(current[5] or "[]")
        details = {**json.loads(current[4] or "{}"), **match.details}
        details.pop("silence_id", None)
        details.pop("inhibited_by", None)
        now = to_iso(as_of)
        self.store.conn.execute(
            "UPDATE alerts SET status = 'open', fire_count = fire_count + 1, severity = ?, title = ?, summary = ?, "
            "details = ?, evidence = ?, updated_at = ? WHERE id = ?",
            [severity, match.title, match.summary, _dumps(details), _dumps(evidence), now, alert_id],
        )
        self.throttle.record(f"{rule.name}|{match.key}", as_of, severity)
        group_key = self._group_key(rule, match)
        if self.deliver:
            self.grouper.add(alert_id, routes, group_key, severity, as_of)
        return {**base, "action": "new", "alert_id": alert_id, "severity": severity, "title": match.title,
                "fire_count": current[3] + 1, "routes": routes, "group_key": group_key, "crisis": rule.options.crisis,
                "reopened": True}

    def _resolve_stale(self, as_of: datetime) -> list[dict[str, Any]]:
        cutoff = to_iso(as_of - timedelta(minutes=self.rs.resolve_after_minutes))
        marks = ",".join("?" * len(OPEN_STATES))
        stale = self.store.conn.execute(
            f"SELECT id, rule, key, severity FROM alerts WHERE status IN ({marks}) AND updated_at < ?",
            [*OPEN_STATES, cutoff],
        ).fetchall()
        now = to_iso(as_of)
        for row in stale:
            self.store.conn.execute(
                "UPDATE alerts SET status = 'resolved', resolved_at = ?, updated_at = ? WHERE id = ?", [now, now, row[0]]
            )
            self.store.conn.execute("DELETE FROM rules_pending WHERE alert_id = ?", [row[0]])
        return [{"at": as_of, "rule": r[1], "key": r[2], "action": "resolved", "alert_id": r[0], "severity": r[3],
                 "title": ""} for r in stale]

    # -- side effects after the alerts are committed ------------------------------------------------------

    def _after_commit(self, events: list[dict[str, Any]], as_of: datetime) -> None:
        for event in events:
            action = event["action"]
            if action == "update":
                if self.deliver:
                    self._send(kind="alert_update", payload={"alert_ids": [event["alert_id"]]},
                               groups=event["routes"], severity=event["severity"],
                               idempotency_prefix=f"alert_update:{event['alert_id']}:{event['fire_count']}",
                               alert_id=event["alert_id"])
                else:
                    self._plan("alert_update", [event["alert_id"]], event["routes"], event["severity"], as_of)
            elif action == "new" and not self.deliver:
                self._plan("alert", [event["alert_id"]], event["routes"], event["severity"], as_of)
            if action == "new" or (action == "update" and event.get("raised")):
                if event.get("crisis"):
                    self._enter_crisis(event, as_of)
                if event["severity"] == "critical":
                    self._note_critical(as_of)

    def _send(self, **kwargs: Any) -> int:
        """notify_groups at the pass's moment (grouping and escalation call it without a time)."""
        return notify_groups(self.store, self.settings, at=self._now, **kwargs)

    def _plan(self, kind: str, ids: list[int], groups: list[str], severity: str, at: datetime) -> None:
        self.notifications.append({"at": at, "kind": kind, "alert_ids": ids, "groups": groups, "severity": severity,
                                   "deliveries": planned_deliveries(self.settings, groups=groups, severity=severity,
                                                                    at=at)})

    def _enter_crisis(self, event: dict[str, Any], as_of: datetime) -> None:
        """The rule asks for a crisis state: only ever upwards (a vigilance rule never ends a crisis)."""
        if not self.deliver:
            event["crisis_planned"] = event["crisis"]
            return
        try:
            from rules import crisis
        except ImportError:
            log.warning("rule %s asks for crisis %s but rules.crisis is not available", event["rule"], event["crisis"])
            return
        try:
            state = crisis.current_state(self.store).get("state", "normal") if hasattr(crisis, "current_state") else "normal"
            if CRISIS_RANK.get(state, 0) >= CRISIS_RANK[event["crisis"]]:
                return
            crisis.enter(self.store, self.settings, event["crisis"], f"règle {event['rule']}", event["title"], as_of)
        except Exception:
            log.exception("crisis transition asked by rule %s failed", event["rule"])

    def _note_critical(self, as_of: datetime) -> None:
        if not self.deliver:
            return
        try:
            from rules.crisis import note_critical_alert
        except ImportError:
            return
        try:
            note_critical_alert(self.store, as_of)
        except Exception:
            log.exception("note_critical_alert failed")


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def describe_rules(settings: Any) -> list[str]:
    """Lines for `vigie check-config`: loads (so validates) every rule and says what is routed where."""
    rules = load_rules(settings)
    rs = rules_settings_of(settings)
    lines = [f"Règles actives : {len(rules)} ({'moteur activé' if rs.enabled else 'moteur désactivé'})"]
    for rule in rules:
        routes = ", ".join(rule.options.routes or rs.default_routes)
        lines.append(f"  - {rule.name} ({rule.type_name}, {rule.options.severity}) → {routes}")
    lines.append("Groupes de destinataires : " + (", ".join(rs.groups) or "aucun"))
    return lines


def _grew(observed: Any, told: Any) -> bool:
    """Half as much again (and at least 3 more) than the figure last notified."""
    if not isinstance(observed, int | float) or not isinstance(told, int | float):
        return True  # no figure to compare: keep telling, as before
    return observed >= max(told * 1.5, told + 3)
