"""Crisis state: the level in force, its audit log and which changes the configuration allows.

The state machine (normal → vigilance → crise → retour → normal) and its two tables (`crisis_state`,
`crisis_log`). Announcing a change and applying the posting policy belong to rules/crisis.py, the one
place that switches the level.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from listener.errors import VigieError
from listener.french import CRISIS_STATE_FR
from listener.store import Store
from listener.timeutil import parse_time, to_iso
from rules.crisis_settings import STATES, CrisisSettings

SYSTEM_ACTOR = "système"


class CrisisTransitionError(VigieError, ValueError):
    """A change of level the configuration does not allow (message in French, for the operator)."""


def recorded_state(store: Store) -> dict[str, Any] | None:
    """The level last recorded (state, since, reason, actor, last_critical_at), None before any change."""
    row = store.conn.execute(
        "SELECT state, since, reason, actor, last_critical_at FROM crisis_state WHERE id = 1"
    ).fetchone()
    if row is None:
        return None
    return dict(zip(("state", "since", "reason", "actor", "last_critical_at"), row, strict=True))


def current_state(store: Store) -> dict[str, Any]:
    """The level in force: state, since (ISO), reason, actor (and when the last critical alert came)."""
    recorded = recorded_state(store)
    if recorded is None:
        return {"state": "normal", "since": None, "reason": "", "actor": SYSTEM_ACTOR, "last_critical_at": None}
    return recorded


def allowed_targets(config: CrisisSettings, state: str) -> list[str]:
    return list(config.transitions.get(state, []))


def check_transition(config: CrisisSettings, from_state: str, to_state: str) -> None:
    """Raise CrisisTransitionError (French) unless the configuration allows this change."""
    if to_state not in STATES:
        raise CrisisTransitionError(
            f"niveau inconnu « {to_state} » : choisir parmi {', '.join(STATES)}"
        )
    allowed = allowed_targets(config, from_state)
    if to_state not in allowed:
        options = ", ".join(CRISIS_STATE_FR[s] for s in allowed) or "aucun"
        raise CrisisTransitionError(
            f"passage de « {CRISIS_STATE_FR.get(from_state, from_state)} » à « {CRISIS_STATE_FR[to_state]} » refusé "
            f"(depuis « {CRISIS_STATE_FR.get(from_state, from_state)} », niveaux possibles : {options})"
        )


def record_transition(store: Store, before: dict[str, Any], to_state: str, actor: str, reason: str,
                      at: datetime) -> int:
    """Write the new level and its audit row in one transaction; returns the audit row id."""
    with store.transaction():
        # The calm timer of a new crisis starts now; other levels keep the last critical alert seen.
        store.conn.execute(
            "INSERT INTO crisis_state (id, state, since, reason, actor, last_critical_at) VALUES (1, ?, ?, ?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET state = excluded.state, since = excluded.since, "
            "reason = excluded.reason, actor = excluded.actor",
            [to_state, to_iso(at), reason or "", actor, before.get("last_critical_at")],
        )
        return int(store.conn.execute(
            "INSERT INTO crisis_log (at, from_state, to_state, actor, reason) VALUES (?, ?, ?, ?, ?)",
            [to_iso(at), before["state"], to_state, actor, reason or ""],
        ).lastrowid)


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


def journal(store: Store, limit: int = 50) -> list[dict[str, Any]]:
    """The audit log, newest first: who changed the level, when, from what to what, and why."""
    rows = store.conn.execute(
        "SELECT id, at, from_state, to_state, actor, reason FROM crisis_log ORDER BY id DESC LIMIT ?", [limit]
    ).fetchall()
    keys = ("id", "at", "from", "to", "actor", "reason")
    return [dict(zip(keys, row, strict=True)) for row in rows]


def journal_between(store: Store, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """The changes of level made between `start` and `end`, oldest first (an incident's page shows them)."""
    rows = store.conn.execute(
        "SELECT id, at, from_state, to_state, actor, reason FROM crisis_log WHERE at >= ? AND at <= ? ORDER BY id",
        [to_iso(start), to_iso(end)],
    ).fetchall()
    keys = ("id", "at", "from", "to", "actor", "reason")
    return [dict(zip(keys, row, strict=True)) for row in rows]
