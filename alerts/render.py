"""What a notification says, in French, independent of the channel.

Everything read from the store (post text, authors, even alert titles built from hashtags) is untrusted:
channels escape it for their own markup (slack.py, Jinja autoescape, console control characters).
Here we only gather the facts and format numbers and times the French way.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from listener.french import (
    ALERT_STATUS_FR,
    CRISIS_BANNER_FR,
    NOTIFICATION_KIND_FR,
    SENTIMENT_ANY_FR,
    SEVERITY_FR,
    fr_number,
    local_time,
)

if TYPE_CHECKING:  # types only: rendering needs neither the store module nor the outbox at import
    from alerts.outbox import OutboxRow
    from listener.store import Store

SEVERITY = {name: (emoji, SEVERITY_FR[name]) for name, emoji in
            (("critical", "🔴"), ("warning", "🟠"), ("info", "🔵"))}
STATUS_FR = ALERT_STATUS_FR
CRISIS_FR = CRISIS_BANNER_FR
CRISIS_EMOJI = {"normal": "🟢", "vigilance": "🟠", "crise": "🚨", "retour": "🔵"}
SENTIMENT_FR = SENTIMENT_ANY_FR
KIND_FR = NOTIFICATION_KIND_FR

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def clean(text: Any, limit: int | None = None) -> str:
    """Untrusted text made single-purpose: no control characters, no bidi overrides, bounded length."""
    value = _CONTROL.sub("", str(text if text is not None else "")).strip()
    if limit is not None and len(value) > limit:
        value = value[: limit - 1].rstrip() + "…"
    return value


def one_line(text: Any, limit: int | None = None) -> str:
    return clean(re.sub(r"\s+", " ", str(text if text is not None else "")), limit)


def safe_url(url: Any) -> str | None:
    """Only http(s) URLs with a host are ever turned into links."""
    if not isinstance(url, str) or not url or len(url) > 2000 or _CONTROL.search(url) or " " in url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc or "@" in parts.netloc:
        return None
    return url


def fr_num(value: Any) -> str:
    """A figure read from the store, written the French way (listener.french.fr_number, decimals by size);
    what is not a number is shown as cleaned text."""
    if value is None:
        return "—"
    try:
        figure = float(value)
    except (TypeError, ValueError):
        return clean(value, 40)
    return fr_number(figure, "auto")


@dataclass
class Evidence:
    id: int
    text: str
    url: str | None
    author: str
    sentiment: str | None
    created_at: datetime
    source: str
    likes: int = 0
    reposts: int = 0

    @property
    def sentiment_fr(self) -> str:
        return SENTIMENT_FR.get(self.sentiment or "", "non classé")


@dataclass
class AlertInfo:
    id: int
    rule: str
    rule_type: str
    key: str
    severity: str
    status: str
    title: str
    summary: str
    topic: str | None
    details: dict[str, Any]
    created_at: str
    updated_at: str
    fire_count: int
    acked_by: str | None
    escalation_level: int
    evidence: list[Evidence] = field(default_factory=list)
    resolved_at: str | None = None

    @property
    def topic_label(self) -> str | None:
        """The topic as people name it ("Eau et assainissement"): the rules write it with the alert
        (details.topic_label, from the configured taxonomy)."""
        if not self.topic:
            return None
        return str(self.details.get("topic_label") or self.topic)

    @property
    def emoji(self) -> str:
        return SEVERITY.get(self.severity, ("⚪", self.severity.upper()))[0]

    @property
    def severity_fr(self) -> str:
        return SEVERITY.get(self.severity, ("⚪", self.severity.upper()))[1]

    @property
    def status_fr(self) -> str:
        return STATUS_FR.get(self.status, self.status)

    def measure(self) -> str:
        """'observé 38, attendu 1,2' (counts over the window) (plus the score when there is one)."""
        details = self.details
        unit = details.get("unit")
        if unit is None:
            unit = ""  # counts over the alert's window, which is shown beside ("fenêtre 15 min")
        unit = one_line(unit, 20)
        parts = []
        if details.get("observed") is not None:
            parts.append(f"observé {fr_num(details['observed'])}{unit}")
        if details.get("expected") is not None:
            parts.append(f"attendu {fr_num(details['expected'])}{unit}")
        if details.get("score") is not None and not parts:
            parts.append(f"score {fr_num(details['score'])}")
        return ", ".join(parts)

    def window(self) -> str:
        window = self.details.get("window")
        if window is None:
            return ""
        if isinstance(window, int | float):
            return f"{fr_num(window)} min"
        return one_line(window, 30)


def load_alerts(store: Store, ids: list[int], *, evidence: int = 3) -> list[AlertInfo]:
    if not ids:
        return []
    marks = ",".join("?" * len(ids))
    cursor = store.conn.execute(
        "SELECT id, rule, rule_type, key, severity, status, title, summary, topic, details, created_at, updated_at, "
        f"fire_count, acked_by, escalation_level, evidence, resolved_at FROM alerts WHERE id IN ({marks})",
        list(ids),
    )
    found: dict[int, AlertInfo] = {}
    for row in cursor.fetchall():
        evidence_ids = [int(i) for i in json.loads(row[15] or "[]") if str(i).isdigit()][:evidence]
        found[row[0]] = AlertInfo(
            id=row[0], rule=row[1], rule_type=row[2], key=row[3], severity=row[4], status=row[5], title=row[6],
            summary=row[7] or "", topic=row[8], details=_json_dict(row[9]), created_at=row[10], updated_at=row[11],
            fire_count=row[12], acked_by=row[13], escalation_level=row[14] or 0,
            evidence=load_evidence(store, evidence_ids), resolved_at=row[16],
        )
    return [found[i] for i in ids if i in found]


def _json_dict(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def load_evidence(store: Store, ids: list[int]) -> list[Evidence]:
    """Mentions in the order given (most telling first); purged ones are simply missing."""
    by_id = {m.id: m for m in store.get_mentions(ids)}
    result = []
    for mention_id in ids:
        mention = by_id.get(mention_id)
        if mention is None:
            continue
        result.append(
            Evidence(
                id=mention.id or 0,
                text=clean(mention.text, 400),
                url=safe_url(mention.url),
                author=one_line(mention.author_handle or mention.author_name or "anonyme", 60),
                sentiment=mention.labels.sentiment if mention.labels else None,
                created_at=mention.created_at,
                source=one_line(mention.source, 30),
                likes=mention.likes,
                reposts=mention.reposts,
            )
        )
    return result


@dataclass
class Notification:
    """One outbox row with what it refers to, ready for a channel to render."""

    row: OutboxRow
    alerts: list[AlertInfo]
    tz: tzinfo
    institution: str
    ui_url: str = ""

    @property
    def kind(self) -> str:
        return self.row.kind

    @property
    def payload(self) -> dict[str, Any]:
        return self.row.payload

    @property
    def severity(self) -> str:
        order = ["critical", "warning", "info"]
        found = [a.severity for a in self.alerts if a.severity in order]
        if self.kind == "crisis":
            return "critical" if self.payload.get("to") == "crise" else "warning"
        return min(found, key=order.index) if found else "info"

    def headline(self) -> str:
        """One line, plain text (untrusted parts included as they are: escape for your medium)."""
        kind = self.kind
        if kind == "crisis":
            to = str(self.payload.get("to", ""))
            before = str(self.payload.get("from", ""))
            return (f"Mode de crise : {CRISIS_FR.get(before, one_line(before, 20))} → "
                    f"{CRISIS_FR.get(to, one_line(to, 20))}")
        if kind == "held_posts":
            posts = self.payload.get("posts") or []
            return f"{len(posts)} publication(s) programmée(s) retenue(s)"
        if kind == "digest":
            return f"Synthèse matinale — {self.institution}"
        if kind == "test":
            return f"Message d'essai — {self.institution}"
        if not self.alerts:
            return KIND_FR.get(kind, kind)
        first = self.alerts[0]
        title = one_line(first.title, 150)
        if len(self.alerts) > 1:
            title += f" (+{len(self.alerts) - 1} alerte(s) liée(s))"
        if kind == "escalation":
            return f"Escalade niveau {int(self.payload.get('level') or first.escalation_level or 1)} — {title}"
        if kind == "alert_update":
            return f"Mise à jour — {title}"
        return title

    def test_line(self) -> str:
        """The body of a `vigie alerts test` message."""
        by = one_line(self.payload.get("by") or "", 60)
        return ("Ce canal fonctionne : message d'essai" + (f" demandé par {by}" if by else "")
                + ", aucune action n'est demandée.")

    def crisis_lines(self) -> list[str]:
        p = self.payload
        lines = []
        if p.get("reason"):
            lines.append(f"Motif : {one_line(p['reason'], 300)}")
        if p.get("actor"):
            lines.append(f"Par : {one_line(p['actor'], 80)}")
        return lines

    def held_posts(self) -> list[dict[str, str]]:
        posts = []
        for post in (self.payload.get("posts") or [])[:20]:
            if not isinstance(post, dict):
                continue
            posts.append({
                "text": clean(post.get("text"), 280),
                "channel": one_line(post.get("channel"), 40),
                "category": one_line(post.get("category"), 40),
                "scheduled_at": local_time(post.get("scheduled_at"), self.tz, "%d/%m %H:%M"),
            })
        return posts

    def at_local(self, fmt: str = "%H:%M") -> str:
        # When the event happened on the daemon's clock: an alert when it was raised, an update or an
        # escalation when it was queued (the alert row may have moved on by the time it is delivered).
        moment = self.payload.get("at") or self.row.created_at
        if self.kind == "alert" and self.alerts:
            moment = self.alerts[0].created_at
        return local_time(moment, self.tz, fmt)


def alert_ids(row: OutboxRow) -> list[int]:
    ids = row.payload.get("alert_ids") or ([row.alert_id] if row.alert_id else [])
    return [int(i) for i in ids if str(i).isdigit()]


def incident_alert(store: Store, row: OutboxRow) -> AlertInfo | None:
    """An incident message as channels render an alert, from the snapshot frozen when it was queued
    (rules/incidents.py): the figures are those of that moment, never the incident's later ones."""
    snap = row.payload.get("incident")
    if not isinstance(snap, dict):
        return None
    anchor = alert_ids(row)
    facets = [one_line(f, 40) for f in snap.get("facets") or []]
    figures = [one_line(f, 160) for f in snap.get("figures") or []]
    lines = []
    if snap.get("change"):
        lines.append(("Ouverture" if snap.get("first") else "Ce qui change") + f" : {one_line(snap['change'], 200)}.")
    if facets:
        lines.append("Volets : " + ", ".join(facets) + ".")
    if figures:
        lines.append("Chiffres : " + " ; ".join(figures) + ".")
    if isinstance(snap.get("authors"), int) and snap["authors"]:
        lines.append(f"{fr_num(snap['authors'])} auteur(s) distinct(s) signalent la crise.")
    headline = snap.get("headline") or None
    details = {"observed": headline, "window": snap.get("headline_window"), "unit": "",
               "incident_id": snap.get("id")}
    rules = ", ".join(one_line(r, 40) for r in snap.get("rules") or []) or "incident"
    evidence_ids = [int(i) for i in snap.get("evidence") or [] if str(i).isdigit()][:3]
    return AlertInfo(
        id=anchor[0] if anchor else 0, rule=rules, rule_type="incident", key=f"incident:{snap.get('id')}",
        severity=str(snap.get("severity") or "info"), status=str(snap.get("status") or "open"),
        title=f"Incident n° {snap.get('id')} — {one_line(snap.get('title'), 120)}", summary=" ".join(lines),
        topic=None, details=details, created_at=str(snap.get("at") or row.created_at),
        updated_at=str(snap.get("at") or row.created_at), fire_count=int(snap.get("alerts") or 1), acked_by=None,
        escalation_level=int(row.payload.get("level") or 0), evidence=load_evidence(store, evidence_ids),
    )


def build_notification(store: Store, row: OutboxRow, *, tz: tzinfo, institution: str, ui_url: str = "") -> Notification:
    incident = incident_alert(store, row)
    alerts = [incident] if incident is not None else load_alerts(store, alert_ids(row))
    return Notification(row=row, alerts=alerts, tz=tz, institution=institution, ui_url=ui_url)
