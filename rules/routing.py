"""Who is told, where and when: recipient groups, minimum severity and quiet hours.

Routing only writes outbox rows (alerts.outbox.enqueue); alerts/ delivers them. Quiet hours do not drop a
message, they defer it (`not_before` = end of the quiet hours) so the morning reader still sees it.
"""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from listener.store import Store
from rules.settings import SEVERITY_RANK, GroupSettings, RulesConfig, RulesSettings

log = logging.getLogger("vigie.rules.routing")

DEFAULT_TZ = "Europe/Paris"


def rules_settings_of(settings: RulesConfig) -> RulesSettings:
    """The rules section of the whole configuration (or the section itself: tests and backtests pass it)."""
    return settings if isinstance(settings, RulesSettings) else settings.rules


def timezone_of(settings: RulesConfig) -> ZoneInfo:
    institution = getattr(settings, "institution", None)
    return ZoneInfo(getattr(institution, "timezone", DEFAULT_TZ) or DEFAULT_TZ)


def _parse_quiet(spec: str) -> tuple[time, time]:
    start, end = spec.split("-")
    return time.fromisoformat(start), time.fromisoformat(end)


def quiet_until(group: GroupSettings, at: datetime, tz: ZoneInfo) -> datetime | None:
    """End of the quiet period `at` falls in (aware UTC), or None when `at` is not in quiet hours."""
    if not group.quiet_hours:
        return None
    start, end = _parse_quiet(group.quiet_hours)
    local = at.astimezone(tz)
    now = local.time().replace(tzinfo=None)
    if start == end:
        return None
    if start < end:  # e.g. 12:00-14:00, same day
        inside = start <= now < end
        end_day = local.date()
    else:  # e.g. 22:00-07:30, across midnight
        inside = now >= start or now < end
        end_day = local.date() + timedelta(days=1) if now >= start else local.date()
    if not inside:
        return None
    # Build the wall-clock end in the zone, then convert (DST-safe through ZoneInfo).
    end_local = datetime.combine(end_day, end, tzinfo=tz)
    return end_local.astimezone(at.tzinfo or tz)


def deliverable(group: GroupSettings, severity: str) -> bool:
    return SEVERITY_RANK.get(severity, 0) >= SEVERITY_RANK[group.min_severity]


def channel_admits(settings: RulesConfig, channel: str, severity: str, group: str) -> bool:
    """A channel may narrow what it carries (SMS: critical alerts of the on-call group only): its
    [alerts.<channel>] section then has `admits(severity, group)`. Read as data, no import of alerts/."""
    section = getattr(getattr(settings, "alerts", None), channel, None)
    admits = getattr(section, "admits", None)
    return admits is None or bool(admits(severity, group))


def notify_groups(
    store: Store,
    settings: RulesConfig,
    *,
    kind: str,
    payload: dict[str, Any],
    at: datetime,
    groups: list[str] | None = None,
    severity: str = "critical",
    idempotency_prefix: str,
    alert_id: int | None = None,
) -> int:
    """Queue one outbox row per (group, channel, target); returns how many rows were queued now.

    `groups=None` means every configured group. Unknown group names are logged and skipped (the loader
    already rejects them in rules, so this only happens with hand-written calls). Enqueuing twice with the
    same `idempotency_prefix` is harmless.
    """
    from alerts.outbox import enqueue  # the outbox belongs to alerts/; imported late to keep start-up light

    rules = rules_settings_of(settings)
    tz = timezone_of(settings)
    names = list(rules.groups) if groups is None else list(dict.fromkeys(groups))
    queued = 0
    for name in names:
        group = rules.groups.get(name)
        if group is None:
            log.warning("notification %s: unknown recipient group %r", kind, name)
            continue
        if not deliverable(group, severity):
            continue
        not_before = None
        if SEVERITY_RANK.get(severity, 0) < SEVERITY_RANK[group.quiet_min_severity]:
            not_before = quiet_until(group, at, tz)
        fallback_group = rules.groups.get(group.fallback) if group.fallback else None
        fallback = fallback_group.targets() if fallback_group is not None else None
        for channel, target in group.targets():
            if not channel_admits(settings, channel, severity, name):
                continue
            row = enqueue(
                store,
                kind=kind,
                channel=channel,
                target=target,
                payload=payload,
                idempotency_key=f"{idempotency_prefix}:{name}:{channel}:{target}",
                at=at,
                recipient_group=name,
                alert_id=alert_id,
                not_before=not_before,
                fallback=fallback,
            )
            if row is not None:
                queued += 1
    return queued


def planned_deliveries(
    settings: RulesConfig, *, groups: list[str], severity: str, at: datetime
) -> list[dict[str, Any]]:
    """What notify_groups would queue, without writing anything (backtests, deliver=False)."""
    rules = rules_settings_of(settings)
    tz = timezone_of(settings)
    planned = []
    for name in dict.fromkeys(groups):
        group = rules.groups.get(name)
        if group is None or not deliverable(group, severity):
            continue
        not_before = None
        if SEVERITY_RANK.get(severity, 0) < SEVERITY_RANK[group.quiet_min_severity]:
            not_before = quiet_until(group, at, tz)
        for channel, target in group.targets():
            if not channel_admits(settings, channel, severity, name):
                continue
            planned.append({"group": name, "channel": channel, "target": target, "not_before": not_before})
    return planned


def notify_console(store: Store, *, kind: str, payload: dict[str, Any], at: datetime, idempotency_prefix: str) -> int:
    """Queue the message for the console alone: what is announced when no recipient group is configured
    (a change of crisis level is never silent)."""
    from alerts.outbox import enqueue  # the outbox belongs to alerts/ (see notify_groups)

    row = enqueue(store, kind=kind, channel="console", target="-", payload=payload,
                  idempotency_key=f"{idempotency_prefix}:console", at=at)
    return 1 if row else 0
