"""The officials' morning digest: trending local topics of the last hours with volume, change,
sentiment and a small chart each, notable mentions, open and resolved alerts, the crisis state.

Built from the store as of a moment (the daemon clock), rendered as an e-mail (inline CID charts), a
browser preview (data: URIs), a Slack message and console text. Trending topics come from detection's
`classifiers.detection.trending.compute_trending`, the crisis state from `rules.crisis.current_state`.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from alerts.charts import hourly_chart
from alerts.email import InlineImage, Mail, render
from alerts.render import (
    CRISIS_EMOJI,
    CRISIS_FR,
    AlertInfo,
    Evidence,
    fr_num,
    load_alerts,
    load_evidence,
    one_line,
)
from alerts.settings import DigestSettings
from listener.french import fr_change, fr_percent, local_time
from listener.store import Store
from listener.timeutil import minute_bucket, to_iso

if TYPE_CHECKING:
    from classifiers.detection.trending import TrendingItem

MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
          "novembre", "décembre"]
DAYS = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]


def fr_date(moment: datetime, tz: tzinfo) -> str:
    local = moment.astimezone(tz)
    return f"{DAYS[local.weekday()]} {local.day} {MONTHS[local.month - 1]} {local.year}"


@dataclass
class DigestTopic:
    name: str
    key: str | None
    volume: int
    change: float | None
    negative: float | None
    neutral: float | None
    positive: float | None
    mentions: list[Evidence]
    chart: bytes | None = None
    cid: str = ""

    @property
    def trend_arrow(self) -> str:
        if self.change is None:
            return ""
        return "▲" if self.change > 0.1 else ("▼" if self.change < -0.1 else "►")


@dataclass
class Digest:
    institution: str
    group: str
    as_of: datetime
    since: datetime
    hours: int
    tz: tzinfo
    topics: list[DigestTopic]
    notable: list[Evidence]
    open_alerts: list[AlertInfo]
    resolved_alerts: list[AlertInfo]
    crisis: dict[str, Any]
    total_mentions: int
    negative_share: float | None
    images: list[InlineImage] = field(default_factory=list)
    # Abusive messages (whoever they target), threats among them, and abuse aimed at the institution.
    abusive: int = 0
    threats: int = 0
    hostile: int = 0
    # Crisis reports located abroad: counted apart, never alerted (a town's default).
    crisis_abroad: int = 0

    @property
    def title(self) -> str:
        return f"Synthèse du matin — {self.institution} — {fr_date(self.as_of, self.tz)}"

    @property
    def abuse_line(self) -> str:
        """« Propos abusifs : 12 (dont 1 menace), 4 visant l'institution ou ses élus »."""
        line = f"Propos abusifs : {fr_num(self.abusive)}"
        if self.threats:
            line += f" (dont {fr_num(self.threats)} menace{'s' if self.threats > 1 else ''})"
        return line + f", {fr_num(self.hostile)} visant l'institution ou ses élus"

    @property
    def abroad_line(self) -> str:
        """« Crises signalées à l'étranger : 3 (comptées à part, sans alerte) »."""
        return f"Crises signalées à l'étranger : {fr_num(self.crisis_abroad)} (comptées à part, sans alerte)"

    @property
    def crisis_text(self) -> str:
        state = str(self.crisis.get("state", "normal"))
        return CRISIS_FR.get(state, one_line(state, 30))

    @property
    def crisis_color(self) -> str:
        return {"crise": "#dc2626", "vigilance": "#ea580c", "retour": "#2563eb"}.get(
            str(self.crisis.get("state", "normal")), "#16a34a")

    @property
    def crisis_label(self) -> str:
        state = str(self.crisis.get("state", "normal"))
        return f"{CRISIS_EMOJI.get(state, '⚪')} {CRISIS_FR.get(state, one_line(state, 30))}"


