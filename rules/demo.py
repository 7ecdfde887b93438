"""What the demo (`vigie demo`) needs from crisis mode and the posting policy.

The demo replays 36 h of a fictional town; the communication team's scheduled posts
(listener/demo/posts.json) go through the same policy as in production, but in dry-run: nothing leaves.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from listener.timeutil import parse_time
from rules import posting_queue

if TYPE_CHECKING:
    from listener.settings import Settings

log = logging.getLogger("vigie.demo")


def demo_overrides(settings: Settings, *, keep_channels: bool = False) -> dict[str, Any]:
    """Settings changes for the demo: posts are never really published (dry-run), and every alert goes to
    the console only (the cell's group), so a fresh machine needs no Slack token or SMTP server.
    `keep_channels` keeps the configured channels and groups (`make demo-canaux` points them at fakes)."""
    rules = settings.rules
    posting_config = rules.posting.model_dump(mode="json")
    posting_config["mode"] = "dry-run"
    if keep_channels:
        return {"rules": {"posting": posting_config}}
    groups = {}
    for name, group in rules.groups.items():
        data = group.model_dump(mode="json")
        data.update(group.without_targets(), console=name == "cellule")
        groups[name] = data
    alerts = settings.alerts.model_dump(mode="json")
    for name, section in alerts.items():
        if isinstance(section, dict) and "enabled" in section and name not in ("console", "digest"):
            section["enabled"] = False  # every delivery channel but the console
    alerts["console"] = {"enabled": True}
    return {"rules": {"posting": posting_config, "groups": groups}, "alerts": alerts}


def load_demo_posts(app: Any, path: Path) -> int:
    """Queue the demo's scheduled posts (a JSON list of {text, channel, category, scheduled_at, author});
    returns how many were queued. A missing file is not an error: the demo runs without posts."""
    path = Path(path)
    if not path.exists():
        log.info("no demo posts at %s", path)
        return 0
    items = json.loads(path.read_text(encoding="utf-8"))
    queued = 0
    for item in items:
        try:
            scheduled = parse_time(item["scheduled_at"])
            posting_queue.add_post(
                app.store,
                text=item["text"],
                channel=item.get("channel", "mastodon"),
                category=item.get("category", "information"),
                scheduled_at=scheduled,
                author=item.get("author") or "équipe communication",
                # Written the day before, as a communication team would.
                at=parse_time(item["created_at"]) if item.get("created_at") else scheduled - timedelta(days=1),
            )
        except (KeyError, ValueError, posting_queue.PostingError) as exc:
            log.warning("demo post skipped (%s): %r", exc, item)
            continue
        queued += 1
    return queued
