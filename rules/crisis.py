"""Crisis mode: a small state machine (normal → vigilance → crise → retour → normal) with an audit log.

Every change is recorded (who, when, why) in the core `crisis_log` table, announced to the recipient
groups, and applies the posting policy at once (rules/posting.py holds what must not go out and tells
the cell which posts). Leaving "crise" happens only by hand or after `calm_period_minutes` without any
critical alert (then to "retour", announced); "retour" and "vigilance" go back to "normal" only by hand.
All times come from the caller (`at`): the daemon's clock, or the recorded time in a replay.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from listener.errors import VigieError
from listener.store import Store
from listener.timeutil import parse_time, to_iso
from rules.crisis_settings import STATES, CrisisSettings

log = logging.getLogger("vigie.crisis")

STATE_FR = {"normal": "normal", "vigilance": "vigilance", "crise": "crise", "retour": "retour à la normale"}
SYSTEM_ACTOR = "système"


class CrisisTransitionError(VigieError, ValueError):
    """A change of level the configuration does not allow (message in French, for the operator)."""


def crisis_settings(settings: Any) -> CrisisSettings:
    """Accept the whole Settings, the RulesSettings or the CrisisSettings (callers differ)."""
    if isinstance(settings, CrisisSettings):
        return settings
    rules = getattr(settings, "rules", settings)
    found = getattr(rules, "crisis", None)
    return found if isinstance(found, CrisisSettings) else CrisisSettings()


def current_state(store: Store) -> dict[str, Any]:
    """The level in force: state, since (ISO), reason, actor (and when the last critical alert came)."""
    row = store.conn.execute(
        "SELECT state, since, reason, actor, last_critical_at FROM crisis_state WHERE id = 1"
    ).fetchone()
    if row is None:
        return {"state": "normal", "since": None, "reason": "", "actor": SYSTEM_ACTOR, "last_critical_at": None}
    return dict(zip(("state", "since", "reason", "actor", "last_critical_at"), row, strict=True))


def allowed_targets(settings: Any, state: str) -> list[str]:
    return list(crisis_settings(settings).transitions.get(state, []))


def check_transition(settings: Any, from_state: str, to_state: str) -> None:
    """Raise CrisisTransitionError (French) unless the configuration allows this change."""
    if to_state not in STATES:
        raise CrisisTransitionError(
            f"niveau inconnu « {to_state} » : choisir parmi {', '.join(STATES)}"
        )
    allowed = allowed_targets(settings, from_state)
    if to_state not in allowed:
        options = ", ".join(STATE_FR[s] for s in allowed) or "aucun"
        raise CrisisTransitionError(
            f"passage de « {STATE_FR.get(from_state, from_state)} » à « {STATE_FR[to_state]} » refusé "
            f"(depuis « {STATE_FR.get(from_state, from_state)} », niveaux possibles : {options})"
        )


def enter(store: Store, settings: Any, to_state: str, actor: str, reason: str, at: datetime) -> bool:
    """Move to `to_state`; False if already there. Records the audit row, announces the change and
    applies the posting policy at once. Raises CrisisTransitionError for a change not allowed."""
    actor = (actor or "").strip()
    if not actor:
        raise CrisisTransitionError("indiquer qui décide du changement de niveau (--par)")
    before = current_state(store)
    from_state = before["state"]
    if to_state == from_state:
        return False
    check_transition(settings, from_state, to_state)
    with store.transaction():
        # The calm timer of a new crisis starts now; other levels keep the last critical alert seen.
        store.conn.execute(
            "INSERT INTO crisis_state (id, state, since, reason, actor, last_critical_at) VALUES (1, ?, ?, ?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET state = excluded.state, since = excluded.since, "
            "reason = excluded.reason, actor = excluded.actor",
            [to_state, to_iso(at), reason or "", actor, before.get("last_critical_at")],
        )
        log_id = store.conn.execute(
            "INSERT INTO crisis_log (at, from_state, to_state, actor, reason) VALUES (?, ?, ?, ?, ?)",
            [to_iso(at), from_state, to_state, actor, reason or ""],
        ).lastrowid
    log.info("crisis level %s -> %s by %s at %s: %s", from_state, to_state, actor, to_iso(at), reason)
    announce(
        store, settings, kind="crisis",
        payload={"from": from_state, "to": to_state, "actor": actor, "reason": reason or "", "at": to_iso(at)},
        at=at, idempotency_prefix=f"crisis:{log_id}",
        severity="critical" if to_state == "crise" else "warning",
    )
    from rules import posting  # late import: posting imports this module

    posting.apply_policy(store, settings, at, reason=f"passage en « {STATE_FR[to_state]} » : {reason}".strip())
    return True


def note_critical_alert(store: Store, at: datetime) -> None:
    """A critical alert was raised: the calm period before leaving "crise" starts again from `at`."""
    with store.transaction():
        store.conn.execute(
            "UPDATE crisis_state SET last_critical_at = ? WHERE id = 1 "
            "AND (last_critical_at IS NULL OR last_critical_at < ?)",
            [to_iso(at), to_iso(at)],
        )


def calm_since(state: dict[str, Any]) -> datetime | None:
    """When the current calm began: the later of entering the level and the last critical alert."""
    if not state.get("since"):
        return None
    moments = [parse_time(state["since"])]
    if state.get("last_critical_at"):
        moments.append(parse_time(state["last_critical_at"]))
    return max(moments)


def tick(store: Store, settings: Any, at: datetime) -> bool:
    """Called every minute: after the calm period with no critical alert, "crise" → "retour"
    (announced). Idempotent; returns True when it stepped down."""
    state = current_state(store)
    if state["state"] != "crise":
        return False
    calm = calm_since(state)
    minutes = crisis_settings(settings).calm_period_minutes
    if calm is None or at - calm < timedelta(minutes=minutes):
        return False
    if "retour" not in allowed_targets(settings, "crise"):
        return False
    reason = f"aucune alerte critique depuis {minutes} min : retour à la normale (automatique)"
    return enter(store, settings, "retour", SYSTEM_ACTOR, reason, at)


def journal(store: Store, limit: int = 50) -> list[dict[str, Any]]:
    """The audit log, newest first: who changed the level, when, from what to what, and why."""
    rows = store.conn.execute(
        "SELECT id, at, from_state, to_state, actor, reason FROM crisis_log ORDER BY id DESC LIMIT ?", [limit]
    ).fetchall()
    keys = ("id", "at", "from", "to", "actor", "reason")
    return [dict(zip(keys, row, strict=True)) for row in rows]


def announce(
    store: Store, settings: Any, *, kind: str, payload: dict[str, Any], at: datetime, idempotency_prefix: str,
    severity: str = "critical",
) -> int:
    """Tell the recipient groups (R1's routing); without routing yet, the console. Returns rows queued."""
    groups = crisis_settings(settings).announce_groups or None
    try:
        from rules.routing import notify_groups
    except ImportError:
        notify_groups = None
    if notify_groups is not None:
        try:
            queued = notify_groups(store, settings, kind=kind, payload=payload, at=at, groups=groups,
                                   severity=severity, idempotency_prefix=idempotency_prefix)
        except Exception:
            log.exception("routing failed for %s; announcing on the console instead", kind)
        else:
            if queued:
                return queued
            # No recipient group configured: the console at least shows it (never a silent change).
    from alerts.outbox import enqueue

    row = enqueue(store, kind=kind, channel="console", target="-", payload=payload,
                  idempotency_key=f"{idempotency_prefix}:console", at=at)
    return 1 if row else 0