def _hourly(store: Store, key: str, since: datetime, hours: int) -> tuple[list[datetime], list[int]]:
    start = minute_bucket(since)
    counts = [0] * hours
    for _, bucket, n in store.counts_between(start, start + hours * 60, key):
        if _ != key:
            continue
        index = (bucket - start) // 60
        if 0 <= index < hours:
            counts[index] += n
    return [since + timedelta(hours=i) for i in range(hours)], counts


def build_digest(
    store: Store,
    *,
    as_of: datetime,
    tz: tzinfo,
    institution: str,
    settings: DigestSettings,
    group: str = "",
    trending: Callable[..., list[TrendingItem]] | None = None,
    crisis_state: Callable[[Store], dict[str, Any]] | None = None,
    charts: bool = True,
) -> Digest:
    if trending is None:
        from classifiers.detection.trending import compute_trending as trending
    if crisis_state is None:
        from rules.crisis import current_state as crisis_state
    hours = settings.hours
    since = as_of - timedelta(hours=hours)
    start, end = minute_bucket(since), minute_bucket(since) + hours * 60
    topics: list[DigestTopic] = []
    images: list[InlineImage] = []
    for index, item in enumerate(trending(store, as_of, hours=hours)[: settings.topics]):
        key = item.key
        topic = DigestTopic(
            name=one_line(item.term, 60), key=key, volume=item.volume, change=item.change,
            negative=item.negative, neutral=item.neutral, positive=item.positive,
            mentions=load_evidence(store, item.sample_ids[:2]),
        )
        if charts and key:
            stamps, counts = _hourly(store, key, since, hours)
            negatives = None
            if key.startswith("topic:"):
                negatives = _hourly(store, "neg:" + key, since, hours)[1]
            topic.chart = hourly_chart(stamps, counts, negatives, tz)
            topic.cid = f"tendance{index + 1}@vigie"
            images.append(InlineImage(topic.cid, topic.chart))
        topics.append(topic)
    window = [to_iso(since), to_iso(as_of)]
    notable_ids = [row[0] for row in store.conn.execute(
        "SELECT id FROM mentions WHERE created_at >= ? AND created_at < ? "
        "ORDER BY (likes + 2 * reposts + replies) DESC, coalesce(author_followers, 0) DESC LIMIT ?",
        [*window, settings.mentions])]
    total = store.conn.execute("SELECT count(*), sum(sentiment = 'negative'), sum(sentiment IS NOT NULL) FROM "
                               "mentions WHERE created_at >= ? AND created_at < ?", window).fetchone()
    counted = {key: n for key, n in store.conn.execute(
        "SELECT key, sum(n) FROM counts WHERE key IN ('all', 'neg:all', 'abusive:all', 'threat:all', 'hostile:all', "
        "'crisis_abroad:all') "
        "AND bucket >= ? AND bucket < ? GROUP BY key",
        [start, end])}
    if counted.get("all"):  # the counters see every mention of the window, cheaply
        total = (counted["all"], counted.get("neg:all", 0), counted["all"])
    open_ids = [r[0] for r in store.conn.execute(
        "SELECT id FROM alerts WHERE status IN ('open', 'acknowledged') AND created_at < ? ORDER BY CASE severity "
        "WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, created_at DESC LIMIT 15", [to_iso(as_of)])]
    resolved_ids = [r[0] for r in store.conn.execute(
        "SELECT id FROM alerts WHERE status IN ('resolved', 'silenced') AND coalesce(resolved_at, updated_at) >= ? "
        "AND coalesce(resolved_at, updated_at) < ? ORDER BY updated_at DESC LIMIT 15", window)]
    return Digest(
        institution=institution, group=group, as_of=as_of, since=since, hours=hours, tz=tz, topics=topics,
        notable=load_evidence(store, notable_ids), open_alerts=load_alerts(store, open_ids, evidence=0),
        resolved_alerts=load_alerts(store, resolved_ids, evidence=0), crisis=dict(crisis_state(store) or {}),
        total_mentions=int(total[0] or 0), negative_share=(total[1] / total[2]) if total[2] else None,
        images=images, abusive=int(counted.get("abusive:all", 0) or 0),
        threats=int(counted.get("threat:all", 0) or 0), hostile=int(counted.get("hostile:all", 0) or 0),
        crisis_abroad=int(counted.get("crisis_abroad:all", 0) or 0),
    )


