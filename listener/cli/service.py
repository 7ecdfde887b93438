"""Commands that run the daemon: run, demo, replay, check-config, status."""

from __future__ import annotations

import asyncio
import json
import shutil
import urllib.request
from datetime import timedelta
from pathlib import Path

import click

from listener.app import Vigie
from listener.auth.demo import create_demo_accounts
from listener.cli.common import config_option, open_store, override, settings_for
from listener.clock import ReplayClock
from listener.french import CRISIS_BANNER_FR, fr_number
from listener.logging_setup import configure_logging
from listener.memory import limit_malloc_arenas
from listener.runner import run_daemon
from listener.timeutil import parse_time
from rules.crisis_state import recorded_state
from rules.posting_queue import PUBLISHED_STATES
from rules.posting_queue import summary as posts_summary

DEMO_DIR = Path(__file__).resolve().parent.parent / "demo"


@click.command()
@config_option
@click.option("-v", "--verbose", is_flag=True, help="Journal détaillé.")
def run(config_path: Path | None, verbose: bool) -> None:
    """Lance le démon de veille (arrêt propre sur SIGTERM ou Ctrl-C)."""
    settings = settings_for(config_path)
    configure_logging(settings.logging, verbose=verbose)
    limit_malloc_arenas()
    app = Vigie(settings)
    raise SystemExit(asyncio.run(run_daemon(app)))


@click.command(name="check-config")
@config_option
def check_config(config_path: Path | None) -> None:
    """Vérifie la configuration et dit ce qui sera lancé."""
    settings = settings_for(config_path)
    where = settings.config_path or "(valeurs par défaut)"
    click.echo(f"Configuration valide : {where}")
    click.echo(f"  Institution : {settings.institution.name} ({settings.institution.timezone})")
    click.echo(f"  Base : {settings.resolve(settings.store.path)} (conservation {settings.store.retention_days} j)")
    enabled = [s for s in settings.sources if s.enabled]
    click.echo(f"  Sources actives : {len(enabled)} / {len(settings.sources)}")
    for source in settings.sources:
        click.echo(f"    - {source.name} ({source.type}){'' if source.enabled else ' [désactivée]'}")
    from rules.engine import describe_rules

    for line in describe_rules(settings):
        click.echo(f"  {line}")


def _demo_settings(config_path: Path | None, data: Path, out_dir: Path, port: int, speed: str,
                   keep_channels: bool = False):
    settings = settings_for(config_path)
    replay = {"name": "demo", "type": "replay", "path": str(data), "speed": speed if speed == "max" else float(speed)}
    changes = {
        "store": {"path": str(out_dir / "vigie-demo.db")},
        "sources": [replay],
        "web": {"port": port, "host": "127.0.0.1", "enabled": True},
    }
    from rules.demo import demo_overrides  # the rules area routes the demo's alerts to the console

    changes.update(demo_overrides(settings, keep_channels=keep_channels))
    return override(settings, changes)


@click.command()
@config_option
@click.option("--once", is_flag=True, help="Quitter à la fin du rejeu au lieu de laisser l'interface web ouverte.")
@click.option("--speed", default="max", show_default=True, help="Vitesse du rejeu : max, ou un facteur (60 = 1 min/s).")
@click.option("--port", default=8080, show_default=True, help="Port de l'interface web de la démo.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("demo-out"),
              show_default=True, help="Dossier de la base de démonstration (recréée à chaque lancement).")
@click.option("--canaux-configures", "keep_channels", is_flag=True,
              help="Envoyer aussi aux canaux et groupes de la configuration (défaut : la console seulement).")
@click.option("-v", "--verbose", is_flag=True, help="Journal détaillé.")
def demo(config_path: Path | None, once: bool, speed: str, port: int, out_dir: Path, keep_channels: bool,
         verbose: bool) -> None:
    """Rejoue 36 h de mentions d'une ville fictive dans le démon complet et montre les alertes."""
    data = DEMO_DIR / "rivebelle.jsonl"
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    settings = _demo_settings(config_path, data, out_dir, port, speed, keep_channels)
    configure_logging(settings.logging.model_copy(update={"level": "WARNING"}), verbose=verbose)
    clock = ReplayClock()
    app = Vigie(settings, clock=clock)
    from rules.demo import load_demo_posts

    load_demo_posts(app, DEMO_DIR / "posts.json")
    accounts = create_demo_accounts(app.store)

    click.echo(f"Vigie — démonstration : {settings.institution.name}")
    click.echo(f"Rejeu de {data.name} à vitesse {speed} dans le démon complet (base {out_dir}/vigie-demo.db).\n")

    async def replay_then_report(app: Vigie) -> None:
        await app.wait_for_sources()
        await app.finish_replay()
        await _wait_for_outbox(app)
        _print_demo_summary(app)
        if app.web_port:
            click.echo(f"\nInterface web : http://127.0.0.1:{app.web_port}/  (santé : /healthz, métriques : /metrics)")
            click.echo("Comptes de démonstration (identifiant / mot de passe, valables pour cette démonstration) :")
            for username, role, password in accounts:
                click.echo(f"  {username:<9} {password}   rôle {role}")
        if not once:
            click.echo("Ctrl-C pour quitter.")

    stop = asyncio.Event()

    async def main() -> int:
        async def until(app: Vigie) -> None:
            await replay_then_report(app)
            if once:
                stop.set()

        return await run_daemon(app, until=until, stop_event=stop)

    raise SystemExit(asyncio.run(main()))


