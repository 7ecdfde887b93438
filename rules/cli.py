"""`vigie rules list|check|test`, `vigie ack`, `vigie silences add|list|remove` (operator text in French).

`vigie alerts …` belongs to alerts/ (delivery state), so acknowledging is the top-level `vigie ack`.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import click

from listener.cli.common import config_option, open_store, override, settings_for
from listener.errors import VigieError
from listener.french import ALERT_ACTION_FR, SEVERITY_SHORT_FR, fr_number
from listener.timeutil import parse_time, to_iso, utcnow
from rules import actions
from rules.loader import load_rules

if TYPE_CHECKING:
    from listener.settings import Settings


class RulesError(VigieError):
    pass


def _local(moment: datetime | str, tz: ZoneInfo) -> str:
    return parse_time(moment).astimezone(tz).strftime("%d/%m %H:%M")


@click.group(name="rules")
def rules_group() -> None:
    """Règles d'alerte : liste, vérification, rejeu d'essai (backtest)."""


@rules_group.command(name="list")
@config_option
def list_command(config_path: Path | None) -> None:
    """Liste les règles actives, leur type, leur gravité et leurs destinataires."""
    settings = settings_for(config_path)
    rules = load_rules(settings)
    defaults = settings.rules.default_routes
    if not rules:
        click.echo("Aucune règle active.")
        return
    click.echo(f"{len(rules)} règle(s) active(s) :")
    for rule in rules:
        options = rule.options
        crisis = f", mode de crise « {options.crisis} »" if options.crisis else ""
        click.echo(f"  {rule.name:<28} {rule.type_name:<15} {SEVERITY_SHORT_FR[options.severity]:<9} "
                   f"→ {', '.join(options.routes or defaults)}{crisis}")
        if options.description:
            click.echo(f"  {'':<28} {options.description}")


@rules_group.command(name="check")
@config_option
def check_command(config_path: Path | None) -> None:
    """Vérifie les règles (configuration et dossier de règles) sans lancer le démon."""
    settings = settings_for(config_path)
    rules = load_rules(settings)
    groups = settings.rules.groups
    click.echo(f"Règles valides : {len(rules)} active(s), {len(groups)} groupe(s) de destinataires.")
    if settings.rules.escalation_group and settings.rules.escalation_group not in groups:
        raise RulesError(f"groupe d'escalade inconnu : « {settings.rules.escalation_group} »")


@rules_group.command(name="test")
@config_option
@click.option("--replay", "replay_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Fichier JSONL de mentions enregistrées à rejouer.")
@click.option("--details", is_flag=True, help="Afficher aussi les mises à jour et les clôtures.")
@click.option("--json", "as_json", is_flag=True,
              help="Un objet JSON par ligne et par événement (alert, update, resolve, notification, crisis), "
                   "dans l'ordre du temps.")
@click.option("--speed", default="max", show_default=True,
              help="Vitesse du rejeu : max, ou un facteur (600 = 10 min/s) ; le résultat est le même.")
def test_command(config_path: Path | None, replay_path: Path, details: bool, as_json: bool, speed: str) -> None:
    """Backtest : rejoue des mentions enregistrées (pipeline, détection, règles) sans rien envoyer et dit
    quelles alertes auraient été levées, et quand. Les règles ne voient à chaque minute que les mentions
    déjà arrivées, quelle que soit la vitesse."""
    settings = settings_for(config_path)
    load_rules(settings)  # fail early on a bad rule
    if speed != "max":
        try:
            if float(speed) <= 0:
                raise ValueError
        except ValueError:
            raise RulesError(f"vitesse invalide : « {speed} » (max ou un nombre positif)") from None
    with tempfile.TemporaryDirectory(prefix="vigie-backtest-") as folder:
        result = _backtest(settings, replay_path, Path(folder), speed=speed)
    if as_json:
        for line in backtest_json_lines(result):
            click.echo(line)
        return
    tz = ZoneInfo(settings.institution.timezone)
    _print_backtest(result, tz, details)


def _backtest(settings: Settings, replay_path: Path, folder: Path, speed: str = "max") -> dict[str, Any]:
    from listener.app import Vigie
    from listener.clock import ReplayClock
    from listener.logging_setup import configure_logging
    from rules.extension import RULES

    source = {"name": f"rejeu:{replay_path.name}", "type": "replay", "path": str(replay_path),
              "speed": speed if speed == "max" else float(speed)}
    settings = override(settings, {
        "sources": [source],
        "store": {"path": str(folder / "backtest.db")},
        "web": {"enabled": False},
    })
    configure_logging(settings.logging.model_copy(update={"level": "ERROR"}))
    app = Vigie(settings, clock=ReplayClock(), deliver=False, web_enabled=False)
    extension = app.find(RULES)
    if extension is None:
        raise RulesError("le moteur de règles est désactivé (rules.enabled = false)")

    async def run() -> dict[str, Any]:
        # The replay source stops at each new minute of recorded time until every earlier minute has been
        # evaluated (Vigie.replay_gate): the rules see what had arrived by then, never the future.
        try:
            await app.start()
            await app.wait_for_sources()
            await app.finish_replay()
            first = app.store.conn.execute("SELECT min(created_at) FROM mentions").fetchone()[0]
            stats = app.store.stats()
            signals = dict(app.store.conn.execute("SELECT kind, count(*) FROM signals GROUP BY kind").fetchall())
            incidents = [dict(zip(("id", "title", "severity", "status", "opened_at", "alerts"), row, strict=True))
                         for row in app.store.conn.execute(
                "SELECT i.id, i.title, i.severity, i.status, i.opened_at, (SELECT count(*) FROM alerts a "
                "WHERE a.incident_id = i.id) FROM incidents i ORDER BY i.id")]
            alert_incident = dict(app.store.conn.execute(
                "SELECT id, incident_id FROM alerts WHERE incident_id IS NOT NULL").fetchall())
        finally:
            await app.stop()
        return {"mentions": stats["mentions"], "first": first, "last": stats["latest_mention_at"], "signals": signals,
                "events": list(extension.engine.events), "notifications": list(extension.engine.notifications),
                "incidents": incidents, "alert_incident": alert_incident}

    return asyncio.run(run())


_JSON_EVENTS = {"new": "alert", "silenced": "alert", "inhibited": "alert", "update": "update",
                "quiet_update": "update", "resolved": "resolve", "incident_resolved": "resolve", "crisis": "crisis"}


def backtest_events(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Every event of a backtest as a flat record, in time order (alerts of a minute before its messages)."""
    alert_incident = result.get("alert_incident", {})
    records: list[tuple[datetime, int, dict[str, Any]]] = []
    for position, event in enumerate(result["events"]):
        name = _JSON_EVENTS.get(event["action"])
        if name is None:
            continue
        incident = event.get("incident_id") or alert_incident.get(event.get("alert_id"))
        records.append((parse_time(event["at"]), position, {
            "event": name, "at": to_iso(event["at"]), "rule": event.get("rule"), "key": event.get("key"),
            "severity": event.get("severity"), "incident": incident,
            "level": event.get("level") if name == "crisis" else None, "group": None, "channel": None,
            "action": event["action"], "title": event.get("title") or None,
        }))
    offset = len(result["events"])
    for position, note in enumerate(result["notifications"]):
        incident = note.get("incident")
        if incident is None and note.get("alert_ids"):
            incident = alert_incident.get(note["alert_ids"][0])
        for delivery in note["deliveries"]:
            records.append((parse_time(note["at"]), offset + position, {
                "event": "notification", "at": to_iso(note["at"]), "rule": None, "key": None,
                "severity": note["severity"], "incident": incident, "level": note.get("level"),
                "group": delivery["group"], "channel": delivery["channel"], "kind": note["kind"],
                "title": note.get("title"),
                "not_before": to_iso(delivery["not_before"]) if delivery.get("not_before") else None,
            }))
    records.sort(key=lambda item: (item[0], item[1]))
    return [record for _, _, record in records]


