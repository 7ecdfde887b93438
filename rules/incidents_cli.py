"""`vigie incidents list|show|ack|resolve|silence`: what people act on (operator text in French)."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import click

from listener.cli.common import config_option, open_store, settings_for
from listener.errors import VigieError
from listener.french import SEVERITY_SHORT_FR as SEVERITY_FR
from listener.french import fr_number
from listener.timeutil import parse_time, utcnow
from rules import actions
from rules.incidents import (
    acknowledge_incident,
    incident_dict,
    incident_rows,
    load_incident,
    resolve_incident,
    silence_incident,
)

STATUS_FR = {"open": "ouvert", "acknowledged": "pris en charge", "silenced": "en silence", "resolved": "clos"}
EVENT_FR = {"opened": "ouverture", "alert": "alerte liée", "update": "mise à jour", "change": "changement",
            "notified": "message envoyé", "held": "message retenu", "escalation": "escalade",
            "acknowledged": "prise en charge", "resolved": "clôture", "silenced": "silence"}


class IncidentError(VigieError):
    pass


def _local(moment: str | None, tz: ZoneInfo) -> str:
    return parse_time(moment).astimezone(tz).strftime("%d/%m %H:%M") if moment else "—"


@click.group(name="incidents")
def incidents_group() -> None:
    """Incidents : alertes liées regroupées (liste, détail, prise en charge, clôture, silence)."""


@incidents_group.command(name="list")
@config_option
@click.option("--tous", "everything", is_flag=True, help="Inclure les incidents clos.")
@click.option("--limite", "limit", default=30, show_default=True, help="Nombre d'incidents montrés.")
def list_command(config_path: Path | None, everything: bool, limit: int) -> None:
    """Liste les incidents ouverts (les plus récents d'abord)."""
    settings = settings_for(config_path)
    store = open_store(settings)
    try:
        items = incident_rows(store, status=None if everything else "open", limit=limit)
    finally:
        store.close()
    if not items:
        click.echo("Aucun incident ouvert." if not everything else "Aucun incident.")
        return
    tz = ZoneInfo(settings.institution.timezone)
    for item in items:
        facets = ", ".join(f["label"] for f in item["facets"])
        click.echo(f"  n° {item['id']:<4} {_local(item['opened_at'], tz)}  {SEVERITY_FR.get(item['severity'], ''):<9} "
                   f"{STATUS_FR.get(item['status'], item['status']):<15} {item['title']}"
                   + (f" [{facets}]" if facets else "")
                   + f" — {len(item['alerts'])} alerte(s), {item['messages']} message(s)")


@incidents_group.command(name="show")
@config_option
@click.argument("incident_id", type=int)
def show_command(config_path: Path | None, incident_id: int) -> None:
    """Détail d'un incident : chiffres, volets, alertes et chronologie."""
    settings = settings_for(config_path)
    store = open_store(settings)
    try:
        incident = load_incident(store, incident_id)
        if incident is None:
            raise IncidentError(f"incident n° {incident_id} introuvable")
        item = incident_dict(store, incident, timeline=True)
    finally:
        store.close()
    tz = ZoneInfo(settings.institution.timezone)
    click.echo(f"Incident n° {item['id']} — {item['title']}")
    click.echo(f"  Gravité : {SEVERITY_FR.get(item['severity'], item['severity'])} · statut : "
               f"{STATUS_FR.get(item['status'], item['status'])}"
               + (f" par {item['acked_by']}" if item["acked_by"] else "")
               + f" · ouvert le {_local(item['opened_at'], tz)} · dernier changement {_local(item['updated_at'], tz)}")
    if item["facets"]:
        click.echo("  Volets : " + ", ".join(f["label"] for f in item["facets"]))
    for line in item["figures"]:
        click.echo(f"  • {line}")
    click.echo(f"  Alertes ({len(item['alerts'])}) :")
    for alert in item["alerts"]:
        click.echo(f"    n° {alert['id']:<5} {_local(alert['created_at'], tz)}  [{alert['rule']}] {alert['title']}")
    click.echo("  Chronologie :")
    for event in item["timeline"]:
        if event["kind"] == "update":
            continue
        who = f" → {event['group']}" if event["group"] else ""
        click.echo(f"    {_local(event['at'], tz)}  {EVENT_FR.get(event['kind'], event['kind']):<16} {event['text']}{who}")
    click.echo(f"  Messages envoyés : {fr_number(item['messages'])}")


@incidents_group.command(name="ack")
@config_option
@click.argument("incident_id", type=int)
@click.option("--par", "actor", required=True, help="Qui prend l'incident en charge.")
def ack_command(config_path: Path | None, incident_id: int, actor: str) -> None:
    """Prend un incident en charge (toutes ses alertes ; arrête l'escalade)."""
    store = open_store(settings_for(config_path))
    try:
        incident = load_incident(store, incident_id)
        if incident is None:
            raise IncidentError(f"incident n° {incident_id} introuvable")
        if not acknowledge_incident(store, incident_id, actor, utcnow()):
            raise IncidentError(f"l'incident n° {incident_id} n'est pas ouvert (statut : "
                                f"{STATUS_FR.get(incident.status, incident.status)})")
    finally:
        store.close()
    click.echo(f"Incident n° {incident_id} pris en charge par {actor}.")


@incidents_group.command(name="resolve")
@config_option
@click.argument("incident_id", type=int)
@click.option("--par", "actor", required=True, help="Qui clôt l'incident.")
def resolve_command(config_path: Path | None, incident_id: int, actor: str) -> None:
    """Clôt un incident et ses alertes (ce qui se déclenche ensuite ouvre un nouvel incident)."""
    store = open_store(settings_for(config_path))
    try:
        if load_incident(store, incident_id) is None:
            raise IncidentError(f"incident n° {incident_id} introuvable")
        if not resolve_incident(store, incident_id, actor, utcnow()):
            raise IncidentError(f"l'incident n° {incident_id} est déjà clos")
    finally:
        store.close()
    click.echo(f"Incident n° {incident_id} clos par {actor}.")


@incidents_group.command(name="silence")
@config_option
@click.argument("incident_id", type=int)
@click.option("--duree", "duration", default="1h", show_default=True, help="Durée : 30min, 2h, 1h30, 1j.")
@click.option("--motif", "reason", default="", help="Pourquoi (gardé dans la chronologie).")
@click.option("--par", "actor", required=True, help="Qui met l'incident en silence.")
def silence_command(config_path: Path | None, incident_id: int, duration: str, reason: str, actor: str) -> None:
    """Plus aucun message sur cet incident pendant une durée (les changements seront dits ensuite)."""
    try:
        delta = actions.parse_duration(duration)
    except ValueError as exc:
        raise IncidentError(str(exc)) from None
    settings = settings_for(config_path)
    store = open_store(settings)
    now = utcnow()
    try:
        if load_incident(store, incident_id) is None:
            raise IncidentError(f"incident n° {incident_id} introuvable")
        if not silence_incident(store, incident_id, actor, now + delta, now, reason):
            raise IncidentError(f"l'incident n° {incident_id} est clos")
    finally:
        store.close()
    tz = ZoneInfo(settings.institution.timezone)
    click.echo(f"Incident n° {incident_id} en silence jusqu'au "
               f"{(now + delta).astimezone(tz).strftime('%d/%m %H:%M')}.")
