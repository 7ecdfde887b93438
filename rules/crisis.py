"""Switching the crisis level: the one place that changes the level, announces it and applies the
posting policy at once.

Every change is recorded (who, when, why) by rules/crisis_state.py, announced to the recipient groups,
and holds the scheduled posts the new level does not let out (policy: rules/posting_policy.py, queue:
rules/posting_queue.py), telling the cell which. Leaving "crise" happens only by hand or after
`calm_period_minutes` without any critical alert (then to "retour", announced); "retour" and "vigilance"
go back to "normal" only by hand. All times come from the caller (`at`): the daemon's clock, or the
recorded time in a replay.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from listener.french import CRISIS_STATE_FR
from listener.store import Store
from listener.timeutil import to_iso
from rules import posting_queue
from rules.crisis_state import (
    SYSTEM_ACTOR,
    CrisisTransitionError,
    allowed_targets,
    calm_since,
    check_transition,
    current_state,
    journal,
    note_critical_alert,
    record_transition,
)
from rules.posting_policy import policy_for
from rules.routing import notify_console, notify_groups
from rules.settings import SettingsView

log = logging.getLogger("vigie.crisis")

# What callers of the switch also read about the state (one import for the CLI, the API and the engine).
__all__ = ["CrisisTransitionError", "allowed_targets", "announce", "announce_held", "apply_policy", "calm_since",
           "current_state", "enter", "journal", "note_critical_alert", "tick"]


def enter(store: Store, settings: SettingsView, to_state: str, actor: str, reason: str, at: datetime) -> bool:
    """Move to `to_state`; False if already there. Records the audit row, announces the change and
    applies the posting policy at once. Raises CrisisTransitionError for a change not allowed."""
    actor = (actor or "").strip()
    if not actor:
        raise CrisisTransitionError("indiquer qui décide du changement de niveau (--par)")
    before = current_state(store)
    from_state = before["state"]
    if to_state == from_state:
        return False
    check_transition(settings.rules.crisis, from_state, to_state)
    log_id = record_transition(store, before, to_state, actor, reason, at)
    log.info("crisis level %s -> %s by %s at %s: %s", from_state, to_state, actor, to_iso(at), reason)
    announce(
        store, settings, kind="crisis",
        payload={"from": from_state, "to": to_state, "actor": actor, "reason": reason or "", "at": to_iso(at)},
        at=at, idempotency_prefix=f"crisis:{log_id}",
        severity="critical" if to_state == "crise" else "warning",
    )
    apply_policy(store, settings, at, reason=f"passage en « {CRISIS_STATE_FR[to_state]} » : {reason}".strip())
    return True


def tick(store: Store, settings: SettingsView, at: datetime) -> bool:
    """Called every minute: after the calm period with no critical alert, "crise" → "retour"
    (announced). Idempotent; returns True when it stepped down."""
    state = current_state(store)
    if state["state"] != "crise":
        return False
    calm = calm_since(state)
    minutes = settings.rules.crisis.calm_period_minutes
    if calm is None or at - calm < timedelta(minutes=minutes):
        return False
    if "retour" not in allowed_targets(settings.rules.crisis, "crise"):
        return False
    reason = f"aucune alerte critique depuis {minutes} min : retour à la normale (automatique)"
    return enter(store, settings, "retour", SYSTEM_ACTOR, reason, at)


def apply_policy(store: Store, settings: SettingsView, at: datetime, reason: str = "") -> list[int]:
    """On a change of level: hold now the posts due soon (within `hold_horizon_hours`) whose category the
    new level holds, and tell the cell which. Returns the ids held."""
    state = current_state(store)["state"]
    config = settings.rules.posting
    policy = policy_for(state, config)
    rows = posting_queue.hold_candidates(store, policy.held, at + timedelta(hours=config.hold_horizon_hours))
    if not rows:
        return []
    posting_queue.hold_all(store, rows, reason or f"politique de publication « {state} »", at)
    announce_held(store, settings, at, reason=reason)
    return [post["id"] for post in rows]


def announce_held(store: Store, settings: SettingsView, at: datetime, reason: str = "") -> int:
    """Tell the cell which posts were held and not yet announced (one message for all of them)."""
    rows = posting_queue.unannounced_held(store)
    if not rows:
        return 0
    state = current_state(store)["state"]
    payload = {
        "posts": [{"id": p["id"], "text": p["text"], "category": p["category"], "channel": p["channel"],
                   "scheduled_at": p["scheduled_at"]} for p in rows],
        "reason": reason or rows[0]["held_reason"] or f"politique de publication « {state} »",
    }
    ids = [p["id"] for p in rows]
    posting_queue.mark_announced(store, ids)
    announce(store, settings, kind="held_posts", payload=payload, at=at,
             idempotency_prefix=f"held:{ids[0]}-{ids[-1]}x{len(ids)}:{to_iso(at)}",
             severity="critical" if state == "crise" else "warning")
    return len(rows)


def announce(
    store: Store, settings: SettingsView, *, kind: str, payload: dict[str, Any], at: datetime, idempotency_prefix: str,
    severity: str = "critical",
) -> int:
    """Tell the recipient groups (or every group); with none configured, the console. Returns rows queued."""
    groups = settings.rules.crisis.announce_groups or None
    try:
        queued = notify_groups(store, settings, kind=kind, payload=payload, at=at, groups=groups,
                               severity=severity, idempotency_prefix=idempotency_prefix)
    except Exception:
        log.exception("routing failed for %s; announcing on the console instead", kind)
    else:
        if queued:
            return queued
        # No recipient group configured: the console at least shows it (never a silent change).
    return notify_console(store, kind=kind, payload=payload, at=at, idempotency_prefix=idempotency_prefix)
