"""`vigie alerts …` (delivery state, retry) and `vigie digest` (preview or send the morning digest)."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import click

from alerts import digest as digest_mod
from alerts import outbox
from alerts.delivery import build_worker, default_as_of, enqueue_digest
from alerts.settings import DigestGroup
from listener.cli.common import config_option, open_store, settings_for
from listener.clock import Clock
from listener.errors import VigieError
from listener.french import OUTBOX_STATE_FR
from listener.store import Store
from listener.timeutil import parse_time, to_iso, utcnow

if TYPE_CHECKING:
    from listener.settings import Settings


class AlertsError(VigieError):
    pass


@click.group(name="alerts")
def alerts_group() -> None:
    """Alertes : état des envois (outbox), relance des envois abandonnés."""


@alerts_group.command(name="list")
@config_option
@click.option("--state", type=click.Choice(list(outbox.STATES)), default=None, help="Seulement cet état.")
@click.option("--limit", default=30, show_default=True, help="Nombre de lignes.")
@click.option("--json", "as_json", is_flag=True, help="Sortie JSON.")
def list_command(config_path: Path | None, state: str | None, limit: int, as_json: bool) -> None:
    """Liste les envois d'alertes et leur état (en attente, en cours, envoyée, abandonnée)."""
    settings = settings_for(config_path)
    store = open_store(settings)
    try:
        rows = outbox.list_rows(store, state=state, limit=limit)
        counts = outbox.counts(store)
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps({"counts": counts, "items": [r.as_dict() for r in rows]}, ensure_ascii=False, indent=2))
        return
    click.echo("Envois : " + ", ".join(f"{OUTBOX_STATE_FR.get(k, k)} {v}" for k, v in counts.items()))
    if not rows:
        click.echo("Aucun envoi.")
        return
    click.echo(f"{'n°':>5}  {'créé (UTC)':<20} {'type':<12} {'canal':<8} {'état':<11} {'essais':>6}  destinataire")
    for row in rows:
        click.echo(f"{row.id:>5}  {row.created_at:<20} {row.kind:<12} {row.channel:<8} "
                   f"{OUTBOX_STATE_FR.get(row.state, row.state):<11} {row.attempts:>6}  {row.target[:40]}")
        if row.last_error and row.state != "sent":
            click.echo(f"{'':>7}dernière erreur : {row.last_error[:150]}")


@alerts_group.command(name="channels")
@click.option("--exemple", "example", default=None, metavar="CANAL",
              help="Afficher le bloc de configuration d'exemple de ce canal.")
@config_option
def channels_command(example: str | None, config_path: Path | None) -> None:
    """Liste les canaux d'envoi (Slack, Teams, Tchap/Matrix, SMS…) avec leur description."""
    from alerts import registry

    if example:
        plugin = registry.get(example)
        if plugin is None:
            raise AlertsError(f"canal inconnu : {example} (canaux : {', '.join(registry.BY_NAME)})")
        click.echo(plugin.example.strip())
        return
    enabled: dict[str, bool] = {}
    missing: dict[str, list[str]] = {}
    try:
        settings = settings_for(config_path)
        enabled = {p.name: getattr(settings.alerts, p.name).enabled for p in registry.PLUGINS}
        missing = {p.name: getattr(getattr(settings.alerts, p.name), "problems", list)() for p in registry.PLUGINS}
    except VigieError:
        pass  # no readable configuration: describe the channels anyway
    width = max(len(p.name) for p in registry.PLUGINS)
    for plugin in registry.PLUGINS:
        state = "" if plugin.name not in enabled else (" [activé]" if enabled[plugin.name] else " [désactivé]")
        if enabled.get(plugin.name) and missing.get(plugin.name):
            state = f" [activé — à compléter : {', '.join(missing[plugin.name])}]"
        click.echo(f"{plugin.name:<{width}}  {plugin.description}{state}")
        click.echo(f"{'':<{width}}  destinataire : {plugin.target}")
    click.echo("\nDans un groupe de destinataires, chaque canal a sa clé : "
               + ", ".join(f"{p.name} = [...]" if p.name != "console" else "console = true"
                           for p in registry.PLUGINS))
    click.echo("Exemple de configuration : vigie alerts channels --exemple CANAL")