def backtest_json_lines(result: dict[str, Any]) -> list[str]:
    return [json.dumps(record, ensure_ascii=False) for record in backtest_events(result)]


def _print_backtest(result: dict[str, Any], tz: ZoneInfo, details: bool) -> None:
    if not result["mentions"]:
        click.echo("Aucune mention rejouée : rien à évaluer.")
        return
    click.echo(f"Rejeu de {fr_number(result['mentions'])} mention(s), du {_local(result['first'], tz)} "
               f"au {_local(result['last'], tz)} (heure locale). Rien n'a été envoyé.")
    if result["signals"]:
        click.echo("Signaux des détecteurs : " + ", ".join(f"{k} {v}" for k, v in sorted(result["signals"].items())))
    events = result["events"]
    shown = [e for e in events if e["action"] in ALERT_ACTION_FR
             and (details or e["action"] in ("new", "silenced", "inhibited"))]
    fired = [e for e in events if e["action"] == "new"]
    if not fired:
        click.echo("Aucune alerte n'aurait été levée.")
    else:
        click.echo(f"{len(fired)} alerte(s) auraient été levées :")
    # Who is told: the opening message of each incident, sent when its first alert fired (one per group).
    routed: dict[int, list[dict[str, Any]]] = {}
    for note in result["notifications"]:
        if note["kind"] == "alert" and note["alert_ids"]:
            routed.setdefault(note["alert_ids"][0], []).append(note)
    alert_incident = result.get("alert_incident", {})
    for event in shown:
        when = _local(event["at"], tz)
        action = ALERT_ACTION_FR.get(event["action"], event["action"])
        if event["action"] == "escalation":
            click.echo(f"  {when}  escalade niveau {event['level']} de l'incident n° {event.get('incident_id')}")
            continue
        line = f"  {when}  {SEVERITY_SHORT_FR.get(event.get('severity', ''), ''):<9} {action:<11} [{event['rule']}]"
        if event.get("title"):
            line += f" {event['title']}"
        if alert_incident.get(event.get("alert_id")):
            line += f" (incident n° {alert_incident[event['alert_id']]})"
        notes = routed.get(event.get("alert_id"), [])
        if notes and event["action"] == "new":
            groups = list(dict.fromkeys(g for n in notes for g in n["groups"]))
            deferred = [d for n in notes for d in n["deliveries"] if d["not_before"]]
            line += " → " + (", ".join(groups) or "personne")
            if deferred:
                line += f" (différé à {_local(deferred[0]['not_before'], tz)} : heures calmes)"
        if event.get("crisis_planned"):
            line += f" ; mode de crise demandé : {event['crisis_planned']}"
        click.echo(line)
    escalations = sum(1 for e in events if e["action"] == "escalation")
    if escalations:
        click.echo(f"{escalations} escalade(s) vers l'astreinte (personne n'acquitte pendant un rejeu ; "
                   "détail avec --details).")
    incidents = result.get("incidents") or []
    if incidents:
        click.echo(f"{len(incidents)} incident(s) (alertes liées regroupées ; un message à l'ouverture et un par "
                   "changement notable) :")
        sent: Counter[int] = Counter(n.get("incident") for n in result["notifications"] if n.get("incident"))
        for item in incidents:
            click.echo(f"  n° {item['id']:<4} {_local(item['opened_at'], tz)}  {SEVERITY_SHORT_FR.get(item['severity'], ''):<9} "
                       f"{item['title']} — {item['alerts']} alerte(s), {sent[item['id']]} message(s)")
    per_rule: Counter[str] = Counter(e["rule"] for e in fired)
    updates: Counter[str] = Counter(e["rule"] for e in events if e["action"] == "update")
    if per_rule or updates:
        click.echo("Par règle :")
        for rule in sorted(set(per_rule) | set(updates)):
            click.echo(f"  {rule:<28} {per_rule[rule]:>4} alerte(s), {updates[rule]:>4} mise(s) à jour")