# -- rendering --------------------------------------------------------------------------------------


def _context(digest: Digest, *, image_src: Callable[[DigestTopic], str], unsubscribe: str = "") -> dict[str, Any]:
    return {"d": digest, "image_src": image_src, "unsubscribe": unsubscribe, "fr_num": fr_num,
            "fr_percent": fr_percent, "fr_change": fr_change, "local_time": local_time,
            "crisis_since": local_time(digest.crisis.get("since"), digest.tz, "%d/%m à %H:%M")}


def render_mail(digest: Digest, *, unsubscribe: str = "") -> Mail:
    """E-mail: charts as inline CID images, List-Unsubscribe header."""
    context = _context(digest, image_src=lambda t: f"cid:{t.cid}", unsubscribe=unsubscribe)
    headers = {}
    if unsubscribe:
        headers["List-Unsubscribe"] = f"<{unsubscribe}>"
        if unsubscribe.startswith("https://"):
            headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    headers["List-Id"] = f"Synthese Vigie <digest.{(digest.group or 'defaut').lower()}.vigie>"
    return Mail(subject=digest.title, text=render("digest.txt.j2", **context), html=render("digest.html.j2", **context),
                images=list(digest.images), headers=headers)


def render_preview(digest: Digest) -> str:
    """Stand-alone HTML for a browser: charts inlined as data: URIs."""
    def src(topic: DigestTopic) -> str:
        return "data:image/png;base64," + base64.b64encode(topic.chart or b"").decode("ascii")

    return render("digest.html.j2", **_context(digest, image_src=src))


def render_text(digest: Digest) -> str:
    return render("digest.txt.j2", **_context(digest, image_src=lambda t: ""))


def slack_blocks(digest: Digest) -> tuple[str, list[dict[str, Any]]]:
    from alerts.slack import mrkdwn_inert, plain

    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": plain(f"📰 {digest.title}", 150)},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": (
            f"{fr_num(digest.total_mentions)} mentions sur {digest.hours} h · mode de crise : "
            f"{mrkdwn_inert(digest.crisis_label)} · {len(digest.open_alerts)} alerte(s) ouverte(s)")}]},
    ]
    if digest.abusive:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": mrkdwn_inert(digest.abuse_line)}]})
    if digest.crisis_abroad:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": mrkdwn_inert(digest.abroad_line)}]})
    lines = []
    for topic in digest.topics:
        line = f"• *{mrkdwn_inert(topic.name)}* — {fr_num(topic.volume)} mentions"
        if topic.change is not None:
            line += f" ({topic.trend_arrow} {mrkdwn_inert(fr_change(topic.change))})"
        if topic.negative is not None:
            line += f" · {mrkdwn_inert(fr_percent(topic.negative))} négatives"
        lines.append(line)
    if lines:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "*Sujets du moment*\n" + "\n".join(lines)}})
    if digest.open_alerts:
        alert_lines = [f"{a.emoji} {mrkdwn_inert(a.title, 120)} ({mrkdwn_inert(a.status_fr)})" for a in digest.open_alerts[:8]]
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "*Alertes ouvertes*\n" + "\n".join(alert_lines)}})
    if digest.resolved_alerts:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": (
            f"{len(digest.resolved_alerts)} alerte(s) résolue(s) ou mise(s) en silence sur la période.")}]})
    for ev in digest.notable[:3]:
        blocks.append({"type": "section", "text": plain(f"« {ev.text} » — {ev.author}", 500)})
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": "Graphiques détaillés dans le courriel de synthèse."}]})
    return mrkdwn_inert(digest.title), blocks


def payload_for(group: str, as_of: datetime) -> dict[str, Any]:
    return {"group": group, "as_of": to_iso(as_of)}


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