@alerts_group.command(name="test")
@config_option
@click.argument("channel", metavar="CANAL")
@click.argument("targets", nargs=-1, metavar="[CIBLE]...")
@click.option("--par", "by", default="", help="Nom de la personne qui fait l'essai (affiché dans le message).")
def test_command(config_path: Path | None, channel: str, targets: tuple[str, ...], by: str) -> None:
    """Envoie un message d'essai par un canal, à ses destinataires configurés ou aux cibles données."""
    from alerts import registry
    from alerts.outbox import enqueue

    plugin = registry.get(channel)
    if plugin is None:
        raise AlertsError(f"canal inconnu : {channel} (canaux : {', '.join(registry.BY_NAME)})")
    settings = settings_for(config_path)
    if not getattr(settings.alerts, channel).enabled:
        raise AlertsError(f"canal désactivé : [alerts.{channel}] enabled = false")
    pairs = [(None, target) for target in targets] or [
        (name, target) for name, group in settings.rules.groups.items()
        for ch, target in group.targets() if ch == channel]
    pairs = list(dict.fromkeys(pairs))
    if not pairs:
        raise AlertsError(f"aucun destinataire « {channel} » dans [rules.groups] : indiquez une cible "
                          f"({plugin.target})")
    tz = ZoneInfo(settings.institution.timezone)
    now = utcnow()
    unique = "essai-" + now.strftime("%Y%m%dT%H%M%S")
    store = open_store(settings)
    try:
        ids = [row for group, target in pairs if (row := enqueue(
            store, kind="test", channel=channel, target=target, payload={"at": to_iso(now), "by": by},
            idempotency_key=f"test:{unique}:{channel}:{target}", at=now, recipient_group=group)) is not None]
        worker = build_worker(store, settings, clock=Clock(), tz=tz)

        async def run() -> None:
            try:
                await worker.drain(timeout=45, ids=ids)
            finally:
                await worker.close()

        asyncio.run(run())
        failed = 0
        for row in (outbox.get(store, i) for i in ids):
            if row is None:
                continue
            if row.state == "sent":
                click.echo(f"✓ {channel} → {row.target[:70]} : reçu ({(row.external_ref or '')[:40]})")
                continue
            failed += 1
            if row.state != "dead":  # a test left to retry later would surprise someone tomorrow
                outbox.mark_dead(store, row.id, error=f"essai non abouti : {row.last_error or 'pas de réponse'}")
            click.echo(f"✗ {channel} → {row.target[:70]} : échec — {row.last_error or 'pas de réponse'}")
    finally:
        store.close()
    if failed:
        raise AlertsError(f"{failed} essai(s) sur {len(ids)} sans succès")
    click.echo(f"{len(ids)} message(s) d'essai envoyé(s) par {channel}.")


@alerts_group.command(name="retry")
@config_option
@click.argument("ids", nargs=-1, type=int)
@click.option("--all", "all_dead", is_flag=True, help="Relancer tous les envois abandonnés.")
def retry_command(config_path: Path | None, ids: tuple[int, ...], all_dead: bool) -> None:
    """Remet en file des envois abandonnés (après correction d'un jeton ou d'un canal)."""
    if not ids and not all_dead:
        raise AlertsError("indiquez des numéros d'envoi ou --all")
    settings = settings_for(config_path)
    store = open_store(settings)
    try:
        count = outbox.requeue(store, None if all_dead else list(ids))
    finally:
        store.close()
    click.echo(f"{count} envoi(s) remis en file ; le démon les enverra.")


@click.command()
@config_option
@click.option("--preview", "preview", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Écrire la synthèse dans ce fichier HTML (images incluses) pour un navigateur.")
@click.option("--send", "send", is_flag=True, help="Envoyer la synthèse maintenant aux listes configurées.")
@click.option("--group", "group_name", default=None, help="Seulement cette liste de destinataires.")
@click.option("--as-of", "as_of", default=None,
              help="Fin de la période (ISO). Défaut : maintenant, ou la dernière mention enregistrée si plus ancienne.")
def digest(config_path: Path | None, preview: Path | None, send: bool, group_name: str | None, as_of: str | None) -> None:
    """Synthèse du matin pour les élus : aperçu HTML (--preview) ou envoi immédiat (--send)."""
    if not preview and not send:
        raise AlertsError("indiquez --preview FICHIER.html et/ou --send")
    settings = settings_for(config_path)
    tz = ZoneInfo(settings.institution.timezone)
    groups = settings.alerts.digest.groups
    if group_name:
        groups = [g for g in groups if g.name == group_name]
        if not groups:
            raise AlertsError(f"liste de destinataires inconnue : {group_name}")
    store = open_store(settings)
    try:
        moment = parse_time(as_of) if as_of else default_as_of(store, utcnow())
        if preview:
            name = groups[0].name if groups else ""
            built = digest_mod.build_digest(store, as_of=moment, tz=tz, institution=settings.institution.name,
                                            settings=settings.alerts.digest, group=name)
            preview.parent.mkdir(parents=True, exist_ok=True)
            preview.write_text(digest_mod.render_preview(built), encoding="utf-8")
            click.echo(f"Aperçu écrit : {preview} ({len(built.topics)} sujet(s), {built.total_mentions} mentions)")
        if send:
            if not groups:
                raise AlertsError("aucune liste de destinataires ([[alerts.digest.groups]]) dans la configuration")
            _send_now(store, settings, groups, moment, tz)
    finally:
        store.close()


def _send_now(store: Store, settings: Settings, groups: list[DigestGroup], moment: datetime, tz: tzinfo) -> None:
    unique = "manuel-" + utcnow().strftime("%Y%m%dT%H%M%S")
    queued = sum(enqueue_digest(store, group, as_of=moment, tz=tz, unique=unique) for group in groups)
    ids = [r[0] for r in store.conn.execute("SELECT id FROM outbox WHERE kind = 'digest' AND idempotency_key LIKE ?",
                                             [f"digest:%:{unique}:%"])]
    worker = build_worker(store, settings, clock=Clock(), tz=tz)

    async def run() -> None:
        try:
            await worker.drain(timeout=60, ids=ids)
        finally:
            await worker.close()

    asyncio.run(run())
    rows = [r for r in (outbox.get(store, i) for i in ids) if r is not None]
    sent = sum(r.state == "sent" for r in rows)
    click.echo(f"Synthèse : {sent} envoi(s) sur {queued} réussi(s).")
    for row in rows:
        if row.state != "sent":
            click.echo(f"  {row.channel} {row.target} : {OUTBOX_STATE_FR.get(row.state, row.state)} — {row.last_error or ''}")