@click.command(name="ack")
@config_option
@click.argument("alert_id", type=int)
@click.option("--par", "actor", required=True, help="Qui prend l'alerte en charge (nom ou identifiant).")
def ack_command(config_path: Path | None, alert_id: int, actor: str) -> None:
    """Prend en charge une alerte (arrête l'escalade)."""
    store = open_store(settings_for(config_path))
    try:
        row = store.conn.execute("SELECT status, acked_by FROM alerts WHERE id = ?", [alert_id]).fetchone()
        if row is None:
            raise RulesError(f"alerte n° {alert_id} introuvable")
        if actions.acknowledge_alert(store, alert_id, actor, utcnow()):
            click.echo(f"Alerte n° {alert_id} prise en charge par {actor}.")
        else:
            by = f" par {row[1]}" if row[1] else ""
            raise RulesError(f"l'alerte n° {alert_id} n'est pas ouverte (statut : {row[0]}{by})")
    finally:
        store.close()


@click.group(name="silences")
def silences_group() -> None:
    """Silences : suspendre les notifications d'une règle ou d'une clé pendant une durée."""


@silences_group.command(name="add")
@config_option
@click.option("--regle", "rule", default=None, help="Nom de la règle (défaut : toutes).")
@click.option("--cle", "key", default=None, help="Clé, ex. topic:transport ou hashtag:* (défaut : toutes).")
@click.option("--duree", "duration", default="1h", show_default=True, help="Durée : 30min, 2h, 1h30, 1j.")
@click.option("--motif", "reason", required=True, help="Pourquoi (gardé pour l'audit).")
@click.option("--par", "actor", default="cli", show_default=True, help="Qui pose le silence.")
def silences_add(config_path: Path | None, rule: str | None, key: str | None, duration: str, reason: str,
                 actor: str) -> None:
    """Pose un silence."""
    if not rule and not key:
        raise RulesError("indiquez --regle et/ou --cle")
    try:
        delta = actions.parse_duration(duration)
    except ValueError as exc:
        raise RulesError(str(exc)) from None
    settings = settings_for(config_path)
    store = open_store(settings)
    now = utcnow()
    try:
        silence_id = actions.add_silence(store, rule=rule, key=key, until=now + delta, actor=actor, reason=reason,
                                         at=now)
    finally:
        store.close()
    tz = ZoneInfo(settings.institution.timezone)
    click.echo(f"Silence n° {silence_id} posé jusqu'au {_local(now + delta, tz)} "
               f"(règle : {rule or 'toutes'}, clé : {key or 'toutes'}).")


