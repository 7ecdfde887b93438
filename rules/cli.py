"""`vigie rules list|check|test`, `vigie ack`, `vigie silences add|list|remove` (operator text in French).

`vigie alerts …` belongs to alerts/ (delivery state), so acknowledging is the top-level `vigie ack`.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click

from listener.cli.common import config_option, open_store, override, settings_for
from listener.errors import VigieError
from listener.french import ALERT_ACTION_FR, SEVERITY_SHORT_FR, fr_number
from listener.timeutil import minute_bucket, parse_time, utcnow
from rules import actions
from rules.loader import load_rules


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
def test_command(config_path: Path | None, replay_path: Path, details: bool) -> None:
    """Backtest : rejoue des mentions enregistrées (pipeline, détection, règles) sans rien envoyer et dit
    quelles alertes auraient été levées, et quand."""
    settings = settings_for(config_path)
    load_rules(settings)  # fail early on a bad rule
    with tempfile.TemporaryDirectory(prefix="vigie-backtest-") as folder:
        result = _backtest(settings, replay_path, Path(folder))
    tz = ZoneInfo(settings.institution.timezone)
    _print_backtest(result, tz, details)


def _backtest(settings: Any, replay_path: Path, folder: Path) -> dict[str, Any]:
    from listener.app import Vigie
    from listener.clock import ReplayClock
    from listener.logging_setup import configure_logging
    from rules.extension import RULES

    source = {"name": f"rejeu:{replay_path.name}", "type": "replay", "path": str(replay_path), "speed": "max"}
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
        # Store the whole recording first, then evaluate every recorded minute in order: at full speed the
        # live evaluation loop would skip minutes (and would start on the wall clock before the first batch).
        steps, app.evaluation_steps = app.evaluation_steps, []
        try:
            await app.start()
            await app.wait_for_sources()
            await app.stop_sources()
            await app.drain_pipeline()
            app.evaluation_steps = steps
            first = app.store.conn.execute("SELECT min(created_at) FROM mentions").fetchone()[0]
            if first is not None:
                app.last_evaluated_bucket = minute_bucket(parse_time(first)) - 1
                await app.evaluate_through(app.clock.now() + timedelta(minutes=2))
            stats = app.store.stats()
            signals = dict(app.store.conn.execute("SELECT kind, count(*) FROM signals GROUP BY kind").fetchall())
        finally:
            await app.stop()
        return {"mentions": stats["mentions"], "first": first, "last": stats["latest_mention_at"], "signals": signals,
                "events": list(extension.engine.events), "notifications": list(extension.engine.notifications)}

    return asyncio.run(run())


def _print_backtest(result: dict[str, Any], tz: ZoneInfo, details: bool) -> None:
    if not result["mentions"]:
        click.echo("Aucune mention rejouée : rien à évaluer.")
        return
    click.echo(f"Rejeu de {fr_number(result['mentions'])} mention(s), du {_local(result['first'], tz)} "
               f"au {_local(result['last'], tz)} (heure locale). Rien n'a été envoyé.")
    if result["signals"]:
        click.echo("Signaux des détecteurs : " + ", ".join(f"{k} {v}" for k, v in sorted(result["signals"].items())))
    events = result["events"]
    shown = [e for e in events if details or e["action"] in ("new", "silenced", "inhibited")]
    fired = [e for e in events if e["action"] == "new"]
    if not fired:
        click.echo("Aucune alerte n'aurait été levée.")
    else:
        click.echo(f"{len(fired)} alerte(s) auraient été levées :")
    routed = {tuple(n["alert_ids"]): n for n in result["notifications"] if n["kind"] == "alert"}
    for event in shown:
        when = _local(event["at"], tz)
        action = ALERT_ACTION_FR.get(event["action"], event["action"])
        if event["action"] == "escalation":
            click.echo(f"  {when}  escalade niveau {event['level']} de l'alerte n° {event['alert_id']}")
            continue
        line = f"  {when}  {SEVERITY_SHORT_FR.get(event.get('severity', ''), ''):<9} {action:<11} [{event['rule']}]"
        if event.get("title"):
            line += f" {event['title']}"
        note = routed.get((event.get("alert_id"),))
        if note is not None:
            deferred = [d for d in note["deliveries"] if d["not_before"]]
            line += " → " + (", ".join(note["groups"]) or "personne")
            if deferred:
                line += f" (différé à {_local(deferred[0]['not_before'], tz)} : heures calmes)"
        if event.get("crisis_planned"):
            line += f" ; mode de crise demandé : {event['crisis_planned']}"
        click.echo(line)
    escalations = sum(1 for e in events if e["action"] == "escalation")
    if escalations:
        click.echo(f"{escalations} escalade(s) vers l'astreinte (personne n'acquitte pendant un rejeu ; "
                   "détail avec --details).")
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
