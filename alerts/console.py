"""The console channel: readable French lines on stdout, for the demo and for trying Vigie without
Slack or SMTP. Untrusted text is stripped of control characters (no terminal escape sequences)."""

from __future__ import annotations

import sys
from typing import TextIO

from alerts.channels import ChannelPlugin
from alerts.render import CRISIS_EMOJI, CRISIS_FR, Notification, fr_num, one_line
from listener.french import local_time
from listener.settings_base import StrictModel

WIDTH = 100


def _quote(text: str, limit: int = 140) -> str:
    return f"« {one_line(text, limit)} »"


def format_notification(n: Notification) -> str:
    """The text printed for one notification (several lines, no trailing newline)."""
    kind = n.kind
    if kind == "crisis":
        to = str(n.payload.get("to", ""))
        emoji = CRISIS_EMOJI.get(to, "⚠️")
        at = n.payload.get("at") or n.row.created_at
        lines = [f"{emoji} MODE DE CRISE {local_time(at, n.tz)} — "
                 f"{CRISIS_FR.get(str(n.payload.get('from')), one_line(n.payload.get('from'), 20))} → "
                 f"{CRISIS_FR.get(to, one_line(to, 20))}"]
        lines += [f"   {line}" for line in n.crisis_lines()]
        return "\n".join(lines)
    if kind == "held_posts":
        posts = n.held_posts()
        lines = [f"⏸️  PUBLICATIONS RETENUES {local_time(n.row.created_at, n.tz)} — {len(posts)} publication(s) "
                 "programmée(s) mise(s) en attente"]
        if n.payload.get("reason"):
            lines.append(f"   Motif : {one_line(n.payload['reason'], 200)}")
        for post in posts[:5]:
            lines.append(f"   • {post['scheduled_at']} [{post['channel']}] {_quote(post['text'], 100)}")
        return "\n".join(lines)
    if kind == "test":
        return f"🧪 ESSAI {local_time(n.payload.get('at') or n.row.created_at, n.tz)} — {n.headline()}\n   {n.test_line()}"
    if kind == "digest":
        return f"📰 {n.headline()} (voir le courriel ou `vigie digest --preview`)"
    if not n.alerts:
        return f"⚪ {n.headline()} (alerte introuvable dans la base)"
    first = n.alerts[0]
    label = {"alert_update": "MISE À JOUR", "escalation": "ESCALADE"}.get(kind)
    severity = f"{first.severity_fr}" + (f" · {label}" if label else "")
    title = one_line(first.title, 120)
    measure = first.measure()
    head = f"{first.emoji} {severity} {n.at_local()} — {title}" + (f" ({measure})" if measure else "")
    lines = [head]
    if first.summary:
        lines.append(f"   Pourquoi : {one_line(first.summary, 240)}")
    facts = [f"Règle {one_line(first.rule, 60)}"]
    if first.topic:
        facts.append(f"sujet {one_line(first.topic_label, 60)}")
    if first.window():
        facts.append(f"fenêtre {first.window()}")
    if first.fire_count > 1:
        facts.append(f"{fr_num(first.fire_count)} déclenchements")
    if kind == "escalation":
        facts.append(f"niveau {int(n.payload.get('level') or first.escalation_level or 1)}")
    if first.status != "open":
        facts.append(first.status_fr + (f" par {one_line(first.acked_by, 40)}" if first.acked_by else ""))
    lines.append("   " + " · ".join(facts) + f" · alerte n° {first.id}")
    for other in n.alerts[1:4]:
        lines.append(f"   + {other.emoji} {one_line(other.title, 100)} ({other.measure() or other.severity_fr})")
    for ev in first.evidence[:3]:
        lines.append(f"   › {_quote(ev.text)} — {ev.author} ({ev.sentiment_fr})")
    return "\n".join(lines)


class ConsoleSettings(StrictModel):
    # Print alerts, crisis changes and held posts on stdout (`[alerts] console = true` is short for this).
    enabled: bool = True


class ConsoleChannel:
    name = "console"

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    def _write(self, text: str) -> str:
        stream = self.stream or sys.stdout
        stream.write(text)
        stream.flush()
        return "stdout"

    async def send(self, notification: Notification) -> str | None:
        return self._write(format_notification(notification) + "\n\n")

    async def send_digest(self, digest, target: str, key: str) -> str | None:
        from alerts.digest import render_text

        return self._write(render_text(digest) + "\n")

    async def close(self) -> None:
        return None


PLUGIN = ChannelPlugin(
    name="console",
    description="Console : lignes lisibles en français sur la sortie du démon (démonstration, essais).",
    target="aucune (console = true dans le groupe)",
    settings=ConsoleSettings,
    example="""
[alerts]
# Print alerts on the daemon's standard output.
console = true
# In a recipient group: console = true
""",
    create=lambda settings, ctx: ConsoleChannel(),
)