@silences_group.command(name="list")
@config_option
@click.option("--tous", "everything", is_flag=True, help="Inclure les silences expirés ou levés.")
def silences_list(config_path: Path | None, everything: bool) -> None:
    """Liste les silences actifs."""
    settings = settings_for(config_path)
    store = open_store(settings)
    try:
        items = actions.list_silences(store, utcnow(), include_inactive=everything)
    finally:
        store.close()
    if not items:
        click.echo("Aucun silence actif.")
        return
    tz = ZoneInfo(settings.institution.timezone)
    for item in items:
        state = f" [levé par {item['removed_by']}]" if item["removed_at"] else ""
        click.echo(f"  n° {item['id']:<4} règle : {item['rule'] or 'toutes':<24} clé : {item['key'] or 'toutes':<22} "
                   f"jusqu'au {_local(item['until'], tz)}  par {item['actor']} — {item['reason']}{state}")


@silences_group.command(name="remove")
@config_option
@click.argument("silence_id", type=int)
@click.option("--par", "actor", default="cli", show_default=True, help="Qui lève le silence.")
def silences_remove(config_path: Path | None, silence_id: int, actor: str) -> None:
    """Lève un silence avant son terme."""
    store = open_store(settings_for(config_path))
    try:
        done = actions.remove_silence(store, silence_id, actor, utcnow())
    finally:
        store.close()
    if not done:
        raise RulesError(f"silence n° {silence_id} introuvable ou déjà levé")
    click.echo(f"Silence n° {silence_id} levé.")