async def _wait_for_outbox(app: Vigie, timeout: float = 10.0) -> None:
    """Give the delivery workers time to print what the replay raised."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        pending = app.store.conn.execute(
            "SELECT count(*) FROM outbox WHERE state IN ('pending', 'sending') AND (not_before IS NULL OR not_before <= ?)",
            [app.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")],
        ).fetchone()[0]
        if not pending:
            return
        await asyncio.sleep(0.1)


def _print_demo_summary(app: Vigie) -> None:
    conn = app.store.conn
    stats = app.store.stats()
    click.echo("\n" + "─" * 72)
    click.echo("Bilan de la démonstration")
    click.echo(f"  Mentions enregistrées : {fr_number(stats['mentions'])}")
    for source, count in stats["per_source"].items():
        click.echo(f"    {source:<10} {fr_number(count):>8}")
    signals = conn.execute("SELECT kind, count(*) FROM signals GROUP BY kind ORDER BY kind").fetchall()
    if signals:
        click.echo("  Signaux des détecteurs : " + ", ".join(f"{kind} {n}" for kind, n in signals))
    alerts = conn.execute(
        "SELECT severity, count(*) FROM alerts GROUP BY severity ORDER BY CASE severity "
        "WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END"
    ).fetchall()
    names = {"critical": "critiques", "warning": "avertissements", "info": "informations"}
    click.echo("  Alertes : " + (", ".join(f"{n} {names.get(sev, sev)}" for sev, n in alerts) or "aucune"))
    crisis = recorded_state(app.store)
    if crisis:
        local = parse_time(crisis["since"]).astimezone(app.tz)
        banner = CRISIS_BANNER_FR.get(crisis["state"], crisis["state"])
        click.echo(f"  Mode de crise : {banner} depuis le {local:%d/%m %H:%M} — {crisis['reason']}")
    posts = posts_summary(app.store)
    held = posts.get("held", 0)
    published = sum(posts.get(state, 0) for state in PUBLISHED_STATES)
    click.echo(f"  Publications programmées : {published} publiée(s), {held} retenue(s) par la politique de crise")


@click.command()
@config_option
@click.option("--url", default=None, help="Adresse du démon en marche (défaut : celle de la configuration).")
def status(config_path: Path | None, url: str | None) -> None:
    """État : sources, dernière collecte, volumes, mode de crise."""
    settings = settings_for(config_path)
    store = open_store(settings)
    stats = store.stats()
    click.echo(f"Vigie — {settings.institution.name}")
    click.echo(f"Mentions en base : {fr_number(stats['mentions'])} (dernière : {stats['latest_mention_at'] or '—'})")
    cursors = dict(store.conn.execute("SELECT source, updated_at FROM cursors").fetchall())
    for source in settings.sources:
        count = stats["per_source"].get(source.name, 0)
        last = cursors.get(source.name, "jamais")
        state = "active" if source.enabled else "désactivée"
        click.echo(f"  {source.name:<24} {source.type:<10} {state:<11} dernière collecte : {last}  ({fr_number(count)})")
    others = {name: n for name, n in stats["per_source"].items() if name not in {s.name for s in settings.sources}}
    for name, count in others.items():
        click.echo(f"  {name:<24} (mentions reçues : {fr_number(count)})")
    crisis = recorded_state(store)
    if crisis:
        click.echo(f"Mode de crise : {crisis['state']} depuis {crisis['since']} ({crisis['reason']} — {crisis['actor']})")
    else:
        click.echo("Mode de crise : normal")
    open_alerts = store.conn.execute("SELECT count(*) FROM alerts WHERE status = 'open'").fetchone()[0]
    click.echo(f"Alertes ouvertes : {open_alerts}")
    since = store.conn.execute("SELECT max(created_at) FROM mentions").fetchone()[0]
    if since:
        day_ago = (parse_time(since) - timedelta(hours=24)).strftime("%Y-%m-%dT%H:%M:%SZ")
        recent = store.conn.execute("SELECT count(*) FROM mentions WHERE created_at >= ?", [day_ago]).fetchone()[0]
        click.echo(f"Mentions des dernières 24 h (avant la plus récente) : {fr_number(recent)}")
    target = url or f"http://{settings.web.host}:{settings.web.port}"
    try:
        with urllib.request.urlopen(f"{target}/healthz", timeout=2) as response:  # noqa: S310 (configured host)
            health = json.loads(response.read())
    except Exception:
        click.echo(f"Démon : injoignable sur {target} (arrêté ?)")
    else:
        click.echo(f"Démon : {health['status']} sur {target}")
        for name, component in health["components"].items():
            click.echo(f"  {name:<28} {component.get('state', '?')}")
    store.close()


@click.command()
@config_option
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--speed", default="max", show_default=True, help="max, ou un facteur de vitesse.")
def replay(config_path: Path | None, path: Path, speed: str) -> None:
    """Rejoue un fichier JSONL de mentions enregistrées dans la base configurée (pipeline complet)."""
    settings = settings_for(config_path)
    source = {"name": f"replay:{path.name}", "type": "replay", "path": str(path),
              "speed": speed if speed == "max" else float(speed)}
    settings = override(settings, {"sources": [source], "web": {"enabled": False}})
    configure_logging(settings.logging.model_copy(update={"level": "WARNING"}))
    with path.open(encoding="utf-8") as handle:
        total = sum(1 for line in handle if line.strip())
    app = Vigie(settings, clock=ReplayClock(), deliver=False, web_enabled=False)

    async def main() -> None:
        with click.progressbar(length=total, label="Rejeu", file=click.get_text_stream("stderr")) as bar:
            app.sources[0].progress = bar.update
            await app.start()
            await app.wait_for_sources()
            await app.finish_replay()
        stored = app.pipeline.stored
        rejected = app.sources[0].rejected
        await app.stop()
        click.echo(f"{fr_number(stored)} mention(s) enregistrée(s), {rejected} ligne(s) rejetée(s).")

    asyncio.run(main())
