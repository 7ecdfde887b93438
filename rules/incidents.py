"""Incidents: the alerts that belong together make one incident, and people hear of the incident.

On the worst day a dozen rules fire about the same flood (spikes on #rivebelle, on every mention, on
the water topic, crisis keywords « inondation », « évacuation »…). Each alert the engine raises or
updates is attached here to an open incident when it shares a crisis kind, a distinctive hashtag, a key,
evidence or (for non-crisis alerts) a topic with it and the incident changed recently; otherwise it
opens one. The incident has a French title (« Inondation — quartier des Tanneurs »), a severity that
only rises, facets (the crisis kinds seen: inondation, évacuation…), figures, evidence and a timeline.

Each recipient group gets one message when the incident opens and one when it materially changes:
severity up (at once), a new facet, or the main figure grown by `growth_factor`. A budget per group
(default one message per incident per 10 minutes, severity increases excepted) holds the other
changes for the next message, and a message never repeats the figures of the last one sent. Messages
carry a snapshot of the incident as of the pass that sent them, so a message delivered late never shows
figures from its future.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from listener.french import fr_number
from listener.models import Mention
from listener.store import Store
from listener.textfold import hashtags
from listener.timeutil import parse_time, to_iso
from rules.routing import deliverable, rules_settings_of
from rules.settings import SEVERITY_RANK, IncidentSettings, RulesSettings
from rules.types.base import NO_NAMES, DisplayNames, key_label, topic_of_key

OPEN = ("open", "acknowledged", "silenced")
EVIDENCE_KEPT = 30
# Rule types whose alerts describe a place or a subject (used for the title when no crisis kind).
_AREAS = ("quartier", "secteur", "cité", "hameau", "lotissement", "zone", "quai", "rue", "avenue", "boulevard",
          "place", "usine", "école", "collège", "lycée")
_PLACE_RE = re.compile(
    rf"\b({'|'.join(_AREAS)})\s+(des|du|de la|de l'|d'|de)\s*([A-ZÉÈÊÀÂÎÔÛÇ][\w’'-]+)"
)
_CASED_TAG_RE = re.compile(r"(?<![\w&])#(\w{2,64})", re.UNICODE)
SendFn = Callable[..., Any]


@lru_cache(maxsize=1)
def _lexicon_labels() -> dict[str, str]:
    """The shipped lexicon's labels: the CLI and the API name facets without an engine's DisplayNames."""
    try:
        from classifiers.crisis import load_lexicon

        return dict(load_lexicon().labels)
    except (OSError, ValueError):
        return {}


def crisis_label(kind: str, names: DisplayNames = NO_NAMES) -> str:
    """« Coupure d'électricité » for coupure_electricite."""
    return names.crisis.get(kind) or _lexicon_labels().get(kind) or kind.replace("_", " ").capitalize()


@dataclass
class AlertFacts:
    """What correlation needs to know about one alert (read back from the alerts table)."""

    id: int
    rule: str
    rule_type: str
    key: str
    severity: str
    status: str
    title: str
    topic: str | None
    details: dict[str, Any]
    evidence: list[int]
    routes: list[str]
    incident_id: int | None
    mentions: list[Mention] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)


@dataclass
class Incident:
    id: int
    title: str
    kind: str
    severity: str
    status: str
    opened_at: str
    updated_at: str
    facets: list[str]
    keys: list[str]
    tags: list[str]
    topics: list[str]
    figures: dict[str, Any]
    evidence: list[int]
    routes: list[str]
    anchor_alert_id: int | None
    place: str | None = None
    silenced_until: str | None = None
    acked_by: str | None = None
    critical_since: str | None = None
    escalation_level: int = 0
    resolved_at: str | None = None

    @property
    def headline(self) -> float:
        return float(self.figures.get("headline") or 0)

    @property
    def is_crisis(self) -> bool:
        return bool(self.facets)


_INCIDENT_COLUMNS = (
    "id, title, kind, severity, status, opened_at, updated_at, facets, keys, tags, topics, figures, evidence, "
    "routes, anchor_alert_id, place, silenced_until, acked_by, critical_since, escalation_level, resolved_at"
)


def _row_to_incident(row: tuple) -> Incident:
    return Incident(
        id=row[0], title=row[1], kind=row[2], severity=row[3], status=row[4], opened_at=row[5], updated_at=row[6],
        facets=json.loads(row[7]), keys=json.loads(row[8]), tags=json.loads(row[9]), topics=json.loads(row[10]),
        figures=json.loads(row[11]), evidence=json.loads(row[12]), routes=json.loads(row[13]),
        anchor_alert_id=row[14], place=row[15], silenced_until=row[16], acked_by=row[17], critical_since=row[18],
        escalation_level=row[19] or 0, resolved_at=row[20],
    )


def load_incident(store: Store, incident_id: int) -> Incident | None:
    row = store.conn.execute(f"SELECT {_INCIDENT_COLUMNS} FROM incidents WHERE id = ?", [incident_id]).fetchone()
    return _row_to_incident(row) if row else None


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _rank(severity: str | None) -> int:
    return SEVERITY_RANK.get(severity or "", -1)


def _count_figure(details: dict[str, Any]) -> float | None:
    """The alert's figure when it is a count of mentions (shares and scores are not comparable)."""
    observed = details.get("observed")
    if not isinstance(observed, int | float) or details.get("unit") not in (None, ""):
        return None
    if details.get("signal_kind") in ("negative_share", "silence", "crisis_reports"):
        return None  # crisis_reports: its figure is the number of people reporting (figures["authors"])
    return float(observed) if observed >= 1 else None


class IncidentBook:
    """Attaches the engine's alert events to incidents and decides which messages go to whom."""

    def __init__(self, store: Store, settings: Any, *, send: SendFn | None, plan: SendFn | None,
                 institution: str = "", names: DisplayNames = NO_NAMES) -> None:
        self.store = store
        self.settings = settings
        self.rs: RulesSettings = rules_settings_of(settings)
        self.cfg: IncidentSettings = self.rs.incidents
        self.send = send
        self.plan = plan
        self.institution = institution
        self.names = names
        self.crisis_kinds = set(names.crisis) or set(_lexicon_labels())
        self._common: dict[str, tuple[int, bool]] = {}
        self._now = datetime.min
        self._open_cache: list[Incident] | None = None
        self._index: dict[tuple[str, Any], list[Incident]] = {}
        # What happened to incidents in the last pass (the backtest prints it).
        self.events: list[dict[str, Any]] = []

    # -- facts about alerts -----------------------------------------------------------------------------

    def _facts(self, alert_id: int) -> AlertFacts | None:
        row = self.store.conn.execute(
            "SELECT id, rule, rule_type, key, severity, status, title, topic, details, evidence, routes, incident_id "
            "FROM alerts WHERE id = ?", [alert_id]
        ).fetchone()
        if row is None:
            return None
        facts = AlertFacts(
            id=row[0], rule=row[1], rule_type=row[2], key=row[3], severity=row[4], status=row[5], title=row[6] or "",
            topic=row[7] or topic_of_key(row[3]), details=json.loads(row[8] or "{}"),
            evidence=[int(i) for i in json.loads(row[9] or "[]")], routes=json.loads(row[10] or "[]"),
            incident_id=row[11],
        )
        facts.mentions = self.store.get_mentions(facts.evidence[:EVIDENCE_KEPT])
        facts.kinds = self._kinds_of(facts)
        facts.tags = self._tags_of(facts)
        return facts

    def _kinds_of(self, facts: AlertFacts) -> list[str]:
        """Crisis kinds an alert is about: its key (crisis:inondation, keyword:evacuation), else the kinds
        most of its evidence carries (a spike on every mention during a flood is about the flood)."""
        kind, _, value = facts.key.partition(":")
        if kind in ("crisis", "keyword") and value in self.crisis_kinds:
            return [value]
        labelled = [m.labels.crisis_kinds for m in facts.mentions if m.labels is not None]
        if not labelled:
            return []
        seen = Counter(k for kinds in labelled for k in dict.fromkeys(kinds))
        need = max(1, (len(facts.mentions) + 2) // 3)
        return [k for k, n in seen.most_common() if n >= need]

    def _tags_of(self, facts: AlertFacts) -> list[str]:
        """Distinctive hashtags: the alert's own, and those shared by several of its evidence mentions,
        leaving out the ones everybody uses (the town's own hashtag)."""
        found: list[str] = []
        kind, _, value = facts.key.partition(":")
        if kind == "hashtag" and value:
            found.append(value)
        seen = Counter(tag for m in facts.mentions for tag in hashtags(m.text))
        need = max(1, (len(facts.mentions) + 3) // 4)
        found += [tag for tag, n in seen.most_common() if n >= need]
        return [tag for tag in dict.fromkeys(found) if not self._is_common(tag, self._now)]

    def _is_common(self, tag: str, at: datetime) -> bool:
        """A hashtag in `common_tag_share` of the mentions of the day before (ending an hour ago)."""
        hour = int(at.timestamp()) // 3600
        cached = self._common.get(tag)
        if cached is not None and cached[0] == hour:
            return cached[1]
        end = (hour - 1) * 60
        start = end - 24 * 60
        tag_n = self.store.conn.execute(
            "SELECT coalesce(sum(n), 0) FROM counts WHERE key = ? AND bucket >= ? AND bucket < ?",
            [f"hashtag:{tag}", start, end]).fetchone()[0]
        common = False
        if tag_n:
            all_n = self.store.conn.execute(
                "SELECT coalesce(sum(n), 0) FROM counts WHERE key = 'all' AND bucket >= ? AND bucket < ?",
                [start, end]).fetchone()[0]
            common = all_n > 0 and tag_n >= self.cfg.common_tag_share * all_n
        self._common[tag] = (hour, common)
        return common

    # -- correlation --------------------------------------------------------------------------------------

    def _open_incidents(self, as_of: datetime) -> list[Incident]:
        since = to_iso(as_of - timedelta(minutes=self.cfg.join_minutes))
        marks = ",".join("?" * len(OPEN))
        rows = self.store.conn.execute(
            f"SELECT {_INCIDENT_COLUMNS} FROM incidents WHERE status IN ({marks}) AND updated_at >= ? "
            "ORDER BY updated_at DESC, id DESC", [*OPEN, since]).fetchall()
        return [_row_to_incident(row) for row in rows]

    def _belongs(self, facts: AlertFacts, incident: Incident) -> bool:
        if facts.key in incident.keys:
            return True
        if facts.kinds and set(facts.kinds) & set(incident.facets):
            return True
        if set(facts.tags) & set(incident.tags):
            return True
        if set(facts.evidence) & set(incident.evidence):
            return True
        # Hostility at the same time against several officials is one story, not one per official.
        if facts.key.startswith("target:") and any(k.startswith("target:") for k in incident.keys):
            return not facts.kinds or bool(set(facts.kinds) & set(incident.facets))
        # While a crisis incident runs, what moves every mention (a spike, a darker tone) is about it; and a
        # crisis explains the spike on every mention that came just before it.
        if facts.key == "all" and incident.facets and not facts.kinds:
            return True
        if facts.kinds and not incident.facets and set(incident.keys) <= {"all"}:
            return True
        # A shared topic joins only alerts that are not about different crises.
        if facts.topic and facts.topic in incident.topics:
            return not facts.kinds or not incident.facets
        return False

    def _index_add(self, incident: Incident) -> None:
        """Index an open incident by what an alert can share with it (stale entries are harmless: every
        candidate is checked by _belongs), so an alert storm does not compare every alert with every one."""
        index = self._index
        entries = [("key", k) for k in incident.keys] + [("kind", k) for k in incident.facets]
        entries += [("tag", t) for t in incident.tags] + [("ev", e) for e in incident.evidence]
        entries += [("topic", t) for t in incident.topics]
        if any(k.startswith("target:") for k in incident.keys):
            entries.append(("special", "target"))
        if incident.facets:
            entries.append(("special", "crisis"))
        if set(incident.keys) <= {"all"}:
            entries.append(("special", "all"))
        for entry in entries:
            bucket = index.setdefault(entry, [])
            if incident not in bucket:
                bucket.append(incident)

    def _candidates(self, facts: AlertFacts) -> list[Incident]:
        index = self._index
        wanted = [("key", facts.key)] + [("kind", k) for k in facts.kinds] + [("tag", t) for t in facts.tags]
        wanted += [("ev", e) for e in facts.evidence] + ([("topic", facts.topic)] if facts.topic else [])
        if facts.key.startswith("target:"):
            wanted.append(("special", "target"))
        if facts.key == "all":
            wanted.append(("special", "crisis"))
        if facts.kinds:
            wanted.append(("special", "all"))
        found: dict[int, Incident] = {}
        for entry in wanted:
            for incident in index.get(entry, ()):
                found.setdefault(incident.id, incident)
        return list(found.values())

    def _find(self, facts: AlertFacts, as_of: datetime) -> Incident | None:
        if facts.incident_id is not None:
            cached = [i for i in self._open_cache or () if i.id == facts.incident_id]
            incident = cached[0] if cached else load_incident(self.store, facts.incident_id)
            if incident is not None and incident.status in OPEN:
                return incident
        if self._open_cache is None:  # read once per pass; incidents created or changed in it are kept current
            self._open_cache = self._open_incidents(as_of)
            self._index = {}
            for incident in self._open_cache:
                self._index_add(incident)
        since = to_iso(as_of - timedelta(minutes=self.cfg.join_minutes))
        candidates = [i for i in self._candidates(facts) if i.updated_at >= since and i.status in OPEN
                      and self._belongs(facts, i)]
        if not candidates:
            return None
        # Crisis alerts prefer the crisis incident they share a kind with; otherwise the most recent one.
        candidates.sort(key=lambda i: (bool(set(facts.kinds) & set(i.facets)), i.updated_at), reverse=True)
        return candidates[0]

    # -- incident state -----------------------------------------------------------------------------------

    def _merge(self, incident: Incident, facts: AlertFacts, as_of: datetime) -> list[str]:
        """Fold the alert into the incident; returns what materially changed (for the timeline)."""
        changes: list[str] = []
        if _rank(facts.severity) > _rank(incident.severity):
            changes.append(f"gravité relevée : {facts.severity}")
            incident.severity = facts.severity
        for kind in facts.kinds:
            if kind not in incident.facets:
                incident.facets.append(kind)
                changes.append(f"nouveau volet : {crisis_label(kind, self.names)}")
        if facts.key not in incident.keys:
            incident.keys.append(facts.key)
        incident.tags = list(dict.fromkeys(incident.tags + facts.tags))
        if facts.topic and facts.topic not in incident.topics:
            incident.topics.append(facts.topic)
        incident.routes = list(dict.fromkeys(incident.routes + facts.routes))
        # Evidence: newest alert's first (most telling), never newer than now.
        fresh = [m.id for m in facts.mentions if m.id is not None and m.created_at <= as_of]
        incident.evidence = list(dict.fromkeys(fresh + incident.evidence))[:EVIDENCE_KEPT]
        figure = _count_figure(facts.details)
        by_key = incident.figures.setdefault("by_key", {})
        if figure is not None:
            by_key[facts.key] = {
                "observed": figure, "expected": facts.details.get("expected"), "window": facts.details.get("window"),
                "rule": facts.rule, "label": key_label(facts.key, self.names), "at": to_iso(as_of),
                "started_at": facts.details.get("started_at"),
            }
        else:
            # Shares, scores, single posts: said in words (the alert's title as of now).
            notes = incident.figures.setdefault("notes", {})
            notes[facts.key] = facts.title
        if by_key:
            incident.figures["headline"] = max(float(v["observed"]) for v in by_key.values())
            top_key = max(by_key, key=lambda k: float(by_key[k]["observed"]))
            incident.figures["headline_key"] = top_key
        authors = facts.details.get("reporters")  # distinct people reporting (crisis_reports)
        if isinstance(authors, int):
            incident.figures["authors"] = max(authors, int(incident.figures.get("authors") or 0))
        if incident.severity == "critical" and not incident.critical_since:
            incident.critical_since = to_iso(as_of)
        incident.updated_at = to_iso(as_of)
        return changes

    def _title(self, incident: Incident, mentions: list[Mention]) -> tuple[str, str, str | None]:
        """(title, kind, place): « Inondation — quartier des Tanneurs », « Transports — #Ligne12 »."""
        texts = [m.text for m in mentions]
        place = (_place(texts, incident.tags) if incident.facets else None) or incident.place
        cased = Counter(tag for text in texts for tag in dict.fromkeys(_CASED_TAG_RE.findall(text)))
        shown_tags = []
        for tag in incident.tags:
            spelled = [t for t, _ in cased.most_common() if t.lower() == tag or _fold(t) == tag]
            shown_tags.append("#" + (spelled[0] if spelled else tag))
        if incident.facets:
            kind = incident.facets[0]
            head = crisis_label(kind, self.names)
            where = place
            if where is None:
                # A distinctive hashtag that is not the crisis word itself says where (#Tanneurs).
                others = [t for t in shown_tags if _fold(t[1:]) not in {_fold(k) for k in incident.facets}
                          and not any(_fold(k)[:5] in _fold(t[1:]) for k in incident.facets)]
                where = others[0] if others else None
            return (f"{head} — {where}" if where else head), kind, place
        targets = [k.partition(":")[2] for k in incident.keys if k.startswith("target:")]
        targets = ["l'institution" if t == "institution" else t for t in targets]
        topic = self.names.topic(incident.topics[0]) if incident.topics else None
        kind = f"topic:{incident.topics[0]}" if incident.topics else (incident.keys[0] if incident.keys else "incident")
        if shown_tags:
            if topic:
                return f"{shown_tags[0]} — {topic}", kind, place
            if targets:
                return f"{shown_tags[0]} — hostilité envers {' et '.join(targets[:2])}", kind, place
            return shown_tags[0], kind, place
        if topic:
            return topic, kind, place
        return _key_title(incident.keys[0] if incident.keys else "", self.names), kind, place

    def _save(self, incident: Incident, mentions: list[Mention] | None) -> None:
        """Write the incident back; the title is made again only when what it is made of changed."""
        if mentions is not None:
            incident.title, incident.kind, incident.place = self._title(incident, mentions)
        self.store.conn.execute(
            "UPDATE incidents SET title = ?, kind = ?, severity = ?, updated_at = ?, facets = ?, keys = ?, tags = ?, "
            "topics = ?, figures = ?, evidence = ?, routes = ?, place = ?, critical_since = ? WHERE id = ?",
            [incident.title, incident.kind, incident.severity, incident.updated_at, _dumps(incident.facets),
             _dumps(incident.keys), _dumps(incident.tags), _dumps(incident.topics), _dumps(incident.figures),
             _dumps(incident.evidence), _dumps(incident.routes), incident.place, incident.critical_since,
             incident.id])

    def _create(self, facts: AlertFacts, as_of: datetime) -> Incident:
        now = to_iso(as_of)
        cursor = self.store.conn.execute(
            "INSERT INTO incidents (title, kind, severity, status, opened_at, updated_at, anchor_alert_id) "
            "VALUES (?, ?, ?, 'open', ?, ?, ?)", ["", "", facts.severity, now, now, facts.id])
        return Incident(id=int(cursor.lastrowid), title="", kind="", severity=facts.severity, status="open",
                        opened_at=now, updated_at=now, facets=[], keys=[], tags=[], topics=[], figures={},
                        evidence=[], routes=[], anchor_alert_id=facts.id)

    def _timeline(self, incident_id: int, at: datetime, kind: str, *, facts: AlertFacts | None = None,
                  severity: str | None = None, group: str | None = None, text: str = "",
                  figures: dict[str, Any] | None = None) -> None:
        self.store.conn.execute(
            "INSERT INTO incident_events (incident_id, at, kind, alert_id, rule, key, severity, route_group, text, "
            "figures) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [incident_id, to_iso(at), kind, facts.id if facts else None, facts.rule if facts else None,
             facts.key if facts else None, severity or (facts.severity if facts else None), group, text,
             _dumps(figures or {})])

    # -- one pass -------------------------------------------------------------------------------------------

    def observe(self, events: list[dict[str, Any]], as_of: datetime) -> list[dict[str, Any]]:
        """Attach the pass's alert events to incidents, then send what is due. Returns incident events."""
        self._now = as_of
        self.events = []
        self._open_cache = None
        touched: dict[int, Incident] = {}
        dirty: dict[int, bool] = {}  # incidents to write back once per pass (True: title to make again)
        with self.store.transaction():
            for event in events:
                action = event.get("action")
                alert_id = event.get("alert_id")
                if alert_id is None or action not in ("new", "update", "quiet_update", "resolved", "inhibited"):
                    continue
                facts = self._facts(alert_id)
                if facts is None:
                    continue
                if action == "resolved":
                    if facts.incident_id is not None:
                        self._maybe_resolve(facts.incident_id, as_of)
                    continue
                # Held back by a critical alert of the same story (inhibited): still part of the incident.
                # Silenced by an operator: left out, as they asked.
                if facts.status not in ("open", "acknowledged") and "inhibited_by" not in facts.details:
                    continue
                incident = touched.get(facts.incident_id or -1) or self._find(facts, as_of)
                created = incident is None
                if incident is None:
                    incident = self._create(facts, as_of)
                    if self._open_cache is not None:
                        self._open_cache.insert(0, incident)
                if facts.incident_id != incident.id:
                    self.store.conn.execute("UPDATE alerts SET incident_id = ? WHERE id = ?", [incident.id, facts.id])
                seen_before = (list(incident.evidence), list(incident.facets), list(incident.tags))
                changes = self._merge(incident, facts, as_of)
                retitle = created or seen_before != (incident.evidence, incident.facets, incident.tags)
                if retitle or incident.id not in dirty:
                    dirty[incident.id] = retitle or dirty.get(incident.id, False)
                if created or not incident.title:
                    self._save(incident, self.store.get_mentions(incident.evidence))  # titled before it is told
                    dirty[incident.id] = False
                if self._open_cache is not None:
                    self._index_add(incident)
                touched[incident.id] = incident
                figures = {"observed": facts.details.get("observed"), "window": facts.details.get("window")}
                if created:
                    self._timeline(incident.id, as_of, "opened", facts=facts, text=facts.title, figures=figures)
                    self.events.append({"at": as_of, "action": "incident_opened", "incident_id": incident.id,
                                        "severity": incident.severity, "title": incident.title})
                elif action == "new":
                    self._timeline(incident.id, as_of, "alert", facts=facts, text=facts.title, figures=figures)
                elif changes or action == "update":
                    self._timeline(incident.id, as_of, "update", facts=facts, text=facts.title, figures=figures)
                for change in changes:
                    if not created:
                        self._timeline(incident.id, as_of, "change", facts=facts, text=change)
            for incident_id, retitle in dirty.items():
                incident = touched[incident_id]
                self._save(incident, self.store.get_mentions(incident.evidence) if retitle else None)
            self._notify(touched, as_of)
        return self.events

    def _maybe_resolve(self, incident_id: int, as_of: datetime) -> None:
        marks = ",".join("?" * len(OPEN))
        left = self.store.conn.execute(
            f"SELECT count(*) FROM alerts WHERE incident_id = ? AND status IN ({marks})", [incident_id, *OPEN]
        ).fetchone()[0]
        if left:
            return
        now = to_iso(as_of)
        cursor = self.store.conn.execute(
            f"UPDATE incidents SET status = 'resolved', resolved_at = ?, updated_at = ? WHERE id = ? "
            f"AND status IN ({marks})", [now, now, incident_id, *OPEN])
        if cursor.rowcount:
            self.store.conn.execute("UPDATE incident_notices SET pending = NULL WHERE incident_id = ?", [incident_id])
            self._timeline(incident_id, as_of, "resolved", text="plus aucune alerte ouverte")
            self.events.append({"at": as_of, "action": "incident_resolved", "incident_id": incident_id})

    # -- messages --------------------------------------------------------------------------------------------

    def _budget(self, group: str) -> int:
        settings = self.rs.groups.get(group)
        value = settings.budget_minutes if settings is not None else None
        return self.cfg.budget_minutes if value is None else value

    def _notify(self, touched: dict[int, Incident], as_of: datetime) -> None:
        """For each touched incident (and each one holding a change), tell each group what is due."""
        waiting = self.store.conn.execute(
            "SELECT DISTINCT incident_id FROM incident_notices WHERE pending IS NOT NULL").fetchall()
        for (incident_id,) in waiting:
            if incident_id not in touched:
                incident = load_incident(self.store, incident_id)
                if incident is not None and incident.status in OPEN:
                    touched[incident_id] = incident
        for incident in touched.values():
            hold = incident.status == "silenced" or bool(
                incident.silenced_until and parse_time(incident.silenced_until) > as_of)
            live = self.store.conn.execute(
                "SELECT count(*) FROM alerts WHERE incident_id = ? AND status IN ('open', 'acknowledged')",
                [incident.id]).fetchone()[0]
            if not live:
                continue  # every alert of it was silenced: nobody is told
            for group_name in incident.routes:
                group = self.rs.groups.get(group_name)
                if group is None or not deliverable(group, incident.severity):
                    continue
                self._notify_group(incident, group_name, as_of, hold=hold)

    def _notify_group(self, incident: Incident, group: str, as_of: datetime, *, hold: bool = False) -> None:
        """Send what is due to one group; `hold` (a silenced incident) only remembers that a change waits."""
        row = self.store.conn.execute(
            "SELECT last_sent_at, severity, headline, facets, figures, sent, pending FROM incident_notices "
            "WHERE incident_id = ? AND route_group = ?", [incident.id, group]).fetchone()
        current = self._figures_key(incident)
        if row is None:
            # group_wait: related alerts raised just after the first one join it before anybody is told.
            wait = self.rs.critical_group_wait_seconds if incident.severity == "critical" else self.rs.group_wait_seconds
            if hold or as_of - parse_time(incident.opened_at) < timedelta(seconds=wait):
                self.store.conn.execute(
                    "INSERT OR IGNORE INTO incident_notices (incident_id, route_group, pending) VALUES (?, ?, ?)",
                    [incident.id, group, "ouverture"])
                return
            self._send(incident, group, as_of, first=True, change="ouverture de l'incident")
            return
        if row[0] is None:  # opening message still waiting for group_wait
            wait = self.rs.critical_group_wait_seconds if incident.severity == "critical" else self.rs.group_wait_seconds
            if not hold and as_of - parse_time(incident.opened_at) >= timedelta(seconds=wait):
                self._send(incident, group, as_of, first=True, change="ouverture de l'incident")
            return
        last_sent, severity, headline, facets_json, figures_json, _sent, pending = row
        facets = json.loads(facets_json or "[]")
        if json.loads(figures_json or "{}") == current:
            if pending:
                self._set_pending(incident.id, group, None)
            return  # never the same figures twice
        reasons: list[str] = []
        raised = _rank(incident.severity) > _rank(severity)
        if raised:
            reasons.append("gravité relevée")
        new_facets = [crisis_label(k, self.names) for k in incident.facets if k not in facets]
        if new_facets:
            reasons.append("nouveau volet : " + ", ".join(new_facets))
        told = float(headline or 0)
        if incident.headline and incident.headline >= max(told * self.cfg.growth_factor, told + 3):
            reasons.append(f"{fr_number(incident.headline)} mentions au lieu de {fr_number(told)}")
        reporters = int(incident.figures.get("authors") or 0)
        told_reporters = int(json.loads(figures_json or "{}").get("authors") or 0)
        # Where volume says nothing (a small town), the number of people reporting is the figure that grows.
        if not incident.headline and reporters >= max(told_reporters * self.cfg.growth_factor, told_reporters + 2):
            reasons.append(f"{fr_number(reporters)} personnes signalent la crise au lieu de {fr_number(told_reporters)}")
        if pending and not reasons:
            reasons = [pending]
        if not reasons:
            return
        elapsed = as_of - parse_time(last_sent) if last_sent else timedelta.max
        if not hold and (raised or elapsed >= timedelta(minutes=self._budget(group))):
            self._send(incident, group, as_of, first=False, change=" ; ".join(reasons))
        elif pending != " ; ".join(reasons):
            self._set_pending(incident.id, group, " ; ".join(reasons))
            why = "incident en silence" if hold else f"budget de {self._budget(group)} min"
            self._timeline(incident.id, as_of, "held", group=group, severity=incident.severity,
                           text=f"message retenu ({why}) : {' ; '.join(reasons)}")

    def _set_pending(self, incident_id: int, group: str, reason: str | None) -> None:
        self.store.conn.execute("UPDATE incident_notices SET pending = ? WHERE incident_id = ? AND route_group = ?",
                                [reason, incident_id, group])

    @staticmethod
    def _figures_key(incident: Incident) -> dict[str, Any]:
        """What a message says in figures: two messages with the same are the same message."""
        return {"severity": incident.severity, "facets": list(incident.facets),
                "headline": incident.headline, "authors": incident.figures.get("authors")}

    def _send(self, incident: Incident, group: str, as_of: datetime, *, first: bool, change: str) -> None:
        sequence = self.store.conn.execute(
            "SELECT count(*) FROM incident_events WHERE incident_id = ? AND kind = 'notified'", [incident.id]
        ).fetchone()[0]
        snapshot = snapshot_of(incident, as_of, change=change, first=first, alerts=self._alert_count(incident.id))
        kind = "alert" if first else "alert_update"
        payload = {"alert_ids": [incident.anchor_alert_id], "incident_id": incident.id, "incident": snapshot,
                   "at": to_iso(as_of)}
        if self.send is not None:
            self.send(kind=kind, payload=payload, groups=[group], severity=incident.severity,
                      idempotency_prefix=f"incident:{incident.id}:{sequence}", alert_id=incident.anchor_alert_id)
        if self.plan is not None:
            self.plan(kind, [incident.anchor_alert_id], [group], incident.severity, as_of, incident=incident.id,
                      title=incident.title)
        self.store.conn.execute(
            "INSERT INTO incident_notices (incident_id, route_group, last_sent_at, severity, headline, facets, figures, "
            "sent, pending) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL) ON CONFLICT(incident_id, route_group) DO UPDATE SET "
            "last_sent_at = excluded.last_sent_at, severity = excluded.severity, headline = excluded.headline, "
            "facets = excluded.facets, figures = excluded.figures, sent = incident_notices.sent + 1, pending = NULL",
            [incident.id, group, to_iso(as_of), incident.severity, incident.headline, _dumps(incident.facets),
             _dumps(self._figures_key(incident)), 1])
        self._timeline(incident.id, as_of, "notified", group=group, severity=incident.severity,
                       text=("ouverture : " if first else "mise à jour : ") + change,
                       figures=self._figures_key(incident))
        self.events.append({"at": as_of, "action": "incident_notified", "incident_id": incident.id, "group": group,
                            "severity": incident.severity, "kind": kind, "title": incident.title})

    def _alert_count(self, incident_id: int) -> int:
        return self.store.conn.execute("SELECT count(*) FROM alerts WHERE incident_id = ?", [incident_id]).fetchone()[0]

    # -- escalation ------------------------------------------------------------------------------------------

    def escalate(self, as_of: datetime) -> list[tuple[int, int]]:
        """A critical incident nobody acknowledged: the on-call group is told, level n after n × N minutes."""
        rs = self.rs
        if not rs.escalation_group or rs.escalation_max_level <= 0:
            return []
        rows = self.store.conn.execute(
            f"SELECT {_INCIDENT_COLUMNS} FROM incidents WHERE status = 'open' AND severity = 'critical' "
            "AND escalation_level < ? AND critical_since IS NOT NULL", [rs.escalation_max_level]).fetchall()
        done = []
        with self.store.transaction():
            for row in rows:
                incident = _row_to_incident(row)
                elapsed = (as_of - parse_time(incident.critical_since or incident.opened_at)).total_seconds()
                level = min(rs.escalation_max_level, int(elapsed // (rs.escalation_minutes * 60)))
                if level <= incident.escalation_level:
                    continue
                self.store.conn.execute("UPDATE incidents SET escalation_level = ? WHERE id = ?", [level, incident.id])
                self.store.conn.execute("UPDATE alerts SET escalation_level = ? WHERE incident_id = ? AND "
                                        "escalation_level < ?", [level, incident.id, level])
                snapshot = snapshot_of(incident, as_of, change=f"escalade niveau {level} : personne n'a pris "
                                       "l'incident en charge", first=False, alerts=self._alert_count(incident.id))
                payload = {"alert_ids": [incident.anchor_alert_id], "level": level, "incident_id": incident.id,
                           "incident": snapshot, "at": to_iso(as_of)}
                if self.send is not None:
                    self.send(kind="escalation", payload=payload, groups=[rs.escalation_group], severity="critical",
                              idempotency_prefix=f"incident-escalation:{incident.id}:{level}",
                              alert_id=incident.anchor_alert_id)
                if self.plan is not None:
                    self.plan("escalation", [incident.anchor_alert_id], [rs.escalation_group], "critical", as_of,
                              incident=incident.id, title=incident.title)
                self._timeline(incident.id, as_of, "escalation", group=rs.escalation_group, severity="critical",
                               text=f"escalade niveau {level}")
                done.append((incident.id, level))
        return done


def _key_title(key: str, names: DisplayNames = NO_NAMES) -> str:
    """The title of an incident with no crisis kind, topic or hashtag, from its first alert's key."""
    kind, _, value = key.partition(":")
    if kind == "target":
        return f"Hostilité envers {'l’institution' if value == 'institution' else value}"
    if kind == "author":
        return f"Compte influent {value}"
    if kind == "source":
        return f"Source « {value} »"
    if key == "all":
        return "Ensemble des mentions"
    return key_label(key, names).strip("« »") or "Incident"


def _place(texts: list[str], tags: tuple[str, ...] | list[str] = ()) -> str | None:
    """Where it happens, as residents write it: the place name most cited (at least twice, a distinctive
    hashtag of the same name counting too), with the most telling area word seen with it (« quartier des
    Tanneurs » rather than « rue des Tanneurs »)."""
    seen = [(m.group(1).lower(), m.group(2), m.group(3)) for text in texts for m in _PLACE_RE.finditer(text)]
    names = Counter(name for _, _, name in seen)
    tagged = Counter(tag for text in texts for tag in hashtags(text) if tag in tags)
    for name in list(names):
        names[name] += tagged.get(_fold(name), 0)
    if not names:
        return None
    name, count = names.most_common(1)[0]
    if count < 2:
        return None
    area, article = min(((a, art) for a, art, n in seen if n == name), key=lambda pair: _AREAS.index(pair[0]))
    joiner = "" if article.endswith("'") else " "
    return f"{area} {article}{joiner}{name}"


def _fold(text: str) -> str:
    from listener.textfold import fold

    return fold(text)


def snapshot_of(incident: Incident, as_of: datetime, *, change: str, first: bool, alerts: int = 0) -> dict[str, Any]:
    """The incident as a message tells it, frozen at `as_of` (channels render this, not the live row)."""
    by_key = incident.figures.get("by_key") or {}
    ranked = sorted(by_key.items(), key=lambda item: float(item[1]["observed"]), reverse=True)
    figures = []
    for key, value in ranked[:4]:
        window = value.get("window")
        line = f"{fr_number(value['observed'])} mentions"
        if window:
            line += f" en {fr_number(window)} min"
        line += f" sur {value.get('label') or key_label(key)}"
        if isinstance(value.get("expected"), int | float):
            line += f" (habituellement {fr_number(value['expected'], 1)})"
        figures.append(line)
    notes = incident.figures.get("notes") or {}
    figures += [text for key, text in list(notes.items())[-3:] if key not in by_key][: max(0, 5 - len(figures))]
    facets = [crisis_label(k) for k in incident.facets]
    top = by_key.get(incident.figures.get("headline_key") or "", {})
    started = top.get("started_at")
    return {
        "id": incident.id,
        "title": incident.title,
        "severity": incident.severity,
        "status": incident.status,
        "facets": facets,
        "headline": incident.headline,
        "headline_window": top.get("window"),
        "headline_started_at": started,
        "authors": incident.figures.get("authors"),
        "figures": figures,
        "change": change,
        "first": first,
        "alerts": alerts or len(incident.keys),
        "evidence": incident.evidence[:3],
        "opened_at": incident.opened_at,
        "at": to_iso(as_of),
        "rules": sorted({str(v.get("rule")) for v in by_key.values() if v.get("rule")}),
    }


# -- what people do to incidents (CLI, web API, Slack buttons through their alert) -------------------------


def _act(store: Store, incident_id: int, at: datetime, kind: str, text: str) -> None:
    store.conn.execute(
        "INSERT INTO incident_events (incident_id, at, kind, text) VALUES (?, ?, ?, ?)",
        [incident_id, to_iso(at), kind, text])


def acknowledge_incident(store: Store, incident_id: int, actor: str, at: datetime) -> bool:
    """Someone takes the incident in hand: its open alerts too; escalation stops. False if not open."""
    now = to_iso(at)
    with store.transaction():
        cursor = store.conn.execute(
            "UPDATE incidents SET status = 'acknowledged', acked_by = ?, acked_at = ?, updated_at = updated_at "
            "WHERE id = ? AND status = 'open'", [actor, now, incident_id])
        if cursor.rowcount != 1:
            return False
        store.conn.execute(
            "UPDATE alerts SET status = 'acknowledged', acked_by = ?, acked_at = ?, updated_at = ? "
            "WHERE incident_id = ? AND status = 'open'", [actor, now, now, incident_id])
        _act(store, incident_id, at, "acknowledged", f"pris en charge par {actor}")
    return True


def resolve_incident(store: Store, incident_id: int, actor: str, at: datetime) -> bool:
    """Close the incident and its alerts by hand; what fires next opens a new incident."""
    now = to_iso(at)
    marks = ",".join("?" * len(OPEN))
    with store.transaction():
        cursor = store.conn.execute(
            f"UPDATE incidents SET status = 'resolved', resolved_at = ?, updated_at = ? WHERE id = ? "
            f"AND status IN ({marks})", [now, now, incident_id, *OPEN])
        if cursor.rowcount != 1:
            return False
        ids = [r[0] for r in store.conn.execute(
            f"SELECT id FROM alerts WHERE incident_id = ? AND status IN ({marks})", [incident_id, *OPEN])]
        for alert_id in ids:
            store.conn.execute("UPDATE alerts SET status = 'resolved', resolved_at = ?, updated_at = ? WHERE id = ?",
                               [now, now, alert_id])
            store.conn.execute("DELETE FROM rules_pending WHERE alert_id = ?", [alert_id])
        store.conn.execute("UPDATE incident_notices SET pending = NULL WHERE incident_id = ?", [incident_id])
        _act(store, incident_id, at, "resolved", f"clos par {actor}")
    return True


def silence_incident(store: Store, incident_id: int, actor: str, until: datetime, at: datetime,
                     reason: str = "") -> bool:
    """Nobody is told about this incident until `until` (changes are kept and told afterwards)."""
    marks = ",".join("?" * len(OPEN))
    with store.transaction():
        cursor = store.conn.execute(
            f"UPDATE incidents SET silenced_until = ? WHERE id = ? AND status IN ({marks})",
            [to_iso(until), incident_id, *OPEN])
        if cursor.rowcount != 1:
            return False
        _act(store, incident_id, at, "silenced",
             f"mis en silence par {actor} jusqu'à {to_iso(until)}" + (f" : {reason}" if reason else ""))
    return True


def incident_rows(store: Store, *, status: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """Incidents for the API and the CLI, newest first (JSON columns decoded)."""
    sql = f"SELECT {_INCIDENT_COLUMNS} FROM incidents"
    params: list[Any] = []
    if status == "open":
        sql += f" WHERE status IN ({','.join('?' * len(OPEN))})"
        params += list(OPEN)
    elif status:
        sql += " WHERE status = ?"
        params.append(status)
    sql += " ORDER BY id DESC LIMIT ?"
    params.append(limit)
    return [incident_dict(store, _row_to_incident(row)) for row in store.conn.execute(sql, params).fetchall()]


def incident_dict(store: Store, incident: Incident, *, timeline: bool = False) -> dict[str, Any]:
    """The shape of an incident in the JSON API (documented in docs/ARCHITECTURE.md)."""
    alerts = [
        {"id": r[0], "rule": r[1], "key": r[2], "severity": r[3], "status": r[4], "title": r[5],
         "created_at": r[6], "updated_at": r[7]}
        for r in store.conn.execute(
            "SELECT id, rule, key, severity, status, title, created_at, updated_at FROM alerts WHERE incident_id = ? "
            "ORDER BY id", [incident.id])
    ]
    data: dict[str, Any] = {
        "id": incident.id, "title": incident.title, "kind": incident.kind, "severity": incident.severity,
        "status": incident.status, "opened_at": incident.opened_at, "updated_at": incident.updated_at,
        "resolved_at": incident.resolved_at, "acked_by": incident.acked_by, "silenced_until": incident.silenced_until,
        "escalation_level": incident.escalation_level, "place": incident.place,
        "facets": [{"kind": k, "label": crisis_label(k)} for k in incident.facets],
        "hashtags": incident.tags, "topics": incident.topics, "keys": incident.keys,
        "headline": incident.headline or None,
        "figures": snapshot_of(incident, parse_time(incident.updated_at), change="", first=False)["figures"],
        "evidence": incident.evidence[:10], "routes": incident.routes, "alerts": alerts,
        "messages": store.conn.execute(
            "SELECT count(*) FROM incident_events WHERE incident_id = ? AND kind = 'notified'", [incident.id]
        ).fetchone()[0],
    }
    if timeline:
        data["timeline"] = [
            {"at": r[0], "kind": r[1], "alert_id": r[2], "rule": r[3], "key": r[4], "severity": r[5], "group": r[6],
             "text": r[7], "figures": json.loads(r[8] or "{}")}
            for r in store.conn.execute(
                "SELECT at, kind, alert_id, rule, key, severity, route_group, text, figures FROM incident_events "
                "WHERE incident_id = ? ORDER BY id", [incident.id])
        ]
    return data


def incident_of_alert(store: Store, alert_id: int) -> int | None:
    row = store.conn.execute("SELECT incident_id FROM alerts WHERE id = ?", [alert_id]).fetchone()
    return int(row[0]) if row and row[0] is not None else None


def incident_payload(store: Store, alert_id: int, at: datetime) -> dict[str, Any] | None:
    """The outbox payload re-rendering an incident's message now (after a Slack button), or None."""
    incident_id = incident_of_alert(store, alert_id)
    incident = load_incident(store, incident_id) if incident_id is not None else None
    if incident is None:
        return None
    count = store.conn.execute("SELECT count(*) FROM alerts WHERE incident_id = ?", [incident.id]).fetchone()[0]
    status = {"acknowledged": "pris en charge", "resolved": "clos", "silenced": "en silence"}.get(incident.status)
    change = f"incident {status}" + (f" par {incident.acked_by}" if incident.acked_by else "") if status else ""
    if incident.silenced_until and parse_time(incident.silenced_until) > at:
        change = "incident en silence jusqu'à " + parse_time(incident.silenced_until).strftime("%H:%M UTC")
    snapshot = snapshot_of(incident, at, change=change, first=False, alerts=count)
    return {"alert_ids": [incident.anchor_alert_id or alert_id], "incident_id": incident.id, "incident": snapshot,
            "at": to_iso(at)}
